"""Group commit of POST /decisions on both backends: concurrent decisions are written in
shared transactions, every acknowledged one is stored once with its outcome, session
counters stay exact, and a row the database refuses fails alone."""
import concurrent.futures
import os
import sqlite3
import struct
import subprocess
import time

import pytest

from conftest import backend_of, cavra, pg_bindir, serve, sql, sqlite_path
from test_tokens import bearer, make_token

# (target, decision) of execute_command under the baseline pack
ACTIONS = [("pytest -q", "allow"), ("terraform apply -auto-approve", "block"),
           ("make deploy", "require_approval"), ("ls -la", "allow")]
SESSIONS = ["gc-a", "gc-b", "gc-c", "gc-d", "gc-e"]
WORKERS = 32


@pytest.fixture
def srv(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    # the tests hold the write lock for about a second after the first writer waits on it,
    # longer on a loaded machine: the default 2 s lock timeout would fail that writer
    with serve(db, "--db-lock-timeout-ms", "10000", "--db-statement-timeout-ms", "20000",
               "--request-timeout-ms", "30000", tmp=tmp_path) as s:
        yield s


def post(srv, i, session=None):
    target = ACTIONS[i % len(ACTIONS)][0]
    sess = session or SESSIONS[i % len(SESSIONS)]
    r = srv.post("/decisions", {"session_id": sess, "agent_id": f"agent-{i % 3}",
                                "repository": f"acme/r{i % 2}",
                                "action_type": "execute_command", "target": target})
    return sess, r.status_code, r.json()


class WriteLock:
    """Holds the database's write lock from another connection, so that the decisions
    posted meanwhile queue up and are written as batches once it is released."""

    def __init__(self, db):
        self.db, self.proc, self.con = db, None, None

    def __enter__(self):
        if backend_of(self.db) == "postgres":
            self.proc = subprocess.Popen(
                [os.path.join(pg_bindir(), "psql"), self.db, "-X", "-q", "-v", "ON_ERROR_STOP=1"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
            self.proc.stdin.write("BEGIN;\nLOCK TABLE activity_decisions IN EXCLUSIVE MODE;\n"
                                  "SELECT 1;\n")
            self.proc.stdin.flush()
            wait_for(lambda: sql(self.db, "SELECT count(*) FROM pg_locks WHERE mode = "
                                          "'ExclusiveLock' AND granted AND relation = "
                                          "'activity_decisions'::regclass")[0][0] == "1")
        else:
            self.con = sqlite3.connect(sqlite_path(self.db), isolation_level=None)
            self.con.execute("BEGIN IMMEDIATE")
        return self

    def waiting_writers(self):
        if backend_of(self.db) != "postgres":
            return None
        return int(sql(self.db, "SELECT count(*) FROM pg_locks WHERE NOT granted AND "
                                "relation = 'activity_decisions'::regclass")[0][0])

    def __exit__(self, *exc):
        if self.proc:
            self.proc.stdin.write("COMMIT;\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        else:
            self.con.execute("COMMIT")
            self.con.close()


def wait_for(cond, limit=30):
    deadline = time.time() + limit
    while not cond():
        assert time.time() < deadline, "condition not reached"
        time.sleep(0.05)


def post_many_behind_lock(srv, db, n, poison=None):
    """Posts n decisions from WORKERS threads while the write lock is held; index poison
    goes to session 'poison'.  Returns [(session, status, body)] in index order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        with WriteLock(db) as lock:
            futs = [pool.submit(post, srv, i, "poison" if i == poison else None)
                    for i in range(n)]
            if lock.waiting_writers() is not None:
                wait_for(lambda: lock.waiting_writers() >= 1)
            time.sleep(1)  # lets the other requests queue behind the blocked writers
        return [f.result() for f in futs]


def check_stored(db, results):
    """Every 201 is stored once with its outcome; the counters are the sums of the 201s."""
    ok = [(s, body) for s, code, body in results if code == 201]
    rows = {r[0]: (r[1], r[2]) for r in sql(
        db, "SELECT decision_id, session_id, decision FROM activity_decisions")}
    assert len(rows) == len(ok)
    want = {}
    for s, body in ok:
        assert rows[body["decision_id"]] == (s, body["decision"])
        n, b, a = want.get(s, (0, 0, 0))
        want[s] = (n + 1, b + (body["decision"] == "block"),
                   a + (body["decision"] == "require_approval"))
    got = {r[0]: tuple(int(x) for x in r[1:]) for r in sql(
        db, "SELECT session_id, decision_count, blocked_count, approval_required_count "
            "FROM activity_sessions")}
    assert got == want
    return rows


def test_concurrent_decisions_are_stored_once_with_exact_counters(srv, db):
    results = post_many_behind_lock(srv, db, 300)
    assert [code for _, code, _ in results] == [201] * 300
    check_stored(db, results)
    for s in SESSIONS:
        got = srv.get(f"/sessions/{s}").json()
        assert got["decision_count"] == 60
        # the first decision of the session gave it its agent and repository
        assert got["agent_id"].startswith("agent-") and got["repository"].startswith("acme/r")
        # a session starts at the time of a decision of the transaction that created it
        times = {r[0] for r in sql(db, f"SELECT decided_at FROM activity_decisions "
                                       f"WHERE session_id = '{s}'")}
        started = sql(db, f"SELECT started_at FROM activity_sessions WHERE session_id = '{s}'")
        assert started[0][0] in times


def test_concurrent_decisions_share_transactions_on_postgres(srv, db):
    if backend_of(db) != "postgres":
        pytest.skip("SQLite rows carry no transaction id")
    results = post_many_behind_lock(srv, db, 120)
    assert [code for _, code, _ in results] == [201] * 120
    check_stored(db, results)
    # xmin is the id of the transaction that wrote the row
    txs = int(sql(db, "SELECT count(DISTINCT xmin::text) FROM activity_decisions")[0][0])
    assert txs < 120


def add_poison_trigger(db):
    if backend_of(db) == "postgres":
        sql(db, "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.session_id = 'poison' THEN RAISE EXCEPTION 'poisoned row'; END IF; "
                "RETURN NEW; END $$; CREATE TRIGGER poison BEFORE INSERT ON activity_decisions "
                "FOR EACH ROW EXECUTE FUNCTION poison()")
    else:
        sql(db, "CREATE TRIGGER poison BEFORE INSERT ON activity_decisions "
                "WHEN NEW.session_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END")


def test_a_refused_row_fails_alone_and_the_others_are_written_once(srv, db):
    add_poison_trigger(db)
    results = post_many_behind_lock(srv, db, 120, poison=57)
    codes = [code for _, code, _ in results]
    # SQLite reports a trigger's RAISE(ABORT) as a constraint (409), PostgreSQL as 500
    assert codes[57] in (409, 500)
    assert codes[:57] + codes[58:] == [201] * 119
    rows = check_stored(db, results)
    assert "poison" not in {s for s, _ in rows.values()}
    assert sql(db, "SELECT count(*) FROM activity_sessions WHERE session_id = 'poison'") == [["0"]]


def race_setup(srv, db):
    """The sessions of SESSIONS started; two agents' tokens, each used once, so that their use
    behind the write lock writes no last_used_at (at most one a minute), which would hold the
    requests back until the lock is gone."""
    for i in range(len(SESSIONS)):
        assert post(srv, i)[1] == 201
    tokens = [make_token(db, f"gc-race-{i}", "agent") for i in range(2)]
    for t in tokens:
        assert srv.get("/auth/whoami", headers=bearer(t)).status_code == 200
    return tokens


def behind_lock(srv, db, extra):
    """WORKERS decisions in existing sessions and the requests extra sends (callables), all
    queued behind the write lock; the former's results (all 201) and the latter's responses."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS + len(extra)) as pool:
        with WriteLock(db) as lock:
            futs = [pool.submit(post, srv, i) for i in range(WORKERS)]
            others = [pool.submit(f) for f in extra]
            if lock.waiting_writers() is not None:
                wait_for(lambda: lock.waiting_writers() >= 1)
            time.sleep(1)
        results = [f.result() for f in futs]
        responses = [f.result() for f in others]
    assert [c for _, c, _ in results] == [201] * WORKERS
    return results, responses


def first_in_new_session(srv, token):
    return lambda: srv.post("/decisions", {"session_id": "gc-new", "action_type": "read_file",
                                           "target": "x"}, headers=bearer(token))


def same_key(srv):
    """A decision in an existing session sent with one Idempotency-Key, as a harness's retry
    sent too early."""
    return lambda: srv.post("/decisions", {"session_id": SESSIONS[0], "action_type": "read_file",
                                           "target": "x"}, headers={"Idempotency-Key": '"gc-key"'})


def owner_race(srv, db, tokens):
    """Two callers' first decisions in one new session: exactly one gets it."""
    results, responses = behind_lock(srv, db, [first_in_new_session(srv, t) for t in tokens])
    assert sorted(r.status_code for r in responses) == [201, 403]
    return results


def key_race(srv, db, tokens):
    """One caller's decision twice with one Idempotency-Key: one decision, answered twice (the
    tokens are not needed: the requests carry none, as the others behind the lock)."""
    del tokens
    results, responses = behind_lock(srv, db, [same_key(srv)] * 2)
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert len({r.json()["decision_id"] for r in responses}) == 1
    return results


RACES = {"owners": owner_race, "idempotency_key": key_race}


@pytest.mark.parametrize("race", list(RACES))
def test_callers_racing_cost_their_batch_little(srv, db, race):
    """A batch whose transaction fails for one caller's row (two callers starting one session,
    whose write settles the owner; a request sent twice at once with one Idempotency-Key, whose
    second row fails the unique index) is written again: its rows in existing sessions together,
    then in halves down to the bad row, not each in a transaction of its own as before, so a
    caller cannot make every other caller of its batches pay a commit of its own.  PostgreSQL's
    xmin names the transaction that wrote a row."""
    if backend_of(db) != "postgres":
        pytest.skip("SQLite rows carry no transaction id: the next test counts its commits")
    results = RACES[race](srv, db, race_setup(srv, db))
    plain = sql(db, "SELECT count(DISTINCT xmin::text), count(*) FROM activity_decisions "
                    "WHERE session_id <> 'gc-new' AND decision_id IN (%s)"
                % ", ".join(f"'{b['decision_id']}'" for _, _, b in results))
    txs, rows = (int(x) for x in plain[0])
    assert rows == WORKERS and txs <= 8, (txs, rows)


def wal_commits(path):
    """(the log's salts, its commits so far): the frames of the log's current cycle (those that
    carry the header's salts) that end a transaction (a database size after the commit)."""
    with open(path + "-wal", "rb") as f:
        wal = f.read()
    psz, salts = struct.unpack(">I", wal[8:12])[0], wal[16:24]
    commits, off = 0, 32
    while off + 24 + psz <= len(wal) and wal[off + 8:off + 16] == salts:
        commits += struct.unpack(">I", wal[off + 4:off + 8])[0] != 0
        off += 24 + psz
    return salts, commits


@pytest.mark.parametrize("race", list(RACES))
def test_sqlite_callers_racing_cost_their_batch_little(db, tmp_path, race):
    """The same on SQLite, counted in the write-ahead log: its commits while the race's batch
    is written (the checkpointer kept away, so the log does not start over meanwhile)."""
    if backend_of(db) != "sqlite":
        pytest.skip("counts SQLite's log")
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, "--sqlite-checkpoint-pages", "1000000", "--db-lock-timeout-ms", "10000",
               "--db-statement-timeout-ms", "20000", "--request-timeout-ms", "30000",
               tmp=tmp_path) as srv:
        tokens = race_setup(srv, db)
        before = wal_commits(sqlite_path(db))
        RACES[race](srv, db, tokens)
        after = wal_commits(sqlite_path(db))
    assert after[0] == before[0], "the log started over during the test"
    assert after[1] - before[1] <= 10, (before, after)


def wal_restarts(path):
    """The -wal file's checkpoint sequence number (its header's bytes 12-15, big-endian), which
    SQLite raises each time it starts the log over from its beginning."""
    with open(path + "-wal", "rb") as f:
        return int.from_bytes(f.read(16)[12:16], "big")


def test_sqlite_log_starts_over_under_sustained_writes(srv, db):
    """SQLite's log is checkpointed on a thread beside the commits (store_sqlite_ckpt.h),
    which turns SQLite's own checkpoint off: under writes that never pause, the log still
    starts over from its beginning instead of growing with every decision (a checkpointer
    that never runs fails here; the tail's part is store_sqlite_ckpt_test's), and every
    acknowledged decision is stored once with exact counters."""
    if backend_of(db) != "sqlite":
        pytest.skip("the log checked here is SQLite's")
    path, results = sqlite_path(db), []
    start = wal_restarts(path)
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        while wal_restarts(path) == start:
            assert len(results) < 20000, "the log did not start over"
            results += ex.map(lambda i: post(srv, i), range(len(results), len(results) + 500))
    assert [code for _, code, _ in results] == [201] * len(results)
    # 8,000 pages between checkpoints, plus what commits add while one runs
    assert os.path.getsize(path + "-wal") < 16000 * 4120
    check_stored(db, results)
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def test_sqlite_checkpoint_pages_bounds_the_log(db, tmp_path):
    """sqlite_checkpoint_pages (docs/config.md) sets the log's size that wakes the
    checkpointer: at 200 pages the log starts over long before the default's 8,000 and its
    file stays a small fraction of that size, every decision stored once."""
    if backend_of(db) != "sqlite":
        pytest.skip("the log checked here is SQLite's")
    assert cavra("migrate", "up", db=db)[0] == 0
    path, results = sqlite_path(db), []
    with serve(db, "--sqlite-checkpoint-pages", "200", "--db-lock-timeout-ms", "10000",
               "--request-timeout-ms", "30000", tmp=tmp_path) as s:
        start = wal_restarts(path)
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            while wal_restarts(path) < start + 2:
                assert len(results) < 2000, "the log did not start over twice"
                results += ex.map(lambda i: post(s, i), range(len(results), len(results) + 50))
        assert os.path.getsize(path + "-wal") < 2000 * 4120
    assert [code for _, code, _ in results] == [201] * len(results)
    check_stored(db, results)
