"""Faster backup and restore, same bytes: a PostgreSQL backup dumps its tables on two
connections that share one exported snapshot, and its files are byte for byte what the one
connection dump of the same rows gives (through a SQLite copy, dumped serially); a failure
on either connection stops both and leaves nothing; a new SQLite database is loaded without
a journal, comes out in WAL mode and whole, and a failed load leaves no file behind."""
import hashlib
import json
import os
import sqlite3
import subprocess

from conftest import REPO, cavra, psql

from test_ops import _reseal, backup, manifest, ok, ops_json


def seed_pg(url, n):
    """n synthetic decisions and their sessions, with bench/seed.sh's generator."""
    ok(cavra("migrate", "up", db=url))
    r = subprocess.run(["bash", os.path.join(REPO, "bench", "seed.sh"), url, str(n)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    ok(cavra("audit", "adopt", db=url, timeout=300))  # chained, as a restore checks


def file_bytes(dest):
    return {f["path"]: (dest / f["path"]).read_bytes() for f in manifest(dest)["files"]}


def test_postgres_backup_on_two_connections_gives_the_serial_bytes(pg_db, tmp_path):
    seed_pg(pg_db, 3000)
    out = backup(pg_db, tmp_path / "pg")
    m = manifest(tmp_path / "pg")
    assert "pg_export_snapshot" in m["snapshot"] and "2 connections" in m["snapshot"]
    assert out["rows"] == sum(f["rows"] for f in m["files"]) > 3000
    # the same rows in SQLite, dumped on its one connection, table after table
    res = ops_json("restore", out["manifest"], "--target-dir", str(tmp_path / "sq"), db=pg_db)
    assert res["ok"]
    sq = f"sqlite:{tmp_path}/sq/cavra.db"
    backup(sq, tmp_path / "serial")
    assert "one read transaction" in manifest(tmp_path / "serial")["snapshot"]
    got, want = file_bytes(tmp_path / "pg"), file_bytes(tmp_path / "serial")
    assert got.keys() == want.keys()
    # operations_records: the SQLite copy holds the restore's own record as well
    for path in got:
        if path != "operations_records.jsonl":
            assert got[path] == want[path], path
    assert [f["path"] for f in m["files"]] == [
        f["path"] for f in manifest(tmp_path / "serial")["files"]]
    assert ops_json("verify", out["manifest"], "--json")["ok"]


def test_a_failure_on_one_connection_stops_the_backup_and_leaves_nothing(pg_db, tmp_path):
    """A column this binary does not know, in a small table: whichever connection dumps it
    fails, the other stops, and no file of the backup stays."""
    seed_pg(pg_db, 2000)
    psql(pg_db, "ALTER TABLE integrations ADD COLUMN surprise integer")
    code, out, err = cavra("ops", "backup", "--output", str(tmp_path / "bk"), db=pg_db,
                           timeout=300)
    assert code == 1 and "integrations" in err and "columns" in err, err + out
    assert not (tmp_path / "bk").exists()
    # and the connections went back clean: a backup after the repair works
    psql(pg_db, "ALTER TABLE integrations DROP COLUMN surprise")
    assert backup(pg_db, tmp_path / "bk2")["rows"] > 2000


def test_a_column_of_a_type_not_converted_fails_by_name(pg_db, tmp_path):
    """The column types of a bulk read or load come from the statement's description (it is
    never run): a type the binary format code does not convert (char(n), oid 1042) stops a
    backup and a restore, naming the column, before any file or row is written."""
    ok(cavra("migrate", "up", db=pg_db))
    good = backup(pg_db, tmp_path / "good")
    psql(pg_db, "ALTER TABLE integrations ALTER COLUMN owner TYPE char(40)")
    code, out, err = cavra("ops", "backup", "--output", str(tmp_path / "bk"), db=pg_db,
                           timeout=300)
    assert code == 1 and "'owner'" in err and "oid 1042" in err, err + out
    assert not (tmp_path / "bk").exists()
    code, out, err = cavra("ops", "restore", good["manifest"], "--target-url", pg_db,
                           timeout=300)
    assert code != 0 and "'owner'" in err and "oid 1042" in err, err + out


def assert_whole_and_wal(path, decisions):
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM activity_decisions").fetchone()[0] == decisions
    finally:
        con.close()


def with_a_decision_twice(dest):
    """The uncompressed backup at dest with its first decision added again at the end, resealed
    (a load then fails when the primary key is built); returns the file's new bytes."""
    data = (dest / "activity_decisions.jsonl").read_bytes()
    row = json.loads(data.split(b"\n", 1)[0])
    row["decided_at"] = "2000-01-01T00:00:00.000000Z"
    data += json.dumps(row, separators=(",", ":"), sort_keys=True,
                       ensure_ascii=False).encode() + b"\n"
    _reseal(dest, "activity_decisions", data)
    return data


def test_new_sqlite_database_is_whole_and_in_wal_mode(pg_db, tmp_path):
    seed_pg(pg_db, 2000)
    out = backup(pg_db, tmp_path / "bk")
    target = tmp_path / "t"
    res = ops_json("restore", out["manifest"], "--target-dir", str(target), db=pg_db)
    assert res["ok"] and sorted(os.listdir(target)) == ["cavra.db"]
    assert_whole_and_wal(target / "cavra.db", 2000)


def test_a_sqlite_url_of_a_file_not_there_yet_is_built_beside_it(pg_db, tmp_path):
    """--target-url (or the configured database) naming a SQLite file that does not exist yet
    gets what --target-dir gets: built unjournaled under a temporary name, then renamed. A
    failed load leaves nothing, not even an empty file of that name."""
    seed_pg(pg_db, 500)
    out = backup(pg_db, tmp_path / "bk", "--compression", "none")
    target = tmp_path / "new"
    target.mkdir()
    url = f"sqlite:{target / 'pilot.db'}"
    res = ops_json("restore", out["manifest"], "--target-url", url, db=pg_db)
    assert res["ok"] and res["target"] == url and sorted(os.listdir(target)) == ["pilot.db"]
    assert_whole_and_wal(target / "pilot.db", 500)
    # the configured database, on a new host: the same, and the restore recorded in it
    fresh = target / "configured.db"
    res = ops_json("restore", out["manifest"], db=f"sqlite:{fresh}")
    assert res["ok"] and res["kind"] == "restore" and res["record_id"].startswith("opr_")
    assert cavra("audit", "verify", db=f"sqlite:{fresh}")[0] == 0
    # a failed load (a decision twice): nothing of that name stays
    dest = tmp_path / "bk"
    with_a_decision_twice(dest)
    code, _, err = cavra("ops", "restore", str(dest), "--target-url",
                         f"sqlite:{target / 'failed.db'}", db=pg_db, timeout=300)
    assert code != 0 and "activity_decisions" in err, err
    assert sorted(os.listdir(target)) == ["configured.db", "pilot.db"]


def test_failed_load_into_a_new_sqlite_database_leaves_no_file(pg_db, tmp_path):
    """A key twice fails when the primary key is built, after rows went into the file
    unjournaled: the temporary file goes, nothing named like a database stays."""
    seed_pg(pg_db, 500)
    dest = tmp_path / "bk"
    backup(pg_db, dest, "--compression", "none")  # the test edits the text
    data = with_a_decision_twice(dest)
    assert hashlib.sha256(data).hexdigest() in (dest / "manifest.json").read_text()
    target = tmp_path / "t"
    code, _, err = cavra("ops", "restore", str(dest), "--target-dir", str(target), db=pg_db,
                         timeout=300)
    assert code != 0 and "activity_decisions" in err, err
    assert not target.exists()  # the restore made the directory, so it removed it
    target.mkdir()  # a directory that was there before stays, empty
    code, _, err = cavra("ops", "restore", str(dest), "--target-dir", str(target), db=pg_db,
                         timeout=300)
    assert code != 0 and "activity_decisions" in err, err
    assert os.listdir(target) == []
