-- 023_sessions_chain.sql (SQLite)
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
-- SQLite cannot alter a CHECK: audit_chain is rebuilt (create, copy in seq order, drop,
-- rename) and its index created again; entries are unchanged. Its time grows with the chain
-- (docs/migrations.md).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE audit_chain_v23 (
    seq           INTEGER NOT NULL PRIMARY KEY,
    kind          TEXT    NOT NULL,
    record_id     TEXT    NOT NULL,
    record_sha256 TEXT    NOT NULL,
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    chained_at    TEXT    NOT NULL CHECK (chained_at GLOB '????-??-??T??:??:??.??????Z'),
    CONSTRAINT ck_audit_chain_seq CHECK (typeof(seq) = 'integer' AND seq >= 1),
    CONSTRAINT ck_audit_chain_kind CHECK (kind IN ('decision', 'approval', 'evidence', 'agent',
                                                   'mcp_server', 'repository', 'rollout',
                                                   'integration', 'token', 'session')),
    CONSTRAINT ck_audit_chain_record_id CHECK (record_id <> '')
);

INSERT INTO audit_chain_v23 (seq, kind, record_id, record_sha256, prev_hash, hash, chained_at)
SELECT seq, kind, record_id, record_sha256, prev_hash, hash, chained_at
  FROM audit_chain ORDER BY seq;
DROP TABLE audit_chain;
ALTER TABLE audit_chain_v23 RENAME TO audit_chain;
CREATE INDEX ix_audit_chain_kind_record_id
    ON audit_chain (kind, record_id);

ALTER TABLE audit_chain_head ADD COLUMN sessions_pending INTEGER NOT NULL DEFAULT 0
    CONSTRAINT ck_audit_chain_head_sessions_pending CHECK (sessions_pending IN (0, 1));

UPDATE audit_chain_head
   SET sessions_pending = CASE WHEN EXISTS (SELECT 1 FROM activity_sessions) THEN 1 ELSE 0 END
 WHERE id = 1;
