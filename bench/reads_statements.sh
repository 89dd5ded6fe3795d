#!/usr/bin/env bash
# The two statements of each list request of bench/reads_mix.lua (the bounded count and the
# page, as internal/store sends them), timed inside PostgreSQL: the minimum over REPS runs of
# EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON), planning + execution in ms. The minimum, because on
# a shared machine the load inflates every run but the quietest; EXPLAIN leaves out the text
# output of the rows (payload), so the page figures are lower bounds.
#   bash bench/reads_statements.sh postgresql://user@127.0.0.1:PORT/db [TABLE]
# On a database seeded by bench/seed.sh; TABLE (default activity_decisions) names a copy to
# compare, e.g. a partitioned one. Prints a Markdown table on stdout. REPS=20.
set -euo pipefail

url=${1:?usage: reads_statements.sh DATABASE_URL [TABLE]}
table=${2:-activity_decisions}
reps=${REPS:-20}
shapes=(latest repo_outcome agent_severity action_type pack_outcome session time_range
	sessions sessions_agent sessions_repo)
declare -A where=(
	[repo_outcome]="WHERE repository = 'acme/svc-07' AND decision = 'allow'"
	[agent_severity]="WHERE agent_id = 'agent-03' AND severity = 'low'"
	[action_type]="WHERE action_type = 'write_file'"
	[pack_outcome]="WHERE policy_pack = 'cavra-ai-agent-baseline' AND decision = 'block'"
	[session]="WHERE session_id = 'seed-001234'"
	[time_range]="WHERE decided_at >= now() - interval '30 days' AND decided_at < now() - interval '29 days'"
	[sessions_agent]="WHERE agent_id = 'agent-03'"
	[sessions_repo]="WHERE repository = 'acme/svc-07'"
)

best() { # SQL: the least planning + execution time over reps runs, ms
	for _ in $(seq "$reps"); do echo "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) $1;"; done |
		psql "$url" -X -At -v ON_ERROR_STOP=1 |
		awk '/^Planning Time/ { p = $3 } /^Execution Time/ { t = p + $3; if (m == "" || t < m) m = t }
			END { printf "%.2f", m }'
}

echo "| shape | bounded count ms | page ms |"
echo "| --- | --- | --- |"
for s in "${shapes[@]}"; do
	w=${where[$s]:-}
	case $s in
	sessions*) t=activity_sessions cols='*' order='created_at DESC, session_id' ;;
	*) t=$table cols='payload, decided_at, decision_id' order='decided_at DESC, decision_id' ;;
	esac
	limit=51
	[ "$s" = action_type ] && limit=101
	c=$(best "SELECT count(*) FROM (SELECT 1 FROM $t $w LIMIT 10001) s")
	p=$(best "SELECT $cols FROM $t $w ORDER BY $order LIMIT $limit OFFSET 0")
	echo "| \`$s\` | $c | $p |"
done
