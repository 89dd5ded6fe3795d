"""Bounded waits and honest failures: a locked table, an exhausted pool and a full disk answer
503 with a JSON error and Retry-After instead of waiting without limit or answering 500;
/readyz says which of them is wrong; nothing is half-written and every acknowledged decision
stays."""
import concurrent.futures
import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

from conftest import backend_of, cavra, pg_bindir, psql, serve, sql, sqlite_path

# Small waits so that the tests do not sit out the defaults.
FAST = ("--db-lock-timeout-ms", "300", "--db-statement-timeout-ms", "1000",
        "--request-timeout-ms", "2000")
# Waits long enough that a request holds its connection while the test looks at /readyz.
SLOW = ("--db-lock-timeout-ms", "20000", "--db-statement-timeout-ms", "25000",
        "--request-timeout-ms", "25000")


def decision(session="s-bounded"):
    return {"action_type": "execute_command", "target": "pytest -q", "session_id": session,
            "agent_id": "agent-1"}


def counts(db):
    """(decisions, the session counters' sum): they must always agree."""
    n = int(sql(db, "SELECT COUNT(*) FROM activity_decisions")[0][0])
    c = sql(db, "SELECT COALESCE(SUM(decision_count), 0) FROM activity_sessions")[0][0]
    return n, int(c)


def assert_503(r, code):
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["code"] == code and body["request_id"] and body["detail"], body
    assert int(r.headers["Retry-After"]) >= 1
    assert "internal" not in r.text


@contextlib.contextmanager
def table_locked(db, table="activity_decisions"):
    """Another session holds table (PostgreSQL) or the write lock (SQLite)."""
    if backend_of(db) == "postgres":
        p = subprocess.Popen([os.path.join(pg_bindir(), "psql"), db, "-X", "-q"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        p.stdin.write(f"BEGIN;\nLOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\n"
                      "SELECT pg_sleep(0);\n")
        p.stdin.flush()
        q = ("SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
             f"WHERE c.relname = '{table}' AND l.mode = 'AccessExclusiveLock' "
             "AND l.granted")
        for _ in range(200):
            if psql(db, q) == "1":
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the lock was not taken")
        try:
            yield
        finally:
            p.stdin.write("COMMIT;\n")
            p.stdin.close()
            p.wait(timeout=30)
    else:
        con = sqlite3.connect(sqlite_path(db), isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            con.execute("COMMIT")
            con.close()


# Which wait runs out first: the lock wait (PostgreSQL 55P03, SQLite's busy timeout) or the
# statement (PostgreSQL 57014; SQLite has no statement timeout).
LOCKED = [("lock", FAST),
          ("statement", ("--db-lock-timeout-ms", "20000", "--db-statement-timeout-ms", "300",
                         "--request-timeout-ms", "30000"))]


@pytest.mark.parametrize("first,args", LOCKED, ids=[x[0] for x in LOCKED])
def test_locked_table_answers_503_then_writes(db, tmp_path, first, args):
    if first == "statement" and backend_of(db) == "sqlite":
        pytest.skip("SQLite has no statement timeout: its busy timeout bounds the wait")
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, *args, tmp=tmp_path) as srv:
        assert srv.post("/decisions", decision()).status_code == 201
        before = counts(db)
        with table_locked(db):
            r = requests.post(srv.base + "/decisions", json=decision(), timeout=15)
            assert_503(r, "timeout")
        assert counts(db) == before  # nothing of the refused decision was written
        r = srv.post("/decisions", decision())
        assert r.status_code == 201, r.text
        assert counts(db) == (before[0] + 1, before[1] + 1)
        assert srv.get("/readyz").status_code == 200
    want = {"lock": ("lock timeout", "database is locked"),
            "statement": ("statement timeout",)}[first]
    assert any(w in srv.stderr() for w in want), srv.stderr()


def test_a_token_lookup_that_times_out_answers_503_not_401(pg_db, tmp_path):
    """The API token's lookup waits on a locked api_tokens: a database fault is a 503 to
    retry, never a 401 telling the agent its token is bad (nor a crash of the server)."""
    db = pg_db
    assert cavra("migrate", "up", db=db)[0] == 0
    code, out, err = cavra("tokens", "create", "--name", "locked-agent", "--role", "agent", db=db)
    assert code == 0, err
    auth = {"Authorization": "Bearer " + out.strip().splitlines()[-1]}
    with serve(db, *FAST, tmp=tmp_path) as srv:
        with table_locked(db, "api_tokens"):
            r = requests.post(srv.base + "/decisions", json=decision(), headers=auth,
                              timeout=15)
            assert_503(r, "timeout")
            assert "WWW-Authenticate" not in r.headers
        r = requests.post(srv.base + "/decisions", json=decision(), headers=auth, timeout=15)
        assert r.status_code == 201, r.text


def test_readyz_reports_an_exhausted_pool_without_waiting_in_it(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, "--db-pool-size", "1", *SLOW, tmp=tmp_path) as srv, \
            concurrent.futures.ThreadPoolExecutor(2) as ex:
        with table_locked(db):
            held = ex.submit(srv.post, "/decisions", decision())  # takes the only connection
            time.sleep(0.2)
            waiting = ex.submit(srv.get, "/decisions")  # waits in the pool for it
            problem = None
            for _ in range(100):
                r = requests.get(srv.base + "/readyz", timeout=10)
                problem = r.json().get("problem")
                if problem == "pool_exhausted":
                    break
                time.sleep(0.1)
            assert r.status_code == 503 and problem == "pool_exhausted", r.text
            assert "db_pool_size" in r.json()["reason"]
        assert held.result().status_code == 201
        assert waiting.result().status_code == 200
        assert srv.get("/readyz").status_code == 200
    assert "readyz: not ready: pool_exhausted" in srv.stderr()


def test_request_deadline_bounds_the_wait_for_a_connection(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    args = ("--db-pool-size", "1", "--db-lock-timeout-ms", "20000",
            "--db-statement-timeout-ms", "25000", "--request-timeout-ms", "500")
    with serve(db, *args, tmp=tmp_path) as srv, concurrent.futures.ThreadPoolExecutor(1) as ex:
        with table_locked(db):
            held = ex.submit(srv.post, "/decisions", decision())
            time.sleep(0.3)
            r = requests.get(srv.base + "/decisions", timeout=15)
            assert_503(r, "timeout")
        assert held.result().status_code == 201
    assert "request deadline passed" in srv.stderr()


def fill(path):
    """Writes a file until the file system is full; returns its path."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 16, 1 << 10, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"x" * size) > 0:
                    pass
    finally:
        os.close(fd)
    return filler


@contextlib.contextmanager
def small_tmpfs(size):
    """A tmpfs of size mounted on a new directory other users can reach (PostgreSQL's)."""
    path = tempfile.mkdtemp(prefix="cavra-small-")
    os.chmod(path, 0o755)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], check=False)
        shutil.rmtree(path, ignore_errors=True)


def post_until_full(srv, acked, limit=2000):
    for i in range(limit):
        r = srv.post("/decisions", decision(f"s-full-{i % 3}"))
        if r.status_code != 201:
            return r
        acked.append(r.json()["decision_id"])
    raise AssertionError("the disk never filled up")


def test_sqlite_disk_full_answers_storage_full_and_recovers(tmp_path):
    with small_tmpfs("16m") as mnt:
        db = f"sqlite:{mnt}/cavra.db"
        assert cavra("migrate", "up", db=db)[0] == 0
        acked = []
        with serve(db, tmp=tmp_path) as srv:
            for _ in range(5):
                r = srv.post("/decisions", decision("s-full-0"))
                assert r.status_code == 201, r.text
                acked.append(r.json()["decision_id"])
            filler = fill(mnt)
            r = post_until_full(srv, acked)
            assert_503(r, "storage_full")
            for _ in range(3):  # the connection is not reopened on each failure
                assert_503(srv.post("/decisions", decision("s-full-1")), "storage_full")
            r = srv.get("/readyz")
            assert r.status_code == 503 and r.json()["problem"] == "storage_full", r.text
            os.unlink(filler)
            r = srv.post("/decisions", decision("s-full-2"))
            assert r.status_code == 201, r.text
            acked.append(r.json()["decision_id"])
            assert srv.get("/readyz").status_code == 200
            for d in acked:
                assert srv.get(f"/decisions/{d}").status_code == 200, d
        log = srv.stderr()
        n, c = counts(db)
        assert n == c == len(acked)
    assert "status=storage_full http=503" in log
    assert "rollback failed" not in log and "dropping the connection" not in log
    assert "readyz: not ready: storage_full" in log


def test_postgres_disk_full_answers_storage_full_and_recovers(pg_db, tmp_path):
    """The decisions table on a tablespace of its own on a small tmpfs."""
    ts = "t_small_" + uuid.uuid4().hex[:8]
    with small_tmpfs("2m") as mnt:
        shutil.chown(mnt, "postgres")
        assert cavra("migrate", "up", db=pg_db)[0] == 0
        psql(pg_db, f"CREATE TABLESPACE {ts} LOCATION '{mnt}'")
        try:
            psql(pg_db, f"ALTER TABLE activity_decisions SET TABLESPACE {ts}")
            acked = []
            with serve(pg_db, tmp=tmp_path) as srv:
                filler = fill(mnt)
                r = post_until_full(srv, acked, limit=20000)
                assert_503(r, "storage_full")
                r = srv.get("/readyz")
                assert r.status_code == 503 and r.json()["problem"] == "storage_full", r.text
                os.unlink(filler)
                r = srv.post("/decisions", decision("s-full-2"))
                assert r.status_code == 201, r.text
                acked.append(r.json()["decision_id"])
                assert srv.get("/readyz").status_code == 200
            n, c = counts(pg_db)
            assert n == c == len(acked)
        finally:
            psql(pg_db, "ALTER TABLE activity_decisions SET TABLESPACE pg_default", check=False)
            psql(pg_db, f"DROP TABLESPACE IF EXISTS {ts}", check=False)
