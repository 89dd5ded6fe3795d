"""Interrupted ops commands leave nothing behind (docs/operations.md, "Interrupted commands"),
with the real binary on both backends: each command is started on a database large enough
that it runs a while, sent SIGINT or SIGTERM once it is under way (seen from the files or
queries it starts, not from a fixed sleep), and then must exit with 128 + the signal, say why
in one line on stderr, leave no file it wrote (a backup's directory as it was before, no
.cavra.db.restore-* file, no cavra-restore-test-* scratch directory), leave a PostgreSQL
target as it was, and succeed when run again.  migrate up adopting an original pilot leaves
no copy of it beside it and the pilot as it was.  A command waiting in one PostgreSQL
statement (behind a lock another session holds) stops as promptly, its statement cancelled."""
import glob
import hashlib
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

import original_fixture as orig
from conftest import (CAVRA, LATEST, REPO, SANITIZER_MARKS, cavra, copy_migrations, pg_bindir,
                      psql, sql, until)
from test_import import ACTIVITY
from test_ops import DATA_TABLES, counts, ok

DECISIONS = 6000  # enough for each command to be under way for a while under ASan


def seed(db, n):
    """n decisions and their sessions, with bench/seed.sh's generator (not chained yet)."""
    ok(cavra("migrate", "up", db=db))
    target = db[len("sqlite:"):] if db.startswith("sqlite:") else db
    r = subprocess.run(["bash", os.path.join(REPO, "bench", "seed.sh"), target, str(n)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def fresh_db(request, tmp, backend):
    """(url, PostgreSQL database name or None) of a new database on backend."""
    if backend == "sqlite":
        return f"sqlite:{tmp}/cavra.db", None
    name, url = new_pg_db(request.getfixturevalue("pg"))
    return url, name


def drop(request, name):
    if name:
        psql(request.getfixturevalue("pg").url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
             check=False)


def new_pg_db(pg):
    name = "t_" + uuid.uuid4().hex[:12]
    psql(pg.url(), f"CREATE DATABASE {name}")
    return name, pg.url(name)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def big(request, tmp_path_factory):
    """A seeded, chained database and a backup of it, per backend."""
    tmp = tmp_path_factory.mktemp("big")
    db, name = fresh_db(request, tmp, request.param)
    seed(db, DECISIONS)
    ok(cavra("audit", "adopt", db=db, timeout=300))  # chained, as a restore checks
    bk = tmp / "bk"
    ok(cavra("ops", "backup", "--output", str(bk), db=db, timeout=300))
    yield db, str(bk)
    drop(request, name)


def start(args, db, tmp_path, tmpdir=None):
    """Starts the binary with stdout and stderr in files; returns (process, read_output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    if tmpdir:
        env["TMPDIR"] = str(tmpdir)
    tag = uuid.uuid4().hex[:8]
    out, err = tmp_path / f"out-{tag}", tmp_path / f"err-{tag}"
    with open(out, "wb") as o, open(err, "wb") as e:
        p = subprocess.Popen([CAVRA, *args, "--database", db], stdin=subprocess.DEVNULL,
                             stdout=o, stderr=e, env=env)

    def output():
        return out.read_text(), err.read_text()
    return p, output


def interrupt(p, output, ready, sig, what, wait=120):
    """Waits (polling every 5 ms) until ready() or the process ends, sends sig, and returns
    (exit code, stdout, stderr); fails when the process ended before it was under way, or
    when it did not end within wait seconds of the signal (then it is killed)."""
    deadline = time.time() + 120
    while not ready():
        assert p.poll() is None, f"{what} ended before it was under way: {output()}"
        assert time.time() < deadline, f"{what} never got under way"
        time.sleep(0.005)
    p.send_signal(sig)
    try:
        code = p.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail(f"{what} still ran {wait} s after {sig.name}: {output()}")
    out, err = output()
    for mark in SANITIZER_MARKS:
        assert mark not in err, err
    return code, out, err


def reason(err, sig):
    """The command's own lines on stderr (progress lines aside): one, naming the signal."""
    lines = [l for l in err.splitlines() if l.startswith("cavra:")]
    assert len(lines) == 1, err
    assert f"interrupted by {signal.Signals(sig).name}" in lines[0], err
    return lines[0]


def records(db):
    """The operations records (backups, restores, restore tests) the database holds."""
    return sql(db, "SELECT count(*) FROM operations_records")


def stopped(code, err, sig):
    assert code == 128 + sig, f"exit {code}: {err}"
    reason(err, sig)


def test_interrupted_backup_removes_what_it_wrote(big, tmp_path):
    db, _ = big
    recorded = records(db)
    # a directory the operator made stays, empty
    made = tmp_path / "made"
    made.mkdir()
    p, output = start(["ops", "backup", "--output", str(made)], db, tmp_path)
    code, _, err = interrupt(p, output, lambda: os.listdir(made), signal.SIGTERM, "backup")
    assert os.listdir(made) == []
    stopped(code, err, signal.SIGTERM)
    # a directory the backup made goes
    new = tmp_path / "new" / "bk"
    p, output = start(["ops", "backup", "--output", str(new)], db, tmp_path)
    code, _, err = interrupt(p, output, lambda: os.path.isdir(new) and os.listdir(new),
                             signal.SIGINT, "backup")
    assert not new.exists(), os.listdir(new)
    stopped(code, err, signal.SIGINT)
    # nothing recorded, and the same command then succeeds
    assert records(db) == recorded
    ok(cavra("ops", "backup", "--output", str(new), db=db, timeout=300))
    assert os.path.exists(new / "manifest.json")


def pg_copying(url, dbname):
    return lambda: psql(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                             f"'{dbname}' AND query LIKE 'COPY%' AND state = 'active'") != "0"


def test_interrupted_restore_leaves_the_target_as_it_was(big, tmp_path, request):
    db, bk = big
    if db.startswith("sqlite:"):
        target = tmp_path / "restored"
        args = ["ops", "restore", bk, "--target-dir", str(target)]
        ready = lambda: glob.glob(str(target / ".cavra.db.restore-*"))  # noqa: E731
        before = None
    else:
        pg = request.getfixturevalue("pg")
        name, url = new_pg_db(pg)
        ok(cavra("migrate", "up", db=url))
        ok(cavra("tokens", "create", "--name", "kept", "--role", "agent", db=url))
        before = counts(url, DATA_TABLES + ["audit_chain", "schema_migrations"])
        args = ["ops", "restore", bk, "--target-url", url, "--overwrite"]
        ready = pg_copying(pg.url(), name)
    recorded = records(db)
    p, output = start(args, db, tmp_path)
    code, _, err = interrupt(p, output, ready, signal.SIGINT, "restore")
    if before is None:
        assert not target.exists(), os.listdir(target)
    else:
        assert counts(url, DATA_TABLES + ["audit_chain", "schema_migrations"]) == before
        assert sql(url, "SELECT name FROM api_tokens") == [["kept"]]
    stopped(code, err, signal.SIGINT)
    assert records(db) == recorded
    code, out, err = cavra(*args, db=db, timeout=300)
    assert code == 0, err
    restored = f"sqlite:{target}/cavra.db" if before is None else url
    assert sql(restored, "SELECT count(*) FROM activity_decisions") == [[str(DECISIONS)]]


def test_interrupted_restore_test_removes_its_scratch_directory(big, tmp_path):
    db, bk = big
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    def loading():
        return glob.glob(str(scratch / "cavra-restore-test-*" / ".cavra.db.restore-*"))
    recorded = records(db)
    p, output = start(["ops", "restore-test", bk], db, tmp_path, tmpdir=scratch)
    code, _, err = interrupt(p, output, loading, signal.SIGINT, "restore-test")
    assert os.listdir(scratch) == []
    stopped(code, err, signal.SIGINT)
    # an interrupted test says nothing about the backup: it is not recorded as a failed one
    assert records(db) == recorded
    code, out, err = cavra("ops", "restore-test", bk, db=db, env={"TMPDIR": str(scratch)},
                           timeout=300)
    assert code == 0, err + out
    assert os.listdir(scratch) == []


def test_interrupted_audit_adopt_chains_nothing(big, tmp_path, request):
    db, name = fresh_db(request, tmp_path, "sqlite" if big[0].startswith("sqlite:") else "pg")
    seed(db, 2000)
    p, output = start(["audit", "adopt", "--progress"], db, tmp_path)
    code, _, err = interrupt(p, output, lambda: "audit chain" in output()[1], signal.SIGINT,
                             "audit adopt")
    # one transaction, rolled back: still nothing chained, still waiting
    assert sql(db, "SELECT count(*) FROM audit_chain") == [["0"]]
    stopped(code, err, signal.SIGINT)
    ok(cavra("audit", "adopt", db=db, timeout=300))
    # the decisions and their sessions (docs/audit.md)
    sessions = sql(db, "SELECT count(*) FROM activity_sessions")[0][0]
    assert int(sessions) > 0
    assert sql(db, "SELECT count(*) FROM audit_chain") == [[str(2000 + int(sessions))]]
    drop(request, name)


def test_interrupted_adoption_of_an_original_pilot_leaves_it_as_it_was(tmp_path):
    path = tmp_path / "pilot.db"
    recs = orig.records()
    recs["activity_decisions"] += [
        orig.decision(f"dec_bulk_{i:05d}", "pilot-9", "allow", orig.T2) for i in range(2000)]
    orig.build(str(path), recs=recs)
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    def copying():
        return glob.glob(f"{path}.cavra-adopt-*")
    p, output = start(["migrate", "up"], f"sqlite:{path}", tmp_path)
    code, _, err = interrupt(p, output, copying, signal.SIGTERM, "migrate up")
    # the pilot as it was, and no copy of it beside it
    assert glob.glob(f"{path}*") == [str(path)]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    stopped(code, err, signal.SIGTERM)
    ok(cavra("migrate", "up", db=f"sqlite:{path}", timeout=300))
    assert sql(f"sqlite:{path}", "SELECT count(*) FROM activity_decisions") == [
        [str(len(recs["activity_decisions"]))]]


def import_args(db, tmp_path, prefix):
    """Migrates db and writes an activity file of 3,000 decisions in 60 sessions; returns the
    arguments of its import, with progress on stderr (what the tests wait for)."""
    template = ACTIVITY["decisions"][2]
    decisions = [dict(template, decision_id=f"dec_{i:012x}", session_id=f"{prefix}-{i // 50}",
                      correlation_id=f"corr_{i:012x}") for i in range(3000)]
    path = tmp_path / "activity.json"
    path.write_text(json.dumps({"decisions": decisions, "sessions": []}))
    ok(cavra("migrate", "up", db=db))
    return ["ops", "import", "--json", str(path), "--store", "activity", "--progress"]


def test_interrupted_import_imports_nothing(db, tmp_path):
    args = import_args(db, tmp_path, "imp")
    p, output = start(args, db, tmp_path)
    code, _, err = interrupt(p, output, lambda: "activity" in output()[1], signal.SIGINT,
                             "ops import")
    # the store's file is one transaction: rolled back, nothing chained
    assert sql(db, "SELECT count(*) FROM activity_decisions") == [["0"]]
    assert sql(db, "SELECT count(*) FROM audit_chain") == [["0"]]
    stopped(code, err, signal.SIGINT)
    ok(cavra(*args, db=db, timeout=300))
    assert sql(db, "SELECT count(*) FROM activity_decisions") == [["3000"]]


def test_import_killed_while_it_chains_leaves_nothing_unchained(db, tmp_path):
    """An import chains what it wrote inside its own transaction: killed (SIGKILL, no clean-up
    possible) while it chains, it leaves nothing, and the next run imports and chains all.  When
    the chain was written after the commit, such a kill left the decisions without entries for
    good: the next run of the same file changed nothing, so it chained nothing."""
    args = import_args(db, tmp_path, "kil")
    p, output = start(args, db, tmp_path)
    interrupt(p, output, lambda: "audit chain" in output()[1], signal.SIGKILL, "ops import")
    chained = sql(db, "SELECT count(*) FROM audit_chain")[0][0]
    assert sql(db, "SELECT count(*) FROM activity_decisions") == [[chained]]
    ok(cavra(*args, db=db, timeout=300))
    assert sql(db, "SELECT count(*) FROM activity_decisions") == [["3000"]]
    ok(cavra("audit", "verify", db=db, timeout=300))


@pytest.fixture(scope="module")
def small_pg(request, tmp_path_factory):
    """A seeded, chained PostgreSQL database and a backup of it."""
    tmp = tmp_path_factory.mktemp("small")
    name, db = new_pg_db(request.getfixturevalue("pg"))
    seed(db, 50)
    ok(cavra("audit", "adopt", db=db))
    bk = tmp / "bk"
    ok(cavra("ops", "backup", "--output", str(bk), db=db))
    yield db, str(bk)
    drop(request, name)


class Locker:
    """A psql session holding ACCESS EXCLUSIVE on a table in an open transaction, so that
    every statement of anyone else reading it waits (cavra sets no lock_timeout outside
    serve)."""

    def __init__(self, url, table):
        self.p = subprocess.Popen(
            [os.path.join(pg_bindir(), "psql"), url, "-X", "-q", "-v", "ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True)
        self.p.stdin.write(f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\n")
        self.p.stdin.flush()
        until(lambda: psql(url, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON "
                                f"c.oid = l.relation WHERE c.relname = '{table}' AND "
                                "l.mode = 'AccessExclusiveLock' AND l.granted") == "1",
              f"psql never locked {table}")

    def release(self):
        if self.p.poll() is None:
            self.p.stdin.write("ROLLBACK;\n")
            self.p.stdin.close()
            self.p.wait(timeout=60)


def cavra_statements(url, where):
    """How many of cavra's connections to url's database are in the state where says."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    return psql(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cavra' "
                     f"AND datname = '{name}' AND {where}")


# (command, its arguments after "cavra" given the backup, an output directory, a target and a
# migrations directory with one more migration): each waits on the lock in one statement, in
# the database or the target
BLOCKED = [
    ("audit verify", lambda bk, out, target, mig: ["audit", "verify"]),
    ("ops backup", lambda bk, out, target, mig: ["ops", "backup", "--output", out]),
    ("ops restore", lambda bk, out, target, mig: ["ops", "restore", bk, "--target-url", target,
                                                  "--overwrite"]),
    ("migrate up", lambda bk, out, target, mig: ["migrate", "up", "--migrations-dir", mig]),
]


@pytest.mark.parametrize("what,argv", BLOCKED, ids=[b[0] for b in BLOCKED])
def test_interrupt_cancels_a_waiting_postgres_statement(small_pg, what, argv, tmp_path, request):
    """SIGINT cancels the statement the command waits in: it exits 130 while the lock is still
    held, says why in one line, writes nothing, and none of its statements is left running on
    the server.  Before, the signal was noted and the command went on waiting for the lock."""
    db, bk = small_pg
    out = tmp_path / "bk"
    target, name = None, None
    if what == "ops restore":
        name, target = new_pg_db(request.getfixturevalue("pg"))
        ok(cavra("migrate", "up", db=target))
        ok(cavra("tokens", "create", "--name", "kept", "--role", "agent", db=target))
    mig = copy_migrations(tmp_path, "postgres")
    with open(os.path.join(mig, f"{LATEST + 1:03d}_blocked.sql"), "w") as f:
        f.write("CREATE INDEX activity_decisions_blocked ON activity_decisions (decision_id);\n")
    locked = target or db
    before = counts(locked, DATA_TABLES + ["audit_chain", "schema_migrations"])
    lock = Locker(locked, "activity_decisions")
    try:
        p, output = start(argv(bk, str(out), target, mig), db, tmp_path)
        waiting = lambda: cavra_statements(locked, "wait_event_type = 'Lock'") != "0"  # noqa: E731
        code, _, err = interrupt(p, output, waiting, signal.SIGINT, what, wait=30)
        # checked with the lock still held: a statement not cancelled would still wait
        assert cavra_statements(locked, "state = 'active'") == "0"
    finally:
        lock.release()
    stopped(code, err, signal.SIGINT)
    assert not out.exists()
    assert counts(locked, DATA_TABLES + ["audit_chain", "schema_migrations"]) == before
    if target:
        assert sql(target, "SELECT name FROM api_tokens") == [["kept"]]
    assert sql(locked, "SELECT count(*) FROM pg_class WHERE relname = "
                       "'activity_decisions_blocked'") == [["0"]]
    drop(request, name)
