-- 022_records_chain.sql (PostgreSQL)
-- compatibility: contract
-- (every write of an agent, an MCP server, a repository, a policy rollout, an integration or
-- an API token must now append to the chain in its own transaction: such a record written by a
-- binary of 021 is stored correctly yet has no entry, and `cavra audit verify` reports it as inserted;
-- and a backup by a binary of 021 refuses audit_chain_head's new column)
-- Widens audit_chain.kind to 'agent', 'mcp_server', 'repository', 'rollout', 'integration' and
-- 'token', and adds audit_chain_head.records_pending. Why: the registry decides outcomes (an
-- MCP server's trust tier, approval state and allowed tools turn a block into an allow), the
-- inventory names each repository's policy pack and rollout mode, and an API token is access;
-- anyone with SQL access could change them (trust a server, plant a token, take a revocation
-- back), let agents through, change them back, and nothing noticed. A token's entry leaves out
-- its last_used_at: a use is not a change.
-- Each write of such a record (its creation and every change) now appends an entry with the
-- record's canonical hash, like an evidence write (docs/audit.md).
-- records_pending is 1 when the database already holds such records: they are chained oldest
-- first by the next 'cavra migrate up', 'cavra serve' or 'cavra audit adopt' (a SQL migration
-- cannot compute their canonical form), after the entries the chain already holds.
-- The CHECK is replaced: PostgreSQL validates the new one against every entry (a read of
-- audit_chain, no rewrite) under a lock that blocks every chaining write until the commit.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

ALTER TABLE audit_chain DROP CONSTRAINT ck_audit_chain_kind;
ALTER TABLE audit_chain ADD CONSTRAINT ck_audit_chain_kind
    CHECK (kind IN ('decision', 'approval', 'evidence', 'agent', 'mcp_server', 'repository',
                    'rollout', 'integration', 'token'));

ALTER TABLE audit_chain_head ADD COLUMN records_pending INTEGER NOT NULL DEFAULT 0
    CONSTRAINT ck_audit_chain_head_records_pending CHECK (records_pending IN (0, 1));

UPDATE audit_chain_head
   SET records_pending = CASE WHEN EXISTS (SELECT 1 FROM registry_agents)
                                OR EXISTS (SELECT 1 FROM registry_mcp_servers)
                                OR EXISTS (SELECT 1 FROM inventory_repositories)
                                OR EXISTS (SELECT 1 FROM inventory_policy_rollouts)
                                OR EXISTS (SELECT 1 FROM integrations)
                                OR EXISTS (SELECT 1 FROM api_tokens) THEN 1 ELSE 0 END
 WHERE id = 1;
