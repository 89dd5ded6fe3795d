#!/usr/bin/env bash
# The CPU cost of a SQLite write: POST /decisions (bench/post_decision.lua) with wrk at CONNS
# connections against cavra serve on a fresh SQLite file, and cavra's CPU time (utime + stime
# from /proc/PID/stat, before and after the run) divided by the decisions the run stored; with
# perf installed also its context switches per decision (perf stat, software event).  CPU per
# decision moves much less with the machine's load than decisions/s, so revisions measured at
# different times can be compared.  Prints a Markdown table for docs/benchmarks.md on stdout,
# progress and the load average on stderr.
# With BACKEND=postgres the same on a fresh database of a throw-away PostgreSQL 15 (fsync and
# synchronous_commit on, pg_stat_statements loaded): the CPU column adds the server's processes
# (the postmaster's children) to cavra's, and a second table gives, per decision, what
# pg_stat_statements saw of each statement of the run (calls, rows, planning and execution
# time) and the WAL it wrote (pg_stat_wal); calls per decision of the decisions' INSERT is one
# over the mean batch size.  Run as root (PostgreSQL runs as user postgres).
#   bash bench/writes_cpu.sh                      the work tree
#   CAVRA_REV=a730f7c bash bench/writes_cpu.sh    a committed revision, built in a temp dir
#   BACKEND=postgres bash bench/writes_cpu.sh     PostgreSQL instead of SQLite
# Settings (environment): CONNS="8 32", DURATION=8 (seconds per run), ROUNDS=2, POOL=8,
# BACKEND=sqlite, SQLITE_BASE (a SQLite database copied for each row instead of a fresh one,
# e.g. 1M decisions: cavra ops restore BACKUP/manifest.json --target-url FILE).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

read -r -a CONNS <<<"${CONNS:-8 32}"
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-2}
POOL=${POOL:-8}
BACKEND=${BACKEND:-sqlite}

pg_workdir writes-cpu

need_wrk
build_revision
tck=$(getconf CLK_TCK)

user_sys_ticks() { # pid: "utime stime" in clock ticks (fields 14 and 15; the name has no spaces)
	awk '{ print $14, $15 }' "/proc/$1/stat"
}
stored() { sql "$BACKEND" "$db" 'SELECT count(*) FROM activity_decisions'; } # the decisions in db
fresh_db() { # an empty (or SQLITE_BASE's), migrated database in db
	if [ "$BACKEND" = postgres ]; then
		psql "$(pgurl postgres)" -Xq -c 'DROP DATABASE IF EXISTS w' -c 'CREATE DATABASE w'
		psql "$(pgurl w)" -Xq -c 'CREATE EXTENSION pg_stat_statements'
		db=$(pgurl w)
	else
		rm -f "$work"/w.db*
		db=$work/w.db
		if [ -n "${SQLITE_BASE:-}" ]; then
			cp "$SQLITE_BASE" "$db" && sync
		fi
	fi
	"$cavra" migrate up --database "$db" >"$work/migrate.log" 2>&1 || die "migrate up failed"
}
pg_reset_stats() {
	[ "$BACKEND" = postgres ] || return 0
	psql "$db" -XAtq -c 'SELECT pg_stat_statements_reset()' -c "SELECT pg_stat_reset_shared('wal')" >/dev/null
}
pg_stats() { # connections round decisions: rows of the per-statement table, on fd 3
	[ "$BACKEND" = postgres ] || return 0
	psql "$db" -XAt -F ' | ' -v n="$3" -v c="$1" -v r="$2" >&3 <<-'SQL'
		SELECT '| ' || :c, :r, left(regexp_replace(query, '\s+', ' ', 'g'), 48),
			round(calls::numeric / :n, 3), round(rows::numeric / :n, 3),
			round((total_plan_time * 1000 / :n)::numeric, 1),
			round((total_exec_time * 1000 / :n)::numeric, 1) || ' |'
		FROM pg_stat_statements WHERE calls >= :n / 100 AND query !~* 'pg_stat'
		ORDER BY total_exec_time DESC LIMIT 8;
		SELECT '| ' || :c, :r, 'WAL: records, full-page images, bytes / decision', round(wal_records::numeric / :n, 1),
			round(wal_fpi::numeric / :n, 2), round(wal_bytes / :n), round(wal_sync::numeric / :n, 3) || ' syncs |'
		FROM pg_stat_wal;
	SQL
}

run() { # connections round: one table row
	local c=$1 u0 s0 u1 s1 n0 n1 cs=- res perf_pid= p0 p1 pids
	fresh_db
	serve_start "$db" "$work/serve.log" --db-pool-size "$POOL"
	wrk -t2 -c8 -d2s -s bench/post_decision.lua "http://127.0.0.1:$port/decisions" >/dev/null 2>&1
	pids=$(pg_children)
	read -r u0 s0 <<<"$(user_sys_ticks "$serve_pid")"
	p0=$(cpu_ticks $pids)
	n0=$(stored)
	pg_reset_stats
	if command -v perf >/dev/null; then
		perf stat -x, -e context-switches -p "$serve_pid" -o "$work/stat.csv" -- \
			sleep "$DURATION" 2>/dev/null &
		perf_pid=$!
	fi
	res=$(wrk -t2 -c"$c" -d"${DURATION}s" --timeout 10s --latency -s bench/post_decision.lua \
		"http://127.0.0.1:$port/decisions" | grep '^RESULT') || die "wrk failed"
	[ -z "$perf_pid" ] || wait "$perf_pid" || true
	read -r u1 s1 <<<"$(user_sys_ticks "$serve_pid")"
	p1=$(cpu_ticks $pids)
	serve_stop
	n1=$(stored)
	pg_stats "$c" "$2" $((n1 - n0))
	[ -s "$work/stat.csv" ] && cs=$(awk -F, '/context-switches/ { print $1 }' "$work/stat.csv")
	say "c$c r$2: $res load=$(cut -d' ' -f1 /proc/loadavg)"
	awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v n=$((n1 - n0)) -v t="$tck" -v cs="$cs" \
		-v c="$c" -v r="$2" -v rps="$(kv rps "$res")" -v p99="$(kv p99_ms "$res")" \
		-v rev="$revision" -v load="$(cut -d' ' -f1 /proc/loadavg)" -v pg=$((p1 - p0)) \
		-v b="$BACKEND" 'BEGIN {
		us = 1e6 / t / n
		printf "| %s | %d | %d | %.0f | %s | %d | %.0f | %.0f | %.0f | %s | %s | %s |\n", rev, c, r,
			rps, p99, n, (u + s) * us, u * us, s * us,
			cs == "-" ? "-" : sprintf("%.2f", cs / n),
			b == "postgres" ? sprintf("%.0f", pg * us) : "-", load }'
}

if [ "$BACKEND" = postgres ]; then
	[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres with runuser"
	pg_start shared_buffers=512MB max_connections=100 max_wal_size=8GB checkpoint_timeout=30min \
		shared_preload_libraries=pg_stat_statements pg_stat_statements.track_planning=on
fi
exec 3>"$work/statements.md"
echo "| revision | connections | round | decisions/s | p99 ms | decisions | CPU µs / decision | user | system | context switches / decision | PostgreSQL CPU µs / decision | load |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for x in $(seq "$ROUNDS"); do
	for c in "${CONNS[@]}"; do
		run "$c" "$x"
	done
done
if [ -s "$work/statements.md" ]; then
	echo
	echo "| connections | round | statement | calls / decision | rows / decision | plan µs / decision | exec µs / decision |"
	echo "| ---: | ---: | --- | ---: | ---: | ---: | ---: |"
	cat "$work/statements.md"
fi
say "cavra $revision; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
