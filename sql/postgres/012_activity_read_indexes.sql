-- 012_activity_read_indexes.sql (PostgreSQL)
-- Indexes for the filter pairs the console and API clients combine on
-- GET /decisions (repository + decision, agent_id + severity, policy_pack +
-- decision), each followed by the list order (decided_at DESC, decision_id),
-- so that the first page and the bounded total are one index range instead
-- of a walk over every match of one filter.
-- GET /sessions now pages by created_at, which never changes after the
-- insert (updated_at does, and moved a session past a client's cursor): its
-- updated_at indexes are replaced by the same ones on created_at.
-- The three decision index names leave out the trailing decision_id:
-- PostgreSQL cuts names at 63 bytes.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE INDEX ix_activity_decisions_repository_decision_decided_at
    ON activity_decisions (repository, decision, decided_at DESC, decision_id);
CREATE INDEX ix_activity_decisions_agent_id_severity_decided_at
    ON activity_decisions (agent_id, severity, decided_at DESC, decision_id);
CREATE INDEX ix_activity_decisions_policy_pack_decision_decided_at
    ON activity_decisions (policy_pack, decision, decided_at DESC, decision_id);

DROP INDEX ix_activity_sessions_updated_at_session_id;
DROP INDEX ix_activity_sessions_agent_id_updated_at_session_id;
DROP INDEX ix_activity_sessions_repository_updated_at_session_id;
DROP INDEX ix_activity_sessions_policy_pack_updated_at_session_id;
DROP INDEX ix_activity_sessions_state_updated_at_session_id;

CREATE INDEX ix_activity_sessions_created_at_session_id
    ON activity_sessions (created_at DESC, session_id);
CREATE INDEX ix_activity_sessions_agent_id_created_at_session_id
    ON activity_sessions (agent_id, created_at DESC, session_id);
CREATE INDEX ix_activity_sessions_repository_created_at_session_id
    ON activity_sessions (repository, created_at DESC, session_id);
CREATE INDEX ix_activity_sessions_policy_pack_created_at_session_id
    ON activity_sessions (policy_pack, created_at DESC, session_id);
CREATE INDEX ix_activity_sessions_state_created_at_session_id
    ON activity_sessions (state, created_at DESC, session_id);
