#!/usr/bin/env bash
# Restore into a new SQLite database (issue 21): `cavra ops restore MANIFEST --target-dir DIR`
# of a backup of N decisions (default 200,000) that `cavra ops backup` made of a SQLite database
# loaded by bench/seed.sh (and chained by `cavra audit adopt`). Each round restores with the
# work tree's Release build and, when BASE_REV names a committed revision, with that
# revision's, in turns, so that the drift of a shared machine falls on both. Prints wall clock
# and CPU time (user + system, from /usr/bin/time) of every round and the load average before
# it, then the best of ROUNDS (default 3) as a Markdown table (docs/benchmarks.md).
#   BASE_REV=a8b0c72 bash bench/restore_sqlite.sh [N]
# Needs the sqlite3 CLI (bench/seed.sh). Nothing runs as another user; all under a temp dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh
n=${1:-200000}
rounds=${ROUNDS:-3}

work=$(mktemp -d /tmp/cavra-bench-restore-sqlite.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

names=() bins=()
CAVRA_REV='' build_revision
names+=("$revision") bins+=("$cavra")
if [ -n "${BASE_REV:-}" ]; then
	CAVRA_REV=$BASE_REV build_revision
	names+=("$revision") bins+=("$cavra")
fi
cavra=${bins[0]}

say "seeding $n decisions into SQLite, chaining them, backing them up"
"$cavra" migrate up --database "$work/seed.db" >/dev/null
bash bench/seed.sh "$work/seed.db" "$n" >/dev/null
"$cavra" audit adopt --database "$work/seed.db" >/dev/null
"$cavra" ops backup --database "$work/seed.db" --output "$work/bk" >/dev/null
rm -f "$work"/seed.db*
sync

# restore_once BIN: prints "wall user sys" in seconds of one restore into a new directory.
restore_once() {
	rm -rf "$work/sq"
	/usr/bin/time -f '%e %U %S' -o "$work/time" \
		"$1" ops restore "$work/bk/manifest.json" --target-dir "$work/sq" >/dev/null 2>&1 ||
		die "the restore with $1 failed"
	cat "$work/time"
}

declare -A best_wall best_cpu runs
for ((r = 1; r <= rounds; r++)); do
	for i in "${!bins[@]}"; do
		load=$(cut -d' ' -f1 /proc/loadavg)
		read -r wall user sys < <(restore_once "${bins[$i]}")
		cpu=$(awk "BEGIN { printf \"%.1f\", $user + $sys }")
		say "${names[$i]} round $r: wall ${wall} s, CPU ${cpu} s (user $user, sys $sys), load $load"
		runs[$i]+="${wall} s / ${cpu} s (load ${load}); "
		if [ -z "${best_wall[$i]:-}" ] || awk "BEGIN { exit !($wall < ${best_wall[$i]}) }"; then
			best_wall[$i]=$wall
		fi
		if [ -z "${best_cpu[$i]:-}" ] || awk "BEGIN { exit !($cpu < ${best_cpu[$i]}) }"; then
			best_cpu[$i]=$cpu
		fi
	done
done
size=$(du -sh "$work/sq/cavra.db" | cut -f1)

cat <<MD
$(nproc) cores; a SQLite backup of $n decisions (bench/seed.sh), restored with --target-dir into a
new $size database; best of $rounds rounds, taken in turns.

| revision | best wall clock | best CPU (user + sys) | rounds: wall / CPU (load average before) |
| --- | --- | --- | --- |
MD
for i in "${!bins[@]}"; do
	echo "| ${names[$i]} | ${best_wall[$i]} s | ${best_cpu[$i]} s | ${runs[$i]%; } |"
done
