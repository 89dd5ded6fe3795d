#!/usr/bin/env bash
# Loads N synthetic decisions (default 1,000,000) and their session summaries into a
# migrated cavra database, fast: one INSERT ... SELECT over generated rows, in SQL.
#   bench/seed.sh postgresql://...  [N]
#   bench/seed.sh /path/to/cavra.db [N]
# 50 repositories, 20 agents, 5 action types, 10,000 sessions of N/10,000 decisions,
# 70% allow / 15% block / 15% require_approval, spread over the past ~90 days.
set -euo pipefail
url=$1
n=${2:-1000000}
per_session=$(((n + 9999) / 10000))

pg_seed() {
	psql "$url" -X -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO activity_decisions (decision_id, session_id, agent_id, actor, repository,
    action_type, policy_pack, rule_id, decision, severity, approver_group, correlation_id,
    decided_at, created_at, updated_at, payload)
SELECT id, sess, agent, 'seed@example', repo, act, 'cavra-ai-agent-baseline', rule, dec, sev,
    grp, 'corr_' || lpad(to_hex(i), 12, '0'), ts, ts, ts,
    jsonb_build_object('schema_version', 'cavra.decision.v1', 'decision_id', id,
        'session_id', sess, 'agent_id', agent, 'actor', 'seed@example', 'repository', repo,
        'action_type', act, 'target', 'target-' || i, 'requested_operation', NULL,
        'policy_pack', 'cavra-ai-agent-baseline', 'policy_id', 'cavra-ai-agent-baseline',
        'rule_id', rule, 'decision', dec, 'severity', sev, 'reason', 'seeded for benchmarks',
        'evidence_refs', jsonb_build_array('evidence://' || sess || '/' || id),
        'approver_group', grp,
        'timestamp', to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'correlation_id', 'corr_' || lpad(to_hex(i), 12, '0'),
        'policy_version', jsonb_build_object('version', '1.0.0', 'sha256', repeat('0', 64)))
FROM (
    SELECT i, 'dec_' || lpad(to_hex(i), 12, '0') AS id,
        'seed-' || (i / $per_session) AS sess,
        'agent-' || (i % 20 + 1) AS agent,
        'repo-' || (i % 50 + 1) || '/api' AS repo,
        (ARRAY['read_file','write_file','execute_command','git_operation','mcp_tool_call'])[i % 5 + 1] AS act,
        CASE WHEN i % 20 < 14 THEN 'allow' WHEN i % 20 < 17 THEN 'block' ELSE 'require_approval' END AS dec,
        CASE WHEN i % 20 < 14 THEN 'low' WHEN i % 20 < 17 THEN 'high' ELSE 'medium' END AS sev,
        CASE WHEN i % 20 < 14 THEN 'commands.allow' WHEN i % 20 < 17 THEN 'commands.block'
             ELSE 'commands.default.require_approval' END AS rule,
        CASE WHEN i % 20 >= 17 THEN 'Repository Owners' END AS grp,
        now() - (($n - i) * interval '7.776 seconds') AS ts
    FROM generate_series(1, $n) AS g(i)) s;
INSERT INTO activity_sessions (session_id, agent_id, actor, repository, policy_pack, state,
    started_at, updated_at, decision_count, blocked_count, approval_required_count,
    created_at, payload)
SELECT session_id, min(agent_id), 'seed@example', min(repository), 'cavra-ai-agent-baseline',
    'completed', min(decided_at), max(decided_at), count(*),
    count(*) FILTER (WHERE decision = 'block'),
    count(*) FILTER (WHERE decision = 'require_approval'), min(decided_at), '{}'::jsonb
FROM activity_decisions WHERE session_id LIKE 'seed-%' GROUP BY session_id
ON CONFLICT (session_id) DO NOTHING;
ANALYZE;
SQL
}

sqlite_seed() {
	sqlite3 "$url" <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $n),
s AS (
    SELECT i, printf('dec_%012x', i) AS id, 'seed-' || (i / $per_session) AS sess,
        'agent-' || (i % 20 + 1) AS agent, 'repo-' || (i % 50 + 1) || '/api' AS repo,
        CASE i % 5 WHEN 0 THEN 'read_file' WHEN 1 THEN 'write_file' WHEN 2 THEN 'execute_command'
            WHEN 3 THEN 'git_operation' ELSE 'mcp_tool_call' END AS act,
        CASE WHEN i % 20 < 14 THEN 'allow' WHEN i % 20 < 17 THEN 'block' ELSE 'require_approval' END AS dec,
        CASE WHEN i % 20 < 14 THEN 'low' WHEN i % 20 < 17 THEN 'high' ELSE 'medium' END AS sev,
        CASE WHEN i % 20 < 14 THEN 'commands.allow' WHEN i % 20 < 17 THEN 'commands.block'
             ELSE 'commands.default.require_approval' END AS rule,
        CASE WHEN i % 20 >= 17 THEN 'Repository Owners' END AS grp,
        strftime('%Y-%m-%dT%H:%M:%S', 'now', '-' || (($n - i) * 7) || ' seconds') ||
            printf('.%06dZ', i % 1000000) AS ts
    FROM g)
INSERT INTO activity_decisions (decision_id, session_id, agent_id, actor, repository,
    action_type, policy_pack, rule_id, decision, severity, approver_group, correlation_id,
    decided_at, created_at, updated_at, payload)
SELECT id, sess, agent, 'seed@example', repo, act, 'cavra-ai-agent-baseline', rule, dec, sev,
    grp, printf('corr_%012x', i), ts, ts, ts,
    json_object('schema_version', 'cavra.decision.v1', 'decision_id', id, 'session_id', sess,
        'agent_id', agent, 'actor', 'seed@example', 'repository', repo, 'action_type', act,
        'target', 'target-' || i, 'requested_operation', NULL,
        'policy_pack', 'cavra-ai-agent-baseline', 'policy_id', 'cavra-ai-agent-baseline',
        'rule_id', rule, 'decision', dec, 'severity', sev, 'reason', 'seeded for benchmarks',
        'evidence_refs', json_array('evidence://' || sess || '/' || id),
        'approver_group', grp, 'timestamp', ts, 'correlation_id', printf('corr_%012x', i),
        'policy_version', json_object('version', '1.0.0', 'sha256', printf('%064d', 0)))
FROM s;
INSERT OR IGNORE INTO activity_sessions (session_id, agent_id, actor, repository, policy_pack,
    state, started_at, updated_at, decision_count, blocked_count, approval_required_count,
    created_at, payload)
SELECT session_id, min(agent_id), 'seed@example', min(repository), 'cavra-ai-agent-baseline',
    'completed', min(decided_at), max(decided_at), count(*),
    sum(decision = 'block'), sum(decision = 'require_approval'), min(decided_at), '{}'
FROM activity_decisions WHERE session_id LIKE 'seed-%' GROUP BY session_id;
COMMIT;
ANALYZE;
SQL
}

case "$url" in
postgres://* | postgresql://*) pg_seed ;;
*) sqlite_seed ;;
esac
