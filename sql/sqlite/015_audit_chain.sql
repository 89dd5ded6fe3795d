-- 015_audit_chain.sql (SQLite)
-- Creates audit_chain and audit_chain_head: the hash chain over decisions
-- and approvals (each approval write: its creation and every state change,
-- whose history is in its payload)
-- (docs/audit.md). Why: anyone with SQL access could change, delete, insert
-- or cut off decisions and nothing noticed; every decision now commits to
-- the one before it, inside the transaction that writes it.
-- audit_chain_head is one row that every chaining transaction updates, so
-- that all writers append in one total order. adopt_pending is 1 when the
-- database already held decisions or approvals: they are chained oldest first by the
-- next 'cavra migrate up', 'cavra serve' or 'cavra audit adopt' (a SQL
-- migration cannot compute their canonical form).
-- SQLite: times are TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ', hashes lowercase hex.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE audit_chain (
    seq           INTEGER NOT NULL PRIMARY KEY,
    kind          TEXT    NOT NULL,
    record_id     TEXT    NOT NULL,
    record_sha256 TEXT    NOT NULL,
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    chained_at    TEXT    NOT NULL CHECK (chained_at GLOB '????-??-??T??:??:??.??????Z'),
    CONSTRAINT ck_audit_chain_seq CHECK (typeof(seq) = 'integer' AND seq >= 1),
    CONSTRAINT ck_audit_chain_kind CHECK (kind IN ('decision', 'approval')),
    CONSTRAINT ck_audit_chain_record_id CHECK (record_id <> '')
);

CREATE INDEX ix_audit_chain_kind_record_id
    ON audit_chain (kind, record_id);

CREATE TABLE audit_chain_head (
    id            INTEGER NOT NULL PRIMARY KEY,
    seq           INTEGER NOT NULL,
    hash          TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????Z'),
    adopt_pending INTEGER NOT NULL,
    CONSTRAINT ck_audit_chain_head_id CHECK (id = 1),
    CONSTRAINT ck_audit_chain_head_seq CHECK (typeof(seq) = 'integer' AND seq >= 0),
    CONSTRAINT ck_audit_chain_head_adopt_pending CHECK (adopt_pending IN (0, 1))
);

INSERT INTO audit_chain_head (id, seq, hash, updated_at, adopt_pending)
SELECT 1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
       '1970-01-01T00:00:00.000000Z',
       CASE WHEN EXISTS (SELECT 1 FROM activity_decisions)
                 OR EXISTS (SELECT 1 FROM approvals) THEN 1 ELSE 0 END;
