-- +goose Up
-- platform_budget_members lists the processes sharing each integration's
-- platform rate limit (docs/architecture.md, "One platform budget"). A
-- process running workers holds one row with integration_id 0 (a share of
-- every integration); a process without workers holds a row per
-- integration it is calling. Rows not renewed by expires_at are gone: the
-- process died, and the others take its share.
CREATE TABLE platform_budget_members (
    member         TEXT NOT NULL,
    integration_id BIGINT NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (member, integration_id)
);

-- +goose Down
DROP TABLE platform_budget_members;
