#!/usr/bin/env bash
# What the chain's check costs where `cavra serve` reads a record only as its newest audit chain
# entry hashed it (docs/benchmarks.md, "Reads the audit chain vouches for"): a harness polling
# one approval (GET /approvals/{id}) and an agent calling a tool of a registered MCP server
# (POST /decisions, mcp_tool_call), and a page of 50 approvals (GET /approvals?limit=50, each
# row checked), served by BEFORE (a revision without the check) and by the work tree in turns,
# on each backend. The same for decisions and sessions, by id and a page of 50:
#   bash bench/vouched_reads.sh
#   BEFORE=2b79759 REQUESTS="decision decisions session sessions" bash bench/vouched_reads.sh
# Settings (environment): BEFORE=9f9bb78, CONNS=8, DURATION=10 (seconds a run), ROUNDS=2,
# BACKENDS="sqlite postgres", REQUESTS="approval list mcp" (of those and decision, decisions,
# session, sessions). Prints Markdown on stdout, progress on stderr. Run as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

BEFORE=${BEFORE:-9f9bb78}
CONNS=${CONNS:-8}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
BACKENDS=${BACKENDS:-sqlite postgres}
REQUESTS=${REQUESTS:-approval list mcp}
MCP_BODY='{"agent_id":"bench","action_type":"mcp_tool_call","server":"bench-mcp","tool":"create_pr"}'

[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres with runuser"
pg_workdir vouched
need_wrk
build_release build-bench
after=$cavra
mkdir -p "$work/src"
git archive "$BEFORE" | tar -x -C "$work/src"
build_release "$work/before" "$work/src"
before=$cavra

# post PATH JSON: the response body of a POST to the running serve.
post() {
	curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$port$1"
}

# field NAME: NAME's value in the JSON object on stdin.
field() { /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

# records: a trusted MCP server, and 50 approvals, each asked for a decision of a session of
# its own; sets approval, decision and session (the last of each).
records() {
	local i
	post /mcp/servers '{"server_id":"bench-mcp","trust_tier":"trusted","allowed_tools":["create_pr"]}' >/dev/null
	for i in $(seq 50); do
		session=bench-s-$i
		decision=$(post /decisions "{\"agent_id\":\"bench\",\"session_id\":\"$session\",\"action_type\":\"execute_command\",\"target\":\"make deploy-$i\"}" |
			field decision_id)
		approval=$(post /approvals "{\"decision_id\":\"$decision\"}" | field approval_id)
	done
	[ -n "$approval" ] || die "no approval was made"
}

# run METHOD PATH [BODY]: one wrk run against the running serve; prints its RESULT line.
run() {
	BENCH_METHOD=$1 BENCH_BODY=${3:-} wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency \
		-s bench/one_request.lua "http://127.0.0.1:$port$2" | grep '^RESULT'
}

echo "| backend | request | binary | round | requests/s | p99 ms |"
echo "| --- | --- | --- | --- | ---: | ---: |"
for backend in $BACKENDS; do
	fresh_db "$backend" vouched
	cavra=$after
	"$cavra" migrate up --database "$db" >/dev/null
	serve_start "$db" "$work/serve.log"
	records
	serve_stop
	for round in $(seq "$ROUNDS"); do
		for which in before after; do
			cavra=${!which}
			serve_start "$db" "$work/serve.log"
			for req in $REQUESTS; do
				say "$backend $req $which round $round"
				case $req in
				approval) res=$(run GET "/approvals/$approval") ;;
				list) res=$(run GET "/approvals?limit=50") ;;
				mcp) res=$(run POST /decisions "$MCP_BODY") ;;
				decision) res=$(run GET "/decisions/$decision") ;;
				decisions) res=$(run GET "/decisions?limit=50") ;;
				session) res=$(run GET "/sessions/$session") ;;
				sessions) res=$(run GET "/sessions?limit=50") ;;
				*) die "unknown request '$req'" ;;
				esac
				[ "$(kv non2xx "$res")" = 0 ] || die "$backend $req $which: errors: $res"
				echo "| $backend | $req | $which | $round | $(kv rps "$res") | $(kv p99_ms "$res") |"
			done
			serve_stop
		done
	done
	pg_stop
done
