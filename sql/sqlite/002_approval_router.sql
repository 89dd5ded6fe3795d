-- 002_approval_router.sql (SQLite)
-- Creates approvals (cavra.approval.v1, apr_ ids). Why: the approval router
-- lists work by state and approver group; each approval's history lives in
-- payload. No foreign key to activity_decisions: imports arrive in any order.
-- SQLite: times are TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC, text order is time
-- order; the GLOB checks enforce that shape), counters INTEGER, payload JSON
-- TEXT (an object, like PostgreSQL's JSONB).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE approvals (
    approval_id    TEXT NOT NULL PRIMARY KEY,
    decision_id    TEXT NOT NULL,
    session_id     TEXT,
    state          TEXT NOT NULL,
    approver_group TEXT NOT NULL,
    requested_by   TEXT,
    rule_id        TEXT,
    expires_at     TEXT NOT NULL CHECK (expires_at GLOB '????-??-??T??:??:??.??????Z'),
    decided_at     TEXT CHECK (decided_at GLOB '????-??-??T??:??:??.??????Z'),
    decided_by     TEXT,
    created_at     TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????Z'),
    updated_at     TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????Z'),
    payload        TEXT NOT NULL,
    CONSTRAINT ck_approvals_approval_id CHECK (approval_id <> ''),
    CONSTRAINT ck_approvals_state
        CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'break_glass')),
    CONSTRAINT ck_approvals_payload CHECK (json_valid(payload) AND json_type(payload) = 'object')
);

CREATE INDEX ix_approvals_created_at_approval_id
    ON approvals (created_at DESC, approval_id);
CREATE INDEX ix_approvals_state_created_at
    ON approvals (state, created_at DESC);
CREATE INDEX ix_approvals_approver_group_created_at
    ON approvals (approver_group, created_at DESC);
CREATE INDEX ix_approvals_decision_id
    ON approvals (decision_id);
CREATE INDEX ix_approvals_session_id
    ON approvals (session_id);
