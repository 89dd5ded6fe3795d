-- pgbench: the SQL transaction behind POST /decisions, as cavra sends it (one statement:
-- insert the decision and upsert its session summary).  Variables are set by pgbench.
\set sess random(1, 1000)
\set agent random(1, 20)
\set repo random(1, 50)
\set n random(1, 1000000000)
WITH d AS (
    INSERT INTO activity_decisions (decision_id, session_id, agent_id, actor, repository,
        action_type, policy_pack, rule_id, decision, severity, approver_group, correlation_id,
        decided_at, created_at, updated_at, payload)
    VALUES ('pgb_' || :client_id || '_' || :n || '_' || md5(random()::text),
        'bench-' || :sess, 'agent-' || :agent, 'ci@example', 'repo-' || :repo || '/api',
        'execute_command', 'cavra-ai-agent-baseline', 'commands.block', 'block', 'critical',
        NULL, 'corr_' || substr(md5(random()::text), 1, 12), now(), now(), now(),
        jsonb_build_object('schema_version', 'cavra.decision.v1', 'decision_id', 'dec_x',
            'session_id', 'bench-' || :sess, 'agent_id', 'agent-' || :agent,
            'actor', 'ci@example', 'repository', 'repo-' || :repo || '/api',
            'action_type', 'execute_command', 'target', 'terraform apply -auto-approve',
            'requested_operation', 'push', 'policy_pack', 'cavra-ai-agent-baseline',
            'policy_id', 'cavra-ai-agent-baseline', 'rule_id', 'commands.block',
            'decision', 'block', 'severity', 'critical',
            'reason', 'command matches blocked pattern ''terraform apply*''',
            'evidence_refs', jsonb_build_array('evidence://bench/dec_x'),
            'approver_group', NULL, 'timestamp', now(), 'correlation_id', 'corr_x',
            'policy_version', jsonb_build_object('version', '1.0.0',
                'sha256', md5('x') || md5('y'))))
    RETURNING 1)
INSERT INTO activity_sessions (session_id, agent_id, actor, repository, policy_pack, state,
    started_at, updated_at, decision_count, blocked_count, approval_required_count, created_at,
    payload)
SELECT 'bench-' || :sess, 'agent-' || :agent, 'ci@example', 'repo-' || :repo || '/api',
    'cavra-ai-agent-baseline', 'active', now(), now(), 1, 1, 0, now(), '{}'::jsonb FROM d
ON CONFLICT (session_id) DO UPDATE SET
    updated_at = CASE WHEN excluded.updated_at > activity_sessions.updated_at
        THEN excluded.updated_at ELSE activity_sessions.updated_at END,
    decision_count = activity_sessions.decision_count + 1,
    blocked_count = activity_sessions.blocked_count + excluded.blocked_count,
    approval_required_count = activity_sessions.approval_required_count
        + excluded.approval_required_count;
