-- 006_integrations_inventory.sql (PostgreSQL)
-- Creates integrations (cavra.integration.v1). Why: the console lists
-- enterprise integrations by provider, environment, category (free text),
-- status, health and owner.
-- PostgreSQL: times are TIMESTAMPTZ, counters BIGINT, payload JSONB (an object);
-- key columns use COLLATE "C" so that id order matches SQLite's byte order.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE integrations (
    integration_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    provider       TEXT             NOT NULL,
    environment    TEXT,
    category       TEXT             NOT NULL,
    status         TEXT             NOT NULL,
    health         TEXT             NOT NULL DEFAULT 'unknown',
    owner          TEXT,
    created_at     TIMESTAMPTZ      NOT NULL,
    updated_at     TIMESTAMPTZ      NOT NULL,
    payload        JSONB            NOT NULL,
    CONSTRAINT ck_integrations_integration_id CHECK (integration_id <> ''),
    CONSTRAINT ck_integrations_status CHECK (status IN ('active', 'disabled', 'planned', 'error')),
    CONSTRAINT ck_integrations_health CHECK (health IN ('healthy', 'degraded', 'down', 'unknown')),
    CONSTRAINT ck_integrations_payload CHECK (jsonb_typeof(payload) = 'object')
);

CREATE INDEX ix_integrations_updated_at_integration_id
    ON integrations (updated_at DESC, integration_id);
CREATE INDEX ix_integrations_provider_updated_at
    ON integrations (provider, updated_at DESC);
CREATE INDEX ix_integrations_environment_updated_at
    ON integrations (environment, updated_at DESC);
CREATE INDEX ix_integrations_category_updated_at
    ON integrations (category, updated_at DESC);
CREATE INDEX ix_integrations_status_updated_at
    ON integrations (status, updated_at DESC);
CREATE INDEX ix_integrations_health_updated_at
    ON integrations (health, updated_at DESC);
CREATE INDEX ix_integrations_owner_updated_at
    ON integrations (owner, updated_at DESC);
