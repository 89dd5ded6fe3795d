#!/usr/bin/env bash
# What a SQLite decision writes, page by page: cavra serve on a fresh SQLite file, WARMUP
# seconds of POST /decisions (bench/post_decision.lua) at 8 connections, a restart (the log
# starts empty), then DECISIONS decisions at CONNS connections and a SIGKILL, so that the
# write-ahead log holds exactly what those commits wrote (fewer pages than the checkpointer's
# threshold: nothing is copied out of it); bench/wal_pages.py then names each frame's b-tree.
#   bash bench/wal_pages.sh                   the work tree, one connection (one decision a commit)
#   CONNS=8 bash bench/wal_pages.sh           batches of several decisions
#   CAVRA_REV=333e722 bash bench/wal_pages.sh a committed revision, built in a temp dir
# Settings (environment): CONNS=1, DECISIONS=200, WARMUP=5, POOL=8.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

CONNS=${CONNS:-1}
DECISIONS=${DECISIONS:-200}
WARMUP=${WARMUP:-5}
POOL=${POOL:-8}

work=$(mktemp -d /var/tmp/cavra-bench-wal-pages.XXXXXX)
serve_pid=
cleanup() {
	set +e
	[ -z "$serve_pid" ] || kill -9 "$serve_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_wrk
build_revision
db=$work/w.db
"$cavra" migrate up --database "$db" >"$work/migrate.log" 2>&1 || die "migrate up failed"
serve_start "$db" "$work/serve.log" --db-pool-size "$POOL"
wrk -t2 -c8 -d"${WARMUP}s" -s bench/post_decision.lua "http://127.0.0.1:$port/decisions" >/dev/null 2>&1
serve_stop
serve_start "$db" "$work/serve.log" --db-pool-size "$POOL"
# each connection stops after its share of DECISIONS responses
cat >"$work/limit.lua" <<LUA
dofile("bench/post_decision.lua")
local seen = 0
response = function()
	seen = seen + 1
	if seen >= $((DECISIONS / CONNS)) then wrk.thread:stop() end
end
LUA
res=$(wrk -t"$CONNS" -c"$CONNS" -d2s -s "$work/limit.lua" "http://127.0.0.1:$port/decisions" |
	grep '^RESULT') || die "wrk failed"
kill -9 "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
serve_pid=
say "c$CONNS: $res"
n=$(kv requests "$res")
[ "$(kv non2xx "$res")" = 0 ] && [ "$n" = $((DECISIONS / CONNS * CONNS)) ] ||
	die "expected $((DECISIONS / CONNS * CONNS)) decisions stored: $res"
echo "cavra $revision, $CONNS connections:"
/usr/bin/python3 bench/wal_pages.py "$db" "$n"
