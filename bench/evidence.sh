#!/usr/bin/env bash
# POST /evidence throughput and latency at 8 connections on both backends (wrk with
# bench/post_evidence.lua: new sessions' evidence, then replacements of existing evidence),
# for the work tree's Release build and, with BASE_REV=<revision>, a Release build of that
# revision, in turns on a fresh database each run: what chaining each evidence write
# (migration 021) costs. ROUTE=sessions does the same with POST /sessions
# (bench/post_session.lua: new sessions, then sessions described again), chained from 023.
# Prints a Markdown table (docs/benchmarks.md); run as root.
#   BASE_REV=3f9e98d ROUNDS=3 bash bench/evidence.sh
# Settings (environment): ROUNDS=3, SECONDS_RUN=10, BACKENDS="sqlite postgres", CONNS=8,
# ROUTE=evidence (or sessions).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh
rounds=${ROUNDS:-3}
secs=${SECONDS_RUN:-10}
conns=${CONNS:-8}
read -r -a BACKENDS <<<"${BACKENDS:-sqlite postgres}"
case ${ROUTE:=evidence} in
evidence) script=bench/post_evidence.lua ;;
sessions) script=bench/post_session.lua ;;
*) die "ROUTE must be evidence or sessions" ;;
esac
need_wrk

pg_workdir evidence
builds=()
if [ -n "${BASE_REV:-}" ]; then
	CAVRA_REV=$BASE_REV build_revision
	builds+=("base=$cavra")
fi
build_release build-bench
builds+=("head=$cavra")
pg_start shared_buffers=1GB max_wal_size=8GB

# one build backend: a fresh database, serve, 2 s of warm-up, then each shape for secs seconds
one() {
	local label=${1%%=*} bin=${1#*=} backend=$2 url shape r
	if [ "$backend" = sqlite ]; then
		rm -f "$work"/ev.db*
		url=$work/ev.db
	else
		psql "$(pgurl postgres)" -Xq -c 'DROP DATABASE IF EXISTS ev' -c 'CREATE DATABASE ev'
		url=$(pgurl ev)
	fi
	"$bin" migrate up --database "$url" >/dev/null
	cavra=$bin serve_start "$url" "$work/serve.log" --db-pool-size 8
	wrk -t2 -c"$conns" -d2s -s "$script" "http://127.0.0.1:$port/$ROUTE" >/dev/null
	for shape in new replace; do
		r=$(BENCH_EVIDENCE=$shape BENCH_SHAPE=$shape wrk -t2 -c"$conns" -d"${secs}s" \
			--timeout 10s --latency -s "$script" "http://127.0.0.1:$port/$ROUTE" | grep '^RESULT')
		echo "| $backend | $label | $shape | $(kv rps "$r") | $(kv p50_ms "$r") | $(kv p99_ms "$r") | $(kv non2xx "$r") |"
	done
	serve_stop
}

echo "| backend | build | $ROUTE | requests/s | p50 ms | p99 ms | errors |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for backend in "${BACKENDS[@]}"; do
	for ((i = 1; i <= rounds; i++)); do
		for b in "${builds[@]}"; do one "$b" "$backend"; done
	done
done
