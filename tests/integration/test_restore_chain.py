"""The check of the restored chain (docs/audit.md, docs/backup-format.md) after `cavra ops
restore` into either backend: the decision lines' record hashes are kept while they load and
checked against the restored chain, so every change to a backup that the chain can show is
still named: an edited, deleted or added decision line, a chain entry edited or moved, and a
tail cut off together with its head."""
import hashlib
import json
import os
import subprocess
import time
import uuid

import pytest

from conftest import CAVRA, backend_of, cavra, pg_bindir, psql, serve, sql, until
from test_ops import _reseal
from test_audit import (add_session, chained, chain_ids, keys, verify,  # noqa: F401
                        with_approvals)


@pytest.fixture(params=["sqlite", "postgres"])
def target(request, tmp_path):
    """Where a restore goes: a new SQLite directory or an empty PostgreSQL database."""
    if request.param == "sqlite":
        d = tmp_path / "restored"
        yield ["--target-dir", str(d)], f"sqlite:{d}/cavra.db"
        return
    pg = request.getfixturevalue("pg")
    name = "r_" + uuid.uuid4().hex[:12]
    psql(pg.url(), f"CREATE DATABASE {name}")
    yield ["--target-url", pg.url(name)], pg.url(name)
    psql(pg.url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)


@pytest.fixture
def pg_target(pg):
    """An empty PostgreSQL database apart from the source's."""
    name = "r_" + uuid.uuid4().hex[:12]
    psql(pg.url(), f"CREATE DATABASE {name}")
    yield pg.url(name)
    psql(pg.url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)


def lines(bk, table):
    return [json.loads(l) for l in (bk / f"{table}.jsonl").read_text().splitlines()]


def canonical(l):
    return json.dumps(l, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode() + b"\n"


def reseal(bk, table, rows):
    """Rewrites one table file of an unsigned, uncompressed backup in the order given, and its
    manifest entry with matching checksums, so that only the chain can tell."""
    _reseal(bk, table, b"".join(canonical(l) for l in rows))


def seq_of(chain, decision_id):
    return next(int(e["seq"]) for e in chain if e["record_id"] == decision_id)


def tamper(bk, case):
    """Changes the backup as case says; returns what the restore must print on stderr."""
    chain = sorted(lines(bk, "audit_chain"), key=lambda r: int(r["seq"]))
    decisions = lines(bk, "activity_decisions")
    d = decisions[3]
    if case == "edit_decision":
        d["repository"] = "payments/apx"
        reseal(bk, "activity_decisions", decisions)
        return f"edited seq={seq_of(chain, d['decision_id'])} id={d['decision_id']}"
    if case == "delete_decision":
        reseal(bk, "activity_decisions", decisions[:3] + decisions[4:])
        return f"deleted seq={seq_of(chain, d['decision_id'])} id={d['decision_id']}"
    if case == "add_decision":
        extra = dict(d, decision_id=d["decision_id"] + "x")  # sorts right after d
        reseal(bk, "activity_decisions", decisions[:4] + [extra] + decisions[4:])
        return f"inserted id={extra['decision_id']}"
    if case == "edit_entry":
        chain[2]["record_sha256"] = "0" * 64
        reseal(bk, "audit_chain", sorted(chain, key=lambda r: int(r["seq"])))
        return "edited seq=3"
    if case == "reorder_entries":
        chain[2]["seq"], chain[3]["seq"] = chain[3]["seq"], chain[2]["seq"]
        reseal(bk, "audit_chain", sorted(chain, key=lambda r: int(r["seq"])))
        return "reordered seq=3"
    # cut_tail_and_head: the chain alone is consistent, only the manifest's audit_head shows it
    head = lines(bk, "audit_chain_head")
    head[0]["seq"], head[0]["hash"] = chain[6]["seq"], chain[6]["hash"]
    reseal(bk, "audit_chain", chain[:7])
    reseal(bk, "audit_chain_head", head)
    return "is not the backup's audit_head (seq 8)"


def verify_finding(bk, case):
    """What `cavra ops verify` of the backup tampered as case says must report (kind "chain"):
    the break named from the backup's own lines, before any restore."""
    chain = sorted(lines(bk, "audit_chain"), key=lambda r: int(r["seq"]))
    d = lines(bk, "activity_decisions")[3]
    seq = next((int(e["seq"]) for e in chain if e["record_id"] == d["decision_id"]), None)
    return {
        "edit_decision": f"seq {seq} (decision {d['decision_id']}): the decision's line differs "
                         "from what was chained: edited",
        "delete_decision": None,  # computed from the untampered backup below
        "edit_entry": "seq 3 (decision ",
        "reorder_entries": "seq 3 (decision ",
        "cut_tail_and_head": "the chain ends at seq 7, not at the manifest's audit_head (seq 8)",
    }[case]


def backup(db, bk):
    code, _, err = cavra("ops", "backup", "--output", str(bk), "--compression", "none", db=db)
    assert code == 0, err


def test_an_intact_backup_restores_with_its_chain_verified(chained, tmp_path, target):
    db, ids = chained
    backup(db, tmp_path / "bk")
    code, out, err = cavra("ops", "verify", str(tmp_path / "bk"))
    assert code == 0 and out.endswith("; audit chain: 8 entries verified against the backup's "
                                      "lines\n"), out + err
    code, out, err = cavra("ops", "verify", str(tmp_path / "bk"), "--json")
    assert json.loads(out)["audit_chain"] == {"checked": True, "entries": 8, "breaks": 0,
                                              "unchained": 0, "in_order": True}, out
    code, out, err = cavra("ops", "restore", str(tmp_path / "bk"), *target[0], db=db)
    assert code == 0, out + err
    # proved from the chain's lines as they loaded: not read back from the target
    assert "audit chain: carried: 8 entries, head seq 8, the backup's audit_head, verified " \
        "as its lines loaded" in err, err
    assert "records without an entry" not in err, err
    assert chain_ids(target[1]) == ids
    code, out, err = verify(target[1])
    assert code == 0 and "8 entries" in out, out + err


@pytest.mark.parametrize("case", ["edit_decision", "delete_decision", "edit_entry",
                                  "reorder_entries", "cut_tail_and_head"])
def test_a_restore_names_each_break(chained, tmp_path, target, case):
    db, _ = chained
    bk = tmp_path / "bk"
    backup(db, bk)
    d = lines(bk, "activity_decisions")[3]
    want = tamper(bk, case)
    finding = verify_finding(bk, case) or \
        f"(decision {d['decision_id']}): no decision line has this id: deleted"
    # the files match their checksums: only the chain can tell, and verify reads it
    code, out, err = cavra("ops", "verify", str(bk))
    assert code == 1 and "chain: audit_chain.jsonl: " in out and finding in out, out + err
    if case in ("edit_entry", "reorder_entries"):
        assert "its hash is not its link's: the entry was edited or moved" in out, out
    code, out, err = cavra("ops", "verify", str(bk), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["audit_chain"]["checked"] and doc["audit_chain"]["breaks"] >= 1, out
    assert any(p["kind"] == "chain" and finding in p["message"] for p in doc["problems"]), out
    code, out, err = cavra("ops", "restore", str(bk), *target[0], db=db)
    assert code == 1, out + err
    assert "the restored chain does not verify" in err and want in err, err
    # committed, and still no success: the JSON and the exit code agree
    doc = json.loads(out)
    assert not doc["ok"] and "the restored chain does not verify" in doc["error"], out


def restore_test(db, bk, tmp_path, expect):
    code, out, err = cavra("ops", "restore-test", str(bk), "--scratch-dir", str(tmp_path), db=db)
    assert code == expect, out + err
    doc = json.loads(out)
    return {c["name"]: c for c in doc["checks"]}, err


def test_a_restore_test_checks_the_chain(chained, tmp_path):
    """restore-test's scratch database gets the restore's chain check (audit_chain)."""
    db, _ = chained
    bk = tmp_path / "bk"
    backup(db, bk)
    checks, _ = restore_test(db, bk, tmp_path, 0)
    assert checks["audit_chain"] == {
        "name": "audit_chain", "ok": True,
        "detail": "carried: 8 entries, head seq 8, the backup's audit_head, verified"}


@pytest.mark.parametrize("case", ["delete_decision", "edit_entry", "cut_tail_and_head"])
def test_a_restore_test_fails_on_a_break(chained, tmp_path, case):
    db, _ = chained
    bk = tmp_path / "bk"
    backup(db, bk)
    want = tamper(bk, case)
    checks, err = restore_test(db, bk, tmp_path, 1)
    assert checks["verify"]["ok"] and checks["restore"]["ok"], checks
    chain = checks["audit_chain"]
    assert not chain["ok"] and want in chain["detail"] + err, (chain, err)
    assert sql(db, "SELECT outcome FROM operations_records WHERE kind = 'restore_test'") == \
        [["failed"]]


def test_a_decision_line_without_an_entry_is_listed_not_fatal(chained, tmp_path, target):
    db, _ = chained
    bk = tmp_path / "bk"
    backup(db, bk)
    want = tamper(bk, "add_decision")
    code, out, err = cavra("ops", "verify", str(bk))
    # its session does not count it: the planted line is named by the counters
    assert code == 1 and "differ from its decision lines'" in out, out + err
    # a row written behind cavra's back with its session's counters: counted, not fatal
    added = next(d for d in lines(bk, "activity_decisions") if d["decision_id"].endswith("x"))
    sessions = lines(bk, "activity_sessions")
    s = next(s for s in sessions if s["session_id"] == added["session_id"])
    s["decision_count"] += 1
    s["blocked_count"] += added["decision"] == "block"
    s["approval_required_count"] += added["decision"] == "require_approval"
    reseal(bk, "activity_sessions", sessions)
    code, out, err = cavra("ops", "verify", str(bk))
    assert code == 0 and "audit chain: 8 entries verified against the backup's lines; 1 " \
        "record without an entry" in out, out + err
    code, out, err = cavra("ops", "restore", str(bk), *target[0], db=db)
    assert code == 0, out + err
    assert want in err and "records without an entry are listed above" in err, err


@pytest.mark.parametrize("mb", ["0", "64", "1024"])
def test_the_restores_index_memory_setting(chained, tmp_path, pg_target, mb):
    """restore_maintenance_work_mem_mb (docs/config.md): the load's transaction sets it, 0
    keeps the server's; a value out of range is a usage error before anything is read."""
    db, ids = chained
    backup(db, tmp_path / "bk")
    env = {"CAVRA_RESTORE_MAINTENANCE_WORK_MEM_MB": mb}
    code, out, err = cavra("ops", "restore", str(tmp_path / "bk"), "--target-url", pg_target,
                           db=db, env=env)
    assert code == 0 and "verified" in err, out + err
    assert chain_ids(pg_target) == ids


def test_a_bad_index_memory_setting_is_refused(chained, tmp_path, pg_target):
    db, _ = chained
    backup(db, tmp_path / "bk")
    code, out, err = cavra("ops", "restore", str(tmp_path / "bk"), "--target-url", pg_target,
                           "--restore-maintenance-work-mem-mb", "-5", db=db)
    assert code == 2 and "restore_maintenance_work_mem_mb" in err, out + err
    code, out, err = cavra("ops", "restore", str(tmp_path / "bk"), "--target-url", pg_target,
                           "--restore-maintenance-work-mem-mb", "32", db=db)
    assert code == 0, out + err


def genesis_head(db):
    """The chain's head row as the backend stores it, its time as seconds since the epoch."""
    epoch = ("extract(epoch FROM updated_at)::bigint" if backend_of(db) == "postgres"
             else "CAST(strftime('%s', updated_at) AS INTEGER)")
    return sql(db, f"SELECT seq, hash, {epoch} FROM audit_chain_head WHERE id = 1")


def test_a_backup_from_before_the_chain_restored_over_a_chained_database(chained, tmp_path,
                                                                         request):
    """--overwrite with a backup from schema 12 over a database with a chain: the target's
    entries name the records the restore replaced, so the chain starts again and is rebuilt
    (the restore once kept them: exit 1 with "ok": true, and every later verify failed).  The
    head it starts again from is the one migration 015 writes (store_chain_restart states it a
    second time in C)."""
    db, _ = chained
    fresh = (request.getfixturevalue("pg_target") if backend_of(db) == "postgres"
             else f"sqlite:{tmp_path}/fresh.db")
    assert cavra("migrate", "up", db=fresh)[0] == 0
    assert genesis_head(fresh) == [["0", "0" * 64, "0"]], genesis_head(fresh)
    old = str(tmp_path / "old.db")
    assert cavra("migrate", "up", "--to", "12", db=old)[0] == 0
    for i in range(3):
        t = f"2026-01-0{i + 1}T00:00:00.000000Z"
        sql(old, "INSERT INTO activity_decisions (decision_id, session_id, action_type, "
                 "policy_pack, decision, decided_at, created_at, updated_at, payload) VALUES "
                 f"('d-{i}', 's', 'read_file', 'p', 'allow', '{t}', '{t}', '{t}', "
                 f"'{{\"decision_id\":\"d-{i}\"}}')")
    add_session(old, "s", 3)
    code, _, err = cavra("ops", "backup", "--output", str(tmp_path / "b12"), db=old)
    assert code == 0, err
    code, out, err = cavra("ops", "restore", str(tmp_path / "b12"), "--overwrite", db=db)
    assert code == 0, out + err
    assert json.loads(out)["ok"] and "audit chain: rebuilt: the backup predates the chain" in err
    assert sql(db, "SELECT count(*) FROM audit_chain") == [["0"]]
    assert sql(db, "SELECT seq, adopt_pending FROM audit_chain_head") == [["0", "1"]]
    assert genesis_head(db) == genesis_head(fresh)
    code, out, err = cavra("audit", "adopt", db=db)
    assert code == 0 and "chained 4 records" in out, out + err  # and (023) the session
    code, out, err = verify(db)
    assert code == 0 and "4 entries" in out, out + err


def test_a_restore_that_finds_the_target_written_meanwhile_replaces_nothing(chained, tmp_path,
                                                                            pg_target):
    """The target is checked again inside the load's transaction, under the schema lock that
    migrations and restores take: data written after the first look (another restore, a serve)
    is not replaced without --overwrite. Once both of two restores started together exited 0
    and the second replaced the first."""
    db, _ = chained
    backup(db, tmp_path / "bk")
    assert cavra("migrate", "up", db=pg_target)[0] == 0
    holder = subprocess.Popen([os.path.join(pg_bindir(), "psql"), pg_target, "-X", "-q"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        holder.stdin.write("BEGIN;\nSELECT pg_advisory_xact_lock(7345163001);\n"
                           "INSERT INTO registry_agents (agent_id, status, owner, created_at, "
                           "updated_at, payload) VALUES ('meanwhile', 'active', 'o', now(), "
                           "now(), '{}');\n")
        holder.stdin.flush()
        until(lambda: psql(pg_target, "SELECT count(*) FROM pg_locks WHERE locktype = "
                                      "'advisory' AND granted") == "1", "the lock was not taken")
        deadline = time.time() + 30
        restore = subprocess.Popen([CAVRA, "ops", "restore", str(tmp_path / "bk"),
                                    "--target-url", pg_target, "--database", db],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # the restore has found the target empty and waits for the lock in its transaction
        while psql(pg_target, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                              "AND NOT granted") != "1":
            if time.time() > deadline or restore.poll() is not None:
                restore.kill()
                raise AssertionError("the restore never waited for the schema lock: "
                                     + restore.communicate()[1])
            time.sleep(0.05)
        holder.stdin.write("COMMIT;\n")
        holder.stdin.close()
        holder.wait(timeout=30)
        out, err = restore.communicate(timeout=120)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert restore.returncode == 1, out + err
    assert "the target holds data (1 rows), written since this restore looked" in err, err
    assert psql(pg_target, "SELECT count(*) FROM activity_decisions") == "0"
    assert psql(pg_target, "SELECT agent_id FROM registry_agents") == "meanwhile"


@pytest.fixture
def records(with_approvals, tmp_path):
    """with_approvals' database plus an API token that was used (last_used_at set, which its
    entries hash as null), backed up uncompressed: (db, {state: approval_id}, backup dir)."""
    from test_tokens import bearer, make_token
    db, got = with_approvals
    token = make_token(db, "ci-records", "agent")
    with serve(db, tmp=tmp_path) as srv:
        assert srv.get("/auth/whoami", headers=bearer(token)).status_code == 200
    until(lambda: sql(db, "SELECT last_used_at FROM api_tokens WHERE name = 'ci-records'")
          != [[""]] and sql(db, "SELECT last_used_at FROM api_tokens "
                                "WHERE name = 'ci-records'") != [[None]], "never used")
    bk = tmp_path / "bk"
    backup(db, bk)
    return db, got, bk


def test_verify_checks_each_records_newest_entry(records):
    """Approvals, evidence, the registry, the inventory, integrations and API tokens are
    chained at every write: verify compares each line with its record's newest entry, so a
    line put back to an earlier state (an approval reopened) is as edited as any other."""
    db, got, bk = records
    code, out, err = cavra("ops", "verify", str(bk), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["audit_chain"]["breaks"] == 0, out + err
    assert doc["audit_chain"]["unchained"] == 0, out  # the used token included
    chain = sorted(lines(bk, "audit_chain"), key=lambda r: int(r["seq"]))
    approvals = lines(bk, "approvals")
    denied = next(a for a in approvals if a["approval_id"] == got["denied"])
    newest = max(int(e["seq"]) for e in chain if e["record_id"] == got["denied"])
    denied.update(state="pending", decided_at=None, decided_by=None)
    reseal(bk, "approvals", approvals)
    tokens = [t for t in lines(bk, "api_tokens") if t["name"] != "ci-records"]
    gone = next(t for t in lines(bk, "api_tokens") if t["name"] == "ci-records")
    reseal(bk, "api_tokens", tokens)
    code, out, err = cavra("ops", "verify", str(bk))
    assert code == 1 and "2 problems" in out, out + err
    assert f"seq {newest} (approval {got['denied']}): the line differs from the record's " \
        "newest entry: edited" in out, out
    assert f"(token {gone['token_id']}): no line has this id: deleted" in out, out


def test_verify_checks_each_sessions_counters(chained, tmp_path):
    """A session's entry leaves its counters out: `cavra ops verify` counts the decision lines
    that name each session and compares, so counters edited in an unsigned backup (checksums
    recomputed) are named before a restore; so are decision lines whose session has no line."""
    db, _ = chained
    bk = tmp_path / "bk"
    backup(db, bk)
    code, out, err = cavra("ops", "verify", str(bk), "--json")
    doc = json.loads(out)
    assert code == 0, out + err
    assert doc["session_counters"] == {"checked": True, "sessions": 3, "differ": 0,
                                       "descriptions": DESCRIBED_3}, out
    code, out, err = cavra("ops", "verify", str(bk))
    assert code == 0 and "; session counters: 3 sessions checked against their decision " \
        "lines, and the descriptions of 3 that their decisions gave; audit chain:" in out, \
        out + err
    decisions = lines(bk, "activity_decisions")
    sessions = {s["session_id"]: s for s in lines(bk, "activity_sessions")}
    edited, gone = sessions["audit-1-0"], sessions.pop("audit-1-2")
    want = [sum(1 for d in decisions if d["session_id"] == "audit-1-0" and
                (k is None or d["decision"] == k)) for k in (None, "block", "require_approval")]
    assert [edited[c] for c in COUNTERS] == want
    edited["blocked_count"] += 1
    reseal(bk, "activity_sessions", sorted(sessions.values(), key=lambda s: s["session_id"]))
    code, out, err = cavra("ops", "verify", str(bk), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["session_counters"]["differ"] == 2, out + err
    found = sorted(p["message"] for p in doc["problems"] if p["kind"] == "session_counters")
    n = sum(1 for d in decisions if d["session_id"] == "audit-1-2")
    assert found == [
        f"session audit-1-0: counters {want[0]}/{want[1] + 1}/{want[2]} (decisions/blocked/"
        f"approvals required) differ from its decision lines' {want[0]}/{want[1]}/{want[2]}: "
        "edited",
        f"session audit-1-2: no line, though {n} decision lines name it: deleted"], out


COUNTERS = ("decision_count", "blocked_count", "approval_required_count")
DESCRIBED_3 = {"checked": True, "sessions": 3, "differ": 0}


def test_a_restore_names_sessions_whose_counters_differ(chained, tmp_path, target):
    """A restore counts the decision lines by session as it loads them: counters edited in the
    backup are restored (the restore is committed, as with a chain break), named on stderr, and
    the restore exits 1; `cavra audit verify` of the restored database names the same."""
    db, _ = chained
    bk = tmp_path / "bk"
    backup(db, bk)
    sessions = lines(bk, "activity_sessions")
    s = next(x for x in sessions if x["session_id"] == "audit-1-1")
    s["decision_count"] += 2
    reseal(bk, "activity_sessions", sessions)
    args, url = target
    code, out, err = cavra("ops", "restore", str(bk), *args, db=db)
    assert code == 1, out + err
    n = s["decision_count"]
    assert f"session counters: session audit-1-1: counters {n}/" in err, err
    assert "1 restored session do not agree with its decision lines" in err, err
    doc = json.loads(out)
    assert "the restore is committed" in doc["error"], out
    assert doc["session_counters"] == {"checked": True, "sessions": 3, "differ": 1,
                                       "descriptions": DESCRIBED_3}, out
    assert sql(url, "SELECT decision_count FROM activity_sessions "
                    "WHERE session_id = 'audit-1-1'") == [[str(n)]]
    code, out, err = cavra("audit", "verify", db=url)
    assert code == 1 and "edited id=audit-1-1" in out, out + err


def test_a_decision_made_sessions_description_is_checked(chained, tmp_path, target):
    """A session only decisions made has no entry of its own: each of its agent, actor,
    repository and pack must be one that its decision lines name.  One edited in an unsigned
    backup (checksums recomputed) is named by `cavra ops verify` before any restore, and by the
    restore (committed, exit 1), as `cavra audit verify` names it in the restored database."""
    db, _ = chained
    bk = tmp_path / "bk"
    backup(db, bk)
    sessions = lines(bk, "activity_sessions")
    s = next(x for x in sessions if x["session_id"] == "audit-1-1")
    assert s["payload"] == {} and s["repository"], s
    s["repository"] = "payments/core"
    reseal(bk, "activity_sessions", sessions)
    code, out, err = cavra("ops", "verify", str(bk), "--json")
    doc = json.loads(out)
    assert code == 1, out + err
    assert doc["session_counters"]["descriptions"] == dict(DESCRIBED_3, differ=1), out
    found = [p["message"] for p in doc["problems"] if p["kind"] == "session_description"]
    assert found == ["session audit-1-1: its repository 'payments/core' is none of its "
                     "decision lines', though its decisions described it: edited"], out
    args, url = target
    code, out, err = cavra("ops", "restore", str(bk), *args, db=db)
    assert code == 1, out + err
    assert "session counters: session audit-1-1: its repository 'payments/core'" in err, err
    assert "1 restored session do not agree with its decision lines" in err, err
    assert json.loads(out)["session_counters"]["descriptions"]["differ"] == 1, out
    code, out, err = cavra("audit", "verify", db=url)
    assert code == 1 and "edited id=audit-1-1" in out, out + err
    code, out, err = cavra("ops", "restore-test", str(bk), db=db)
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 1 and not checks["session_descriptions"]["ok"], out + err
    assert checks["session_descriptions"]["detail"] == "1 of 3 sessions their decisions " \
        "described name a value none of their decisions names", out


def test_ids_from_a_backup_or_database_cannot_drive_the_terminal(chained, tmp_path):
    """Ids in problem and break lines come from whoever wrote the backup or the database: a
    cursor move, a line clear, a conceal or a forged newline in one is printed escaped, so it
    cannot hide the lines an auditor reads."""
    db, ids = chained
    evil = "s\x1b[1A\x1b[2K\x1b[8m\nok: \u202e"
    bk = tmp_path / "bk"
    backup(db, bk)
    decisions = lines(bk, "activity_decisions")
    decisions[0]["session_id"] = evil
    reseal(bk, "activity_decisions", decisions)
    code, out, err = cavra("ops", "verify", str(bk))
    assert code == 1 and "\x1b" not in out + err and "\u202e" not in out, out + err
    # problems have their C0 controls as '?' (ops_report_add); what is left is escaped
    assert "session s?[1A?[2K?[8m?ok: \\u202e: no line, though 1 decision lines name it: " \
        "deleted" in out, out
    sql(db, "UPDATE activity_decisions SET decision_id = 'd\x1b[2K' "
            f"WHERE decision_id = '{ids[0]}'")
    code, out, err = cavra("audit", "verify", db=db)
    assert code == 1 and "\x1b" not in out + err, out + err
    assert "id=d\\x1b[2K" in out, out


def rebuild(bk, decision_id, **changes):
    """Edits one decision line and rebuilds the chain after it as anyone who reads
    docs/audit.md's link can: record hash, every later link, the chain's head row and the
    manifest's audit_head, with every checksum recomputed. Only a checkpoint can tell."""
    from test_ops import _write_manifest, manifest
    decisions = lines(bk, "activity_decisions")
    d = next(x for x in decisions if x["decision_id"] == decision_id)
    assert any(d.get(k) != v for k, v in changes.items()), "the edit changes nothing"
    d.update(changes)
    reseal(bk, "activity_decisions", decisions)
    chain = sorted(lines(bk, "audit_chain"), key=lambda r: int(r["seq"]))
    prev = chain[0]["prev_hash"]
    for e in chain:
        if e["record_id"] == decision_id:
            e["record_sha256"] = hashlib.sha256(canonical(d)).hexdigest()
        rid = e["record_id"]
        link = (f"cavra.audit.chain.v1\n{e['seq']}\n{e['kind']}\n{len(rid.encode())}:{rid}\n"
                f"{e['record_sha256']}\n{prev}\n")
        e["prev_hash"], e["hash"] = prev, hashlib.sha256(link.encode()).hexdigest()
        prev = e["hash"]
    reseal(bk, "audit_chain", chain)
    head = lines(bk, "audit_chain_head")
    head[0]["hash"] = prev
    reseal(bk, "audit_chain_head", head)
    m = manifest(bk)
    m["audit_head"]["hash"] = prev
    _write_manifest(bk, m)


def test_verify_against_a_checkpoint_tells_a_rebuilt_chain(chained, keys, tmp_path):
    db, ids = chained
    sk, pk = keys
    cp = tmp_path / "cp-8.json"
    code, out, err = cavra("audit", "checkpoint", "--signing-key", sk, "--output", str(cp), db=db)
    assert code == 0 and "seq 8" in out, out + err
    bk = tmp_path / "bk"
    backup(db, bk)
    with_cp = ["--checkpoint", str(cp), "--checkpoint-key", pk]
    code, out, err = cavra("ops", "verify", str(bk), *with_cp)
    assert code == 0 and "; audit chain: 8 entries verified against the backup's lines and the " \
        "checkpoint's entry\n" in out, out + err
    doc = json.loads(cavra("ops", "verify", str(bk), "--json", *with_cp)[1])
    assert doc["ok"] and doc["audit_chain"]["checkpoint_seq"] == 8, doc
    rebuild(bk, ids[2], repository="edited/by-hand")
    # consistent in itself: the lines, the links and audit_head all agree
    code, out, err = cavra("ops", "verify", str(bk))
    assert code == 0, out + err
    code, out, err = cavra("ops", "verify", str(bk), *with_cp)
    assert code == 1 and "1 problem\n" in out, out + err
    assert "seq 8 (decision " in out and "is not the checkpoint's entry: the chain was " \
        "rewritten up to it" in out, out


def test_a_checkpoint_that_cannot_be_used(chained, keys, tmp_path):
    db, _ = chained
    sk, pk = keys
    bk = tmp_path / "bk"
    backup(db, bk)
    with serve(db, tmp=tmp_path) as srv:
        r = srv.post("/decisions", {"session_id": "later", "action_type": "read_file",
                                    "target": "x"})
        assert r.status_code == 201, r.text
    later = tmp_path / "cp-9.json"
    assert cavra("audit", "checkpoint", "--signing-key", sk, "--output", str(later), db=db)[0] == 0
    # a checkpoint taken after the backup proves nothing about it
    code, out, err = cavra("ops", "verify", str(bk), "--checkpoint", str(later),
                           "--checkpoint-key", pk)
    assert code == 1 and "the checkpoint (seq 9) is after the backup's audit_head (seq 8)" \
        in out, out + err
    # signed by another key: refused as `audit verify --checkpoint` refuses it
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(other)],
                   check=True)
    subprocess.run(["openssl", "pkey", "-in", str(other), "-pubout", "-out",
                    str(tmp_path / "other.pub.pem")], check=True)
    code, out, err = cavra("ops", "verify", str(bk), "--checkpoint", str(later),
                           "--checkpoint-key", str(tmp_path / "other.pub.pem"))
    assert code == 1 and out == "" and "the checkpoint" in err and "does not verify" in err, \
        out + err
    code, out, err = cavra("ops", "verify", str(bk), "--checkpoint", str(later))
    assert code == 2 and "go together" in err, out + err
