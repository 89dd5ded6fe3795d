"""The registry, the inventory and integrations in the audit chain (docs/audit.md, migration
022), on both backends: every write that changes an agent, an MCP server, a repository, a
policy rollout or an integration is chained, a change made in the database is named by
`cavra audit verify`, and such records written before 022 are chained once by the adoption.
API tokens too, from the same migration."""
import json
import urllib.parse

import pytest

from conftest import backend_of, cavra, serve, sql
from test_audit import breaks, flag_refused, verify
from test_evidence_chain import restore_carries, restore_over_newer, withheld_when_read
from test_tokens import bearer, make_token

T0 = "2026-01-01T00:00:00.000000Z"


def entries(db):
    return [tuple(r) for r in sql(db, "SELECT kind, record_id FROM audit_chain WHERE kind IN "
                                      "('agent', 'mcp_server', 'repository', 'rollout', "
                                      "'integration', 'token') ORDER BY seq")]


def last_seq(db, kind, rid):
    return sql(db, f"SELECT max(seq) FROM audit_chain WHERE kind = '{kind}' AND "
                   f"record_id = '{rid}'")[0][0]


def insert_agent(db, aid):
    """An agent row written behind cavra's back (or by a binary before 022)."""
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    payload = json.dumps({"schema_version": "cavra.agent.v1", "agent_id": aid,
                          "status": "active"})
    sql(db, "INSERT INTO registry_agents (agent_id, status, owner, created_at, updated_at, "
            f"payload) VALUES ('{aid}', 'active', NULL, '{T0}', '{T0}', '{payload}'{obj})")


def ok(r, code=(200, 201)):
    assert r.status_code in code, r.text
    return r.json()


def mcp_call(srv, server="github-mcp"):
    return ok(srv.post("/decisions", {"session_id": "s-mcp", "agent_id": "a",
                                      "action_type": "mcp_tool_call", "server": server,
                                      "tool": "create_pr"}))


@pytest.fixture
def with_records(db, tmp_path):
    """One record of each kind through the API, some changed, one written again unchanged,
    beside a decision; returns db."""
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        ok(srv.post("/agents", {"agent_id": "agent-1", "owner": "platform"}))
        ok(srv.post("/mcp/servers", {"server_id": "github-mcp", "trust_tier": "blocked"}))
        ok(srv.post("/agents", {"agent_id": "agent-1", "owner": "platform",
                                "status": "disabled"}))
        ok(srv.post("/repositories", {"repository_id": "acme/api", "provider": "github"}))
        ok(srv.post("/integrations", {"integration_id": "siem-1", "provider": "splunk",
                                      "category": "siem"}))
        ok(srv.post("/policy-rollouts", {"repository": "acme/api",
                                         "policy_pack": "cavra-ai-agent-baseline",
                                         "mode": "audit_only", "state": "active"}))
        # the same content again: no entry
        ok(srv.post("/mcp/servers", {"server_id": "github-mcp", "trust_tier": "blocked"}))
        assert mcp_call(srv)["decision"] == "block"
    return db


def test_every_write_that_changes_a_record_is_chained(with_records):
    db = with_records
    assert entries(db) == [("agent", "agent-1"), ("mcp_server", "github-mcp"),
                           ("agent", "agent-1"), ("repository", "acme/api"),
                           ("integration", "siem-1"),
                           ("rollout", "acme/api:cavra-ai-agent-baseline")]
    code, out, err = verify(db)
    assert code == 0, out + err
    assert breaks(out) == [] and "7 entries" in out, out


def test_a_trust_tier_raised_in_the_database_is_named(with_records, tmp_path):
    """The story 022 closes: someone with SQL access trusts a blocked MCP server so that
    agents' calls to it are allowed. The server's row no longer matches its last entry: the
    service blocks calls to it whatever the row says (by id or by name, and so does
    /mcp/trust), verify names it, and a write through the API vouches for it again."""
    db = with_records
    sql(db, "UPDATE registry_mcp_servers SET trust_tier = 'trusted', approval_state = "
            "'approved' WHERE server_id = 'github-mcp'")
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    payload = json.dumps({"schema_version": "cavra.mcp_server.v1", "server_id": "github-mcp",
                          "name": "github-mcp", "trust_tier": "trusted",
                          "approval_state": "approved", "allowed_tools": ["create_pr"]})
    sql(db, f"UPDATE registry_mcp_servers SET payload = '{payload}'{obj} WHERE server_id = "
            "'github-mcp'")
    unvouched = ("block", "mcp.registry.unvouched")
    with serve(db, tmp=tmp_path) as srv:
        d = mcp_call(srv)
        assert (d["decision"], d["rule_id"]) == unvouched, d
        assert "is not what the audit chain last recorded for it" in d["reason"], d
        t = ok(srv.get("/mcp/trust?server=github-mcp&tool=create_pr"), (200,))
        assert (t["decision"], t["rule_id"], t["registered"]) == unvouched + (True,), t
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = breaks(out)
    assert len(lines) == 1, lines
    seq = last_seq(db, "mcp_server", "github-mcp")
    assert lines[0].startswith(f"edited seq={seq} ") and "id=github-mcp " in lines[0], lines
    with serve(db, tmp=tmp_path) as srv:
        ok(srv.post("/mcp/servers", {"server_id": "github-mcp", "name": "GitHub",
                                     "trust_tier": "trusted", "allowed_tools": ["create_pr"]}))
        assert mcp_call(srv)["decision"] == "allow"
        assert mcp_call(srv, "GitHub")["decision"] == "allow"
        sql(db, "UPDATE registry_mcp_servers SET owner = 'mallory' WHERE server_id = "
                "'github-mcp'")
        d = mcp_call(srv, "GitHub")
        assert (d["decision"], d["rule_id"]) == unvouched, d
    assert verify(db)[0] == 1


@pytest.mark.parametrize("case", ["agent_status", "repository_pack", "rollout_mode",
                                  "integration_payload", "delete_agent", "insert_agent"])
def test_record_tampering_is_detected_and_named(with_records, case, tmp_path):
    db = with_records
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    rid = "acme/api:cavra-ai-agent-baseline"
    stmts, (what, kind, name) = {
        "agent_status": (["UPDATE registry_agents SET status = 'active' WHERE agent_id = "
                          "'agent-1'"], ("edited", "agent", "agent-1")),
        "repository_pack": (["UPDATE inventory_repositories SET policy_pack = 'lax' WHERE "
                             "repository_id = 'acme/api'"], ("edited", "repository", "acme/api")),
        "rollout_mode": ([f"UPDATE inventory_policy_rollouts SET mode = 'enforce' WHERE "
                          f"rollout_id = '{rid}'"], ("edited", "rollout", rid)),
        "integration_payload": ([f"UPDATE integrations SET payload = '{{}}'{obj} WHERE "
                                 "integration_id = 'siem-1'"],
                                ("edited", "integration", "siem-1")),
        "delete_agent": (["DELETE FROM registry_agents WHERE agent_id = 'agent-1'"],
                         ("deleted", "agent", "agent-1")),
        "insert_agent": ([], ("inserted", "agent", "agent-forged")),
    }[case]
    for s in stmts:
        sql(db, s)
    if case == "insert_agent":
        insert_agent(db, "agent-forged")
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = breaks(out)
    assert len(lines) == 1, lines
    assert lines[0].startswith(what + " ") and f"id={name} " in lines[0], lines
    if what != "inserted":
        assert f"seq={last_seq(db, kind, name)} " in lines[0], lines
    if what != "deleted":
        path = {"agent": "/agents", "repository": "/repositories",
                "rollout": "/policy-rollouts", "integration": "/integrations"}[kind]
        withheld_when_read(db, tmp_path, path, name)


ROLLOUT = "acme/api:cavra-ai-agent-baseline"


def apply_enforce(db, tmp_path, before_plan=lambda: None):
    """A rollout in audit_only through the API, before_plan(), then a plan and its applied
    change to enforce: the apply's answer."""
    assert cavra("migrate", "up", db=db)[0] == 0
    enc = urllib.parse.quote(ROLLOUT, safe="")
    with serve(db, tmp=tmp_path) as srv:
        ok(srv.post("/policy-rollouts", {"repository": "acme/api",
                                         "policy_pack": "cavra-ai-agent-baseline",
                                         "mode": "audit_only", "state": "active"}))
        before_plan()
        plan = ok(srv.post(f"/policy-rollouts/{enc}/change-plan", {"mode": "enforce"}))
        return srv.post(f"/policy-rollouts/{enc}/apply-change",
                        {"base_version": plan["base_version"], "mode": "enforce",
                         "reason": "ready", "plan_id": plan["plan_id"]})


def test_an_applied_rollout_change_is_chained(db, tmp_path):
    ok(apply_enforce(db, tmp_path))
    rid = ROLLOUT
    assert entries(db) == [("rollout", rid), ("rollout", rid)]
    code, out, err = verify(db)
    assert code == 0, out + err


def test_a_rollout_changed_in_the_database_is_not_shown_planned_or_changed(db, tmp_path):
    """A rollout row changed by SQL: its drill-down and a change plan are 409, and so is an
    applied change (which keeps the rollout's repository, pack and coverage: its entry would
    vouch for the edit), with nothing written."""
    rid = ROLLOUT
    enc = urllib.parse.quote(rid, safe="")
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        ok(srv.post("/policy-rollouts", {"repository": "acme/api",
                                         "policy_pack": "cavra-ai-agent-baseline",
                                         "mode": "audit_only", "state": "active"}))
        plan = ok(srv.post(f"/policy-rollouts/{enc}/change-plan", {"mode": "enforce"}))
        ok(srv.get(f"/policy-rollouts/{enc}/detail"))
        sql(db, f"UPDATE inventory_policy_rollouts SET coverage_percent = 100 WHERE "
                f"rollout_id = '{rid}'")
        # the update trigger moved the version: the apply names the version the edit left
        version = int(sql(db, f"SELECT version FROM inventory_policy_rollouts WHERE "
                              f"rollout_id = '{rid}'")[0][0])
        for r in (srv.get(f"/policy-rollouts/{enc}/detail"),
                  srv.post(f"/policy-rollouts/{enc}/change-plan", {"mode": "enforce"}),
                  srv.post(f"/policy-rollouts/{enc}/apply-change",
                           {"base_version": version, "mode": "enforce", "reason": "ready",
                            "plan_id": plan["plan_id"]})):
            assert r.status_code == 409, r.text
            assert f"policy rollout '{rid}' is not what the audit chain" in r.json()["detail"]
    assert entries(db) == [("rollout", rid)]
    assert sql(db, f"SELECT mode FROM inventory_policy_rollouts WHERE rollout_id = "
                   f"'{rid}'") == [["audit_only"]]


def test_a_repository_changed_in_the_database_is_not_counted_as_registered(db, tmp_path):
    """The drill-down shows a repository record the chain does not vouch for as not registered,
    and says why."""
    rid = ROLLOUT
    enc = urllib.parse.quote(rid, safe="")
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        ok(srv.post("/repositories", {"repository_id": "acme/api", "owner": "team-a"}))
        ok(srv.post("/policy-rollouts", {"repository": "acme/api",
                                         "policy_pack": "cavra-ai-agent-baseline",
                                         "mode": "audit_only", "state": "active"}))
        d = ok(srv.get(f"/policy-rollouts/{enc}/detail"))
        assert d["repository"] and d["repository_note"] is None, d
        sql(db, "UPDATE inventory_repositories SET owner = 'team-b' WHERE repository_id = "
                "'acme/api'")
        d = ok(srv.get(f"/policy-rollouts/{enc}/detail"))
        assert d["repository"] is None, d
        assert d["repository_note"] == ("repository acme/api is not what the audit chain last "
                                        "recorded for it: written or changed in the database "
                                        "(cavra audit verify names it)"), d


def test_an_integration_changed_in_the_database_does_not_count_for_readiness(db, tmp_path):
    """An integration row edited by SQL (a failed one made healthy) is left out of the
    drill-down's integrations, counted in their withheld, and passes no readiness check."""
    rid = ROLLOUT
    enc = urllib.parse.quote(rid, safe="")
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        iid = ok(srv.post("/integrations", {"provider": "github", "category": "source_control",
                                            "status": "active",
                                            "health_status": "failed"}))["integration_id"]
        ok(srv.post("/policy-rollouts", {"repository": "acme/api",
                                         "policy_pack": "cavra-ai-agent-baseline",
                                         "mode": "audit_only", "state": "active"}))

        def detail():
            d = ok(srv.get(f"/policy-rollouts/{enc}/detail"))
            check = {c["name"]: c for c in d["readiness"]["checks"]}
            return d["integrations"], check["source_control_integration"]["passed"]

        i, passed = detail()
        assert i["total"] == 1 and "withheld" not in i and not passed, i
        assert i["by_category"]["source_control"][0]["integration_id"] == iid, i
        obj = "::jsonb" if backend_of(db) == "postgres" else ""
        healthy = json.dumps({"integration_id": iid, "provider": "github",
                              "category": "source_control", "status": "active",
                              "health_status": "healthy"})
        sql(db, f"UPDATE integrations SET health = 'healthy', payload = '{healthy}'{obj} "
                f"WHERE integration_id = '{iid}'")
        i, passed = detail()
        assert i == {"total": 0, "withheld": 1, "by_category": {}} and not passed, i


def test_records_before_022_are_adopted_once_by_migrate_up(db):
    """A chain that already holds decisions and evidence gets the registry's records chained
    after them by the `migrate up` that applies 022; a record inserted later is not."""
    assert cavra("migrate", "up", "--to", "21", db=db)[0] == 0
    insert_agent(db, "old-1")
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    assert "chained 1 records" in out + err, out + err
    assert entries(db) == [("agent", "old-1")]
    assert sql(db, "SELECT adopt_pending, evidence_pending, records_pending FROM "
                   "audit_chain_head") == [["0", "0", "0"]]
    assert verify(db)[0] == 0
    insert_agent(db, "late")
    code, out, _ = cavra("audit", "adopt", db=db)
    assert code == 0 and "chained 0 records" in out, out
    code, out, _ = verify(db)
    assert code == 1 and [l.split(" after=")[0] for l in breaks(out)] == ["inserted id=late"], out


def test_verify_waits_for_the_records_adoption(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    insert_agent(db, "old-1")
    # as 022 leaves a database with records before the adoption that `migrate up` runs next
    sql(db, "UPDATE audit_chain_head SET records_pending = 1")
    code, out, err = verify(db)
    assert code == 1 and "run 'cavra audit adopt' first" in err, out + err
    assert "before migration 022" in err, err
    code, out, err = cavra("audit", "adopt", db=db)
    assert code == 0 and "chained 1 records" in out, out + err
    assert verify(db)[0] == 0


def test_records_pending_set_by_hand_adopts_nothing(with_records, tmp_path):
    """records_pending on a chain that holds entries of those kinds would have the next start
    chain a record inserted behind cavra's back: refused, logged, and reported by verify."""
    db = with_records
    insert_agent(db, "agent-forged")
    head = int(sql(db, "SELECT seq FROM audit_chain_head")[0][0])
    flag_refused(db, tmp_path, "records_pending", head, "adoption of the registry",
                 "agent-forged")


def test_a_backup_from_before_022_restored_over_022_asks_for_adoption(db, tmp_path):
    assert cavra("migrate", "up", "--to", "21", db=db)[0] == 0
    insert_agent(db, "old-1")
    restore_over_newer(db, tmp_path, "records_pending")


def test_a_restored_backup_carries_the_records_entries(with_records, tmp_path):
    restore_carries(with_records, tmp_path, entries)


def test_an_import_chains_the_tables_it_wrote_only(with_records, tmp_path):
    """An import of MCP servers chains what has no entry in the MCP servers' table (the one it
    wrote, docs/audit.md); an agent inserted behind cavra's back before it, in another table,
    stays unchained, and verify names it."""
    db = with_records
    insert_agent(db, "agent-forged")
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"mcp_servers": [{"server_id": "imported-mcp"}]}))
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "registry", db=db)
    assert code == 0 and "audit chain: chained 1 imported records" in err, out + err
    assert entries(db)[-1] == ("mcp_server", "imported-mcp")
    code, out, err = verify(db)
    assert code == 1 and [l.split(" ")[:2] for l in breaks(out)] == \
        [["inserted", "id=agent-forged"]], out


def token_id(db, name):
    return sql(db, f"SELECT token_id FROM api_tokens WHERE name = '{name}'")[0][0]


def test_api_tokens_are_chained_and_a_planted_one_is_named(db, tmp_path):
    """A token's creation and its revocation are chained, its uses are not (last_used_at is
    left out of its entry); a token row inserted by SQL, and a revocation taken back by SQL,
    are named by verify."""
    assert cavra("migrate", "up", db=db)[0] == 0
    ci, ops = make_token(db, "ci", "agent"), make_token(db, "ops", "admin")
    with serve(db, tmp=tmp_path) as srv:
        for t in (ci, ops):
            assert srv.get("/auth/whoami", headers=bearer(t)).status_code == 200
    assert cavra("tokens", "revoke", "ops", db=db)[0] == 0
    ids = {n: token_id(db, n) for n in ("ci", "ops")}
    assert entries(db) == [("token", ids["ci"]), ("token", ids["ops"]), ("token", ids["ops"])]
    assert sql(db, "SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL") == [["2"]]
    code, out, err = verify(db)
    assert code == 0, out + err
    # the revocation taken back, and a token of the same digest shape planted beside it
    sql(db, f"UPDATE api_tokens SET revoked_at = NULL WHERE token_id = '{ids['ops']}'")
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    sql(db, "INSERT INTO api_tokens (token_id, token_sha256, name, subject, created_by, "
            "expires_at, created_at, updated_at, payload) VALUES ('tok-planted', '"
            + "a" * 64 + f"', 'planted', 'planted', 'nobody', NULL, '{T0}', '{T0}', "
            f"'{{\"roles\":[\"admin\"]}}'{obj})")
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = sorted(l.split(" after=")[0] for l in breaks(out))
    seq = last_seq(db, "token", ids["ops"])
    assert lines == [f"edited seq={seq} id={ids['ops']}", "inserted id=tok-planted"], lines
