#!/usr/bin/env bash
# The migration that chains the registry, inventory, integrations and API tokens (022), or with
# MIGRATION=23 the one that chains sessions (023: the seed's sessions are what it chains), on a
# database whose chain already holds ROWS decisions (default 1,000,000), on both backends: each
# migrates a fresh database to 021, seeds it (bench/seed.sh), chains it (`audit adopt`), adds
# RECORDS agents, MCP servers, repositories, integrations and API tokens each (default 1,000)
# by SQL, as a binary of 021 would have written them, settles it, then times the `cavra
# migrate up` that applies 022 (on SQLite, audit_chain rebuilt; on PostgreSQL, its CHECK
# swapped) and chains those records, and the `audit verify` after it. Prints a Markdown table
# for docs/benchmarks.md on stdout, progress on stderr. Run as root (PostgreSQL runs as user
# postgres).
#   bash bench/migrate_chain.sh
# Settings (environment): ROWS=1000000, RECORDS=1000, MIGRATION=22 (or 23), BACKENDS="sqlite
# postgres", CAVRA_REV (a committed revision, built in a temp dir; default: the work tree into
# build-bench/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

ROWS=${ROWS:-1000000}
RECORDS=${RECORDS:-1000}
MIGRATION=${MIGRATION:-22}
case $MIGRATION in 22 | 23) ;; *) die "MIGRATION must be 22 or 23" ;; esac
# the sessions 023 chains: all of them (docs/audit.md)
SESSIONS_TO_CHAIN="SELECT count(*) FROM activity_sessions"
read -r -a BACKENDS <<<"${BACKENDS:-sqlite postgres}"
T0=2026-01-01T00:00:00.000000Z

pg_workdir migrate_chain

build_revision

records_sql() { # backend: RECORDS rows of each table, one INSERT ... SELECT each
	local obj="" series
	if [ "$1" = postgres ]; then
		obj="::jsonb"
		series="generate_series(1, $RECORDS) AS g(i)"
	else
		series="(WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $RECORDS) SELECT i FROM g) AS g"
	fi
	local id="'%s-' || i" at="'$T0'" zeros=0000000000000000000000000000000000000000000000000000000000000000
	printf 'BEGIN;\n'
	printf "INSERT INTO registry_agents (agent_id, status, owner, created_at, updated_at, payload) SELECT $id, 'active', 'o', $at, $at, '{}'$obj FROM $series;\n" agent
	printf "INSERT INTO registry_mcp_servers (server_id, name, trust_tier, approval_state, owner, created_at, updated_at, payload) SELECT $id, $id, 'trusted', 'approved', 'o', $at, $at, '{}'$obj FROM $series;\n" mcp mcp
	printf "INSERT INTO inventory_repositories (repository_id, provider, owner, policy_pack, risk_tier, status, created_at, updated_at, payload) SELECT $id, 'github', 'o', 'p', 'low', 'active', $at, $at, '{}'$obj FROM $series;\n" repo
	printf "INSERT INTO integrations (integration_id, provider, environment, category, status, health, owner, created_at, updated_at, payload) SELECT $id, 'splunk', 'prod', 'siem', 'active', 'healthy', 'o', $at, $at, '{}'$obj FROM $series;\n" int
	printf "INSERT INTO api_tokens (token_id, token_sha256, name, subject, created_at, updated_at, payload) SELECT $id, substr('$zeros' || i, length('$zeros' || i) - 63), $id, 's', $at, $at, '{}'$obj FROM $series;\n" tok tok
	printf 'COMMIT;\n'
}

echo "| backend | decisions chained | records to chain | step | seconds | peak RSS MB |"
echo "| --- | ---: | ---: | --- | ---: | ---: |"
for b in "${BACKENDS[@]}"; do
	fresh_db "$b" m
	"$cavra" migrate up --to $((MIGRATION - 1)) --database "$db" >"$work/migrate.log" 2>&1 ||
		die "migrate up --to $((MIGRATION - 1)) failed"
	say "$b: seeding $ROWS decisions"
	bash bench/seed.sh "$db" "$ROWS" >"$work/seed.log" 2>&1 || die "seed failed: $work/seed.log"
	"$cavra" audit adopt --database "$db" --quiet >"$work/adopt.log" 2>&1 || die "adopt failed"
	if [ "$MIGRATION" = 23 ] && [ "$b" = postgres ]; then
		n=$(psql "$db" -XAtq -c "$SESSIONS_TO_CHAIN")
	elif [ "$MIGRATION" = 23 ]; then
		n=$(sqlite3 "$db" "$SESSIONS_TO_CHAIN")
	elif [ "$b" = postgres ]; then
		records_sql "$b" | psql "$db" -Xq -v ON_ERROR_STOP=1 >/dev/null
		n=$((RECORDS * 5))
	else
		records_sql "$b" | sqlite3 -bail "$db" >/dev/null
		n=$((RECORDS * 5))
	fi
	settle "$b" "$db"
	timed_row "$b | $ROWS | $n" "migrate up (0$MIGRATION and the adoption after it)" \
		"$cavra" migrate up --to "$MIGRATION" --database "$db"
	grep -q "chained $n records" "$work/step.log" ||
		die "$b: the records were not chained: $(tail -3 "$work/step.log")"
	settle "$b" "$db"
	timed_row "$b | $ROWS | $n" "audit verify" "$cavra" audit verify --database "$db" --quiet
	if [ "$b" = postgres ]; then pg_stop; fi
done
say "cavra $revision; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
