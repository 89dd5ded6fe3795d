"""The bounded-total cache of GET /decisions and GET /sessions, on both backends: a total found
above the bound ("total_relation": "gte") is kept per filter for list_count_cache_seconds and
shared by every page of that filter; exact totals are never kept; a session update in this
process forgets what the session filters knew; rows deleted by another process show once the
TTL has run out; and 0 turns the cache off."""
import re
import time

from conftest import cavra, serve, sql
from test_list_totals import BOUND, insert_decisions, insert_sessions, totals


def delete_decisions(db, repository, n):
    """Deletes n of repository's bulk decisions behind the server's back (another process)."""
    ids = ", ".join(f"'bulk-{repository}-{i}'" for i in range(n))
    sql(db, f"DELETE FROM activity_decisions WHERE decision_id IN ({ids})")


def test_a_gte_total_is_kept_per_filter_until_the_ttl_runs_out(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    insert_decisions(db, "r/over", BOUND + 1)
    with serve(db, "--list-count-cache-seconds", "2", tmp=tmp_path) as srv:
        assert totals(srv, "/decisions", repository="r/over") == (BOUND, "gte")
        delete_decisions(db, "r/over", 2)
        started = time.monotonic()
        # within the TTL the kept fact answers, for every page of the same filter
        assert totals(srv, "/decisions", repository="r/over") == (BOUND, "gte")
        env = srv.get("/decisions", params={"repository": "r/over", "limit": 5,
                                            "offset": 7}).json()
        assert (env["total"], env["total_relation"]) == (BOUND, "gte")
        cursor = srv.get("/decisions", params={"repository": "r/over", "limit": 2}).json()[
            "next_cursor"]
        env = srv.get("/decisions", params={"repository": "r/over", "cursor": cursor}).json()
        assert (env["total"], env["total_relation"]) == (BOUND, "gte")
        # a fact lives at least three quarters of the TTL (expiries are spread)
        assert time.monotonic() - started < 1.5, "too slow to test the TTL"
        # never for an exact count, nor for another filter
        assert totals(srv, "/decisions", repository="r/over", count="exact") == (BOUND - 1, "eq")
        assert totals(srv, "/decisions", repository="r/over", decision="allow") == (
            BOUND - 1, "eq")
        time.sleep(max(0.0, 2.2 - (time.monotonic() - started)))
        assert totals(srv, "/decisions", repository="r/over") == (BOUND - 1, "eq")


def test_ttl_0_counts_every_time(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    insert_decisions(db, "r/over", BOUND + 1)
    insert_sessions(db, "r/over", BOUND + 1)
    with serve(db, "--list-count-cache-seconds", "0", tmp=tmp_path) as srv:
        assert totals(srv, "/decisions", repository="r/over") == (BOUND, "gte")
        assert totals(srv, "/sessions") == (BOUND, "gte")
        delete_decisions(db, "r/over", 2)
        sql(db, "DELETE FROM activity_sessions WHERE session_id IN ('bulk-1', 'bulk-2')")
        assert totals(srv, "/decisions", repository="r/over") == (BOUND - 1, "eq")
        assert totals(srv, "/sessions") == (BOUND - 1, "eq")


def test_exact_totals_below_the_bound_are_never_kept(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    insert_decisions(db, "r/near", BOUND - 1)
    with serve(db, "--list-count-cache-seconds", "3600", tmp=tmp_path) as srv:
        assert totals(srv, "/decisions", repository="r/near") == (BOUND - 1, "eq")
        insert_decisions(db, "r/near", 1, start=BOUND - 1)
        assert totals(srv, "/decisions", repository="r/near") == (BOUND, "eq")
        insert_decisions(db, "r/near", 1, start=BOUND)
        assert totals(srv, "/decisions", repository="r/near") == (BOUND, "gte")


def test_a_session_update_here_forgets_the_session_totals(db, tmp_path):
    """POST /sessions can move a session out of a filter (state, agent, repository, pack): the
    kept session totals go at once, however long the TTL."""
    assert cavra("migrate", "up", db=db)[0] == 0
    insert_sessions(db, "r/over", BOUND + 1)
    with serve(db, "--list-count-cache-seconds", "3600", tmp=tmp_path) as srv:
        assert totals(srv, "/sessions", state="active") == (BOUND, "gte")
        assert totals(srv, "/sessions", repository="r/over") == (BOUND, "gte")
        for s in ("bulk-1", "bulk-2"):
            r = srv.post("/sessions", {"session_id": s, "state": "completed"})
            assert r.status_code == 200, r.text
        assert totals(srv, "/sessions", state="active") == (BOUND - 1, "eq")
        assert totals(srv, "/sessions", state="completed") == (2, "eq")
        assert totals(srv, "/sessions", repository="r/over") == (BOUND, "gte")
        # a new session only adds to filters: what is kept stays
        assert totals(srv, "/sessions") == (BOUND, "gte")
        assert srv.post("/sessions", {"session_id": "new-1"}).status_code == 201
        assert totals(srv, "/sessions") == (BOUND, "gte")


def test_the_setting_is_checked(tmp_path):
    for bad in ("-1", "3601", "abc"):
        code, _, err = cavra("serve", "--list-count-cache-seconds", bad,
                             db=f"sqlite:{tmp_path}/cavra.db")
        assert code == 2 and "list_count_cache_seconds" in err, (bad, code, err)
        assert len(err.strip().splitlines()) == 1, err


def test_the_setting_defaults_to_60_seconds_and_reads_the_environment():
    code, out, err = cavra("serve", "--print-config")
    assert code == 0, err
    assert re.search(r"^list_count_cache_seconds\s+= 60\s+\(default\)$", out, re.M), out
    code, out, err = cavra("serve", "--print-config",
                           env={"CAVRA_LIST_COUNT_CACHE_SECONDS": "0"})
    assert code == 0, err
    assert re.search(r"^list_count_cache_seconds\s+= 0\s+\(env\)$", out, re.M), out
