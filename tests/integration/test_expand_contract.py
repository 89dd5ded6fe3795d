"""Expand/contract (docs/migrations.md, docs/deployment.md): a database migrated one step past
this binary's embedded migrations, by a "newer release" (the embedded files plus a 016 in a
--migrations-dir).  A backward-compatible 016 keeps an older binary ready, serving and verifying;
a contract 016 makes /readyz and every start-up name it.  Ledgers written before the
compatibility column keep working and get it on the next migration."""
import json
import os
import shutil

import pytest

from conftest import LATEST, REPO, backend_of, cavra, free_port, serve, sql

NEXT = LATEST + 1


def ok(result):
    code, out, err = result
    assert code == 0, err + out
    return out


def newer_release(tmp_path, db, compat):
    """The migrations of a release one step ahead: ours plus NEXT, declared compat."""
    dst = tmp_path / f"newer-{compat}"
    shutil.copytree(os.path.join(REPO, "sql", backend_of(db)), dst)
    header = f"-- compatibility: {compat}\n" if compat else ""
    (dst / f"{NEXT:03d}_extra_things.sql").write_text(
        f"-- {NEXT:03d}_extra_things.sql\n{header}"
        "CREATE TABLE extra_things (id TEXT NOT NULL PRIMARY KEY);\n")
    return str(dst)


def status(db, *extra):
    code, out, err = cavra("migrate", "status", "--json", *extra, db=db)
    return code, json.loads(out), err


def test_backward_compatible_newer_schema_stays_ready(db, tmp_path):
    ok(cavra("migrate", "up", db=db))
    with serve(db, tmp=tmp_path) as srv:  # an old replica, still running during the upgrade
        newer = newer_release(tmp_path, db, "backward")
        out = ok(cavra("migrate", "up", "--migrations-dir", newer, db=db))
        assert f"applied {NEXT:03d}_extra_things" in out
        r = srv.get("/readyz")
        assert r.status_code == 200, r.text
        r = srv.post("/decisions", {"session_id": "s", "action_type": "execute_command",
                                    "target": "make"})
        assert r.status_code == 201, r.text
    assert sql(db, f"SELECT compatibility FROM schema_migrations WHERE version = {NEXT}") == [
        ["backward"]]
    code, st, err = status(db)
    assert code == 0 and st["problems"] == [] and st["newer_compatible"] == 1, err
    assert st["schema_version"] == NEXT and st["migrations"][-1]["state"] == "newer"
    out = ok(cavra("migrate", "verify", db=db))
    assert f"newer: version {NEXT:03d} (extra_things)" in out and "ok:" in out
    assert "database is up to date" in ok(cavra("migrate", "up", db=db))
    with serve(db, tmp=tmp_path) as srv:  # an old replica that restarts
        assert srv.get("/readyz").status_code == 200


@pytest.mark.parametrize("compat", ["contract", None])
def test_contract_newer_schema_is_named(db, tmp_path, compat):
    ok(cavra("migrate", "up", db=db))
    with serve(db, tmp=tmp_path) as srv:
        ok(cavra("migrate", "up", "--migrations-dir", newer_release(tmp_path, db, compat),
                 db=db))
        r = srv.get("/readyz")
        assert r.status_code == 503 and r.json()["problem"] == "schema", r.text
        # a file that declares nothing is recorded as contract, the safe reading
        assert f"'{NEXT:03d}_extra_things.sql' (version {NEXT}) is applied and declared " \
            "contract" in \
            r.json()["reason"], r.text
    code, out, err = cavra("migrate", "verify", db=db)
    assert code == 1 and f"{NEXT:03d}_extra_things.sql" in out
    code, out, err = cavra("serve", "--listen", f"127.0.0.1:{free_port()}", db=db, timeout=30)
    assert code != 0 and f"{NEXT:03d}_extra_things.sql" in err, err


def test_a_ledger_without_the_column_keeps_working(db, tmp_path):
    ok(cavra("migrate", "up", "--to", "3", db=db))
    sql(db, "ALTER TABLE schema_migrations DROP COLUMN compatibility")  # as cavra before it
    code, st, err = status(db)
    assert code == 0 and st["schema_version"] == 3 and st["problems"] == [], err
    script = ok(cavra("migrate", "sql", "--to", "4", db=db))
    assert "ADD COLUMN compatibility TEXT" in script
    ok(cavra("migrate", "up", db=db))
    rows = sql(db, "SELECT version, compatibility FROM schema_migrations ORDER BY version")
    assert all(r[1] in ("None", "") for r in rows[:3]), rows  # NULL: not recorded
    want = [m["compatibility"] for m in status(db)[1]["migrations"]]
    assert [r[1] for r in rows[3:]] == want[3:] and want[13] == "backward", rows
    out = ok(cavra("migrate", "verify", db=db))
    assert f"ok: {LATEST} migrations applied" in out
