#!/usr/bin/env bash
# The write cost of the read indexes of activity_decisions on PostgreSQL: pgbench runs the
# statement of POST /decisions (bench/pgbench_decision.sql) with every index of the migrated
# schema, then without each of migration 012's three composite indexes, without all three,
# without migration 017's ix_activity_decisions_rollout_groups, and with no secondary index at
# all (the floor). Each run starts from empty tables (TRUNCATE,
# CHECKPOINT) and runs TX decisions per client; the sets take turns ROUNDS times and the median
# tps of each is reported, with the WAL bytes written per decision (pg_current_wal_lsn before and
# after a run): unlike tps, that figure does not depend on what else the machine is doing.
#   bash bench/index_cost.sh          Settings: ROUNDS=3, TX=400, CLIENTS=8
# Prints a Markdown table for docs/benchmarks.md on stdout; progress on stderr. Run as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-3}
TX=${TX:-400}
CLIENTS=${CLIENTS:-8}
I012="ix_activity_decisions_repository_decision_decided_at
ix_activity_decisions_agent_id_severity_decided_at
ix_activity_decisions_policy_pack_decision_decided_at"

[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres with runuser"
pg_workdir index

build_release build-bench
pg_start shared_buffers=512MB max_wal_size=8GB checkpoint_timeout=30min
url=$(pgurl post)
psql "$(pgurl postgres)" -Xq -c 'CREATE DATABASE post'
"$cavra" migrate up --database "$url" >"$work/migrate.log" 2>&1 || die "migrate up failed"
export PGOPTIONS='-c client_min_messages=warning'
q=(psql "$url" -X -q -At -v ON_ERROR_STOP=1)
# unique indexes (the idempotency key's, migration 014) keep writes correct, not reads: they stay
"${q[@]}" -c "SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE tablename = 'activity_decisions'
	AND indexname NOT IN (SELECT conname FROM pg_constraint) AND indexdef NOT LIKE 'CREATE UNIQUE %'
	ORDER BY indexname" >"$work/defs"
all=$(cut -d' ' -f1 "$work/defs")
mapfile -t names <<<"$all"

# keep NAMES: exactly the secondary indexes named (one a line) exist on activity_decisions
keep() {
	local n
	for n in "${names[@]}"; do
		if grep -qx "$n" <<<"$1"; then
			"${q[@]}" -c "$(sed -n "s/^$n //p" "$work/defs" | sed 's/CREATE INDEX/CREATE INDEX IF NOT EXISTS/')"
		else
			"${q[@]}" -c "DROP INDEX IF EXISTS $n"
		fi
	done
	"${q[@]}" -c 'TRUNCATE activity_decisions, activity_sessions' -c CHECKPOINT
}

declare -A T W
sets=(all no_012 no_repository_decision no_agent_severity no_pack_decision no_rollout_groups none)
run_set() { # set round
	case $1 in
	all) keep "$all" ;;
	no_012) keep "$(grep -vxF "$I012" <<<"$all")" ;;
	no_repository_decision) keep "$(grep -vx ix_activity_decisions_repository_decision_decided_at <<<"$all")" ;;
	no_agent_severity) keep "$(grep -vx ix_activity_decisions_agent_id_severity_decided_at <<<"$all")" ;;
	no_pack_decision) keep "$(grep -vx ix_activity_decisions_policy_pack_decision_decided_at <<<"$all")" ;;
	no_rollout_groups) keep "$(grep -vx ix_activity_decisions_rollout_groups <<<"$all")" ;;
	none) keep "" ;;
	esac
	local f=$work/pgbench-$1-$2.txt lsn0 n
	lsn0=$("${q[@]}" -c 'SELECT pg_current_wal_lsn()')
	"$bindir/pgbench" -n -M prepared -c "$CLIENTS" -j 2 -t "$TX" -f bench/pgbench_decision.sql \
		"$url" >"$f" 2>&1 || die "pgbench failed: $(tail -3 "$f")"
	T[$1,$2]=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$f")
	n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$f")
	W[$1,$2]=$("${q[@]}" -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0') / $n)")
	say "$1 round $2: tps=${T[$1,$2]} wal_bytes_per_tx=${W[$1,$2]} (load $(cut -d' ' -f1 /proc/loadavg))"
}
for r in $(seq "$ROUNDS"); do
	for s in "${sets[@]}"; do run_set "$s" "$r"; done
done

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; } # of the lines of stdin
# col T|W SET: that set's tps or WAL figure of each round, one a line
col() { for r in $(seq "$ROUNDS"); do if [ "$1" = T ]; then echo "${T[$2,$r]}"; else echo "${W[$2,$r]}"; fi; done; }
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "cavra \`$rev\`, pgbench -M prepared, $CLIENTS clients × $TX decisions per run, $ROUNDS rounds" \
	"(sets in turn, median tps), $(nproc) cores; started by \`bash bench/index_cost.sh\`."
echo
echo "| secondary indexes on activity_decisions | count | tps (median) | rounds | vs all | WAL bytes / decision (median) |"
echo "| --- | --- | --- | --- | --- | --- |"
base=$(col T all | median)
for s in "${sets[@]}"; do
	m=$(col T "$s" | median)
	case $s in all) k=${#names[@]} ;; no_012) k=$((${#names[@]} - 3)) ;; none) k=0 ;; *) k=$((${#names[@]} - 1)) ;; esac
	w=$(col W "$s" | median)
	echo "| \`$s\` | $k | $m | $(col T "$s" | paste -sd/) |" \
		"$(awk -v a="$m" -v b="$base" 'BEGIN{printf "%+.1f%%", (a/b-1)*100}') | $w |"
done
