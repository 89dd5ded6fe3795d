-- 006_integrations_inventory.sql (SQLite)
-- Creates integrations (cavra.integration.v1). Why: the console lists
-- enterprise integrations by provider, environment, category (free text),
-- status, health and owner.
-- SQLite: times are TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC, text order is time
-- order; the GLOB checks enforce that shape), counters INTEGER, payload JSON
-- TEXT (an object, like PostgreSQL's JSONB).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE integrations (
    integration_id TEXT NOT NULL PRIMARY KEY,
    provider       TEXT NOT NULL,
    environment    TEXT,
    category       TEXT NOT NULL,
    status         TEXT NOT NULL,
    health         TEXT NOT NULL DEFAULT 'unknown',
    owner          TEXT,
    created_at     TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????Z'),
    updated_at     TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????Z'),
    payload        TEXT NOT NULL,
    CONSTRAINT ck_integrations_integration_id CHECK (integration_id <> ''),
    CONSTRAINT ck_integrations_status CHECK (status IN ('active', 'disabled', 'planned', 'error')),
    CONSTRAINT ck_integrations_health CHECK (health IN ('healthy', 'degraded', 'down', 'unknown')),
    CONSTRAINT ck_integrations_payload CHECK (json_valid(payload) AND json_type(payload) = 'object')
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
