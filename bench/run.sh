#!/usr/bin/env bash
# Runs the benchmarks of docs/benchmarks.md on both backends and rewrites that file.
#   bash bench/run.sh            (DURATION=10 ROWS=1000000 by default)
# Needs: wrk and PostgreSQL 15 from Debian (installed when missing). Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
DURATION=${DURATION:-10}
ROWS=${ROWS:-1000000}
CONNS=(1 8 32)

bash scripts/deps.sh test
for tool in wrk bc; do
	command -v $tool >/dev/null || { apt-get update -qq && apt-get install -y -qq $tool; }
done
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCAVRA_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null
cavra=$root/build-bench/cavra

work=$(mktemp -d /tmp/cavra-bench-XXXXXX)
bindir=$(pg_config --bindir)
pgport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
serve_pid=
cleanup() {
	[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
	runuser -u postgres -- "$bindir/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

chown postgres "$work"
runuser -u postgres -- "$bindir/initdb" -D "$work/pg" -U postgres -A trust >/dev/null
PG_OPTS="-c shared_buffers=512MB -c max_connections=200 -c listen_addresses=127.0.0.1"
runuser -u postgres -- "$bindir/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
	-o "-p $pgport -k $work $PG_OPTS" start >/dev/null
pg() { echo "postgresql://postgres@127.0.0.1:$pgport/$1"; }
psql "$(pg postgres)" -Xq -c "CREATE DATABASE post" -c "CREATE DATABASE seeded"

port=18700
start_serve() { # url
	port=$((port + 1))
	"$cavra" serve --database "$1" --listen "127.0.0.1:$port" --db-pool-size 32 \
		--log-level warn 2>>"$work/serve.log" &
	serve_pid=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
		sleep 0.1
	done
	echo "serve did not start" >&2
	exit 1
}
stop_serve() {
	kill -TERM "$serve_pid"
	wait "$serve_pid" || true
	serve_pid=
}
result() { # key=value from a wrk RESULT line
	sed -n "s/.* $1=\([^ ]*\).*/\1/p"
}
wrk_run() { # conns script path
	local t=2
	[ "$1" -eq 1 ] && t=1
	wrk -t"$t" -c"$1" -d"${DURATION}s" -s "bench/$2" "http://127.0.0.1:$port$3" | grep '^RESULT'
}

declare -A post_rps post_p50 post_p99 post_bad pgb_tps get_p50 get_p99 get_rps rss seed_s
for backend in sqlite postgres; do
	if [ $backend = sqlite ]; then
		url=$work/post.db
		seeded=$work/seeded.db
	else
		url=$(pg post)
		seeded=$(pg seeded)
	fi
	"$cavra" migrate up --database "$url" >/dev/null
	start_serve "$url"
	for c in "${CONNS[@]}"; do
		line=$(wrk_run "$c" post_decision.lua /decisions)
		echo "$backend POST c=$c $line"
		post_rps[$backend,$c]=$(echo "$line" | result rps)
		post_p50[$backend,$c]=$(echo "$line" | result p50_ms)
		post_p99[$backend,$c]=$(echo "$line" | result p99_ms)
		post_bad[$backend,$c]=$(($(echo "$line" | result non2xx) + $(echo "$line" | result errors)))
	done
	stop_serve
	if [ $backend = postgres ]; then
		for c in "${CONNS[@]}"; do
			tps=$("$bindir/pgbench" -n -M prepared -c "$c" -j 2 -T "$DURATION" \
				-f bench/pgbench_decision.sql "$url" 2>/dev/null |
				sed -n 's/^tps = \([0-9.]*\).*/\1/p')
			echo "pgbench c=$c tps=$tps"
			pgb_tps[$c]=$tps
		done
	fi
	"$cavra" migrate up --database "$seeded" >/dev/null
	t0=$(date +%s.%N)
	bash bench/seed.sh "$seeded" "$ROWS" >/dev/null
	seed_s[$backend]=$(echo "$(date +%s.%N) - $t0" | bc)
	echo "$backend seeded $ROWS decisions in ${seed_s[$backend]} s"
	start_serve "$seeded"
	line=$(wrk_run 8 get_decisions.lua /decisions)
	echo "$backend GET c=8 $line"
	get_rps[$backend]=$(echo "$line" | result rps)
	get_p50[$backend]=$(echo "$line" | result p50_ms)
	get_p99[$backend]=$(echo "$line" | result p99_ms)
	rss[$backend]=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$serve_pid/status")
	echo "$backend peak RSS ${rss[$backend]} MB"
	stop_serve
done

ratio=$(echo "scale=2; ${post_rps[postgres,8]} / ${pgb_tps[8]}" | bc)
verdict() { # value op target
	if (($(echo "$1 $2 $3" | bc))); then echo met; else echo "not met"; fi
}
cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
{
	cat <<HDR
# Benchmarks

Figures from \`bash bench/run.sh\` (DURATION=${DURATION} s per run, ROWS=${ROWS}), run on
$(date -u +%Y-%m-%d). Rerun that command to reproduce them; it rewrites this file.

## Machine

| | |
| --- | --- |
| CPU | $(nproc) cores, ${cpu} |
| memory | $(free -g | awk '/Mem:/ {print $2}') GiB |
| kernel | $(uname -r) |
| PostgreSQL | $("$bindir/postgres" --version | sed 's/postgres (PostgreSQL) //'), local, \`fsync=on\`, \`synchronous_commit=on\`; changed: \`shared_buffers=512MB\`, \`max_connections=200\` |
| SQLite | $(sqlite3 --version | cut -d' ' -f1), WAL, \`synchronous=FULL\` (every commit is durable) |
| cavra | Release build, \`--db-pool-size 32 --log-level warn\` |

wrk, cavra and PostgreSQL share the same $(nproc) cores, so every figure includes the load
generator's own CPU use.

## POST /decisions (evaluate, store the decision, update the session summary)

\`wrk -t2 -cN -d${DURATION}s -s bench/post_decision.lua\` (1,000 sessions, 8 kinds of action).

| backend | connections | requests/s | p50 ms | p99 ms | non-2xx or errors |
| --- | --- | --- | --- | --- | --- |
HDR
	for b in sqlite postgres; do
		for c in "${CONNS[@]}"; do
			echo "| $b | $c | ${post_rps[$b,$c]} | ${post_p50[$b,$c]} | ${post_p99[$b,$c]} | ${post_bad[$b,$c]} |"
		done
	done
	cat <<HDR

## pgbench: the same SQL transaction without cavra

\`pgbench -n -M prepared -cN -j2 -T${DURATION} -f bench/pgbench_decision.sql\`: the statement
cavra sends for a decision (insert it and upsert the session summary), against the same
PostgreSQL. This is the ceiling the service is measured against.

| connections | transactions/s | cavra POST / pgbench |
| --- | --- | --- |
HDR
	for c in "${CONNS[@]}"; do
		echo "| $c | ${pgb_tps[$c]} | $(echo "scale=2; ${post_rps[postgres,$c]} / ${pgb_tps[$c]}" | bc) |"
	done
	cat <<HDR

## GET /decisions with two filters at ${ROWS} decisions

Seeded with \`bench/seed.sh\` (50 repositories, 20 agents, 10,000 sessions); then
\`wrk -t2 -c8 -d${DURATION}s -s bench/get_decisions.lua\`:
\`/decisions?repository=repo-N/api&decision=D&limit=50\` with N and D rotating. Each request also
counts the matching rows for \`total\`.

| backend | seeding ${ROWS} rows, s | requests/s | p50 ms | p99 ms | peak RSS of cavra serve, MB |
| --- | --- | --- | --- | --- | --- |
HDR
	for b in sqlite postgres; do
		echo "| $b | ${seed_s[$b]} | ${get_rps[$b]} | ${get_p50[$b]} | ${get_p99[$b]} | ${rss[$b]} |"
	done
	cat <<HDR

## Targets

| target | figure | verdict |
| --- | --- | --- |
| PostgreSQL POST ≥ 0.8 × pgbench at 8 connections | ${post_rps[postgres,8]} / ${pgb_tps[8]} = ${ratio} | $(verdict "$ratio" ">=" 0.8) |
| SQLite POST ≥ 2,000 durable decisions/s | best ${post_rps[sqlite,32]} (32 conn.), ${post_rps[sqlite,8]} (8) | $(verdict "${post_rps[sqlite,32]}" ">=" 2000) |
| filtered GET p99 ≤ 20 ms at 1M, SQLite | ${get_p99[sqlite]} ms | $(verdict "${get_p99[sqlite]}" "<=" 20) |
| filtered GET p99 ≤ 20 ms at 1M, PostgreSQL | ${get_p99[postgres]} ms | $(verdict "${get_p99[postgres]}" "<=" 20) |
| RSS ≤ 50 MB | SQLite ${rss[sqlite]} MB, PostgreSQL ${rss[postgres]} MB | $(verdict "${rss[sqlite]} <= 50 && ${rss[postgres]}" "<=" 50) |
HDR
} >docs/benchmarks.md
echo "wrote docs/benchmarks.md"
