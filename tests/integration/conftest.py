"""Fixtures for the integration suite.

The suite runs the real `cavra` binary (CAVRA_BIN) against a real SQLite file and a real
PostgreSQL 15 that it starts itself: initdb into a temporary directory as the `postgres` user,
a free port on 127.0.0.1, password (scram) authentication over TCP, stopped at the end even
when tests fail. Set CAVRA_TEST_PG_URL (a superuser URL) to use an existing server instead,
e.g. the docker-compose one.
"""
import atexit
import contextlib
import json
import os
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


def pg_bindir():
    return subprocess.check_output(["pg_config", "--bindir"], text=True).strip()


class Postgres:
    """A throwaway PostgreSQL cluster owned by this test session."""

    def __init__(self):
        self.bindir = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="cavra-pg-")
        self.port = free_port()
        self.running = False
        shutil.chown(self.dir, "postgres")
        os.chmod(self.dir, 0o755)
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(PG_PASSWORD + "\n")
        shutil.chown(pwfile, "postgres")
        self._as_postgres(["initdb", "-D", self.data, "-U", "postgres", "--no-sync",
                           "--auth-local=trust", "--auth-host=scram-sha-256",
                           "--pwfile", pwfile, "-E", "UTF8", "--locale=C"])
        self.start()
        atexit.register(self.stop)

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def _as_postgres(self, argv):
        cmd = ["runuser", "-u", "postgres", "--", os.path.join(self.bindir, argv[0])] + argv[1:]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=120)

    def start(self):
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c max_connections=200")
        self._as_postgres(["pg_ctl", "-D", self.data, "-o", opts, "-l",
                           os.path.join(self.dir, "log"), "-w", "start"])
        self.running = True

    def stop(self):
        if self.running:
            with contextlib.suppress(Exception):
                self._as_postgres(["pg_ctl", "-D", self.data, "-m", "immediate", "stop"])
            self.running = False

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db="postgres", user="postgres", password=PG_PASSWORD):
        auth = user if password is None else f"{user}:{urllib.parse.quote(password)}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"


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
    r = subprocess.run(["psql", url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"psql failed: {r.stderr}")
    return r.stdout.strip()


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

    def get(self, path, **kw):
        return requests.get(self.base + path, timeout=30, **kw)

    def post(self, path, body=None, **kw):
        if body is not None and "data" not in kw:
            kw["json"] = body
        return requests.post(self.base + path, timeout=30, **kw)

    def stderr(self):
        with open(self.log) as f:
            return f.read()


@contextlib.contextmanager
def serve(db, *args, env=None, cwd=None, tmp=None):
    """Runs `cavra serve` on a free port; on exit sends SIGTERM and expects exit 0."""
    port = free_port()
    e = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    e.update(env or {})
    argv = [CAVRA, "serve", "--listen", f"127.0.0.1:{port}"] + list(args)
    if db:
        argv += ["--database", db]
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


def copy_migrations(tmp_path, dialect, name="migrations"):
    dst = os.path.join(str(tmp_path), name)
    shutil.copytree(os.path.join(REPO, "sql", dialect), dst)
    return dst
