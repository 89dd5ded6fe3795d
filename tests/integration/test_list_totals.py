"""List totals and paging at scale, on both backends: the default total is exact up to 10,000
and a lower bound above ("total_relation": "gte"), count=exact and count=none; and cursors that
show every row that existed when paging started exactly once while decisions are inserted and
sessions updated. Bulk rows go in with one SQL statement, not one POST each."""
import threading

import pytest

from conftest import backend_of, cavra, chain_planted, serve, sql

BOUND = 10000
TS = "2026-01-02T03:04:05.000000Z"


def insert_decisions(db, repository, n, start=0):
    """n decisions of repository, ids bulk-<repository>-<start..>, all at one time (the id orders
    them)."""
    pay = ("('{\"decision_id\":\"' || id || '\"}')" +
           ("::jsonb" if backend_of(db) == "postgres" else ""))
    sql(db, f"""INSERT INTO activity_decisions (decision_id, session_id, agent_id, repository,
        action_type, policy_pack, decision, severity, decided_at, created_at, updated_at, payload)
        WITH RECURSIVE g(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM g
                                WHERE i < {start + n - 1}),
             r AS (SELECT 'bulk-{repository}-' || i AS id FROM g)
        SELECT id, 'bulk-session', 'bulk-agent', '{repository}', 'read_file',
               'cavra-ai-agent-baseline', 'allow', 'low', '{TS}', '{TS}', '{TS}', {pay} FROM r""")


def insert_sessions(db, repository, n):
    pay = "'{}'" + ("::jsonb" if backend_of(db) == "postgres" else "")
    sql(db, f"""INSERT INTO activity_sessions (session_id, agent_id, repository, policy_pack, state,
        started_at, updated_at, created_at, payload)
        WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n})
        SELECT 'bulk-' || i, 'bulk-agent', '{repository}', 'cavra-ai-agent-baseline', 'active',
               '{TS}', '{TS}', '{TS}', {pay} FROM g""")


def insert_agents(db, owner, n):
    pay = "'{}'" + ("::jsonb" if backend_of(db) == "postgres" else "")
    sql(db, f"""INSERT INTO registry_agents (agent_id, status, owner, created_at, updated_at,
        payload)
        WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n})
        SELECT 'bulk-agent-' || i, 'active', '{owner}', '{TS}', '{TS}', {pay} FROM g""")


def totals(srv, path, **params):
    env = srv.get(path, params={"limit": 1, **params}).json()
    return env["total"], env["total_relation"]


def test_total_is_bounded_by_default_exact_on_request_and_absent_with_none(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    insert_decisions(db, "r/at", BOUND)
    insert_decisions(db, "r/over", BOUND + 1)
    insert_decisions(db, "r/few", 3)
    insert_sessions(db, "r/over", BOUND + 1)
    insert_agents(db, "team-over", BOUND + 1)
    chain_planted(db)
    with serve(db, tmp=tmp_path) as srv:
        # exact up to the bound, "eq"
        assert totals(srv, "/decisions", repository="r/few") == (3, "eq")
        assert totals(srv, "/decisions", repository="r/none") == (0, "eq")
        assert totals(srv, "/decisions", repository="r/at") == (BOUND, "eq")
        assert totals(srv, "/decisions", repository="r/at", count="bounded") == (BOUND, "eq")
        # one more and the count stops: at least the bound
        assert totals(srv, "/decisions", repository="r/over") == (BOUND, "gte")
        assert totals(srv, "/decisions") == (BOUND, "gte")
        assert totals(srv, "/sessions") == (BOUND, "gte")
        assert totals(srv, "/sessions", repository="r/over", state="active") == (BOUND, "gte")
        assert totals(srv, "/sessions", repository="r/few") == (0, "eq")
        assert totals(srv, "/agents") == (BOUND, "gte")
        assert totals(srv, "/agents", owner="team-over") == (BOUND, "gte")
        # count=exact counts them all
        assert totals(srv, "/decisions", repository="r/over", count="exact") == (BOUND + 1, "eq")
        assert totals(srv, "/decisions", count="exact") == (2 * BOUND + 4, "eq")
        assert totals(srv, "/sessions", count="exact") == (BOUND + 1, "eq")
        assert totals(srv, "/agents", count="exact") == (BOUND + 1, "eq")
        # the session's own decisions, under its path
        sql(db, f"""INSERT INTO activity_sessions (session_id, state, started_at, updated_at,
            created_at, payload) VALUES ('bulk-session', 'active', '{TS}', '{TS}', '{TS}',
            '{{}}')""")
        assert totals(srv, "/sessions/bulk-session/decisions") == (BOUND, "gte")
        assert totals(srv, "/sessions/bulk-session/decisions", count="exact") == (
            2 * BOUND + 4, "eq")
        # count=none: no count at all
        for path in ("/decisions", "/sessions", "/agents", "/sessions/bulk-session/decisions",
                     "/evidence", "/approvals"):
            env = srv.get(path, params={"count": "none", "limit": 2}).json()
            assert env["total"] is None and env["total_relation"] is None, (path, env)
        assert totals(srv, "/evidence") == (0, "eq") and totals(srv, "/approvals") == (0, "eq")
        # the page itself is unaffected by the bound
        env = srv.get("/decisions", params={"repository": "r/over", "limit": 3}).json()
        assert [d["decision_id"] for d in env["items"]] == [
            "bulk-r/over-0", "bulk-r/over-1", "bulk-r/over-10"] and env["next_cursor"]
        r = srv.get("/decisions", params={"count": "approx"})
        assert r.status_code == 400 and r.json()["detail"] == (
            "parameter 'count': 'approx' is not one of bounded (the default), exact, none")


def page_all(srv, path, key, during=None, limit=7):
    """Every id of path, page by page by cursor; calls during(page number) between pages."""
    seen, cursor, n = [], None, 0
    while True:
        params = {"limit": limit, "count": "none"}
        if cursor:
            params["cursor"] = cursor
        env = srv.get(path, params=params).json()
        seen += [item[key] for item in env["items"]]
        cursor = env["next_cursor"]
        if not cursor:
            return seen
        n += 1
        if during:
            during(n)


@pytest.fixture
def srv(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as s:
        yield s


def test_cursors_show_each_row_once_while_decisions_and_sessions_change(srv):
    sessions = [f"ses-{i:02d}" for i in range(30)]
    for s in sessions:
        for t in ("README.md", "src/app.py"):
            r = srv.post("/decisions", {"session_id": s, "action_type": "read_file", "target": t})
            assert r.status_code == 201, r.text
    before_s = set(sessions)
    before_d = {d["decision_id"] for d in srv.get("/decisions", params={"limit": 500}).json()[
        "items"]}
    assert len(before_d) == 60
    stop = threading.Event()
    errors = []

    def writer():
        # new decisions, into new sessions and into the existing ones (which updates them)
        i = 0
        while not stop.is_set():
            body = {"session_id": sessions[i % 30] if i % 2 else f"new-{i}",
                    "action_type": "read_file", "target": f"f{i}"}
            code = srv.post("/decisions", body).status_code
            if code != 201:
                errors.append(code)
            i += 1

    def touch(n):
        # between pages, the oldest sessions (still ahead of the cursor) get a decision and a
        # POST /sessions, so that an order that moved them would move them behind the cursor
        for s in (sessions[0], sessions[1], sessions[n % 30]):
            assert srv.post("/decisions", {"session_id": s, "action_type": "read_file",
                                           "target": "x"}).status_code == 201
            assert srv.post("/sessions", {"session_id": s, "state": "active"}).status_code in (
                200, 201)

    t = threading.Thread(target=writer)
    t.start()
    try:
        got_s = page_all(srv, "/sessions", "session_id", touch)
        got_d = page_all(srv, "/decisions", "decision_id", touch)
    finally:
        stop.set()
        t.join()
    assert not errors
    assert len(got_s) == len(set(got_s)), "a session appeared twice"
    assert before_s <= set(got_s), f"skipped sessions: {sorted(before_s - set(got_s))}"
    assert len(got_d) == len(set(got_d)), "a decision appeared twice"
    assert before_d <= set(got_d), f"skipped decisions: {sorted(before_d - set(got_d))}"


def test_sessions_are_listed_by_creation_not_by_update(srv):
    for s in ("a", "b", "c"):
        assert srv.post("/decisions", {"session_id": s, "action_type": "read_file",
                                       "target": "x"}).status_code == 201
    assert srv.post("/decisions", {"session_id": "a", "action_type": "read_file",
                                   "target": "y"}).status_code == 201
    env = srv.get("/sessions").json()
    assert [s["session_id"] for s in env["items"]] == ["c", "b", "a"]
    assert env["total"] == 3 and env["total_relation"] == "eq"


def test_total_of_a_last_page_agrees_with_the_count(db, tmp_path):
    """A page that holds the last match is its own total (no count statement runs); every other
    page still counts: rows left over, an offset past the end, a cursor page."""
    assert cavra("migrate", "up", db=db)[0] == 0
    insert_decisions(db, "r/five", 5)
    insert_sessions(db, "r/five", 5)
    chain_planted(db)
    with serve(db, tmp=tmp_path) as srv:
        for path, key in (("/decisions", "decision_id"), ("/sessions", "session_id")):
            def total(**params):
                env = srv.get(path, params={"repository": "r/five", **params}).json()
                return env["total"], env["total_relation"], len(env["items"])

            assert total(limit=5) == (5, "eq", 5)  # the whole filter on one page
            assert total(limit=4) == (5, "eq", 4)  # a row left over: counted
            assert total(limit=10, offset=3) == (5, "eq", 2)  # the last page by offset
            assert total(limit=10, offset=5) == (5, "eq", 0)  # just past the end: counted
            assert total(limit=10, offset=50) == (5, "eq", 0)
            assert total(repository="r/none") == (0, "eq", 0)
            assert total(limit=10, offset=5, count="exact") == (5, "eq", 0)
            first = srv.get(path, params={"repository": "r/five", "limit": 3}).json()
            last = srv.get(path, params={"repository": "r/five",
                                         "cursor": first["next_cursor"]}).json()
            # the cursor page holds the last 2 rows; its total is still the whole filter's
            assert (len(last["items"]), last["total"], last["next_cursor"]) == (2, 5, None)
            assert {i[key] for i in first["items"] + last["items"]} == {
                i[key] for i in srv.get(path, params={"repository": "r/five"}).json()["items"]}
