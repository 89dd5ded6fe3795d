"""The original CAVRA's store settings, SQLite stores and file-copy backups (backup.v1): its
CAVRA_*_DB / CAVRA_*_STORE variables are honoured or refused by name, never ignored; its SQLite
stores and its backups import like its JSON stores."""
import hashlib
import json
import os
import shutil
import sqlite3

import pytest

from conftest import cavra, serve, sql

T0 = "2025-05-01T12:00:00.123456+00:00"
T1 = "2025-05-01T12:05:00+00:00"

# The original's tables after its migrations 001-006: projection columns plus the whole record.
DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evidence_metadata (session_id TEXT PRIMARY KEY, created_at TEXT,
  signer TEXT, decision_count INTEGER NOT NULL DEFAULT 0, blocked_count INTEGER NOT NULL DEFAULT 0,
  approval_required_count INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_evidence_metadata_created_at ON evidence_metadata (created_at);
CREATE TABLE IF NOT EXISTS approvals (approval_id TEXT PRIMARY KEY, decision_id TEXT NOT NULL,
  session_id TEXT, state TEXT NOT NULL, approver_group TEXT NOT NULL, requested_by TEXT,
  requested_at TEXT NOT NULL, expires_at TEXT NOT NULL, decided_by TEXT, decided_at TEXT,
  external_ref TEXT, break_glass INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_approvals_state ON approvals (state);
CREATE TABLE IF NOT EXISTS registry_agents (agent_id TEXT PRIMARY KEY, status TEXT NOT NULL,
  owner TEXT, vendor TEXT, risk_tier TEXT, last_seen TEXT, updated_at TEXT NOT NULL,
  payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS registry_mcp_servers (server_id TEXT PRIMARY KEY, name TEXT NOT NULL,
  trust_tier TEXT NOT NULL, approval_state TEXT NOT NULL, owner TEXT, capabilities TEXT NOT NULL,
  allowed_tools TEXT NOT NULL, last_seen TEXT, updated_at TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS activity_sessions (session_id TEXT PRIMARY KEY, agent_id TEXT,
  actor TEXT, repository TEXT, policy_pack TEXT, state TEXT NOT NULL, started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, decision_count INTEGER NOT NULL DEFAULT 0,
  blocked_count INTEGER NOT NULL DEFAULT 0, approval_required_count INTEGER NOT NULL DEFAULT 0,
  payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS activity_decisions (decision_id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL, agent_id TEXT, actor TEXT, repository TEXT, policy_pack TEXT,
  action_type TEXT, target TEXT, rule_id TEXT, decision TEXT NOT NULL, severity TEXT,
  timestamp TEXT NOT NULL, correlation_id TEXT, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_activity_decisions_session ON activity_decisions (session_id);
CREATE TABLE IF NOT EXISTS inventory_repositories (repository_id TEXT PRIMARY KEY,
  repository TEXT NOT NULL, provider TEXT, owner TEXT, policy_pack TEXT, risk_tier TEXT,
  status TEXT NOT NULL, updated_at TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inventory_policy_rollouts (rollout_id TEXT PRIMARY KEY,
  repository TEXT NOT NULL, policy_pack TEXT NOT NULL, state TEXT NOT NULL, mode TEXT NOT NULL,
  owner TEXT, updated_at TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS integrations (integration_id TEXT PRIMARY KEY, provider TEXT NOT NULL,
  category TEXT NOT NULL, status TEXT NOT NULL, owner TEXT, environment TEXT, health_status TEXT,
  updated_at TEXT NOT NULL, payload TEXT NOT NULL);
"""

MIGRATIONS = ["001_evidence_metadata.sql", "002_approval_router.sql",
              "003_agent_mcp_registry.sql", "004_activity_sessions_decisions.sql",
              "005_repository_policy_rollout.sql", "006_integrations_inventory.sql"]


def decision(did, session, verdict, ts, target="terraform apply"):
    return {"schema_version": "cavra.decision.v1", "decision_id": did, "session_id": session,
            "agent_id": "codex", "actor": "ai-agent", "repository": "acme/payments",
            "action_type": "execute_command", "target": target, "requested_operation": "",
            "policy_pack": "cavra-ai-agent-baseline", "policy_id": "cavra-ai-agent-baseline",
            "rule_id": "commands.block", "decision": verdict, "severity": "high",
            "reason": "r", "evidence_refs": [], "approver_group": None, "timestamp": ts,
            "correlation_id": "corr_" + did[4:]}


SESSION = {"schema_version": "cavra.session.v1", "session_id": "pilot-1", "agent_id": "codex",
           "actor": "ai-agent", "repository": "acme/payments",
           "policy_pack": "cavra-ai-agent-baseline", "state": "completed", "started_at": T0,
           "updated_at": T1, "decision_count": 7, "blocked_count": 0,
           "approval_required_count": 0, "evidence_refs": []}
DECISIONS = [decision("dec_00000000000a", "pilot-1", "block", T0),
             decision("dec_00000000000b", "pilot-1", "require_approval", T1)]
APPROVAL = {"schema_version": "cavra.approval.v1", "product": "CAVRA",
            "approval_id": "apr_0123456789ab", "decision_id": "dec_00000000000b",
            "session_id": "pilot-1", "correlation_id": "corr_00000000000b", "state": "pending",
            "approver_group": "Platform Security", "requested_by": "ai-agent",
            "requested_at": T0, "expires_at": "2025-05-02T12:00:00+00:00",
            "decided_by": None, "decided_at": None,
            "history": [{"event": "requested", "actor": "ai-agent", "timestamp": T0,
                         "reason": None}], "evidence_refs": []}
AGENT = {"schema_version": "cavra.agent.v1", "agent_id": "codex", "type": "coding-agent",
         "vendor": "openai", "version": "1", "capabilities": [], "scopes": [],
         "allowed_repositories": [], "allowed_tools": [], "risk_tier": "medium",
         "owner": "unassigned", "status": "active", "last_seen": T0, "created_at": T0,
         "updated_at": T0, "evidence_refs": []}
MCP = {"schema_version": "cavra.mcp_server.v1", "server_id": "github-mcp", "name": "github-mcp",
       "trust_tier": "approved", "capabilities": ["repository"], "owner": "unassigned",
       "approval_state": "not_required", "allowed_tools": ["create_pull_request"],
       "last_seen": T0, "created_at": T0, "updated_at": T0, "evidence_refs": []}
EVIDENCE = {"schema_version": "cavra.evidence.metadata.v1", "product": "CAVRA",
            "session_id": "pilot-1", "bundle_dir": ".cavra/evidence/pilot-1", "created_at": T0,
            "decision_count": 2, "blocked_count": 1, "approval_required_count": 1,
            "signer": "local", "retention": {}, "approval_outcomes": []}
REPOSITORY = {"schema_version": "cavra.repository.v1", "repository_id": "acme/payments",
              "repository": "acme/payments", "provider": "github", "default_branch": "main",
              "owner": "unassigned", "policy_pack": "cavra-ai-agent-baseline",
              "risk_tier": "medium", "status": "active", "protected_branches": ["main"],
              "required_checks": [], "created_at": T0, "updated_at": T0, "evidence_refs": []}
ROLLOUT = {"schema_version": "cavra.policy_rollout.v1",
           "rollout_id": "acme/payments:cavra-ai-agent-baseline", "repository": "acme/payments",
           "policy_pack": "cavra-ai-agent-baseline", "policy_version": "latest",
           "mode": "enforce", "state": "planned", "owner": "platform-security",
           "coverage_percent": 0, "last_evaluated_at": None, "created_at": T0, "updated_at": T0,
           "evidence_refs": []}
INTEGRATION = {"schema_version": "cavra.integration.v1", "integration_id": "splunk-prod",
               "name": "splunk", "provider": "splunk", "category": "siem", "status": "configured",
               "health_status": "not_checked", "owner": "platform-security",
               "environment": "prod", "auth_mode": "not_configured", "endpoint_ref": None,
               "capabilities": [], "repositories": [], "last_checked_at": None,
               "created_at": T0, "updated_at": T0, "evidence_refs": []}

DB_VARS = ["CAVRA_EVIDENCE_METADATA_DB", "CAVRA_APPROVAL_DB", "CAVRA_REGISTRY_DB",
           "CAVRA_ACTIVITY_DB", "CAVRA_INVENTORY_DB", "CAVRA_INTEGRATION_DB"]


def payload(rec):
    return json.dumps(rec, sort_keys=True)


def original_sqlite(path, stores=("evidence_metadata", "approvals", "registry", "activity",
                                  "inventory", "integrations")):
    """An original pilot database holding the given stores' records, as its store classes
    wrote them (sorted-key payloads, +00:00 times)."""
    con = sqlite3.connect(path)
    con.executescript(DDL)
    for m in MIGRATIONS:
        con.execute("INSERT INTO schema_migrations VALUES (?, ?)", (m, T0))
    rows = {
        "evidence_metadata": [("INSERT INTO evidence_metadata VALUES (?,?,?,?,?,?,?)",
                               ("pilot-1", T0, "local", 2, 1, 1, payload(EVIDENCE)))],
        "approvals": [("INSERT INTO approvals VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       ("apr_0123456789ab", "dec_00000000000b", "pilot-1", "pending",
                        "Platform Security", "ai-agent", T0, APPROVAL["expires_at"], None, None,
                        None, 0, payload(APPROVAL)))],
        "registry": [("INSERT INTO registry_agents VALUES (?,?,?,?,?,?,?,?)",
                      ("codex", "active", "unassigned", "openai", "medium", T0, T0,
                       payload(AGENT))),
                     ("INSERT INTO registry_mcp_servers VALUES (?,?,?,?,?,?,?,?,?,?)",
                      ("github-mcp", "github-mcp", "approved", "not_required", "unassigned",
                       '["repository"]', '["create_pull_request"]', T0, T0, payload(MCP)))],
        "activity": [("INSERT INTO activity_sessions VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                      ("pilot-1", "codex", "ai-agent", "acme/payments",
                       "cavra-ai-agent-baseline", "completed", T0, T1, 7, 0, 0,
                       payload(SESSION)))] +
                    [("INSERT INTO activity_decisions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      (d["decision_id"], "pilot-1", "codex", "ai-agent", "acme/payments",
                       "cavra-ai-agent-baseline", "execute_command", d["target"],
                       d["rule_id"], d["decision"], d["severity"], d["timestamp"],
                       d["correlation_id"], payload(d))) for d in DECISIONS],
        "inventory": [("INSERT INTO inventory_repositories VALUES (?,?,?,?,?,?,?,?,?)",
                       ("acme/payments", "acme/payments", "github", "unassigned",
                        "cavra-ai-agent-baseline", "medium", "active", T0, payload(REPOSITORY))),
                      ("INSERT INTO inventory_policy_rollouts VALUES (?,?,?,?,?,?,?,?)",
                       (ROLLOUT["rollout_id"], "acme/payments", "cavra-ai-agent-baseline",
                        "planned", "enforce", "platform-security", T0, payload(ROLLOUT)))],
        "integrations": [("INSERT INTO integrations VALUES (?,?,?,?,?,?,?,?,?)",
                          ("splunk-prod", "splunk", "siem", "configured", "platform-security",
                           "prod", "not_checked", T0, payload(INTEGRATION)))],
    }
    for store in stores:
        for q, args in rows[store]:
            con.execute(q, args)
    con.commit()
    con.close()
    return path


JSON_DOCS = {
    "evidence_metadata": {"items": [EVIDENCE]},
    "approvals": {"items": [APPROVAL]},
    "registry": {"agents": [AGENT], "mcp_servers": [MCP]},
    "activity": {"sessions": [SESSION], "decisions": DECISIONS},
    "inventory": {"repositories": [REPOSITORY], "policy_rollouts": [ROLLOUT]},
    "integrations": {"integrations": [INTEGRATION]},
}


def json_store(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
    return path


# One row per record above, per table.
EXPECTED = {"evidence_metadata": 1, "approvals": 1, "registry_agents": 1,
            "registry_mcp_servers": 1, "activity_sessions": 1, "activity_decisions": 2,
            "inventory_repositories": 1, "inventory_policy_rollouts": 1, "integrations": 1}


def counts(db):
    return {t: int(sql(db, f"SELECT count(*) FROM {t}")[0][0]) for t in EXPECTED}


@pytest.fixture
def migrated(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    return db


# ---- the original's store settings ----

def test_six_db_vars_naming_one_file_are_the_database(tmp_path):
    path = str(tmp_path / "activity.db")
    env = {v: path for v in DB_VARS}
    code, out, err = cavra("serve", "--print-config", env=env, cwd=str(tmp_path))
    assert code == 0, err
    (line,) = [l for l in out.splitlines() if l.startswith("database_url ")]
    assert f"= {path}  (env CAVRA_EVIDENCE_METADATA_DB, CAVRA_APPROVAL_DB" in line, line
    assert "CAVRA_INTEGRATION_DB)" in line, line
    code, out, err = cavra("migrate", "up", env=env, cwd=str(tmp_path))
    assert code == 0, err
    assert not os.path.exists(tmp_path / ".cavra" / "cavra.db")
    assert ["approvals"] in sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    code, out, err = cavra("ops", "import", "--json",
                           json_store(str(tmp_path / "r.json"), JSON_DOCS["registry"]),
                           "--store", "registry", env=env, cwd=str(tmp_path))
    assert code == 0, err
    assert sql(path, "SELECT agent_id FROM registry_agents") == [["codex"]]
    # the adopted file holds cavra's tables now: --from-env does not read it into itself
    code, out, err = cavra("ops", "import", "--from-env", env=env, cwd=str(tmp_path))
    assert code == 0, err
    assert out.count("the configured database itself, skipped") == 6, out
    with serve(None, env=env, cwd=str(tmp_path), tmp=tmp_path) as s:
        assert s.get("/agents/codex").status_code == 200
        assert f"database={path}" in s.stderr()


@pytest.mark.parametrize("name,env,args,wants", [
    ("db vars disagree", {"CAVRA_ACTIVITY_DB": "a.db", "CAVRA_APPROVAL_DB": "b.db"}, [],
     ["CAVRA_ACTIVITY_DB='a.db'", "CAVRA_APPROVAL_DB='b.db'", "cavra ops import --from-env"]),
    ("json store vars", {"CAVRA_ACTIVITY_STORE": "activity.json",
                         "CAVRA_REGISTRY_STORE": "registry.json"}, [],
     ["CAVRA_REGISTRY_STORE, CAVRA_ACTIVITY_STORE", "cavra ops import --from-env"]),
    ("db and json vars mixed", {v: "one.db" for v in DB_VARS[:3]} |
     {"CAVRA_INVENTORY_STORE": "inventory.json"}, [],
     ["CAVRA_INVENTORY_STORE", "cavra ops import --from-env"]),
    ("db vars against database_url", {v: "one.db" for v in DB_VARS}, ["--database", "other.db"],
     ["CAVRA_ACTIVITY_DB='one.db'", "database_url 'other.db'", "cavra ops import --from-env"]),
])
def test_serve_refuses_settings_it_would_ignore(tmp_path, name, env, args, wants):
    code, out, err = cavra("serve", "--listen", "127.0.0.1:1", *args, env=env, cwd=str(tmp_path))
    assert code == 2, (name, out, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    for w in wants:
        assert w in lines[0], (name, lines[0])


def test_db_vars_naming_the_configured_file_are_fine(tmp_path):
    path = str(tmp_path / "cavra.db")
    env = {v: path for v in DB_VARS}
    with serve(f"sqlite:{path}", "--auto-migrate", env=env, tmp=tmp_path) as s:
        assert s.get("/healthz").status_code == 200


# ---- ops import --from-env: the original's precedence, SQLite and JSON stores ----

def test_from_env_db_var_wins_per_store(migrated, tmp_path):
    db = migrated
    orig = original_sqlite(str(tmp_path / "orig.db"), stores=("activity", "approvals",
                                                             "registry"))
    d = tmp_path / "api"
    d.mkdir()
    # the activity JSON store is named too, but its DB variable wins: this decision stays out
    stale = {"sessions": [], "decisions": [decision("dec_0000000000ff", "pilot-9", "allow", T0)]}
    env = {"CAVRA_ACTIVITY_DB": orig, "CAVRA_APPROVAL_DB": orig, "CAVRA_REGISTRY_DB": orig,
           "CAVRA_ACTIVITY_STORE": json_store(str(d / "activity.json"), stale),
           "CAVRA_EVIDENCE_METADATA_STORE": json_store(str(d / "evidence.json"),
                                                       JSON_DOCS["evidence_metadata"]),
           "CAVRA_INVENTORY_STORE": json_store(str(d / "inv.json"), JSON_DOCS["inventory"]),
           "CAVRA_INTEGRATION_STORE": json_store(str(d / "int.json"),
                                                 JSON_DOCS["integrations"])}
    code, out, err = cavra("ops", "import", "--from-env", "--format", "json", db=db, env=env,
                           cwd=str(tmp_path))
    assert code == 0, err + out
    res = {r["store"]: r for r in json.loads(out)}
    assert res["activity"]["path"] == orig and res["registry"]["path"] == orig
    assert res["inventory"]["path"].endswith("inv.json")
    assert res["activity"]["tables"]["decisions"] == {"read": 2, "created": 2, "updated": 0,
                                                      "unchanged": 0}
    assert counts(db) == EXPECTED
    assert sql(db, "SELECT count(*) FROM activity_decisions "
                   "WHERE decision_id = 'dec_0000000000ff'") == [["0"]]
    # counters come from the decisions, not the payload's stale 7
    assert sql(db, "SELECT decision_count, blocked_count, approval_required_count "
                   "FROM activity_sessions WHERE session_id = 'pilot-1'") == [["2", "1", "1"]]
    before = {t: sql(db, f"SELECT * FROM {t} ORDER BY 1") for t in EXPECTED}
    code, out, err = cavra("ops", "import", "--from-env", db=db, env=env, cwd=str(tmp_path))
    assert code == 0, err
    assert " created, 1 updated" not in out and out.count("0 created, 0 updated") == 9, out
    assert {t: sql(db, f"SELECT * FROM {t} ORDER BY 1") for t in EXPECTED} == before


def test_sqlite_store_lands_like_its_json(migrated, tmp_path):
    """One store from an original SQLite file and the same records as JSON give the same rows."""
    db = migrated
    orig = original_sqlite(str(tmp_path / "orig.db"))
    code, out, err = cavra("ops", "import", "--sqlite", orig, "--store", "registry", db=db)
    assert code == 0, err
    assert sql(db, "SELECT agent_id FROM registry_agents") == [["codex"]]
    assert sql(db, "SELECT server_id FROM registry_mcp_servers") == [["github-mcp"]]
    code, out, err = cavra("ops", "import", "--json",
                           json_store(str(tmp_path / "r.json"), JSON_DOCS["registry"]),
                           "--store", "registry", db=db)
    assert code == 0 and "0 created, 0 updated, 1 unchanged" in out, out + err
    # a file without the store's tables is an error, not an empty import
    empty = str(tmp_path / "empty.db")
    sqlite3.connect(empty).close()
    code, out, err = cavra("ops", "import", "--sqlite", empty, "--store", "activity", db=db)
    assert code == 1 and "no activity table" in out, out + err


def test_sqlite_payloads_that_would_change_import_nothing(migrated, tmp_path):
    """A payload that is not JSON, or holds a number json-c would clamp, is named by its
    position and its fault; nothing from the file is written."""
    db = migrated
    orig = original_sqlite(str(tmp_path / "orig.db"))
    con = sqlite3.connect(orig)
    con.execute("UPDATE registry_agents SET payload = replace(payload, '\"agent_id\"', "
                "'\"n\": 1e30, \"agent_id\"')")
    con.execute("UPDATE registry_mcp_servers SET payload = '{bad'")
    con.commit()
    con.close()
    code, out, err = cavra("ops", "import", "--sqlite", orig, "--store", "registry", db=db)
    assert code == 1 and "2 invalid records; nothing was imported" in out, out + err
    assert ("agents[0]: the payload field 'n' is a number beyond the 64-bit integer range"
            in out), out
    assert "mcp_servers[0]: the payload is not valid JSON: " in out, out
    assert sql(db, "SELECT count(*) FROM registry_agents") == [["0"]]
    assert sql(db, "SELECT count(*) FROM registry_mcp_servers") == [["0"]]


# ---- the original's backups ----

def backup_v1(tmp_path):
    """A backup as the original's `ops backup --include-missing` wrote it: activity, approvals
    and registry in its SQLite database, evidence, inventory and integrations as JSON files, and
    a store that did not exist as a placeholder."""
    src = tmp_path / "src"
    src.mkdir()
    orig = original_sqlite(str(src / "activity.db"), stores=("activity", "approvals",
                                                            "registry"))
    d = tmp_path / "backup"
    (d / "stores").mkdir(parents=True)
    stores = []
    for name, kind in [("activity", "sqlite"), ("approvals", "sqlite"), ("registry", "sqlite"),
                       ("evidence_metadata", "json"), ("inventory", "json"),
                       ("integrations", "missing")]:
        rel = f"stores/{name}.{'db' if kind == 'sqlite' else 'json'}"
        if kind == "sqlite":
            shutil.copyfile(orig, d / rel)
            source, by = orig, "CAVRA_" + {"activity": "ACTIVITY", "approvals": "APPROVAL",
                                           "registry": "REGISTRY"}[name] + "_DB"
        elif kind == "json":
            json_store(str(d / rel), JSON_DOCS[name])
            source, by = f".cavra/api/{name}.json", "default"
        else:
            (d / rel).write_text("{}\n")
            source, by = ".cavra/api/integrations.json", "default"
        data = (d / rel).read_bytes()
        stores.append({"name": name, "kind": "json" if kind == "missing" else kind,
                       "source_path": source, "configured_by": by, "exists": kind != "missing",
                       "backup_path": rel, "size_bytes": len(data),
                       "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {"schema_version": "cavra.persistent_api.backup.v1", "product": "CAVRA",
                "created_at": T0, "stores": stores}
    (d / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return d


def flip_byte(d):
    p = d / "stores" / "inventory.json"
    b = bytearray(p.read_bytes())
    b[10] ^= 0x20
    p.write_bytes(bytes(b))


def grow(d):
    with open(d / "stores" / "activity.db", "ab") as f:
        f.write(b"\0")


@pytest.mark.parametrize("name,mutilate,wants", [
    ("flipped byte", flip_byte, ["sha256: stores/inventory.json"]),
    ("missing file", lambda d: os.remove(d / "stores" / "approvals.db"),
     ["missing: stores/approvals.db"]),
    ("wrong size", grow, ["size: stores/activity.db"]),
    ("extra file", lambda d: (d / "stores" / "notes.txt").write_text("x"),
     ["unlisted: stores/notes.txt"]),
    ("placeholder replaced", lambda d: (d / "stores" / "integrations.json").write_text("{\"a\"}"),
     ["size: stores/integrations.json"]),
    ("every problem at once", lambda d: (flip_byte(d), grow(d),
                                         os.remove(d / "stores" / "approvals.db")),
     ["sha256: stores/inventory.json", "size: stores/activity.db",
      "missing: stores/approvals.db"]),
])
def test_verify_v1_backup(tmp_path, name, mutilate, wants):
    d = backup_v1(tmp_path)
    code, out, err = cavra("ops", "verify", str(d))
    assert code == 0, out + err
    assert "6 files" in out, out
    code, out, err = cavra("ops", "verify", str(d / "manifest.json"), "--json")
    assert code == 0 and json.loads(out)["ok"] is True, out + err
    mutilate(d)
    code, out, err = cavra("ops", "verify", str(d))
    assert code == 1, (name, out, err)
    n = len(wants)
    assert f": {n} problem{'' if n == 1 else 's'}\n" in out, (name, out)
    for w in wants:
        assert w in out, (name, out)


def test_import_backup_v1(migrated, tmp_path):
    db = migrated
    d = backup_v1(tmp_path)
    code, out, err = cavra("ops", "import", "--backup", str(d), db=db)
    assert code == 0, out + err
    assert "integrations: did not exist when backed up, skipped" in out, out
    want = dict(EXPECTED, integrations=0)
    assert counts(db) == want
    code, out, err = cavra("ops", "import", "--backup", str(d / "manifest.json"), db=db)
    assert code == 0 and " created, 1 updated" not in out and "1 created" not in out, out
    assert counts(db) == want


def test_import_backup_v1_verifies_first(migrated, tmp_path):
    db = migrated
    d = backup_v1(tmp_path)
    flip_byte(d)
    os.remove(d / "stores" / "approvals.db")
    code, out, err = cavra("ops", "import", "--backup", str(d), db=db)
    assert code == 1, out + err
    assert "failed verification (2 problems); nothing was imported" in err, err
    assert "sha256: stores/inventory.json" in err and "missing: stores/approvals.db" in err
    assert all(n == 0 for n in counts(db).values())


def test_restore_of_v1_backup_points_to_import(tmp_path):
    d = backup_v1(tmp_path)
    code, out, err = cavra("ops", "restore", str(d), "--target-dir", str(tmp_path / "t"))
    assert code == 2, out + err
    assert "cavra ops import --backup" in err, err
