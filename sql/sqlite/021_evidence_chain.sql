-- 021_evidence_chain.sql (SQLite)
-- compatibility: contract
-- (every evidence write must now append to the chain in its own transaction: evidence written
-- by a binary of 020 is stored correctly yet has no entry, and `cavra audit verify` reports it
-- as inserted; and a backup by a binary of 020 refuses audit_chain_head's new column)
-- Widens audit_chain.kind to 'evidence' and adds audit_chain_head.evidence_pending. Why:
-- evidence metadata is what proves a session to an auditor, and anyone with SQL access could
-- change a session's evidence (its signer, its counts, its references) or delete it, and
-- nothing noticed. Each evidence write (its creation and every replacement) now appends an
-- entry with the record's canonical hash, like an approval's (docs/audit.md).
-- evidence_pending is 1 when the database already holds evidence: it is chained oldest first
-- by the next 'cavra migrate up', 'cavra serve' or 'cavra audit adopt' (a SQL migration
-- cannot compute its canonical form), after the entries the chain already holds.
-- SQLite cannot alter a CHECK: audit_chain is rebuilt (create, copy in seq order, drop,
-- rename) and its index created again; entries are unchanged. Its time grows with the chain
-- (docs/migrations.md).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE audit_chain_v21 (
    seq           INTEGER NOT NULL PRIMARY KEY,
    kind          TEXT    NOT NULL,
    record_id     TEXT    NOT NULL,
    record_sha256 TEXT    NOT NULL,
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    chained_at    TEXT    NOT NULL CHECK (chained_at GLOB '????-??-??T??:??:??.??????Z'),
    CONSTRAINT ck_audit_chain_seq CHECK (typeof(seq) = 'integer' AND seq >= 1),
    CONSTRAINT ck_audit_chain_kind CHECK (kind IN ('decision', 'approval', 'evidence')),
    CONSTRAINT ck_audit_chain_record_id CHECK (record_id <> '')
);

INSERT INTO audit_chain_v21 (seq, kind, record_id, record_sha256, prev_hash, hash, chained_at)
SELECT seq, kind, record_id, record_sha256, prev_hash, hash, chained_at
  FROM audit_chain ORDER BY seq;
DROP TABLE audit_chain;
ALTER TABLE audit_chain_v21 RENAME TO audit_chain;
CREATE INDEX ix_audit_chain_kind_record_id
    ON audit_chain (kind, record_id);

ALTER TABLE audit_chain_head ADD COLUMN evidence_pending INTEGER NOT NULL DEFAULT 0
    CONSTRAINT ck_audit_chain_head_evidence_pending CHECK (evidence_pending IN (0, 1));

UPDATE audit_chain_head
   SET evidence_pending = CASE WHEN EXISTS (SELECT 1 FROM evidence_metadata) THEN 1 ELSE 0 END
 WHERE id = 1;
