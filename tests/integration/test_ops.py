"""`cavra ops stores | backup | verify | restore | restore-test | retention-plan` and
GET /operations/*, on both backends with the real binary: a backup taken while eight writers
post decisions is consistent; mutilated backups (one table of scenarios, each on a fresh backup
that verifies first) make verify exit 1 naming every problem and make restore write nothing;
SQLite -> PostgreSQL -> SQLite gives the same per-table SHA-256s; restores refuse a target that
holds data, survive SIGKILL, and are recorded; restore tests are evidence; retention plans."""
import concurrent.futures
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import uuid

import pytest

import original_fixture
from conftest import (CAVRA, SANITIZER_MARKS, Postgres, backend_of, cavra, one_line, pg_bindir,
                      psql, serve, sql, sqlite_path, status_json, until, user_tables)

DATA_TABLES = ["evidence_metadata", "approvals", "registry_agents", "registry_mcp_servers",
               "activity_sessions", "activity_decisions", "inventory_repositories",
               "inventory_policy_rollouts", "integrations", "api_tokens"]
ALL_TABLES = DATA_TABLES + ["operations_records", "audit_chain", "audit_chain_head"]
STORES = {"evidence_metadata": "evidence_metadata", "approvals": "approvals",
          "registry_agents": "registry", "registry_mcp_servers": "registry",
          "activity_sessions": "activity", "activity_decisions": "activity",
          "inventory_repositories": "inventory", "inventory_policy_rollouts": "inventory",
          "integrations": "integrations", "api_tokens": "identity",
          "operations_records": "operations", "audit_chain": "audit",
          "audit_chain_head": "audit"}


# ---- helpers ----

def ok(result):
    code, out, err = result
    assert code == 0, err + out
    return out


def ops_json(*args, db=None, expect=0):
    code, out, err = cavra("ops", *args, db=db, timeout=300)
    assert code == expect, f"exit {code}: {err}{out}"
    return json.loads(out)


def backup(db, dest, *extra):
    out = ops_json("backup", "--output", str(dest), "--json", *extra, db=db)
    assert out["ok"] and out["manifest"].endswith("manifest.json")
    return out


def unzstd(data):
    return subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout


def zstd(data, level=3):
    return subprocess.run(["zstd", "-q", "-c", f"-{level}"], input=data, capture_output=True,
                          check=True).stdout


def entry(dest, table):
    return next(f for f in manifest(dest)["files"] if f["table"] == table)


def content(dest, f):
    """A table file's canonical lines, decompressed when the manifest says it is compressed."""
    raw = (dest / f["path"]).read_bytes()
    return unzstd(raw) if f.get("compression") == "zstd" else raw


def manifest(dest):
    with open(os.path.join(str(dest), "manifest.json")) as f:
        return json.load(f)


def table_shas(dest):
    return {f["table"]: f["sha256"] for f in manifest(dest)["files"]}


def lines(dest, table):
    data = content(dest, entry(dest, table))
    return [json.loads(l) for l in data.splitlines()]


def post(srv, path, body, status=(200, 201)):
    r = srv.post(path, body)
    assert r.status_code in status, r.text
    return r.json()


def seed(db, tmp_path):
    """Rows in every table, through the API (and a token through the CLI)."""
    with serve(db, tmp=tmp_path) as srv:
        for i in range(6):
            s = f"ses-{i % 3}"
            post(srv, "/decisions", {"session_id": s, "agent_id": "codex", "repository": "p/api",
                                     "action_type": "write_file", "target": ".github/workflows/x.yml"})
            post(srv, "/decisions", {"session_id": s, "action_type": "execute_command",
                                     "target": "pytest -q"})
        d = post(srv, "/decisions", {"session_id": "ses-apr", "action_type": "write_file",
                                     "target": "iam/role.tf", "repository": "p/iam"})
        post(srv, "/approvals", {"decision_id": d["decision_id"], "requested_by": "codex"})
        post(srv, "/evidence", {"session_id": "ses-0", "signer": "ci@example", "blocked_count": 2,
                                "note": "ünïcode ✓ \"quoted\" / slash"})
        post(srv, "/agents", {"agent_id": "codex", "owner": "team-a", "capabilities": ["edit"]})
        post(srv, "/mcp/servers", {"name": "github-mcp", "trust_tier": "trusted",
                                   "allowed_tools": ["create_pr"]})
        post(srv, "/repositories", {"repository": "payments/api", "provider": "github",
                                    "owner": "team-a"})
        post(srv, "/policy-rollouts", {"repository": "payments/api",
                                       "policy_pack": "cavra-ai-agent-baseline", "mode": "enforce"})
        post(srv, "/integrations", {"provider": "jira", "category": "itsm", "status": "active"})
    ok(cavra("tokens", "create", "--name", "ci-agent", "--role", "agent", db=db))


@pytest.fixture
def seeded(db, tmp_path):
    ok(cavra("migrate", "up", db=db))
    seed(db, tmp_path)
    return db


def counts(db, tables=DATA_TABLES):
    return {t: int(sql(db, f"SELECT count(*) FROM {t}")[0][0]) for t in tables}


@pytest.fixture
def pg_db2(pg):
    name = "t_" + uuid.uuid4().hex[:12]
    psql(pg.url(), f"CREATE DATABASE {name}")
    yield pg.url(name)
    psql(pg.url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)


def check_consistent(dest):
    """Every session's counters equal its decisions in the dump; every decision's session exists."""
    sessions = {s["session_id"]: s for s in lines(dest, "activity_sessions")}
    decisions = lines(dest, "activity_decisions")
    tally = {}
    for d in decisions:
        assert d["session_id"] in sessions, d["decision_id"]
        t = tally.setdefault(d["session_id"], [0, 0, 0])
        t[0] += 1
        t[1] += d["decision"] == "block"
        t[2] += d["decision"] == "require_approval"
    for sid, s in sessions.items():
        want = tally.get(sid, [0, 0, 0])
        assert [s["decision_count"], s["blocked_count"], s["approval_required_count"]] == want, sid
    return len(decisions)


# ---- stores ----

def test_stores_cli_and_api(seeded, tmp_path):
    doc = ops_json("stores", "--json", db=seeded)
    assert doc["schema_version"] == "cavra.persistent_api.stores.v1"
    assert doc["backend"] == backend_of(seeded) and doc["database_schema_version"] >= 9
    assert doc["database_bytes"] > 0
    by_table = {t["table"]: (s, t) for s in doc["stores"] for t in s["tables"]}
    assert set(ALL_TABLES) <= set(by_table)
    want = counts(seeded, ALL_TABLES)
    for table, (store, t) in by_table.items():
        if table in want:
            assert store["store"] == STORES[table] and t["rows"] == want[table], table
            # PostgreSQL knows each table's size; SQLite only the whole file's, cheaply
            assert (t["bytes"] > 0) if backend_of(seeded) == "postgres" else t["bytes"] is None
    s, t = by_table["activity_decisions"]
    assert t["oldest"] <= t["newest"] and t["newest"].endswith("Z") and len(t["newest"]) == 27
    assert s["rows"] == want["activity_sessions"] + want["activity_decisions"]
    assert doc["last_backup"] is None and doc["last_restore_test"] is None
    text = ok(cavra("ops", "stores", db=seeded))
    assert "activity_decisions" in text and "last backup: none recorded" in text
    backup(seeded, tmp_path / "b")
    with serve(seeded, tmp=tmp_path) as srv:
        api = srv.get("/operations/stores").json()
        assert srv.post("/operations/stores", {}).status_code == 405
        for path in ("/operations/backup", "/operations/restore", "/operations/verify"):
            assert srv.post(path, {}).status_code == 404, path
    cli = ops_json("stores", "--json", db=seeded)
    for d in (api, cli):
        d.pop("generated_at")
        if backend_of(seeded) == "postgres":
            # PostgreSQL's sizes are live: autovacuum and the free-space and visibility maps
            # may grow a table between the two calls, so compare them as present, not equal
            assert d.pop("database_bytes") > 0
            for s in d["stores"]:
                for t in s["tables"]:
                    t.pop("bytes")  # checked > 0 on the first call above
    assert api == cli
    assert cli["last_backup"]["outcome"] == "succeeded"
    assert cli["last_backup"]["location"] == str(tmp_path / "b")


def test_stores_on_missing_database_creates_nothing(tmp_path):
    code, _, err = cavra("ops", "stores", db=f"sqlite:{tmp_path}/nope.db")
    assert code == 1 and "does not exist" in err
    assert not (tmp_path / "nope.db").exists()


# ---- backup ----

def test_backup_files_manifest_and_record(seeded, tmp_path):
    dest = tmp_path / "bk"
    out = backup(seeded, dest)
    m = manifest(dest)
    assert m["backend"] == backend_of(seeded) and m["tool_version"]
    assert m["database_schema_version"] == len(m["migrations"]) >= 9
    assert all(len(g["checksum"]) == 64 for g in m["migrations"])
    assert [g["version"] for g in m["migrations"]] == list(range(1, len(m["migrations"]) + 1))
    assert m["manifest_sha256"] == out["manifest_sha256"]
    # the self checksum covers every byte before its own line
    raw = (dest / "manifest.json").read_bytes()
    line = raw.rindex(b'  "manifest_sha256"')
    assert hashlib.sha256(raw[:line]).hexdigest() == m["manifest_sha256"]
    files = {f["table"]: f for f in m["files"]}
    assert set(files) == set(ALL_TABLES)
    want = counts(seeded)
    for table, f in files.items():
        raw = (dest / f["path"]).read_bytes()
        data = unzstd(raw)
        assert f["store"] == STORES[table] and f["path"] == f"{table}.jsonl.zst"
        assert f["bytes"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
        assert f["compression"] == "zstd" and f["stored_bytes"] == len(raw)
        assert f["stored_sha256"] == hashlib.sha256(raw).hexdigest()
        rows = [json.loads(l) for l in data.splitlines()]
        assert len(rows) == f["rows"] and (table not in want or f["rows"] == want[table])
        # the file's declared order: decisions newest first (then by key), the rest by key,
        # the chain by its seq's value (format v4)
        key = f["key"]
        if table == "activity_decisions":
            assert f["order"] == f"decided_at desc, {key}"
            order = [(tuple(255 - b for b in r["decided_at"].encode()), r[key].encode())
                     for r in rows]
        elif table == "audit_chain":
            assert f["order"] == key == "seq"
            order = [int(r[key]) for r in rows]
        else:
            assert f["order"] == key
            order = [r[key].encode() for r in rows]
        assert order == sorted(order) and len(set(r[key] for r in rows)) == len(rows)
        for r, l in zip(rows, data.splitlines()):
            assert list(r) == sorted(r) and sorted(r) == sorted(f["columns"])
            # canonical: no whitespace, keys sorted at every level
            assert json.dumps(r, separators=(",", ":"), sort_keys=True,
                              ensure_ascii=False).encode() == l
    assert m["rows"] == sum(f["rows"] for f in m["files"])
    assert m["stored_bytes"] == sum(f["stored_bytes"] for f in m["files"]) == out["stored_bytes"]
    assert m["schema_version"] == "cavra.persistent_api.backup.v4"
    assert sorted(os.listdir(dest)) == sorted(["manifest.json"] + [f["path"] for f in m["files"]])
    assert oct(os.stat(dest / "activity_decisions.jsonl.zst").st_mode & 0o777) == "0o600"
    # times in the one UTC form, whatever the backend
    d = lines(dest, "activity_decisions")[0]
    assert d["decided_at"].endswith("Z") and len(d["decided_at"]) == 27
    # api tokens: the hash only, never a token
    tok = lines(dest, "api_tokens")[0]
    assert len(tok["token_sha256"]) == 64 and "token" not in tok["payload"]
    # recorded in the database
    rec = sql(seeded, "SELECT kind, outcome, manifest_sha256, location FROM operations_records")
    assert rec == [["backup", "succeeded", m["manifest_sha256"], str(dest)]]
    assert out["record_id"].startswith("opr_")


def test_backup_refuses_non_empty_or_unusable_output(seeded, tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    code, _, err = cavra("ops", "backup", "--output", str(full), db=seeded)
    assert code == 1 and "not empty" in err
    assert os.listdir(full) == ["keep.txt"] and (full / "keep.txt").read_text() == "mine"
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = cavra("ops", "backup", "--output", str(afile), db=seeded)
    assert code == 1 and "not a directory" in err
    code, _, err = cavra("ops", "backup", "--output", str(afile / "sub"), db=seeded)
    assert code == 1 and err.startswith("cavra: ")
    empty = tmp_path / "empty"
    empty.mkdir()
    backup(seeded, empty)
    assert (empty / "manifest.json").exists()
    assert cavra("ops", "backup", "--output", db=seeded)[0] == 2
    assert sql(seeded, "SELECT count(*) FROM operations_records") == [["1"]]


def test_two_backups_into_one_directory_one_wins(seeded, tmp_path):
    """A backup holds its directory (flock) from its check to its end: a second one into the
    same path is refused at once and touches nothing; two started together leave exactly one
    whole backup (they once both failed on each other's temporary files)."""
    import fcntl
    held = tmp_path / "held"
    held.mkdir()
    fd = os.open(held, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        code, _, err = cavra("ops", "backup", "--output", str(held), db=seeded)
        assert code == 1 and "is being written by another backup" in err, err
        assert os.listdir(held) == []
    finally:
        os.close(fd)
    for i in range(4):
        out = tmp_path / f"race{i}"
        cmd = [CAVRA, "ops", "backup", "--database", seeded, "--output", str(out), "--quiet"]
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        assert sorted(code for code, _ in results) == [0, 1], results
        (loser,) = [err for code, err in results if code == 1]
        assert "is being written by another backup" in loser or "is not empty" in loser, loser
        code, vout, verr = cavra("ops", "verify", str(out / "manifest.json"))
        assert code == 0, vout + verr


def test_backup_when_the_disk_fills_leaves_nothing(seeded, tmp_path):
    """RLIMIT_FSIZE makes writes fail with EFBIG, as a full disk fails them with ENOSPC."""
    limit_bytes = 40000  # above SQLite's 32 KiB shared-memory file, below the dump
    with serve(seeded, tmp=tmp_path) as srv:
        for i in range(60):
            post(srv, "/decisions", {"session_id": "fill", "action_type": "execute_command",
                                     "target": f"echo {i} " + "x" * 1000})
    dest = tmp_path / "bk"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    # uncompressed: x * 1000 would compress to far below the limit
    r = subprocess.run([CAVRA, "ops", "backup", "--output", str(dest), "--database", seeded,
                        "--compression", "none"],
                       capture_output=True, text=True, env=env, preexec_fn=limit, timeout=60)
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    assert r.returncode == 1 and "File too large" in r.stderr, r.stderr
    assert not dest.exists()
    assert sql(seeded, "SELECT count(*) FROM operations_records") == [["0"]]
    # and with room, the same backup works
    backup(seeded, dest)


def test_backup_is_consistent_while_eight_writers_post(db, tmp_path):
    ok(cavra("migrate", "up", db=db))
    stop = threading.Event()
    posted = [0] * 8
    during = {"start": None, "end": None}

    def writer(n):
        i = 0
        while not stop.is_set():
            r = srv.post("/decisions", {"session_id": f"w{n}-{i % 5}", "agent_id": f"a{n}",
                                        "action_type": ["write_file", "execute_command",
                                                        "read_file"][i % 3],
                                        "target": [".github/workflows/x.yml", "make deploy",
                                                   "README.md"][i % 3]})
            assert r.status_code == 201, r.text
            posted[n] += 1
            i += 1

    with serve(db, tmp=tmp_path) as srv:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(writer, n) for n in range(8)]
            while sum(posted) < 400:
                time.sleep(0.05)
            before = sum(posted)
            out = backup(db, tmp_path / "bk")
            after = sum(posted)
            time.sleep(0.2)
            stop.set()
            for f in futures:
                f.result()
    assert after > before, "writers were blocked while the backup ran"
    n = check_consistent(tmp_path / "bk")
    assert before <= n <= after + 8  # 8: committed, not yet answered
    assert int(sql(db, "SELECT count(*) FROM activity_decisions")[0][0]) == sum(posted) > n
    assert ops_json("verify", out["manifest"], "--json")["ok"]


# ---- verify: the corruption table ----

def _rewrite(path, fn):
    data = path.read_bytes()
    path.write_bytes(fn(data))


def _manifest_edit(dest, old, new):
    _rewrite(dest / "manifest.json", lambda d: d.replace(old.encode(), new.encode(), 1))


def c_extra(d):
    (d / "extra.jsonl").write_text("{}\n")


def c_missing(d):
    (d / "activity_sessions.jsonl").unlink()


def c_truncated(d):
    _rewrite(d / "activity_decisions.jsonl", lambda b: b[:-40])


def c_byte(d):
    _rewrite(d / "activity_decisions.jsonl", lambda b: b.replace(b"pytest -q", b"pytest -Q", 1))


def c_manifest(d):
    m = manifest(d)
    f = next(f for f in m["files"] if f["table"] == "activity_decisions")
    _manifest_edit(d, f'"rows": {f["rows"]},', f'"rows": {f["rows"] + 1},')


def c_self_checksum(d):
    _manifest_edit(d, manifest(d)["manifest_sha256"], "0" * 64)


def c_escape(d):
    _manifest_edit(d, '"path": "approvals.jsonl"', '"path": "../../etc/passwd"')


def c_unreadable(d):
    p = d / "registry_agents.jsonl"
    p.unlink()
    p.mkdir()


def c_not_json(d):
    def garble(b):
        first, rest = b.split(b"\n", 1)
        return b"#" * len(first) + b"\n" + rest
    _rewrite(d / "activity_sessions.jsonl", garble)


def c_everything(d):
    for c in (c_extra, c_truncated, c_escape, c_unreadable, c_not_json, c_missing):
        c(d)
    _rewrite(d / "registry_mcp_servers.jsonl", lambda b: b.replace(b"github-mcp", b"github-mcq"))


CORRUPTIONS = [
    ("extra file", c_extra, {"unlisted"}, "extra.jsonl"),
    ("missing file", c_missing, {"missing"}, "activity_sessions.jsonl"),
    ("truncated file", c_truncated, {"size", "truncated", "line"}, "activity_decisions.jsonl"),
    ("one byte changed, size kept", c_byte, {"sha256"}, "activity_decisions.jsonl"),
    ("edited manifest", c_manifest, {"manifest_checksum", "rows"}, "manifest.json"),
    ("wrong self-checksum", c_self_checksum, {"manifest_checksum"}, "manifest.json"),
    ("path ../../etc/passwd", c_escape, {"path_unsafe", "manifest_checksum", "unlisted"},
     "../../etc/passwd"),
    ("unreadable file", c_unreadable, {"not_regular"}, "registry_agents.jsonl"),
    ("line that is not JSON", c_not_json, {"line", "sha256"}, "activity_sessions.jsonl"),
    ("all of them at once", c_everything,
     {"unlisted", "missing", "size", "truncated", "line", "sha256", "path_unsafe",
      "manifest_checksum", "not_regular"}, "extra.jsonl"),
]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """One seeded SQLite database for the corruption table."""
    tmp = tmp_path_factory.mktemp("ops-source")
    db = f"sqlite:{tmp}/src.db"
    ok(cavra("migrate", "up", db=db))
    seed(db, tmp)
    return db


@pytest.mark.parametrize("name,corrupt,kinds,path", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_verify_reports_every_problem_and_restore_writes_nothing(source, tmp_path, name, corrupt,
                                                                 kinds, path):
    dest = tmp_path / "bk"
    backup(source, dest, "--compression", "none")  # edited as text; zstd: test_backup_compression
    assert ops_json("verify", str(dest), "--json")["ok"]
    corrupt(dest)
    rep = ops_json("verify", str(dest / "manifest.json"), "--json", expect=1)
    assert rep["schema_version"] == "cavra.persistent_api.verify.v1" and not rep["ok"]
    found = {p["kind"] for p in rep["problems"]}
    assert kinds <= found, rep["problems"]
    assert path in {p["path"] for p in rep["problems"]}
    code, out, _ = cavra("ops", "verify", str(dest))
    n = len(rep["problems"])
    assert code == 1 and out.startswith("FAILED") and f": {n} problem{'' if n == 1 else 's'}\n" in out
    # restore verifies first and writes nothing anywhere
    before = counts(source)
    target = tmp_path / "target"
    code, out, err = cavra("ops", "restore", str(dest), "--target-dir", str(target), db=source)
    assert code == 1 and "failed verification" in err and not json.loads(out)["ok"]
    assert not target.exists()
    code, _, err = cavra("ops", "restore", str(dest), "--overwrite", db=source)
    assert code == 1 and "nothing was written" in err
    assert counts(source) == before
    assert sql(source, "SELECT count(*) FROM operations_records WHERE kind <> 'backup'") == [["0"]]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_verify_unreadable_by_mode(source, tmp_path):
    dest = tmp_path / "bk"
    backup(source, dest, "--compression", "none")
    os.chmod(dest / "approvals.jsonl", 0)
    rep = ops_json("verify", str(dest), "--json", expect=1)
    assert {p["kind"] for p in rep["problems"]} == {"unreadable"}


def test_restore_into_postgres_writes_nothing_when_verification_fails(source, tmp_path, pg_db):
    dest = tmp_path / "bk"
    backup(source, dest, "--compression", "none")
    c_byte(dest)
    code, _, err = cavra("ops", "restore", str(dest), "--target-url", pg_db, db=source)
    assert code == 1 and "failed verification" in err
    assert user_tables(pg_db) == []


def _reseal(dest, table, data):
    """Replaces a table file (compressed again when it was) and rewrites the manifest to match,
    self checksum included."""
    m = manifest(dest)
    f = next(f for f in m["files"] if f["table"] == table)
    raw = zstd(data) if f.get("compression") == "zstd" else data
    (dest / f["path"]).write_bytes(raw)
    f["rows"], f["bytes"] = data.count(b"\n"), len(data)
    f["sha256"] = hashlib.sha256(data).hexdigest()
    if "stored_sha256" in f:
        f["stored_bytes"], f["stored_sha256"] = len(raw), hashlib.sha256(raw).hexdigest()
        m["stored_bytes"] = sum(f["stored_bytes"] for f in m["files"])
    m["rows"], m["bytes"] = sum(f["rows"] for f in m["files"]), sum(f["bytes"] for f in m["files"])
    _write_manifest(dest, m)


def _write_manifest(dest, m):
    """Writes m as manifest.json with a fresh self checksum."""
    m.pop("manifest_sha256", None)
    body = json.dumps(m, indent=2, ensure_ascii=False).encode()[:-2] + b",\n"
    sha = hashlib.sha256(body).hexdigest()
    (dest / "manifest.json").write_bytes(body + f'  "manifest_sha256": "{sha}"\n}}\n'.encode())


def test_decision_key_twice_at_two_times_is_refused_by_restore(source, tmp_path, pg_db):
    """Verify checks a newest-first file's order, which cannot show one key at two times
    (docs/backup-format.md): only the session's counters, which count it twice, show it. The
    restore's primary key refuses it and writes nothing."""
    dest = tmp_path / "bk"
    backup(source, dest)
    data = content(dest, entry(dest, "activity_decisions"))
    row = json.loads(data.split(b"\n", 1)[0])
    row["decided_at"] = "2000-01-01T00:00:00.000000Z"  # older than every row: it goes last
    data += json.dumps(row, separators=(",", ":"), sort_keys=True,
                       ensure_ascii=False).encode() + b"\n"
    _reseal(dest, "activity_decisions", data)
    rep = ops_json("verify", str(dest), "--json", expect=1)
    assert [p["kind"] for p in rep["problems"]] == ["session_counters"], rep
    target = tmp_path / "target"
    code, _, err = cavra("ops", "restore", str(dest), "--target-dir", str(target), db=source)
    assert code != 0 and "activity_decisions" in err and not (target / "cavra.db").exists()
    code, _, err = cavra("ops", "restore", str(dest), "--target-url", pg_db, db=source)
    assert code != 0 and "activity_decisions" in err
    assert user_tables(pg_db) == []  # not even the schema: it was migrated in the same transaction



def _edit_first_row(dest, table, change):
    data = content(dest, entry(dest, table))
    first, rest = data.split(b"\n", 1)
    row = json.loads(first)
    change(row)
    _reseal(dest, table, json.dumps(row, separators=(",", ":"), sort_keys=True,
                                    ensure_ascii=False).encode() + b"\n" + rest)


# Edits under a resealed manifest that a restore refuses (docs/backup-format.md): verify
# reports each, so a backup it passes is one a restore takes.
UNRESTORABLE = [
    ("an integer as text", lambda d: _edit_first_row(
        d, "activity_sessions", lambda r: r.update(decision_count="19")),
     "line", "'decision_count' is not an integer"),
    ("a number in a text column", lambda d: _edit_first_row(
        d, "activity_sessions", lambda r: r.update(actor=123)),
     "line", "'actor' is not a string"),
    ("a NUL in a text column", lambda d: _edit_first_row(
        d, "activity_sessions", lambda r: r.update(actor="al\u0000ice")),
     "line", "'actor' holds a NUL"),
    ("not a time", lambda d: _edit_first_row(
        d, "activity_sessions", lambda r: r.update(created_at="x2026-01-01T00:00:00Z")),
     "line", "'created_at' is not a time"),
    ("two columns swapped", lambda d: _write_manifest(d, _swap_columns(manifest(d))),
     "schema", "the columns of 'api_tokens' differ from this binary's"),
    ("a table left out", lambda d: _write_manifest(d, _drop_file(manifest(d))),
     "schema", "no file for table 'evidence_metadata'"),
]


def _swap_columns(m):
    f = next(f for f in m["files"] if f["table"] == "api_tokens")
    f["columns"][1], f["columns"][2] = f["columns"][2], f["columns"][1]
    return m


def _drop_file(m):
    m["files"] = [f for f in m["files"] if f["table"] != "evidence_metadata"]
    m["rows"] = sum(f["rows"] for f in m["files"])
    m["bytes"] = sum(f["bytes"] for f in m["files"])
    if "stored_bytes" in m:
        m["stored_bytes"] = sum(f["stored_bytes"] for f in m["files"])
    return m


@pytest.mark.parametrize("name,edit,kind,says", UNRESTORABLE, ids=[u[0] for u in UNRESTORABLE])
def test_verify_reports_what_a_restore_would_refuse(source, tmp_path, name, edit, kind, says):
    dest = tmp_path / "bk"
    backup(source, dest, "--compression", "none")
    edit(dest)
    out = ops_json("verify", str(dest), "--json", expect=1)
    assert any(p["kind"] == kind and says in p["message"] for p in out["problems"]), out["problems"]
    code, _, err = cavra("ops", "restore", str(dest), "--target-dir", str(tmp_path / "t"),
                         db=source)
    assert code != 0 and not (tmp_path / "t" / "cavra.db").exists(), err


@pytest.mark.parametrize("level", ["none", "zstd"])
def test_postgres_restore_checks_the_content_while_loading(source, tmp_path, pg_db, level):
    """Into PostgreSQL, the content is checked while it loads, not in a pass before
    (docs/backup-format.md): lines out of order under a resealed manifest, and content that
    no longer matches its SHA-256 under a matching stored checksum, roll the load back and are
    reported as the failed verification they are."""
    dest = tmp_path / "bk"
    backup(source, dest, "--compression", level)
    f = entry(dest, "activity_decisions")
    data = content(dest, f)
    rows = data.splitlines(keepends=True)
    assert len(rows) > 2
    _reseal(dest, "activity_decisions", b"".join(reversed(rows)))
    assert {p["kind"] for p in ops_json("verify", str(dest), "--json", expect=1)["problems"]} \
        == {"line"}
    code, out, err = cavra("ops", "restore", str(dest), "--target-url", pg_db, db=source)
    assert code == 1 and "failed verification" in err and not json.loads(out)["ok"], err
    assert {p["kind"] for p in json.loads(out)["problems"]} == {"line"}
    assert user_tables(pg_db) == []
    # the file's bytes changed, its manifest entry did not (compressed: stored checksum resealed)
    _reseal(dest, "activity_decisions", data)
    changed = data.replace(b'"allow"', b'"block"', 1)
    assert changed != data and len(changed) == len(data)
    m = manifest(dest)
    raw = zstd(changed) if level == "zstd" else changed
    (dest / f["path"]).write_bytes(raw)
    if level == "zstd":
        fe = next(x for x in m["files"] if x["table"] == "activity_decisions")
        fe["stored_bytes"] = len(raw)
        fe["stored_sha256"] = hashlib.sha256(raw).hexdigest()
        m["stored_bytes"] = sum(x["stored_bytes"] for x in m["files"])
        _write_manifest(dest, m)
    code, out, err = cavra("ops", "restore", str(dest), "--target-url", pg_db, db=source)
    assert code == 1 and "failed verification" in err, err
    assert "sha256" in {p["kind"] for p in json.loads(out)["problems"]}
    assert user_tables(pg_db) == []


def test_postgres_restore_runs_without_jit(source, tmp_path, pg_db, request):
    """The restore's statements run with JIT compilation off (docs/backup-format.md): on freshly
    loaded tables, with no statistics yet, PostgreSQL took the counts after each load for costly
    enough to compile, 186 ms of compiling for a count of 2.5 ms at 1,000,000 decisions.  Here a
    database whose settings JIT-compile every statement (thresholds 0) logs each plan the
    restore ran (auto_explain): a query from psql there is compiled, none of the restore's."""
    pg = request.getfixturevalue("pg")
    if not isinstance(pg, Postgres):
        pytest.skip("needs the test's own PostgreSQL and its log (not CAVRA_TEST_PG_URL)")
    dest = tmp_path / "bk"
    backup(source, dest)
    name = pg_db.rsplit("/", 1)[1]
    for setting in ("session_preload_libraries = 'auto_explain'",
                    "auto_explain.log_min_duration = 0", "jit = on", "jit_above_cost = 0",
                    "jit_inline_above_cost = 0", "jit_optimize_above_cost = 0"):
        psql(pg.url(), f"ALTER DATABASE {name} SET {setting}")
    log = os.path.join(pg.dir, "log")
    start = os.path.getsize(log)
    psql(pg_db, "SELECT count(*) FROM pg_class /* jit control */")
    ok(cavra("ops", "restore", str(dest), "--target-url", pg_db, db=source))
    with open(log) as f:
        entries = re.split(r"\n(?=\d{4}-\d\d-\d\d )", f.read()[start:])
    plans = {}
    for entry in entries:
        m = re.search(r"Query Text: (.*)", entry)
        if m:
            plans.setdefault(m.group(1), []).append("JIT:" in entry)
    assert plans["SELECT count(*) FROM pg_class /* jit control */"] == [True], plans
    loaded = [q for q in plans if q.startswith("SELECT count(*) FROM activity_decisions")]
    assert loaded, sorted(plans)
    # the load's transaction: from the count after the first load to the record of the restore
    # (the reads of the chain check after the commit run in their own, and are cheap enough
    # never to be compiled under the default thresholds); and every streamed read (COPY ... TO)
    first = next(i for i, e in enumerate(entries)
                 if "Query Text: SELECT count(*) FROM " in e and "pg_class" not in e)
    last = next(i for i, e in enumerate(entries)
                if "Query Text: INSERT INTO operations_records" in e)
    ran = entries[first:last + 1] + [e for e in entries if "Query Text: COPY (" in e]
    assert len(ran) > 20 and any("Query Text: COPY (" in e for e in ran), len(ran)
    compiled = [re.search(r"Query Text: (.*)", e).group(1)[:120] for e in ran
                if "JIT:" in e]
    assert compiled == [], compiled


# ---- restore ----

KEYED = {"session_id": "ses-key", "action_type": "execute_command", "target": "make deploy"}


def assert_replays(db, tmp_path, first):
    with serve(db, tmp=tmp_path) as srv:
        r = srv.post("/decisions", KEYED, headers={"Idempotency-Key": '"restore-key"'})
        assert r.status_code == 201 and r.headers.get("Idempotent-Replayed") == "true", r.text
        assert r.json() == first
        r = srv.post("/decisions", dict(KEYED, target="ls"),
                     headers={"Idempotency-Key": '"restore-key"'})
        assert r.status_code == 422, r.text
        assert srv.get("/sessions/ses-key").json()["decision_count"] == 1


def test_roundtrip_sqlite_postgres_sqlite_same_hashes(tmp_path, pg_db):
    a = f"sqlite:{tmp_path}/a.db"
    ok(cavra("migrate", "up", db=a))
    seed(a, tmp_path)
    with serve(a, tmp=tmp_path) as srv:
        keyed = srv.post("/decisions", KEYED, headers={"Idempotency-Key": '"restore-key"'})
        assert keyed.status_code == 201, keyed.text
    backup(a, tmp_path / "b0")  # so that operations_records has a row to carry
    first = backup(a, tmp_path / "b1")
    keyed_lines = [x for x in lines(tmp_path / "b1", "activity_decisions")
                   if x["idempotency_key"] == "restore-key"]
    assert len(keyed_lines) == 1 and len(keyed_lines[0]["request_sha256"]) == 64
    # SQLite -> PostgreSQL
    res = ops_json("restore", first["manifest"], "--target-url", pg_db, db=a)
    assert res["schema_version"] == "cavra.persistent_api.restore.v2" and res["ok"]
    assert res["source_backend"] == "sqlite" and res["target_backend"] == "postgres"
    assert res["target_schema_version_before"] == 0
    assert res["target_schema_version_after"] == first["database_schema_version"]
    assert "pg-test-secret" not in json.dumps(res) and "*****" in res["target"]
    assert {t["table"]: t["rows_after"] for t in res["tables"]} == counts(a, ALL_TABLES) | {
        "operations_records": 1}
    assert res["kind"] == "restore_test" and res["record_id"].startswith("opr_")
    second = backup(pg_db, tmp_path / "b2")
    assert table_shas(tmp_path / "b1") == table_shas(tmp_path / "b2")
    # PostgreSQL -> SQLite
    res = ops_json("restore", second["manifest"], "--target-dir", str(tmp_path / "c"), db=a)
    assert res["ok"] and res["target"] == str(tmp_path / "c" / "cavra.db")
    assert sorted(os.listdir(tmp_path / "c")) == ["cavra.db"]
    backup(f"sqlite:{tmp_path}/c/cavra.db", tmp_path / "b3")
    assert table_shas(tmp_path / "b1") == table_shas(tmp_path / "b3")
    # the restored database serves the same records
    with serve(f"sqlite:{tmp_path}/c/cavra.db", tmp=tmp_path) as srv:
        got = srv.get("/sessions/ses-0/decisions").json()
    with serve(a, tmp=tmp_path) as srv:
        want = srv.get("/sessions/ses-0/decisions").json()
    assert got == want and got["total"] == 4
    # a retry after the restore still answers the stored decision, on both backends
    for target in (pg_db, f"sqlite:{tmp_path}/c/cavra.db"):
        assert_replays(target, tmp_path, keyed.json())
    # two restore tests recorded in the configured database, a's
    assert sql(a, "SELECT kind, outcome FROM operations_records WHERE kind <> 'backup'") == [
        ["restore_test", "succeeded"]] * 2


# Bytes that COPY's text format escapes (tab, newline, carriage return, backslash, a literal
# "\\N"), JSON escapes, controls, non-ASCII and a character outside the BMP, in text columns
# and in the payload: they must survive SQLite -> PostgreSQL (COPY FROM) -> backup (binary
# COPY TO) -> SQLite unchanged.
AWKWARD = 'tab\there\nline\r\\back\\N \\. "q" \u00e9 \U0001F600 \x01 /'


def test_awkward_values_survive_both_copy_paths(tmp_path, pg_db):
    a = f"sqlite:{tmp_path}/a.db"
    ok(cavra("migrate", "up", db=a))
    payload = json.dumps({"s": AWKWARD, "n": {"b": [AWKWARD, None, 1.5, -7]}, "a": "\\N"})
    # numbers SQLite keeps as written and PostgreSQL's jsonb rewrites: the canonical form reads
    # them as PostgreSQL prints them, so the hashes agree
    payload = payload[:-1] + ', "nums": [1e2, -0.0, 1.50e1, 5E-1, 1.50, 123.456e-10, -0]}'
    con = sqlite3.connect(sqlite_path(a))
    with con:
        for i, v in enumerate([AWKWARD, "\\N", "", None]):
            con.execute(
                "INSERT INTO activity_decisions (decision_id, session_id, agent_id, actor, "
                "repository, action_type, policy_pack, rule_id, decision, severity, "
                "approver_group, correlation_id, decided_at, created_at, updated_at, payload) "
                "VALUES (?, ?, ?, ?, ?, 'write_file', 'p', ?, 'allow', 'low', ?, ?, "
                "'2026-01-02T03:04:05.000001Z', '2026-01-02T03:04:05.000001Z', "
                "'2026-01-02T03:04:05.000001Z', ?)",
                (f"dec_{i}", AWKWARD, v, v, v, v, v, v, payload))
        # the session that counts them, as cavra keeps it (a restore checks the counters)
        con.execute("INSERT INTO activity_sessions (session_id, state, started_at, updated_at, "
                    "created_at, decision_count, payload) VALUES (?, 'active', "
                    "'2026-01-02T03:04:05.000001Z', '2026-01-02T03:04:05.000001Z', "
                    "'2026-01-02T03:04:05.000001Z', 4, '{}')", (AWKWARD,))
    con.close()
    first = backup(a, tmp_path / "b1")
    text = content(tmp_path / "b1", entry(tmp_path / "b1", "activity_decisions")).decode()
    assert '"nums":[100,0.0,15.0,0.5,1.50,0.0000000123456,0]' in text, text[:400]
    ops_json("restore", first["manifest"], "--target-url", pg_db, db=a)
    got = psql(pg_db, "SELECT encode(convert_to(actor, 'UTF8'), 'hex'), payload->>'s' "
                      "FROM activity_decisions WHERE decision_id = 'dec_0'")
    assert got.split("|")[0] == AWKWARD.encode().hex()
    second = backup(pg_db, tmp_path / "b2")
    ops_json("restore", second["manifest"], "--target-dir", str(tmp_path / "c"), db=a)
    backup(f"sqlite:{tmp_path}/c/cavra.db", tmp_path / "b3")
    assert table_shas(tmp_path / "b1") == table_shas(tmp_path / "b2") == table_shas(
        tmp_path / "b3")
    rows = {r["decision_id"]: r for r in lines(tmp_path / "b3", "activity_decisions")}
    assert rows["dec_0"]["actor"] == AWKWARD and rows["dec_0"]["payload"]["s"] == AWKWARD
    assert rows["dec_1"]["actor"] == "\\N" and rows["dec_3"]["actor"] is None
    assert rows["dec_2"]["actor"] == ""


def test_roundtrip_from_postgres(pg_db, pg_db2, tmp_path):
    ok(cavra("migrate", "up", db=pg_db))
    seed(pg_db, tmp_path)
    first = backup(pg_db, tmp_path / "b1")
    ops_json("restore", first["manifest"], "--target-dir", str(tmp_path / "s"), db=pg_db)
    second = backup(f"sqlite:{tmp_path}/s/cavra.db", tmp_path / "b2")
    ops_json("restore", second["manifest"], "--target-url", pg_db2, db=pg_db)
    backup(pg_db2, tmp_path / "b3")
    assert table_shas(tmp_path / "b1") == table_shas(tmp_path / "b2") == table_shas(
        tmp_path / "b3")
    # the indexes and primary keys the restore dropped for the load are all back, as they were
    defs = ("SELECT c.relname, pg_get_indexdef(x.indexrelid), x.indisprimary FROM pg_index x "
            "JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' ORDER BY 1")
    assert sql(pg_db2, defs) == sql(pg_db, defs)
    assert ["activity_decisions_pkey", "CREATE UNIQUE INDEX activity_decisions_pkey ON "
            "public.activity_decisions USING btree (decision_id)", "t"] in sql(pg_db2, defs)


def test_restore_refuses_target_with_data_unless_overwrite(seeded, tmp_path):
    first = backup(seeded, tmp_path / "b1")
    before = counts(seeded)
    sql(seeded, "DELETE FROM registry_agents")
    sql(seeded, "UPDATE activity_sessions SET state = 'archived'")
    # into the configured database: it holds data
    code, out, err = cavra("ops", "restore", first["manifest"], db=seeded)
    assert code == 1 and "holds data" in err and "--overwrite" in err
    assert counts(seeded)["registry_agents"] == 0
    # an explicit target that holds data
    other = tmp_path / "other"
    ops_json("restore", first["manifest"], "--target-dir", str(other), db=seeded)
    code, _, err = cavra("ops", "restore", first["manifest"], "--target-dir", str(other),
                         db=seeded)
    assert code == 1 and "holds data" in err
    # --overwrite replaces the rows, keeps the audit trail, and is recorded as a restore
    res = ops_json("restore", first["manifest"], "--overwrite", db=seeded)
    assert res["ok"] and res["overwrote"] and res["kind"] == "restore"
    assert counts(seeded) == before
    assert sql(seeded, "SELECT DISTINCT state FROM activity_sessions") == [["active"]]
    kinds = sorted(r[0] for r in sql(seeded, "SELECT kind FROM operations_records"))
    assert kinds == ["backup", "restore", "restore_test"]
    second = backup(seeded, tmp_path / "b2")
    shas = table_shas(tmp_path / "b2")
    assert {t: s for t, s in table_shas(tmp_path / "b1").items() if t != "operations_records"} \
        == {t: s for t, s in shas.items() if t != "operations_records"}
    assert second["rows"] > first["rows"]


def foreign_database(db, request, tmp_path):
    """Another application's database on db's backend, with no cavra tables: one table of its
    own (on PostgreSQL in a schema of its own, as applications often keep them) and a ledger
    named as cavra's is, in another tool's shape (Rails)."""
    if backend_of(db) == "sqlite":
        target, table = f"sqlite:{tmp_path}/app.db", "app_users"
    else:
        target, table = request.getfixturevalue("pg_db2"), "billing.app_users"
        sql(target, "CREATE SCHEMA billing")
    sql(target, f"CREATE TABLE {table} (id integer PRIMARY KEY, name text)")
    sql(target, f"INSERT INTO {table} VALUES (1, 'ada')")
    return target, table


def file_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_restore_and_auto_migrate_refuse_a_database_that_is_not_cavras(seeded, tmp_path,
                                                                        request):
    """A target URL mistyped onto another application's database is not filled with cavra's
    tables, even with --overwrite (which replaces cavra's data, not anyone else's); an explicit
    `migrate up` is how an operator lets cavra share it.  A SQLite file is left byte for byte
    (its journal mode included), with no -wal beside it.  The refusal is bad input, exit 2 and
    one line, as from every command that reads cavra's records (restore and auto-migrate
    exited 1)."""
    first = backup(seeded, tmp_path / "b1")
    target, table = foreign_database(seeded, request, tmp_path)
    path = sqlite_path(target)
    before = file_sha(path) if backend_of(target) == "sqlite" else None
    for extra in ([], ["--overwrite"]):
        code, out, err = cavra("ops", "restore", first["manifest"], "--target-url", target,
                               *extra, db=seeded)
        line = one_line(err)
        assert code == 2 and "not cavra's" in line and f"'{table}'" in line, (code, err)
        assert json.loads(out)["ok"] is False
    code, _, err = cavra("tokens", "list", "--auto-migrate", db=target)
    line = one_line(err)
    assert code == 2 and "refusing to migrate it automatically" in line and table in line, err
    # without --auto-migrate it is named as someone else's too, not as cavra's, behind
    code, _, err = cavra("tokens", "list", db=target)
    line = one_line(err)
    assert code == 2 and "not cavra's" in line and table in line, err
    assert "pending migrations" not in line, err
    assert "activity_decisions" not in user_tables(target)
    if before:
        assert file_sha(path) == before and not os.path.exists(path + "-wal")
    ok(cavra("migrate", "up", db=target))
    res = ops_json("restore", first["manifest"], "--target-url", target, db=seeded)
    assert res["ok"] and not res["overwrote"]
    assert sql(target, f"SELECT name FROM {table}") == [["ada"]]
    assert counts(target) == counts(seeded)


FOREIGN_FILES = {
    "app": "CREATE TABLE app_users (id integer); INSERT INTO app_users VALUES (1);",
    # Rails, golang-migrate and the original CAVRA name their ledgers as cavra does
    "rails": "CREATE TABLE schema_migrations (version varchar PRIMARY KEY); "
             "INSERT INTO schema_migrations VALUES ('20240101000000'); "
             "CREATE TABLE users (id integer);",
    "original": None,
}


@pytest.mark.parametrize("kind", sorted(FOREIGN_FILES))
@pytest.mark.parametrize("argv", [["audit", "verify"], ["ops", "stores"], ["ops", "doctor"],
                                  ["ops", "backup", "--output", "OUT"], ["migrate", "status"]],
                         ids=lambda a: " ".join(a[:2]))
def test_commands_leave_a_foreign_sqlite_file_as_it_was(tmp_path, argv, kind):
    """Commands pointed at a SQLite file that is not cavra's (or the original CAVRA's, before
    its adoption) refuse it or report nothing in it without switching it to WAL (the journal
    mode is stored in the file)."""
    path = tmp_path / "app.db"
    if FOREIGN_FILES[kind] is None:
        original_fixture.build(str(path))
    else:
        con = sqlite3.connect(path)
        con.executescript(FOREIGN_FILES[kind])
        con.close()
    before = file_sha(path)
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    cavra(*argv, db=f"sqlite:{path}")
    assert file_sha(path) == before
    assert sorted(os.listdir(tmp_path)) == ["app.db"]
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()


# What each kind of database that is not cavra's holds, per backend: the table a refusal
# names (None: the ledger is named instead).
FOREIGN_KINDS = {
    "app": (["CREATE SCHEMA billing",
             "CREATE TABLE billing.app_users (id integer); INSERT INTO billing.app_users VALUES (1)"],
            "CREATE TABLE app_users (id integer); INSERT INTO app_users VALUES (1);",
            {"postgres": "billing.app_users", "sqlite": "app_users"}),
    "rails": (["CREATE TABLE schema_migrations (version varchar PRIMARY KEY); "
               "INSERT INTO schema_migrations VALUES ('20240101000000'); "
               "CREATE TABLE users (id integer)"], FOREIGN_FILES["rails"], None),
}
READ_ONLY = [["audit", "verify"], ["ops", "stores"], ["ops", "stores", "--json"],
             ["ops", "doctor"], ["ops", "backup", "--output", "OUT"],
             ["ops", "retention-plan", "--output", "OUT"]]


def make_foreign(db, kind):
    pg_sql, sqlite_sql, table = FOREIGN_KINDS[kind]
    if backend_of(db) == "postgres":
        for q in pg_sql:
            sql(db, q)
    else:
        con = sqlite3.connect(sqlite_path(db))
        con.executescript(sqlite_sql)
        con.close()
    return table[backend_of(db)] if table else None


def snapshot(db):
    """What a read-only command must leave as it was: the SQLite file's bytes (its journal mode
    included) and every file beside it; on PostgreSQL, every relation outside the system's."""
    if backend_of(db) == "sqlite":
        path = sqlite_path(db)
        return file_sha(path), sorted(os.listdir(os.path.dirname(path)))
    return sql(db, "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON "
                   "n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                   "'information_schema', 'pg_toast') ORDER BY 1, 2")


@pytest.mark.parametrize("kind", sorted(FOREIGN_KINDS))
def test_read_only_commands_say_a_foreign_database_is_not_cavras(db, tmp_path, kind):
    """ops stores printed an empty report ('none recorded', exit 0) on another application's
    database, and the others failed on a Rails ledger with 'no such column: id' or named a
    missing audit chain: each now exits 2 with one line saying the database is not cavra's, and changes nothing.
    migrate status still reports (an explicit migrate up may share the database) and names
    the application's table."""
    table = make_foreign(db, kind)
    before = snapshot(db)
    for argv in READ_ONLY:
        argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
        code, out, err = cavra(*argv, db=db)
        line = one_line(err)
        assert code == 2 and out == "" and "not cavra's" in line, (argv, code, out, err)
        assert (f"'{table}'" if table else "another tool's migration ledger") in line, line
        assert not (tmp_path / "out").exists()
    code, st, err = status_json(db)
    if table:
        assert code == 0 and st["ledger"] == "none" and st["foreign_table"] == table, err
        code, out, err = cavra("migrate", "status", db=db)
        assert code == 0 and f"not cavra's: it holds '{table}'" in out, out
    else:
        assert code == 2 and "another tool's migration ledger" in one_line(err), err
    assert snapshot(db) == before


def test_read_only_commands_on_the_original_pilot_say_migrate_up_adopts_it(tmp_path):
    """The original CAVRA's file (a ledger without checksums) failed each command on a column
    it lacks ('no such column: created_at'); they now name the command that adopts it."""
    path = tmp_path / "pilot.db"
    original_fixture.build(str(path))
    db = f"sqlite:{path}"
    before = snapshot(db)
    for argv in READ_ONLY:
        argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
        code, out, err = cavra(*argv, db=db)
        line = one_line(err)
        assert code == 2 and "original CAVRA's" in line and "migrate up" in line, (argv, err)
    assert snapshot(db) == before


@pytest.mark.parametrize("kind", sorted(FOREIGN_KINDS))
def test_restore_into_a_database_that_is_not_cavras_is_bad_input(seeded, tmp_path, request,
                                                                 kind):
    """ops restore into another application's database, or one with another tool's
    schema_migrations, exited 1 where every command that reads cavra's records exits 2 for the
    same database: a --target-url mistyped onto it is bad input on the command line.  Exit 2
    and one line, with --overwrite too, and nothing is written into the target."""
    first = backup(seeded, tmp_path / "b1")
    if backend_of(seeded) == "postgres":
        target = request.getfixturevalue("pg_db2")
    else:
        os.mkdir(tmp_path / "target")
        target = f"sqlite:{tmp_path}/target/app.db"
    table = make_foreign(target, kind)
    before = snapshot(target)
    for extra in ([], ["--overwrite"]):
        code, out, err = cavra("ops", "restore", first["manifest"], "--target-url", target,
                               *extra, db=seeded)
        line = one_line(err)
        assert code == 2 and "not cavra's" in line, (extra, code, err)
        assert (f"'{table}'" if table else "another tool's migration ledger") in line, line
        assert json.loads(out)["ok"] is False
        assert snapshot(target) == before


def test_restore_and_auto_migrate_into_the_original_pilot_say_migrate_up_adopts_it(tmp_path):
    """The original CAVRA's file before its adoption, as a restore target: refused as bad input
    (exit 2, one line naming 'cavra migrate up') before its rows are counted, where restore said
    'pass --overwrite' (exit 1) and then, with it, refused the file (exit 1); auto-migrate
    refused it with exit 1.  The file is left as it was."""
    src = f"sqlite:{tmp_path}/src.db"
    ok(cavra("migrate", "up", db=src))
    first = backup(src, tmp_path / "b1")
    os.mkdir(tmp_path / "pilot")
    target = f"sqlite:{tmp_path}/pilot/pilot.db"
    original_fixture.build(sqlite_path(target))
    before = snapshot(target)
    for extra in ([], ["--overwrite"]):
        code, out, err = cavra("ops", "restore", first["manifest"], "--target-url", target,
                               *extra, db=src)
        line = one_line(err)
        assert code == 2 and "original CAVRA" in line and "cavra migrate up" in line, err
        assert json.loads(out)["ok"] is False
    code, _, err = cavra("tokens", "list", "--auto-migrate", db=target)
    assert code == 2 and "original CAVRA" in one_line(err), err
    assert snapshot(target) == before


def test_read_only_commands_on_a_database_no_migration_touched(db, tmp_path):
    """ops stores and retention-plan reported an empty cavra database (exit 0) where doctor,
    audit verify and backup refused, each in its own words: all now say the same line, exit
    1, and migrate status reports ledger none with no foreign table.  None of them changes the
    database: an empty SQLite file was switched to WAL by each (4 KiB written into it)."""
    if backend_of(db) == "sqlite":  # created, as a DBA creates the PostgreSQL database
        sql(db, "PRAGMA user_version")
    before = snapshot(db)
    for argv in READ_ONLY:
        argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
        code, out, err = cavra(*argv, db=db)
        assert code == 1 and out == "" and one_line(err) == (
            "cavra: the database has no applied migrations: run 'cavra migrate up' first"), \
            (argv, code, out, err)
    code, st, err = status_json(db)
    assert code == 0 and st["ledger"] == "none" and st["foreign_table"] is None, err
    assert snapshot(db) == before


def test_restore_bad_arguments_and_unreachable_target(seeded, tmp_path):
    first = backup(seeded, tmp_path / "b1")
    assert cavra("ops", "restore", first["manifest"], "--target-dir", "x", "--target-url",
                 "y", db=seeded)[0] == 2
    assert cavra("ops", "restore", db=seeded)[0] == 2
    code, out, err = cavra("ops", "restore", first["manifest"], "--target-url",
                           "postgresql://u:topsecret@127.0.0.1:1/x", db=seeded)
    assert code == 1 and "topsecret" not in out + err


def kill_during_copy(manifest_path, url, *args):
    """Starts a restore into PostgreSQL at url and SIGKILLs it while it copies the decisions."""
    proc = subprocess.Popen([CAVRA, "ops", "restore", manifest_path, "--target-url", url, *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: psql(url, "SELECT count(*) FROM pg_stat_activity WHERE "
                               "application_name = 'cavra' AND state <> 'idle' AND query LIKE "
                               "'COPY activity_decisions%'") != "0")
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_restore_killed_half_way_leaves_the_target_as_it_was(tmp_path, pg_db, pg_db2):
    src = f"sqlite:{tmp_path}/big.db"
    ok(cavra("migrate", "up", db=src))
    bulk_seed(sqlite_path(src), sessions=200, per_session=100)
    big = backup(src, tmp_path / "big")
    # a new SQLite target: only a temporary file exists until the restore is complete
    target = tmp_path / "t"
    proc = subprocess.Popen([CAVRA, "ops", "restore", big["manifest"], "--target-dir",
                             str(target), "--database", src], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for(lambda: target.exists() and any(n.startswith(".cavra.db.restore")
                                             for n in os.listdir(target)))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert "cavra.db" not in os.listdir(target)
    # an empty PostgreSQL database: its migrations run in the load's transaction, so it stays empty
    kill_during_copy(big["manifest"], pg_db2, "--database", src)
    assert user_tables(pg_db2) == []
    # PostgreSQL with data: the load is one transaction
    small = f"sqlite:{tmp_path}/small.db"
    ok(cavra("migrate", "up", db=small))
    seed(small, tmp_path)
    first = backup(small, tmp_path / "small")
    ops_json("restore", first["manifest"], "--target-url", pg_db, db=small)
    before = backup(pg_db, tmp_path / "before")
    kill_during_copy(big["manifest"], pg_db, "--overwrite", "--database", small)
    after = backup(pg_db, tmp_path / "after")
    strip = lambda d: {t: s for t, s in table_shas(d).items() if t != "operations_records"}
    assert strip(tmp_path / "before") == strip(tmp_path / "after")
    assert after["rows"] == before["rows"] + 1  # the record of the backup "before"


def wait_for(cond, timeout=60):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.005)


def bulk_seed(path, sessions, per_session):
    """Consistent decisions and sessions straight into a SQLite file (fast, large)."""
    con = sqlite3.connect(path)
    t = "2026-01-01T00:00:00.000000Z"
    decs, sess = [], []
    for s in range(sessions):
        sid = f"bulk-{s:05d}"
        blocked = 0
        for i in range(per_session):
            did = f"dec_{s:06d}{i:06d}"
            decision = "block" if i % 4 == 0 else "allow"
            blocked += decision == "block"
            payload = json.dumps({"decision_id": did, "session_id": sid, "decision": decision,
                                  "target": "x" * 200, "schema_version": "cavra.decision.v1"})
            decs.append((did, sid, "agent", None, "bulk/repo", "execute_command",
                         "cavra-ai-agent-baseline", "commands.block", decision, "high", None,
                         None, t, t, t, payload))
        sess.append((sid, "agent", None, "bulk/repo", "cavra-ai-agent-baseline", "active", t, t,
                     per_session, blocked, 0, t, "{}"))
    cols = ("decision_id, session_id, agent_id, actor, repository, action_type, policy_pack, "
            "rule_id, decision, severity, approver_group, correlation_id, decided_at, "
            "created_at, updated_at, payload")
    con.executemany(f"INSERT INTO activity_decisions ({cols}) VALUES (" + ",".join("?" * 16)
                    + ")", decs)
    con.executemany("INSERT INTO activity_sessions VALUES (" + ",".join("?" * 13) + ")", sess)
    con.commit()
    con.close()


def test_backup_before_migrating_then_restore(db, tmp_path):
    """The runbook's order: back up at the old schema version, migrate, restore if needed."""
    ok(cavra("migrate", "up", "--to", "8", db=db))
    t = "2026-01-01T00:00:00.000000Z"
    sql(db, "INSERT INTO registry_agents VALUES ('ag1', 'active', 'o', "
            f"'{t}', '{t}', '{{\"agent_id\": \"ag1\"}}')")
    code, out, err = cavra("ops", "backup", "--output", str(tmp_path / "b8"), db=db)
    assert code == 0 and "not recorded" in err and "migrate up" in err, err
    m = manifest(tmp_path / "b8")
    assert m["database_schema_version"] == 8
    assert "operations_records" not in {f["table"] for f in m["files"]}
    ok(cavra("migrate", "up", db=db))  # 022 chains the agent: the chain holds its entry
    sql(db, "DELETE FROM registry_agents")
    res = ops_json("restore", str(tmp_path / "b8"), "--overwrite", db=db)
    assert res["ok"] and res["target_schema_version_before"] > 8
    assert sql(db, "SELECT agent_id FROM registry_agents") == [["ag1"]]
    # the backup predates the chain: it starts again, and the next adoption chains the agent
    assert sql(db, "SELECT seq, adopt_pending FROM audit_chain_head") == [["0", "1"]]
    ok(cavra("audit", "adopt", db=db))
    ok(cavra("audit", "verify", db=db))
    assert sql(db, "SELECT kind FROM operations_records") == [["restore"]]
    res = ops_json("restore", str(tmp_path / "b8"), "--target-dir", str(tmp_path / "t"), db=db)
    assert res["target_schema_version_after"] == 8
    code, out, _ = cavra("migrate", "status", "--json", db=f"sqlite:{tmp_path}/t/cavra.db")
    assert json.loads(out)["schema_version"] == 8


# ---- restore test ----

def test_restore_test_exit_codes_and_evidence(seeded, tmp_path):
    first = backup(seeded, tmp_path / "b1", "--compression", "none")  # c_byte edits the text
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    res = ops_json("restore-test", first["manifest"], "--scratch-dir", str(scratch), db=seeded)
    assert res["schema_version"] == "cavra.persistent_api.restore_test.v1" and res["ok"]
    names = [c["name"] for c in res["checks"]]
    assert names == ["verify", "restore", "row_counts", "decision_search",
                     "session_reconstruction", "session_counters", "decision_sessions",
                     "session_descriptions", "audit_chain"]
    assert all(c["ok"] for c in res["checks"]), res["checks"]
    assert os.listdir(scratch) == [] and res["scratch_removed"]
    rec = sql(seeded, "SELECT kind, outcome, manifest_sha256, payload FROM operations_records "
                      "WHERE kind = 'restore_test'")
    assert [r[:3] for r in rec] == [["restore_test", "succeeded", first["manifest_sha256"]]]
    details = json.loads(rec[0][3])["details"]
    assert details["command"] == "restore-test" and len(details["checks"]) == 9
    assert ops_json("stores", "--json", db=seeded)["last_restore_test"]["record_id"] == \
        res["record_id"]
    # a tampered backup: exit 1, recorded as failed
    c_byte(tmp_path / "b1")
    res = ops_json("restore-test", first["manifest"], "--scratch-dir", str(scratch), db=seeded,
                   expect=1)
    assert not res["ok"] and not res["checks"][0]["ok"] and res["problems"]
    assert os.listdir(scratch) == []
    assert sql(seeded, "SELECT outcome FROM operations_records WHERE kind = 'restore_test' "
                       "ORDER BY finished_at") == [["succeeded"], ["failed"]]
    # data whose session counters disagree with its decisions: the check says so
    sql(seeded, "UPDATE activity_sessions SET decision_count = decision_count + 1 "
                "WHERE session_id = 'ses-1'")
    bad = backup(seeded, tmp_path / "b2")
    res = ops_json("restore-test", bad["manifest"], "--scratch-dir", str(scratch), db=seeded,
                   expect=1)
    failed = {c["name"] for c in res["checks"] if not c["ok"]}
    assert "session_counters" in failed and "verify" not in failed
    # no configured database to hold the evidence: exit 1
    code, out, err = cavra("ops", "restore-test", first["manifest"],
                           db=f"sqlite:{tmp_path}/none.db")
    assert code == 1 and "could not be recorded" in err


# ---- retention ----

def test_retention_plan_cli_api_and_legal_hold(seeded, tmp_path):
    backdate(seeded)
    out = tmp_path / "plan"
    text = ok(cavra("ops", "retention-plan", "--output", str(out), db=seeded))
    assert "persistent-api-retention-plan.json" in text
    plan = json.loads((out / "persistent-api-retention-plan.json").read_text())
    md = (out / "persistent-api-retention-plan.md").read_text()
    assert plan["schema_version"] == "cavra.persistent_api.retention_plan.v1"
    assert plan["retention_days"] == 2555 and plan["classification"] == "regulated-sdlc"
    assert plan["legal_hold"] is False and plan["delete_protection"] is True
    assert plan["cutoff"] < plan["generated_at"] < plan["retain_until"]
    stores = {s["store"]: s for s in plan["stores"]}
    assert set(stores) == set(STORES.values())
    assert stores["activity"]["past_cutoff"] == 2 and stores["activity"]["eligible_for_deletion"] == 2
    assert stores["activity"]["action"].startswith("review")
    assert plan["records"] == sum(counts(seeded, ALL_TABLES).values())
    assert plan["controls"]["last_backup"] is None and plan["controls"]["backup_overdue"]
    assert "# Retention plan: regulated-sdlc" in md and "| retention | 2555 days |" in md
    assert "| activity | activity_decisions | " in md and "none recorded" in md
    # legal hold: nothing is eligible; short retention without hold: no delete protection
    ok(cavra("ops", "retention-plan", "--output", str(out), "--retention-days", "30",
             "--legal-hold", "--classification", "internal", db=seeded))
    held = json.loads((out / "persistent-api-retention-plan.json").read_text())
    assert held["legal_hold"] and held["delete_protection"]
    assert held["delete_protection_reason"] == "legal hold" and held["eligible_for_deletion"] == 0
    assert all(s["action"] == "retain: legal hold" for s in held["stores"])
    ok(cavra("ops", "retention-plan", "--output", str(out), "--retention-days", "30", db=seeded))
    short = json.loads((out / "persistent-api-retention-plan.json").read_text())
    assert not short["delete_protection"] and short["eligible_for_deletion"] == 2
    for bad in ("0", "-1", "x", "36501"):
        code, _, err = cavra("ops", "retention-plan", "--output", str(out), "--retention-days",
                             bad, db=seeded)
        assert code == 2 and "retention_days" in err
    assert cavra("ops", "retention-plan", "--output", db=seeded)[0] == 2
    # the API computes the same plan and writes nothing
    backup(seeded, tmp_path / "b")
    ok(cavra("ops", "retention-plan", "--output", str(out), "--retention-days", "30",
             "--legal-hold", "--classification", "internal", db=seeded))
    cli = json.loads((out / "persistent-api-retention-plan.json").read_text())
    with serve(seeded, tmp=tmp_path) as srv:
        r = srv.get("/operations/retention-plan?retention_days=30&classification=internal"
                    "&legal_hold=true")
        assert r.status_code == 200, r.text
        api = r.json()
        assert srv.get("/operations/retention-plan").json()["retention_days"] == 2555
        # a parameter without "=" is the empty value, never "absent": "?legal_hold" once gave
        # a plan that called held records deletable
        for q in ("retention_days=0", "retention_days=abc", "legal_hold=maybe",
                  "classification=a%20b", "legal_hold", "retention_days", "classification"):
            r = srv.get("/operations/retention-plan?" + q)
            assert r.status_code == 400 and r.json()["code"] == "invalid", q
    for d in (cli, api):
        for k in ("generated_at", "cutoff", "retain_until"):
            d.pop(k)
    assert api == cli and api["controls"]["last_backup"]["outcome"] == "succeeded"
    assert sorted(os.listdir(out)) == ["persistent-api-retention-plan.json",
                                       "persistent-api-retention-plan.md"]


def backdate(db):
    """Two decisions from 2015, past any cutoff of 30 days or 7 years."""
    old = "2015-01-01T00:00:00.000000Z"
    ids = [r[0] for r in sql(db, "SELECT decision_id FROM activity_decisions ORDER BY "
                                 "decision_id LIMIT 2")]
    for i in ids:
        sql(db, f"UPDATE activity_decisions SET decided_at = '{old}' WHERE decision_id = '{i}'")


# ---- one snapshot ----

def _counts_while_a_write_lands(db, *args):
    """Runs `cavra ops ARGS` while another transaction holds activity_sessions (counted in the
    middle) and has added an integration (counted after it); commits that transaction once the
    command waits for the lock.  Returns the command's stdout."""
    holder = subprocess.Popen([os.path.join(pg_bindir(), "psql"), db, "-X", "-q"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    waiting = ("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
               "WHERE c.relname = 'activity_sessions' AND NOT l.granted")
    try:
        holder.stdin.write(
            "BEGIN;\nLOCK TABLE activity_sessions IN ACCESS EXCLUSIVE MODE;\n"
            "INSERT INTO integrations (integration_id, provider, category, status, health, "
            "created_at, updated_at, payload) VALUES ('late', 'late', 'security', 'planned', "
            "'not_checked', now(), now(), '{}');\nSELECT 1;\n")
        holder.stdin.flush()
        until(lambda: psql(db, "SELECT count(*) FROM pg_locks WHERE mode = "
                               "'AccessExclusiveLock' AND granted AND relation = "
                               "'activity_sessions'::regclass") == "1", "the lock was not taken")
        deadline = time.time() + 30
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            run = pool.submit(cavra, "ops", *args, db=db)
            while psql(db, waiting) != "1":
                assert time.time() < deadline and not run.done(), "ops did not wait for the lock"
                time.sleep(0.05)
            holder.stdin.write("COMMIT;\n")
            holder.stdin.flush()
            code, out, err = run.result()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert code == 0, err
    assert psql(db, "SELECT count(*) FROM integrations") == "1"  # the write did land
    return out


def test_stores_and_retention_counts_are_one_point_in_time(pg_db, tmp_path):
    """PostgreSQL: under READ COMMITTED a count after the wait would see the integration that
    was committed meanwhile; one snapshot shows the database as it was when the command began."""
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    doc = json.loads(_counts_while_a_write_lands(pg_db, "stores", "--json"))
    rows = {t["table"]: t["rows"] for s in doc["stores"] for t in s["tables"]}
    assert rows["integrations"] == 0 and rows["activity_sessions"] == 0, rows
    psql(pg_db, "DELETE FROM integrations")
    out = tmp_path / "plan"
    _counts_while_a_write_lands(pg_db, "retention-plan", "--output", str(out))
    plan = json.loads((out / "persistent-api-retention-plan.json").read_text())
    per_store = {s["store"]: s["records"] for s in plan["stores"]}
    # the audit store always holds its chain's one head row
    assert per_store["integrations"] == 0 and plan["records"] == per_store["audit"] == 1, plan
