-- 015_audit_chain.sql (PostgreSQL)
-- Creates audit_chain and audit_chain_head: the hash chain over decisions
-- and approvals (each approval write: its creation and every state change,
-- whose history is in its payload)
-- (docs/audit.md). Why: anyone with SQL access could change, delete, insert
-- or cut off decisions and nothing noticed; every decision now commits to
-- the one before it, inside the transaction that writes it.
-- audit_chain_head is one row that every chaining transaction locks (SELECT
-- ... FOR UPDATE), so that several cavra replicas append in one total order.
-- adopt_pending is 1 when the database already held decisions or approvals: they are
-- chained oldest first by the next 'cavra migrate up', 'cavra serve' or
-- 'cavra audit adopt' (a SQL migration cannot compute their canonical form).
-- PostgreSQL: times are TIMESTAMPTZ, hashes lowercase hex; record_id and
-- hash use COLLATE "C" (byte order, like the ids: a backup dumps by hash).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE audit_chain (
    seq           BIGINT           NOT NULL PRIMARY KEY,
    kind          TEXT             NOT NULL,
    record_id     TEXT COLLATE "C" NOT NULL,
    record_sha256 TEXT             NOT NULL,
    prev_hash     TEXT             NOT NULL,
    hash          TEXT COLLATE "C" NOT NULL,
    chained_at    TIMESTAMPTZ      NOT NULL,
    CONSTRAINT ck_audit_chain_seq CHECK (seq >= 1),
    CONSTRAINT ck_audit_chain_kind CHECK (kind IN ('decision', 'approval')),
    CONSTRAINT ck_audit_chain_record_id CHECK (record_id <> '')
);

CREATE INDEX ix_audit_chain_kind_record_id
    ON audit_chain (kind, record_id);

CREATE TABLE audit_chain_head (
    id            INTEGER          NOT NULL PRIMARY KEY,
    seq           BIGINT           NOT NULL,
    hash          TEXT COLLATE "C" NOT NULL,
    updated_at    TIMESTAMPTZ      NOT NULL,
    adopt_pending INTEGER          NOT NULL,
    CONSTRAINT ck_audit_chain_head_id CHECK (id = 1),
    CONSTRAINT ck_audit_chain_head_seq CHECK (seq >= 0),
    CONSTRAINT ck_audit_chain_head_adopt_pending CHECK (adopt_pending IN (0, 1))
);

INSERT INTO audit_chain_head (id, seq, hash, updated_at, adopt_pending)
SELECT 1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
       '1970-01-01T00:00:00.000000Z'::timestamptz,
       CASE WHEN EXISTS (SELECT 1 FROM activity_decisions)
                 OR EXISTS (SELECT 1 FROM approvals) THEN 1 ELSE 0 END;
