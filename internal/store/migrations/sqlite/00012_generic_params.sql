-- +goose Up
-- An integration's parametros are generic (issue 16): each adapter declares
-- its own. The non-secret ones are one JSON object in integrations.params;
-- each secret is its own sealed row in integration_secrets, so key rotation
-- and the start-up key check treat it like every other sealed column.
-- Qualifica's client_id, url_base and client_secret move there unchanged
-- (the sealed value is copied as it is: no key is needed).
ALTER TABLE integrations ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
UPDATE integrations SET params = json_object('client_id', client_id, 'url_base', base_url);

CREATE TABLE integration_secrets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id BIGINT NOT NULL REFERENCES integrations (id),
    name           TEXT NOT NULL,
    value_sealed   TEXT NOT NULL,
    UNIQUE (integration_id, name)
);
INSERT INTO integration_secrets (integration_id, name, value_sealed)
SELECT id, 'client_secret', client_secret_sealed FROM integrations WHERE client_secret_sealed <> '';

ALTER TABLE integrations DROP COLUMN client_id;
ALTER TABLE integrations DROP COLUMN client_secret_sealed;
ALTER TABLE integrations DROP COLUMN base_url;

-- +goose Down
ALTER TABLE integrations ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN client_secret_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN base_url TEXT NOT NULL DEFAULT '';
UPDATE integrations SET
    client_id = COALESCE(json_extract(params, '$.client_id'), ''),
    base_url = COALESCE(json_extract(params, '$.url_base'), ''),
    client_secret_sealed = COALESCE((SELECT value_sealed FROM integration_secrets s
        WHERE s.integration_id = integrations.id AND s.name = 'client_secret'), '');
DROP TABLE integration_secrets;
ALTER TABLE integrations DROP COLUMN params;
