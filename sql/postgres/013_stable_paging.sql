-- 013_stable_paging.sql (PostgreSQL)
-- The lists of agents, MCP servers, repositories, policy rollouts and
-- integrations now page by created_at, then the id, which never change once a
-- record exists (updated_at does, and moved a record past a client's cursor):
-- their updated_at indexes are replaced by the same ones on created_at, each
-- filter index ending with the list order so that a filtered first page and
-- its bounded total are one index range.  Evidence and approvals already had
-- theirs (001, 002).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

DROP INDEX ix_registry_agents_updated_at_agent_id;
DROP INDEX ix_registry_agents_status_updated_at;
DROP INDEX ix_registry_agents_owner_updated_at;
CREATE INDEX ix_registry_agents_created_at_agent_id
    ON registry_agents (created_at DESC, agent_id);
CREATE INDEX ix_registry_agents_status_created_at
    ON registry_agents (status, created_at DESC, agent_id);
CREATE INDEX ix_registry_agents_owner_created_at
    ON registry_agents (owner, created_at DESC, agent_id);

DROP INDEX ix_registry_mcp_servers_updated_at_server_id;
DROP INDEX ix_registry_mcp_servers_trust_tier_updated_at;
DROP INDEX ix_registry_mcp_servers_approval_state_updated_at;
DROP INDEX ix_registry_mcp_servers_owner_updated_at;
CREATE INDEX ix_registry_mcp_servers_created_at_server_id
    ON registry_mcp_servers (created_at DESC, server_id);
CREATE INDEX ix_registry_mcp_servers_trust_tier_created_at
    ON registry_mcp_servers (trust_tier, created_at DESC, server_id);
CREATE INDEX ix_registry_mcp_servers_approval_state_created_at
    ON registry_mcp_servers (approval_state, created_at DESC, server_id);
CREATE INDEX ix_registry_mcp_servers_owner_created_at
    ON registry_mcp_servers (owner, created_at DESC, server_id);

DROP INDEX ix_inventory_repositories_updated_at_repository_id;
DROP INDEX ix_inventory_repositories_provider_updated_at;
DROP INDEX ix_inventory_repositories_owner_updated_at;
DROP INDEX ix_inventory_repositories_policy_pack_updated_at;
DROP INDEX ix_inventory_repositories_risk_tier_updated_at;
DROP INDEX ix_inventory_repositories_status_updated_at;
CREATE INDEX ix_inventory_repositories_created_at_repository_id
    ON inventory_repositories (created_at DESC, repository_id);
CREATE INDEX ix_inventory_repositories_provider_created_at
    ON inventory_repositories (provider, created_at DESC, repository_id);
CREATE INDEX ix_inventory_repositories_owner_created_at
    ON inventory_repositories (owner, created_at DESC, repository_id);
CREATE INDEX ix_inventory_repositories_policy_pack_created_at
    ON inventory_repositories (policy_pack, created_at DESC, repository_id);
CREATE INDEX ix_inventory_repositories_risk_tier_created_at
    ON inventory_repositories (risk_tier, created_at DESC, repository_id);
CREATE INDEX ix_inventory_repositories_status_created_at
    ON inventory_repositories (status, created_at DESC, repository_id);

DROP INDEX ix_inventory_policy_rollouts_updated_at_rollout_id;
DROP INDEX ix_inventory_policy_rollouts_repository_id_updated_at;
DROP INDEX ix_inventory_policy_rollouts_policy_pack_updated_at;
DROP INDEX ix_inventory_policy_rollouts_mode_updated_at;
DROP INDEX ix_inventory_policy_rollouts_state_updated_at;
CREATE INDEX ix_inventory_policy_rollouts_created_at_rollout_id
    ON inventory_policy_rollouts (created_at DESC, rollout_id);
CREATE INDEX ix_inventory_policy_rollouts_repository_id_created_at
    ON inventory_policy_rollouts (repository_id, created_at DESC, rollout_id);
CREATE INDEX ix_inventory_policy_rollouts_policy_pack_created_at
    ON inventory_policy_rollouts (policy_pack, created_at DESC, rollout_id);
CREATE INDEX ix_inventory_policy_rollouts_mode_created_at
    ON inventory_policy_rollouts (mode, created_at DESC, rollout_id);
CREATE INDEX ix_inventory_policy_rollouts_state_created_at
    ON inventory_policy_rollouts (state, created_at DESC, rollout_id);

DROP INDEX ix_integrations_updated_at_integration_id;
DROP INDEX ix_integrations_provider_updated_at;
DROP INDEX ix_integrations_environment_updated_at;
DROP INDEX ix_integrations_category_updated_at;
DROP INDEX ix_integrations_status_updated_at;
DROP INDEX ix_integrations_health_updated_at;
DROP INDEX ix_integrations_owner_updated_at;
CREATE INDEX ix_integrations_created_at_integration_id
    ON integrations (created_at DESC, integration_id);
CREATE INDEX ix_integrations_provider_created_at
    ON integrations (provider, created_at DESC, integration_id);
CREATE INDEX ix_integrations_environment_created_at
    ON integrations (environment, created_at DESC, integration_id);
CREATE INDEX ix_integrations_category_created_at
    ON integrations (category, created_at DESC, integration_id);
CREATE INDEX ix_integrations_status_created_at
    ON integrations (status, created_at DESC, integration_id);
CREATE INDEX ix_integrations_health_created_at
    ON integrations (health, created_at DESC, integration_id);
CREATE INDEX ix_integrations_owner_created_at
    ON integrations (owner, created_at DESC, integration_id);

-- Tokens: at most one unrevoked token a name, kept by the database itself (a
-- SELECT before the INSERT let two concurrent creates on PostgreSQL both pass).
-- A database may already hold such twins: the oldest keeps its name, each
-- later one is renamed '<name>.<token_id>' (still a valid name, still working,
-- revocable by its new name), so that the index can be built without revoking
-- a token an agent relies on.
UPDATE api_tokens SET name = name || '.' || token_id
 WHERE revoked_at IS NULL
   AND EXISTS (SELECT 1 FROM api_tokens o
                WHERE o.name = api_tokens.name AND o.revoked_at IS NULL
                  AND (o.created_at < api_tokens.created_at
                       OR (o.created_at = api_tokens.created_at
                           AND o.token_id < api_tokens.token_id)));
CREATE UNIQUE INDEX ux_api_tokens_name_unrevoked
    ON api_tokens (name) WHERE revoked_at IS NULL;
