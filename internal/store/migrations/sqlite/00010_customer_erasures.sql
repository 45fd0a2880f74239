-- +goose Up
-- One row per erasure of a customer's personal data (LGPD art. 18, VI):
-- when, and who asked (an API key, or the svahub anonimizar command). It
-- holds no personal data, only the HubSoft customer id.
CREATE TABLE customer_erasures (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id       BIGINT NOT NULL,
    origin            TEXT NOT NULL,
    api_key_id        BIGINT,
    api_key_name      TEXT NOT NULL DEFAULT '',
    services          INTEGER NOT NULL DEFAULT 0,
    platform_accounts INTEGER NOT NULL DEFAULT 0,
    transmissions     BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX customer_erasures_customer_idx ON customer_erasures (customer_id, id);

-- +goose Down
DROP TABLE customer_erasures;
