"""Verified API tokens remembered by `cavra serve` on PostgreSQL (docs/security.md, "Verified
tokens are remembered"): a remembered token is answered without reading api_tokens, and a change
of its row made anywhere (another process, SQL, a restore) reaches the server through
LISTEN/NOTIFY (migration 019); while the listener does not listen, nothing is remembered. On
SQLite nothing is remembered at all."""
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from conftest import PgSession, cavra, free_port, pg_bindir, serve, sql, until

# Remember a token for an hour, so that only a notification can make the server forget it; short
# lock and statement waits, so that a request that does read api_tokens while the test holds
# its lock answers 503 at once instead of waiting.
CACHE = ("--auth-token-cache-seconds", "3600", "--db-lock-timeout-ms", "300",
         "--db-statement-timeout-ms", "1000", "--request-timeout-ms", "2000")
LISTENER = "cavra token listener"
LISTENING = "token listener: listening on channel 'cavra_api_tokens'"
PROBE_LOST = ("token listener: a notification sent from another connection did not arrive "
              "within 5 s")
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def make_token(db, name, expires="1d"):
    code, out, err = cavra("tokens", "create", "--name", name, "--role", "agent",
                           "--expires-in", expires, db=db)
    assert code == 0, err
    return out.strip()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def whoami(srv, token):
    return srv.get("/auth/whoami", headers=bearer(token))


def wait_listening(srv, times=1):
    """Until the server's listener said `times` times that it listens (the cache is live)."""
    until(lambda: srv.stderr().count(LISTENING) >= times, "the token listener listens", 30)


@contextlib.contextmanager
def api_tokens_locked(db):
    """Another session holds api_tokens in ACCESS EXCLUSIVE mode: any read of it waits."""
    p = subprocess.Popen([os.path.join(pg_bindir(), "psql"), db, "-X", "-q"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    p.stdin.write("BEGIN;\nLOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE;\n")
    p.stdin.flush()
    held = ("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE "
            "c.relname = 'api_tokens' AND l.mode = 'AccessExclusiveLock' AND l.granted")
    try:
        until(lambda: sql(db, held) == [["1"]], "the lock on api_tokens", 10)
        yield
    finally:
        p.stdin.write("ROLLBACK;\n")
        p.stdin.close()
        p.wait(timeout=30)


def remembered(srv, db, token):
    """Whether the server answers token while api_tokens is locked, i.e. without reading it."""
    with api_tokens_locked(db):
        r = whoami(srv, token)
    assert r.status_code in (200, 503), r.text  # 503: it read, and the lock timed out
    return r.status_code == 200


def refused_within(srv, token, seconds=2.0):
    """The server's first 401 for token, which must come within seconds."""
    deadline = time.time() + seconds
    while True:
        r = whoami(srv, token)
        if r.status_code == 401:
            return r
        assert r.status_code == 200, r.text
        assert time.time() < deadline, f"token still accepted after {seconds} s"
        time.sleep(0.02)


def token_metrics(srv):
    """The token cache's lines of GET /metrics, by name (labels included)."""
    r = srv.get("/metrics")
    assert r.status_code == 200, r.text
    return {line.rsplit(" ", 1)[0]: int(line.rsplit(" ", 1)[1])
            for line in r.text.splitlines()
            if line.startswith(("cavra_token_listener_up", "cavra_token_cache_lookups_total"))}


HIT = 'cavra_token_cache_lookups_total{result="hit"}'
MISS = 'cavra_token_cache_lookups_total{result="miss"}'


def token_payloads(note):
    """The notifications a PgSession heard, without the listeners' probes ("cavra-probe:...",
    which every server sends itself when it starts listening)."""
    return [p for p in note.payloads() if not p.startswith("cavra-probe:")]


def listener_pids(db):
    return sql(db, "SELECT pid FROM pg_stat_activity WHERE application_name = "
                   f"'{LISTENER}' AND datname = current_database()")


@pytest.fixture
def migrated(pg_db):
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    return pg_db


@contextlib.contextmanager
def pgbouncer(url, pool_mode):
    """Debian's PgBouncer in front of url's server, as user postgres (it refuses root), on a
    free port with pool_mode; yields url with that port. Clients are trusted: the pooler logs in
    to the server with url's own user and password."""
    if not os.path.exists(PGBOUNCER):
        pytest.skip("pgbouncer is not installed (scripts/deps.sh test installs it)")
    u = urllib.parse.urlparse(url)
    port, owner = free_port(), pwd.getpwnam("postgres")
    d = tempfile.mkdtemp(prefix="cavra-pgbouncer-")
    os.chown(d, owner.pw_uid, owner.pw_gid)
    with open(os.path.join(d, "users.txt"), "w") as f:
        f.write(f'"{u.username}" ""\n')
    ini = os.path.join(d, "pgbouncer.ini")
    with open(ini, "w") as f:
        f.write(f"""[databases]
* = host={u.hostname} port={u.port} user={u.username} password={urllib.parse.unquote(u.password or '')}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {d}/users.txt
pool_mode = {pool_mode}
logfile = {d}/pgbouncer.log
pidfile = {d}/pgbouncer.pid
""")
    proc = subprocess.Popen(["runuser", "-u", "postgres", "--", PGBOUNCER, ini],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def accepting():
        with socket.socket() as c:
            return c.connect_ex(("127.0.0.1", port)) == 0
    try:
        until(accepting, "pgbouncer accepts connections", 20)
        yield urllib.parse.urlunparse(u._replace(netloc=f"{u.netloc.rsplit(':', 1)[0]}:{port}"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


REVOKE = {
    "cli": None,  # cavra tokens revoke, a process of its own
    "sql": "UPDATE api_tokens SET revoked_at = now(), updated_at = now() WHERE name = 'ci-agent'",
    "delete": "DELETE FROM api_tokens WHERE name = 'ci-agent'",
}


@pytest.mark.parametrize("how", list(REVOKE))
def test_a_revocation_made_elsewhere_reaches_a_server_that_remembers_the_token(
        migrated, tmp_path, how):
    db = migrated
    tok, other = make_token(db, "ci-agent"), make_token(db, "ci-other")
    with serve(db, *CACHE, tmp=tmp_path) as s:
        wait_listening(s)
        for _ in range(3):
            assert whoami(s, tok).status_code == 200
            assert whoami(s, other).status_code == 200
        assert remembered(s, db, tok), "a remembered token is answered without a read"
        used = sql(db, "SELECT last_used_at FROM api_tokens WHERE name = 'ci-agent'")
        if how == "cli":
            code, out, err = cavra("tokens", "revoke", "ci-agent", db=db)
            assert code == 0 and "revoked 1" in out, err
        else:
            sql(db, REVOKE[how])
        detail = refused_within(s, tok).json()["detail"]
        assert detail == ("unknown API token" if how == "delete"
                          else "API token 'ci-agent' was revoked"), detail
        assert whoami(s, other).status_code == 200 and remembered(s, db, other)
    if how != "delete":  # the uses in between wrote nothing: one a minute at most
        assert sql(db, "SELECT last_used_at FROM api_tokens WHERE name = 'ci-agent'") == used


def test_while_the_listener_is_down_nothing_is_remembered(pg, migrated, tmp_path):
    """The listener's backend is terminated and cannot connect again for now: a revocation made
    meanwhile sends a notification nobody hears, and the server must still refuse the token,
    read every token from the database, and remember again once the listener is back."""
    db, name = migrated, migrated.rsplit("/", 1)[1]
    tok, other = make_token(db, "ci-agent"), make_token(db, "ci-other")
    with serve(db, *CACHE, tmp=tmp_path) as s, PgSession(db) as admin:
        wait_listening(s)
        assert whoami(s, tok).status_code == 200 and whoami(s, other).status_code == 200
        assert remembered(s, db, tok) and remembered(s, db, other)
        psql_admin = PgSession(pg.url())
        try:
            psql_admin.run(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            assert admin.run("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                             f"WHERE application_name = '{LISTENER}' AND datname = "
                             "current_database()") == ["t"]
            admin.run("UPDATE api_tokens SET revoked_at = now(), updated_at = now() "
                      "WHERE name = 'ci-agent'")
            r = refused_within(s, tok)
            assert r.json()["detail"] == "API token 'ci-agent' was revoked"
            assert token_metrics(s)["cavra_token_listener_up"] == 0
            # the other token is read every time now: behind the lock the read times out
            admin.run("BEGIN; LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE")
            assert whoami(s, other).status_code == 503
            admin.run("ROLLBACK")
            assert whoami(s, other).status_code == 200
        finally:
            psql_admin.run(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
            psql_admin.close()
        until(lambda: listener_pids(db), "the token listener connected again", 60)
        wait_listening(s, 2)
        assert token_metrics(s)["cavra_token_listener_up"] == 1
        assert "token listener: listen: connection lost: " in s.stderr()
        assert "connecting again in 1 s" in s.stderr()
        new = make_token(db, "ci-agent-2")
        assert whoami(s, new).status_code == 200 and remembered(s, db, new)
        sql(db, "UPDATE api_tokens SET revoked_at = now(), updated_at = now() "
                "WHERE name = 'ci-agent-2'")
        assert refused_within(s, new).json()["detail"] == "API token 'ci-agent-2' was revoked"


def test_a_remembered_token_is_refused_at_its_expiry(migrated, tmp_path):
    db = migrated
    tok = make_token(db, "short", expires="8s")
    expires = time.time() + 8
    with serve(db, *CACHE, tmp=tmp_path) as s:
        wait_listening(s)
        assert whoami(s, tok).status_code == 200 and remembered(s, db, tok)
        assert time.time() < expires - 1, "the token expired before the test could use it"
        time.sleep(max(0.0, expires - time.time()) + 0.5)
        r = whoami(s, tok)
        assert r.status_code == 401 and "API token 'short' expired at" in r.json()["detail"]


def test_a_restore_makes_the_server_forget_the_tokens_it_replaced(migrated, tmp_path):
    """A restore replaces api_tokens with TRUNCATE and COPY: one '*' notification, none per
    restored row, and the server forgets a token the backup does not hold."""
    db = migrated
    kept = [make_token(db, f"ci-kept-{i}") for i in range(3)]
    code, _, err = cavra("ops", "backup", "--output", str(tmp_path / "bk"), db=db)
    assert code == 0, err
    gone = make_token(db, "ci-after-backup")
    with serve(db, *CACHE, tmp=tmp_path) as s, PgSession(db) as note:
        note.run("LISTEN cavra_api_tokens")
        wait_listening(s)
        assert whoami(s, gone).status_code == 200 and remembered(s, db, gone)
        assert all(whoami(s, t).status_code == 200 for t in kept)
        assert token_payloads(note) == []
        code, _, err = cavra("ops", "restore", str(tmp_path / "bk"), "--overwrite", db=db)
        assert code == 0, err
        assert token_payloads(note) == ["*"]
        assert refused_within(s, gone).json()["detail"] == "unknown API token"
        assert all(whoami(s, t).status_code == 200 for t in kept)


def test_a_notify_without_a_payload_makes_the_server_forget_every_token(migrated, tmp_path):
    """`NOTIFY cavra_api_tokens` (a DBA's, docs/security.md) forgets every remembered token."""
    db = migrated
    a, b = make_token(db, "ci-a"), make_token(db, "ci-b")
    with serve(db, *CACHE, tmp=tmp_path) as s:
        wait_listening(s)
        assert whoami(s, a).status_code == 200 and whoami(s, b).status_code == 200
        assert remembered(s, db, a) and remembered(s, db, b)
        sql(db, "NOTIFY cavra_api_tokens")
        until(lambda: not remembered(s, db, a), "the server forgot ci-a", 2)
        assert not remembered(s, db, b)


def test_sqlite_remembers_nothing(tmp_path):
    """On SQLite the setting changes nothing: a revocation by another process is seen by the
    very next request, and no listener starts."""
    db = f"sqlite:{tmp_path}/cavra.db"
    assert cavra("migrate", "up", db=db)[0] == 0
    tok = make_token(db, "ci-agent")
    with serve(db, *CACHE, tmp=tmp_path) as s:
        for _ in range(3):
            assert whoami(s, tok).status_code == 200
        sql(db, "UPDATE api_tokens SET revoked_at = '2026-01-01T00:00:00.000000Z' "
                "WHERE name = 'ci-agent'")
        assert whoami(s, tok).status_code == 401
        assert "token listener" not in s.stderr()
        assert token_metrics(s) == {}


def test_metrics_show_the_listener_and_the_lookups(migrated, tmp_path):
    """GET /metrics says whether the listener listens (only then is anything remembered) and
    how many token checks memory answered: an operator's way to see that revocations reach this
    replica, and what the cache saves."""
    db = migrated
    tok = make_token(db, "ci-agent")
    with serve(db, *CACHE, tmp=tmp_path) as s:
        wait_listening(s)
        before = token_metrics(s)
        assert before["cavra_token_listener_up"] == 1, before
        for _ in range(4):
            assert whoami(s, tok).status_code == 200
        after = token_metrics(s)
        assert after[MISS] - before[MISS] == 1, (before, after)
        assert after[HIT] - before[HIT] == 3, (before, after)


def test_behind_pgbouncer_in_transaction_mode_nothing_is_remembered(migrated, tmp_path):
    """LISTEN goes through PgBouncer in transaction pooling mode, but the server session that ran
    it goes back to the pooler's pool and hears nothing for the listener: its probe never
    arrives, so the server remembers no token, and a revocation made on the database directly
    takes effect at the next request (before, the listener said it listened and a revoked
    token was accepted for the cache's whole life)."""
    db = migrated
    tok = make_token(db, "ci-agent")
    with pgbouncer(db, "transaction") as via, \
            serve(via, "--no-db-prepared-statements", *CACHE, tmp=tmp_path) as s:
        until(lambda: PROBE_LOST in s.stderr() or LISTENING in s.stderr(),
              "the token listener's verdict", 30)
        for _ in range(3):
            assert whoami(s, tok).status_code == 200
        sql(db, REVOKE["sql"])
        r = whoami(s, tok)
        assert r.status_code == 401 and r.json()["detail"] == "API token 'ci-agent' was revoked"
        assert LISTENING not in s.stderr()
        assert token_metrics(s)["cavra_token_listener_up"] == 0


def test_behind_pgbouncer_in_session_mode_tokens_are_remembered(migrated, tmp_path):
    """In session pooling mode the listener keeps its server session: the probe arrives, tokens
    are remembered, and a revocation reaches the server through the pooler."""
    db = migrated
    tok = make_token(db, "ci-agent")
    with pgbouncer(db, "session") as via, serve(via, *CACHE, tmp=tmp_path) as s:
        wait_listening(s)
        assert whoami(s, tok).status_code == 200 and remembered(s, db, tok)
        sql(db, REVOKE["sql"])
        assert refused_within(s, tok).json()["detail"] == "API token 'ci-agent' was revoked"
        assert PROBE_LOST not in s.stderr()
