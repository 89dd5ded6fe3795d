"""`cavra migrate` on both backends: status, up, plan, verify, drift, failure, concurrency."""
import os
import re
import subprocess
import uuid

import pytest

from conftest import (CAVRA, FILES, LATEST, NAMES, REPO, TABLES, PgSession, backend_of, cavra,
                      copy_migrations, pg_bindir, psql, serve, sql, status_json, user_tables)

HEX64 = r"[0-9a-f]{64}"


def applied_lines(out):
    """`applied NNN_name` lines (an optional duration may follow the name)."""
    return [" ".join(l.split()[:2]) for l in out.splitlines() if l.startswith("applied ")]


def test_version():
    code, out, err = cavra("version")
    assert code == 0, err
    assert re.fullmatch(r"cavra \d+\.\d+\.\d+\S*\n?", out)


def test_up_twice_is_idempotent_and_status_shows_checksums(db):
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    assert applied_lines(out) == [
        f"applied {f[:-4]}" for f in FILES]
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    assert "applied" not in out and "database is up to date" in out
    code, st, _ = status_json(db)
    assert code == 0
    assert st["backend"] == backend_of(db) and st["ledger"] == "current"
    assert st["schema_version"] == LATEST and st["latest_version"] == LATEST and st["problems"] == []
    assert len(st["migrations"]) == LATEST
    for i, m in enumerate(st["migrations"]):
        assert (m["version"], m["name"], m["state"]) == (i + 1, NAMES[i], "applied")
        assert re.fullmatch(HEX64, m["checksum"])
        assert m["applied_checksum"] == m["checksum"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
                            m["applied_at"])
    assert set(TABLES) <= set(user_tables(db))
    assert sql(db, "SELECT count(*) FROM schema_migrations") == [[str(LATEST)]]
    rows = sql(db, "SELECT id, version, name, checksum FROM schema_migrations ORDER BY version")
    assert [r[0] for r in rows] == FILES
    assert [(int(r[1]), r[2]) for r in rows] == [(i + 1, n) for i, n in enumerate(NAMES)]
    assert [r[3] for r in rows] == [m["checksum"] for m in st["migrations"]]
    code, out, _ = cavra("migrate", "verify", db=db)
    assert code == 0 and out.startswith("ok")


def test_status_table(db):
    assert cavra("migrate", "up", "--to", "2", db=db)[0] == 0
    code, out, err = cavra("migrate", "status", db=db)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["VERSION", "NAME", "STATE", "CHECKSUM", "APPLIED_AT"]
    rows = [l.split() for l in lines[1:LATEST + 1]]
    assert [r[:3] for r in rows] == [[f"{i + 1:03d}", n, "applied" if i < 2 else "pending"]
                                     for i, n in enumerate(NAMES)]
    assert all(re.fullmatch(HEX64, r[3]) for r in rows)


def test_fresh_database_status_is_pending_not_a_problem(db):
    code, st, err = status_json(db)
    assert code == 0, err
    assert st["ledger"] == "none" and st["schema_version"] == 0 and st["latest_version"] == LATEST
    assert [m["state"] for m in st["migrations"]] == ["pending"] * LATEST
    assert all(m["applied_checksum"] is None and m["applied_at"] is None
               for m in st["migrations"])
    assert st["problems"] == []
    assert user_tables(db) == []


def test_plan_prints_pending_sql_and_changes_nothing(db):
    code, out, err = cavra("migrate", "plan", db=db)
    assert code == 0, err
    headers = re.findall(rf"^-- (\d{{3}}_\w+\.sql) sha256=({HEX64})$", out, re.M)
    assert [h[0] for h in headers] == FILES
    code, st, _ = status_json(db)
    assert [h[1] for h in headers] == [m["checksum"] for m in st["migrations"]]
    assert "CREATE TABLE activity_decisions" in out
    assert user_tables(db) == []  # not even schema_migrations


def test_plan_after_partial_up_shows_only_the_rest(db):
    assert cavra("migrate", "up", "--to", "3", db=db)[0] == 0
    before = user_tables(db)
    code, out, err = cavra("migrate", "plan", db=db)
    assert code == 0, err
    assert re.findall(r"^-- (\d{3}_\w+\.sql) sha256=", out, re.M) == FILES[3:]
    assert user_tables(db) == before
    assert sql(db, "SELECT count(*) FROM schema_migrations") == [["3"]]


def test_up_to_a_version(db):
    code, out, err = cavra("migrate", "up", "--to", "3", db=db)
    assert code == 0, err
    assert applied_lines(out) == [
        f"applied {f[:-4]}" for f in FILES[:3]]
    code, st, _ = status_json(db)
    assert code == 0 and st["schema_version"] == 3
    assert [m["state"] for m in st["migrations"]] == ["applied"] * 3 + ["pending"] * (LATEST - 3)
    code, out, _ = cavra("migrate", "verify", db=db)
    assert code == 1 and "pending" in out and "004" in out
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    assert applied_lines(out) == [
        f"applied {f[:-4]}" for f in FILES[3:]]


def test_edited_file_is_drift_and_serve_refuses(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    mig = copy_migrations(tmp_path, backend_of(db))
    _, st0, _ = status_json(db)
    with open(os.path.join(mig, "002_approval_router.sql"), "a") as f:
        f.write("\n-- an innocent-looking edit\n")
    code, st, _ = status_json(db, "--migrations-dir", mig)
    assert code == 1
    assert [(p["kind"], p["version"]) for p in st["problems"]] == [("drifted", 2)]
    assert st["migrations"][1]["state"] == "drifted"
    assert st["migrations"][1]["applied_checksum"] == st0["migrations"][1]["checksum"]
    assert st["migrations"][1]["checksum"] != st0["migrations"][1]["checksum"]
    code, out, err = cavra("migrate", "status", "--migrations-dir", mig, db=db)
    assert code == 1 and " drifted " in out
    code, out, _ = cavra("migrate", "verify", "--migrations-dir", mig, db=db)
    assert code == 1
    line = [l for l in out.splitlines() if "drift" in l][0]
    assert "002_approval_router.sql" in line
    assert st["migrations"][1]["checksum"] in line
    assert st["migrations"][1]["applied_checksum"] in line
    code, _, err = cavra("migrate", "up", "--migrations-dir", mig, db=db)
    assert code == 1 and "002_approval_router.sql" in err
    code, _, err = cavra("serve", "--listen", "127.0.0.1:1", "--migrations-dir", mig, db=db)
    assert code == 1 and "cavra migrate" in err and "002" in err


def _crlf(data):
    return data.replace(b"\n", b"\r\n")


def _bom_crlf(data):
    return b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")


def _lone_cr(data):
    return data.replace(b"\n", b"\r")


@pytest.mark.parametrize("convert", [_crlf, _bom_crlf, _lone_cr], ids=["crlf", "bom+crlf", "cr"])
def test_line_endings_are_not_drift(db, tmp_path, convert):
    assert cavra("migrate", "up", db=db)[0] == 0
    mig = copy_migrations(tmp_path, backend_of(db))
    for name in os.listdir(mig):
        path = os.path.join(mig, name)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(convert(data))
    code, out, err = cavra("migrate", "verify", "--migrations-dir", mig, db=db)
    assert code == 0, out + err
    code, st, _ = status_json(db, "--migrations-dir", mig)
    assert code == 0 and [m["state"] for m in st["migrations"]] == ["applied"] * LATEST


def test_crlf_copy_applies_with_the_same_checksums(db, tmp_path):
    """Applied from a CRLF checkout, then verified against the LF files: still no drift."""
    mig = copy_migrations(tmp_path, backend_of(db))
    for name in os.listdir(mig):
        path = os.path.join(mig, name)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(_crlf(data))
    code, _, err = cavra("migrate", "up", "--migrations-dir", mig, db=db)
    assert code == 0, err
    code, out, err = cavra("migrate", "verify", db=db)
    assert code == 0, out + err


def test_failed_migration_leaves_nothing(db, tmp_path):
    mig = copy_migrations(tmp_path, backend_of(db))
    BROKEN = f"{LATEST + 1:03d}_broken.sql"
    with open(os.path.join(mig, BROKEN), "w") as f:
        f.write("CREATE TABLE broken_one (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n")
    code, out, err = cavra("migrate", "up", "--migrations-dir", mig, db=db)
    assert code == 1
    assert BROKEN in err and "no_such_table" in err
    assert applied_lines(out) == [
        f"applied {f[:-4]}" for f in FILES]
    assert "broken_one" not in user_tables(db)
    assert sql(db, "SELECT count(*) FROM schema_migrations WHERE version = " + str(LATEST + 1) + "") == [["0"]]
    code, st, _ = status_json(db, "--migrations-dir", mig)
    assert code == 0 and st["schema_version"] == LATEST
    assert [m["state"] for m in st["migrations"]] == ["applied"] * LATEST + ["pending"]
    # and again: still nothing of the broken one, no "dirty" state to clear by hand
    code, _, err = cavra("migrate", "up", "--migrations-dir", mig, db=db)
    assert code == 1 and BROKEN in err
    assert "broken_one" not in user_tables(db)


def test_newer_database_is_refused(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    sql(db, "INSERT INTO schema_migrations (id, applied_at, version, name, checksum) VALUES "
            "('099_future.sql', '2026-01-01T00:00:00.000000Z', 99, 'future', '" + "a" * 64 + "')")
    code, st, _ = status_json(db)
    assert code == 1 and [(p["kind"], p["version"]) for p in st["problems"]] == [("newer", 99)]
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 1 and "database schema is newer" in err
    assert "applied" not in out
    code, out, _ = cavra("migrate", "verify", db=db)
    assert code == 1 and "newer" in out
    code, _, err = cavra("serve", "--listen", "127.0.0.1:1", db=db)
    assert code == 1 and "newer" in err


def test_every_problem_is_reported_at_once(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    mig = copy_migrations(tmp_path, backend_of(db))
    for name in ("001_evidence_metadata.sql", "003_agent_mcp_registry.sql"):
        with open(os.path.join(mig, name), "a") as f:
            f.write("\n-- edited\n")
    sql(db, "INSERT INTO schema_migrations (id, applied_at, version, name, checksum) VALUES "
            "('042_other.sql', '2026-01-01T00:00:00.000000Z', 42, 'other', 'abc')")
    code, out, _ = cavra("migrate", "verify", "--migrations-dir", mig, db=db)
    assert code == 1
    assert "001_evidence_metadata.sql" in out and "003_agent_mcp_registry.sql" in out
    assert "newer" in out
    code, st, _ = status_json(db, "--migrations-dir", mig)
    assert code == 1
    assert sorted(p["kind"] for p in st["problems"]) == ["drifted", "drifted", "newer"]


def test_missing_file_and_drift_are_reported_together(db, tmp_path):
    """A ledger row whose file is not in the set ("missing"), with drift elsewhere."""
    assert cavra("migrate", "up", db=db)[0] == 0
    sql(db, "UPDATE schema_migrations SET id = '004_renamed.sql', name = 'renamed' "
            "WHERE version = 4")
    mig = copy_migrations(tmp_path, backend_of(db))
    with open(os.path.join(mig, "005_repository_policy_rollout.sql"), "a") as f:
        f.write("\n-- edited\n")
    code, st, _ = status_json(db, "--migrations-dir", mig)
    assert code == 1
    assert sorted((p["kind"], p["version"]) for p in st["problems"]) == [
        ("drifted", 5), ("missing", 4)]
    assert [m["state"] for m in st["migrations"]][3:5] == ["missing", "drifted"]
    code, out, _ = cavra("migrate", "verify", "--migrations-dir", mig, db=db)
    assert code == 1 and "004_renamed.sql" in out and "005_repository_policy_rollout.sql" in out
    code, _, _ = cavra("migrate", "up", "--migrations-dir", mig, db=db)
    assert code == 1


def test_out_of_order_is_reported(db):
    """A version below the newest applied one that is not applied."""
    assert cavra("migrate", "up", db=db)[0] == 0
    sql(db, "DELETE FROM schema_migrations WHERE version = 3")
    code, st, _ = status_json(db)
    assert code == 1
    assert [(p["kind"], p["version"]) for p in st["problems"]] == [("out_of_order", 3)]
    assert st["migrations"][2]["state"] == "pending"
    code, out, _ = cavra("migrate", "verify", db=db)
    assert code == 1 and ("003" in out or "version 3" in out)
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 1 and "3" in err
    assert "applied" not in out


def test_file_removed_after_apply_is_refused(db, tmp_path):
    """The newest applied file is gone from the set: the database is ahead of these files.
    Declared contract here: a backward-compatible newer version is accepted instead
    (test_expand_contract.py)."""
    assert cavra("migrate", "up", db=db)[0] == 0
    sql(db, f"UPDATE schema_migrations SET compatibility = 'contract' WHERE version = {LATEST}")
    mig = copy_migrations(tmp_path, backend_of(db))
    os.unlink(os.path.join(mig, FILES[-1]))
    code, st, _ = status_json(db, "--migrations-dir", mig)
    assert code == 1 and [(p["kind"], p["version"]) for p in st["problems"]] == [("newer", LATEST)]
    code, _, err = cavra("migrate", "up", "--migrations-dir", mig, db=db)
    assert code == 1 and "newer" in err


@pytest.mark.parametrize("round_", range(5))
def test_concurrent_up_applies_each_migration_once(pg, round_):
    name = "c_" + uuid.uuid4().hex[:12]
    psql(pg.url(), f"CREATE DATABASE {name}")
    try:
        url = pg.url(name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
        procs = [subprocess.Popen([CAVRA, "migrate", "up", "--database", url], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], results
        rows = psql(url, "SELECT version, count(*) FROM schema_migrations GROUP BY version "
                         "ORDER BY version")
        assert rows.splitlines() == [f"{v}|1" for v in range(1, LATEST + 1)]
        applied = sum(out.count("applied ") for out, _ in results)
        assert applied == LATEST, results
        assert cavra("migrate", "verify", db=url)[0] == 0
    finally:
        psql(pg.url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)


def test_psql_by_hand_gives_the_same_schema(pg):
    a, b = "hand_" + uuid.uuid4().hex[:10], "tool_" + uuid.uuid4().hex[:10]
    for name in (a, b):
        psql(pg.url(), f"CREATE DATABASE {name}")
    try:
        for name in sorted(os.listdir(os.path.join(REPO, "sql", "postgres"))):
            r = subprocess.run([os.path.join(pg_bindir(), "psql"), pg.url(a), "-X", "-q",
                                "-v", "ON_ERROR_STOP=1", "-f",
                                os.path.join(REPO, "sql", "postgres", name)],
                               capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
        assert cavra("migrate", "up", db=pg.url(b))[0] == 0
        dumps = []
        for name in (a, b):
            r = subprocess.run([os.path.join(pg_bindir(), "pg_dump"), "--schema-only",
                                "--no-owner", "-T", "schema_migrations", pg.url(name)],
                               capture_output=True, text=True, check=True)
            # \restrict / \unrestrict (newer pg_dump) carry a random key per dump
            dumps.append("\n".join(l for l in r.stdout.splitlines()
                                   if not l.startswith(("\\restrict", "\\unrestrict"))))
        assert dumps[0] == dumps[1]
        assert "CREATE TABLE public.activity_decisions" in dumps[0]
    finally:
        for name in (a, b):
            psql(pg.url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)


@pytest.mark.parametrize("form", ["path", "sqlite-url"])
def test_evidence_migrate_alias(tmp_path, form):
    path = str(tmp_path / "evidence.db")
    arg = path if form == "path" else "sqlite:" + path
    code, out, err = cavra("evidence", "migrate", "--sqlite", arg)
    assert code == 0, err
    assert "applied 006_integrations_inventory" in out
    assert cavra("migrate", "verify", db=path)[0] == 0
    code, out, err = cavra("evidence", "migrate", "--sqlite", arg)
    assert code == 0 and "database is up to date" in out, err


@pytest.mark.parametrize("action", ["status", "plan", "verify"])
def test_read_only_commands_create_no_sqlite_file(tmp_path, action):
    path = tmp_path / "typo" / "cavra.db"
    code, out, err = cavra("migrate", action, db=str(path))
    assert code in (0, 1), err
    assert not path.exists() and not path.parent.exists()
    if action == "status":
        assert f"{LATEST} pending" in out


def index_names(db, table):
    if backend_of(db) == "postgres":
        q = f"SELECT indexname FROM pg_indexes WHERE tablename = '{table}'"
    else:
        q = f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}'"
    return {r[0] for r in sql(db, q)}


def test_012_on_a_database_with_data(db, tmp_path):
    """011 -> 012 keeps the rows, swaps the session indexes, adds the pair indexes, and
    GET /sessions then lists by creation."""
    assert cavra("migrate", "up", "--to", "11", db=db)[0] == 0
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    # created a < b < c, updated c < b < a: the two orders differ
    for sid, created, updated in (("a", "01", "09"), ("b", "02", "08"), ("c", "03", "07")):
        sql(db, "INSERT INTO activity_sessions (session_id, repository, state, started_at, "
                f"updated_at, created_at, payload) VALUES ('{sid}', 'acme/x', 'active', "
                f"'2026-01-{created}T00:00:00.000000Z', '2026-01-{updated}T00:00:00.000000Z', "
                f"'2026-01-{created}T00:00:00.000000Z', '{{}}'{obj})")
        sql(db, "INSERT INTO activity_decisions (decision_id, session_id, repository, "
                "action_type, policy_pack, decision, decided_at, created_at, updated_at, payload) "
                f"VALUES ('d-{sid}', '{sid}', 'acme/x', 'read_file', 'p', 'block', "
                f"'2026-01-{updated}T00:00:00.000000Z', '2026-01-{updated}T00:00:00.000000Z', "
                f"'2026-01-{updated}T00:00:00.000000Z', '{{\"decision_id\":\"d-{sid}\"}}'{obj})")
    code, out, err = cavra("migrate", "up", "--to", "12", db=db)
    assert code == 0, err
    assert applied_lines(out) == ["applied 012_activity_read_indexes"]
    assert cavra("migrate", "up", db=db)[0] == 0  # the later ones, which verify expects
    assert cavra("migrate", "verify", db=db)[0] == 0
    code, st, _ = status_json(db)
    m = st["migrations"][11]
    assert (m["version"], m["name"], m["state"]) == (12, "activity_read_indexes", "applied")
    assert m["applied_checksum"] == m["checksum"] and re.fullmatch(HEX64, m["checksum"])
    assert sql(db, "SELECT count(*) FROM activity_decisions") == [["3"]]
    assert sql(db, "SELECT count(*) FROM activity_sessions") == [["3"]]
    names = index_names(db, "activity_decisions")
    assert {"ix_activity_decisions_repository_decision_decided_at",
            "ix_activity_decisions_agent_id_severity_decided_at",
            "ix_activity_decisions_policy_pack_decision_decided_at"} <= names
    names = index_names(db, "activity_sessions")
    assert not [n for n in names if "updated_at" in n]
    for col in ("", "agent_id_", "repository_", "policy_pack_", "state_"):
        assert f"ix_activity_sessions_{col}created_at_session_id" in names
    assert cavra("migrate", "up", db=db)[0] == 0  # serve wants the latest schema
    assert cavra("migrate", "verify", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        env = srv.get("/sessions", params={"repository": "acme/x"}).json()
        assert [s["session_id"] for s in env["items"]] == ["c", "b", "a"]
        env = srv.get("/decisions", params={"repository": "acme/x", "decision": "block"}).json()
        assert env["total"] == 3 and env["total_relation"] == "eq"


def test_014_on_a_database_with_data(db, tmp_path):
    """013 -> 014 keeps the decisions (their key columns NULL), adds the partial unique index,
    and the service then answers a retry under an Idempotency-Key with the stored decision."""
    assert cavra("migrate", "up", "--to", "13", db=db)[0] == 0
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    t = "2026-01-01T00:00:00.000000Z"
    sql(db, "INSERT INTO activity_sessions (session_id, state, started_at, updated_at, "
            "decision_count, blocked_count, created_at, payload) VALUES ('s', 'active', "
            f"'{t}', '{t}', 2, 2, '{t}', '{{}}'{obj})")
    for d in ("d1", "d2"):
        sql(db, "INSERT INTO activity_decisions (decision_id, session_id, action_type, "
                "policy_pack, decision, decided_at, created_at, updated_at, payload) VALUES "
                f"('{d}', 's', 'read_file', 'p', 'block', '{t}', '{t}', '{t}', "
                f"'{{\"decision_id\":\"{d}\"}}'{obj})")
    code, out, err = cavra("migrate", "up", "--to", "14", db=db)
    assert code == 0, err
    assert applied_lines(out) == ["applied 014_decision_idempotency_keys"]
    assert cavra("migrate", "up", db=db)[0] == 0  # the later ones, which verify expects
    assert cavra("migrate", "verify", db=db)[0] == 0
    code, st, _ = status_json(db)
    m = st["migrations"][13]
    assert (m["version"], m["name"], m["state"]) == (14, "decision_idempotency_keys", "applied")
    assert sql(db, "SELECT count(*) FROM activity_decisions WHERE idempotency_key IS NULL "
                   "AND idempotency_caller IS NULL AND request_sha256 IS NULL") == [["2"]]
    assert "ux_activity_decisions_idempotency" in index_names(db, "activity_decisions")
    body = {"session_id": "s", "action_type": "execute_command", "target": "terraform apply"}
    with serve(db, tmp=tmp_path) as srv:
        a = srv.post("/decisions", body, headers={"Idempotency-Key": '"k"'})
        b = srv.post("/decisions", body, headers={"Idempotency-Key": '"k"'})
        assert a.status_code == b.status_code == 201, b.text
        assert b.json()["decision_id"] == a.json()["decision_id"]
        assert srv.get("/sessions/s").json()["decision_count"] == 3
    # the index refuses a second row under the same caller and key, whoever writes it
    caller = sql(db, "SELECT idempotency_caller FROM activity_decisions "
                     "WHERE idempotency_key = 'k'")[0][0]
    with pytest.raises(Exception, match="ux_activity_decisions_idempotency|UNIQUE"):
        sql(db, "INSERT INTO activity_decisions (decision_id, session_id, action_type, "
                "policy_pack, decision, decided_at, created_at, updated_at, payload, "
                "idempotency_caller, idempotency_key, request_sha256) VALUES ('d3', 's', 'x', "
                f"'p', 'allow', '{t}', '{t}', '{t}', '{{}}'{obj}, '{caller}', 'k', "
                f"'{'0' * 64}')")
def test_013_on_a_database_with_data(db, tmp_path):
    """012 -> 013 keeps the rows, moves the records lists' indexes from updated_at to
    created_at, renames all but the oldest of unrevoked tokens that share a name, and adds the
    unique index that keeps names unique from then on."""
    assert cavra("migrate", "up", "--to", "12", db=db)[0] == 0
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    # created a < b < c, updated c < b < a: the two orders differ
    for aid, created, updated in (("a", "01", "09"), ("b", "02", "08"), ("c", "03", "07")):
        sql(db, "INSERT INTO registry_agents (agent_id, status, owner, created_at, updated_at, "
                f"payload) VALUES ('{aid}', 'active', 'team', '2026-01-{created}T00:00:00.000000Z', "
                f"'2026-01-{updated}T00:00:00.000000Z', '{{\"agent_id\":\"{aid}\"}}'{obj})")
    # twins that a race on the old name check let in, and a revoked namesake
    for tid, name, created, revoked in (("tok_1", "ci", "01", "NULL"), ("tok_2", "ci", "02", "NULL"),
                                        ("tok_3", "ci", "03", "NULL"),
                                        ("tok_0", "ci", "05", "'2026-01-06T00:00:00.000000Z'"),
                                        ("tok_4", "bot", "04", "NULL")):
        sql(db, "INSERT INTO api_tokens (token_id, token_sha256, name, subject, created_at, "
                f"updated_at, revoked_at, payload) VALUES ('{tid}', '{tid[-1] * 64}', '{name}', "
                f"'token:{name}', '2026-01-{created}T00:00:00.000000Z', '2026-01-{created}T00:00:00.000000Z', "
                f"{revoked}, '{{}}'{obj})")
    code, out, err = cavra("migrate", "up", "--to", "13", db=db)
    assert code == 0, err
    assert applied_lines(out) == ["applied 013_stable_paging"]
    assert sql(db, "SELECT count(*) FROM registry_agents") == [["3"]]
    tokens = sql(db, "SELECT token_id, name FROM api_tokens ORDER BY token_id")
    assert tokens == [["tok_0", "ci"], ["tok_1", "ci"], ["tok_2", "ci.tok_2"],
                      ["tok_3", "ci.tok_3"], ["tok_4", "bot"]]
    for table in ("registry_agents", "registry_mcp_servers", "inventory_repositories",
                  "inventory_policy_rollouts", "integrations"):
        names = index_names(db, table)
        assert not [n for n in names if "updated_at" in n], names
        assert [n for n in names if n.endswith("_created_at_" + {
            "registry_agents": "agent_id", "registry_mcp_servers": "server_id",
            "inventory_repositories": "repository_id", "inventory_policy_rollouts": "rollout_id",
            "integrations": "integration_id"}[table])], names
    assert "ux_api_tokens_name_unrevoked" in index_names(db, "api_tokens")
    assert cavra("migrate", "up", db=db)[0] == 0  # tokens and serve want the latest schema
    assert cavra("migrate", "verify", db=db)[0] == 0
    code, _, err = cavra("tokens", "create", "--name", "ci", "--role", "agent", db=db)
    assert code == 1 and "a token called 'ci' exists" in err
    with serve(db, tmp=tmp_path) as srv:
        env = srv.get("/agents", params={"owner": "team"}).json()
        assert [a["agent_id"] for a in env["items"]] == ["c", "b", "a"]


# The list statements of GET /decisions, as store_decisions.c writes them, by filter.
LIST_SHAPES = ["", "agent_id = 'a'", "repository = 'r'", "policy_pack = 'p'", "decision = 'block'",
               "severity = 'high'", "action_type = 'read_file'",
               "repository = 'r' AND decision = 'block'", "agent_id = 'a' AND severity = 'high'",
               "policy_pack = 'p' AND decision = 'block'"]


def index_def(db, name):
    """An index's key columns as `col` or `col DESC`, comma-separated."""
    if backend_of(db) == "postgres":
        d = sql(db, f"SELECT indexdef FROM pg_indexes WHERE indexname = '{name}'")[0][0]
        return d[d.index("(") + 1:d.rindex(")")].replace(' COLLATE "C"', "")
    rows = sql(db, f"SELECT name, desc FROM pragma_index_xinfo('{name}') WHERE key = 1 ORDER BY seqno")
    return ", ".join(c + (" DESC" if d == "1" else "") for c, d in rows)


def test_018_on_a_database_with_data(db, tmp_path):
    """017 -> 018 keeps the decisions and rebuilds the list's indexes in append order (all ten on
    SQLite, the time index on PostgreSQL); the list keeps its order, ties by id included, and
    on SQLite every list shape still reads its index without sorting."""
    assert cavra("migrate", "up", "--to", "17", db=db)[0] == 0
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    t1, t2 = "2026-01-01T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z"
    sql(db, "INSERT INTO activity_sessions (session_id, state, started_at, updated_at, "
            f"decision_count, created_at, payload) VALUES ('s', 'active', '{t1}', '{t2}', 4, "
            f"'{t1}', '{{}}'{obj})")
    for d, t in (("d-c", t2), ("d-a", t1), ("d-d", t2), ("d-b", t2)):
        sql(db, "INSERT INTO activity_decisions (decision_id, session_id, action_type, "
                "policy_pack, decision, decided_at, created_at, updated_at, payload) VALUES "
                f"('{d}', 's', 'read_file', 'p', 'allow', '{t}', '{t}', '{t}', "
                f"'{{\"decision_id\":\"{d}\"}}'{obj})")
    # written by SQL: chained by the adoption migrate up runs, so that serve lists them
    sql(db, "UPDATE audit_chain_head SET adopt_pending = 1")
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    assert applied_lines(out) == ["applied 018_decision_index_order",
                                  "applied 019_api_token_notify",
                                  "applied 020_approval_reader_indexes",
                                  "applied 021_evidence_chain",
                                  "applied 022_records_chain",
                                  "applied 023_sessions_chain",
                                  "applied 024_chain_seals"]
    assert cavra("migrate", "verify", db=db)[0] == 0
    assert index_def(db, "ix_activity_decisions_decided_at_decision_id") == \
        "decided_at, decision_id DESC"
    pairs = {"agent_id": "agent_id, ", "repository_decision": "repository, decision, "}
    for name, cols in pairs.items():
        d = index_def(db, f"ix_activity_decisions_{name}_decided_at" +
                      ("_decision_id" if name == "agent_id" else ""))
        if backend_of(db) == "sqlite":
            assert d == cols + "decided_at, decision_id DESC"
        else:  # unchanged on PostgreSQL (the migration's header says why)
            assert d == cols + "decided_at DESC, decision_id"
    if backend_of(db) == "sqlite":
        for where in LIST_SHAPES:
            q = ("EXPLAIN QUERY PLAN SELECT payload, decided_at, decision_id FROM "
                 f"activity_decisions {'WHERE ' + where if where else ''} "
                 "ORDER BY decided_at DESC, decision_id ASC LIMIT 51")
            plan = " ".join(r[-1] for r in sql(db, q))
            assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, (where, plan)
    with serve(db, tmp=tmp_path) as srv:
        first = srv.get("/decisions", params={"limit": 2}).json()
        rest = srv.get("/decisions", params={"limit": 2, "cursor": first["next_cursor"]}).json()
        ids = [d["decision_id"] for d in first["items"] + rest["items"]]
        assert ids == ["d-b", "d-c", "d-d", "d-a"]


def test_019_notifies_changes_of_api_tokens_but_not_a_recorded_use(pg_db):
    """019's triggers on PostgreSQL: an update of a token's row (other than of last_used_at
    alone) and a delete send the old row's token_id on cavra_api_tokens, a TRUNCATE sends '*';
    an insert, a recorded use, an update that changes nothing and a rolled-back change send
    nothing."""
    db = pg_db
    assert cavra("migrate", "up", db=db)[0] == 0
    row = ("('{0}', repeat('{1}', 64), '{0}', 'token:{0}', now(), now(), "
           "'{{\"roles\": [\"agent\"]}}')")
    with PgSession(db) as note:
        note.run("LISTEN cavra_api_tokens")
        sql(db, "INSERT INTO api_tokens (token_id, token_sha256, name, subject, created_at, "
                "updated_at, payload) VALUES " + row.format("tok_a", "a") + ", " +
                row.format("tok_b", "b"))
        assert note.payloads() == []
        sql(db, "UPDATE api_tokens SET last_used_at = now()")
        assert note.payloads() == []
        sql(db, "UPDATE api_tokens SET revoked_at = revoked_at")
        assert note.payloads() == []
        sql(db, "UPDATE api_tokens SET revoked_at = now(), updated_at = now() "
                "WHERE token_id = 'tok_a'")
        assert note.payloads() == ["tok_a"]
        sql(db, "UPDATE api_tokens SET payload = '{\"roles\": [\"admin\"]}', "
                "last_used_at = now() WHERE token_id = 'tok_b'")
        assert note.payloads() == ["tok_b"]
        psql(db, "BEGIN; DELETE FROM api_tokens; ROLLBACK")
        assert note.payloads() == []
        sql(db, "DELETE FROM api_tokens WHERE token_id = 'tok_b'")
        assert note.payloads() == ["tok_b"]
        sql(db, "TRUNCATE api_tokens")
        assert note.payloads() == ["*"]
    assert sql(db, "SELECT compatibility FROM schema_migrations WHERE version = 19") == \
        [["backward"]]
