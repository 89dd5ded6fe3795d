"""`cavra ops import`: the original CAVRA's JSON store files, written in its shapes, land in
either backend, keep session summaries right, are idempotent, and bad files import nothing."""
import json
import os

import pytest

from conftest import cavra, serve, sql
from test_tokens import bearer, make_token

T0 = "2025-05-01T12:00:00.123456+00:00"

ACTIVITY = {
    "decisions": [
        {"schema_version": "cavra.decision.v1", "decision_id": "dec_00000000000a",
         "session_id": "pilot-1", "agent_id": "codex", "actor": "ai-agent",
         "repository": "acme/payments", "action_type": "execute_command",
         "target": "terraform apply", "requested_operation": "",
         "policy_pack": "cavra-ai-agent-baseline", "policy_id": "cavra-ai-agent-baseline",
         "rule_id": "commands.block", "decision": "block", "severity": "critical",
         "reason": "blocked", "evidence_refs": ["evidence://pilot-1/dec_00000000000a"],
         "approver_group": None, "timestamp": T0, "correlation_id": "corr_00000000000a"},
        {"schema_version": "cavra.decision.v1", "decision_id": "dec_00000000000b",
         "session_id": "pilot-1", "agent_id": "codex", "actor": "ai-agent",
         "repository": "acme/payments", "action_type": "write_file", "target": "iam/x.tf",
         "requested_operation": "", "policy_pack": "cavra-ai-agent-baseline",
         "policy_id": "cavra-ai-agent-baseline",
         "rule_id": "filesystem.write.require_approval", "decision": "require_approval",
         "severity": "high", "reason": "needs approval", "evidence_refs": [],
         "approver_group": "Platform Security", "timestamp": "2025-05-01T12:05:00+00:00",
         "correlation_id": "corr_00000000000b"},
        {"schema_version": "cavra.decision.v1", "decision_id": "dec_00000000000c",
         "session_id": "pilot-2", "agent_id": "claude", "actor": "ai-agent",
         "repository": "acme/web", "action_type": "read_file", "target": "README.md",
         "requested_operation": "", "policy_pack": "cavra-ai-agent-baseline",
         "policy_id": "cavra-ai-agent-baseline", "rule_id": "filesystem.read.allow",
         "decision": "allow", "severity": "low", "reason": None, "evidence_refs": [],
         "approver_group": None, "timestamp": "2025-05-02T08:00:00+00:00",
         "correlation_id": "corr_00000000000c"},
    ],
    "sessions": [
        # counts in the file are stale: the decisions are the truth
        {"schema_version": "cavra.session.v1", "session_id": "pilot-1", "agent_id": "codex",
         "actor": "ai-agent", "repository": "acme/payments",
         "policy_pack": "cavra-ai-agent-baseline", "state": "completed", "started_at": T0,
         "updated_at": "2025-05-01T12:05:00+00:00", "decision_count": 9, "blocked_count": 0,
         "approval_required_count": 0, "evidence_refs": []},
        # no decisions of its own: its counts stand
        {"schema_version": "cavra.session.v1", "session_id": "pilot-3", "agent_id": "old",
         "actor": "ai-agent", "repository": "acme/legacy", "policy_pack": "cavra-ai-agent-baseline",
         "status": "archived", "started_at": T0, "updated_at": T0, "decision_count": 4,
         "blocked_count": 1, "approval_required_count": 2, "evidence_refs": []},
    ],
}

EVIDENCE = {"items": [
    {"schema_version": "cavra.evidence.metadata.v1", "product": "CAVRA", "session_id": "pilot-1",
     "bundle_dir": ".cavra/evidence/pilot-1", "created_at": T0, "decision_count": 2,
     "blocked_count": 1, "approval_required_count": 1,
     "manifest_signature": {"algorithm": "SHA256", "value": "ab"}, "signer": "local",
     "retention": {}, "approval_outcomes": [], "approved_count": 0, "denied_count": 0,
     "break_glass_count": 0}]}

APPROVALS = {"items": [
    {"schema_version": "cavra.approval.v1", "product": "CAVRA", "approval_id": "apr_0123456789ab",
     "decision_id": "dec_00000000000b", "session_id": "pilot-1",
     "correlation_id": "corr_00000000000b", "state": "approved",
     "approver_group": "Platform Security", "requested_by": "ai-agent", "requested_at": T0,
     "expires_at": "2025-05-02T12:00:00+00:00", "decision": {"decision_id": "dec_00000000000b"},
     "decided_by": "sam", "decided_at": "2025-05-01T13:00:00+00:00", "decision_reason": "ok",
     "history": [{"event": "requested", "actor": "ai-agent", "timestamp": T0, "reason": None},
                 {"event": "approved", "actor": "sam", "timestamp": "2025-05-01T13:00:00+00:00",
                  "reason": "ok", "external_ref": None}],
     "evidence_refs": ["approval://apr_0123456789ab"]}]}

REGISTRY = {
    "agents": [{"schema_version": "cavra.agent.v1", "agent_id": "codex", "type": "coding-agent",
                "vendor": "openai", "version": "1", "capabilities": [], "scopes": [],
                "allowed_repositories": ["acme/payments"], "allowed_tools": [],
                "risk_tier": "medium", "owner": "unassigned", "status": "active",
                "last_seen": T0, "created_at": T0, "updated_at": T0, "evidence_refs": []}],
    "mcp_servers": [{"schema_version": "cavra.mcp_server.v1", "server_id": "github-mcp",
                     "name": "github-mcp", "trust_tier": "approved",
                     "capabilities": ["repository"], "owner": "unassigned",
                     "approval_state": "not_required", "allowed_tools": ["create_pull_request"],
                     "last_seen": T0, "created_at": T0, "updated_at": T0,
                     "evidence_refs": []}],
}

INVENTORY = {
    "repositories": [{"schema_version": "cavra.repository.v1", "repository_id": "acme/payments",
                      "repository": "acme/payments", "provider": "github",
                      "default_branch": "main", "owner": "unassigned",
                      "business_unit": "engineering", "environment": "development",
                      "policy_pack": "cavra-ai-agent-baseline", "risk_tier": "medium",
                      "status": "active", "protected_branches": ["main"],
                      "required_checks": [], "created_at": T0, "updated_at": T0,
                      "evidence_refs": []}],
    "policy_rollouts": [{"schema_version": "cavra.policy_rollout.v1",
                         "rollout_id": "acme/payments:cavra-ai-agent-baseline",
                         "repository": "acme/payments", "policy_pack": "cavra-ai-agent-baseline",
                         "policy_version": "latest", "mode": "enforce", "state": "planned",
                         "owner": "platform-security", "coverage_percent": 0,
                         "last_evaluated_at": None, "created_at": T0, "updated_at": T0,
                         "evidence_refs": []}],
}

INTEGRATIONS = {"integrations": [
    {"schema_version": "cavra.integration.v1", "integration_id": "splunk-prod", "name": "splunk",
     "provider": "splunk", "category": "siem", "status": "configured",
     "health_status": "not_checked", "owner": "platform-security", "environment": "prod",
     "auth_mode": "not_configured", "endpoint_ref": None, "capabilities": [],
     "repositories": [], "last_checked_at": None, "created_at": T0, "updated_at": T0,
     "evidence_refs": []}]}

FILES = {"activity": ("activity.json", ACTIVITY, "CAVRA_ACTIVITY_STORE"),
         "evidence_metadata": ("evidence-metadata.json", EVIDENCE,
                               "CAVRA_EVIDENCE_METADATA_STORE"),
         "approvals": ("approvals.json", APPROVALS, "CAVRA_APPROVAL_STORE"),
         "registry": ("registry.json", REGISTRY, "CAVRA_REGISTRY_STORE"),
         "inventory": ("inventory.json", INVENTORY, "CAVRA_INVENTORY_STORE"),
         "integrations": ("integrations.json", INTEGRATIONS, "CAVRA_INTEGRATION_STORE")}

TABLES = ["evidence_metadata", "approvals", "registry_agents", "registry_mcp_servers",
          "activity_sessions", "activity_decisions", "inventory_repositories",
          "inventory_policy_rollouts", "integrations"]


def write_files(d):
    os.makedirs(d, exist_ok=True)
    for name, (file, data, _) in FILES.items():
        with open(os.path.join(d, file), "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)


def dump(db):
    """Every row of every store table, as text, for before/after comparisons."""
    out = {}
    for t in TABLES:
        key = sql(db, f"SELECT * FROM {t} ORDER BY 1")
        out[t] = key
    return out


def import_json(db, *args, env=None, cwd=None):
    code, out, err = cavra("ops", "import", *args, "--format", "json", db=db, env=env, cwd=cwd)
    return code, (json.loads(out) if out.strip() else None), err


@pytest.fixture
def migrated(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    return db


def test_every_store_lands_and_twice_changes_nothing(migrated, tmp_path):
    db = migrated
    d = str(tmp_path / "api")
    write_files(d)
    for store, (file, data, _) in FILES.items():
        code, res, err = import_json(db, "--json", os.path.join(d, file), "--store", store)
        assert code == 0, err
        (r,) = res
        assert r["ok"] and r["store"] == store and r["problems"] == []
        for table, counts in r["tables"].items():
            assert counts["read"] == len(data[table if store in ("activity", "registry",
                                                               "inventory", "integrations")
                                             else "items"])
            assert counts["created"] == counts["read"], r
    first = dump(db)
    code, out, err = cavra("ops", "import", "--from-env", db=db,
                           env={e: os.path.join(d, f) for f, _, e in FILES.values()})
    assert code == 0, err
    assert "0 created, 0 updated" in out and " created, 1 updated" not in out, out
    assert dump(db) == first

    with serve(db, tmp=tmp_path) as s:
        sess = s.get("/sessions/pilot-1").json()
        assert (sess["decision_count"], sess["blocked_count"],
                sess["approval_required_count"], sess["state"]) == (2, 1, 1, "completed")
        s2 = s.get("/sessions/pilot-2").json()  # made from its decision
        assert (s2["decision_count"], s2["agent_id"]) == (1, "claude")
        s3 = s.get("/sessions/pilot-3").json()
        assert (s3["decision_count"], s3["approval_required_count"], s3["state"]) == (
            4, 2, "archived")
        ds = s.get("/sessions/pilot-1/decisions").json()["items"]
        assert [x["decision_id"] for x in ds] == ["dec_00000000000a", "dec_00000000000b"]
        assert ds[0]["target"] == "terraform apply" and ds[0]["timestamp"].endswith("Z")
        assert s.get("/decisions?decision=block").json()["total"] == 1
        ev = s.get("/evidence?has_approvals=true&min_blocked=1").json()["items"]
        assert [e["session_id"] for e in ev] == ["pilot-1"]
        a = s.get("/approvals/apr_0123456789ab").json()
        assert a["state"] == "approved" and [h["event"] for h in a["history"]] == [
            "requested", "approved"]
        assert a["created_at"].startswith("2025-05-01T12:00:00")
        assert s.get("/agents/codex").json()["vendor"] == "openai"
        t = s.get("/mcp/trust?server=github-mcp&tool=create_pull_request").json()
        assert t["decision"] == "allow", t
        assert s.get("/repositories/acme/payments").json()["status"] == "active"
        assert s.get("/policy-rollouts/acme/payments:cavra-ai-agent-baseline").status_code == 200
        assert s.get("/integrations/splunk-prod").json()["health_status"] == "not_checked"


def test_from_env_defaults_and_skips_missing(migrated, tmp_path):
    write_files(str(tmp_path / ".cavra" / "api"))
    os.unlink(str(tmp_path / ".cavra" / "api" / "approvals.json"))
    code, out, err = cavra("ops", "import", "--from-env", db=migrated, cwd=str(tmp_path))
    assert code == 0, err
    assert "approvals (.cavra/api/approvals.json): not found, skipped" in out
    assert sql(migrated, "SELECT count(*) FROM activity_decisions") == [["3"]]
    # the text report chains what it imported as --format json does
    # three decisions, three sessions (the file's two, one made from its decisions), one
    # session's evidence, and an agent, an MCP server, a repository, a policy rollout and an
    # integration
    assert "audit chain: chained 12 imported records" in err, err
    code, out, err = cavra("audit", "verify", db=migrated)
    assert code == 0, out + err
    # a variable that names a missing file is an error, not a skip
    code, out, err = cavra("ops", "import", "--from-env", db=migrated, cwd=str(tmp_path),
                           env={"CAVRA_APPROVAL_STORE": str(tmp_path / "nope.json")})
    assert code == 1 and "nope.json" in out


def test_bad_record_imports_nothing_and_names_its_position(migrated, tmp_path):
    bad = json.loads(json.dumps(REGISTRY))
    bad["agents"].append({"agent_id": "x", "status": "sleeping"})
    bad["mcp_servers"][0]["capabilities"] = "repository"
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(bad))
    code, res, err = import_json(migrated, "--json", str(path), "--store", "registry")
    assert code == 1
    (r,) = res
    assert not r["ok"] and "nothing was imported" in r["error"]
    assert any(p.startswith("agents[1]: field 'status'") and "active, disabled, retired" in p
               for p in r["problems"]), r["problems"]
    assert any(p.startswith("mcp_servers[0]: field 'capabilities'") for p in r["problems"])
    assert sql(migrated, "SELECT count(*) FROM registry_agents") == [["0"]]
    # a number where a record belongs is named as such (it was reported as "agents[0]: 1.5":
    # json-c's text of a parsed number read as a fault)
    path.write_text(json.dumps({"agents": [1.5, 7], "mcp_servers": []}).replace("7", "1e2"))
    code, res, err = import_json(migrated, "--json", str(path), "--store", "registry")
    assert code == 1
    assert res[0]["problems"] == ["agents[0]: the record must be a JSON object",
                                  "agents[1]: the record must be a JSON object"], res
    roll = json.loads(json.dumps(INVENTORY))
    roll["policy_rollouts"][0]["coverage_percent"] = 140
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(roll))
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "inventory",
                           db=migrated)
    assert code == 1 and "policy_rollouts[0]: field 'coverage_percent'" in out
    assert sql(migrated, "SELECT count(*) FROM inventory_repositories") == [["0"]]
    # a decision as POST /decisions would refuse it: a session id with '/' (no URL reaches
    # it), a target over 8192 bytes
    act = json.loads(json.dumps(ACTIVITY))
    act["decisions"][0]["session_id"] = "team/ses-1"
    act["decisions"][1]["target"] = "A" * 20000
    path = tmp_path / "activity.json"
    path.write_text(json.dumps(act))
    code, res, err = import_json(migrated, "--json", str(path), "--store", "activity")
    assert code == 1, res
    probs = res[0]["problems"]
    assert any(p.startswith("decisions[0]: field 'session_id' must not contain '/'")
               for p in probs), probs
    assert any(p.startswith("decisions[1]: field 'target' is longer than 8192 bytes")
               for p in probs), probs
    assert sql(migrated, "SELECT count(*) FROM activity_decisions") == [["0"]]


def test_records_dated_in_the_future_import_nothing(migrated, tmp_path):
    """A decision or session dated after tomorrow would top every newest-first list for
    good (9999-12-31 stays first forever): it is refused like any bad record, naming its
    place; a clock a few hours ahead is not."""
    import datetime
    soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=3))
    act = json.loads(json.dumps(ACTIVITY))
    act["decisions"][0]["timestamp"] = "9999-12-31T23:59:59+00:00"
    act["sessions"][0]["started_at"] = "2999-01-01T00:00:00Z"
    act["decisions"][2]["timestamp"] = soon.isoformat()
    path = tmp_path / "activity.json"
    path.write_text(json.dumps(act))
    code, res, err = import_json(migrated, "--json", str(path), "--store", "activity")
    assert code == 1, res
    assert sorted(res[0]["problems"]) == [
        "decisions[0]: field 'timestamp' is more than a day in the future "
        "(9999-12-31T23:59:59.000000Z): fix the clock that wrote it, or the record",
        "sessions[0]: field 'started_at' is more than a day in the future "
        "(2999-01-01T00:00:00.000000Z): fix the clock that wrote it, or the record"], res
    assert sql(migrated, "SELECT count(*) FROM activity_decisions") == [["0"]]
    act["decisions"][0]["timestamp"] = T0
    act["sessions"][0]["started_at"] = T0
    path.write_text(json.dumps(act))
    code, res, err = import_json(migrated, "--json", str(path), "--store", "activity")
    assert code == 0, res
    # every time a record happened at, an approval's creation (the original's requested_at)
    # and decision included; its expiry may lie ahead
    for field in ("requested_at", "decided_at"):
        apr = json.loads(json.dumps(APPROVALS))
        apr["items"][0][field] = "9999-12-31T00:00:00Z"
        apr["items"][0]["expires_at"] = "2999-01-01T00:00:00Z"
        path = tmp_path / "approvals.json"
        path.write_text(json.dumps(apr))
        code, res, err = import_json(migrated, "--json", str(path), "--store", "approvals")
        want = "created_at" if field == "requested_at" else field
        assert code == 1 and res[0]["problems"][0].startswith(
            f"items[0]: field '{want}' is more than a day in the future"), res
    assert sql(migrated, "SELECT count(*) FROM approvals") == [["0"]]


def test_a_recorded_by_in_a_file_is_not_imported(migrated, tmp_path):
    """Who wrote a record, and who changed it since, are the server's word, and they decide who
    may change a session or evidence and whose approvals an agent reads: a file names neither,
    not even inside an approval's copy of its decision.  Imported records have none, so the
    agent a file names does not read the imported approval."""
    who = {"kind": "api_token", "token": "imp-agent-b"}
    act = json.loads(json.dumps(ACTIVITY))
    act["decisions"][0]["recorded_by"] = who
    ev = json.loads(json.dumps(EVIDENCE))
    ev["items"][0].update(recorded_by=who, changed_by={"kind": "api_token", "token": "admin"})
    apr = json.loads(json.dumps(APPROVALS))
    apr["items"][0].update(recorded_by=who, changed_by=who)
    apr["items"][0]["decision"]["recorded_by"] = who
    for name, store, data in (("activity.json", "activity", act),
                              ("evidence.json", "evidence_metadata", ev),
                              ("approvals.json", "approvals", apr)):
        path = tmp_path / name
        path.write_text(json.dumps(data))
        code, res, err = import_json(migrated, "--json", str(path), "--store", store)
        assert code == 0, res
    for table in ("activity_decisions", "evidence_metadata", "approvals"):
        rows = sql(migrated, f"SELECT payload FROM {table}")
        assert rows and all("recorded_by" not in row[0] and "changed_by" not in row[0]
                            for row in rows), (table, rows)
    agent = make_token(migrated, "imp-agent-b", "agent")
    with serve(migrated, tmp=tmp_path) as s:
        r = s.get("/approvals", headers=bearer(agent))
        assert r.status_code == 200 and r.json()["items"] == [], r.text
        assert s.get("/approvals/apr_0123456789ab", headers=bearer(agent)).status_code == 404


def test_an_import_over_an_agents_evidence_leaves_it_to_its_session(migrated, tmp_path):
    """An import over evidence an agent wrote through the API replaces the record whole, its
    writer too: the content is the file's, not the agent's.  The session the agent's first
    write started stays the agent's, so the agent, the session's owner, replaces the record
    again; another agent is refused, and a caller with evidence.replace changes it without
    taking it over."""
    agent = make_token(migrated, "imp-agent", "agent")
    other = make_token(migrated, "imp-agent-2", "agent")
    admin = make_token(migrated, "imp-admin", "admin")
    mine = {"session_id": "pilot-1", "signer": "harness", "blocked_count": 5}
    with serve(migrated, tmp=tmp_path) as s:
        r = s.post("/evidence", mine, headers=bearer(agent))
        assert r.status_code == 201 and r.json()["recorded_by"]["token"] == "imp-agent", r.text
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(EVIDENCE))
    code, res, err = import_json(migrated, "--json", str(path), "--store", "evidence_metadata")
    assert code == 0, (res, err)
    with serve(migrated, tmp=tmp_path) as s:
        got = s.get("/evidence/pilot-1").json()
        assert (got["blocked_count"], got.get("recorded_by")) == (1, None), got
        r = s.post("/evidence", dict(mine, blocked_count=6), headers=bearer(other))
        assert r.status_code == 403, r.text
        r = s.post("/evidence", dict(mine, blocked_count=7), headers=bearer(admin))
        assert r.status_code == 200 and r.json()["recorded_by"]["token"] == "imp-admin", r.text
        r = s.post("/evidence", dict(mine, blocked_count=8), headers=bearer(agent))
        assert r.status_code == 200 and r.json()["recorded_by"]["token"] == "imp-agent", r.text
        r = s.post("/evidence", dict(mine, blocked_count=9), headers=bearer(admin))
        got = r.json()
        assert (got["recorded_by"]["token"], got["changed_by"]["token"]) == (
            "imp-agent", "imp-admin"), got


def test_truncated_and_wrong_files(migrated, tmp_path):
    text = json.dumps(ACTIVITY)
    path = tmp_path / "activity.json"
    path.write_text(text[: len(text) // 2])
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "activity",
                           db=migrated)
    assert code == 1 and "not valid JSON" in out and "activity.json" in out
    assert sql(migrated, "SELECT count(*) FROM activity_decisions") == [["0"]]
    # a key twice: another reader of the file could take the other value
    path.write_text(text[:-1] + ', "sessions": []}')
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "activity",
                           db=migrated)
    assert code == 1 and "has a key twice in one object (the object at byte 0)" in out, out
    assert sql(migrated, "SELECT count(*) FROM activity_decisions") == [["0"]]
    path.write_text(json.dumps(REGISTRY))
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "activity",
                           db=migrated)
    assert code == 1 and "not the activity store: it has no 'sessions' or 'decisions'" in out, out
    path.write_text('{"sessions": {}}')
    code, out, _ = cavra("ops", "import", "--json", str(path), "--store", "activity",
                         db=migrated)
    assert code == 1 and "must be a list" in out
    code, _, err = cavra("ops", "import", "--json", str(path), "--store", "nonsense", db=migrated)
    assert code == 2 and "unknown store" in err
    code, _, err = cavra("ops", "import", "--json", str(path), db=migrated)
    assert code == 2
    # two sources, or one option twice: a script's mistake, not the last one quietly
    for argv in (["--sqlite", str(path), "--json", str(path), "--store", "activity"],
                 ["--json", str(path), "--json", str(path), "--store", "activity"],
                 ["--json", str(path), "--store", "activity", "--store", "approvals"]):
        code, out, err = cavra("ops", "import", *argv, db=migrated)
        assert code == 2 and len(err.strip().splitlines()) == 1, out + err
    code, out, err = cavra("ops", "import", "--json", str(tmp_path / "missing.json"),
                           "--store", "activity", db=migrated)
    assert code == 1 and "missing.json" in out
    for bad in (b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"):
        path.write_bytes(json.dumps(ACTIVITY).encode()[:-1]
                         + b', "note": "' + bad + b'"}')
        code, out, err = cavra("ops", "import", "--json", str(path), "--store", "activity",
                               db=migrated)
        assert code == 1 and "not valid UTF-8 at byte" in out, out + err
    assert sql(migrated, "SELECT count(*) FROM activity_sessions") == [["0"]]


def test_an_oversized_record_of_an_original_sqlite_file_is_refused(migrated, tmp_path):
    """A few KiB of file can hold records of any size (a generated column): each is held to
    16 MiB, far above any the original wrote, and reported by its position."""
    import sqlite3
    path = tmp_path / "gen.db"
    con = sqlite3.connect(str(path))
    con.execute("CREATE TABLE registry_agents (k INTEGER PRIMARY KEY, agent_id TEXT, payload "
                "TEXT GENERATED ALWAYS AS ('{\"agent_id\":\"a' || k || '\",\"note\":\"' || "
                "printf('%.*c', 17000000, 'x') || '\"}') VIRTUAL)")
    con.execute("INSERT INTO registry_agents (k) VALUES (1)")
    con.commit()
    con.close()
    assert path.stat().st_size < 65536
    code, out, err = cavra("ops", "import", "--sqlite", str(path), "--store", "registry",
                           db=migrated)
    assert code == 1 and "agents[0]: the payload is over 16777216 bytes" in out, out + err
    assert sql(migrated, "SELECT count(*) FROM registry_agents") == [["0"]]


def test_numbers_json_c_would_clamp_import_nothing(migrated, tmp_path):
    """A number beyond 64 bits would be stored as 2^64 - 1 without a word: the file is
    refused, naming the field, and nothing is written."""
    path = tmp_path / "registry.json"
    for number, why in (("123456789012345678901234567890", "beyond the 64-bit integer range"),
                        ("1e30", "beyond the 64-bit integer range"),
                        ("1e-320", "closer to zero than 1e-300")):
        text = json.dumps(REGISTRY).replace('"agent_id"', '"note": %s, "agent_id"' % number, 1)
        path.write_text(text)
        code, out, err = cavra("ops", "import", "--json", str(path), "--store", "registry",
                               db=migrated)
        assert code == 1, out + err
        assert "registry.json': field 'note' is a number " + why in out, out
        assert "make it a string" in out, out
    assert sql(migrated, "SELECT count(*) FROM registry_agents") == [["0"]]
    # the limits themselves come back as written
    text = json.dumps(REGISTRY).replace('"agent_id"', '"note": 18446744073709551615, "agent_id"', 1)
    path.write_text(text)
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "registry",
                           db=migrated)
    assert code == 0, out + err
    (row,) = sql(migrated, "SELECT payload FROM registry_agents")
    assert '"note":18446744073709551615' in row[0].replace(" ", ""), row


def test_changed_decision_is_refused(migrated, tmp_path):
    path = tmp_path / "activity.json"
    path.write_text(json.dumps(ACTIVITY))
    assert cavra("ops", "import", "--json", str(path), "--store", "activity",
                 db=migrated)[0] == 0
    changed = json.loads(json.dumps(ACTIVITY))
    changed["decisions"][0]["decision"] = "allow"
    path.write_text(json.dumps(changed))
    code, out, _ = cavra("ops", "import", "--json", str(path), "--store", "activity", db=migrated)
    assert code == 1 and "dec_00000000000a" in out and "never change" in out
    assert sql(migrated, "SELECT decision FROM activity_decisions WHERE decision_id = "
                         "'dec_00000000000a'") == [["block"]]


def pending_of(approvals):
    """The original's earlier export of the same approval: requested, not decided yet."""
    p = json.loads(json.dumps(approvals))
    rec = p["items"][0]
    rec["state"] = "pending"
    for k in ("decided_by", "decided_at", "decision_reason"):
        rec.pop(k)
    rec["history"] = rec["history"][:1]
    return p


def test_an_approval_decided_by_a_later_import_is_chained_again(migrated, tmp_path):
    """An import may decide an approval stored pending (the original's later export), and the
    new state is chained as a change through the API is; any other change to a stored approval
    (decided again, its decider rewritten, moved back to pending) refuses the file."""
    path = tmp_path / "approvals.json"

    def run(doc, expect=0):
        path.write_text(json.dumps(doc))
        code, out, err = cavra("ops", "import", "--json", str(path), "--store", "approvals",
                               "--format", "json", db=migrated)
        assert code == expect, out + err
        return out, err

    def entries():
        return int(sql(migrated, "SELECT count(*) FROM audit_chain WHERE record_id = "
                                 "'apr_0123456789ab'")[0][0])

    run(pending_of(APPROVALS))
    assert cavra("audit", "verify", db=migrated)[0] == 0 and entries() == 1
    out, _ = run(APPROVALS)
    assert json.loads(out)[0]["tables"]["items"]["updated"] == 1, out
    code, out, err = cavra("audit", "verify", db=migrated)
    assert code == 0 and entries() == 2, out + err
    run(APPROVALS)  # unchanged: nothing chained
    assert entries() == 2
    forged = json.loads(json.dumps(APPROVALS))
    forged["items"][0]["decided_by"] = "mallory"
    for doc in (forged, pending_of(APPROVALS)):
        out, err = run(doc, expect=1)
        assert "an import may only decide a pending approval" in out, out + err
        assert sql(migrated, "SELECT state, decided_by FROM approvals") == [["approved", "sam"]]
        assert cavra("audit", "verify", db=migrated)[0] == 0 and entries() == 2
