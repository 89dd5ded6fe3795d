#!/usr/bin/env bash
# An agent's GET /approvals?limit=50 (a caller without approvals.read_any: the approvals it
# asked for and those of its decisions) before and after migration 020, on each backend
# (docs/benchmarks.md, "An agent's GET /approvals and migration 020").
#   bash bench/agent_approvals.sh
# Settings (environment): ROWS=200000 approvals over AGENTS=100 agents (agent-00 .. agent-99:
# one approval in ten asked for by a person, secop, the others by the decision's agent),
# BEFORE=d9ee243 (the revision before 020, built from git into the work dir), BUILD=build-rel
# (the Release build of the work tree, the "after"), REQUESTS=20, AGENT=agent-17,
# BACKENDS="sqlite postgres".
# Per backend: a database at schema 19 (BEFORE's migrate up), the approvals loaded in SQL
# (their adoption asked for), then REQUESTS sequential requests of AGENT's first page (after 3 unmeasured ones) served by
# BEFORE, `cavra migrate up --to 20` timed, and the same requests served by BEFORE on the new
# schema and, after the later migrations, by the work tree's binary. Prints Markdown on stdout, progress on stderr. Run as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

ROWS=${ROWS:-200000}
AGENTS=${AGENTS:-100}
BEFORE=${BEFORE:-d9ee243}
BUILD=${BUILD:-build-rel}
REQUESTS=${REQUESTS:-20}
AGENT=${AGENT:-agent-17}
BACKENDS=${BACKENDS:-sqlite postgres}

[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres with runuser"
pg_workdir approvals

build_release "$BUILD"
after=$cavra
mkdir -p "$work/src"
git archive "$BEFORE" | tar -x -C "$work/src"
build_release "$work/build-before" "$work/src"
before=$cavra
case " $BACKENDS " in *" postgres "*)
	pg_start shared_buffers=256MB max_wal_size=4GB
	psql "$(pgurl postgres)" -Xq -c 'CREATE DATABASE approvals'
	;;
esac

# Row i: agent (i * 2654435761 mod 2^32) mod AGENTS; every tenth (by the same hash) asked for
# by secop; created_at 30 s apart. The payload has the fields and order of a stored approval.
seed_sql() { # backend
	local h="(i * 2654435761) % 4294967296" obj arr ext
	if [ "$1" = sqlite ]; then obj=json_object arr=json_array ext="json_extract(coalesce(asker, owner), '\$.token')"; else obj=jsonb_build_object arr=jsonb_build_array ext="coalesce(asker, owner)->>'token'"; fi
	local payload="$obj('decision_id', did, 'session_id', sess, 'rule_id', 'commands.default.require_approval',
	  'action_type', 'execute_command', 'target', 'make deploy', 'policy_pack', 'cavra-ai-agent-baseline',
	  'severity', 'medium', 'reason', 'command ''make deploy'' matches no commands.allow pattern of pack ''cavra-ai-agent-baseline''',
	  'decision', $obj('schema_version', 'cavra.decision.v1', 'decision_id', did, 'session_id', sess,
	     'agent_id', NULL, 'actor', NULL, 'repository', NULL, 'action_type', 'execute_command',
	     'target', 'make deploy', 'requested_operation', NULL, 'policy_pack', 'cavra-ai-agent-baseline',
	     'policy_id', 'cavra-ai-agent-baseline', 'rule_id', 'commands.default.require_approval',
	     'decision', 'require_approval', 'severity', 'medium',
	     'reason', 'command ''make deploy'' matches no commands.allow pattern of pack ''cavra-ai-agent-baseline''',
	     'evidence_refs', $arr('evidence://' || sess || '/' || did), 'approver_group', 'Repository Owners',
	     'timestamp', ts, 'correlation_id', 'corr_' || did,
	     'policy_version', $obj('version', '1.0.0', 'sha256', '7cbd38143b1c8635ed63648582336cbd3be24be9ba2cc321b9cb39cb8ce00518'),
	     'recorded_by', OWNER),
	  'state', 'approved', 'approver_group', 'Repository Owners', 'routed_by', 'default-command-approvals',
	  'requested_by', $ext, 'requested_at', ts, 'expires_at', ts, 'recorded_by', ASKER,
	  'history', $arr($obj('event', 'requested', 'actor', $ext, 'timestamp', ts, 'reason', NULL,
	      'external_ref', NULL, 'recorded_by', ASKER)),
	  'approval_id', id, 'evidence_refs', $arr('approval://' || id, 'evidence://' || sess || '/' || did))"
	local cols="approval_id, decision_id, session_id, state, approver_group, requested_by, rule_id,
	  expires_at, decided_at, decided_by, created_at, updated_at, payload"
	local vals="id, did, sess, 'approved', 'Repository Owners', $ext, 'commands.default.require_approval',
	  TS, TS, 'alice', TS, TS"
	if [ "$1" = sqlite ]; then
		payload=${payload//OWNER/json(owner)}
		payload=${payload//ASKER/json(coalesce(asker, owner))}
		vals=${vals//TS/ts}
		cat <<SQL
WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < $ROWS - 1),
r AS (SELECT i, printf('apr_%012x', i) AS id, printf('dec_%012x', i) AS did, printf('seed-%06d', i / 20) AS sess,
        json_object('kind', 'api_token', 'token', printf('agent-%02d', $h % $AGENTS)) AS owner,
        CASE WHEN $h / $AGENTS % 10 = 0 THEN json_object('kind', 'api_token', 'token', 'secop') END AS asker,
        strftime('%Y-%m-%dT%H:%M:%f', 1700000000 + i * 30, 'unixepoch') || '000Z' AS ts FROM g)
INSERT INTO approvals ($cols) SELECT $vals, $payload FROM r;
SQL
	else
		payload=${payload//OWNER/owner}
		payload=${payload//ASKER/coalesce(asker, owner)}
		vals=${vals//TS/t}
		cat <<SQL
INSERT INTO approvals ($cols)
SELECT $vals, $payload
FROM (SELECT i, 'apr_' || lpad(to_hex(i), 12, '0') AS id, 'dec_' || lpad(to_hex(i), 12, '0') AS did,
        'seed-' || lpad((i / 20)::text, 6, '0') AS sess,
        jsonb_build_object('kind', 'api_token', 'token', 'agent-' || lpad((h % $AGENTS)::text, 2, '0')) AS owner,
        CASE WHEN h / $AGENTS % 10 = 0 THEN jsonb_build_object('kind', 'api_token', 'token', 'secop') END AS asker,
        t, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
      FROM (SELECT i, $h AS h, timestamptz 'epoch' + (1700000000 + i * 30) * interval '1 second' AS t
            FROM generate_series(0::bigint, $ROWS - 1) AS g(i)) g) s;
VACUUM (ANALYZE) approvals;
SQL
	fi
}

declare -A R
# ticks NAME: CPU ticks of cavra serve, and on PostgreSQL of the server's processes, ended
# ones (a parallel query's workers) included
ticks() {
	case $1 in
	postgres,*) echo $(($(cpu_ticks "$serve_pid") + $(pg_ticks))) ;;
	*) cpu_ticks "$serve_pid" ;;
	esac
}
index_bytes() { # backend url: the size of 020's two indexes
	if [ "$1" = sqlite ]; then
		sql "$1" "$2" "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'ix_approvals_%recorded_by_%'"
	else
		sql "$1" "$2" "SELECT sum(pg_relation_size(indexname::regclass)) FROM pg_indexes WHERE indexname LIKE 'ix_approvals_%recorded_by_%'"
	fi
}
# timed NAME BINARY URL TOKEN: REQUESTS sequential first pages; median and max ms, CPU ms a
# request
timed() {
	local f=$work/times-$1.txt c0 t u
	cavra=$2
	serve_start "$3" "$work/serve-$1.log"
	u="http://127.0.0.1:$port/approvals?limit=50"
	for _ in 1 2 3; do curl -sf -o /dev/null -H "Authorization: Bearer $4" "$u" || die "GET failed: $1"; done
	R[$1,n]=$(curl -sf -H "Authorization: Bearer $4" "$u" | /usr/bin/python3 -c \
		'import json, sys; e = json.load(sys.stdin); print(len(e["items"]), e["total"])')
	c0=$(ticks "$1")
	for _ in $(seq "$REQUESTS"); do
		curl -sf -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $4" "$u"
	done >"$f"
	t=$(($(ticks "$1") - c0))
	serve_stop
	R[$1]=$(sort -n "$f" | awk -v n="$REQUESTS" -v t="$t" -v hz="$(getconf CLK_TCK)" \
		'{ v[NR] = $1 * 1000 } END { printf "%.1f | %.1f | %.1f", v[int((n + 1) / 2)], v[n], t * 1000 / hz / n }')
	say "$1: median / max ms, CPU ms a request: ${R[$1]} (items, total: ${R[$1,n]}; load $(cut -d' ' -f1-3 /proc/loadavg))"
}

for b in $BACKENDS; do
	if [ "$b" = sqlite ]; then url=$work/approvals.db; else url=$(pgurl approvals); fi
	"$before" migrate up --database "$url" >"$work/migrate19-$b.log" 2>&1 || die "migrate up (19) failed"
	say "$b: loading $ROWS approvals"
	seed_sql "$b" | if [ "$b" = sqlite ]; then sqlite3 -bail "$url"; else psql "$url" -Xq -v ON_ERROR_STOP=1; fi
	# approvals written behind cavra's back are not served (they are withheld from lists) until
	# an adoption chains them: ask for one while the chain is still empty, as a database that
	# held them before the chain would, and the first serve adopts them
	sql "$b" "$url" "UPDATE audit_chain_head SET adopt_pending = 1" >/dev/null
	token=$("$before" tokens create --database "$url" --name "$AGENT" --role agent 2>/dev/null)
	timed "$b,before" "$before" "$url" "$token"
	s0=$(date +%s%N)
	"$after" migrate up --to 20 --database "$url" >"$work/migrate20-$b.log" 2>&1 || die "migrate up (020) failed"
	R[$b,migrate]=$((($(date +%s%N) - s0) / 1000000))
	R[$b,ledger]=$(sql "$b" "$url" "SELECT duration_ms FROM schema_migrations WHERE version = 20")
	R[$b,size]=$(index_bytes "$b" "$url")
	say "$b: migrate up (020): ${R[$b,migrate]} ms (the ledger's duration_ms: ${R[$b,ledger]}; the indexes: ${R[$b,size]} bytes)"
	timed "$b,before on 020" "$before" "$url" "$token"
	# the work tree's binary serves only its own schema: the later migrations first, untimed
	"$after" migrate up --database "$url" >"$work/migrate-$b.log" 2>&1 || die "migrate up failed"
	timed "$b,after" "$after" "$url" "$token"
done

echo "| backend | binary | items, total | median ms | max ms | CPU ms a request |"
echo "| --- | --- | --- | --- | --- | --- |"
for b in $BACKENDS; do
	for w in before "before on 020" after; do
		[ -n "${R[$b,$w]:-}" ] || continue
		echo "| $b | $w | ${R[$b,$w,n]} | ${R[$b,$w]} |"
	done
done
echo
for b in $BACKENDS; do
	echo "- $b: \`cavra migrate up\` applying 020 on $ROWS approvals: ${R[$b,migrate]} ms (ledger duration_ms ${R[$b,ledger]}); the two indexes: ${R[$b,size]} bytes"
done
