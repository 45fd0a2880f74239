-- +goose Up
-- Workers look up the first access of a plan (plan_id, ORDER BY id): one
-- index serves it without statistics.
CREATE INDEX accesses_plan_id_id_idx ON accesses (plan_id, id);
DROP INDEX accesses_plan_idx;

-- +goose Down
CREATE INDEX accesses_plan_idx ON accesses (plan_id);
DROP INDEX accesses_plan_id_id_idx;
