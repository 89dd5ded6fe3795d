#!/usr/bin/env bash
# bench/run.sh - the benchmark of issue 3 on both backends, in one command, which rewrites
# docs/benchmarks.md with the machine, the commands and the figures:
#   bash bench/run.sh
# Steps: build the Release binary into build-bench/; start a throw-away PostgreSQL 15 on
# 127.0.0.1 (fsync on); then for SQLite (a file in a temp dir) and PostgreSQL:
#   1. POST /decisions with wrk at 1, 8 and 32 connections (bench/post_decision.lua), and on
#      PostgreSQL pgbench doing the same work one transaction per decision
#      (bench/pgbench_decision.sql) at the same client counts against the same database;
#      check that the session counters add up;
#   2. seed ROWS decisions (bench/seed.sh), check a few answers of the API against SQL, and
#      run GET /decisions?repository=..&decision=..&limit=50 with wrk at 8 connections
#      (bench/get_decisions.lua), sampling the resident memory of `cavra serve`;
#   3. time the two SQL statements behind that GET on their own (EXPLAIN ANALYZE / .timer).
# The POST runs (cavra and pgbench, interleaved) are repeated ROUNDS times and the best round
# of each is reported, so that a burst of other work on the machine weighs less.
# Settings (environment): DURATION=10 (seconds per load run), ROUNDS=2, ROWS=1000000, POOL=8 (the
# default --db-pool-size), LOG_LEVEL=info (the default), OUT=docs/benchmarks.md, and
# CAVRA_REV=<commit> to build that committed revision (exported to the temp dir) instead of
# the work tree.
# Needs root (PostgreSQL runs as user postgres through runuser), the packages of
# `scripts/deps.sh test`, and wrk (installed from Debian when missing). All traffic stays on
# 127.0.0.1; every load run is bounded by DURATION; PostgreSQL is stopped and the temp dir
# removed on exit. Raw outputs are kept in build-bench/bench-logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. bench/lib.sh

DURATION=${DURATION:-10}
ROWS=${ROWS:-1000000}
POOL=${POOL:-8}
ROUNDS=${ROUNDS:-2}
LOG_LEVEL=${LOG_LEVEL:-info}
OUT=${OUT:-docs/benchmarks.md}
CONNS=(1 8 32)
PG_SETTINGS=(shared_buffers=512MB max_connections=100 max_wal_size=8GB checkpoint_timeout=30min)

[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres with runuser"
for t in cmake cc curl sqlite3 psql pg_config /usr/bin/python3 awk; do
	command -v "$t" >/dev/null || die "missing $t (bash scripts/deps.sh test installs it)"
done
need_wrk
for t in initdb pg_ctl pgbench postgres; do
	[ -x "$bindir/$t" ] || die "missing $bindir/$t (postgresql-15)"
done

work=$(mktemp -d /tmp/cavra-bench.XXXXXX)
chmod 711 "$work" # PostgreSQL (user postgres) keeps its data and socket under it
logs=$work/logs
mkdir -p "$logs"
serve_pid=
sampler_pid=
cleanup() {
	set +e
	[ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
	serve_stop
	pg_stop
	cp "$work/pg/postgres.log" "$logs/" 2>/dev/null
	mkdir -p "$root/build-bench"
	rm -rf "$root/build-bench/bench-logs"
	cp -r "$logs" "$root/build-bench/bench-logs"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

calc() { awk "BEGIN { printf \"$1\", $2 }"; }       # format expression
hz=$(getconf CLK_TCK)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)
started=$(date -u '+%Y-%m-%d %H:%M UTC')

# ---------------------------------------------------------------- build
if [ -n "${CAVRA_REV:-}" ]; then
	# a committed revision, exported to the temp dir: unaffected by edits in the work tree
	revision=$(git rev-parse --short "$CAVRA_REV^{commit}") || die "unknown revision $CAVRA_REV"
	say "building the Release binary of $revision in a temp dir"
	mkdir -p "$work/src"
	git archive "$revision" | tar -x -C "$work/src"
	src=$work/src
	bld=$work/build
else
	revision=$(git describe --always --dirty 2>/dev/null || echo unknown)
	say "building the Release binary into build-bench/"
	src=.
	bld=build-bench
fi
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DCAVRA_TESTS=OFF >"$logs/build.log" 2>&1 ||
	die "cmake failed: build-bench/bench-logs/build.log"
cmake --build "$bld" -j2 >>"$logs/build.log" 2>&1 || die "build failed: build-bench/bench-logs/build.log"
cavra=$(cd "$bld" && pwd)/cavra

# ---------------------------------------------------------------- PostgreSQL
pg_start "${PG_SETTINGS[@]}"
psql "$(pgurl postgres)" -Xq -c 'CREATE DATABASE post' -c 'CREATE DATABASE seeded'
pg_shown=$(psql "$(pgurl postgres)" -XAt -F= -c "SELECT name, current_setting(name) FROM pg_settings
	WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes',
	'shared_buffers', 'max_connections', 'max_wal_size', 'checkpoint_timeout') ORDER BY name" |
	sed 's/=\(.*\)/ = \1/' | paste -sd, - | sed 's/,/, /g')

# ---------------------------------------------------------------- helpers
port=
start_serve() { # database-url log-name
	serve_start "$1" "$logs/$2" --db-pool-size "$POOL" --log-level "$LOG_LEVEL"
}
vm_mb() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$serve_pid/status"; }

declare -A R # run name -> RESULT line of wrk + cpu_ms= (cavra CPU per request) + load=
run_wrk() { # name connections script url [-- args...]
	local name=$1 c=$2 script=$3 url=$4 t c0 c1 line
	shift 4
	t=$((c < 2 ? c : 2))
	c0=$(cpu_ticks "$serve_pid")
	wrk -t"$t" -c"$c" -d"${dur:-$DURATION}s" --timeout 10s --latency -s "bench/$script" "$url" "$@" \
		>"$logs/wrk-$name.txt" 2>&1 || die "wrk failed: build-bench/bench-logs/wrk-$name.txt"
	c1=$(cpu_ticks "$serve_pid")
	line=$(grep '^RESULT' "$logs/wrk-$name.txt") || die "no RESULT line in wrk-$name.txt"
	line+=" cpu_ms=$(calc %.2f "$((c1 - c0)) * 1000 / $hz / ($(kv requests "$line") + 0.000001)")"
	line+=" load=$(cut -d' ' -f1 /proc/loadavg)"
	R[$name]=$line
	say "$name: $line"
}
declare -A B # name -> the name of its best round
r() { kv "$2" "${R[${B[$1]:-$1}]}"; } # run key
best_round() { # name: B[name] = name-rN with the most requests/s; M[name] = all rounds
	local best='' x
	M[$1]=
	for x in $(seq "$ROUNDS"); do
		M[$1]+="${M[$1]:+ / }$(r "$1-r$x" rps)"
		if [ -z "$best" ] || awk "BEGIN { exit !($(r "$1-r$x" rps) > $(r "$best" rps)) }"; then best=$1-r$x; fi
	done
	B[$1]=$best
}

declare -A P # pgbench: tps / latency / failed per client count
run_pgbench() { # clients url round
	local c=$1 k=$1,$3 j f=$logs/pgbench-c$1-r$3.txt
	j=$((c < 2 ? c : 2))
	"$bindir/pgbench" -n -M prepared -c "$c" -j "$j" -T "$DURATION" -f bench/pgbench_decision.sql \
		"$2" >"$f" 2>&1 || die "pgbench failed: build-bench/bench-logs/pgbench-c$c-r$3.txt"
	P[tps,$k]=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$f" | awk '{ printf "%.1f", $1 }')
	P[lat,$k]=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$f")
	P[failed,$k]=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$f")
	say "pgbench c=$c round $3: tps=${P[tps,$k]} latency_avg_ms=${P[lat,$k]} failed=${P[failed,$k]}"
}
best_pgbench() { # clients: P[x,c] = the round with the most tps; P[all,c] = every round
	local c=$1 best='' x
	P[all,$c]=
	for x in $(seq "$ROUNDS"); do
		P[all,$c]+="${P[all,$c]:+ / }${P[tps,$c,$x]}"
		if [ -z "$best" ] || awk "BEGIN { exit !(${P[tps,$c,$x]} > ${P[tps,$c,$best]}) }"; then best=$x; fi
	done
	P[tps,$c]=${P[tps,$c,$best]}
	P[lat,$c]=${P[lat,$c,$best]}
	P[failed,$c]=$(for x in $(seq "$ROUNDS"); do echo "${P[failed,$c,$x]}"; done | awk '{ s += $1 } END { print s + 0 }')
}

cnt() { # backend condition -> SQL that counts rows matching a decision condition
	if [ "$1" = sqlite ]; then echo "sum($2)"; else echo "count(*) FILTER (WHERE $2)"; fi
}

declare -A M # misc figures per backend
# Session counters must equal the aggregates of the decisions (the issue's exact-count rule).
check_counters() { # backend url phase
	local row
	row=$(sql "$1" "$2" "SELECT (SELECT count(*) FROM activity_decisions),
		(SELECT coalesce(sum(decision_count), 0) FROM activity_sessions),
		(SELECT $(cnt "$1" "decision = 'block'") FROM activity_decisions),
		(SELECT coalesce(sum(blocked_count), 0) FROM activity_sessions),
		(SELECT $(cnt "$1" "decision = 'require_approval'") FROM activity_decisions),
		(SELECT coalesce(sum(approval_required_count), 0) FROM activity_sessions),
		(SELECT count(*) FROM activity_sessions s JOIN (SELECT session_id, count(*) AS n,
			$(cnt "$1" "decision = 'block'") AS b, $(cnt "$1" "decision = 'require_approval'") AS a
			FROM activity_decisions GROUP BY session_id) d ON d.session_id = s.session_id
		 WHERE s.decision_count <> d.n OR s.blocked_count <> d.b OR s.approval_required_count <> d.a)")
	local n sn b sb a sa bad
	IFS='|' read -r n sn b sb a sa bad <<<"$row"
	M[$1,$3,decisions]=$n
	M[$1,$3,blocked]=$b
	M[$1,$3,approval]=$a
	if [ "$n" = "$sn" ] && [ "$b" = "$sb" ] && [ "$a" = "$sa" ] && [ "$bad" = 0 ]; then
		M[$1,$3,counters]=exact
	else
		M[$1,$3,counters]="WRONG (decisions $n/$sn, block $b/$sb, approval $a/$sa, sessions off: $bad)"
	fi
	say "$1 $3: decisions=$n blocked=$b approval=$a session counters: ${M[$1,$3,counters]}"
}

# What the API answers on the seeded data, checked against SQL.
check_api() { # backend url
	local total sess n
	total=$(sql "$1" "$2" "SELECT count(*) FROM activity_decisions WHERE repository = 'acme/svc-07' AND decision = 'block'")
	sess=$(printf 'seed-%06d' $((ROWS / 50 > 123 ? 123 : ROWS / 50 - 1)))
	n=$(sql "$1" "$2" "SELECT count(*) FROM activity_decisions WHERE session_id = '$sess'")
	M[$1,api]=$(/usr/bin/python3 - "http://127.0.0.1:$port" "$total" "$sess" "$n" <<'PY'
import json, sys, urllib.request
base, total, sess, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def get(path):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.load(r)
bad = []
try:
  q = "/decisions?repository=acme/svc-07&decision=block&limit=50"
  p1 = get(q)
  p2 = get(q + "&cursor=" + p1["next_cursor"]) if p1["next_cursor"] else {"items": []}
  items = p1["items"] + p2["items"]
  if p1["total"] != total: bad.append("total %s != SQL %s" % (p1["total"], total))
  if len(items) != min(total, 100): bad.append("%d items in two pages" % len(items))
  if any(i["repository"] != "acme/svc-07" or i["decision"] != "block" for i in items): bad.append("filter")
  keys = [(i["timestamp"], i["decision_id"]) for i in items]
  if keys != sorted(keys, key=lambda k: k[0], reverse=True) or len(set(keys)) != len(keys): bad.append("order")
  s = get("/sessions/" + sess)
  if s["decision_count"] != n: bad.append("session decision_count %s != SQL %s" % (s["decision_count"], n))
  sd = get("/sessions/%s/decisions?limit=500" % sess)
  if len(sd["items"]) != n: bad.append("session decisions %d != %d" % (len(sd["items"]), n))
except Exception as e:
  bad.append("request failed: %s" % e)
print("ok (total %d, two pages by cursor, session %s with %d decisions)" % (total, sess, n) if not bad else "WRONG: " + "; ".join(bad))
PY
)
	say "$1 API check: ${M[$1,api]}"
}

# The two statements behind GET /decisions?repository=X&decision=block&limit=50, on their own.
time_queries() { # backend url
	local where="repository = 'acme/svc-07' AND decision = 'block'" f=$logs/queries-$1.txt
	local page="SELECT payload, decided_at, decision_id FROM activity_decisions WHERE $where ORDER BY decided_at DESC, decision_id ASC LIMIT 51 OFFSET 0"
	if [ "$1" = sqlite ]; then
		sqlite3 "$2" >"$f" 2>&1 <<SQL
EXPLAIN QUERY PLAN SELECT count(*) FROM activity_decisions WHERE $where;
EXPLAIN QUERY PLAN $page;
.timer on
SELECT count(*) FROM activity_decisions WHERE $where;
SELECT count(*) FROM activity_decisions WHERE $where;
SELECT count(*) FROM activity_decisions WHERE $where;
SELECT count(*) FROM ($page);
SELECT count(*) FROM ($page);
SELECT count(*) FROM ($page);
SQL
		# the shell's timer has a resolution of 1 ms
		M[$1,count_ms]=$(grep 'Run Time' "$f" | sed -n 3p | awk '{ v = $4 * 1000; if (v < 1) print "< 1"; else printf "%.0f", v }')
		M[$1,page_ms]=$(grep 'Run Time' "$f" | sed -n 6p | awk '{ v = $4 * 1000; if (v < 1) print "< 1"; else printf "%.0f", v }')
		M[$1,count_plan]=$(grep -m1 -E 'SEARCH|SCAN' "$f" | sed 's/^[-`| ]*//')
	else
		psql "$2" -X >"$f" 2>&1 <<SQL
PREPARE c(text, text) AS SELECT count(*) FROM activity_decisions WHERE repository = \$1 AND decision = \$2;
PREPARE p(text, text, bigint, bigint) AS SELECT payload, decided_at, decision_id FROM activity_decisions
    WHERE repository = \$1 AND decision = \$2 ORDER BY decided_at DESC, decision_id ASC LIMIT \$3 OFFSET \$4;
$(for _ in 1 2 3 4 5 6; do echo "EXECUTE c('acme/svc-07', 'block'); EXECUTE p('acme/svc-07', 'block', 51, 0);"; done)
EXPLAIN (ANALYZE, BUFFERS) EXECUTE c('acme/svc-07', 'block');
EXPLAIN (ANALYZE, BUFFERS) EXECUTE p('acme/svc-07', 'block', 51, 0);
SQL
		M[$1,count_ms]=$(sed -n 's/.*Execution Time: \([0-9.]*\) ms.*/\1/p' "$f" | sed -n 1p | awk '{ printf "%.2f", $1 }')
		M[$1,page_ms]=$(sed -n 's/.*Execution Time: \([0-9.]*\) ms.*/\1/p' "$f" | sed -n 2p | awk '{ printf "%.2f", $1 }')
		M[$1,count_plan]=$(awk '/QUERY PLAN/ { on = 1 } /Execution Time/ { exit } on && /Scan|BitmapAnd/' "$f" |
			sed 's/^[ ->]*//; s/  (cost.*//' | paste -sd';' - | sed 's/;/; /g')
	fi
	say "$1 queries alone: count ${M[$1,count_ms]} ms, page ${M[$1,page_ms]} ms (${M[$1,count_plan]})"
}

# ---------------------------------------------------------------- the runs
for b in sqlite postgres; do
	if [ $b = sqlite ]; then
		post_url=$work/post.db
		seed_url=$work/seeded.db
	else
		post_url=$(pgurl post)
		seed_url=$(pgurl seeded)
	fi

	# 1. POST /decisions, and pgbench at the same concurrency
	"$cavra" migrate up --database "$post_url" >>"$logs/migrate.log" 2>&1 || die "migrate up failed"
	start_serve "$post_url" "serve-$b-post.log"
	dur=3 run_wrk "$b-post-warmup" 8 post_decision.lua "http://127.0.0.1:$port/decisions"
	for round in $(seq "$ROUNDS"); do
		for c in "${CONNS[@]}"; do
			run_wrk "$b-post-c$c-r$round" "$c" post_decision.lua "http://127.0.0.1:$port/decisions"
			if [ $b = postgres ]; then run_pgbench "$c" "$post_url" "$round"; fi
		done
	done
	for c in "${CONNS[@]}"; do # the best round of each, for cavra and pgbench alike
		best_round "$b-post-c$c"
		if [ $b = postgres ]; then best_pgbench "$c"; fi
	done
	M[$b,post_hwm]=$(vm_mb VmHWM)
	serve_stop
	check_counters $b "$post_url" post

	# 2. GET /decisions at ROWS decisions
	"$cavra" migrate up --database "$seed_url" >>"$logs/migrate.log" 2>&1 || die "migrate up failed"
	say "$b: seeding $ROWS decisions"
	t0=$(date +%s.%N)
	bash bench/seed.sh "$seed_url" "$ROWS" >"$logs/seed-$b.log" 2>&1 || die "seeding failed: build-bench/bench-logs/seed-$b.log"
	M[$b,seed_s]=$(calc %.1f "$(date +%s.%N) - $t0")
	if [ $b = sqlite ]; then
		M[$b,size]=$(calc %.0f "$(stat -c %s "$seed_url") / 1048576")
	else
		M[$b,size]=$(calc %.0f "$(sql $b "$seed_url" "SELECT pg_database_size(current_database())") / 1048576")
	fi
	say "$b: seeded in ${M[$b,seed_s]} s, ${M[$b,size]} MiB"
	check_counters $b "$seed_url" seed
	start_serve "$seed_url" "serve-$b-get.log"
	check_api $b "$seed_url"
	: >"$logs/rss-$b.txt"
	(for _ in $(seq $((DURATION * 15 + 100))); do
		awk '$1 == "VmRSS:" { print $2 }' "/proc/$serve_pid/status" 2>/dev/null || exit 0
		sleep 0.2
	done >>"$logs/rss-$b.txt") &
	sampler_pid=$!
	base=http://127.0.0.1:$port
	dur=3 run_wrk "$b-get-warmup" 8 get_decisions.lua "$base" -- block
	run_wrk "$b-get-block" 8 get_decisions.lua "$base" -- block
	run_wrk "$b-get-mixed" 8 get_decisions.lua "$base" -- block,require_approval,allow
	run_wrk "$b-get-nocount" 8 get_decisions.lua "$base" -- block count=none
	kill "$sampler_pid" 2>/dev/null || true
	wait "$sampler_pid" 2>/dev/null || true
	sampler_pid=
	M[$b,rss_peak]=$(sort -n "$logs/rss-$b.txt" | tail -1 | awk '{ printf "%.1f", $1 / 1024 }')
	M[$b,get_hwm]=$(vm_mb VmHWM)
	M[$b,rss_after]=$(vm_mb VmRSS)
	say "$b memory: VmRSS peak ${M[$b,rss_peak]} MB during GET, VmHWM ${M[$b,get_hwm]} MB, after POST ${M[$b,post_hwm]} MB"
	serve_stop
	time_queries $b "$seed_url"
done

# ---------------------------------------------------------------- machine
fsync_rate=$(/usr/bin/python3 - "$work" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
n, t0 = 0, time.monotonic()
while time.monotonic() - t0 < 2:
    os.pwrite(fd, b"x" * 4096, (n % 16) * 4096)
    os.fdatasync(fd)
    n += 1
print("%.0f" % (n / (time.monotonic() - t0)))
os.close(fd); os.unlink(path)
PY
)
read -r dev fstype < <(findmnt -no SOURCE,FSTYPE --target "$work")
rota=$(cat "/sys/block/$(basename "$dev")/queue/rotational" 2>/dev/null || echo "?")
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
damon=
if pgrep kdamond >/dev/null 2>&1; then
	damon="
| page cache | the kernel runs DAMON (\`kdamond\`): pages left untouched for a while are reclaimed, so parts of a database that were not read recently come from the disk again |"
fi

# ---------------------------------------------------------------- docs/benchmarks.md
fmt_ratio() { calc %.2f "$1 / $2"; }
thousands() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }
rows_fmt=$(thousands "$ROWS")
sessions_fmt=$(thousands $(((ROWS + 49) / 50)))
pg_changed=$(printf '`%s`, ' "${PG_SETTINGS[@]}" | sed 's/, $//')
pg_version=$("$bindir/postgres" --version | sed 's/^postgres (PostgreSQL) //')
pgbench_version=$("$bindir/pgbench" --version | awk '{ print $3 }')
sqlite_version=$(dpkg-query -W -f='${Version}' libsqlite3-0 2>/dev/null || sqlite3 --version | cut -d' ' -f1)
wrk_version=$(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo "?")
os_name=$(. /etc/os-release && echo "$PRETTY_NAME")
cpu_model=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
mem_total=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
[ "$rota" = 1 ] && rota_text="reported rotational" || rota_text="reported non-rotational"
elapsed=$(calc %.1f "($(date +%s) - $t_start) / 60")
errors_total=$(for n in "${!R[@]}"; do echo $(($(r "$n" non2xx) + $(r "$n" sockerr))); done | awk '{ s += $1 } END { print s + 0 }')
verdict() { awk "BEGIN { exit !($1) }" && echo "**met**" || echo "**not met**"; }
best_sqlite=0
for c in "${CONNS[@]}"; do
	best_sqlite=$(awk -v a="$best_sqlite" -v b="$(r "sqlite-post-c$c" rps)" 'BEGIN { print (b > a ? b : a) }')
done
ratio8=$(fmt_ratio "$(r postgres-post-c8 rps)" "${P[tps,8]}")
rss_max=$(awk -v a="${M[sqlite,post_hwm]}" -v b="${M[sqlite,get_hwm]}" -v c="${M[postgres,post_hwm]}" \
	-v d="${M[postgres,get_hwm]}" 'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c; if (d > m) m = d; print m }')

# The backup and restore section comes from bench/ops.sh runs, not this one: kept as it is.
# So do the sections of bench/reads.sh runs ("## Reads at scale ...") and of bench/writes.sh
# runs and the profile ("## Writes: group commit ...").
ops_section=$(awk '/^## (Backup and restore|Reads at scale|Writes: group commit)/ { p = 1; print; next }
	/^## / { p = 0 } p' "$OUT" 2>/dev/null || true)
[ -n "$ops_section" ] && ops_section="$ops_section

"
{
	cat <<EOF
# Benchmarks

All figures below come from one run of \`bash bench/run.sh\`, started on $started, on the
machine described here, with cavra at \`$revision\`$([ -n "${CAVRA_REV:-}" ] && echo " (\`CAVRA_REV=$CAVRA_REV\`)"). Rerun that command to reproduce them: it
builds the binary, starts its own PostgreSQL, runs everything and rewrites this file (this run
took $elapsed minutes; raw outputs are kept in \`build-bench/bench-logs/\`).

## Machine and settings

| | |
| --- | --- |
| CPU | $(nproc) cores, $cpu_model |
| memory | $mem_total |
| disk | \`$dev\` ($fstype, $rota_text; a virtual disk, real media unknown): ${fsync_rate} fdatasync/s of 4 KiB measured in the temp dir |
| OS | $os_name, kernel $(uname -r) |
| load average | $load_start before the run, $load_end at its end (1, 5, 15 min). The run itself keeps 3 to 6 threads runnable; anything else running on the machine at the same time lowers the figures |$damon
| PostgreSQL | $pg_version, local, TCP on 127.0.0.1. Changed from the defaults: $pg_changed. In force: $pg_shown |
| SQLite | library $sqlite_version, as cavra opens it: WAL, \`synchronous=FULL\` (every commit is fsynced: durable) |
| cavra | Release build (CMake's \`-O3 -DNDEBUG\`), \`--db-pool-size $POOL --log-level $LOG_LEVEL\` (the defaults; the access log goes to a file) |
| load generators | wrk $wrk_version, pgbench $pgbench_version |

wrk, pgbench, cavra and PostgreSQL all run on the same $(nproc) cores, so every figure includes
the load generator's own CPU use. wrk's latency is the time from sending a request to reading
its response on a connection that waits for it (closed loop).

## POST /decisions

Evaluate the policy, store the decision and update its session summary in one transaction, and
answer 201 with the stored record. \`bench/post_decision.lua\`: 1,000 sessions, 16 actions that
hit the baseline pack's allow, block and require_approval rules. Each run lasts ${DURATION} s;
after a 3 s warm-up the three runs are done $ROUNDS times in turn (on PostgreSQL each followed by
pgbench at the same concurrency), and the table shows the round with the most requests/s (the
last column lists every round). "cavra CPU" is the user + system CPU time of \`cavra serve\` per
request. Non-2xx and socket errors are summed over all rounds.

| backend | connections | requests/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket errors | cavra CPU ms/request | requests/s of each round |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
EOF
	for b in sqlite postgres; do
		for c in "${CONNS[@]}"; do
			n=$b-post-c$c
			bad2xx=$(for x in $(seq "$ROUNDS"); do r "$n-r$x" non2xx; done | awk '{ s += $1 } END { print s + 0 }')
			badsock=$(for x in $(seq "$ROUNDS"); do r "$n-r$x" sockerr; done | awk '{ s += $1 } END { print s + 0 }')
			echo "| $b | $c | $(r "$n" rps) | $(r "$n" p50_ms) | $(r "$n" p90_ms) | $(r "$n" p99_ms) | $(r "$n" max_ms) | $bad2xx | $badsock | $(r "$n" cpu_ms) | ${M[$n]} |"
		done
	done
	cat <<EOF

After the runs the session summaries were checked against the stored decisions (sum of
\`decision_count\`, \`blocked_count\`, \`approval_required_count\` over all sessions, and every
session one by one): SQLite ${M[sqlite,post,decisions]} decisions, counters ${M[sqlite,post,counters]};
PostgreSQL ${M[postgres,post,decisions]} decisions (cavra's and pgbench's), counters ${M[postgres,post,counters]}.

## pgbench: the same work, one transaction per decision

\`bench/pgbench_decision.sql\` does the work of a decision as one transaction of its own on
PostgreSQL (insert it and upsert the session summary in one statement, same columns and ON
CONFLICT clause, a payload of the same fields and size cast from text to jsonb), against the
same database, right after cavra's run at the same concurrency (\`-j 1\` for one client:
pgbench needs clients to be a multiple of threads). cavra commits concurrent decisions
together (group commit), so it can beat this baseline. Best of $ROUNDS rounds, like cavra's
figure it is compared with.

| clients | pgbench transactions/s | pgbench latency avg ms | failed | cavra POST requests/s | cavra / pgbench | pgbench tps of each round |
| --- | --- | --- | --- | --- | --- | --- |
EOF
	for c in "${CONNS[@]}"; do
		echo "| $c | ${P[tps,$c]} | ${P[lat,$c]} | ${P[failed,$c]} | $(r "postgres-post-c$c" rps) | $(fmt_ratio "$(r "postgres-post-c$c" rps)" "${P[tps,$c]}") | ${P[all,$c]} |"
	done
	cat <<EOF

## GET /decisions at $rows_fmt decisions

\`bench/seed.sh\` loads the decisions (50 repositories, 20 agents, $sessions_fmt sessions of 50 decisions,
70% allow / 15% block / 15% require_approval, over 90 days) and their session summaries, then
the run checks the session counters against the decisions (${M[sqlite,seed,counters]} on SQLite, ${M[postgres,seed,counters]} on
PostgreSQL) and a few answers of the API against SQL (SQLite: ${M[sqlite,api]}; PostgreSQL:
${M[postgres,api]}).

| backend | seeding, s | database size, MiB |
| --- | --- | --- |
| sqlite | ${M[sqlite,seed_s]} | ${M[sqlite,size]} |
| postgres | ${M[postgres,seed_s]} | ${M[postgres,size]} |

Then \`wrk -t2 -c8 -d${DURATION}s --latency -s bench/get_decisions.lua\` (after a 3 s warm-up),
\`/decisions?repository=acme/svc-NN&decision=D&limit=50\` with NN rotating over the 50
repositories and D as listed. Every answer carries \`total\`, the exact number of matches, unless
the request says \`count=none\`.

| backend | decision filter | requests/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket errors | cavra CPU ms/request |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
EOF
	for b in sqlite postgres; do
		for k in block mixed nocount; do
			n=$b-get-$k
			case $k in
			block) label='`block`' ;;
			mixed) label='`block`, `require_approval`, `allow` in turn' ;;
			nocount) label='`block`, with `count=none`' ;;
			esac
			echo "| $b | $label | $(r "$n" rps) | $(r "$n" p50_ms) | $(r "$n" p90_ms) | $(r "$n" p99_ms) | $(r "$n" max_ms) | $(r "$n" non2xx) | $(r "$n" sockerr) | $(r "$n" cpu_ms) |"
		done
	done
	cat <<EOF

Without the exact count (\`count=none\`) the p99 is $(r sqlite-get-nocount p99_ms) ms on SQLite and
$(r postgres-get-nocount p99_ms) ms on PostgreSQL, against $(r sqlite-get-block p99_ms) ms and $(r postgres-get-block p99_ms) ms for the same requests
with it.

The two statements behind one such request, timed alone on the seeded database after the runs
(\`repository = 'acme/svc-07' AND decision = 'block'\`; PostgreSQL: EXPLAIN ANALYZE of the
prepared statements, as cavra prepares them; SQLite: the sqlite3 shell's timer, third run;
full plans in \`build-bench/bench-logs/queries-*.txt\`):

| backend | \`count(*)\` for \`total\`, ms | page of 51 rows, ms | plan of the count |
| --- | --- | --- | --- |
| sqlite | ${M[sqlite,count_ms]} | ${M[sqlite,page_ms]} | ${M[sqlite,count_plan]} |
| postgres | ${M[postgres,count_ms]} | ${M[postgres,page_ms]} | ${M[postgres,count_plan]} |

## Memory of cavra serve

Resident memory from \`/proc/PID/status\`: VmRSS sampled every 0.2 s during the GET runs, and
the peak (VmHWM) after the POST runs (up to 32 connections, one thread each) and after the GET
runs (VmHWM covers the whole life of the process).

| backend | VmHWM after POST, MB | VmRSS peak during GET, MB | VmHWM after GET, MB | VmRSS after GET, MB |
| --- | --- | --- | --- | --- |
| sqlite | ${M[sqlite,post_hwm]} | ${M[sqlite,rss_peak]} | ${M[sqlite,get_hwm]} | ${M[sqlite,rss_after]} |
| postgres | ${M[postgres,post_hwm]} | ${M[postgres,rss_peak]} | ${M[postgres,get_hwm]} | ${M[postgres,rss_after]} |

${ops_section}## Targets

| target (issue 3) | figure | verdict |
| --- | --- | --- |
| PostgreSQL POST ≥ 0.8 × pgbench at 8 connections | $(r postgres-post-c8 rps) / ${P[tps,8]} = $ratio8 | $(verdict "$ratio8 >= 0.8") |
| SQLite POST ≥ 2,000 durable decisions/s | best $best_sqlite/s (1: $(r sqlite-post-c1 rps), 8: $(r sqlite-post-c8 rps), 32: $(r sqlite-post-c32 rps)) | $(verdict "$best_sqlite >= 2000") |
| filtered GET p99 ≤ 20 ms at $rows_fmt, SQLite | $(r sqlite-get-block p99_ms) ms (\`decision=block\`); $(r sqlite-get-mixed p99_ms) ms (rotating) | $(verdict "$(r sqlite-get-block p99_ms) <= 20 && $(r sqlite-get-mixed p99_ms) <= 20") |
| filtered GET p99 ≤ 20 ms at $rows_fmt, PostgreSQL | $(r postgres-get-block p99_ms) ms (\`decision=block\`); $(r postgres-get-mixed p99_ms) ms (rotating) | $(verdict "$(r postgres-get-block p99_ms) <= 20 && $(r postgres-get-mixed p99_ms) <= 20") |
| RSS ≤ 50 MB | highest VmHWM $rss_max MB | $(verdict "$rss_max <= 50") |
| no errors under load | non-2xx responses and socket errors over all wrk runs, warm-ups included: $errors_total | $(verdict "$errors_total == 0") |

## Commands

\`\`\`sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCAVRA_TESTS=OFF && cmake --build build-bench -j2
runuser -u postgres -- initdb -D DIR -A trust -U postgres
runuser -u postgres -- pg_ctl -D DIR -w -o "-p PGPORT -k SOCKDIR -c listen_addresses=127.0.0.1$(printf ' -c %s' "${PG_SETTINGS[@]}")" start
cavra migrate up --database URL        # URL: a file path (SQLite) or postgresql://postgres@127.0.0.1:PGPORT/post
cavra serve --database URL --listen 127.0.0.1:PORT --db-pool-size $POOL --log-level $LOG_LEVEL
wrk -tT -cN -d${DURATION}s --timeout 10s --latency -s bench/post_decision.lua http://127.0.0.1:PORT/decisions   # N = 1, 8, 32; T = min(N, 2)
pgbench -n -M prepared -cN -jT -T${DURATION} -f bench/pgbench_decision.sql postgresql://postgres@127.0.0.1:PGPORT/post
bash bench/seed.sh URL $ROWS           # on a second, freshly migrated database
wrk -t2 -c8 -d${DURATION}s --timeout 10s --latency -s bench/get_decisions.lua http://127.0.0.1:PORT -- block
wrk -t2 -c8 -d${DURATION}s --timeout 10s --latency -s bench/get_decisions.lua http://127.0.0.1:PORT -- block,require_approval,allow
wrk -t2 -c8 -d${DURATION}s --timeout 10s --latency -s bench/get_decisions.lua http://127.0.0.1:PORT -- block count=none
\`\`\`
EOF
} >"$OUT"
say "wrote $OUT"
