-- 004_activity_sessions_decisions.sql (PostgreSQL)
-- Creates activity_sessions (cavra.session.v1) and activity_decisions
-- (cavra.decision.v1). Why: every POST /decisions is kept as a durable record
-- with its session summary, and GET /decisions and /sessions filter and page
-- newest first. No foreign key from decisions to sessions: imports may bring
-- decisions before their session.
-- PostgreSQL: times are TIMESTAMPTZ, counters BIGINT, payload JSONB (an object);
-- key columns use COLLATE "C" so that id order matches SQLite's byte order.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE activity_sessions (
    session_id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    agent_id                TEXT,
    actor                   TEXT,
    repository              TEXT,
    policy_pack             TEXT,
    state                   TEXT             NOT NULL,
    started_at              TIMESTAMPTZ      NOT NULL,
    updated_at              TIMESTAMPTZ      NOT NULL,
    decision_count          BIGINT           NOT NULL DEFAULT 0,
    blocked_count           BIGINT           NOT NULL DEFAULT 0,
    approval_required_count BIGINT           NOT NULL DEFAULT 0,
    created_at              TIMESTAMPTZ      NOT NULL,
    payload                 JSONB            NOT NULL,
    CONSTRAINT ck_activity_sessions_session_id CHECK (session_id <> ''),
    CONSTRAINT ck_activity_sessions_state
        CHECK (state IN ('active', 'completed', 'failed', 'archived')),
    CONSTRAINT ck_activity_sessions_decision_count CHECK (decision_count >= 0),
    CONSTRAINT ck_activity_sessions_blocked_count CHECK (blocked_count >= 0),
    CONSTRAINT ck_activity_sessions_approval_required_count CHECK (approval_required_count >= 0),
    CONSTRAINT ck_activity_sessions_payload CHECK (jsonb_typeof(payload) = 'object')
);

CREATE INDEX ix_activity_sessions_updated_at_session_id
    ON activity_sessions (updated_at DESC, session_id);
CREATE INDEX ix_activity_sessions_agent_id_updated_at_session_id
    ON activity_sessions (agent_id, updated_at DESC, session_id);
CREATE INDEX ix_activity_sessions_repository_updated_at_session_id
    ON activity_sessions (repository, updated_at DESC, session_id);
CREATE INDEX ix_activity_sessions_policy_pack_updated_at_session_id
    ON activity_sessions (policy_pack, updated_at DESC, session_id);
CREATE INDEX ix_activity_sessions_state_updated_at_session_id
    ON activity_sessions (state, updated_at DESC, session_id);

CREATE TABLE activity_decisions (
    decision_id    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    session_id     TEXT             NOT NULL,
    agent_id       TEXT,
    actor          TEXT,
    repository     TEXT,
    action_type    TEXT             NOT NULL,
    policy_pack    TEXT             NOT NULL,
    rule_id        TEXT,
    decision       TEXT             NOT NULL,
    severity       TEXT,
    approver_group TEXT,
    correlation_id TEXT,
    decided_at     TIMESTAMPTZ      NOT NULL,
    created_at     TIMESTAMPTZ      NOT NULL,
    updated_at     TIMESTAMPTZ      NOT NULL,
    payload        JSONB            NOT NULL,
    CONSTRAINT ck_activity_decisions_decision_id CHECK (decision_id <> ''),
    CONSTRAINT ck_activity_decisions_decision
        CHECK (decision IN ('allow', 'block', 'require_approval', 'warn', 'audit_only', 'allow_with_attestation')),
    CONSTRAINT ck_activity_decisions_severity
        CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    CONSTRAINT ck_activity_decisions_payload CHECK (jsonb_typeof(payload) = 'object')
);

CREATE INDEX ix_activity_decisions_decided_at_decision_id
    ON activity_decisions (decided_at DESC, decision_id);
CREATE INDEX ix_activity_decisions_session_id_decided_at_decision_id
    ON activity_decisions (session_id, decided_at, decision_id);
CREATE INDEX ix_activity_decisions_agent_id_decided_at_decision_id
    ON activity_decisions (agent_id, decided_at DESC, decision_id);
CREATE INDEX ix_activity_decisions_repository_decided_at_decision_id
    ON activity_decisions (repository, decided_at DESC, decision_id);
CREATE INDEX ix_activity_decisions_policy_pack_decided_at_decision_id
    ON activity_decisions (policy_pack, decided_at DESC, decision_id);
CREATE INDEX ix_activity_decisions_decision_decided_at_decision_id
    ON activity_decisions (decision, decided_at DESC, decision_id);
CREATE INDEX ix_activity_decisions_severity_decided_at_decision_id
    ON activity_decisions (severity, decided_at DESC, decision_id);
CREATE INDEX ix_activity_decisions_action_type_decided_at_decision_id
    ON activity_decisions (action_type, decided_at DESC, decision_id);
