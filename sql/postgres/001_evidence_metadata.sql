-- 001_evidence_metadata.sql (PostgreSQL)
-- Creates evidence_metadata: one row per session's evidence bundle
-- (cavra.evidence.metadata.v1), keyed by session_id. Why: GET /evidence
-- filters by signer, min_blocked and has_approvals (approval_count > 0)
-- without parsing payloads; the session_id substring filter scans.
-- PostgreSQL: times are TIMESTAMPTZ, counters BIGINT, payload JSONB (an object);
-- key columns use COLLATE "C" so that id order matches SQLite's byte order.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE evidence_metadata (
    session_id     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    signer         TEXT,
    decision_count BIGINT           NOT NULL DEFAULT 0,
    blocked_count  BIGINT           NOT NULL DEFAULT 0,
    approval_count BIGINT           NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ      NOT NULL,
    updated_at     TIMESTAMPTZ      NOT NULL,
    payload        JSONB            NOT NULL,
    CONSTRAINT ck_evidence_metadata_session_id CHECK (session_id <> ''),
    CONSTRAINT ck_evidence_metadata_decision_count CHECK (decision_count >= 0),
    CONSTRAINT ck_evidence_metadata_blocked_count CHECK (blocked_count >= 0),
    CONSTRAINT ck_evidence_metadata_approval_count CHECK (approval_count >= 0),
    CONSTRAINT ck_evidence_metadata_payload CHECK (jsonb_typeof(payload) = 'object')
);

CREATE INDEX ix_evidence_metadata_created_at_session_id
    ON evidence_metadata (created_at DESC, session_id);
CREATE INDEX ix_evidence_metadata_signer_created_at
    ON evidence_metadata (signer, created_at DESC);
CREATE INDEX ix_evidence_metadata_blocked_count
    ON evidence_metadata (blocked_count);
CREATE INDEX ix_evidence_metadata_approval_count
    ON evidence_metadata (approval_count);
