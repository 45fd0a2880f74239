-- +goose Up
-- True while a worker's platform calls for the plan may have been applied
-- without svahub recording it (killed process, timeout): the next worker
-- reads the platform first instead of trusting platform_state.
ALTER TABLE platform_plans ADD COLUMN state_uncertain BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE platform_plans DROP COLUMN state_uncertain;
