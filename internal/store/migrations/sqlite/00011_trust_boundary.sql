-- +goose Up
-- credentials_version counts changes of an integration's platform
-- credentials (client_id, client_secret, url_base). A token is stored only
-- when the version it was obtained with is still the current one.
ALTER TABLE integrations ADD COLUMN credentials_version BIGINT NOT NULL DEFAULT 1;

-- api_key_bootstrap holds one row once the server has had its chance to
-- create the bootstrap key (or the key table already held a key): the
-- bootstrap key is made only while this table is empty, by the one process
-- whose insert of row 1 wins.
CREATE TABLE api_key_bootstrap (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    created_at TIMESTAMP NOT NULL
);
INSERT INTO api_key_bootstrap (id, created_at)
SELECT 1, CURRENT_TIMESTAMP WHERE EXISTS (SELECT 1 FROM api_keys);

-- +goose Down
DROP TABLE api_key_bootstrap;
ALTER TABLE integrations DROP COLUMN credentials_version;
