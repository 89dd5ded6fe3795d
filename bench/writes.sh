#!/usr/bin/env bash
# Writes: POST /decisions (bench/post_decision.lua) with wrk at CONNS connections on each
# backend, and on PostgreSQL pgbench running the one-transaction-per-decision statement of
# bench/pgbench_decision.sql at the same client counts, in turns on the same server, ROUNDS
# times; the best round of each is reported, as the issue asks.  A second pgbench series runs
# bench/pgbench_decision_chain.sql: the same work plus the decision's link of the audit chain,
# which every decision cavra writes also carries since migration 015.  Session counters are
# checked against the decisions afterwards.  Each cavra run also reports the CPU time (user +
# system, /proc/PID/stat) per decision of cavra and of the PostgreSQL server's processes, and
# each pgbench run PostgreSQL's per transaction, which a loaded machine inflates less than the
# rates.  PostgreSQL's CPU counts its live children and the ones that ended (pg_ticks in
# bench/lib.sh: disconnected backends, autovacuum workers); before 2026-12-03 10:00 it counted
# only the processes alive before a cavra run.
#   bash bench/writes.sh                          both backends, 8 and 32 connections
#   CAVRA_REV=HEAD~1 BACKENDS=postgres bash bench/writes.sh   an earlier revision
# Settings (environment): BACKENDS="sqlite postgres", CONNS="8 32", DURATION=10 (seconds per
# run), ROUNDS=2, POOL=8 (--db-pool-size), CAVRA_REV (a committed revision, built in a temp
# dir, instead of the work tree), AUTH=none (requests without credentials: the local caller) or
# AUTH=token (every request with one agent's API token, as harnesses call a shared server: the
# token's check and the session owner check of POST /decisions are then on the path) or
# AUTH=sealed (AUTH=token with api_token_key_file set: the token sealed, its seal checked),
# BENCH_SESSIONS=new (bench/post_decision.lua: every decision starts a session of its own; with
# AUTH=token its write then settles the session's owner), SEAL=1 (audit_seal_key_file set:
# every chain entry sealed, docs/audit.md#sealed-entries).  PostgreSQL runs with fsync and
# synchronous_commit on (its defaults); SQLite is cavra's own WAL with synchronous=FULL.  Prints a Markdown table for
# docs/benchmarks.md on stdout; progress on stderr.  Run as root; PostgreSQL runs as user
# postgres in a temp dir that is removed on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

BACKENDS=${BACKENDS:-sqlite postgres}
read -r -a CONNS <<<"${CONNS:-8 32}"
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
POOL=${POOL:-8}
AUTH=${AUTH:-none}
SEAL=${SEAL:-0}
case $AUTH in none | token | sealed) ;; *) die "AUTH must be none, token or sealed" ;; esac

[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres with runuser"
pg_workdir writes

need_wrk
build_revision
case " $BACKENDS " in *" postgres "*)
	pg_start shared_buffers=512MB max_connections=100 max_wal_size=8GB checkpoint_timeout=30min
	psql "$(pgurl postgres)" -Xq -c 'CREATE DATABASE post'
	;;
esac

declare -A R # name -> RESULT line of wrk, or "tps=.. lat_ms=.." of pgbench
wrk_run() { # name connections seconds; adds the CPU ms per decision of cavra and of PostgreSQL
	local f=$work/wrk-$1.txt t=$(($2 < 2 ? $2 : 2)) c0 p0 c1 p1 n
	c0=$(cpu_ticks "$serve_pid") p0=$(pg_ticks)
	wrk -t"$t" -c"$2" -d"$3s" --timeout 10s --latency -s bench/post_decision.lua \
		"http://127.0.0.1:$port/decisions" >"$f" 2>&1 || die "wrk failed: $(tail -3 "$f")"
	c1=$(cpu_ticks "$serve_pid") p1=$(pg_ticks)
	R[$1]=$(grep '^RESULT' "$f") || die "no RESULT line: $(tail -3 "$f")"
	n=$(kv requests "${R[$1]}")
	R[$1]+=$(awk -v c=$((c1 - c0)) -v p=$((p1 - p0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { n = n > 0 ? n : 1; printf " cavra_cpu_ms=%.3f pg_cpu_ms=%.3f", c * 1000 / hz / n, p * 1000 / hz / n }')
	say "$1: ${R[$1]} load=$(cut -d' ' -f1 /proc/loadavg)"
}
pgbench_run() { # name clients url script; adds PostgreSQL's CPU ms per transaction
	local f=$work/pgbench-$1.txt j=$(($2 < 2 ? $2 : 2)) p0 p1 n
	p0=$(pg_ticks)
	"$bindir/pgbench" -n -M prepared -c "$2" -j "$j" -T "$DURATION" \
		-f "$4" "$3" >"$f" 2>&1 || die "pgbench failed: $(tail -3 "$f")"
	sleep 0.2 # the postmaster reaps pgbench's backends, whose CPU then counts as its children's
	p1=$(pg_ticks)
	n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$f")
	R[$1]="tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$f" | awk '{ printf "%.0f", $1 }')"
	R[$1]+=" lat_ms=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$f")"
	R[$1]+=$(awk -v p=$((p1 - p0)) -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { n = n > 0 ? n : 1; printf " pg_cpu_ms=%.3f", p * 1000 / hz / n }')
	say "$1: ${R[$1]} load=$(cut -d' ' -f1 /proc/loadavg)"
}
best() { # prefix key: the RESULT of the round with the highest key
	local x b=''
	for x in $(seq "$ROUNDS"); do
		if [ -z "$b" ] || awk "BEGIN { exit !($(kv "$2" "${R[$1-r$x]}") > $(kv "$2" "${R[$b]}")) }"; then
			b=$1-r$x
		fi
	done
	echo "${R[$b]}"
}
baseline() { # prefix connections cavra-result: "best_(rounds) ratio" of a pgbench series
	local p rounds ratio
	p=$(best "$1-c$2" tps)
	rounds=$(for x in $(seq "$ROUNDS"); do kv tps "${R[$1-c$2-r$x]}"; done | paste -sd/ - | sed 's#/#_/_#g')
	ratio=$(awk -v a="$(kv rps "$3")" -v b="$(kv tps "$p")" 'BEGIN { printf "%.2f×", a / b }')
	echo "$(kv tps "$p")_($rounds) $ratio"
}
counters() { # backend url: "exact" when every session's counters equal its decisions
	local q="SELECT count(*) FROM activity_sessions s LEFT JOIN (SELECT session_id, count(*) AS n
		FROM activity_decisions GROUP BY session_id) d ON d.session_id = s.session_id
		WHERE s.decision_count <> COALESCE(d.n, 0)" n
	n=$(sql "$1" "$2" "$q")
	[ "$n" = 0 ] && echo exact || echo "WRONG ($n sessions)"
}

echo "| backend | connections | cavra decisions/s (rounds) | p50 ms | p99 ms | CPU ms per decision: cavra / PostgreSQL | pgbench tps (rounds) | cavra / pgbench | PostgreSQL CPU ms per pgbench transaction | pgbench with the chain, tps (rounds) | cavra / pgbench with the chain |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for b in $BACKENDS; do
	if [ "$b" = sqlite ]; then url=$work/post.db; else url=$(pgurl post); fi
	"$cavra" migrate up --database "$url" >"$work/migrate-$b.log" 2>&1 || die "migrate up failed"
	unset BENCH_TOKEN
	if [ "$SEAL" = 1 ]; then
		openssl rand -hex 32 >"$work/audit-seal.key"
		export CAVRA_AUDIT_SEAL_KEY_FILE=$work/audit-seal.key # serve seals every entry
	fi
	if [ "$AUTH" = sealed ]; then
		openssl rand -hex 32 >"$work/api-token.key"
		export CAVRA_API_TOKEN_KEY_FILE=$work/api-token.key # tokens create and serve
	fi
	if [ "$AUTH" != none ]; then
		BENCH_TOKEN=$("$cavra" tokens create --database "$url" --name "bench-$b" --role agent \
			--expires-in 1d 2>>"$work/migrate-$b.log") || die "tokens create failed"
		export BENCH_TOKEN
	fi
	serve_start "$url" "$work/serve-$b.log" --db-pool-size "$POOL"
	wrk_run "$b-warmup" 8 3
	for x in $(seq "$ROUNDS"); do
		for c in "${CONNS[@]}"; do
			wrk_run "$b-c$c-r$x" "$c" "$DURATION"
			if [ "$b" = postgres ]; then
				pgbench_run "pg-c$c-r$x" "$c" "$url" bench/pgbench_decision.sql
				pgbench_run "pgchain-c$c-r$x" "$c" "$url" bench/pgbench_decision_chain.sql
			fi
		done
	done
	serve_stop
	say "$b session counters: $(counters "$b" "$url")"
	for c in "${CONNS[@]}"; do
		w=$(best "$b-c$c" rps)
		rounds=$(for x in $(seq "$ROUNDS"); do kv rps "${R[$b-c$c-r$x]}"; done | paste -sd/ - | sed 's#/# / #g')
		pg="-" ratio="-" pgc="-" ratioc="-" pgcpu="-"
		if [ "$b" = postgres ]; then
			read -r pg ratio <<<"$(baseline pg "$c" "$w")"
			read -r pgc ratioc <<<"$(baseline pgchain "$c" "$w")"
			pg=${pg//_/ } pgc=${pgc//_/ }
			pgcpu=$(kv pg_cpu_ms "$(best "pg-c$c" tps)")
		fi
		echo "| $b | $c | $(kv rps "$w" | awk '{ printf "%.0f", $1 }') ($rounds) | $(kv p50_ms "$w") | $(kv p99_ms "$w") | $(kv cavra_cpu_ms "$w") / $(kv pg_cpu_ms "$w") | $pg | $ratio | $pgcpu | $pgc | $ratioc |"
	done
done
say "cavra $revision; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
