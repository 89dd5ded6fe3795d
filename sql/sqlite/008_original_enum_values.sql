-- 008_original_enum_values.sql (SQLite)
-- Widens three CHECK constraints to the value sets of the original CAVRA, so
-- that its pilots' records import unchanged: integrations.status gains
-- 'configured' and 'paused', integrations.health gains 'not_checked' and
-- 'failed' (the original's health_status values), and
-- registry_mcp_servers.approval_state gains 'not_required'. Every value the
-- old constraints allowed is still allowed.
-- SQLite cannot alter a CHECK: each table is rebuilt (create, copy, drop,
-- rename) and its indexes are created again. Rows and their order of ids
-- are unchanged.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE integrations_v8 (
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
    CONSTRAINT ck_integrations_status
        CHECK (status IN ('planned', 'configured', 'active', 'paused', 'disabled', 'error')),
    CONSTRAINT ck_integrations_health
        CHECK (health IN ('unknown', 'not_checked', 'healthy', 'degraded', 'failed', 'down')),
    CONSTRAINT ck_integrations_payload CHECK (json_valid(payload) AND json_type(payload) = 'object')
);

INSERT INTO integrations_v8 SELECT * FROM integrations;
DROP TABLE integrations;
ALTER TABLE integrations_v8 RENAME TO integrations;
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

CREATE TABLE registry_mcp_servers_v8 (
    server_id      TEXT NOT NULL PRIMARY KEY,
    name           TEXT NOT NULL,
    trust_tier     TEXT NOT NULL,
    approval_state TEXT NOT NULL,
    owner          TEXT,
    created_at     TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????Z'),
    updated_at     TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????Z'),
    payload        TEXT NOT NULL,
    CONSTRAINT ck_registry_mcp_servers_server_id CHECK (server_id <> ''),
    CONSTRAINT ck_registry_mcp_servers_trust_tier
        CHECK (trust_tier IN ('trusted', 'approved', 'experimental', 'blocked', 'unknown')),
    CONSTRAINT ck_registry_mcp_servers_approval_state
        CHECK (approval_state IN ('pending', 'approved', 'denied', 'not_required')),
    CONSTRAINT ck_registry_mcp_servers_payload
        CHECK (json_valid(payload) AND json_type(payload) = 'object')
);

INSERT INTO registry_mcp_servers_v8 SELECT * FROM registry_mcp_servers;
DROP TABLE registry_mcp_servers;
ALTER TABLE registry_mcp_servers_v8 RENAME TO registry_mcp_servers;
CREATE UNIQUE INDEX ux_registry_mcp_servers_name
    ON registry_mcp_servers (name);
CREATE INDEX ix_registry_mcp_servers_updated_at_server_id
    ON registry_mcp_servers (updated_at DESC, server_id);
CREATE INDEX ix_registry_mcp_servers_trust_tier_updated_at
    ON registry_mcp_servers (trust_tier, updated_at DESC);
CREATE INDEX ix_registry_mcp_servers_approval_state_updated_at
    ON registry_mcp_servers (approval_state, updated_at DESC);
CREATE INDEX ix_registry_mcp_servers_owner_updated_at
    ON registry_mcp_servers (owner, updated_at DESC);
