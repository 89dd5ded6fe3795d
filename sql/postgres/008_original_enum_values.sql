-- 008_original_enum_values.sql (PostgreSQL)
-- Widens three CHECK constraints to the value sets of the original CAVRA, so
-- that its pilots' records import unchanged: integrations.status gains
-- 'configured' and 'paused', integrations.health gains 'not_checked' and
-- 'failed' (the original's health_status values), and
-- registry_mcp_servers.approval_state gains 'not_required'. Every value the
-- old constraints allowed is still allowed, so no row is checked in vain.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

ALTER TABLE integrations
    DROP CONSTRAINT ck_integrations_status,
    ADD CONSTRAINT ck_integrations_status
        CHECK (status IN ('planned', 'configured', 'active', 'paused', 'disabled', 'error')),
    DROP CONSTRAINT ck_integrations_health,
    ADD CONSTRAINT ck_integrations_health
        CHECK (health IN ('unknown', 'not_checked', 'healthy', 'degraded', 'failed', 'down'));

ALTER TABLE registry_mcp_servers
    DROP CONSTRAINT ck_registry_mcp_servers_approval_state,
    ADD CONSTRAINT ck_registry_mcp_servers_approval_state
        CHECK (approval_state IN ('pending', 'approved', 'denied', 'not_required'));
