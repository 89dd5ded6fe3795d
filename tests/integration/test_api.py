"""The activity API on both backends: decisions, sessions, filters, paging, bad input."""
import concurrent.futures
import json
import re

import pytest
import requests

from conftest import backend_of, cavra, serve, sql

# The README's new-user walk-through: (request, decision, rule, severity, approver group).
SCENARIOS = [
    ({"action_type": "write_file", "target": ".github/workflows/x.yml"},
     "block", "filesystem.write.block", "high", None),
    ({"action_type": "write_file", "target": "iam/role.tf"},
     "require_approval", "filesystem.write.require_approval", "high", "Platform Security"),
    ({"action_type": "execute_command", "target": "terraform apply -auto-approve"},
     "block", "commands.block", "critical", None),
    ({"action_type": "execute_command", "target": "pytest -q"},
     "allow", "commands.allow", "low", None),
    ({"action_type": "git_operation", "operation": "push", "target": "main"},
     "block", "git.protected_branch.block_direct_push", "high", None),
    ({"action_type": "summon_daemon", "target": "x"},
     "require_approval", "runtime.default.require_approval", "medium", None),
    ({"action_type": "mcp_tool_call", "server": "unregistered-srv", "tool": "t"},
     "block", "mcp.registry.unknown", "high", None),
]


@pytest.fixture
def srv(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as s:
        yield s


def post(srv, body):
    r = srv.post("/decisions", body)
    assert r.status_code == 201, r.text
    return r.json()


def test_new_user_walkthrough_and_every_filter(srv):
    made = []
    for i, (req, decision, rule, severity, group) in enumerate(SCENARIOS):
        body = dict(req, session_id="walk-1", agent_id=f"agent-{i % 2}", actor="dev@example",
                    repository="payments/api")
        rec = post(srv, body)
        assert (rec["decision"], rec["rule_id"], rec["severity"]) == (decision, rule, severity)
        if group:
            assert rec["approver_group"] == group
        assert rec["schema_version"] == "cavra.decision.v1"
        assert re.fullmatch(r"dec_[0-9a-f]{12}", rec["decision_id"])
        assert re.fullmatch(r"corr_[0-9a-f]{12}", rec["correlation_id"])
        assert rec["evidence_refs"] == [f"evidence://walk-1/{rec['decision_id']}"]
        assert rec["policy_pack"] == "cavra-ai-agent-baseline"
        assert re.fullmatch(r"[0-9a-f]{64}", rec["policy_version"]["sha256"])
        assert rec["policy_version"]["version"]
        assert srv.get(f"/decisions/{rec['decision_id']}").json()["decision_id"] == \
            rec["decision_id"]
        made.append(rec)
    for rec in made:
        for key in ("session_id", "agent_id", "repository", "policy_pack", "decision",
                    "severity", "action_type"):
            page = srv.get("/decisions", params={key: rec[key], "limit": 500}).json()
            assert rec["decision_id"] in [d["decision_id"] for d in page["items"]], key
        page = srv.get("/decisions", params={"since": rec["timestamp"],
                                             "until": "2999-01-01T00:00:00Z"}).json()
        assert rec["decision_id"] in [d["decision_id"] for d in page["items"]]
    s = srv.get("/sessions/walk-1").json()
    assert s["schema_version"] == "cavra.session.v1"
    assert (s["decision_count"], s["blocked_count"], s["approval_required_count"]) == (7, 4, 2)
    assert s["state"] == "active" and s["repository"] == "payments/api"
    replay = srv.get("/sessions/walk-1/decisions").json()
    assert [d["decision_id"] for d in replay["items"]] == [d["decision_id"] for d in made]
    for key, value in (("agent_id", "agent-0"), ("repository", "payments/api"),
                       ("policy_pack", "cavra-ai-agent-baseline"), ("state", "active")):
        ids = [x["session_id"] for x in srv.get("/sessions", params={key: value}).json()["items"]]
        assert "walk-1" in ids, key


def test_since_until_filter_bounds(srv):
    rec = post(srv, {"action_type": "read_file", "target": "a"})
    assert srv.get("/decisions", params={"until": rec["timestamp"]}).json()["total"] == 0
    assert srv.get("/decisions", params={"since": rec["timestamp"]}).json()["total"] == 1


def test_paging_order_and_cursor(srv):
    ids = [post(srv, {"action_type": "read_file", "target": f"f{i}", "session_id": "pg"})
           ["decision_id"] for i in range(7)]
    page = srv.get("/decisions", params={"limit": 3}).json()
    assert page["total"] == 7 and page["limit"] == 3 and page["offset"] == 0
    assert [d["decision_id"] for d in page["items"]] == ids[::-1][:3]
    seen = []
    cursor = None
    while True:
        params = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = srv.get("/decisions", params=params).json()
        seen += [d["decision_id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
    page = srv.get("/decisions", params={"limit": 3, "count": "none"}).json()
    assert page["total"] is None and len(page["items"]) == 3 and page["next_cursor"]
    assert srv.get("/sessions", params={"count": "none"}).json()["total"] is None
    page = srv.get("/decisions", params={"limit": 3, "offset": 6}).json()
    assert [d["decision_id"] for d in page["items"]] == [ids[0]]
    oldest = srv.get("/sessions/pg/decisions", params={"limit": 4}).json()
    assert [d["decision_id"] for d in oldest["items"]] == ids[:4] and oldest["next_cursor"]
    rest = srv.get("/sessions/pg/decisions", params={"cursor": oldest["next_cursor"]}).json()
    assert [d["decision_id"] for d in rest["items"]] == ids[4:]


def test_concurrent_decisions_into_one_session_keep_exact_counts(srv):
    targets = ["terraform apply", "pytest -q", "make deploy", "ls"]

    def one(i):
        return srv.post("/decisions", {"session_id": "busy", "action_type": "execute_command",
                                       "target": targets[i % 4]}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        codes = list(pool.map(one, range(200)))
    assert codes == [201] * 200
    s = srv.get("/sessions/busy").json()
    assert (s["decision_count"], s["blocked_count"], s["approval_required_count"]) == (200, 50, 50)
    assert srv.get("/decisions", params={"session_id": "busy"}).json()["total"] == 200


def test_session_upsert(srv):
    r = srv.post("/sessions", {"session_id": "s-up", "agent_id": "a", "repository": "r",
                               "metadata": {"ticket": "CHG-1"}})
    assert r.status_code == 201 and r.json()["decision_count"] == 0
    post(srv, {"action_type": "execute_command", "target": "terraform destroy",
               "session_id": "s-up", "agent_id": "b", "repository": "r2", "actor": "alice"})
    s = srv.get("/sessions/s-up").json()
    # a decision fills in nothing of a session written through POST /sessions: not what it
    # has, nor what its owner left empty (actor)
    assert (s["agent_id"], s["repository"], s["actor"]) == ("a", "r", None)
    post(srv, {"action_type": "read_file", "target": "README.md", "session_id": "s-fill",
               "agent_id": "b", "repository": "r2"})
    post(srv, {"action_type": "read_file", "target": "README.md", "session_id": "s-fill",
               "agent_id": "c", "actor": "alice"})
    s = srv.get("/sessions/s-fill").json()
    # a session only decisions made takes each field from the first decision carrying it
    assert (s["agent_id"], s["repository"], s["actor"]) == ("b", "r2", "alice")
    r = srv.post("/sessions", {"session_id": "s-up", "state": "completed"})
    assert r.status_code == 200
    s = r.json()
    assert s["state"] == "completed" and s["blocked_count"] == 1 and s["agent_id"] == "a"
    assert s["metadata"] == {"ticket": "CHG-1"}  # kept when the update does not name it
    r = srv.post("/sessions", {"session_id": "s-up", "metadata": {"ticket": "CHG-2"}})
    assert r.json()["metadata"] == {"ticket": "CHG-2"}
    for bad in ({"session_id": "s-up", "state": "paused"}, {"state": "active"},
                {"session_id": "s-up", "metadata": [1]}, {"session_id": "s-up",
                                                         "policy_pack": "nope"}):
        r = srv.post("/sessions", bad)
        assert r.status_code == 400, (bad, r.text)
    assert srv.get("/sessions", params={"state": "completed"}).json()["total"] == 1
    # a filter without "=" is the empty value (400), never "no filter"
    for q in ("/sessions?state", "/decisions?decision", "/decisions?session_id",
              "/evidence?has_approvals", "/decisions?count"):
        r = srv.get(q)
        assert r.status_code == 400 and r.json()["code"] == "invalid", (q, r.text)


def test_a_damaged_stored_session_is_read_without_it_and_not_overwritten(srv, db):
    # the payload edited in the database into JSON the strict parser refuses (a key twice):
    # not served, as the chain does not vouch for it; an upsert that would keep the metadata
    # refuses rather than write the payload again without it
    if backend_of(db) == "postgres":
        pytest.skip("jsonb keeps one of two equal keys: PostgreSQL cannot hold such a payload")
    r = srv.post("/sessions", {"session_id": "s-dmg", "agent_id": "a", "repository": "r",
                               "metadata": {"ticket": "CHG-1"}})
    assert r.status_code == 201, r.text
    damaged = '{"metadata":{"ticket":"CHG-1"},"x":1,"x":2}'
    sql(db, f"UPDATE activity_sessions SET payload = '{damaged}' "
                "WHERE session_id = 's-dmg'")
    r = srv.get("/sessions/s-dmg")
    assert r.status_code == 409 and "audit chain" in r.json()["detail"], r.text
    r = srv.post("/sessions", {"session_id": "s-dmg", "state": "completed"})
    assert r.status_code == 500 and r.json()["code"] == "internal", r.text
    assert sql(db, "SELECT state, payload FROM activity_sessions "
                       "WHERE session_id = 's-dmg'") == [["active", damaged]]
    assert "session 's-dmg': its stored record has a key twice" in srv.stderr()
    # nor is it written over with a body that replaces the payload whole: its new chain entry
    # would vouch for a row changed in the database
    r = srv.post("/sessions", {"session_id": "s-dmg", "metadata": {"ticket": "CHG-2"}})
    assert r.status_code == 409 and "audit chain" in r.json()["detail"], r.text
    assert sql(db, "SELECT payload FROM activity_sessions "
                   "WHERE session_id = 's-dmg'") == [[damaged]]


def test_an_upsert_without_metadata_never_writes_back_an_older_one(srv):
    """Upserts without metadata racing one that sets it: the session's metadata is carried
    over inside each write, so the acknowledged metadata is what stays (it was read before
    the write, and written back over the other's, in most of 40 such rounds)."""
    def post(body):
        r = requests.post(srv.base + "/sessions", json=body, timeout=30)
        assert r.status_code in (200, 201), r.text
        return r
    for t in range(12):
        sid = f"race-{t}"
        post({"session_id": sid, "metadata": {"v": 0}})
        bodies = [{"session_id": sid, "state": "completed", "actor": f"x{i}"} for i in range(6)]
        bodies.insert(3, {"session_id": sid, "metadata": {"v": 1}})
        with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
            replies = list(pool.map(post, bodies))
        assert replies[3].json()["metadata"] == {"v": 1}
        got = srv.get(f"/sessions/{sid}").json()
        assert got["metadata"] == {"v": 1} and got["state"] == "completed", (t, got)


def test_a_nul_in_session_metadata_is_refused(srv):
    # PostgreSQL's jsonb refuses it (a 500 there); SQLite stored it
    for meta in ({"a": "x\u0000y"}, {"list": [{"b": "\u0000"}]}):
        r = srv.post("/sessions", {"session_id": "s-nul", "metadata": meta})
        assert r.status_code == 400 and "contains a NUL character" in r.json()["detail"], r.text
    assert srv.get("/sessions").json()["total"] == 0


def test_policy_packs_listed(srv):
    packs = {p["id"]: p for p in srv.get("/policy-packs").json()["items"]}
    base = packs["cavra-ai-agent-baseline"]
    assert base["version"] and base["title"] and base["rule_count"] > 0
    assert re.fullmatch(r"[0-9a-f]{64}", base["sha256"])
    assert set(base["rule_counts"]) == {"filesystem", "commands", "git", "mcp"}


def test_metrics(srv):
    post(srv, {"action_type": "read_file", "target": "x"})
    srv.get("/decisions")
    text = srv.get("/metrics").text
    assert 'cavra_http_requests_total{method="POST",route="/decisions",status="201"} 1' in text
    assert 'cavra_decisions_total{decision="allow"} 1' in text
    assert "cavra_http_request_duration_seconds_bucket" in text
    assert 'cavra_db_pool_connections{state="max"}' in text


J = {"Content-Type": "application/json"}
BAD_POSTS = [
    ("malformed", b'{"action_type":', J, 400, "not valid JSON"),
    ("array", b"[1,2]", J, 400, "JSON object"),
    ("string", b'"read_file"', J, 400, "JSON object"),
    ("wrong type", b'{"action_type": 5}', J, 400, "'action_type' must be a string"),
    ("missing action", b'{"target": "x"}', J, 400, "'action_type' is required"),
    ("unknown pack", b'{"action_type":"read_file","policy_pack":"nope"}', J, 400, "nope"),
    ("id too long", json.dumps({"action_type": "read_file", "session_id": "s" * 300}).encode(),
     J, 400, "longer than 256"),
    ("control char", json.dumps({"action_type": "read_file", "agent_id": "a\nb"}).encode(),
     J, 400, "control character"),
    ("deep nesting", b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}", J, 400, "nesting"),
    ("NUL inside a string", b'{"action_type":"read_file","target":".env\\u0000.txt"}', J, 400,
     "NUL"),
    ("slash in session id", b'{"action_type":"read_file","session_id":"team/run-1"}', J, 400,
     "must not contain '/'"),
    ("invalid utf8", b'{"action_type":"read_file","target":"\xff\xfe"}', J, 400, "utf-8"),
    ("not json type", b'{"action_type":"read_file"}', {"Content-Type": "text/plain"}, 415,
     "application/json"),
    ("latin1 charset", b'{"action_type":"read_file"}',
     {"Content-Type": "application/json; charset=latin1"}, 415, "utf-8"),
    ("json type with trailing text", b'{"action_type":"read_file"}',
     {"Content-Type": "application/json x"}, 415, "application/json"),
    ("ten MiB", b"a" * (10 << 20), J, 413, "limit"),
]


@pytest.mark.parametrize("name,body,headers,status,detail", BAD_POSTS,
                         ids=[c[0] for c in BAD_POSTS])
def test_bad_decision_posts_store_nothing(srv, name, body, headers, status, detail):
    r = srv.post("/decisions", data=body, headers=headers)
    assert r.status_code == status, r.text
    err = r.json()
    assert detail.lower() in err["detail"].lower() and err["code"] and err["request_id"]
    assert srv.get("/decisions").json()["total"] == 0
    assert srv.get("/readyz").status_code == 200


BAD_QUERIES = [
    "/decisions?limit=0", "/decisions?limit=100000", "/decisions?offset=-1",
    "/decisions?limit=abc", "/decisions?decision=maybe", "/decisions?severity=extreme",
    "/decisions?since=yesterday", "/decisions?cursor=not-a-cursor!", "/sessions?state=bogus",
    "/sessions?limit=501", "/decisions?count=approx", "/decisions?since=2026-02-31T00:00:00Z",
]


@pytest.mark.parametrize("path", BAD_QUERIES)
def test_bad_queries_are_400_naming_the_parameter(srv, path):
    r = srv.get(path)
    assert r.status_code == 400, r.text
    name = re.search(r"[?&](\w+)=", path).group(1)
    assert f"'{name}'" in r.json()["detail"]
    if "decision=" in path:
        assert "allow, block, require_approval" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/decisions/a%2Fb", "/decisions/a/b", "/sessions/a%2Fb",
                                  "/sessions/x%2F..%2F/decisions", "/decisions/dec_nope",
                                  "/sessions/nope", "/sessions/nope/decisions"])
def test_odd_ids_are_404(srv, path):
    r = srv.get(path)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
