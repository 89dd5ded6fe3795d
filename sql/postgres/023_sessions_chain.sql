-- 023_sessions_chain.sql (PostgreSQL)
-- compatibility: contract
-- (every write of a session through POST /sessions, evidence that starts one, or an import
-- must now append to the chain in its own transaction: such a session written by a binary of
-- 022 is stored correctly yet has no entry, and `cavra audit verify` reports it as inserted;
-- and a backup by a binary of 022 refuses audit_chain_head's new column)
-- Widens audit_chain.kind to 'session' and adds audit_chain_head.sessions_pending. Why: a
-- session's owner (its payload's recorded_by or started_by) decides who may add decisions to
-- it, and its state, times and description are what auditors read; anyone with SQL access
-- could hand a session to another caller, close it or rewrite it, and nothing noticed.
-- A session's entry hashes its row with what decisions move left out (updated_at, the three
-- counters, and the agent, actor, repository and pack of a session that no POST /sessions
-- described, which its decisions fill in); a session that only decisions made gets no entry
-- (docs/audit.md).
-- sessions_pending is 1 when the database already holds sessions: they are chained oldest
-- first by the next 'cavra migrate up', 'cavra serve' or 'cavra audit adopt' (a SQL migration
-- cannot compute their canonical form), after the entries the chain already holds.
-- The CHECK is replaced: PostgreSQL validates the new one against every entry (a read of
-- audit_chain, no rewrite) under a lock that blocks every chaining write until the commit.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

ALTER TABLE audit_chain DROP CONSTRAINT ck_audit_chain_kind;
ALTER TABLE audit_chain ADD CONSTRAINT ck_audit_chain_kind
    CHECK (kind IN ('decision', 'approval', 'evidence', 'agent', 'mcp_server', 'repository',
                    'rollout', 'integration', 'token', 'session'));

ALTER TABLE audit_chain_head ADD COLUMN sessions_pending INTEGER NOT NULL DEFAULT 0
    CONSTRAINT ck_audit_chain_head_sessions_pending CHECK (sessions_pending IN (0, 1));

UPDATE audit_chain_head
   SET sessions_pending = CASE WHEN EXISTS (SELECT 1 FROM activity_sessions) THEN 1 ELSE 0 END
 WHERE id = 1;
