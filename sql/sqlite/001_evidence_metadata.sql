-- 001_evidence_metadata.sql (SQLite)
-- Creates evidence_metadata: one row per session's evidence bundle
-- (cavra.evidence.metadata.v1), keyed by session_id. Why: GET /evidence
-- filters by signer, min_blocked and has_approvals (approval_count > 0)
-- without parsing payloads; the session_id substring filter scans.
-- SQLite: times are TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC, text order is time
-- order; the GLOB checks enforce that shape), counters INTEGER, payload JSON
-- TEXT (an object, like PostgreSQL's JSONB).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE evidence_metadata (
    session_id     TEXT    NOT NULL PRIMARY KEY,
    signer         TEXT,
    decision_count INTEGER NOT NULL DEFAULT 0,
    blocked_count  INTEGER NOT NULL DEFAULT 0,
    approval_count INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????Z'),
    updated_at     TEXT    NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????Z'),
    payload        TEXT    NOT NULL,
    CONSTRAINT ck_evidence_metadata_session_id CHECK (session_id <> ''),
    CONSTRAINT ck_evidence_metadata_decision_count
        CHECK (typeof(decision_count) = 'integer' AND decision_count >= 0),
    CONSTRAINT ck_evidence_metadata_blocked_count
        CHECK (typeof(blocked_count) = 'integer' AND blocked_count >= 0),
    CONSTRAINT ck_evidence_metadata_approval_count
        CHECK (typeof(approval_count) = 'integer' AND approval_count >= 0),
    CONSTRAINT ck_evidence_metadata_payload
        CHECK (json_valid(payload) AND json_type(payload) = 'object')
);

CREATE INDEX ix_evidence_metadata_created_at_session_id
    ON evidence_metadata (created_at DESC, session_id);
CREATE INDEX ix_evidence_metadata_signer_created_at
    ON evidence_metadata (signer, created_at DESC);
CREATE INDEX ix_evidence_metadata_blocked_count
    ON evidence_metadata (blocked_count);
CREATE INDEX ix_evidence_metadata_approval_count
    ON evidence_metadata (approval_count);
