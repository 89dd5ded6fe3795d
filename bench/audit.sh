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
# revision, built in a temp dir; default: the work tree into build-bench/), SEAL=1 (the adoption
# seals every entry with audit_seal_key_file, and a third step times `audit verify
# --seal-key-file`: docs/audit.md#sealed-entries). Then `audit checkpoint` twice: from the
# chain's start (the check a checkpoint writer makes with no earlier checkpoint: every entry's
# link, and with SEAL=1 its seal), and with --after the first (nothing new to read).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

ROWS=${ROWS:-1000000}
SEAL=${SEAL:-0}
read -r -a BACKENDS <<<"${BACKENDS:-sqlite postgres}"

pg_workdir audit

build_revision
seal=()
if [ "$SEAL" = 1 ]; then
	openssl rand -hex 32 >"$work/audit-seal.key"
	export CAVRA_AUDIT_SEAL_KEY_FILE=$work/audit-seal.key # the adoption seals
	seal=(--seal-key-file "$CAVRA_AUDIT_SEAL_KEY_FILE")
fi
openssl genpkey -algorithm ed25519 -out "$work/signing.pem" 2>/dev/null

row() { timed_row "$1 | $ROWS" "${@:2}"; } # backend step command...

echo "| backend | decisions | step | seconds | peak RSS MB |"
echo "| --- | ---: | --- | ---: | ---: |"
for b in "${BACKENDS[@]}"; do
	fresh_db "$b" a
	"$cavra" migrate up --database "$db" >"$work/migrate.log" 2>&1 || die "migrate up failed"
	say "$b: seeding $ROWS decisions"
	bash bench/seed.sh "$db" "$ROWS" >"$work/seed.log" 2>&1 || die "seed failed: $work/seed.log"
	settle "$b" "$db"
	row "$b" "audit adopt" "$cavra" audit adopt --database "$db" --quiet
	settle "$b" "$db"
	row "$b" "audit verify" "$cavra" audit verify --database "$db" --quiet
	if [ "$SEAL" = 1 ]; then
		settle "$b" "$db"
		row "$b" "audit verify --seal-key-file" "$cavra" audit verify --database "$db" \
			--quiet --seal-key-file "$CAVRA_AUDIT_SEAL_KEY_FILE"
	fi
	settle "$b" "$db"
	row "$b" "audit checkpoint${seal[*]:+ --seal-key-file} (from the start)" "$cavra" audit \
		checkpoint --database "$db" --signing-key "$work/signing.pem" \
		--output "$work/cp-$b-1.json" "${seal[@]}"
	row "$b" "audit checkpoint${seal[*]:+ --seal-key-file} --after it" "$cavra" audit \
		checkpoint --database "$db" --signing-key "$work/signing.pem" \
		--output "$work/cp-$b-2.json" --after "$work/cp-$b-1.json" "${seal[@]}"
	if [ "$b" = postgres ]; then pg_stop; fi
done
say "cavra $revision; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
