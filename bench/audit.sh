#!/usr/bin/env bash
# `cavra audit adopt` and `cavra audit verify` at ROWS decisions (default 1,000,000) on both
# backends: each seeds a freshly migrated database (bench/seed.sh, which writes no chain), chains
# it with `audit adopt`, then walks it with `audit verify`, timing each step and its peak RSS
# (/usr/bin/time). Before each step the database is settled, as a DBA would after a bulk load
# (PostgreSQL: VACUUM (ANALYZE) and a CHECKPOINT; SQLite: the WAL checkpointed into the file),
# so that autovacuum of a million new rows or a checkpoint of the seed's does not run during a
# measured step. Prints a Markdown table for docs/benchmarks.md on stdout, progress on stderr.
# Run as root (PostgreSQL runs as user postgres).
#   bash bench/audit.sh
# Settings (environment): ROWS=1000000, BACKENDS="sqlite postgres", CAVRA_REV (a committed
# revision, built in a temp dir; default: the work tree into build-bench/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

ROWS=${ROWS:-1000000}
read -r -a BACKENDS <<<"${BACKENDS:-sqlite postgres}"

pg_workdir audit

build_revision

row() { # backend step command...: runs it (a failure, a break found by verify included, stops
	# the script) and prints its table row with the wall clock and the peak RSS
	local b=$1 step=$2 out=$work/time.out secs kb
	shift 2
	say "$b: $step"
	/usr/bin/time -f '%e %M' -o "$out" "$@" >"$work/step.log" 2>&1 ||
		die "$b: $step failed: $(tail -3 "$work/step.log")"
	read -r secs kb <"$out"
	echo "| $b | $ROWS | \`cavra $step\` | $secs | $((kb / 1024)) |"
}

settle() { # backend database: nothing left for autovacuum or a checkpoint to do, flushed
	if [ "$1" = postgres ]; then
		psql "$2" -Xq -c 'VACUUM (ANALYZE)' -c CHECKPOINT
	else
		sqlite3 "$2" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
	fi
	sync
}

echo "| backend | decisions | step | seconds | peak RSS MB |"
echo "| --- | ---: | --- | ---: | ---: |"
for b in "${BACKENDS[@]}"; do
	if [ "$b" = postgres ]; then
		[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres with runuser"
		pg_start shared_buffers=512MB max_connections=100 max_wal_size=8GB checkpoint_timeout=30min
		psql "$(pgurl postgres)" -Xq -c 'CREATE DATABASE a'
		db=$(pgurl a)
	else
		db=$work/a.db
	fi
	"$cavra" migrate up --database "$db" >"$work/migrate.log" 2>&1 || die "migrate up failed"
	say "$b: seeding $ROWS decisions"
	bash bench/seed.sh "$db" "$ROWS" >"$work/seed.log" 2>&1 || die "seed failed: $work/seed.log"
	settle "$b" "$db"
	row "$b" "audit adopt" "$cavra" audit adopt --database "$db" --quiet
	settle "$b" "$db"
	row "$b" "audit verify" "$cavra" audit verify --database "$db" --quiet
	if [ "$b" = postgres ]; then pg_stop; fi
done
say "cavra $revision; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
