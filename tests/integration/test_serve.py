"""`cavra serve`: probes, settings, schema checks at start, shutdown, errors."""
import json
import os
import signal
import subprocess
import time

import pytest
import requests

from conftest import LATEST, Postgres, cavra, free_port, one_line, serve, sql, status_json


def test_probes_and_version(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db) as srv:
        r = srv.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["X-Request-Id"].startswith("req_")
        r = srv.get("/readyz")
        assert r.status_code == 200 and r.json()["status"] == "ready"
        r = srv.get("/version")
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
        v = r.json()
        assert v["name"] == "cavra" and v["schema_version"] == LATEST
        assert "cavra " + v["version"] == cavra("version")[1].strip()
        r = srv.get("/healthz", headers={"X-Request-Id": "trace-123"})
        assert r.headers["X-Request-Id"] == "trace-123"
    assert "request_id=trace-123" in srv.stderr()


def test_unknown_route_and_method(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db) as srv:
        r = srv.get("/nope")
        assert r.status_code == 404
        body = r.json()
        assert body["code"] == "not_found" and body["detail"] and body["request_id"]
        r = srv.post("/healthz", data=b"")
        assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"
        assert r.json()["code"] == "method_not_allowed"


def test_access_log_line_per_request(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db) as srv:
        for _ in range(3):
            srv.get("/version")
    lines = [l for l in srv.stderr().splitlines() if "access method=GET path=/version" in l]
    assert len(lines) == 3 and all("status=200" in l and "request_id=" in l for l in lines)


def test_server_messages_on_pool_connections_are_log_lines(pg_db):
    """PostgreSQL ends a session it terminates with a FATAL that libpq printed raw to stderr,
    a line that no reader of log_format json could parse: it is a JSON log line now, and the
    next request still works (the pool opens a new connection)."""
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    with serve(pg_db, "--log-format", "json", "--auth-token-cache-seconds", "0") as srv:
        assert srv.get("/decisions").status_code == 200
        killed = sql(pg_db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                            "application_name = 'cavra' AND datname = current_database()")
        assert killed and all(k == ["t"] for k in killed), killed
        deadline = time.time() + 10
        while "terminating connection" not in srv.stderr():
            srv.get("/decisions")
            assert time.time() < deadline, srv.stderr()
            time.sleep(0.1)
        assert srv.get("/decisions").status_code == 200
    raw = [l for l in srv.stderr().splitlines() if l.strip() and not l.startswith("{")]
    assert not raw, raw
    said = [json.loads(l) for l in srv.stderr().splitlines()
            if "terminating connection" in l]
    assert said and said[0]["level"] == "warn", said
    assert said[0]["msg"].startswith("postgres: FATAL: terminating connection"), said


def test_access_log_path_cannot_forge_fields(db):
    """MHD decodes the path: "%20status=201" would read as a field of the access line."""
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db) as srv:
        assert srv.get("/x%20status=201%20route=/decisions%22%25%0A").status_code == 404
    lines = [l for l in srv.stderr().splitlines() if "access method=GET path=/x" in l]
    assert len(lines) == 1, lines
    assert "path=/x%20status=201%20route=/decisions%22%25%0A route=- status=404" in lines[0], lines


def test_refuses_pending_migrations_unless_auto_migrate(db):
    assert cavra("migrate", "up", "--to", "1", db=db)[0] == 0  # exists, behind
    code, _, err = cavra("serve", "--listen", f"127.0.0.1:{free_port()}", db=db)
    assert code == 1 and "pending migrations" in err and "cavra migrate up" in err
    with serve(db, "--auto-migrate") as srv:
        assert srv.get("/readyz").status_code == 200
    code, st, _ = status_json(db)
    assert code == 0 and st["schema_version"] == LATEST


@pytest.mark.parametrize("how", [["--no-auto-migrate"], "env", []])
def test_refuses_non_empty_sqlite_with_pending_migrations(tmp_path, how):
    db = "sqlite:" + str(tmp_path / "pilot.db")
    assert cavra("migrate", "up", "--to", "3", db=db)[0] == 0
    args, env = (how, None) if isinstance(how, list) else ([], {"CAVRA_AUTO_MIGRATE": "false"})
    code, _, err = cavra("serve", "--listen", f"127.0.0.1:{free_port()}", *args, db=db, env=env)
    assert code == 1
    assert "cavra migrate up" in one_line(err)
    code, st, _ = status_json(db)
    assert st["schema_version"] == 3  # nothing was applied


def test_default_sqlite_database_auto_migrates(tmp_path):
    with serve(None, cwd=str(tmp_path)) as srv:
        assert srv.get("/readyz").json()["status"] == "ready"
    assert (tmp_path / ".cavra" / "cavra.db").exists()
    code, st, _ = status_json("sqlite:" + str(tmp_path / ".cavra" / "cavra.db"))
    assert code == 0 and st["schema_version"] == LATEST
    # and again on the now-current database
    with serve(None, cwd=str(tmp_path)) as srv:
        assert srv.get("/readyz").status_code == 200


def test_default_sqlite_database_without_auto_migrate_refuses(tmp_path):
    code, _, err = cavra("serve", "--listen", f"127.0.0.1:{free_port()}", cwd=str(tmp_path),
                         env={"CAVRA_AUTO_MIGRATE": "false"})
    assert code == 1 and "cavra migrate up" in one_line(err)


def test_explicit_database_is_not_auto_migrated(tmp_path):
    """Auto-migrate is the default only for the embedded default path, not for a chosen one."""
    db = str(tmp_path / "chosen.db")
    code, _, err = cavra("serve", "--listen", f"127.0.0.1:{free_port()}", db=db)
    assert code == 1 and "cavra migrate up" in one_line(err)


def test_readyz_reports_schema_problems(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db) as srv:
        sql(db, "INSERT INTO schema_migrations (id, applied_at, version, name, checksum) "
                "VALUES ('077_x.sql', '2026-01-01T00:00:00.000000Z', 77, 'x', 'abc')")
        r = srv.get("/readyz")
        assert r.status_code == 503 and "newer" in r.json()["reason"]


def test_database_down_gives_503_and_recovers(tmp_path):
    own = Postgres()  # a cluster of its own: this test stops it
    try:
        url = own.url()
        assert cavra("migrate", "up", db=url)[0] == 0
        with serve(url) as srv:
            assert srv.get("/readyz").status_code == 200
            own.stop()
            r = srv.get("/readyz")
            assert r.status_code == 503 and r.json()["reason"] == "database unreachable"
            r = srv.get("/decisions")
            assert r.status_code == 503 and r.json()["code"] == "unavailable"
            assert "internal" not in r.text
            own.start()
            codes = [srv.get("/decisions").status_code for _ in range(3)]
            assert codes[-1] == 200 and srv.get("/readyz").status_code == 200
    finally:
        own.destroy()


def test_sigterm_drains_and_exits_zero(db):
    """A request in flight when SIGTERM arrives (body half sent) still completes."""
    import json
    import socket
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db) as srv:
        body = json.dumps({"action_type": "read_file", "target": "README.md",
                           "session_id": "drain"}).encode()
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        sock.sendall(b"POST /decisions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert srv.proc.poll() is None  # still draining
        sock.sendall(body[10:])
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        sock.close()
        assert reply.startswith(b"HTTP/1.1 201"), reply[:200]
        srv.proc.wait(timeout=30)
        assert srv.proc.returncode == 0
    assert "draining" in srv.stderr()


def test_listen_address_in_use(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db) as srv:
        code, _, err = cavra("serve", "--listen", f"127.0.0.1:{srv.port}", db=db)
        assert code == 1 and "listen" in err
