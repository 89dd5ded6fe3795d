-- 014_decision_idempotency_keys.sql (PostgreSQL)
-- Adds the Idempotency-Key of POST /decisions to the decision's own row. Why:
-- a harness that times out and retries must get the decision it was first
-- given instead of a second one counted twice. The key is written by the same
-- INSERT as the decision, so a decision and its key are durable together or
-- not at all; the unique index makes concurrent duplicates resolve to one row.
-- idempotency_caller is who sent the key (keys are per caller, see
-- docs/api.md), request_sha256 the SHA-256 of the canonical request body, so
-- that a reuse of the key with another body is told apart from a retry.
-- The three are all NULL (no key) or all set. ADD COLUMN without a default
-- rewrites no row; the partial index holds only rows that have a key.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

ALTER TABLE activity_decisions ADD COLUMN idempotency_caller TEXT
    CONSTRAINT ck_activity_decisions_idempotency_caller CHECK (idempotency_caller <> '');
ALTER TABLE activity_decisions ADD COLUMN idempotency_key TEXT
    CONSTRAINT ck_activity_decisions_idempotency_key
        CHECK (length(idempotency_key) BETWEEN 1 AND 255);
ALTER TABLE activity_decisions ADD COLUMN request_sha256 TEXT
    CONSTRAINT ck_activity_decisions_request_sha256 CHECK (length(request_sha256) = 64);

CREATE UNIQUE INDEX ux_activity_decisions_idempotency
    ON activity_decisions (idempotency_caller, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
