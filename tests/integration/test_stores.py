"""Evidence, registry, inventory and integrations on both backends: upserts, gets, every
filter, paging, the MCP registry deciding tool calls, and bad input."""
import pytest

from conftest import backend_of, cavra, serve, sql


@pytest.fixture
def srv(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as s:
        yield s


def put(srv, path, body, status=(200, 201)):
    r = srv.post(path, body)
    assert r.status_code in (status if isinstance(status, tuple) else (status,)), r.text
    return r.json()


def ids(srv, path, field):
    r = srv.get(path)
    assert r.status_code == 200, r.text
    env = r.json()
    assert env["total"] == len(env["items"]) or env["next_cursor"]
    return sorted(i[field] for i in env["items"])


def bad(srv, path, body, *needles, status=400):
    r = srv.post(path, body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    for n in needles:
        assert n in detail, detail
    return detail


def test_evidence_upsert_get_and_filters(srv):
    r = srv.post("/evidence", {"session_id": "ses-alpha", "signer": "ci@example",
                               "decision_count": 5, "blocked_count": 2,
                               "approval_required_count": 1, "bundle_dir": "x"})
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["schema_version"] == "cavra.evidence.metadata.v1"
    assert rec["bundle_dir"] == "x" and rec["created_at"] and rec["updated_at"]
    put(srv, "/evidence", {"session_id": "ses-beta", "signer": "local", "blocked_count": 0})
    put(srv, "/evidence", {"session_id": "other-1", "signer": "local", "blocked_count": 4})
    # upsert: same id again is 200 and keeps created_at
    r = srv.post("/evidence", {"session_id": "ses-alpha", "signer": "ci@example",
                               "blocked_count": 3, "approval_required_count": 1})
    assert r.status_code == 200 and r.json()["created_at"] == rec["created_at"]
    assert r.json()["blocked_count"] == 3
    assert srv.get("/evidence/ses-alpha").json()["blocked_count"] == 3
    assert srv.get("/evidence/nope").status_code == 404
    assert ids(srv, "/evidence?session_id=ses-", "session_id") == ["ses-alpha", "ses-beta"]
    assert ids(srv, "/evidence?signer=local", "session_id") == ["other-1", "ses-beta"]
    assert ids(srv, "/evidence?min_blocked=3", "session_id") == ["other-1", "ses-alpha"]
    assert ids(srv, "/evidence?has_approvals=true", "session_id") == ["ses-alpha"]
    assert ids(srv, "/evidence?has_approvals=false", "session_id") == ["other-1", "ses-beta"]
    env = srv.get("/evidence?limit=2").json()
    assert env["total"] == 3 and len(env["items"]) == 2 and env["next_cursor"]
    rest = srv.get(f"/evidence?limit=2&cursor={env['next_cursor']}").json()
    assert len(rest["items"]) == 1
    assert {i["session_id"] for i in env["items"] + rest["items"]} == {
        "ses-alpha", "ses-beta", "other-1"}
    bad(srv, "/evidence", {"signer": "x"}, "session_id", "required")
    bad(srv, "/evidence", {"session_id": "s", "blocked_count": -1}, "blocked_count")
    bad(srv, "/evidence", {"session_id": "a/b"}, "session_id")
    assert srv.get("/evidence?min_blocked=x").status_code == 400
    assert srv.get("/evidence?has_approvals=maybe").status_code == 400


def test_agents(srv):
    a = put(srv, "/agents", {"agent_id": "codex", "owner": "team-a", "capabilities": ["edit"]},
            201)
    assert a["schema_version"] == "cavra.agent.v1" and a["status"] == "active"
    put(srv, "/agents", {"id": "claude", "owner": "team-b", "status": "disabled"}, 201)
    put(srv, "/agents", {"agent_id": "old", "status": "retired"}, 201)
    assert srv.get("/agents/claude").json()["status"] == "disabled"
    assert ids(srv, "/agents?status=active", "agent_id") == ["codex"]
    assert ids(srv, "/agents?owner=team-b", "agent_id") == ["claude"]
    d = bad(srv, "/agents", {"agent_id": "x", "status": "paused"}, "status", "active, disabled, retired")
    assert "paused" in d
    assert srv.get("/agents?status=paused").status_code == 400
    bad(srv, "/agents", {"agent_id": "x" * 257}, "agent_id", "256")
    bad(srv, "/agents", {"agent_id": "a\u0001b"}, "control character")
    bad(srv, "/agents", {"agent_id": "x", "capabilities": "edit"}, "capabilities", "list")
    bad(srv, "/agents", {"owner": "x"}, "agent_id", "required")
    assert srv.get("/agents/nobody").status_code == 404


def test_mcp_registry_decides_tool_calls(srv):
    call = {"action_type": "mcp_tool_call", "server": "github-mcp", "tool": "create_pr",
            "session_id": "mcp-1"}
    r = srv.post("/decisions", call)
    assert (r.json()["decision"], r.json()["rule_id"]) == ("block", "mcp.registry.unknown")
    t = srv.get("/mcp/trust?server=github-mcp&tool=create_pr").json()
    assert t["registered"] is False and t["decision"] == "block"
    s = put(srv, "/mcp/servers", {"name": "github-mcp", "trust_tier": "trusted",
                                  "allowed_tools": ["create_pr"],
                                  "capabilities": ["repository"]}, 201)
    assert s["server_id"] == "github-mcp" and s["approval_state"] == "approved"
    r = srv.post("/decisions", call)
    assert r.json()["decision"] == "allow", r.text
    t = srv.get("/mcp/trust?server=github-mcp&tool=create_pr&capability=repository").json()
    assert (t["registered"], t["decision"], t["trust_tier"]) == (True, "allow", "trusted")
    t = srv.get("/mcp/trust?server=github-mcp&tool=delete_repo").json()
    assert t["decision"] == "require_approval"
    # experimental servers default to pending approval
    e = put(srv, "/mcp/servers", {"server_id": "exp-1", "name": "Experimental One",
                                  "trust_tier": "experimental", "owner": "ai-gov"}, 201)
    assert e["approval_state"] == "pending"
    assert srv.get("/mcp/servers/Experimental%20One").json()["server_id"] == "exp-1"
    assert srv.get("/mcp/servers/exp-1").json()["name"] == "Experimental One"
    r = srv.post("/decisions", dict(call, server="exp-1"))
    assert r.json()["decision"] == "require_approval"
    put(srv, "/mcp/servers", {"server_id": "bad-1", "name": "bad", "trust_tier": "blocked"}, 201)
    assert srv.post("/decisions", dict(call, server="bad")).json()["decision"] == "block"
    assert ids(srv, "/mcp/servers?trust_tier=experimental", "server_id") == ["exp-1"]
    assert ids(srv, "/mcp/servers?approval_state=pending", "server_id") == ["exp-1"]
    assert ids(srv, "/mcp/servers?owner=ai-gov", "server_id") == ["exp-1"]
    assert ids(srv, "/mcp/servers?capability=repository", "server_id") == ["github-mcp"]
    bad(srv, "/mcp/servers", {"name": "x", "capabilities": "repository"}, "capabilities", "list")
    bad(srv, "/mcp/servers", {"name": "x", "trust_tier": "friendly"}, "trust_tier", "trusted")
    # a second server may not take a name in use
    bad(srv, "/mcp/servers", {"server_id": "other", "name": "github-mcp"}, "github-mcp",
        status=409)
    assert srv.get("/mcp/trust?tool=x").status_code == 400
    assert srv.get("/mcp/servers/none").status_code == 404


def test_repositories_and_rollouts(srv):
    r = put(srv, "/repositories", {"repository": "payments/api", "provider": "github",
                                   "owner": "payments", "risk_tier": "high"}, 201)
    assert r["repository_id"] == "payments/api"
    put(srv, "/repositories", {"repository_id": "web/site", "provider": "gitlab",
                               "status": "archived", "policy_pack": "terraform-production"}, 201)
    assert srv.get("/repositories/payments/api").json()["owner"] == "payments"
    assert srv.get("/repositories/payments/none").status_code == 404
    assert ids(srv, "/repositories?provider=gitlab", "repository_id") == ["web/site"]
    assert ids(srv, "/repositories?owner=payments", "repository_id") == ["payments/api"]
    assert ids(srv, "/repositories?status=archived", "repository_id") == ["web/site"]
    assert ids(srv, "/repositories?risk_tier=high", "repository_id") == ["payments/api"]
    assert ids(srv, "/repositories?policy_pack=terraform-production",
               "repository_id") == ["web/site"]
    bad(srv, "/repositories", {"repository": "x", "status": "gone"}, "status", "archived")

    ro = put(srv, "/policy-rollouts", {"repository": "payments/api",
                                       "policy_pack": "cavra-ai-agent-baseline",
                                       "coverage_percent": 40, "owner": "platform"}, 201)
    assert ro["rollout_id"] == "payments/api:cavra-ai-agent-baseline"
    assert (ro["mode"], ro["state"]) == ("enforce", "planned")
    put(srv, "/policy-rollouts", {"repository_id": "web/site", "policy_pack": "p2",
                                  "mode": "audit_only", "state": "active"}, 201)
    got = srv.get("/policy-rollouts/payments/api:cavra-ai-agent-baseline").json()
    assert got["coverage_percent"] == 40
    assert srv.get("/policy-rollouts/web/site:p2").json()["repository"] == "web/site"
    assert ids(srv, "/policy-rollouts?repository=web/site", "rollout_id") == ["web/site:p2"]
    assert ids(srv, "/policy-rollouts?mode=audit_only", "rollout_id") == ["web/site:p2"]
    assert ids(srv, "/policy-rollouts?state=planned", "rollout_id") == [ro["rollout_id"]]
    assert ids(srv, "/policy-rollouts?owner=platform", "rollout_id") == [ro["rollout_id"]]
    assert ids(srv, "/policy-rollouts?policy_pack=p2", "rollout_id") == ["web/site:p2"]
    bad(srv, "/policy-rollouts", {"repository": "r", "policy_pack": "p",
                                  "coverage_percent": 140}, "coverage_percent", "100")
    bad(srv, "/policy-rollouts", {"repository": "r", "policy_pack": "p", "mode": "yolo"},
        "mode", "audit_only, enforce, strict, break_glass")
    bad(srv, "/policy-rollouts", {"repository": "r", "policy_pack": "p", "state": "done"},
        "state", "planned")
    bad(srv, "/policy-rollouts", {"repository": "r"}, "policy_pack", "required")


def test_integrations(srv):
    i = put(srv, "/integrations", {"provider": "Splunk Cloud", "environment": "prod",
                                   "category": "siem", "owner": "secops"}, 201)
    assert i["integration_id"] == "splunk-cloud-prod"
    assert (i["status"], i["health_status"]) == ("planned", "not_checked")
    put(srv, "/integrations", {"provider": "jira", "category": "itsm", "status": "active",
                               "health_status": "healthy"}, 201)
    assert srv.get("/integrations/jira-global").json()["category"] == "itsm"
    assert srv.get("/integrations/jira").json()["integration_id"] == "jira-global"
    assert ids(srv, "/integrations?category=siem", "integration_id") == ["splunk-cloud-prod"]
    assert ids(srv, "/integrations?status=active", "integration_id") == ["jira-global"]
    assert ids(srv, "/integrations?health_status=healthy", "integration_id") == ["jira-global"]
    assert ids(srv, "/integrations?provider=jira", "integration_id") == ["jira-global"]
    assert ids(srv, "/integrations?environment=prod", "integration_id") == ["splunk-cloud-prod"]
    assert ids(srv, "/integrations?owner=secops", "integration_id") == ["splunk-cloud-prod"]
    bad(srv, "/integrations", {"provider": "x", "category": "email"}, "category", "siem")
    bad(srv, "/integrations", {"provider": "x", "status": "broken"}, "status", "configured")
    bad(srv, "/integrations", {"provider": "x", "health_status": "sad"}, "health_status")
    bad(srv, "/integrations", {"category": "siem"}, "provider", "required")
    assert srv.get("/integrations?category=email").status_code == 400


def test_upsert_of_identical_record_changes_nothing(srv):
    a = put(srv, "/agents", {"agent_id": "same", "owner": "o"}, 201)
    b = put(srv, "/agents", {"agent_id": "same", "owner": "o"}, 200)
    assert a["updated_at"] == b["updated_at"]
    c = put(srv, "/agents", {"agent_id": "same", "owner": "p"}, 200)
    assert c["updated_at"] > a["updated_at"] and c["created_at"] == a["created_at"]
    # a number spelt otherwise is another record (1 and 1.0 differ), on PostgreSQL too, where
    # JSONB's own comparison finds them equal: the update was answered 200 and dropped
    for x in ("1.0", "1", "1.00"):
        r = srv.post("/agents", data=('{"agent_id":"num","x":%s}' % x).encode(),
                     headers={"Content-Type": "application/json"})
        assert r.status_code in (200, 201), r.text
        assert srv.get("/agents/num").text.count('"x":%s,' % x) + \
            srv.get("/agents/num").text.count('"x":%s}' % x) == 1, (x, r.text)


@pytest.mark.parametrize("path", ["/evidence", "/agents", "/mcp/servers", "/repositories",
                                  "/policy-rollouts", "/integrations", "/approvals"])
def test_bodies_that_are_not_objects(srv, path):
    for body in ("[]", "{", '"x"'):
        r = srv.post(path, data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (path, body, r.text)
        assert r.json()["code"]


def test_a_damaged_stored_record_is_withheld_and_logged(srv, db):
    # a payload the strict parser refuses (a key twice, edited in the database): its row is not
    # what its chain entry hashed, so it is left out of lists (counted in withheld) and refused
    # by id, and the log names it (a session, whose reads the chain does not check, is read
    # by its columns: test_api.py)
    if backend_of(db) == "postgres":
        pytest.skip("jsonb keeps one of two equal keys: PostgreSQL cannot hold such a payload")
    put(srv, "/agents", {"agent_id": "codex", "owner": "team-a", "capabilities": ["edit"]},
        status=(201,))
    sql(db, "UPDATE registry_agents SET payload = '{\"owner\":\"a\",\"owner\":\"b\"}' "
            "WHERE agent_id = 'codex'")
    page = srv.get("/agents").json()
    assert page["items"] == [] and page["withheld"] == 1, page
    r = srv.get("/agents/codex")
    assert r.status_code == 409 and "audit chain" in r.json()["detail"], r.text
    assert "agent 'codex' is not what the audit chain" in srv.stderr(), srv.stderr()


NUMS = "[1e2, -0.0, 1.50e1, 5E-1, 1.50, 123.456e-10, -0, 7]"
# as PostgreSQL's jsonb gives them back: the form both backends answer with
NUMS_PG = "[100,0.0,15.0,0.5,1.50,0.0000000123456,0,7]"


@pytest.mark.parametrize("path,key,body", [
    ("/sessions", "/sessions/s-nums", '{"session_id":"s-nums","metadata":{"n":%s}}'),
    ("/agents", "/agents/a-nums", '{"agent_id":"a-nums","n":%s}'),
    ("/evidence", "/evidence/s-nums", '{"session_id":"s-nums","signer":"x","n":%s}'),
])
def test_numbers_read_back_the_same_from_both_backends(srv, db, path, key, body):
    # SQLite used to keep 1e2 as written where PostgreSQL answers 100: a client saw the same
    # record differently by backend, and the reply to its write differently from a later read
    r = srv.post(path, data=body % NUMS, headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert NUMS_PG in r.text, r.text
    assert NUMS_PG in srv.get(key).text
    assert NUMS_PG in srv.get(path).text
    if backend_of(db) == "sqlite":
        (stored,) = sql(db, "SELECT payload FROM %s" % {
            "/sessions": "activity_sessions", "/agents": "registry_agents",
            "/evidence": "evidence_metadata"}[path])
        assert NUMS_PG in stored[0], stored
