"""Adopting a database made by the original CAVRA pilot (ledger without checksums)."""
import os
import subprocess

import pytest

from conftest import FILES, LATEST, REPO, cavra, sql, status_json, user_tables

LEGACY_LEDGER = "CREATE TABLE schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL);\n"


def build_legacy(path, run, claim, extra=""):
    """Runs sql/sqlite/001..`run` with the sqlite3 CLI and records `claim` ledger rows."""
    script = ""
    for name in FILES[:run]:
        with open(os.path.join(REPO, "sql", "sqlite", name)) as f:
            script += f.read() + "\n"
    script += LEGACY_LEDGER
    for i, name in enumerate(FILES[:claim]):
        script += f"INSERT INTO schema_migrations VALUES ('{name}', '2025-06-0{i + 1} 10:00:00');\n"
    script += extra
    subprocess.run(["sqlite3", path], input=script, text=True, check=True)
    return "sqlite:" + path


PILOT_ROW = ("INSERT INTO evidence_metadata (session_id, signer, created_at, updated_at, payload) "
             "VALUES ('pilot-1', 'ci@example', '2025-06-01T10:00:00.000000Z', "
             "'2025-06-01T10:00:00.000000Z', '{\"session_id\":\"pilot-1\"}');\n")


def snapshot(db):
    """Schema and ledger of a SQLite database, to show that nothing changed."""
    return (sql(db, "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"),
            sql(db, "SELECT * FROM schema_migrations ORDER BY id"))


@pytest.mark.parametrize("claimed", [4, 6])
def test_legacy_ledger_is_adopted_without_data_loss(tmp_path, claimed):
    db = build_legacy(str(tmp_path / "pilot.db"), claimed, claimed, PILOT_ROW)
    code, st, err = status_json(db)
    assert st is not None, err
    assert st["ledger"] == "legacy" and st["schema_version"] == claimed
    assert [m["state"] for m in st["migrations"]] == (["applied"] * claimed +
                                                      ["pending"] * (LATEST - claimed))
    assert all(m["applied_checksum"] is None for m in st["migrations"])
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    assert "adopted" in out
    assert [" ".join(l.split()[:2]) for l in out.splitlines() if l.startswith("applied ")] == [
        f"applied {f[:-4]}" for f in FILES[claimed:]]
    code, st, _ = status_json(db)
    assert code == 0
    assert st["ledger"] == "current" and st["schema_version"] == LATEST and st["problems"] == []
    assert all(m["state"] == "applied" and m["applied_checksum"] == m["checksum"]
               for m in st["migrations"])
    assert sql(db, "SELECT signer FROM evidence_metadata WHERE session_id = 'pilot-1'") == [
        ["ci@example"]]
    # the original applied_at values are kept
    assert sql(db, "SELECT applied_at FROM schema_migrations WHERE id = '001_evidence_metadata.sql'"
               ) == [["2025-06-01 10:00:00"]]
    assert cavra("migrate", "verify", db=db)[0] == 0
    code, out, _ = cavra("migrate", "up", db=db)
    assert code == 0 and "database is up to date" in out


def test_legacy_ledger_with_missing_tables_is_refused(tmp_path):
    # the ledger claims 001-003, but only 001-002 were ever run
    db = build_legacy(str(tmp_path / "pilot.db"), 2, 3, PILOT_ROW)
    before = snapshot(db)
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 1
    assert "registry_agents" in err or "registry_mcp_servers" in err
    assert "003" in err
    assert "applied" not in out
    assert snapshot(db) == before
    code, st, _ = status_json(db)
    assert st["ledger"] == "legacy"
    assert "activity_decisions" not in user_tables(db)


def test_legacy_ledger_with_unknown_id_is_reported(tmp_path):
    db = build_legacy(str(tmp_path / "pilot.db"), 4, 4,
                      "INSERT INTO schema_migrations VALUES ('900_custom_patch.sql', "
                      "'2025-07-01 10:00:00');\n")
    before = snapshot(db)
    code, st, _ = status_json(db)
    assert code == 1 and st["ledger"] == "legacy"
    assert {p["kind"] for p in st["problems"]} & {"newer", "unknown"}
    code, _, err = cavra("migrate", "up", db=db)
    assert code == 1
    assert snapshot(db) == before
