-- pgbench script: bench/pgbench_decision.sql's work plus the audit chain (docs/audit.md), as one
-- transaction per decision: the decision, its session's counters, and its link of the hash chain
-- (lock the one head row, insert the link with the SHA-256 of the record and of the link, move the
-- head), in one statement and one transaction.  Since the chain (migration 015) every decision
-- cavra writes does this work too, so this is "the same work" for bench/writes.sh's second
-- baseline column.  The link's hash covers the previous head as read in the statement's snapshot:
-- under concurrency a link may name a stale prev_hash, which costs the same and is never verified.
--   pgbench -n -M prepared -c N -j 2 -T 10 -f bench/pgbench_decision_chain.sql postgresql://...
\set s random(1, 1000)
\set p random(0, 15)
\set rid random(0, 281474976710655)
\set cid random(0, 281474976710655)
WITH v AS (
    SELECT 'dec_' || lpad(to_hex(:rid::bigint), 12, '0') AS id,
        'corr_' || lpad(to_hex(:cid::bigint), 12, '0') AS corr,
        'bench-' || lpad(:s::int::text, 4, '0') AS sess,
        'agent-' || lpad((:s::int % 20 + 1)::text, 2, '0') AS agent,
        'dev-' || (:s::int % 20 + 1) || '@example.com' AS actor,
        'acme/svc-' || lpad((:s::int % 50 + 1)::text, 2, '0') AS repo,
        to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.US"Z"') AS ts,
        CASE WHEN :p::int < 8 THEN 'allow' WHEN :p::int < 13 THEN 'block'
             ELSE 'require_approval' END AS dec),
r AS (
    SELECT v.*,
        CASE dec WHEN 'allow' THEN 'commands.allow' WHEN 'block' THEN 'commands.block'
             ELSE 'commands.default.require_approval' END AS rule,
        CASE dec WHEN 'allow' THEN 'low' WHEN 'block' THEN 'critical' ELSE 'medium' END AS sev,
        CASE dec WHEN 'require_approval' THEN 'Repository Owners' END AS grp
    FROM v),
d AS (
    INSERT INTO activity_decisions (decision_id, session_id, agent_id, actor, repository,
        action_type, policy_pack, rule_id, decision, severity, approver_group, correlation_id,
        decided_at, created_at, updated_at, payload)
    SELECT id, sess, agent, actor, repo, 'execute_command', 'cavra-ai-agent-baseline', rule, dec,
        sev, grp, corr, ts::timestamptz, ts::timestamptz, ts::timestamptz,
        ('{"schema_version":"cavra.decision.v1","decision_id":"' || id ||
         '","session_id":"' || sess || '","agent_id":"' || agent || '","actor":"' || actor ||
         '","repository":"' || repo || '","action_type":"execute_command",' ||
         '"target":"terraform apply -auto-approve","requested_operation": null,' ||
         '"policy_pack":"cavra-ai-agent-baseline","policy_id":"cavra-ai-agent-baseline",' ||
         '"rule_id":"' || rule || '","decision":"' || dec || '","severity":"' || sev ||
         '","reason":"command ''terraform apply -auto-approve'' matches commands.block pattern ''terraform apply*''",' ||
         '"evidence_refs":["evidence://' || sess || '/' || id || '"],"approver_group":' ||
         coalesce('"' || grp || '"', 'null') || ',"timestamp":"' || ts ||
         '","correlation_id":"' || corr || '","policy_version":{"version":"1.0.0",' ||
         '"sha256":"898902a3abc26882a8afc3252ddae3c8f25b4fe57ce3c0efca558bdaf18a2e1e"}}')::jsonb
    FROM r
    RETURNING decision_id, session_id, agent_id, actor, repository, policy_pack, decided_at, decision,
        payload),
s AS (
INSERT INTO activity_sessions (session_id, agent_id, actor, repository, policy_pack, state,
    started_at, updated_at, decision_count, blocked_count, approval_required_count, created_at,
    payload)
SELECT session_id, agent_id, actor, repository, policy_pack, 'active', decided_at, decided_at, 1,
    (decision = 'block')::int, (decision = 'require_approval')::int, decided_at, '{}'::jsonb
FROM d
ON CONFLICT (session_id) DO UPDATE SET
    updated_at = CASE WHEN excluded.updated_at > activity_sessions.updated_at
        THEN excluded.updated_at ELSE activity_sessions.updated_at END,
    decision_count = activity_sessions.decision_count + 1,
    blocked_count = activity_sessions.blocked_count + excluded.blocked_count,
    approval_required_count = activity_sessions.approval_required_count
        + excluded.approval_required_count,
    agent_id = COALESCE(activity_sessions.agent_id, excluded.agent_id),
    actor = COALESCE(activity_sessions.actor, excluded.actor),
    repository = COALESCE(activity_sessions.repository, excluded.repository),
    policy_pack = COALESCE(activity_sessions.policy_pack, excluded.policy_pack)
    RETURNING 1),
h AS (
    UPDATE audit_chain_head SET seq = audit_chain_head.seq + 1,
        hash = encode(sha256(convert_to(audit_chain_head.hash || d.decision_id, 'UTF8')), 'hex'),
        updated_at = now()
    FROM d WHERE audit_chain_head.id = 1
    RETURNING audit_chain_head.seq, audit_chain_head.hash)
INSERT INTO audit_chain (seq, kind, record_id, record_sha256, prev_hash, hash, chained_at)
SELECT h.seq, 'decision', d.decision_id, encode(sha256(convert_to(d.payload::text, 'UTF8')), 'hex'),
    (SELECT hash FROM audit_chain_head WHERE id = 1), h.hash, now()
FROM h, d;
