"""Stable paging of the records lists, on both backends: every list pages by created_at, then
its id, so that paging with a cursor while other clients create records and update existing
ones shows each record that existed when paging began exactly once; cursors from before the
sort key was tagged (an updated_at position) are refused with a 400 that says to start again."""
import base64
import threading

import pytest

from conftest import cavra, serve

N = 15  # records of each kind before paging starts
LIMIT = 4


def b64url(raw):
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def agent(i, v=0):
    return {"agent_id": f"agent-{i:03d}", "owner": f"team-{v}"}


def mcp(i, v=0):
    return {"server_id": f"mcp-{i:03d}", "owner": f"team-{v}"}


def repo(i, v=0):
    return {"repository_id": f"acme/repo-{i:03d}", "owner": f"team-{v}"}


def rollout(i, v=0):
    return {"repository": f"acme/repo-{i:03d}", "policy_pack": "cavra-ai-agent-baseline",
            "coverage_percent": v % 100}


def integration(i, v=0):
    return {"provider": f"prov-{i:03d}", "environment": "prod", "owner": f"team-{v}"}


def evidence(i, v=0):
    return {"session_id": f"ses-{i:03d}", "signer": f"signer-{v}"}


# (list path, id field, body of record i at version v)
KINDS = [
    ("/agents", "agent_id", agent),
    ("/mcp/servers", "server_id", mcp),
    ("/repositories", "repository_id", repo),
    ("/policy-rollouts", "rollout_id", rollout),
    ("/integrations", "integration_id", integration),
    ("/evidence", "session_id", evidence),
]


@pytest.fixture
def srv(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as s:
        yield s


def page_all(srv, path, key, during):
    seen, cursor, n = [], None, 0
    while True:
        params = {"limit": LIMIT, "count": "none"}
        if cursor:
            params["cursor"] = cursor
        r = srv.get(path, params=params)
        assert r.status_code == 200, r.text
        env = r.json()
        seen += [item[key] for item in env["items"]]
        cursor = env["next_cursor"]
        if not cursor:
            return seen
        n += 1
        during(n)


def post_ok(srv, path, body):
    r = srv.post(path, body)
    assert r.status_code in (200, 201), (path, r.status_code, r.text)
    return r.json()


@pytest.mark.parametrize("path,key,make", KINDS, ids=[k[0] for k in KINDS])
def test_records_list_pages_each_record_once_while_others_write(srv, path, key, make):
    before = {post_ok(srv, path, make(i))[key] for i in range(N)}
    stop, errors = threading.Event(), []

    def writer():
        # other clients: new records, and updates of every existing one, in a loop
        v = 1
        while not stop.is_set():
            for body in (make(1000 + v, v), make(v % N, v)):
                r = srv.post(path, body)
                if r.status_code not in (200, 201):
                    errors.append((r.status_code, r.text))
            v += 1

    def between(n):
        # the oldest records, still ahead of the cursor, are updated: an order by updated_at
        # would move them behind it (skipped); the newest, already read, too (seen twice)
        for i in (0, 1, n % N, N - 1):
            post_ok(srv, path, make(i, 100 + n))
        post_ok(srv, path, make(2000 + n, n))

    t = threading.Thread(target=writer)
    t.start()
    try:
        got = page_all(srv, path, key, between)
    finally:
        stop.set()
        t.join()
    assert not errors
    assert len(got) == len(set(got)), f"a record appeared twice: {got}"
    assert before <= set(got), f"skipped: {sorted(before - set(got))}"


def test_approvals_list_pages_each_approval_once_while_others_decide(srv):
    def new_approval(i):
        d = post_ok(srv, "/decisions", {"session_id": f"ses-a{i}", "action_type":
                                        "execute_command", "target": f"make deploy-{i}"})
        return post_ok(srv, "/approvals", {"decision_id": d["decision_id"]})["approval_id"]

    ids = [new_approval(i) for i in range(N)]
    before = set(ids)
    pending = list(ids)

    def between(n):
        # decide the oldest pending approvals (an update of state and updated_at) and add one
        for _ in range(3):
            if pending:
                a = pending.pop(0)
                post_ok(srv, f"/approvals/{a}/deny", {"actor": "ops", "reason": "no"})
        new_approval(100 + n)

    got = page_all(srv, "/approvals", "approval_id", between)
    assert len(got) == len(set(got)), f"an approval appeared twice: {got}"
    assert before <= set(got), f"skipped: {sorted(before - set(got))}"


def test_records_are_listed_by_creation_not_by_update(srv):
    for i in range(3):
        post_ok(srv, "/agents", agent(i))
    post_ok(srv, "/agents", agent(0, 7))  # updated last, still the oldest
    env = srv.get("/agents").json()
    assert [a["agent_id"] for a in env["items"]] == ["agent-002", "agent-001", "agent-000"]
    env = srv.get("/agents", params={"owner": "team-0"}).json()
    assert [a["agent_id"] for a in env["items"]] == ["agent-002", "agent-001"]


# A cursor as the releases before the sort-key tag made them: base64url("<time>|<id>").
OLD = b64url("2026-01-02T03:04:05.000001Z|agent-001")


@pytest.mark.parametrize("path", ["/agents", "/mcp/servers", "/repositories",
                                  "/policy-rollouts", "/integrations", "/evidence",
                                  "/approvals", "/sessions", "/decisions",
                                  "/sessions/ses-1/decisions"])
def test_old_cursor_is_refused_with_start_again(srv, path):
    post_ok(srv, "/decisions", {"session_id": "ses-1", "action_type": "read_file",
                                "target": "a"})
    r = srv.get(path, params={"cursor": OLD})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["detail"] == (
        "parameter 'cursor' marks a place in another order (an earlier version of this API "
        "or another list); start again from the first page, without 'cursor'"), body


def test_cursor_of_another_order_is_refused(srv):
    for i in range(3):
        post_ok(srv, "/decisions", {"session_id": "ses-1", "action_type": "read_file",
                                    "target": f"f{i}"})
    newest_first = srv.get("/decisions", params={"limit": 1}).json()["next_cursor"]
    oldest_first = srv.get("/sessions/ses-1/decisions", params={"limit": 1}).json()[
        "next_cursor"]
    assert newest_first and oldest_first
    r = srv.get("/sessions/ses-1/decisions", params={"cursor": newest_first})
    assert r.status_code == 400 and "start again" in r.json()["detail"]
    r = srv.get("/decisions", params={"cursor": oldest_first})
    assert r.status_code == 400 and "start again" in r.json()["detail"]
    # the list's own cursors still work
    r = srv.get("/sessions/ses-1/decisions", params={"cursor": oldest_first, "limit": 5})
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    r = srv.get("/decisions", params={"cursor": "not a cursor"})
    assert r.status_code == 400 and r.json()["detail"] == (
        "parameter 'cursor' is not a cursor from this API")


def test_forged_cursors_and_times_out_of_range_are_400(srv):
    """A cursor's time and id go to SQL as parameters: bytes that are not UTF-8, or a time
    outside years 1-9999 in UTC, were a 500 on PostgreSQL (and the same time in a record was
    stored on SQLite as '10000-01-01T23:58:59.000000', without its zone)."""
    for i in range(2):
        post_ok(srv, "/decisions", {"session_id": "ses-1", "action_type": "read_file",
                                    "target": f"f{i}"})
    good = srv.get("/decisions", params={"limit": 1}).json()["next_cursor"]
    raw = base64.urlsafe_b64decode(good + "=" * (-len(good) % 4))
    version, key, ts, rid = raw.split(b"|", 3)

    def forged(t=ts, i=rid):
        return base64.urlsafe_b64encode(b"|".join([version, key, t, i])).decode().rstrip("=")
    for c in (forged(i=b"\xff\xfe"), forged(t=b"0000-01-01T00:00:00Z"),
              forged(t=b"9999-12-31T23:59:59-23:59")):
        r = srv.get("/decisions", params={"cursor": c})
        assert r.status_code == 400 and r.json()["detail"] == (
            "parameter 'cursor' is not a cursor from this API"), r.text
    # the same place with an offset: read in UTC
    r = srv.get("/decisions", params={"cursor": forged(t=b"2999-01-01T01:00:00+01:00")})
    assert r.status_code == 200 and len(r.json()["items"]) == 2, r.text
    for since in ("0000-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00"):
        r = srv.get("/decisions", params={"since": since})
        assert r.status_code == 400 and "since" in r.json()["detail"], r.text
    r = srv.post("/agents", {"agent_id": "ag9", "last_seen": "9999-12-31T23:59:59-23:59"})
    assert r.status_code == 400 and "last_seen" in r.json()["detail"], r.text
    r = srv.post("/agents", {"agent_id": "ag9", "last_seen": "9999-12-31T23:00:00-00:59"})
    assert r.status_code == 201 and r.json()["last_seen"] == "9999-12-31T23:59:00.000000Z"
