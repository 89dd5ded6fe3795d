#!/usr/bin/env bash
# What a decision costs the machine, for sizing (docs/deployment.md, "Sizing"): POST /decisions
# (bench/post_decision.lua) with wrk at CONNS connections against cavra serve on a fresh
# database of each backend, and per decision stored: cavra's CPU time, PostgreSQL's (its
# processes), the write requests and bytes the block device under the work directory took
# (/proc/diskstats: the log, the checkpoints, the file system's journal), the database's size
# over every decision stored (warm-up included; SQLite: the file once the server closed it;
# PostgreSQL: pg_database_size, less the empty database's) and, once per run, cavra's peak
# resident memory (VmHWM). Prints a Markdown table for docs/benchmarks.md on stdout, progress
# and the load average on stderr. Run as root (PostgreSQL runs as user postgres).
#   bash bench/footprint.sh                       the work tree, both backends
#   CAVRA_REV=333e722 bash bench/footprint.sh     a committed revision, built in a temp dir
# Settings (environment): BACKENDS="sqlite postgres", CONNS=8, DURATION=10 (seconds per run),
# ROUNDS=2, POOL=8 (--db-pool-size).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

BACKENDS=${BACKENDS:-sqlite postgres}
CONNS=${CONNS:-8}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
POOL=${POOL:-8}

pg_workdir footprint
need_wrk
build_revision
tck=$(getconf CLK_TCK)
# the block device the work directory is on, as /proc/diskstats names it
dev=$(basename "$(df --output=source "$work" | tail -1)")
grep -q " $dev " /proc/diskstats || die "no /proc/diskstats line for $dev"

disk() { # "write requests, sectors written" of dev so far
	awk -v d="$dev" '$3 == d { print $8, $10 }' /proc/diskstats
}
stored() { sql "$1" "$db" 'SELECT count(*) FROM activity_decisions'; } # the decisions in db
db_bytes() { # the database's size on disk
	case $1 in
	postgres) sql postgres "$db" 'SELECT pg_database_size(current_database())' ;;
	*) stat -c %s "$db" ;; # after the server closed it: checkpointed, no -wal left
	esac
}
fresh_db() { # an empty, migrated database of backend $1 in db
	if [ "$1" = postgres ]; then
		PGOPTIONS='-c client_min_messages=warning' psql "$(pgurl postgres)" -Xq -c 'DROP DATABASE IF EXISTS w' -c 'CREATE DATABASE w'
		db=$(pgurl w)
	else
		rm -f "$work"/w.db*
		db=$work/w.db
	fi
	"$cavra" migrate up --database "$db" >"$work/migrate.log" 2>&1 || die "migrate up failed"
}

run() { # backend round: one table row
	local b=$1 t0 t1 p0 p1 n0 n1 d0 d1 z0 z1 res hwm pids
	fresh_db "$b"
	z0=$(db_bytes "$b")
	serve_start "$db" "$work/serve.log" --db-pool-size "$POOL"
	wrk -t2 -c8 -d2s -s bench/post_decision.lua "http://127.0.0.1:$port/decisions" >/dev/null 2>&1
	sync
	pids=$(pg_children)
	t0=$(cpu_ticks "$serve_pid")
	p0=$(cpu_ticks $pids)
	n0=$(stored "$b")
	d0=$(disk)
	res=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s bench/post_decision.lua \
		"http://127.0.0.1:$port/decisions" | grep '^RESULT') || die "wrk failed"
	sync
	d1=$(disk)
	t1=$(cpu_ticks "$serve_pid")
	p1=$(cpu_ticks $pids)
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$serve_pid/status")
	serve_stop
	n1=$(stored "$b")
	z1=$(db_bytes "$b")
	say "$b r$2: $res load=$(cut -d' ' -f1 /proc/loadavg)"
	awk -v b="$b" -v r="$2" -v rev="$revision" -v rps="$(kv rps "$res")" \
		-v p99="$(kv p99_ms "$res")" -v n=$((n1 - n0)) -v t="$tck" -v c=$((t1 - t0)) \
		-v pg=$((p1 - p0)) -v d0="$d0" -v d1="$d1" -v z=$(((z1 - z0) / n1)) -v hwm="$hwm" \
		-v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
		split(d0, a, " "); split(d1, e, " "); us = 1e6 / t / n
		printf "| %s | %s | %d | %.0f | %s | %d | %.0f | %s | %.1f | %.1f | %.1f | %.1f | %s |\n",
			rev, b, r, rps, p99, n, c * us, b == "postgres" ? sprintf("%.0f", pg * us) : "-",
			(e[1] - a[1]) / n, (e[2] - a[2]) * 512 / 1024 / n, z / 1024, hwm / 1024, load }'
}

for b in $BACKENDS; do
	case $b in
	sqlite) ;;
	postgres)
		[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres"
		pg_start shared_buffers=512MB max_connections=100 max_wal_size=8GB checkpoint_timeout=30min
		;;
	*) die "unknown backend $b" ;;
	esac
done
echo "| revision | backend | round | decisions/s | p99 ms | decisions | cavra CPU µs / decision | PostgreSQL CPU µs / decision | disk writes / decision | disk KiB written / decision | database KiB / decision stored | cavra VmHWM MiB | load |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for x in $(seq "$ROUNDS"); do
	for b in $BACKENDS; do
		run "$b" "$x"
	done
done
say "cavra $revision at $CONNS connections, device $dev; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
