-- +goose Up
-- A service cancelado or inativo no longer has live subscriptions
-- (DOMAIN.md: they are cancelled the day the status changes, and billing
-- stops). Subscriptions left live by earlier versions are cancelled as of
-- the service's last change; their accesses already want cancelado.
UPDATE subscriptions
SET cancelled_at = (SELECT sv.updated_at FROM services sv WHERE sv.id = subscriptions.service_id),
    updated_at   = (SELECT sv.updated_at FROM services sv WHERE sv.id = subscriptions.service_id),
    status       = 'cancelado'
WHERE cancelled_at IS NULL
  AND service_id IN (SELECT id FROM services WHERE status IN ('cancelado', 'inativo'));

-- +goose Down
-- Nothing to undo: the cancellations are what the domain requires.
SELECT 1;
