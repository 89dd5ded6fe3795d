#!/usr/bin/env bash
# The policy rollout drill-down at scale (docs/benchmarks.md): GET /policy-rollouts/{id}/detail
# of a repository with about 100,000 decisions, all inside the drill-down's 30-day window (its
# worst case), on each backend.  bench/seed.sh loads ROWS decisions over 2 repositories and 29
# days (SEED_REPOS=2 SEED_DAYS=29), so acme/svc-01 holds about ROWS / 2; the script prints the
# exact count the drill-down saw.  Then wrk asks for the detail over one connection (the time
# of one request with nothing else running) and over CONNS connections.  Each run also reports
# the CPU time per request of cavra serve and the PostgreSQL server's processes (utime + stime
# from /proc), the figure a loaded machine inflates least.
#   bash bench/rollout_detail.sh
# Settings (environment): ROWS=210000, BACKENDS="sqlite postgres", SECONDS_EACH=10, CONNS=4.
# Prints Markdown for docs/benchmarks.md on stdout, progress on stderr.  Run as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

ROWS=${ROWS:-210000}
BACKENDS=${BACKENDS:-sqlite postgres}
SECONDS_EACH=${SECONDS_EACH:-10}
CONNS=${CONNS:-4}
REPO=acme/svc-01
PACK=cavra-ai-agent-baseline
DETAIL="/policy-rollouts/acme%2Fsvc-01%3A$PACK/detail"

[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres with runuser"
pg_workdir rollout

need_wrk
build_release build-bench
case " $BACKENDS " in *" postgres "*)
	pg_start shared_buffers=256MB max_wal_size=4GB
	psql "$(pgurl postgres)" -Xq -c 'CREATE DATABASE seeded'
	;;
esac

post() { # path json
	curl -sf -o /dev/null -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$port$1" ||
		die "POST $1 failed"
}

# The rollout, its repository and two integrations: every check has something to read.
setup_records() {
	post /repositories "{\"repository_id\":\"$REPO\",\"provider\":\"github\"}"
	post /integrations '{"provider":"github","category":"source_control","status":"active"}'
	post /integrations '{"provider":"splunk","category":"siem","status":"active"}'
	post /policy-rollouts "{\"repository\":\"$REPO\",\"policy_pack\":\"$PACK\",\"mode\":\"audit_only\",\"state\":\"active\",\"coverage_percent\":85}"
}

# CPU ticks (utime + stime) of cavra serve and of the PostgreSQL server's processes so far:
# CPU per request, unlike the latency, does not grow with what else the machine runs.
all_ticks() {
	local pm=
	[ -f "$work/pg/data/postmaster.pid" ] && pm=$(head -1 "$work/pg/data/postmaster.pid")
	# shellcheck disable=SC2046,SC2086 # PIDs: one word each
	cpu_ticks "$serve_pid" $pm $(pg_children)
}

declare -A R
wrk_run() { # name connections
	local f=$work/wrk-$1.txt c0 n
	c0=$(all_ticks)
	wrk -t1 -c"$2" -d"${SECONDS_EACH}s" --timeout 10s --latency -s bench/rollout_detail.lua \
		"http://127.0.0.1:$port$DETAIL" >"$f" 2>&1 || die "wrk failed: $(tail -3 "$f")"
	R[$1]=$(grep '^RESULT' "$f") || die "no RESULT line: $(tail -3 "$f")"
	n=$(kv requests "${R[$1]}")
	R[$1,cpu]=$(awk -v t="$(($(all_ticks) - c0))" -v n="$n" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { if (n > 0) printf "%.1f", t * 1000 / hz / n; else print "-" }')
	say "$1: ${R[$1]} cpu_ms_per_request=${R[$1,cpu]} (load: $(cut -d' ' -f1-3 /proc/loadavg))"
	R[$1,load]=$(cut -d' ' -f1-3 /proc/loadavg)
}

for b in $BACKENDS; do
	if [ "$b" = sqlite ]; then url=$work/seeded.db; else url=$(pgurl seeded); fi
	"$cavra" migrate up --database "$url" >"$work/migrate-$b.log" 2>&1 || die "migrate up failed"
	say "$b: seeding $ROWS decisions"
	SEED_REPOS=2 SEED_DAYS=29 bash bench/seed.sh "$url" "$ROWS" >"$work/seed-$b.log" 2>&1 ||
		die "seeding failed: $(tail -3 "$work/seed-$b.log")"
	# chain the seeded decisions now, so that serve does not adopt them while it is timed
	"$cavra" audit adopt --database "$url" >"$work/adopt-$b.log" 2>&1 || die "audit adopt failed"
	serve_start "$url" "$work/serve-$b.log"
	setup_records
	R[$b,n]=$(curl -sf "http://127.0.0.1:$port$DETAIL" |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["activity"]["decisions"])')
	say "$b: the drill-down counts ${R[$b,n]} decisions"
	wrk_run "$b-warmup" 1
	wrk_run "$b-one" 1
	wrk_run "$b-conns" "$CONNS"
	serve_stop
done

rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "cavra \`$rev\`, $(nproc) cores shared with the load generator and the database;" \
	"started by \`ROWS=$ROWS BACKENDS=\"$BACKENDS\" bash bench/rollout_detail.sh\`."
echo
echo "| backend | decisions in the window | connections | requests/s | p50 ms | p99 ms | max ms | CPU ms / request (cavra + database) | errors | load average (1/5/15 min) at the end |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for b in $BACKENDS; do
	for run in one conns; do
		l=${R[$b-$run]}
		c=1
		[ "$run" = conns ] && c=$CONNS
		echo "| $b | ${R[$b,n]} | $c | $(kv rps "$l") | $(kv p50_ms "$l") | $(kv p99_ms "$l") |" \
			"$(kv max_ms "$l") | ${R[$b-$run,cpu]} | $(($(kv non2xx "$l") + $(kv sockerr "$l"))) |" \
			"${R[$b-$run,load]} |"
	done
done
