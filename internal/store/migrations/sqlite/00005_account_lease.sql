-- +goose Up
-- Serialises the creation of one platform user among the plans sharing it.
ALTER TABLE platform_accounts ADD COLUMN lease_until TIMESTAMP;

-- +goose Down
ALTER TABLE platform_accounts DROP COLUMN lease_until;
