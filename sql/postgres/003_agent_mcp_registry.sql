-- 003_agent_mcp_registry.sql (PostgreSQL)
-- Creates registry_agents (cavra.agent.v1) and registry_mcp_servers
-- (cavra.mcp_server.v1). Why: mcp_tool_call decisions look a server up by its
-- unique name and act on trust_tier and approval_state; the console filters
-- agents by status and owner.
-- PostgreSQL: times are TIMESTAMPTZ, counters BIGINT, payload JSONB (an object);
-- key columns use COLLATE "C" so that id order matches SQLite's byte order.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE registry_agents (
    agent_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    status     TEXT             NOT NULL,
    owner      TEXT,
    created_at TIMESTAMPTZ      NOT NULL,
    updated_at TIMESTAMPTZ      NOT NULL,
    payload    JSONB            NOT NULL,
    CONSTRAINT ck_registry_agents_agent_id CHECK (agent_id <> ''),
    CONSTRAINT ck_registry_agents_status CHECK (status IN ('active', 'disabled', 'retired')),
    CONSTRAINT ck_registry_agents_payload CHECK (jsonb_typeof(payload) = 'object')
);

CREATE INDEX ix_registry_agents_updated_at_agent_id
    ON registry_agents (updated_at DESC, agent_id);
CREATE INDEX ix_registry_agents_status_updated_at
    ON registry_agents (status, updated_at DESC);
CREATE INDEX ix_registry_agents_owner_updated_at
    ON registry_agents (owner, updated_at DESC);

CREATE TABLE registry_mcp_servers (
    server_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name           TEXT             NOT NULL,
    trust_tier     TEXT             NOT NULL,
    approval_state TEXT             NOT NULL,
    owner          TEXT,
    created_at     TIMESTAMPTZ      NOT NULL,
    updated_at     TIMESTAMPTZ      NOT NULL,
    payload        JSONB            NOT NULL,
    CONSTRAINT ck_registry_mcp_servers_server_id CHECK (server_id <> ''),
    CONSTRAINT ck_registry_mcp_servers_trust_tier
        CHECK (trust_tier IN ('trusted', 'approved', 'experimental', 'blocked', 'unknown')),
    CONSTRAINT ck_registry_mcp_servers_approval_state
        CHECK (approval_state IN ('pending', 'approved', 'denied')),
    CONSTRAINT ck_registry_mcp_servers_payload CHECK (jsonb_typeof(payload) = 'object')
);

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
