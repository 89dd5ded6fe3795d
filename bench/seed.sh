#!/usr/bin/env bash
# Loads N synthetic decisions (default 1,000,000) and their session summaries into an empty,
# migrated cavra database, fast: one INSERT ... SELECT over generated rows, in SQL, with the
# secondary indexes dropped during the load and rebuilt afterwards (same definitions, read
# back from the catalog), then ANALYZE.
#   bash bench/seed.sh postgresql://user@127.0.0.1:PORT/db [N]
#   bash bench/seed.sh /path/to/cavra.db [N]            (SQLite; needs the sqlite3 CLI)
# Run `cavra migrate up --database URL` first.
# SEED_REPOS (default 50) and SEED_DAYS (default 90) narrow the data: SEED_REPOS=2 SEED_DAYS=30
# with N=200000 puts 100,000 decisions of acme/svc-01 inside the last 30 days
# (bench/rollout_detail.sh).
#
# The data: 50 repositories (acme/svc-01 .. acme/svc-50), 20 agents (agent-01 .. agent-20),
# sessions of 50 decisions each (one agent and one repository per session), the 5 action
# types, 20 decision profiles taken from what the baseline pack really answers (14 allow, 3
# block, 3 require_approval: 70% / 15% / 15%), severity, rule, approver group and reason to
# match, decided_at spread evenly over the last 90 days (a session's decisions are minutes
# apart), and a payload with exactly the fields and order of a stored cavra.decision.v1
# record.  Everything is derived from the row number with a multiplicative hash, so both
# backends hold the same rows.  Session counters are the aggregates of their decisions.
set -euo pipefail

url=${1:?usage: seed.sh DATABASE_URL [N]}
n=${2:-1000000}
per=50                      # decisions per session
repos=${SEED_REPOS:-50}
span_us=$((${SEED_DAYS:-90} * 86400 * 1000000))
now_us=$(($(date +%s) * 1000000))
start_us=$((now_us - span_us))

# id, action_type, target, operation, rule_id, decision, severity, approver_group, reason
profiles="
(0,'read_file','README.md',NULL,'filesystem.read.allow','allow','low',NULL,'read of ''README.md'' matches no filesystem.block_read pattern'),
(1,'read_file','src/app.py',NULL,'filesystem.read.allow','allow','low',NULL,'read of ''src/app.py'' matches no filesystem.block_read pattern'),
(2,'read_file','package.json',NULL,'filesystem.read.allow','allow','low',NULL,'read of ''package.json'' matches no filesystem.block_read pattern'),
(3,'write_file','src/app.py',NULL,'filesystem.write.allow','allow','low',NULL,'write to ''src/app.py'' matches no filesystem.block_write or filesystem.require_approval_write pattern'),
(4,'write_file','tests/test_app.py',NULL,'filesystem.write.allow','allow','low',NULL,'write to ''tests/test_app.py'' matches no filesystem.block_write or filesystem.require_approval_write pattern'),
(5,'write_file','README.md',NULL,'filesystem.write.allow','allow','low',NULL,'write to ''README.md'' matches no filesystem.block_write or filesystem.require_approval_write pattern'),
(6,'execute_command','pytest -q',NULL,'commands.allow','allow','low',NULL,'command ''pytest -q'' matches commands.allow pattern ''pytest *'''),
(7,'execute_command','ls -la',NULL,'commands.allow','allow','low',NULL,'command ''ls -la'' matches commands.allow pattern ''ls *'''),
(8,'execute_command','git status',NULL,'commands.allow','allow','low',NULL,'command ''git status'' matches commands.allow pattern ''git status*'''),
(9,'execute_command','npm test',NULL,'commands.allow','allow','low',NULL,'command ''npm test'' matches commands.allow pattern ''npm test*'''),
(10,'git_operation','feature/login','push','git.allow','allow','low',NULL,'git operation ''push'' on ''feature/login'' is not a push to a protected branch'),
(11,'git_operation','feature/login','commit','git.allow','allow','low',NULL,'git operation ''commit'' on ''feature/login'' is not a push to a protected branch'),
(12,'mcp_tool_call','github/get_issue',NULL,'mcp.tool.allow','allow','low',NULL,'tool ''get_issue'' of mcp server ''github'' is allowed'),
(13,'mcp_tool_call','github/list_pull_requests',NULL,'mcp.tool.allow','allow','low',NULL,'tool ''list_pull_requests'' of mcp server ''github'' is allowed'),
(14,'read_file','.env',NULL,'filesystem.read.block','block','high',NULL,'read of ''.env'' matches filesystem.block_read pattern ''.env'''),
(15,'execute_command','terraform apply -auto-approve',NULL,'commands.block','block','critical',NULL,'command ''terraform apply -auto-approve'' matches commands.block pattern ''terraform apply*'''),
(16,'git_operation','main','push','git.protected_branch.block_direct_push','block','high',NULL,'push to ''main'' targets a branch matching git.protected_branches pattern ''main'''),
(17,'write_file','iam/role.tf',NULL,'filesystem.write.require_approval','require_approval','high','Platform Security','write to ''iam/role.tf'' matches filesystem.require_approval_write pattern ''iam/**'''),
(18,'execute_command','make deploy',NULL,'commands.default.require_approval','require_approval','medium','Repository Owners','command ''make deploy'' matches no commands.allow pattern of pack ''cavra-ai-agent-baseline'''),
(19,'mcp_tool_call','jira/create_ticket',NULL,'mcp.server.require_approval','require_approval','medium','AI Governance','mcp server ''jira'' is pending approval')"

# Row i (0-based): h = (i * 2654435761) mod 2^32; profile = (h >> 7) mod 20;
# session k = i / 50, hk = (k * 2654435761) mod 2^32; agent = hk mod 20; repository = (hk >> 8) mod 50;
# decided_at = start + i * span / n microseconds (distinct, increasing).

pg_seed() {
	local q=(psql "$url" -X -q -v ON_ERROR_STOP=1)
	if [ "$("${q[@]}" -At -c 'SELECT count(*) FROM activity_decisions')" != 0 ]; then
		echo "seed.sh: activity_decisions is not empty" >&2
		exit 1
	fi
	local drops creates
	# secondary indexes only: the primary keys stay (they are constraints)
	drops=$("${q[@]}" -At -c "SELECT 'DROP INDEX ' || quote_ident(indexname) || ';' FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename IN ('activity_decisions', 'activity_sessions')
		AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname")
	creates=$("${q[@]}" -At -c "SELECT indexdef || ';' FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename IN ('activity_decisions', 'activity_sessions')
		AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname")
	"${q[@]}" <<SQL
BEGIN;
SET LOCAL synchronous_commit = off;
SET LOCAL maintenance_work_mem = '256MB';
SET LOCAL work_mem = '64MB';
$drops
CREATE TEMP TABLE seed_profile (p int PRIMARY KEY, act text, target text, op text, rule text,
    dec text, sev text, grp text, reason text) ON COMMIT DROP;
INSERT INTO seed_profile VALUES $profiles;
INSERT INTO activity_decisions (decision_id, session_id, agent_id, actor, repository,
    action_type, policy_pack, rule_id, decision, severity, approver_group, correlation_id,
    decided_at, created_at, updated_at, payload)
SELECT id, sess, agent, actor, repo, pr.act, 'cavra-ai-agent-baseline', pr.rule, pr.dec, pr.sev,
    pr.grp, corr, ts, ts, ts,
    jsonb_build_object('schema_version', 'cavra.decision.v1', 'decision_id', id,
        'session_id', sess, 'agent_id', agent, 'actor', actor, 'repository', repo,
        'action_type', pr.act, 'target', pr.target, 'requested_operation', pr.op,
        'policy_pack', 'cavra-ai-agent-baseline', 'policy_id', 'cavra-ai-agent-baseline',
        'rule_id', pr.rule, 'decision', pr.dec, 'severity', pr.sev, 'reason', pr.reason,
        'evidence_refs', jsonb_build_array('evidence://' || sess || '/' || id),
        'approver_group', pr.grp,
        'timestamp', to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'correlation_id', corr,
        'policy_version', jsonb_build_object('version', '1.0.0',
            'sha256', '898902a3abc26882a8afc3252ddae3c8f25b4fe57ce3c0efca558bdaf18a2e1e'))
FROM (
    SELECT i, 'dec_' || lpad(to_hex(i), 12, '0') AS id,
        'corr_' || lpad(to_hex((i * 2654435761) % 281474976710656), 12, '0') AS corr,
        'seed-' || lpad((i / $per)::text, 6, '0') AS sess,
        'agent-' || lpad((hk % 20 + 1)::text, 2, '0') AS agent,
        'dev-' || (hk % 20 + 1) || '@example.com' AS actor,
        'acme/svc-' || lpad(((hk >> 8) % $repos + 1)::text, 2, '0') AS repo,
        (h >> 7) % 20 AS p,
        timestamptz 'epoch' + ($start_us + i * ($span_us / $n)) * interval '1 microsecond' AS ts
    FROM (SELECT i, (i * 2654435761) % 4294967296 AS h,
                 ((i / $per) * 2654435761) % 4294967296 AS hk
          FROM generate_series(0::bigint, $n - 1) AS g(i)) g) s
JOIN seed_profile pr USING (p);
INSERT INTO activity_sessions (session_id, agent_id, actor, repository, policy_pack, state,
    started_at, updated_at, decision_count, blocked_count, approval_required_count,
    created_at, payload)
SELECT session_id, min(agent_id), min(actor), min(repository), 'cavra-ai-agent-baseline',
    CASE WHEN max(decided_at) > now() - interval '1 hour' THEN 'active' ELSE 'completed' END,
    min(decided_at), max(decided_at), count(*),
    count(*) FILTER (WHERE decision = 'block'),
    count(*) FILTER (WHERE decision = 'require_approval'), min(decided_at), '{}'::jsonb
FROM activity_decisions GROUP BY session_id;
$creates
COMMIT;
VACUUM (ANALYZE) activity_decisions, activity_sessions;
SQL
}

sqlite_seed() {
	local q=(sqlite3 -bail "$url")
	if [ "$("${q[@]}" 'SELECT count(*) FROM activity_decisions')" != 0 ]; then
		echo "seed.sh: activity_decisions is not empty" >&2
		exit 1
	fi
	local drops creates
	drops=$("${q[@]}" "SELECT 'DROP INDEX \"' || name || '\";' FROM sqlite_master
		WHERE type = 'index' AND sql IS NOT NULL
		AND tbl_name IN ('activity_decisions', 'activity_sessions') ORDER BY name")
	creates=$("${q[@]}" "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
		AND tbl_name IN ('activity_decisions', 'activity_sessions') ORDER BY name")
	# The times: the canonical 'YYYY-MM-DDTHH:MM:SS.ffffffZ' form the schema checks.
	"${q[@]}" >/dev/null <<SQL
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -524288;
PRAGMA temp_store = MEMORY;
BEGIN;
$drops
CREATE TEMP TABLE seed_profile (p INTEGER PRIMARY KEY, act TEXT, target TEXT, op TEXT,
    rule TEXT, dec TEXT, sev TEXT, grp TEXT, reason TEXT);
INSERT INTO seed_profile VALUES $profiles;
INSERT INTO activity_decisions (decision_id, session_id, agent_id, actor, repository,
    action_type, policy_pack, rule_id, decision, severity, approver_group, correlation_id,
    decided_at, created_at, updated_at, payload)
SELECT id, sess, agent, actor, repo, pr.act, 'cavra-ai-agent-baseline', pr.rule, pr.dec, pr.sev,
    pr.grp, corr, ts, ts, ts,
    json_object('schema_version', 'cavra.decision.v1', 'decision_id', id,
        'session_id', sess, 'agent_id', agent, 'actor', actor, 'repository', repo,
        'action_type', pr.act, 'target', pr.target, 'requested_operation', pr.op,
        'policy_pack', 'cavra-ai-agent-baseline', 'policy_id', 'cavra-ai-agent-baseline',
        'rule_id', pr.rule, 'decision', pr.dec, 'severity', pr.sev, 'reason', pr.reason,
        'evidence_refs', json_array('evidence://' || sess || '/' || id),
        'approver_group', pr.grp, 'timestamp', ts, 'correlation_id', corr,
        'policy_version', json_object('version', '1.0.0',
            'sha256', '898902a3abc26882a8afc3252ddae3c8f25b4fe57ce3c0efca558bdaf18a2e1e'))
FROM (
    SELECT i, printf('dec_%012x', i) AS id,
        printf('corr_%012x', (i * 2654435761) % 281474976710656) AS corr,
        printf('seed-%06d', i / $per) AS sess,
        printf('agent-%02d', hk % 20 + 1) AS agent,
        'dev-' || (hk % 20 + 1) || '@example.com' AS actor,
        printf('acme/svc-%02d', (hk >> 8) % $repos + 1) AS repo,
        (h >> 7) % 20 AS p,
        strftime('%Y-%m-%dT%H:%M:%S', us / 1000000, 'unixepoch') || printf('.%06dZ', us % 1000000) AS ts
    FROM (SELECT value AS i, (value * 2654435761) % 4294967296 AS h,
                 ((value / $per) * 2654435761) % 4294967296 AS hk,
                 $start_us + value * ($span_us / $n) AS us
          FROM generate_series(0, $n - 1))) s
JOIN seed_profile pr USING (p);
INSERT INTO activity_sessions (session_id, agent_id, actor, repository, policy_pack, state,
    started_at, updated_at, decision_count, blocked_count, approval_required_count,
    created_at, payload)
SELECT session_id, min(agent_id), min(actor), min(repository), 'cavra-ai-agent-baseline',
    CASE WHEN max(decided_at) > strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now', '-1 hour')
         THEN 'active' ELSE 'completed' END,
    min(decided_at), max(decided_at), count(*), sum(decision = 'block'),
    sum(decision = 'require_approval'), min(decided_at), '{}'
FROM activity_decisions GROUP BY session_id;
$creates
COMMIT;
ANALYZE;
PRAGMA journal_mode = WAL;
SQL
}

# The rows went in behind cavra's back, so they have no audit chain entries: mark them as
# waiting for adoption (docs/audit.md), which the next `cavra migrate up`, `cavra serve` or
# `cavra audit adopt` does, oldest first.  Before migration 015 there is no chain to mark.
mark_adopt() {
	case "$url" in
	postgres://* | postgresql://*)
		psql "$url" -X -q -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN
			IF to_regclass('audit_chain_head') IS NOT NULL THEN
				UPDATE audit_chain_head SET adopt_pending = 1 WHERE seq = 0;
			END IF; END \$\$" ;;
	*)
		if [ "$(sqlite3 "$url" "SELECT count(*) FROM sqlite_master WHERE name = 'audit_chain_head'")" = 1 ]; then
			sqlite3 -bail "$url" "UPDATE audit_chain_head SET adopt_pending = 1 WHERE seq = 0"
		fi ;;
	esac
}

case "$url" in
postgres://* | postgresql://*) pg_seed ;;
*) sqlite_seed ;;
esac
mark_adopt
