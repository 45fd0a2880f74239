-- +goose Up
CREATE TABLE integrations (
    id                   BIGSERIAL PRIMARY KEY,
    description          TEXT NOT NULL,
    platform             TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    client_secret_sealed TEXT NOT NULL DEFAULT '',
    username_policy      TEXT NOT NULL,
    base_url             TEXT NOT NULL DEFAULT '',
    rate_limit_rps       DOUBLE PRECISION NOT NULL DEFAULT 0,
    suspend_on_debt      BOOLEAN NOT NULL DEFAULT FALSE,
    active               BOOLEAN NOT NULL DEFAULT TRUE,
    token_sealed         TEXT NOT NULL DEFAULT '',
    token_status         TEXT NOT NULL DEFAULT 'pendente',
    token_expires_at     TIMESTAMPTZ,
    token_message        TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE products (
    id             BIGSERIAL PRIMARY KEY,
    integration_id BIGINT NOT NULL REFERENCES integrations (id),
    description    TEXT NOT NULL,
    code           TEXT NOT NULL,
    verified       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (integration_id, code)
);

CREATE TABLE packages (
    id             BIGSERIAL PRIMARY KEY,
    description    TEXT NOT NULL,
    code           TEXT NOT NULL DEFAULT '',
    value_cents    BIGINT NOT NULL CHECK (value_cents >= 0),
    integration_id BIGINT NOT NULL REFERENCES integrations (id),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX packages_integration_id_idx ON packages (integration_id);

CREATE TABLE package_products (
    package_id BIGINT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products (id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (package_id, product_id)
);
CREATE INDEX package_products_product_id_idx ON package_products (product_id);

CREATE TABLE plans (
    id          BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE plan_packages (
    plan_id    BIGINT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    package_id BIGINT NOT NULL REFERENCES packages (id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (plan_id, package_id)
);
CREATE INDEX plan_packages_package_id_idx ON plan_packages (package_id);

CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE plan_packages;
DROP TABLE plans;
DROP TABLE package_products;
DROP TABLE packages;
DROP TABLE products;
DROP TABLE integrations;
