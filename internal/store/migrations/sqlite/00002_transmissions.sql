-- +goose Up
CREATE TABLE transmissions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id  BIGINT NOT NULL,
    subscription_id BIGINT,
    access_id       BIGINT,
    operation       TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    http_status     INTEGER NOT NULL DEFAULT 0,
    message         TEXT NOT NULL DEFAULT '',
    duration_ms     BIGINT NOT NULL DEFAULT 0,
    attempt         INTEGER NOT NULL DEFAULT 1,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX transmissions_integration_idx ON transmissions (integration_id, id);
CREATE INDEX transmissions_subscription_idx ON transmissions (subscription_id, id);
CREATE INDEX transmissions_created_idx ON transmissions (created_at);

-- +goose Down
DROP TABLE transmissions;
