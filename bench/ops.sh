#!/usr/bin/env bash
# Backup and restore timings (issue 5): `cavra ops backup` / `ops restore` against
# `pg_dump -Fc` / `pg_restore` on the same N-decision PostgreSQL database (default 1,000,000,
# loaded by bench/seed.sh), plus `ops verify`, a SQLite backup and restore, and the backup of a
# copy whose decision ids are random like the service's. Best of ROUNDS
# (default 3) wall-clock runs each, after WARMUP (default 1) untimed runs of each that fill the
# page cache and settle the server for both tools alike; a Release build of the work tree
# (build-bench/). Each round
# also logs (stderr) the CPU time of the command and of PostgreSQL, and the load average.
# PostgreSQL's shared_buffers is SHARED_BUFFERS (default: a quarter of the machine's memory,
# the starting point PostgreSQL's documentation gives). COMPRESSION (default zstd) is what
# `ops backup --compression` gets: none, zstd or zstd:LEVEL. SEAL=1 seals the chain's entries as
# the seed's adoption links them (audit_seal_key_file; docs/audit.md#sealed-entries), so that
# the backups and restores carry a seal per entry.
#   bash bench/ops.sh [N]              prints a Markdown table (docs/benchmarks.md)
# Run as root on an otherwise idle machine; PostgreSQL runs as user postgres in a temp dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh
n=${1:-1000000}
rounds=${ROUNDS:-3}
warmup=${WARMUP:-1}
compression=${COMPRESSION:-zstd}
shared_buffers=${SHARED_BUFFERS:-$(($(awk '/^MemTotal/ {print $2}' /proc/meminfo) / 4096))MB}

pg_workdir ops

build_release build-bench

pg_start shared_buffers="$shared_buffers" max_wal_size=8GB
url() { pgurl "$1"; }
psql "$(url postgres)" -Xq -c 'CREATE DATABASE seeded'
"$cavra" migrate up --database "$(url seeded)" >/dev/null
say "seeding $n decisions"
bash bench/seed.sh "$(url seeded)" "$n" >/dev/null
# The seed leaves its decisions for the audit chain to adopt (bench/seed.sh), and a restore
# checks the chain it restored: chain them now, as any cavra would on its next start.
say "chaining the seeded decisions (cavra audit adopt)"
if [ "${SEAL:-0}" = 1 ]; then
	openssl rand -hex 32 >"$work/audit-seal.key"
	CAVRA_AUDIT_SEAL_KEY_FILE=$work/audit-seal.key "$cavra" audit adopt \
		--database "$(url seeded)" >/dev/null
else
	"$cavra" audit adopt --database "$(url seeded)" >/dev/null
fi
# What a database looks like once autovacuum has been by: hint bits and the visibility map set,
# the load's dirty pages checkpointed and on disk, so that no round races that work.
settle() { psql "$(url "$1")" -Xq -c 'VACUUM (ANALYZE) activity_decisions' -c CHECKPOINT && sync; }
settle seeded

# One timed run: prepare-cmd untimed, then timed-cmd; prints wall-clock seconds, and logs the
# CPU time of the command and of PostgreSQL and the load average, which a shared machine
# inflates less than the wall clock.
timed() { # name prepare timed
	local t0 t1 p0 p1 TIMEFORMAT='%U %S'
	eval "$2"
	p0=$(pg_ticks)
	t0=$(date +%s.%N)
	{ time eval "$3" >/dev/null 2>&1; } 2>"$work/cpu" || { say "$1 failed"; return 1; }
	t1=$(date +%s.%N)
	sleep 0.5 # the postmaster has reaped the command's backends
	p1=$(pg_ticks)
	say "$1: CPU $(awk '{ printf "%.2f", $1 + $2 }' "$work/cpu") s (the command's processes)," \
		"PostgreSQL $(awk "BEGIN { printf \"%.2f\", ($p1 - $p0) / $(getconf CLK_TCK) }") s;" \
		"load $(cut -d' ' -f1-3 /proc/loadavg)"
	awk "BEGIN { printf \"%.1f\", $t1 - $t0 }"
}
min() { awk "BEGIN { print ($1 < $2) ? $1 : $2 }"; }
# Best (lowest) of `rounds` runs each of two commands, taken in turns (a, b, a, b, ...) so that
# the drift of a shared machine falls on both alike. Sets best_a and best_b.
pair() { # name-a prepare-a timed-a name-b prepare-b timed-b
	local s
	best_a=999999 best_b=999999
	for ((i = 1; i <= warmup; i++)); do
		s=$(timed "$1" "$2" "$3"); say "$1 warm-up $i: ${s}s (not counted)"
		s=$(timed "$4" "$5" "$6"); say "$4 warm-up $i: ${s}s (not counted)"
	done
	for ((i = 1; i <= rounds; i++)); do
		s=$(timed "$1" "$2" "$3"); say "$1 round $i: ${s}s"; best_a=$(min "$s" "$best_a")
		s=$(timed "$4" "$5" "$6"); say "$4 round $i: ${s}s"; best_b=$(min "$s" "$best_b")
	done
}
# Both restores' targets dropped before each round, and a checkpoint: otherwise autovacuum
# analyses the other tool's freshly restored million rows, and the checkpointer writes its
# dirty buffers, while this round runs, and that work is charged to it (4.6 s of PostgreSQL CPU
# in a SQLite round once). fresh_db NAME then makes the round's own empty target.
quiesce() {
	psql "$(url postgres)" -Xq -c "DROP DATABASE IF EXISTS target" \
		-c "DROP DATABASE IF EXISTS target2" -c CHECKPOINT
}
fresh_db() { quiesce && psql "$(url postgres)" -Xq -c "CREATE DATABASE $1"; }

pair "cavra ops backup" 'rm -rf "$work/bk"' '"$cavra" ops backup --database "$(url seeded)" --output "$work/bk" --compression "$compression"' \
	"pg_dump -Fc" 'rm -f "$work/dump"' '"$bindir/pg_dump" -Fc -f "$work/dump" "$(url seeded)"'
bk=$best_a dump=$best_b
pair "cavra ops restore (PostgreSQL)" 'fresh_db target' '"$cavra" ops restore "$work/bk/manifest.json" --target-url "$(url target)"' \
	"pg_restore" 'fresh_db target2' '"$bindir/pg_restore" -d "$(url target2)" "$work/dump"'
rs=$best_a pr=$best_b
pair "cavra ops verify" ':' '"$cavra" ops verify "$work/bk/manifest.json"' \
	"cavra ops restore (SQLite)" 'quiesce; rm -rf "$work/sq"' '"$cavra" ops restore "$work/bk/manifest.json" --target-dir "$work/sq"'
ver=$best_a rsq=$best_b
bsq=999999
for ((i = 1; i <= rounds; i++)); do
	s=$(timed "cavra ops backup (SQLite)" 'rm -rf "$work/bk2"' '"$cavra" ops backup --database "$work/sq/cavra.db" --output "$work/bk2" --compression "$compression"')
	say "cavra ops backup (SQLite) round $i: ${s}s"
	bsq=$(min "$s" "$bsq")
done
# The seed's ids follow insertion order; the service's are random (dec_ + 12 random hex). A copy
# with random ids, rows in the same physical order, shows what a dump in id order would cost.
say "copying the database with random decision ids"
psql "$(url postgres)" -Xq -c 'CREATE DATABASE random_ids TEMPLATE seeded'
psql "$(url random_ids)" -Xq -c "UPDATE activity_decisions SET decision_id = 'dec_' || substr(md5(decision_id), 1, 12)" \
	-c 'VACUUM FULL activity_decisions'
settle random_ids
pair "cavra ops backup (random ids)" 'rm -rf "$work/bkr"' '"$cavra" ops backup --database "$(url random_ids)" --output "$work/bkr" --compression "$compression"' \
	"pg_dump -Fc (random ids)" 'rm -f "$work/dumpr"' '"$bindir/pg_dump" -Fc -f "$work/dumpr" "$(url random_ids)"'
bkr=$best_a dumpr=$best_b
size=$(du -sh "$work/bk" | cut -f1)
dsize=$(du -sh "$work/dump" | cut -f1)
bytes=$(du -sb "$work/bk" | cut -f1) dbytes=$(du -sb "$work/dump" | cut -f1)
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
cat <<MD
PostgreSQL 15, shared_buffers=$shared_buffers, max_wal_size=8GB; $(nproc) cores; best of $rounds rounds after $warmup untimed of each.

| operation ($n decisions, best of $rounds) | cavra | pg_dump / pg_restore | cavra ÷ PostgreSQL's tool |
| --- | --- | --- | --- |
| backup of the PostgreSQL database | ${bk} s (\`--compression $compression\`) | ${dump} s (\`pg_dump -Fc\`) | $(ratio "$bk" "$dump") |
| size of that backup | $size ($bytes bytes) | $dsize ($dbytes bytes) | $(ratio "$bytes" "$dbytes") |
| backup, random decision ids (same rows) | ${bkr} s | ${dumpr} s (\`pg_dump -Fc\`) | $(ratio "$bkr" "$dumpr") |
| restore into an empty PostgreSQL database | ${rs} s | ${pr} s (\`pg_restore\`) | $(ratio "$rs" "$pr") |
| verify the backup | ${ver} s | — | — |
| restore into a new SQLite database | ${rsq} s | — | — |
| backup of that SQLite database | ${bsq} s | — | — |
MD
