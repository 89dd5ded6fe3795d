#!/usr/bin/env bash
# Backup and restore timings (issue 5): `cavra ops backup` / `ops restore` against
# `pg_dump -Fc` / `pg_restore` on the same N-decision PostgreSQL database (default 1,000,000,
# loaded by bench/seed.sh), plus `ops verify` and a SQLite backup and restore. Best of ROUNDS
# (default 2) wall-clock runs each; a Release build of the work tree (build-bench/).
#   bash bench/ops.sh [N]              prints a Markdown table (docs/benchmarks.md)
# Run as root on an otherwise idle machine; PostgreSQL runs as user postgres in a temp dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=${1:-1000000}
rounds=${ROUNDS:-2}
say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
bindir=$(pg_config --bindir)
as_pg() { runuser -u postgres -- "$@"; }

work=$(mktemp -d /tmp/cavra-bench-ops.XXXXXX)
chmod 711 "$work"
cleanup() {
	set +e
	[ -f "$work/pg/data/postmaster.pid" ] &&
		as_pg "$bindir/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

say "building the Release binary into build-bench/"
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCAVRA_TESTS=OFF >/dev/null
cmake --build build-bench -j2 >/dev/null
cavra=$PWD/build-bench/cavra

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/pg" && chown postgres "$work/pg"
as_pg "$bindir/initdb" -D "$work/pg/data" -A trust -U postgres >/dev/null
as_pg "$bindir/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -o "-p $port -k $work/pg \
-c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=8GB" start >/dev/null
url() { echo "postgresql://postgres@127.0.0.1:$port/$1"; }
psql "$(url postgres)" -Xq -c 'CREATE DATABASE seeded'
"$cavra" migrate up --database "$(url seeded)" >/dev/null
say "seeding $n decisions"
bash bench/seed.sh "$(url seeded)" "$n" >/dev/null

# best (lowest) wall-clock seconds of `rounds` runs of: prepare-cmd ; timed-cmd
best() { # name prepare timed
	local b="" t0 t1 s
	for ((i = 1; i <= rounds; i++)); do
		eval "$2"
		t0=$(date +%s.%N)
		eval "$3" >/dev/null 2>&1 || { say "$1 failed"; return 1; }
		t1=$(date +%s.%N)
		s=$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")
		say "$1 round $i: ${s}s"
		if [ -z "$b" ] || awk "BEGIN { exit !($s < $b) }"; then b=$s; fi
	done
	echo "$b"
}
fresh_db() { psql "$(url postgres)" -Xq -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"; }

bk=$(best "cavra ops backup" 'rm -rf "$work/bk"' '"$cavra" ops backup --database "$(url seeded)" --output "$work/bk"')
dump=$(best "pg_dump -Fc" 'rm -f "$work/dump"' '"$bindir/pg_dump" -Fc -f "$work/dump" "$(url seeded)"')
ver=$(best "cavra ops verify" ':' '"$cavra" ops verify "$work/bk/manifest.json"')
rs=$(best "cavra ops restore (PostgreSQL)" 'fresh_db target' '"$cavra" ops restore "$work/bk/manifest.json" --target-url "$(url target)"')
pr=$(best "pg_restore" 'fresh_db target2' '"$bindir/pg_restore" -d "$(url target2)" "$work/dump"')
rsq=$(best "cavra ops restore (SQLite)" 'rm -rf "$work/sq"' '"$cavra" ops restore "$work/bk/manifest.json" --target-dir "$work/sq"')
bsq=$(best "cavra ops backup (SQLite)" 'rm -rf "$work/bk2"' '"$cavra" ops backup --database "$work/sq/cavra.db" --output "$work/bk2"')
size=$(du -sh "$work/bk" | cut -f1)
dsize=$(du -sh "$work/dump" | cut -f1)
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
cat <<MD
| operation ($n decisions, best of $rounds) | cavra | pg_dump / pg_restore | cavra ÷ PostgreSQL's tool |
| --- | --- | --- | --- |
| backup of the PostgreSQL database | ${bk} s ($size, JSON Lines) | ${dump} s (\`pg_dump -Fc\`, $dsize) | $(ratio "$bk" "$dump") |
| restore into an empty PostgreSQL database | ${rs} s | ${pr} s (\`pg_restore\`) | $(ratio "$rs" "$pr") |
| verify the backup | ${ver} s | — | — |
| restore into a new SQLite database | ${rsq} s | — | — |
| backup of that SQLite database | ${bsq} s | — | — |
MD
