-- +goose Up
-- Who holds a plan's or an account's lease: the worker process (its
-- heartbeat row below) that renews it while it works.
ALTER TABLE platform_plans ADD COLUMN lease_holder TEXT;
ALTER TABLE platform_accounts ADD COLUMN lease_holder TEXT;
-- Few plans are leased at a time: a process finds its own (Retire) fast.
CREATE INDEX platform_plans_lease_holder ON platform_plans (lease_holder) WHERE lease_holder IS NOT NULL;
-- One row per worker process, renewed every third of SVAHUB_LEASE_TTL: a
-- process whose row is older than the TTL is dead, and its River jobs are
-- made available again by the live ones.
CREATE TABLE worker_heartbeats (
    process_id TEXT PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    heartbeat_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE worker_heartbeats;
DROP INDEX platform_plans_lease_holder;
ALTER TABLE platform_accounts DROP COLUMN lease_holder;
ALTER TABLE platform_plans DROP COLUMN lease_holder;
