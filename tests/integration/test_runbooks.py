"""The runbooks of docs/migrations.md and docs/operations.md, step by step as a DBA or SRE
follows them, with the least-privilege roles docs/migrations.md documents: back up first (a
fresh database), apply by hand (`cavra migrate sql` run with psql or sqlite3), restore the live
database with --overwrite, promote a pilot to PostgreSQL (database, roles, grants; which tables
compare equal), and a missing GRANT named as one by every command that meets it."""
import json
import os
import subprocess
import uuid

import pytest

from conftest import (LATEST, cavra, free_port, least_privilege_sql, pg_bindir, psql, serve,
                      sql, sqlite_path)
from test_ops import DATA_TABLES, counts, seed, table_shas

ALL_TABLES = DATA_TABLES + ["operations_records", "audit_chain", "audit_chain_head"]


def ok(result):
    code, out, err = result
    assert code == 0, err + out
    return out


@pytest.fixture
def roles(pg):
    """docs/migrations.md "Least privilege": a database owned by an owner role, an app role
    with data privileges only.  Yields (admin URL, owner URL, app URL, app role name)."""
    tag = uuid.uuid4().hex[:8]
    dbname, owner, app = f"rb_{tag}", f"cavra_owner_{tag}", f"cavra_app_{tag}"
    cluster, inside = least_privilege_sql(dbname, owner, app)
    for stmt in cluster:
        psql(pg.url(), stmt)
    for stmt in inside:
        psql(pg.url(dbname), stmt)
    yield (pg.url(dbname), pg.url(dbname, user=owner, password="owner-secret"),
           pg.url(dbname, user=app, password="app-secret"), app)
    psql(pg.url(), f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)", check=False)
    for role in (app, owner):
        psql(pg.url(), f"DROP ROLE IF EXISTS {role}", check=False)


def env_of(owner_url, app_url):
    return {"CAVRA_MIGRATION_DATABASE_URL": owner_url, "CAVRA_DATABASE_URL": app_url}


def status(**kw):
    code, out, err = cavra("migrate", "status", "--json", **kw)
    return code, json.loads(out) if out.strip() else None, err


def apply_script(url, text):
    """What the DBA runs: psql with ON_ERROR_STOP, or sqlite3 -bail."""
    if url.startswith("postgres"):
        argv = [os.path.join(pg_bindir(), "psql"), url, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    else:
        argv = ["sqlite3", "-bail", sqlite_path(url)]
    r = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr


# ---- 1. back up first, on a freshly created database ----

def test_backup_first_on_a_fresh_database(db, tmp_path):
    if db.startswith("sqlite:"):  # created, as a DBA creates the PostgreSQL database
        sql(db, "PRAGMA user_version")
    code, st, err = status(db=db)
    assert code == 0 and st["ledger"] == "none" and st["pending"] == LATEST, err
    code, out, err = cavra("ops", "backup", "--output", str(tmp_path / "pre"), db=db)
    assert code == 1 and "no applied migrations: run 'cavra migrate up' first" in err, err
    assert not (tmp_path / "pre" / "manifest.json").exists()
    ok(cavra("migrate", "up", db=db))
    ok(cavra("ops", "backup", "--output", str(tmp_path / "post"), db=db))


# ---- 2. apply by hand ----

def hand_apply(migrate_url, app_url, tmp_path, extra_env=None):
    env = dict(extra_env or {})
    # review, then apply the first seven
    script = ok(cavra("migrate", "sql", "--to", "7", db=migrate_url, env=env))
    assert "INSERT INTO schema_migrations" in script and "sha256=" in script
    (tmp_path / "to7.sql").write_text(script)
    code, err = apply_script(migrate_url, script)
    assert code == 0, err
    code, st, err = status(db=app_url, env=env)
    assert code == 0 and st["schema_version"] == 7 and st["pending"] == LATEST - 7, err
    # the rest
    script = ok(cavra("migrate", "sql", db=migrate_url, env=env))
    assert "schema version 7 to %d" % LATEST in script
    assert "CREATE TABLE IF NOT EXISTS schema_migrations" not in script
    code, err = apply_script(migrate_url, script)
    assert code == 0, err
    out = ok(cavra("migrate", "verify", db=app_url, env=env))
    assert f"ok: {LATEST} migrations applied, checksums match" in out
    code, st, err = status(db=app_url, env=env)
    assert code == 0 and st["problems"] == [] and st["pending"] == 0, err
    for m in st["migrations"]:
        assert m["state"] == "applied" and m["checksum"] == m["applied_checksum"], m
    rows = sql(migrate_url, "SELECT version, compatibility FROM schema_migrations ORDER BY version")
    assert [r[1] for r in rows] == [m["compatibility"] for m in st["migrations"]]
    # nothing left for the script or the runner; serve agrees
    assert "nothing to apply" in ok(cavra("migrate", "sql", db=migrate_url, env=env))
    assert "database is up to date" in ok(cavra("migrate", "up", db=migrate_url, env=env))
    with serve(app_url, env=env, tmp=tmp_path) as srv:
        r = srv.get("/readyz")
        assert r.status_code == 200, r.text


def test_hand_apply_sqlite(tmp_path):
    url = f"sqlite:{tmp_path}/cavra.db"
    hand_apply(url, url, tmp_path)


def test_hand_apply_postgres_as_the_owner(roles, tmp_path):
    admin, owner, app, _ = roles
    hand_apply(owner, app, tmp_path)
    tables = psql(admin, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert tables.splitlines() == [owner.split("//")[1].split(":")[0]]


def test_hand_applied_script_fails_whole_and_stays_pending(tmp_path):
    """A migration that fails leaves neither its tables nor its ledger row."""
    url = f"sqlite:{tmp_path}/cavra.db"
    script = ok(cavra("migrate", "sql", "--to", "2", db=url))
    broken = script.replace("CREATE TABLE approvals", "CREATE TABLE approvals_oops (x INT);\n"
                            "CREATE TABLE evidence_metadata")
    code, err = apply_script(url, broken)
    assert code != 0
    code, st, err = status(db=url)
    assert code == 0 and st["schema_version"] == 1 and st["pending"] == LATEST - 1, err
    assert sql(url, "SELECT count(*) FROM sqlite_master WHERE name = 'approvals_oops'") == [["0"]]


# ---- 3. restore the live database with the least-privilege roles ----

def test_restore_overwrite_uses_the_owner_credentials(roles, tmp_path):
    admin, owner, app, app_role = roles
    env = env_of(owner, app)
    ok(cavra("migrate", "up", env=env))
    seed(app, tmp_path)
    before = counts(admin, ALL_TABLES)
    ok(cavra("ops", "backup", "--output", str(tmp_path / "b"), env=env))
    with serve(None, env=env, tmp=tmp_path) as srv:
        r = srv.post("/decisions", {"session_id": "late", "action_type": "execute_command",
                                    "target": "make"})
        assert r.status_code == 201, r.text
    # as configured: the owner URL does the restore
    out = ok(cavra("ops", "restore", str(tmp_path / "b"), "--overwrite", env=env))
    res = json.loads(out)
    assert res["ok"] and res["kind"] == "restore" and "owner-secret" not in out
    after = counts(admin, ALL_TABLES)
    assert {t: after[t] for t in DATA_TABLES} == {t: before[t] for t in DATA_TABLES}
    # with the data role alone the restore is refused by PostgreSQL, and says so
    code, out, err = cavra("ops", "restore", str(tmp_path / "b"), "--overwrite", db=app)
    assert code == 1 and "permission denied" in err and app_role in err, err
    assert "app-secret" not in err + out


# ---- 4 and 5. promote a pilot to PostgreSQL ----

def test_promote_a_pilot_to_postgres(roles, tmp_path):
    admin, owner, app, _ = roles  # the database, roles and grants of the runbook
    pilot = f"sqlite:{tmp_path}/pilot.db"
    ok(cavra("migrate", "up", db=pilot))
    seed(pilot, tmp_path)
    ok(cavra("ops", "backup", "--output", str(tmp_path / "pilot-b"), db=pilot))
    ok(cavra("ops", "verify", str(tmp_path / "pilot-b")))
    ok(cavra("ops", "restore", str(tmp_path / "pilot-b"), "--target-url", owner, db=pilot))
    ok(cavra("ops", "restore-test", str(tmp_path / "pilot-b"),
             "--scratch-dir", str(tmp_path), db=app))
    with serve(app, tmp=tmp_path) as srv:
        assert srv.get("/readyz").status_code == 200
        assert srv.get("/sessions/ses-0/decisions").json()["total"] == 4
    ok(cavra("ops", "backup", "--output", str(tmp_path / "pg-b"), db=app))
    a, b = table_shas(tmp_path / "pilot-b"), table_shas(tmp_path / "pg-b")
    # every table compares equal but operations_records: the restore test wrote its record
    # into the new database after the pilot's backup was taken
    assert sorted(t for t in a if a[t] != b[t]) == ["operations_records"]
    assert sorted(sql(admin, "SELECT kind FROM operations_records")) == [["backup"],
                                                                         ["restore_test"]]


def test_a_missing_grant_is_named_everywhere(roles, tmp_path):
    admin, owner, app, app_role = roles
    env = env_of(owner, app)
    ok(cavra("migrate", "up", env=env))
    ok(cavra("ops", "backup", "--output", str(tmp_path / "b"), env=env))
    want = (f"role '{app_role}' has no privilege on table 'schema_migrations' (missing GRANT "
            f"SELECT, INSERT, UPDATE, DELETE ON TABLE schema_migrations TO {app_role})")
    # /readyz of a running replica when the grant goes away
    with serve(None, env=env, tmp=tmp_path) as srv:
        assert srv.get("/readyz").status_code == 200
        psql(admin, f"REVOKE ALL ON schema_migrations FROM {app_role}")
        r = srv.get("/readyz")
        assert r.status_code == 503 and r.json()["problem"] == "permission", r.text
        assert want in r.json()["reason"], r.text
    # migrate status, and serve at start-up
    code, out, err = cavra("migrate", "status", db=app)
    assert code == 1 and want in err, err
    code, out, err = cavra("serve", "--listen", f"127.0.0.1:{free_port()}", db=app, timeout=30)
    assert code != 0 and want in err, err
    # restore-test cannot record its evidence
    psql(admin, f"GRANT SELECT ON schema_migrations TO {app_role}")
    psql(admin, f"REVOKE ALL ON operations_records FROM {app_role}")
    code, out, err = cavra("ops", "restore-test", str(tmp_path / "b"),
                           "--scratch-dir", str(tmp_path), db=app)
    assert code == 1, err
    assert (f"role '{app_role}' has no privilege on table 'operations_records'" in err + out), \
        err + out
    assert "app-secret" not in err + out
