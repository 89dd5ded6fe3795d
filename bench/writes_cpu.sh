#!/usr/bin/env bash
# The CPU cost of a SQLite write: POST /decisions (bench/post_decision.lua) with wrk at CONNS
# connections against cavra serve on a fresh SQLite file, and cavra's CPU time (utime + stime
# from /proc/PID/stat, before and after the run) divided by the decisions the run stored; with
# perf installed also its context switches per decision (perf stat, software event).  CPU per
# decision moves much less with the machine's load than decisions/s, so revisions measured at
# different times can be compared.  Prints a Markdown table for docs/benchmarks.md on stdout,
# progress and the load average on stderr.
#   bash bench/writes_cpu.sh                      the work tree
#   CAVRA_REV=a730f7c bash bench/writes_cpu.sh    a committed revision, built in a temp dir
# Settings (environment): CONNS="8 32", DURATION=8 (seconds per run), ROUNDS=2, POOL=8.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

read -r -a CONNS <<<"${CONNS:-8 32}"
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-2}
POOL=${POOL:-8}

work=$(mktemp -d /tmp/cavra-bench-writes-cpu.XXXXXX)
serve_pid=
cleanup() {
	set +e
	serve_stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_wrk
build_revision
tck=$(getconf CLK_TCK)

user_sys_ticks() { # pid: "utime stime" in clock ticks (fields 14 and 15; the name has no spaces)
	awk '{ print $14, $15 }' "/proc/$1/stat"
}
stored() { # the decisions in the file
	sqlite3 "$work/w.db" 'SELECT count(*) FROM activity_decisions'
}

run() { # connections round: one table row
	local c=$1 u0 s0 u1 s1 n0 n1 cs=- res perf_pid=
	rm -f "$work"/w.db*
	"$cavra" migrate up --database "$work/w.db" >"$work/migrate.log" 2>&1 || die "migrate up failed"
	serve_start "$work/w.db" "$work/serve.log" --db-pool-size "$POOL"
	wrk -t2 -c8 -d2s -s bench/post_decision.lua "http://127.0.0.1:$port/decisions" >/dev/null 2>&1
	read -r u0 s0 <<<"$(user_sys_ticks "$serve_pid")"
	n0=$(stored)
	if command -v perf >/dev/null; then
		perf stat -x, -e context-switches -p "$serve_pid" -o "$work/stat.csv" -- \
			sleep "$DURATION" 2>/dev/null &
		perf_pid=$!
	fi
	res=$(wrk -t2 -c"$c" -d"${DURATION}s" --timeout 10s --latency -s bench/post_decision.lua \
		"http://127.0.0.1:$port/decisions" | grep '^RESULT') || die "wrk failed"
	[ -z "$perf_pid" ] || wait "$perf_pid" || true
	read -r u1 s1 <<<"$(user_sys_ticks "$serve_pid")"
	serve_stop
	n1=$(stored)
	[ -s "$work/stat.csv" ] && cs=$(awk -F, '/context-switches/ { print $1 }' "$work/stat.csv")
	say "c$c r$2: $res load=$(cut -d' ' -f1 /proc/loadavg)"
	awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v n=$((n1 - n0)) -v t="$tck" -v cs="$cs" \
		-v c="$c" -v r="$2" -v rps="$(kv rps "$res")" -v p99="$(kv p99_ms "$res")" \
		-v rev="$revision" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
		us = 1e6 / t / n
		printf "| %s | %d | %d | %.0f | %s | %d | %.0f | %.0f | %.0f | %s | %s |\n", rev, c, r,
			rps, p99, n, (u + s) * us, u * us, s * us,
			cs == "-" ? "-" : sprintf("%.2f", cs / n), load }'
}

echo "| revision | connections | round | decisions/s | p99 ms | decisions | CPU µs / decision | user | system | context switches / decision | load |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for x in $(seq "$ROUNDS"); do
	for c in "${CONNS[@]}"; do
		run "$c" "$x"
	done
done
say "cavra $revision; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
