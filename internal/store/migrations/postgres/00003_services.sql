-- +goose Up
CREATE TABLE services (
    id                BIGINT PRIMARY KEY,
    plan_id           BIGINT,
    login             TEXT NOT NULL DEFAULT '',
    password_sealed   TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    customer_id       BIGINT NOT NULL,
    customer_code     TEXT NOT NULL DEFAULT '',
    customer_name     TEXT NOT NULL DEFAULT '',
    customer_document TEXT NOT NULL DEFAULT '',
    customer_email    TEXT NOT NULL DEFAULT '',
    customer_phone    TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX services_customer_idx ON services (customer_id);
CREATE INDEX services_document_idx ON services (customer_document);
CREATE INDEX services_status_idx ON services (status);

CREATE TABLE subscriptions (
    id             BIGSERIAL PRIMARY KEY,
    service_id     BIGINT NOT NULL REFERENCES services (id),
    package_id     BIGINT NOT NULL REFERENCES packages (id),
    integration_id BIGINT NOT NULL REFERENCES integrations (id),
    description    TEXT NOT NULL,
    origin         TEXT NOT NULL,
    value_cents    BIGINT NOT NULL CHECK (value_cents >= 0),
    expires_on     TEXT NOT NULL,
    status         TEXT NOT NULL,
    last_error     TEXT NOT NULL DEFAULT '',
    expired        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    cancelled_at   TIMESTAMPTZ
);
-- The same package twice on one service while the first is not cancelled → 409.
CREATE UNIQUE INDEX subscriptions_live_package_uq ON subscriptions (service_id, package_id) WHERE cancelled_at IS NULL;
CREATE INDEX subscriptions_service_idx ON subscriptions (service_id);
CREATE INDEX subscriptions_package_idx ON subscriptions (package_id);
CREATE INDEX subscriptions_integration_idx ON subscriptions (integration_id);
CREATE INDEX subscriptions_status_idx ON subscriptions (status);
CREATE INDEX subscriptions_expiry_idx ON subscriptions (expires_on) WHERE cancelled_at IS NULL AND NOT expired;

-- One platform account per (integration, usuario).
CREATE TABLE platform_accounts (
    id               BIGSERIAL PRIMARY KEY,
    integration_id   BIGINT NOT NULL REFERENCES integrations (id),
    username         TEXT NOT NULL,
    reference        TEXT NOT NULL UNIQUE,
    platform_user_id TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (integration_id, username)
);

-- One platform plan per (account, product): accesses that resolve to the
-- same account and product share it.
CREATE TABLE platform_plans (
    id              BIGSERIAL PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES platform_accounts (id),
    integration_id  BIGINT NOT NULL REFERENCES integrations (id),
    product_code    TEXT NOT NULL,
    desired_state   TEXT NOT NULL DEFAULT '',
    desired_expiry  TEXT NOT NULL DEFAULT '',
    version         BIGINT NOT NULL DEFAULT 0,
    applied_version BIGINT NOT NULL DEFAULT 0,
    platform_state  TEXT NOT NULL DEFAULT '',
    platform_expiry TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    error_version   BIGINT NOT NULL DEFAULT 0,
    lease_until     TIMESTAMPTZ,
    synced_at       TIMESTAMPTZ,
    reconciled_at   TIMESTAMPTZ,
    UNIQUE (account_id, product_code)
);
CREATE INDEX platform_plans_dirty_idx ON platform_plans (integration_id) WHERE version <> applied_version;

CREATE TABLE accesses (
    id              BIGSERIAL PRIMARY KEY,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id),
    product_id      BIGINT NOT NULL,
    product_code    TEXT NOT NULL,
    integration_id  BIGINT NOT NULL,
    plan_id         BIGINT REFERENCES platform_plans (id),
    desired_state   TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (subscription_id, product_id)
);
CREATE INDEX accesses_plan_idx ON accesses (plan_id);

-- +goose Down
DROP TABLE accesses;
DROP TABLE platform_plans;
DROP TABLE platform_accounts;
DROP TABLE subscriptions;
DROP TABLE services;
