"""Fixtures for the integration suite.

The suite runs the real `cavra` binary (CAVRA_BIN) against a real SQLite file and a real
PostgreSQL 15 that it starts itself: initdb into a temporary directory as the `postgres` user,
a free port on 127.0.0.1, password (scram) authentication over TCP, stopped at the end even
when tests fail. Set CAVRA_TEST_PG_URL (a superuser URL) to use an existing server instead,
e.g. the docker-compose one.
"""
import atexit
import contextlib
import functools
import json
import sqlite3
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import pytest
import requests

REPO = os.environ.get("CAVRA_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
CAVRA = os.path.abspath(os.environ.get("CAVRA_BIN") or os.path.join(REPO, "build", "cavra"))
PG_PASSWORD = "pg-test-secret"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.lru_cache(maxsize=None)
def pg_bindir():
    """PostgreSQL's programs (initdb, pg_ctl, psql, pg_dump); not on PATH on Debian."""
    return subprocess.check_output(["pg_config", "--bindir"], text=True).strip()


class Postgres:
    """A throwaway PostgreSQL cluster owned by this test session."""

    def __init__(self):
        self.bindir = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="cavra-pg-")
        self.port = free_port()
        self.running = False
        _LIVE.append(self)  # removed again by destroy(); see _cleanup_all
        try:
            shutil.chown(self.dir, "postgres")
            os.chmod(self.dir, 0o755)
            pwfile = os.path.join(self.dir, "pw")
            with open(pwfile, "w") as f:
                f.write(PG_PASSWORD + "\n")
            shutil.chown(pwfile, "postgres")
            self._as_postgres(["initdb", "-D", self.data, "-U", "postgres", "--no-sync",
                               "--auth-local=trust", "--auth-host=scram-sha-256",
                               "--pwfile", pwfile, "-E", "UTF8", "--locale=C"])
            os.unlink(pwfile)
            self.start()
        except BaseException:
            self.destroy()
            raise

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def _as_postgres(self, argv):
        cmd = ["runuser", "-u", "postgres", "--", os.path.join(self.bindir, argv[0])] + argv[1:]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=120)

    def start(self):
        self.running = True  # so that a half-started server is stopped too
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c max_connections=200")
        self._as_postgres(["pg_ctl", "-D", self.data, "-o", opts, "-l",
                           os.path.join(self.dir, "log"), "-w", "-t", "60", "start"])

    def stop(self):
        if self.running:
            with contextlib.suppress(Exception):
                self._as_postgres(["pg_ctl", "-D", self.data, "-m", "immediate", "stop"])
            self.running = False

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(ValueError):
            _LIVE.remove(self)

    def url(self, db="postgres", user="postgres", password=PG_PASSWORD):
        auth = user if password is None else f"{user}:{urllib.parse.quote(password)}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"


# Every cluster this process started: stopped and removed at exit and on SIGTERM / SIGHUP,
# even when pytest itself is killed (ctest's timeout sends SIGTERM).
_LIVE = []


def _cleanup_all():
    for server in list(_LIVE):
        server.destroy()


def _on_signal(signum, frame):
    _cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


atexit.register(_cleanup_all)
for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


class ExternalPostgres:
    """A server given by CAVRA_TEST_PG_URL (superuser)."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port or 5432
        self.user, self.password = u.username, urllib.parse.unquote(u.password or "")

    def url(self, db="postgres", user=None, password=None):
        user = user or self.user
        password = self.password if password is None and user == self.user else password
        auth = user if not password else f"{user}:{urllib.parse.quote(password)}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{db}"

    def destroy(self):
        pass


@pytest.fixture(scope="session")
def pg():
    url = os.environ.get("CAVRA_TEST_PG_URL")
    server = ExternalPostgres(url) if url else Postgres()
    yield server
    server.destroy()


def psql(url, sql, check=True):
    """Runs SQL through psql; returns stdout (tuples only, unaligned, '|' separated)."""
    r = subprocess.run([os.path.join(pg_bindir(), "psql"), url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"psql failed: {r.stderr}")
    return r.stdout.strip()


def until(cond, what, timeout=30):
    """Polls cond() every 50 ms until it is true; fails with what after timeout seconds."""
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, what
        time.sleep(0.05)


class PgSession:
    """A psql session kept open (superuser URL, stops at the first error). run() executes
    statements and returns their output lines; payloads() returns the payloads of the
    notifications that reached the session (after a LISTEN) since the last call, in order. psql
    prints a notification after the result of the query it ran when the notification came, so
    payloads() runs two queries and reads up to the second's result."""

    NOTE = re.compile(r'^Asynchronous notification "[^"]*" with payload "(.*)" received')

    def __init__(self, url):
        self.proc = subprocess.Popen([os.path.join(pg_bindir(), "psql"), url, "-X", "-q", "-t",
                                      "-A", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.marks, self.notes = 0, []

    def run(self, statements=""):
        self.marks += 1
        mark = f"mark-{self.marks}"
        self.proc.stdin.write(f"{statements};\nSELECT '{mark}';\n")
        self.proc.stdin.flush()
        out = []
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line == mark:
                return out
            m = self.NOTE.match(line)
            if m:
                self.notes.append(m.group(1))
            elif line:
                out.append(line)
        raise AssertionError(f"psql session ended: {self.proc.stderr.read()}")

    def payloads(self):
        self.run()
        self.run()
        got, self.notes = self.notes, []
        return got

    def close(self):
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
        self.proc.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def pg_db(pg):
    """A fresh, empty PostgreSQL database; returns its superuser URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    psql(pg.url(), f"CREATE DATABASE {name}")
    yield pg.url(name)
    psql(pg.url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:{tmp_path}/cavra.db"
    return request.getfixturevalue("pg_db")


@pytest.fixture
def backend(db):
    """Alias of `db`: a fresh, empty database URL, once per backend."""
    return db


# Least privilege, as docs/migrations.md gives it: an owner role that owns the database and
# its public schema (migrations), and an app role with data privileges only (serve).
def least_privilege_sql(dbname, owner, app):
    """Returns (statements for the maintenance DB, statements inside the new DB)."""
    cluster = [f"CREATE ROLE {owner} LOGIN PASSWORD 'owner-secret'",
               f"CREATE ROLE {app} LOGIN PASSWORD 'app-secret'",
               f"CREATE DATABASE {dbname} OWNER {owner}",
               f"REVOKE ALL ON DATABASE {dbname} FROM PUBLIC",
               f"GRANT CONNECT ON DATABASE {dbname} TO {app}"]
    inside = ["REVOKE CREATE ON SCHEMA public FROM PUBLIC",
              f"GRANT USAGE ON SCHEMA public TO {app}",
              f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
              f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
              f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
              f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
              f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}"]
    return cluster, inside


def backend_of(url):
    return "postgres" if url.startswith("postgres") else "sqlite"


def cavra(*args, db=None, env=None, cwd=None, timeout=60):
    """Runs the binary; returns (exit code, stdout, stderr)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    e.update(env or {})
    argv = [CAVRA] + list(args)
    if db:
        argv += ["--database", db]
    r = subprocess.run(argv, capture_output=True, text=True, env=e, cwd=cwd, timeout=timeout)
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    return r.returncode, r.stdout, r.stderr


def status_json(db, *extra):
    code, out, err = cavra("migrate", "status", "--json", *extra, db=db)
    return code, json.loads(out) if out.strip() else None, err


class Server:
    def __init__(self, proc, port, log):
        self.proc, self.port, self.log = proc, port, log
        self.base = f"http://127.0.0.1:{port}"
        self.final = None  # the whole log, once the server stopped and its file is gone

    def get(self, path, **kw):
        return requests.get(self.base + path, timeout=30, **kw)

    def post(self, path, body=None, **kw):
        if body is not None and "data" not in kw:
            kw["json"] = body
        return requests.post(self.base + path, timeout=30, **kw)

    def stderr(self):
        if self.final is not None:
            return self.final
        with open(self.log) as f:
            return f.read()


@contextlib.contextmanager
def serve(db, *args, env=None, cwd=None, tmp=None, port=None):
    """Runs `cavra serve` on port (default: a free one); on exit sends SIGTERM and expects
    exit 0."""
    port = port or free_port()
    e = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    e.update(env or {})
    argv = [CAVRA, "serve", "--listen", f"127.0.0.1:{port}"] + list(args)
    if db:
        argv += ["--database", db]
    # a directory of its own for the log when the test gives none: removed once the server
    # stopped cleanly, kept (with the log) when anything below fails
    logdir = tmp or tempfile.mkdtemp(prefix="cavra-serve-")
    log = os.path.join(str(logdir), f"serve-{port}.log")
    with open(log, "w") as logf:
        proc = subprocess.Popen(argv, stdout=logf, stderr=logf, env=e, cwd=cwd)
    srv = Server(proc, port, log)
    try:
        deadline = time.time() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}: {srv.stderr()}")
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(srv.base + "/healthz", timeout=2).status_code == 200:
                    break
            if time.time() > deadline:
                raise AssertionError("serve did not come up: " + srv.stderr())
            time.sleep(0.05)
        yield srv
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("serve did not stop on SIGTERM")
    text = srv.stderr()
    for mark in SANITIZER_MARKS:
        assert mark not in text, text
    assert proc.returncode == 0, f"serve exited {proc.returncode}: {text}"
    if not tmp:
        srv.final = text
        shutil.rmtree(logdir, ignore_errors=True)


def copy_migrations(tmp_path, dialect, name="migrations"):
    dst = os.path.join(str(tmp_path), name)
    shutil.copytree(os.path.join(REPO, "sql", dialect), dst)
    return dst


# The migrations, as both dialects name them, and the tables they create.
# 001-006 are the original tool's; a legacy ledger covers at most those.
NAMES = ["evidence_metadata", "approval_router", "agent_mcp_registry",
         "activity_sessions_decisions", "repository_policy_rollout", "integrations_inventory",
         "api_tokens", "original_enum_values", "operations_records", "console_sessions",
         "operations_doctor", "activity_read_indexes", "stable_paging",
         "decision_idempotency_keys", "audit_chain", "policy_rollout_versions",
         "decision_rollout_projection", "decision_index_order", "api_token_notify",
         "approval_reader_indexes", "evidence_chain", "records_chain", "sessions_chain",
         "chain_seals"]
LATEST = len(NAMES)
LEGACY_LATEST = 6
FILES = [f"{i + 1:03d}_{n}.sql" for i, n in enumerate(NAMES)]
TABLES = ["evidence_metadata", "approvals", "registry_agents", "registry_mcp_servers",
          "activity_sessions", "activity_decisions", "inventory_repositories",
          "inventory_policy_rollouts", "integrations", "api_tokens", "operations_records",
          "console_sessions", "audit_chain", "audit_chain_head"]


def sqlite_path(url):
    return url[len("sqlite:"):] if url.startswith("sqlite:") else url


def chain_planted(db):
    """Rows a test wrote by SQL into a database whose audit chain is still empty, chained as
    `cavra audit adopt` chains the records of a database from before the chain: cavra serves
    records only as the chain last recorded them (docs/audit.md)."""
    sql(db, "UPDATE audit_chain_head SET adopt_pending = 1, evidence_pending = 1, "
            "records_pending = 1, sessions_pending = 1 WHERE seq = 0")
    code, out, err = cavra("audit", "adopt", db=db)
    assert code == 0, out + err


def sql(db, query):
    """Runs a query on either backend; returns rows as lists of strings."""
    if backend_of(db) == "postgres":
        out = psql(db, query)
        return [line.split("|") for line in out.splitlines() if line]
    con = sqlite3.connect(sqlite_path(db))
    try:
        rows = con.execute(query).fetchall()
        con.commit()
        return [[str(v) for v in r] for r in rows]
    finally:
        con.close()


def user_tables(db):
    """Every table in the database (schema_migrations included), sorted."""
    if backend_of(db) == "postgres":
        q = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    else:
        q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return sorted(r[0] for r in sql(db, q))


def one_line(err):
    """The error output is exactly one non-empty line."""
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    return lines[0]
from conftest_idp import idp, new_idp  # noqa: E402,F401  (OpenID provider fixtures)
