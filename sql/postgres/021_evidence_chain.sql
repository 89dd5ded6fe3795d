-- 021_evidence_chain.sql (PostgreSQL)
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
-- The CHECK is replaced: PostgreSQL validates the new one against every entry (a read of
-- audit_chain, no rewrite) under a lock that blocks every chaining write until the commit.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

ALTER TABLE audit_chain DROP CONSTRAINT ck_audit_chain_kind;
ALTER TABLE audit_chain ADD CONSTRAINT ck_audit_chain_kind
    CHECK (kind IN ('decision', 'approval', 'evidence'));

ALTER TABLE audit_chain_head ADD COLUMN evidence_pending INTEGER NOT NULL DEFAULT 0
    CONSTRAINT ck_audit_chain_head_evidence_pending CHECK (evidence_pending IN (0, 1));

UPDATE audit_chain_head
   SET evidence_pending = CASE WHEN EXISTS (SELECT 1 FROM evidence_metadata) THEN 1 ELSE 0 END
 WHERE id = 1;
