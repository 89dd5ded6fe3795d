#!/usr/bin/env bash
# Reads at scale: the list endpoints at ROWS seeded decisions (bench/seed.sh), on each backend:
#   1. every filter shape of bench/reads_mix.lua alone, one connection, SHAPE_SECONDS each:
#      the time of one request with nothing else running (p50 and p99);
#   2. the mix of all shapes, CONNS connections, DURATION seconds, after a warm-up: the target.
# Every request uses default parameters (the bounded total, no cursor), as the console does.
#   bash bench/reads.sh                                   1,000,000 decisions, both backends
#   ROWS=10000000 BACKENDS=postgres bash bench/reads.sh   the 10M target (PostgreSQL only)
# Settings (environment): ROWS=1000000, BACKENDS="sqlite postgres", DURATION=20,
# SHAPE_SECONDS=5, CONNS=8, POOL=2 (--db-pool-size: the cores the database shares with wrk and
# cavra; docs/config.md, "Sizing the pool"), CACHE_SECONDS="60" (serve's default; the
# mix once per value of --list-count-cache-seconds, e.g. "0 60" for without and with the
# bounded-total cache; the shapes alone run with the first). The mix's CPU per request is read from /proc/PID/stat
# (utime + stime) of cavra serve and of the postmaster's children before and after it, which
# the load of other work on the machine inflates less than the latencies; on PostgreSQL also the
# statements, count statements and shared buffers per request (pg_stat_statements), which do not
# depend on the load at all. Each shape's latency inside the mix comes from cavra's access log
# (bench/reads_shapes.py). After the adoption the PostgreSQL database is settled with
# VACUUM (ANALYZE), as a DBA would after a bulk load: otherwise autovacuum of the million new
# audit_chain rows starts during the measurements. Prints Markdown tables for
# docs/benchmarks.md on stdout; progress and raw wrk lines on stderr. Run as root on an
# otherwise idle machine; PostgreSQL runs as user postgres in a temp dir that is removed.
# KEEP_DIR=DIR keeps the seeded databases (and PostgreSQL's data) in DIR instead, and a later
# run with the same DIR and ROWS measures them again without seeding: a 10M seed takes tens of
# minutes, which can run while the machine is busy (SEED_ONLY=1: seed, then stop), and the
# measurement later on a quiet one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

ROWS=${ROWS:-1000000}
BACKENDS=${BACKENDS:-sqlite postgres}
DURATION=${DURATION:-20}
SHAPE_SECONDS=${SHAPE_SECONDS:-5}
CONNS=${CONNS:-8}
POOL=${POOL:-2}
CACHE_SECONDS=${CACHE_SECONDS:-60}
SHAPES=(latest repo_outcome agent_severity action_type pack_outcome session time_range
	sessions sessions_agent sessions_repo)
sessions=$(((ROWS + 49) / 50))

[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres with runuser"
if [ -n "${KEEP_DIR:-}" ]; then
	mkdir -p "$KEEP_DIR"
	work=$(cd "$KEEP_DIR" && pwd)
else
	work=$(mktemp -d /tmp/cavra-bench-reads.XXXXXX)
fi
chmod 711 "$work"
serve_pid=
cleanup() {
	set +e
	serve_stop
	pg_stop
	[ -n "${KEEP_DIR:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_wrk
build_release build-bench
case " $BACKENDS " in *" postgres "*)
	pg_start shared_buffers=512MB max_wal_size=8GB checkpoint_timeout=30min \
		shared_preload_libraries=pg_stat_statements
	;;
esac

declare -A R
wrk_run() { # name threads connections seconds [shape]
	local f=$work/wrk-$1.txt
	wrk -t"$2" -c"$3" -d"$4s" --timeout 10s --latency -s bench/reads_mix.lua \
		"http://127.0.0.1:$port" -- "$sessions" "${5:-}" >"$f" 2>&1 || die "wrk failed: $(tail -3 "$f")"
	R[$1]=$(grep '^RESULT' "$f") || die "no RESULT line: $(tail -3 "$f")"
	say "$1: ${R[$1]}"
}

# cpu_ms PID...: user + system CPU milliseconds the processes have used so far
cpu_ms() { echo $(($(cpu_ticks "$@") * 1000 / $(getconf CLK_TCK))); }

# pg_statements N: statements, count statements and shared buffers (hit + read) per request
# since the last pg_stat_statements_reset, for N requests; "-" on SQLite.
pg_statements() {
	[ "$b" = postgres ] || { echo "— — —"; return; }
	psql "$url" -XAtF' ' -c "SELECT round(sum(calls) / $1.0, 2),
		round(coalesce(sum(calls) FILTER (WHERE query LIKE 'SELECT count(*)%'), 0) / $1.0, 2),
		round(sum(shared_blks_hit + shared_blks_read) / $1.0, 1)
		FROM pg_stat_statements WHERE query LIKE 'SELECT%'
		AND query NOT LIKE '%pg_stat_statements%'"
}

# mix_run BACKEND CACHE: the mix with CPU per request (R[b-mix-c], R[b-mix-c,cpu]) and each
# shape's latency inside it (R[b-mix-c,shape]: reads_shapes.py's lines).
mix_run() {
	local c0 p0 c1 p1 n l0 st
	[ "$1" = postgres ] && psql "$url" -Xq -c 'SELECT pg_stat_statements_reset()' >/dev/null
	l0=$(wc -l <"$work/serve-$1.log")
	c0=$(cpu_ms "$serve_pid")
	p0=$(cpu_ms $(pg_children))
	wrk_run "$1-mix-$2" 2 "$CONNS" "$DURATION"
	c1=$(cpu_ms "$serve_pid")
	p1=$(cpu_ms $(pg_children))
	n=$(kv requests "${R[$1-mix-$2]}")
	st=$(pg_statements "$n")
	read -r R[$1-mix-$2,stmts] R[$1-mix-$2,counts] R[$1-mix-$2,bufs] <<<"$st"
	R[$1-mix-$2,shape]=$(tail -n +"$((l0 + 1))" "$work/serve-$1.log" | /usr/bin/python3 bench/reads_shapes.py /dev/stdin)
	R[$1-mix-$2,cavra]=$(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN { printf "%.3f", (b - a) / n }')
	R[$1-mix-$2,db]=—
	[ "$1" = postgres ] &&
		R[$1-mix-$2,db]=$(awk -v a="$p0" -v b="$p1" -v n="$n" 'BEGIN { printf "%.3f", (b - a) / n }')
	R[$1-mix-$2,load]=$(cut -d' ' -f1 /proc/loadavg)
	say "$1 cache=$2: cavra ${R[$1-mix-$2,cavra]} ms, database ${R[$1-mix-$2,db]} ms CPU per request, load ${R[$1-mix-$2,load]}; statements, counts, buffers per request: $st"
}

# seed_backend BACKEND: migrate, seed ROWS decisions, chain them and settle the database ($url).
seed_backend() {
	local b=$1
	rm -f "$work/seeded-$b.done" "$work/seeded.db" "$work/seeded.db-wal" "$work/seeded.db-shm"
	if [ "$b" = postgres ]; then
		psql "$(pgurl postgres)" -Xq -c 'DROP DATABASE IF EXISTS seeded'
		psql "$(pgurl postgres)" -Xq -c 'CREATE DATABASE seeded'
		psql "$(pgurl seeded)" -Xq -c 'CREATE EXTENSION pg_stat_statements'
	fi
	"$cavra" migrate up --database "$url" >"$work/migrate-$b.log" 2>&1 || die "migrate up failed"
	say "$b: seeding $ROWS decisions"
	t0=$(date +%s)
	bash bench/seed.sh "$url" "$ROWS" >"$work/seed-$b.log" 2>&1 || die "seeding failed: $(tail -3 "$work/seed-$b.log")"
	R[$b,seed]=$(($(date +%s) - t0))
	# serve chains unchained decisions before it listens: on a 1M PostgreSQL seed that took
	# longer than serve_start waits, so the seed is chained here, outside the figures
	say "$b: chaining the seeded decisions (cavra audit adopt)"
	"$cavra" audit adopt --quiet --database "$url" >"$work/adopt-$b.log" 2>&1 ||
		die "audit adopt failed: $(tail -3 "$work/adopt-$b.log")"
	if [ "$b" = postgres ]; then
		say "$b: settling (VACUUM (ANALYZE) after the adoption)"
		psql "$url" -Xq -c 'VACUUM (ANALYZE)' || die "VACUUM failed"
	fi
	echo "${R[$b,seed]}" >"$work/seed-$b.seconds"
	echo "$ROWS" >"$work/seeded-$b.done"
}

for b in $BACKENDS; do
	if [ "$b" = sqlite ]; then url=$work/seeded.db; else url=$(pgurl seeded); fi
	if [ -f "$work/seeded-$b.done" ] && [ "$(cat "$work/seeded-$b.done")" = "$ROWS" ]; then
		say "$b: measuring the $ROWS decisions seeded earlier in $work"
		R[$b,seed]=$(cat "$work/seed-$b.seconds")
	else
		seed_backend "$b"
	fi
	[ "${SEED_ONLY:-0}" = 1 ] && continue
	first=1
	for c in $CACHE_SECONDS; do
		serve_start "$url" "$work/serve-$b.log" --db-pool-size "$POOL" --list-count-cache-seconds "$c"
		wrk_run "$b-warmup" 2 "$CONNS" 5
		if [ "$first" = 1 ]; then
			for s in "${SHAPES[@]}"; do wrk_run "$b-$s" 1 1 "$SHAPE_SECONDS" "$s"; done
		fi
		first=0
		mix_run "$b" "$c"
		serve_stop
	done
done

[ "${SEED_ONLY:-0}" = 1 ] && { say "seeded in $work (SEED_ONLY=1): nothing measured"; exit 0; }
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "cavra \`$rev\`, $ROWS decisions in $sessions sessions (bench/seed.sh), $(nproc) cores," \
	"load generator, cavra and database on the same cores; started by \`ROWS=$ROWS BACKENDS=\"$BACKENDS\" CACHE_SECONDS=\"$CACHE_SECONDS\" bash bench/reads.sh\`" \
	"at $(date -u '+%Y-%m-%d %H:%M') UTC (shapes alone: list_count_cache_seconds ${CACHE_SECONDS%% *})."
echo
printf '| request (one at a time, %s s each) |' "$SHAPE_SECONDS"
for b in $BACKENDS; do printf ' %s p50 / p99 ms |' "$b"; done
printf '\n| --- |'
for b in $BACKENDS; do printf ' --- |'; done
echo
for s in "${SHAPES[@]}"; do
	printf '| `%s` |' "$s"
	for b in $BACKENDS; do printf ' %s / %s |' "$(kv p50_ms "${R[$b-$s]}")" "$(kv p99_ms "${R[$b-$s]}")"; done
	echo
done
echo
echo "| mix, $CONNS connections, $DURATION s | list_count_cache_seconds | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | cavra CPU ms / request | PostgreSQL CPU ms / request | statements / request | counts / request | shared buffers / request | load (1 min, at the end) | seeding |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for b in $BACKENDS; do
	for c in $CACHE_SECONDS; do
		l=${R[$b-mix-$c]}
		echo "| $b | $c | $(kv rps "$l") | $(kv p50_ms "$l") | $(kv p90_ms "$l") | $(kv p99_ms "$l") |" \
			"$(kv max_ms "$l") | $(($(kv non2xx "$l") + $(kv sockerr "$l"))) |" \
			"${R[$b-mix-$c,cavra]} | ${R[$b-mix-$c,db]} | ${R[$b-mix-$c,stmts]} | ${R[$b-mix-$c,counts]} |" \
			"${R[$b-mix-$c,bufs]} | ${R[$b-mix-$c,load]} | ${R[$b,seed]} s |"
	done
done
echo
echo "Inside the mix, by shape (cavra's own duration of each request, from its access log):"
echo
printf '| shape in the mix |'
for b in $BACKENDS; do for c in $CACHE_SECONDS; do printf ' %s, cache %s: p50 / p99 / max ms, over 20 ms |' "$b" "$c"; done; done
printf '\n| --- |'
for b in $BACKENDS; do for c in $CACHE_SECONDS; do printf ' --- |'; done; done
echo
for s in "${SHAPES[@]}" all; do
	printf '| `%s` |' "$s"
	for b in $BACKENDS; do
		for c in $CACHE_SECONDS; do
			awk -v s="$s" '$1 == s { printf " %s / %s / %s, %s of %s |", $3, $4, $5, $6, $2; f = 1 }
				END { if (!f) printf " — |" }' <<<"${R[$b-mix-$c,shape]}"
		done
	done
	echo
done
