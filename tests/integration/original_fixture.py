"""SQLite databases as the original CAVRA (the Python tool) left them, built from its published
schema facts, not from cavra's sql/: its migrations 001-006 (CREATE ... IF NOT EXISTS), its
`schema_migrations(id, applied_at)` ledger, and records whose payload is the whole record as JSON
with sorted keys and `+00:00` times.

    build(path, stop=6, ledger=True, extra_tables=(), tenant=False, records=RECORDS)

`stop` is the last of its migrations that ran (0: none), `extra_tables` tables its store classes
created on open without a ledger row, `tenant` the nullable tenant_id/workspace_id columns that
newer versions add."""
import json
import sqlite3

MIGRATIONS = {
    "001_evidence_metadata.sql": """
CREATE TABLE IF NOT EXISTS evidence_metadata (
    session_id TEXT PRIMARY KEY, created_at TEXT, signer TEXT,
    decision_count INTEGER NOT NULL DEFAULT 0, blocked_count INTEGER NOT NULL DEFAULT 0,
    approval_required_count INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_evidence_metadata_created_at ON evidence_metadata (created_at);
CREATE INDEX IF NOT EXISTS idx_evidence_metadata_signer ON evidence_metadata (signer);
CREATE INDEX IF NOT EXISTS idx_evidence_metadata_blocked_count ON evidence_metadata (blocked_count);
""",
    "002_approval_router.sql": """
CREATE TABLE IF NOT EXISTS approvals (
    approval_id TEXT PRIMARY KEY, decision_id TEXT NOT NULL, session_id TEXT, state TEXT NOT NULL,
    approver_group TEXT NOT NULL, requested_by TEXT, requested_at TEXT NOT NULL,
    expires_at TEXT NOT NULL, decided_by TEXT, decided_at TEXT, external_ref TEXT,
    break_glass INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_approvals_state ON approvals (state);
CREATE INDEX IF NOT EXISTS idx_approvals_group ON approvals (approver_group);
CREATE INDEX IF NOT EXISTS idx_approvals_requested_at ON approvals (requested_at);
""",
    "003_agent_mcp_registry.sql": """
CREATE TABLE IF NOT EXISTS registry_agents (
    agent_id TEXT PRIMARY KEY, status TEXT NOT NULL, owner TEXT, vendor TEXT, risk_tier TEXT,
    last_seen TEXT, updated_at TEXT NOT NULL, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_registry_agents_status ON registry_agents (status);
CREATE INDEX IF NOT EXISTS idx_registry_agents_owner ON registry_agents (owner);
CREATE INDEX IF NOT EXISTS idx_registry_agents_updated_at ON registry_agents (updated_at);
CREATE TABLE IF NOT EXISTS registry_mcp_servers (
    server_id TEXT PRIMARY KEY, name TEXT NOT NULL, trust_tier TEXT NOT NULL,
    approval_state TEXT NOT NULL, owner TEXT, capabilities TEXT NOT NULL,
    allowed_tools TEXT NOT NULL, last_seen TEXT, updated_at TEXT NOT NULL, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_registry_mcp_trust_tier ON registry_mcp_servers (trust_tier);
CREATE INDEX IF NOT EXISTS idx_registry_mcp_approval_state ON registry_mcp_servers (approval_state);
CREATE INDEX IF NOT EXISTS idx_registry_mcp_owner ON registry_mcp_servers (owner);
""",
    "004_activity_sessions_decisions.sql": """
CREATE TABLE IF NOT EXISTS activity_sessions (
    session_id TEXT PRIMARY KEY, agent_id TEXT, actor TEXT, repository TEXT, policy_pack TEXT,
    state TEXT NOT NULL, started_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    decision_count INTEGER NOT NULL DEFAULT 0, blocked_count INTEGER NOT NULL DEFAULT 0,
    approval_required_count INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_activity_sessions_agent ON activity_sessions (agent_id);
CREATE INDEX IF NOT EXISTS idx_activity_sessions_repository ON activity_sessions (repository);
CREATE INDEX IF NOT EXISTS idx_activity_sessions_policy ON activity_sessions (policy_pack);
CREATE INDEX IF NOT EXISTS idx_activity_sessions_updated ON activity_sessions (updated_at);
CREATE TABLE IF NOT EXISTS activity_decisions (
    decision_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, agent_id TEXT, actor TEXT,
    repository TEXT, policy_pack TEXT, action_type TEXT, target TEXT, rule_id TEXT,
    decision TEXT NOT NULL, severity TEXT, timestamp TEXT NOT NULL, correlation_id TEXT,
    payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_activity_decisions_session ON activity_decisions (session_id);
CREATE INDEX IF NOT EXISTS idx_activity_decisions_agent ON activity_decisions (agent_id);
CREATE INDEX IF NOT EXISTS idx_activity_decisions_repository ON activity_decisions (repository);
CREATE INDEX IF NOT EXISTS idx_activity_decisions_policy ON activity_decisions (policy_pack);
CREATE INDEX IF NOT EXISTS idx_activity_decisions_decision ON activity_decisions (decision);
CREATE INDEX IF NOT EXISTS idx_activity_decisions_timestamp ON activity_decisions (timestamp);
""",
    "005_repository_policy_rollout.sql": """
CREATE TABLE IF NOT EXISTS inventory_repositories (
    repository_id TEXT PRIMARY KEY, repository TEXT NOT NULL, provider TEXT, owner TEXT,
    policy_pack TEXT, risk_tier TEXT, status TEXT NOT NULL, updated_at TEXT NOT NULL,
    payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_inventory_repositories_provider ON inventory_repositories (provider);
CREATE INDEX IF NOT EXISTS idx_inventory_repositories_owner ON inventory_repositories (owner);
CREATE INDEX IF NOT EXISTS idx_inventory_repositories_policy ON inventory_repositories (policy_pack);
CREATE INDEX IF NOT EXISTS idx_inventory_repositories_status ON inventory_repositories (status);
CREATE TABLE IF NOT EXISTS inventory_policy_rollouts (
    rollout_id TEXT PRIMARY KEY, repository TEXT NOT NULL, policy_pack TEXT NOT NULL,
    state TEXT NOT NULL, mode TEXT NOT NULL, owner TEXT, updated_at TEXT NOT NULL,
    payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_inventory_rollouts_repository ON inventory_policy_rollouts (repository);
CREATE INDEX IF NOT EXISTS idx_inventory_rollouts_policy ON inventory_policy_rollouts (policy_pack);
CREATE INDEX IF NOT EXISTS idx_inventory_rollouts_state ON inventory_policy_rollouts (state);
CREATE INDEX IF NOT EXISTS idx_inventory_rollouts_mode ON inventory_policy_rollouts (mode);
""",
    "006_integrations_inventory.sql": """
CREATE TABLE IF NOT EXISTS integrations (
    integration_id TEXT PRIMARY KEY, provider TEXT NOT NULL, category TEXT NOT NULL,
    status TEXT NOT NULL, owner TEXT, environment TEXT, health_status TEXT,
    updated_at TEXT NOT NULL, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_integrations_provider ON integrations (provider);
CREATE INDEX IF NOT EXISTS idx_integrations_category ON integrations (category);
CREATE INDEX IF NOT EXISTS idx_integrations_status ON integrations (status);
CREATE INDEX IF NOT EXISTS idx_integrations_owner ON integrations (owner);
CREATE INDEX IF NOT EXISTS idx_integrations_health ON integrations (health_status);
""",
}
FILES = list(MIGRATIONS)
LEDGER = "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
# the tables each migration creates, for the store classes' create-on-open
TABLES_OF = {
    "001_evidence_metadata.sql": ["evidence_metadata"],
    "002_approval_router.sql": ["approvals"],
    "003_agent_mcp_registry.sql": ["registry_agents", "registry_mcp_servers"],
    "004_activity_sessions_decisions.sql": ["activity_sessions", "activity_decisions"],
    "005_repository_policy_rollout.sql": ["inventory_repositories", "inventory_policy_rollouts"],
    "006_integrations_inventory.sql": ["integrations"],
}
# newer versions: nullable tenant_id / workspace_id on the inventory and activity tables
TENANT_TABLES = ["activity_sessions", "activity_decisions", "inventory_repositories",
                 "inventory_policy_rollouts"]

T0 = "2025-05-01T12:00:00.123456+00:00"
T1 = "2025-05-01T12:05:00+00:00"
T2 = "2025-05-02T08:00:00+00:00"
EXPIRES = "2025-05-08T12:00:00+00:00"


def payload(rec):
    """The original's payload: the whole record, keys sorted."""
    return json.dumps(rec, sort_keys=True)


def decision(did, session, outcome, ts, **kw):
    rec = {"schema_version": "cavra.decision.v1", "decision_id": did, "session_id": session,
           "agent_id": "codex", "actor": "ai-agent", "repository": "acme/payments",
           "action_type": "execute_command", "target": "terraform apply",
           "requested_operation": "", "policy_pack": "cavra-ai-agent-baseline",
           "policy_id": "cavra-ai-agent-baseline", "rule_id": "commands.block",
           "decision": outcome, "severity": "high", "reason": "pilot", "evidence_refs": [],
           "approver_group": None, "timestamp": ts, "correlation_id": "corr_" + did}
    rec.update(kw)
    return {k: v for k, v in rec.items() if v is not ...}


def approval(aid, state, **kw):
    rec = {"schema_version": "cavra.approval.v1", "product": "CAVRA", "approval_id": aid,
           "decision_id": "dec_b", "session_id": "pilot-1", "correlation_id": "corr_dec_b",
           "state": state, "approver_group": "Platform Security", "requested_by": "ai-agent",
           "requested_at": T0, "expires_at": EXPIRES, "decision": {"decision_id": "dec_b"},
           "decided_by": None, "decided_at": None, "decision_reason": None,
           "history": [{"event": "requested", "actor": "ai-agent", "timestamp": T0,
                        "reason": None}],
           "evidence_refs": ["approval://" + aid]}
    if state != "pending":
        rec.update(decided_by="sam", decided_at=T1, decision_reason="pilot")
        rec["history"].append({"event": state, "actor": "sam", "timestamp": T1,
                               "reason": "pilot", "external_ref": None})
    rec.update(kw)
    return rec


def mcp(sid, trust, approval_state):
    return {"schema_version": "cavra.mcp_server.v1", "server_id": sid, "name": sid,
            "trust_tier": trust, "capabilities": ["repository"], "owner": "unassigned",
            "approval_state": approval_state, "allowed_tools": ["create_pull_request"],
            "last_seen": T0, "created_at": T0, "updated_at": T0, "evidence_refs": []}


def integration(iid, status, health):
    return {"schema_version": "cavra.integration.v1", "integration_id": iid, "name": iid,
            "provider": "splunk", "category": "siem", "status": status,
            "health_status": health, "owner": "platform-security", "environment": "prod",
            "auth_mode": "not_configured", "endpoint_ref": None, "capabilities": [],
            "repositories": [], "last_checked_at": None, "created_at": T0, "updated_at": T0,
            "evidence_refs": []}


def records():
    """One set of records in every table, with the original's value sets."""
    # dec_d has only what the original required: the rest takes its defaults
    dec_d = {"decision_id": "dec_d", "timestamp": T2, "action_type": "read_file",
             "target": "README.md", "policy_pack": "cavra-ai-agent-baseline"}
    return {
        "evidence_metadata": [
            {"schema_version": "cavra.evidence.metadata.v1", "product": "CAVRA",
             "session_id": "pilot-1", "bundle_dir": ".cavra/evidence/pilot-1",
             "created_at": T0, "decision_count": 2, "blocked_count": 1,
             "approval_required_count": 1, "signer": "local", "retention": {},
             "manifest_signature": {"algorithm": "SHA256", "value": "ab"},
             "approval_outcomes": [], "approved_count": 0, "denied_count": 0,
             "break_glass_count": 0}],
        "approvals": [approval("apr_" + s, s) for s in
                      ("pending", "approved", "denied", "expired", "break_glass")],
        "registry_agents": [
            {"schema_version": "cavra.agent.v1", "agent_id": "codex", "type": "coding-agent",
             "vendor": "openai", "version": "1", "capabilities": [], "scopes": [],
             "allowed_repositories": ["acme/payments"], "allowed_tools": [],
             "risk_tier": "medium", "owner": "unassigned", "status": "active",
             "last_seen": T0, "created_at": T0, "updated_at": T0, "evidence_refs": []}],
        "registry_mcp_servers": [mcp("github-mcp", "approved", "not_required"),
                                 mcp("jira-mcp", "experimental", "pending"),
                                 mcp("shady-mcp", "blocked", "denied")],
        "activity_sessions": [
            # stale counters: the decisions are the truth
            {"schema_version": "cavra.session.v1", "session_id": "pilot-1", "agent_id": "codex",
             "actor": "ai-agent", "repository": "acme/payments",
             "policy_pack": "cavra-ai-agent-baseline", "status": "completed",
             "started_at": T0, "updated_at": T1, "decision_count": 9, "blocked_count": 0,
             "approval_required_count": 0, "evidence_refs": []}],
        "activity_decisions": [
            decision("dec_a", "pilot-1", "block", T0),
            decision("dec_b", "pilot-1", "require_approval", T1, severity="medium",
                     approver_group="Platform Security"),
            decision("dec_c", "pilot-2", "allow_with_attestation", T2, severity="medium"),
            dec_d],
        "inventory_repositories": [
            {"schema_version": "cavra.repository.v1", "repository_id": "acme/payments",
             "repository": "acme/payments", "provider": "github", "default_branch": "main",
             "owner": "unassigned", "business_unit": "engineering",
             "environment": "development", "policy_pack": "cavra-ai-agent-baseline",
             "risk_tier": "medium", "status": "active", "protected_branches": ["main"],
             "required_checks": [], "created_at": T0, "updated_at": T0, "evidence_refs": []}],
        "inventory_policy_rollouts": [
            {"schema_version": "cavra.policy_rollout.v1",
             "rollout_id": "acme/payments:cavra-ai-agent-baseline",
             "repository": "acme/payments", "policy_pack": "cavra-ai-agent-baseline",
             "policy_version": "latest", "mode": "audit_only", "state": "planned",
             "owner": "platform-security", "coverage_percent": 0, "last_evaluated_at": None,
             "created_at": T0, "updated_at": T0, "evidence_refs": []}],
        "integrations": [integration("splunk-prod", "configured", "not_checked"),
                         integration("s3-archive", "paused", "failed"),
                         integration("github-app", "active", "healthy")],
    }


def _row(table, r):
    """The projection columns the original wrote beside each payload, and the payload."""
    g = r.get
    cols = {
        "evidence_metadata": lambda: dict(
            session_id=g("session_id"), created_at=g("created_at"), signer=g("signer"),
            decision_count=g("decision_count", 0), blocked_count=g("blocked_count", 0),
            approval_required_count=g("approval_required_count", 0)),
        "approvals": lambda: dict(
            approval_id=g("approval_id"), decision_id=g("decision_id"),
            session_id=g("session_id"), state=g("state"), approver_group=g("approver_group"),
            requested_by=g("requested_by"), requested_at=g("requested_at"),
            expires_at=g("expires_at"), decided_by=g("decided_by"), decided_at=g("decided_at"),
            external_ref=None, break_glass=1 if g("state") == "break_glass" else 0),
        "registry_agents": lambda: dict(
            agent_id=g("agent_id"), status=g("status"), owner=g("owner"), vendor=g("vendor"),
            risk_tier=g("risk_tier"), last_seen=g("last_seen"), updated_at=g("updated_at")),
        "registry_mcp_servers": lambda: dict(
            server_id=g("server_id"), name=g("name"), trust_tier=g("trust_tier"),
            approval_state=g("approval_state"), owner=g("owner"),
            capabilities=json.dumps(g("capabilities")),
            allowed_tools=json.dumps(g("allowed_tools")), last_seen=g("last_seen"),
            updated_at=g("updated_at")),
        "activity_sessions": lambda: dict(
            session_id=g("session_id"), agent_id=g("agent_id"), actor=g("actor"),
            repository=g("repository"), policy_pack=g("policy_pack"),
            state=g("state") or g("status"), started_at=g("started_at"),
            updated_at=g("updated_at"), decision_count=g("decision_count", 0),
            blocked_count=g("blocked_count", 0),
            approval_required_count=g("approval_required_count", 0)),
        # the original's defaults for absent fields land in its columns too
        "activity_decisions": lambda: dict(
            decision_id=g("decision_id"), session_id=g("session_id", "local"),
            agent_id=g("agent_id", "unknown-agent"), actor=g("actor", "ai-agent"),
            repository=g("repository", "local"), policy_pack=g("policy_pack"),
            action_type=g("action_type"), target=g("target"),
            rule_id=g("rule_id", "runtime.default"), decision=g("decision", "audit_only"),
            severity=g("severity", "low"), timestamp=g("timestamp"),
            correlation_id=g("correlation_id")),
        "inventory_repositories": lambda: dict(
            repository_id=g("repository_id"), repository=g("repository"),
            provider=g("provider"), owner=g("owner"), policy_pack=g("policy_pack"),
            risk_tier=g("risk_tier"), status=g("status"), updated_at=g("updated_at")),
        "inventory_policy_rollouts": lambda: dict(
            rollout_id=g("rollout_id"), repository=g("repository"),
            policy_pack=g("policy_pack"), state=g("state"), mode=g("mode"), owner=g("owner"),
            updated_at=g("updated_at")),
        "integrations": lambda: dict(
            integration_id=g("integration_id"), provider=g("provider"),
            category=g("category"), status=g("status"), owner=g("owner"),
            environment=g("environment"), health_status=g("health_status"),
            updated_at=g("updated_at")),
    }[table]()
    cols["payload"] = payload(r)
    return cols


def insert(con, table, rec, raw_payload=None):
    row = _row(table, rec)
    if raw_payload is not None:
        row["payload"] = raw_payload
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    con.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values()))


def build(path, stop=6, ledger=True, extra_tables=(), tenant=False, recs=None):
    """Writes the pilot; returns {table: [records]} of what it holds."""
    recs = records() if recs is None else recs
    con = sqlite3.connect(path)
    tables = []
    if ledger:
        con.execute(LEDGER)
    for i, name in enumerate(FILES[:stop]):
        con.executescript(MIGRATIONS[name])
        tables += TABLES_OF[name]
        if ledger:
            con.execute("INSERT INTO schema_migrations VALUES (?, ?)",
                        (name, f"2025-04-0{i + 1}T09:00:00+00:00"))
    # a store class that opened its table on its own: the migration's DDL, no ledger row
    for name in FILES:
        if any(t in extra_tables for t in TABLES_OF[name]) and name not in FILES[:stop]:
            con.executescript(MIGRATIONS[name])
            tables += TABLES_OF[name]
    if tenant:
        for t in TENANT_TABLES:
            if t in tables:
                con.execute(f"ALTER TABLE {t} ADD COLUMN tenant_id TEXT")
                con.execute(f"ALTER TABLE {t} ADD COLUMN workspace_id TEXT")
                con.execute(f"CREATE INDEX IF NOT EXISTS idx_{t}_tenant ON {t} "
                            "(tenant_id, workspace_id)")
    held = {}
    for t in tables:
        held[t] = recs.get(t, [])
        for r in held[t]:
            insert(con, t, r)
        if tenant and t in TENANT_TABLES:  # set in the columns only, not in the payloads
            con.execute(f"UPDATE {t} SET tenant_id = 'acme', workspace_id = 'payments'")
    con.commit()
    con.close()
    return held
