"""Adopting a SQLite database that the original CAVRA made (built by original_fixture.py from
its published schema, not from our sql/): every record of its six stores comes through each
entry point, sessions are recounted, and a failure leaves the file byte for byte as it was."""
import hashlib
import json
import os
import sqlite3
import subprocess

import pytest

import original_fixture as orig
from conftest import LATEST, cavra, one_line, serve, sql, status_json

STORES = list(orig.TABLES_OF.values())
ALL = [t for ts in STORES for t in ts]
# the three entry points of the original's one runner, and ours
ENTRIES = {"evidence": ("evidence", "migrate", "--sqlite"),
           "approval": ("approval", "migrate", "--sqlite"),
           "registry": ("registry", "migrate", "--sqlite"),
           "up": ("migrate", "up", "--database")}


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def adopt(entry, path, expect=0):
    code, out, err = cavra(*ENTRIES[entry], path)
    assert code == expect, err + out
    return out, err


def ids(path, table, col):
    return sorted(r[0] for r in sql("sqlite:" + path, f"SELECT {col} FROM {table}"))


ID_COL = {"evidence_metadata": "session_id", "approvals": "approval_id",
          "registry_agents": "agent_id", "registry_mcp_servers": "server_id",
          "activity_sessions": "session_id", "activity_decisions": "decision_id",
          "inventory_repositories": "repository_id", "inventory_policy_rollouts": "rollout_id",
          "integrations": "integration_id"}


def assert_adopted(path, held):
    """Every record it held is there under its id, the schema is ours and verified."""
    db = "sqlite:" + path
    for table, recs in held.items():
        want = sorted(r[ID_COL[table]] for r in recs)
        got = ids(path, table, ID_COL[table])
        if table == "activity_sessions":  # plus the sessions only decisions name
            assert set(want) <= set(got), (table, got)
        else:
            assert got == want, (table, got)
    code, st, err = status_json(db)
    assert code == 0 and st["ledger"] == "current" and st["schema_version"] == LATEST, err
    assert cavra("migrate", "verify", db=db)[0] == 0
    tables = {r[0] for r in sql(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not [t for t in tables if t.startswith("original_")]
    assert [f for f in os.listdir(os.path.dirname(path)) if "cavra-adopt" in f] == []
    # the adopted decisions and approvals are chained: the pilot verifies as it is
    code, out, err = cavra("audit", "verify", db=db)
    assert code == 0 and "0 breaks" in out, out + err


CASES = {
    # (entry point, build arguments)
    "all six, evidence migrate": ("evidence", dict(stop=6)),
    "001-004, approval migrate": ("approval", dict(stop=4)),
    "001 only, registry migrate": ("registry", dict(stop=1)),
    "all six, migrate up": ("up", dict(stop=6)),
    "001 plus tables opened by stores": (
        "evidence", dict(stop=1, extra_tables=("activity_decisions", "registry_mcp_servers",
                                               "integrations"))),
    "no ledger at all": ("up", dict(stop=0, extra_tables=tuple(ALL))),
    "newer original with tenant columns": ("approval", dict(stop=6, tenant=True)),
    "001-004 with tenant columns, no ledger for 003": (
        "up", dict(stop=2, extra_tables=("activity_sessions", "registry_agents"),
                   tenant=True)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_original_pilot_is_adopted(tmp_path, case):
    entry, kw = CASES[case]
    path = str(tmp_path / "pilot.db")
    held = orig.build(path, **kw)
    out, _ = adopt(entry, path)
    assert "adopted the original CAVRA database" in out
    assert f"schema version {LATEST}" in out
    assert_adopted(path, held)
    ledger = sql("sqlite:" + path, "SELECT version, applied_by FROM schema_migrations "
                                   "ORDER BY version")
    assert [int(v) for v, _ in ledger] == list(range(1, LATEST + 1))
    assert all(by.startswith("adopted by cavra") for v, by in ledger if int(v) <= 6)
    if kw.get("tenant"):  # the newer original's tenant columns land in the records' payloads
        for t in [t for t in orig.TENANT_TABLES if held.get(t) and t != "activity_sessions"]:
            for (p,) in sql("sqlite:" + path, f"SELECT payload FROM {t}"):
                assert (json.loads(p)["tenant_id"], json.loads(p)["workspace_id"]) == (
                    "acme", "payments"), (t, p)
    # a second run finds our ledger and has nothing to do
    code, out, err = cavra(*ENTRIES[entry], path)
    assert code == 0 and "adopted" not in out and "up to date" in out, err


def test_an_index_name_in_the_file_is_quoted_not_run(tmp_path):
    """The adoption drops the original's indexes by the names the file gives: a name that
    closes the quote and adds a statement is a name, and other tables keep their indexes."""
    path = str(tmp_path / "pilot.db")
    held = orig.build(path)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE other (x)")
    con.execute("CREATE INDEX zz ON other (x)")
    con.execute('CREATE INDEX "zz""; CREATE TABLE pwned AS SELECT 1 AS x; --" ON approvals (state)')
    con.commit()
    con.close()
    adopt("approval", path)
    assert_adopted(path, held)
    names = {r[0] for r in sql("sqlite:" + path, "SELECT name FROM sqlite_master")}
    assert "pwned" not in names and "zz" in names, names


def test_original_values_defaults_and_counters(tmp_path):
    path = str(tmp_path / "pilot.db")
    orig.build(path)
    adopt("evidence", path)
    db = "sqlite:" + path
    assert sql(db, "SELECT session_id, state, decision_count, blocked_count, "
                   "approval_required_count FROM activity_sessions ORDER BY session_id") == [
        ["local", "active", "1", "0", "0"],
        ["pilot-1", "completed", "2", "1", "1"],  # the pilot said 9, 0, 0
        ["pilot-2", "active", "1", "0", "0"]]
    # a decision with only what the original required takes the original's defaults
    assert sql(db, "SELECT session_id, agent_id, actor, repository, rule_id, decision, severity, "
                   "decided_at FROM activity_decisions WHERE decision_id = 'dec_d'") == [
        ["local", "unknown-agent", "ai-agent", "local", "runtime.default", "audit_only", "low",
         "2025-05-02T08:00:00.000000Z"]]
    # the original's timestamp column is our decided_at; its payload keeps target
    (p,) = sql(db, "SELECT payload FROM activity_decisions WHERE decision_id = 'dec_a'")[0]
    assert json.loads(p)["target"] == "terraform apply"
    assert sql(db, "SELECT state FROM approvals ORDER BY state") == [
        ["approved"], ["break_glass"], ["denied"], ["expired"], ["pending"]]
    assert sql(db, "SELECT server_id, approval_state FROM registry_mcp_servers "
                   "ORDER BY server_id") == [["github-mcp", "not_required"],
                                             ["jira-mcp", "pending"], ["shady-mcp", "denied"]]
    assert sql(db, "SELECT integration_id, status, health FROM integrations "
                   "ORDER BY integration_id") == [["github-app", "active", "healthy"],
                                                  ["s3-archive", "paused", "failed"],
                                                  ["splunk-prod", "configured", "not_checked"]]
    assert sql(db, "SELECT applied_at FROM schema_migrations WHERE version = 1") == [
        ["2025-04-01T09:00:00.000000Z"]]  # the original's time of applying is kept


def backup(db, dest):
    code, out, err = cavra("ops", "backup", "--output", str(dest), "--json", db=db, timeout=300)
    assert code == 0, err + out
    return json.loads(out)


def table_shas(dest):
    with open(os.path.join(str(dest), "manifest.json")) as f:
        return {f["table"]: f["sha256"] for f in json.load(f)["files"]}


def test_adopted_pilot_serves_and_restores_into_postgres(tmp_path, pg_db):
    path = str(tmp_path / "pilot.db")
    orig.build(path)
    adopt("evidence", path)
    db = "sqlite:" + path
    with serve(db, tmp=tmp_path) as s:
        d = s.get("/decisions?limit=500").json()
        assert d["total"] == 4
        assert {x["decision_id"] for x in d["items"]} == {"dec_a", "dec_b", "dec_c", "dec_d"}
        assert s.get("/decisions?decision=allow_with_attestation").json()["total"] == 1
        sess = s.get("/sessions/pilot-1").json()
        assert (sess["decision_count"], sess["blocked_count"],
                sess["approval_required_count"], sess["state"]) == (2, 1, 1, "completed")
        for state in ("pending", "approved", "denied", "expired", "break_glass"):
            a = s.get(f"/approvals/apr_{state}")
            assert a.status_code == 200 and a.json()["decision_id"] == "dec_b", a.text
        assert s.get("/approvals/apr_denied").json()["state"] == "denied"
        servers = {m["server_id"]: m for m in s.get("/mcp/servers").json()["items"]}
        assert servers["github-mcp"]["approval_state"] == "not_required"
        assert set(servers) == {"github-mcp", "jira-mcp", "shady-mcp"}
        integ = {i["integration_id"]: i for i in s.get("/integrations").json()["items"]}
        assert (integ["s3-archive"]["status"], integ["s3-archive"]["health_status"]) == (
            "paused", "failed")
        assert integ["splunk-prod"]["status"] == "configured"
    backup(db, tmp_path / "b0")  # so that operations_records has a row to carry
    first = backup(db, tmp_path / "b1")
    code, out, err = cavra("ops", "restore", first["manifest"], "--target-url", pg_db, db=db,
                           timeout=300)
    assert code == 0, err + out
    backup(pg_db, tmp_path / "b2")
    a, b = table_shas(tmp_path / "b1"), table_shas(tmp_path / "b2")
    assert set(ALL) <= set(a) and a == b


def check_refused(path, before, err, *needles):
    line = one_line(err)
    for n in needles:
        assert n in line, line
    assert "left unchanged" in line
    assert sha(path) == before
    assert sorted(os.listdir(os.path.dirname(path))) == [os.path.basename(path)]


def edited_pilot(tmp_path, statement):
    """The original's database with one statement run on it, and its SHA-256 before adoption."""
    path = str(tmp_path / "pilot.db")
    orig.build(path)
    con = sqlite3.connect(path)
    con.execute(statement)
    con.commit()
    con.close()
    return path, sha(path)


def test_payload_not_json_is_refused_and_file_unchanged(tmp_path):
    path, before = edited_pilot(
        tmp_path, "UPDATE activity_decisions SET payload = '{not json' WHERE decision_id = 'dec_c'")
    for entry in ENTRIES:
        _, err = adopt(entry, path, expect=1)
        check_refused(path, before, err, "activity_decisions", "dec_c", "not a JSON object")


@pytest.mark.parametrize("statement,why", [
    # UTF-8 that is not: a surrogate (ED A0 80), which json-c's own check takes
    ("UPDATE activity_decisions SET payload = substr(payload, 1, length(payload) - 1) || "
     "',\"zz\":\"' || CAST(X'EDA080' AS TEXT) || '\"}' WHERE decision_id = 'dec_c'",
     "not valid UTF-8"),
    # a column that fills in what the payload lacks: its NUL cut the value short
    ("UPDATE registry_agents SET payload = json_remove(payload, '$.vendor'), "
     "vendor = CAST(X'61626300646566' AS TEXT)", "column 'vendor' contains a NUL character"),
    ("UPDATE registry_agents SET payload = json_remove(payload, '$.vendor'), "
     "vendor = CAST(X'FFFE626164' AS TEXT)", "column 'vendor' is not valid UTF-8"),
])
def test_text_the_api_refuses_is_refused_and_file_unchanged(tmp_path, statement, why):
    path, before = edited_pilot(tmp_path, statement)
    _, err = adopt("up", path, expect=1)
    check_refused(path, before, err, why)


def test_payload_with_a_number_json_c_would_clamp_is_refused_and_file_unchanged(tmp_path):
    # 1e30 would be adopted as 18446744073709551615 without a word
    path, before = edited_pilot(
        tmp_path, "UPDATE activity_decisions SET payload = replace(payload, '\"decision_id\"', "
                  "'\"cost\": 1e30, \"decision_id\"') WHERE decision_id = 'dec_c'")
    for entry in ENTRIES:
        _, err = adopt(entry, path, expect=1)
        check_refused(path, before, err, "activity_decisions", "dec_c",
                      "field 'cost' is a number beyond the 64-bit integer range")


def test_row_breaking_a_constraint_is_refused_and_file_unchanged(tmp_path):
    # the original had no unique index on MCP server names; ours has one
    path = str(tmp_path / "pilot.db")
    recs = orig.records()
    twin = orig.mcp("github-mcp-2", "approved", "approved")
    twin["name"] = "github-mcp"
    recs["registry_mcp_servers"].append(twin)
    orig.build(path, recs=recs)
    before = sha(path)
    _, err = adopt("registry", path, expect=1)
    check_refused(path, before, err, "registry_mcp_servers", "github-mcp-2", "UNIQUE")


def test_unknown_value_is_refused_and_file_unchanged(tmp_path):
    path = str(tmp_path / "pilot.db")
    recs = orig.records()
    recs["inventory_policy_rollouts"][0]["mode"] = "yolo"
    orig.build(path, recs=recs)
    before = sha(path)
    _, err = adopt("up", path, expect=1)
    check_refused(path, before, err, "inventory_policy_rollouts",
                  "acme/payments:cavra-ai-agent-baseline", "mode")


def test_ledger_naming_a_missing_table_is_refused(tmp_path):
    # the ledger claims 001-003, but 003's tables are gone
    path = str(tmp_path / "pilot.db")
    orig.build(path, stop=3)
    con = sqlite3.connect(path)
    con.execute("DROP TABLE registry_agents")
    con.commit()
    con.close()
    before = sha(path)
    _, err = adopt("up", path, expect=1)
    check_refused(path, before, err, "003_agent_mcp_registry.sql", "registry_agents")
    code, st, _ = status_json("sqlite:" + path)
    assert st["ledger"] == "legacy" and st["schema_version"] == 3


def test_ledger_with_unknown_id_is_refused(tmp_path):
    path = str(tmp_path / "pilot.db")
    orig.build(path, stop=4)
    con = sqlite3.connect(path)
    con.execute("INSERT INTO schema_migrations VALUES ('900_custom_patch.sql', "
                "'2025-07-01T10:00:00+00:00')")
    con.commit()
    con.close()
    before = sha(path)
    _, err = adopt("evidence", path, expect=1)
    check_refused(path, before, err, "900_custom_patch.sql")
    code, st, _ = status_json("sqlite:" + path)
    assert code == 1 and st["ledger"] == "legacy"
    assert {p["kind"] for p in st["problems"]} & {"newer", "unknown"}


def test_usage_errors_exit_2(tmp_path):
    for args, named in ((("approval", "migrate", "--sqlite"), "--sqlite"),
                        (("registry", "migrate", "--sqlite"), "--sqlite"),
                        (("evidence", "migrate", "--db", "x.db"), "--db"),
                        (("approval", "adopt"), "adopt")):
        code, _, err = cavra(*args, cwd=str(tmp_path))
        assert code == 2 and named in one_line(err), err
    assert not os.path.exists(tmp_path / ".cavra")
    path = str(tmp_path / "pilot.db")
    orig.build(path)
    before = sha(path)
    code, _, err = cavra("migrate", "up", "--to", "6", db="sqlite:" + path)
    assert code == 2 and "adopted whole" in one_line(err), err
    assert sha(path) == before


def test_serve_refuses_an_original_until_adopted(tmp_path):
    path = str(tmp_path / "pilot.db")
    orig.build(path)
    r = subprocess.run([cavra.__globals__["CAVRA"], "serve", "--listen", "127.0.0.1:1",
                        "--database", "sqlite:" + path, "--auto-migrate"],
                       capture_output=True, text=True, timeout=60,
                       env={k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")})
    assert r.returncode == 2, r.stderr
    line = one_line(r.stderr)
    assert "original CAVRA" in line and "cavra migrate up" in line, r.stderr
    assert sorted(sql("sqlite:" + path, "SELECT id FROM schema_migrations")) == [
        [f] for f in orig.FILES]


@pytest.mark.parametrize("stage", ["copy", "adoption"])
def test_disk_full_is_refused_and_file_unchanged(tmp_path, stage):
    mnt = tmp_path / "small"
    mnt.mkdir()
    path = str(mnt / "pilot.db")
    recs = orig.records()
    recs["activity_decisions"] += [
        orig.decision(f"dec_bulk_{i:05d}", "pilot-9", "allow", orig.T2, reason="x" * 400)
        for i in range(600)]
    staging = str(tmp_path / "staging.db")
    orig.build(staging, recs=recs)
    size = os.path.getsize(staging) // 1024
    # room for the pilot but not its copy; or for both, but not the adoption's writes
    kib = size + 64 if stage == "copy" else 2 * size + 128
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({r.stderr.strip()}): run as root to test a full disk")
    try:
        with open(staging, "rb") as src, open(path, "wb") as dst:
            dst.write(src.read())
        before = sha(path)
        _, err = adopt("evidence", path, expect=1)
        check_refused(path, before, err, "disk is full")
        assert ("copy '" in err) == (stage == "copy"), err
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_status_plan_verify_leave_the_pilot_as_it_is(tmp_path):
    path = str(tmp_path / "pilot.db")
    orig.build(path, stop=4)
    before = sha(path)
    code, st, err = status_json("sqlite:" + path)
    assert st["ledger"] == "legacy" and st["schema_version"] == 4, err
    code, out, _ = cavra("migrate", "plan", db="sqlite:" + path)
    assert code == 0 and "original CAVRA database" in out and "-- 001_evidence_metadata.sql" in out
    assert cavra("migrate", "verify", db="sqlite:" + path)[0] == 1
    assert sha(path) == before
    assert sorted(os.listdir(tmp_path)) == ["pilot.db"]


def test_pilot_being_written_is_refused(tmp_path):
    path = str(tmp_path / "pilot.db")
    orig.build(path)
    with open(path + "-journal", "wb") as f:
        f.write(b"\0" * 512)
    before = sha(path)
    _, err = adopt("up", path, expect=1)
    assert "pilot.db-journal' exists" in one_line(err) and "left unchanged" in err
    assert sha(path) == before
