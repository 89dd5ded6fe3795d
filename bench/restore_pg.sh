#!/usr/bin/env bash
# Where a PostgreSQL restore's time goes (issue 21): `cavra ops restore` of one backup of an
# N-decision database (default 200,000, bench/seed.sh) into a fresh PostgreSQL database, once
# per variant and round, with the CPU time of cavra and of PostgreSQL (the postmaster's ended
# and live children), the wall clock and the load average.  A variant is LABEL=SETTINGS, where
# SETTINGS are environment assignments without spaces for the restore, e.g.
# CAVRA_RESTORE_MAINTENANCE_WORK_MEM_MB=0 or PGOPTIONS=-cmax_parallel_maintenance_workers=0
# (session settings libpq passes to the server); BASE_REV=<revision> adds the same restore by
# a Release build of that revision (label "base") to compare a change with.
#   ROWS=200000 ROUNDS=2 BASE_REV=main bash bench/restore_pg.sh 'default=' \
#       'server=CAVRA_RESTORE_MAINTENANCE_WORK_MEM_MB=0'
# SHARED_BUFFERS (default 1GB) is the server's shared_buffers, PG_SETTINGS more settings for it
# (NAME=VALUE words, e.g. huge_pages=on after `sysctl vm.nr_hugepages=N`).  Prints a Markdown
# table (docs/benchmarks.md); run as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh
n=${ROWS:-200000}
rounds=${ROUNDS:-2}
[ $# -gt 0 ] || set -- 'default='

pg_workdir restore

base=
if [ -n "${BASE_REV:-}" ]; then
	CAVRA_REV=$BASE_REV build_revision
	base=$cavra
fi
build_release build-bench
# shellcheck disable=SC2086 # PG_SETTINGS: settings, one word each
pg_start shared_buffers="${SHARED_BUFFERS:-1GB}" max_wal_size=8GB ${PG_SETTINGS:-}
url() { pgurl "$1"; }
psql "$(url postgres)" -Xq -c 'CREATE DATABASE seeded'
"$cavra" migrate up --database "$(url seeded)" >/dev/null
say "seeding $n decisions"
bash bench/seed.sh "$(url seeded)" "$n" >/dev/null
"$cavra" audit adopt --database "$(url seeded)" >/dev/null
psql "$(url seeded)" -Xq -c 'VACUUM (ANALYZE) activity_decisions' -c CHECKPOINT && sync
"$cavra" ops backup --database "$(url seeded)" --output "$work/bk" >/dev/null

# one restore by binary $1 with the environment assignments $2: prints "wall cavra-cpu pg-cpu load1"
one() {
	local t0 t1 p0 p1 TIMEFORMAT='%U %S'
	psql "$(url postgres)" -Xq -c 'DROP DATABASE IF EXISTS target' -c 'CREATE DATABASE target'
	psql "$(url postgres)" -Xq -c CHECKPOINT
	p0=$(pg_ticks)
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086 # $2: assignments, one word each
	{ time env $2 "$1" ops restore "$work/bk/manifest.json" --target-url "$(url target)" \
		>/dev/null 2>"$work/restore.err"; } 2>"$work/cpu" || die "restore failed: $(tail -3 "$work/restore.err")"
	t1=$(date +%s.%N)
	sleep 0.5
	p1=$(pg_ticks)
	awk -v w="$(awk "BEGIN { print $t1 - $t0 }")" -v p="$(((p1 - p0)))" -v hz="$(getconf CLK_TCK)" \
		-v l="$(cut -d' ' -f1 /proc/loadavg)" '{ printf "%.1f %.2f %.2f %s\n", w, $1 + $2, p / hz, l }' "$work/cpu"
}
echo "| variant ($n decisions) | round | wall s | cavra CPU s | PostgreSQL CPU s | load (1 min) |"
echo "| --- | --- | --- | --- | --- | --- |"
for ((i = 1; i <= rounds; i++)); do
	if [ -n "$base" ]; then
		read -r w c p l < <(one "$base" "")
		echo "| base ($BASE_REV) | $i | $w | $c | $p | $l |"
	fi
	for v in "$@"; do
		read -r w c p l < <(one "$cavra" "${v#*=}")
		echo "| ${v%%=*} | $i | $w | $c | $p | $l |"
	done
done
