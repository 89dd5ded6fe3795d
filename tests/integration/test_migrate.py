"""`cavra migrate` on both backends: status, up, plan, verify, drift, failure, legacy adoption."""
import os
import re
import sqlite3
import subprocess
import time

import pytest

from conftest import (CAVRA, REPO, backend_of, cavra, copy_migrations, pg_bindir, psql, serve,
                      status_json)

NAMES = ["evidence_metadata", "approval_router", "agent_mcp_registry",
         "activity_sessions_decisions", "repository_policy_rollout", "integrations_inventory"]
TABLES = ["evidence_metadata", "approvals", "registry_agents", "registry_mcp_servers",
          "activity_sessions", "activity_decisions", "inventory_repositories",
          "inventory_policy_rollouts", "integrations"]


def sql(db, query):
    """Runs a query on either backend; returns rows as lists of strings."""
    if backend_of(db) == "postgres":
        out = psql(db, query)
        return [line.split("|") for line in out.splitlines() if line]
    con = sqlite3.connect(db[len("sqlite:"):])
    try:
        rows = con.execute(query).fetchall()
        con.commit()
        return [[str(v) for v in r] for r in rows]
    finally:
        con.close()


def user_tables(db):
    if backend_of(db) == "postgres":
        q = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    else:
        q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return sorted(r[0] for r in sql(db, q))


def test_up_twice_is_idempotent_and_status_shows_checksums(db):
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    assert [l.split()[1] for l in out.splitlines() if l.startswith("applied")] == [
        f"{i + 1:03d}_{n}" for i, n in enumerate(NAMES)]
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    assert "applied" not in out and "up to date" in out
    code, st, _ = status_json(db)
    assert code == 0
    assert st["backend"] == backend_of(db) and st["ledger"] == "current"
    assert st["schema_version"] == 6 and st["pending"] == 0 and st["problems"] == []
    for i, m in enumerate(st["migrations"]):
        assert (m["version"], m["name"], m["state"]) == (i + 1, NAMES[i], "applied")
        assert re.fullmatch(r"[0-9a-f]{64}", m["checksum"])
        assert m["applied_checksum"] == m["checksum"] and m["applied_at"].endswith("Z")
    assert set(TABLES) <= set(user_tables(db))
    assert sql(db, "SELECT count(*) FROM schema_migrations") == [["6"]]
    code, out, _ = cavra("migrate", "verify", db=db)
    assert code == 0 and out.startswith("ok: 6 migrations applied")
    code, out, _ = cavra("migrate", "status", db=db)
    assert code == 0 and "VERSION" in out and out.count(" applied ") == 6


def test_plan_prints_pending_sql_and_changes_nothing(db):
    code, out, err = cavra("migrate", "plan", db=db)
    assert code == 0, err
    headers = re.findall(r"^-- (\d{3}_\w+\.sql) sha256=([0-9a-f]{64})$", out, re.M)
    assert [h[0] for h in headers] == [f"{i + 1:03d}_{n}.sql" for i, n in enumerate(NAMES)]
    assert "CREATE TABLE activity_decisions" in out
    assert user_tables(db) == []


def test_up_to_a_version(db):
    code, out, err = cavra("migrate", "up", "--to", "3", db=db)
    assert code == 0, err
    code, st, _ = status_json(db)
    assert st["schema_version"] == 3 and st["pending"] == 3
    assert [m["state"] for m in st["migrations"]] == ["applied"] * 3 + ["pending"] * 3
    code, out, _ = cavra("migrate", "verify", db=db)
    assert code == 1 and "pending: version 004" in out


def test_edited_file_is_drift_and_serve_refuses(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    mig = copy_migrations(tmp_path, backend_of(db))
    with open(os.path.join(mig, "002_approval_router.sql"), "a") as f:
        f.write("\n-- an innocent-looking edit\n")
    code, st, _ = status_json(db, "--migrations-dir", mig)
    assert code == 1
    assert [p["kind"] for p in st["problems"]] == ["drifted"]
    assert st["migrations"][1]["state"] == "drifted"
    code, out, _ = cavra("migrate", "verify", "--migrations-dir", mig, db=db)
    assert code == 1
    line = [l for l in out.splitlines() if l.startswith("drifted")][0]
    assert "002_approval_router.sql" in line
    assert len(re.findall(r"[0-9a-f]{64}", line)) == 2
    code, _, err = cavra("migrate", "up", "--migrations-dir", mig, db=db)
    assert code == 1 and "changed after it was applied" in err
    code, _, err = cavra("serve", "--listen", "127.0.0.1:1", "--migrations-dir", mig, db=db)
    assert code == 1 and "refusing to start" in err and "cavra migrate" in err


def test_crlf_checkout_is_not_drift(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    mig = copy_migrations(tmp_path, backend_of(db))
    for name in os.listdir(mig):
        path = os.path.join(mig, name)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n"))
    code, out, err = cavra("migrate", "verify", "--migrations-dir", mig, db=db)
    assert code == 0, out + err


def test_failed_migration_leaves_nothing(db, tmp_path):
    mig = copy_migrations(tmp_path, backend_of(db))
    with open(os.path.join(mig, "007_broken.sql"), "w") as f:
        f.write("CREATE TABLE broken_one (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n")
    code, out, err = cavra("migrate", "up", "--migrations-dir", mig, db=db)
    assert code == 1
    assert "007_broken.sql" in err and "no_such_table" in err
    assert len(err.strip().splitlines()) == 1
    assert "broken_one" not in user_tables(db)
    assert sql(db, "SELECT count(*) FROM schema_migrations WHERE version = 7") == [["0"]]
    code, st, _ = status_json(db, "--migrations-dir", mig)
    assert code == 0 and st["schema_version"] == 6 and st["pending"] == 1


def test_newer_database_is_refused(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    sql(db, "INSERT INTO schema_migrations (id, applied_at, version, name, checksum) VALUES "
            "('099_future.sql', '2026-01-01T00:00:00.000000Z', 99, 'future', 'abc')")
    code, st, _ = status_json(db)
    assert code == 1 and [p["kind"] for p in st["problems"]] == ["newer"]
    code, _, err = cavra("migrate", "up", db=db)
    assert code == 1 and "database schema is newer" in err
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
    assert sorted(p["kind"] for p in st["problems"]) == ["drifted", "drifted", "newer"]


def test_concurrent_up_applies_each_migration_once(pg_db, pg):
    for round_ in range(5):
        name = f"c{round_}_{int(time.time() * 1000) % 100000}"
        psql(pg.url(), f"CREATE DATABASE {name}")
        url = pg.url(name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
        procs = [subprocess.Popen([CAVRA,
                                   "migrate", "up", "--database", url], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], results
        rows = psql(url, "SELECT version, count(*) FROM schema_migrations GROUP BY version "
                         "ORDER BY version")
        assert rows.splitlines() == [f"{v}|1" for v in range(1, 7)]
        applied = sum(out.count("applied ") for out, _ in results)
        assert applied == 6
        psql(pg.url(), f"DROP DATABASE {name} WITH (FORCE)")


def test_psql_by_hand_gives_the_same_schema(pg):
    a, b = "hand_" + str(os.getpid()), "tool_" + str(os.getpid())
    for name in (a, b):
        psql(pg.url(), f"DROP DATABASE IF EXISTS {name}")
        psql(pg.url(), f"CREATE DATABASE {name}")
    for name in sorted(os.listdir(os.path.join(REPO, "sql", "postgres"))):
        r = subprocess.run(["psql", pg.url(a), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f",
                            os.path.join(REPO, "sql", "postgres", name)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert cavra("migrate", "up", db=pg.url(b))[0] == 0
    dumps = []
    for name in (a, b):
        r = subprocess.run([os.path.join(pg_bindir(), "pg_dump"), "--schema-only",
                            "--no-owner", "-T", "schema_migrations", pg.url(name)],
                           capture_output=True, text=True, check=True)
        # \restrict / \unrestrict carry a random key per dump
        dumps.append("\n".join(l for l in r.stdout.splitlines()
                               if not l.startswith(("\\restrict", "\\unrestrict"))))
    assert dumps[0] == dumps[1]
    assert "CREATE TABLE public.activity_decisions" in dumps[0]
    for name in (a, b):
        psql(pg.url(), f"DROP DATABASE {name} WITH (FORCE)")


def legacy_sqlite(path, applied):
    """A pilot database as the original tool left it, built with the sqlite3 CLI."""
    script = ""
    for n in range(applied):
        with open(os.path.join(REPO, "sql", "sqlite", f"{n + 1:03d}_{NAMES[n]}.sql")) as f:
            script += f.read() + "\n"
    script += ("CREATE TABLE schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL);\n")
    return script


@pytest.mark.parametrize("claimed", [4])
def test_legacy_ledger_is_adopted_without_data_loss(tmp_path, claimed):
    path = str(tmp_path / "pilot.db")
    script = legacy_sqlite(path, claimed)
    for n in range(claimed):
        script += (f"INSERT INTO schema_migrations VALUES ('{n + 1:03d}_{NAMES[n]}.sql', "
                   f"'2025-06-0{n + 1} 10:00:00');\n")
    script += ("INSERT INTO evidence_metadata (session_id, signer, created_at, updated_at, "
               "payload) VALUES ('pilot-1', 'ci@example', '2025-06-01T10:00:00.000000Z', "
               "'2025-06-01T10:00:00.000000Z', '{\"session_id\":\"pilot-1\"}');\n")
    subprocess.run(["sqlite3", path], input=script, text=True, check=True)
    db = "sqlite:" + path
    code, st, _ = status_json(db)
    assert st["ledger"] == "legacy" and st["schema_version"] == claimed
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    assert "adopted" in out and "applied 005_repository_policy_rollout" in out
    code, st, _ = status_json(db)
    assert st["ledger"] == "current" and st["schema_version"] == 6 and st["problems"] == []
    assert sql(db, "SELECT signer FROM evidence_metadata WHERE session_id = 'pilot-1'") == [
        ["ci@example"]]
    assert sql(db, "SELECT count(*) FROM schema_migrations WHERE applied_by LIKE 'adopted%'") \
        == [[str(claimed)]]
    assert cavra("migrate", "verify", db=db)[0] == 0


def test_legacy_ledger_with_missing_tables_is_refused(tmp_path):
    path = str(tmp_path / "pilot.db")
    script = legacy_sqlite(path, 2)
    for n in range(3):
        script += (f"INSERT INTO schema_migrations VALUES ('{n + 1:03d}_{NAMES[n]}.sql', "
                   "'2025-06-01 10:00:00');\n")
    subprocess.run(["sqlite3", path], input=script, text=True, check=True)
    db = "sqlite:" + path
    code, _, err = cavra("migrate", "up", db=db)
    assert code == 1 and "registry_agents" in err and "does not exist" in err
    code, st, _ = status_json(db)
    assert st["ledger"] == "legacy"


def test_evidence_migrate_alias(tmp_path):
    path = str(tmp_path / "evidence.db")
    code, out, err = cavra("evidence", "migrate", "--sqlite", path)
    assert code == 0, err
    assert "applied 006_integrations_inventory" in out
    assert cavra("migrate", "verify", db=path)[0] == 0


# --- bad input: one line, the right exit code, nothing half-written ---

def test_unknown_scheme():
    code, _, err = cavra("migrate", "status", db="mysql://u:pw@h/db")
    assert code == 2 and "unsupported scheme 'mysql'" in err and "pw" not in err
    assert len(err.strip().splitlines()) == 1


def test_unreachable_postgres_fails_fast():
    t0 = time.time()
    code, _, err = cavra("migrate", "up", db="postgresql://cavra:s3cr3t@127.0.0.1:1/cavra")
    assert code == 1 and time.time() - t0 < 15
    assert "connect to postgres" in err and "s3cr3t" not in err
    assert len(err.strip().splitlines()) == 1


def test_wrong_password_is_never_echoed(pg):
    url = pg.url(password="definitely-wrong-pw")
    code, _, err = cavra("migrate", "status", db=url)
    assert code == 1 and "password authentication failed" in err
    assert "definitely-wrong-pw" not in err


def test_unwritable_sqlite_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for path in ("/proc/cavra-no/x.db", str(blocker / "x.db")):
        code, _, err = cavra("migrate", "up", db=path)
        assert code == 1 and path in err, err
        assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["missing", "empty", "badname"])
def test_bad_migrations_dir(tmp_path, kind):
    d = tmp_path / "m"
    if kind != "missing":
        d.mkdir()
    if kind == "badname":
        (d / "1_x.sql").write_text("SELECT 1;")
    code, _, err = cavra("migrate", "up", "--migrations-dir", str(d), db=str(tmp_path / "x.db"))
    assert code == 2 and str(d) in err or "1_x.sql" in err
    assert not (tmp_path / "x.db").exists() or user_tables("sqlite:" + str(tmp_path / "x.db")) == []


@pytest.mark.parametrize("var,value,name", [
    ("CAVRA_DB_POOL_SIZE", "0", "db_pool_size"),
    ("CAVRA_LOG_LEVEL", "loud", "log_level"),
    ("CAVRA_LISTEN", "nope", "listen"),
    ("CAVRA_AUTO_MIGRATE", "perhaps", "auto_migrate"),
])
def test_bad_settings_exit_2(var, value, name):
    code, _, err = cavra("migrate", "status", env={var: value})
    assert code == 2 and name in err
    assert len(err.strip().splitlines()) == 1


def test_least_privilege_roles(pg):
    dbname = f"lp_{os.getpid()}"
    owner, app = f"owner_{os.getpid()}", f"app_{os.getpid()}"
    for stmt in (f"CREATE ROLE {owner} LOGIN PASSWORD 'owner-pw'",
                 f"CREATE ROLE {app} LOGIN PASSWORD 'app-pw'",
                 f"CREATE DATABASE {dbname} OWNER {owner}"):
        psql(pg.url(), stmt)
    # the GRANTs of docs/migrations.md
    for stmt in ("REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                 f"GRANT USAGE ON SCHEMA public TO {app}",
                 f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
                 f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
                 f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
                 f"GRANT USAGE, SELECT ON SEQUENCES TO {app}"):
        psql(pg.url(dbname), stmt)
    owner_url = pg.url(dbname, user=owner, password="owner-pw")
    app_url = pg.url(dbname, user=app, password="app-pw")
    code, _, err = cavra("migrate", "up", db=app_url)
    assert code == 1 and "permission denied" in err
    code, _, err = cavra("migrate", "up", env={"CAVRA_MIGRATION_DATABASE_URL": owner_url,
                                               "CAVRA_DATABASE_URL": app_url})
    assert code == 0, err
    with serve(app_url) as srv:
        assert srv.get("/readyz").status_code == 200
        r = srv.post("/decisions", {"action_type": "read_file", "target": "README.md"})
        assert r.status_code == 201, r.text
    psql(pg.url(), f"DROP DATABASE {dbname} WITH (FORCE)")
