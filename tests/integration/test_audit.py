"""The hash chain over decisions (docs/audit.md): `cavra audit verify|checkpoint|adopt` and
GET /audit/head, on both backends. Every tampering a database user can do is detected and
named; chains written by concurrent writers and by two processes verify."""
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import urllib.parse

import pytest

from conftest import backend_of, cavra, one_line, serve, sql
from test_ops import _reseal

SCENARIOS = [
    {"action_type": "read_file", "path": "README.md"},
    {"action_type": "git_operation", "operation": "push", "target": "main"},
    {"action_type": "summon_daemon", "target": "x"},
    {"action_type": "execute_command", "command": "ls"},
    {"action_type": "read_file", "path": "src/ü.c", "note": "caf\u00e9 \"quoted\""},
]


def post_many(srv, n, session="audit-1", workers=1):
    def one(i):
        body = dict(SCENARIOS[i % len(SCENARIOS)], session_id=f"{session}-{i % 3}",
                    agent_id=f"agent-{i % 2}", repository="payments/api")
        r = srv.post("/decisions", body)
        assert r.status_code == 201, r.text
        return r.json()["decision_id"]
    if workers == 1:
        return [one(i) for i in range(n)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(n)))


def chain_ids(db):
    return [r[0] for r in sql(db, "SELECT record_id FROM audit_chain ORDER BY seq")]


def add_session(db, session_id, n, t="2026-01-01T00:00:00.000000Z"):
    """The row cavra keeps beside decisions, for n decisions written by hand, none blocked or
    sent for approval: verify compares a session's counters with its decisions."""
    sql(db, "INSERT INTO activity_sessions (session_id, state, started_at, updated_at, "
            "created_at, decision_count, payload) VALUES "
            f"('{session_id}', 'active', '{t}', '{t}', '{t}', {n}, '{{}}')")


def verify(db, *extra):
    return cavra("audit", "verify", *extra, db=db)


def breaks(out):
    return [l for l in out.splitlines() if not l.startswith("audit chain:")]


@pytest.fixture
def keys(tmp_path):
    sk, pk = tmp_path / "signing.pem", tmp_path / "public.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(sk)], check=True)
    subprocess.run(["openssl", "pkey", "-in", str(sk), "-pubout", "-out", str(pk)], check=True)
    return str(sk), str(pk)


@pytest.fixture
def chained(db, tmp_path):
    """A database with 8 chained decisions; returns (db, ids in chain order)."""
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        post_many(srv, 8)
        head = srv.get("/audit/head").json()
    ids = chain_ids(db)
    assert len(ids) == 8 and head["seq"] == 8 and head["count"] == 8
    assert re.fullmatch(r"[0-9a-f]{64}", head["hash"])
    return db, ids


ONE_PASS = "checked in one pass over the chain and one over the decisions"


def test_untouched_chain_verifies_and_head_matches(chained):
    db, ids = chained
    code, out, err = verify(db)
    assert code == 0, out + err
    assert breaks(out) == []
    assert "8 entries, head seq 8, 0 breaks" in out
    # the first pass (the chain alone, the decisions in their stored order) found no break
    assert ONE_PASS in err, err
    h = sql(db, "SELECT seq, hash FROM audit_chain_head")[0]
    assert h == ["8", sql(db, "SELECT hash FROM audit_chain WHERE seq = 8")[0][0]]


def tamper(db, ids):
    """Each tampering, as SQL a database user could run, and the break verify must name."""
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    cols = ("session_id, agent_id, actor, repository, action_type, policy_pack, rule_id, "
            "decision, severity, approver_group, correlation_id, decided_at, created_at, "
            "updated_at, payload")
    return {
        # only the decision column, not the payload
        "edit_outcome": ([f"UPDATE activity_decisions SET decision = 'allow' "
                          f"WHERE decision_id = '{ids[1]}'",
                          f"UPDATE activity_decisions SET decision = 'warn' "
                          f"WHERE decision_id = '{ids[2]}'"],
                         [("edited", 2, ids[1]), ("edited", 3, ids[2])]),
        "edit_payload": ([f"UPDATE activity_decisions SET payload = '{{\"x\":1}}'{obj} "
                          f"WHERE decision_id = '{ids[4]}'"], [("edited", 5, ids[4])]),
        "delete": ([f"DELETE FROM activity_decisions WHERE decision_id = '{ids[3]}'"],
                   [("deleted", 4, ids[3])]),
        "delete_with_entry": ([f"DELETE FROM activity_decisions WHERE decision_id = '{ids[3]}'",
                               "DELETE FROM audit_chain WHERE seq = 4"],
                              [("deleted", 4, None)]),
        "insert": ([f"INSERT INTO activity_decisions (decision_id, {cols}) SELECT 'dec_forged', "
                    f"{cols} FROM activity_decisions WHERE decision_id = '{ids[0]}'"],
                   [("inserted", 0, "dec_forged")]),
        "reorder": (["UPDATE audit_chain SET seq = 1000 WHERE seq = 5",
                     "UPDATE audit_chain SET seq = 5 WHERE seq = 6",
                     "UPDATE audit_chain SET seq = 6 WHERE seq = 1000"],
                    [("reordered", 5, ids[5])]),
        "truncate": ([f"DELETE FROM activity_decisions WHERE decision_id IN ('{ids[6]}', "
                      f"'{ids[7]}')", "DELETE FROM audit_chain WHERE seq > 6"],
                     [("truncated", 7, None)]),
    }


def withheld_when_read(db, tmp_path, path, rid, withheld=1):
    """cavra serve does not serve the record rid of list path as it stands: refused by id
    (409) and left out of the list, counted in its envelope's withheld (of all it leaves out)."""
    with serve(db, tmp=tmp_path) as srv:
        page = srv.get(path + "?limit=200").json()
        assert page.get("withheld") == withheld, page
        assert rid not in json.dumps(page["items"]), page
        r = srv.get(f"{path}/{urllib.parse.quote(rid, safe='')}")
        assert r.status_code == 409 and "audit chain" in r.json()["detail"], r.text


def decisions_withheld(db, tmp_path, rid, withheld):
    """A decision the chain does not vouch for is refused by id and by an approval's request,
    and left out of the list and of its session's transcript."""
    withheld_when_read(db, tmp_path, "/decisions", rid, withheld)
    sid = sql(db, f"SELECT session_id FROM activity_decisions WHERE decision_id = '{rid}'")[0][0]
    with serve(db, tmp=tmp_path) as srv:
        page = srv.get(f"/sessions/{sid}/decisions?limit=200").json()
        assert page.get("withheld") == 1 and rid not in json.dumps(page["items"]), page
        r = srv.post("/approvals", {"decision_id": rid})
        assert r.status_code == 409 and "audit chain" in r.json()["detail"], r.text
        assert srv.get("/approvals?limit=200").json()["items"] == []


@pytest.mark.parametrize("case", ["edit_outcome", "edit_payload", "delete", "delete_with_entry",
                                  "insert", "reorder", "truncate"])
def test_each_tampering_is_detected_and_named(chained, case, tmp_path):
    db, ids = chained
    stmts, want = tamper(db, ids)[case]
    for s in stmts:
        sql(db, s)
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = breaks(out)
    for what, seq, rid in want:
        hit = [l for l in lines if l.startswith(what + " ")
               and (not seq or re.search(rf"\bseq={seq}\b|\bseq={seq}\.\.", l))
               and (rid is None or f"id={rid}" in l)]
        assert hit, (what, seq, rid, lines)
    assert ONE_PASS not in err, err  # the break sent verify to the walk that names it
    # the records around the break are named
    assert all("after=" in l for l in lines), lines
    if case in ("edit_outcome", "edit_payload", "insert"):
        decisions_withheld(db, tmp_path, want[0][2], len(want))


def test_an_edited_session_counter_is_named(chained):
    """Sessions are not chained, but their counters are their decisions' counts, which are:
    verify compares the two, so lowering a session's blocked_count (what an auditor filters
    on) or deleting its row is named.  Decisions 0..7 went to sessions audit-1-0..2 in turn."""
    db, _ = chained
    assert verify(db)[0] == 0
    sql(db, "UPDATE activity_sessions SET decision_count = 1, blocked_count = 0 "
            "WHERE session_id = 'audit-1-0'")
    sql(db, "DELETE FROM activity_sessions WHERE session_id = 'audit-1-2'")
    code, out, err = verify(db)
    assert code == 1, out + err
    n, b, a = (int(x) for x in sql(
        db, "SELECT count(*), sum(CASE WHEN decision = 'block' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN decision = 'require_approval' THEN 1 ELSE 0 END) "
            "FROM activity_decisions WHERE session_id = 'audit-1-0'")[0])
    assert breaks(out) == [
        f"edited id=audit-1-0 after=-: session counters 1/0/{a} (decisions/blocked/approvals "
        f"required) differ from its decisions' {n}/{b}/{a}",
        "deleted id=audit-1-2 after=-: session row is missing for its 2 decisions"], out
    assert "1 breaks" not in out and "2 breaks" in out, out
    # the chain itself is whole: the first pass still proved every decision
    assert ONE_PASS in err, err


def test_a_truncated_tail_with_its_head_rewritten_needs_the_checkpoint(chained, keys, tmp_path):
    db, ids = chained
    sk, pk = keys
    cp = str(tmp_path / "cp.json")
    code, out, err = cavra("audit", "checkpoint", "--signing-key", sk, "--output", cp, db=db)
    assert code == 0, err
    doc = json.load(open(cp))
    assert doc["seq"] == 8 and doc["count"] == 8 and doc["format"] == "cavra.audit.checkpoint.v1"
    assert verify(db, "--checkpoint", cp, "--public-key", pk)[0] == 0
    # cut the two newest, and make the head agree: the chain alone is consistent again
    sql(db, f"DELETE FROM activity_decisions WHERE decision_id IN ('{ids[6]}', '{ids[7]}')")
    sql(db, "DELETE FROM audit_chain WHERE seq > 6")
    sql(db, "UPDATE audit_chain_head SET seq = 6, hash = (SELECT hash FROM audit_chain "
            "WHERE seq = 6)")
    # the sessions' counters still count the two: their sessions are named
    code, out, _ = verify(db)
    assert code == 1 and [l.split(" after=")[0] for l in breaks(out)] == [
        "edited id=audit-1-0", "edited id=audit-1-1"], out
    # ... so the counters are lowered too: the chain and the sessions agree again
    sql(db, "UPDATE activity_sessions SET decision_count = (SELECT count(*) FROM "
            "activity_decisions d WHERE d.session_id = activity_sessions.session_id), "
            "blocked_count = (SELECT count(*) FROM activity_decisions d WHERE d.session_id = "
            "activity_sessions.session_id AND d.decision = 'block'), approval_required_count = "
            "(SELECT count(*) FROM activity_decisions d WHERE d.session_id = "
            "activity_sessions.session_id AND d.decision = 'require_approval')")
    assert verify(db)[0] == 0
    code, out, err = verify(db, "--checkpoint", cp, "--public-key", pk)
    assert code == 1, out + err
    assert any(l.startswith("truncated seq=7..8") and f"after={ids[5]}" in l
               and "checkpoint" in l for l in breaks(out)), out


def test_checkpoint_refusals(chained, keys, tmp_path):
    db, _ = chained
    sk, pk = keys
    cp = str(tmp_path / "cp.json")
    assert cavra("audit", "checkpoint", "--signing-key", sk, "--output", cp, db=db)[0] == 0
    # a checkpoint is evidence: never written over (it was, silently)
    kept = open(cp).read()
    code, out, err = cavra("audit", "checkpoint", "--signing-key", sk, "--output", cp, db=db)
    assert code == 2 and "exists" in one_line(err) and open(cp).read() == kept, err
    doc = json.load(open(cp))
    doc["seq"] = 7
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    code, out, err = verify(db, "--checkpoint", str(forged), "--public-key", pk)
    assert code == 1 and "signature does not match the key" in err, err
    other, other_pub = tmp_path / "other.pem", tmp_path / "other.pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(other)],
                   check=True)
    subprocess.run(["openssl", "pkey", "-in", str(other), "-pubout", "-out", str(other_pub)],
                   check=True)
    code, out, err = verify(db, "--checkpoint", cp, "--public-key", str(other_pub))
    assert code == 1 and "signed by key" in err, err
    # the private key never appears in output
    assert open(sk).read().splitlines()[1] not in out + err
    for argv in (["audit"], ["audit", "nope"], ["audit", "verify", "--checkpoint", cp],
                 ["audit", "checkpoint", "--output", cp], ["audit", "adopt", "--output", cp]):
        code, out, err = cavra(*argv, db=db)
        assert code == 2 and len(err.strip().splitlines()) == 1, (argv, err)


def test_concurrent_writers_give_one_chain(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        ids = post_many(srv, 64, workers=16)
    assert sorted(chain_ids(db)) == sorted(ids)
    code, out, err = verify(db)
    assert code == 0 and "64 entries" in out, out + err


def test_two_processes_on_one_postgres(pg_db, tmp_path):
    db = pg_db
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as a, serve(db, tmp=tmp_path) as b:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            got = list(pool.map(lambda s: post_many(s[0], 40, session=s[1], workers=8),
                                [(a, "a"), (b, "b")]))
    assert sorted(chain_ids(db)) == sorted(got[0] + got[1])
    code, out, err = verify(db)
    assert code == 0 and "80 entries" in out, out + err


def test_existing_decisions_are_adopted_by_migrate_up(db):
    assert cavra("migrate", "up", "--to", "12", db=db)[0] == 0
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    for i in range(3):
        sql(db, "INSERT INTO activity_decisions (decision_id, session_id, action_type, "
                "policy_pack, decision, decided_at, created_at, updated_at, payload) VALUES "
                f"('d-{i}', 's', 'read_file', 'p', 'allow', '2026-01-0{3 - i}T00:00:00.000000Z', "
                f"'2026-01-0{3 - i}T00:00:00.000000Z', '2026-01-0{3 - i}T00:00:00.000000Z', "
                f"'{{\"decision_id\":\"d-{i}\"}}'{obj})")
    add_session(db, "s", 3)
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    # oldest first, then (023) the session
    assert chain_ids(db) == ["d-2", "d-1", "d-0", "s"]
    assert sql(db, "SELECT adopt_pending FROM audit_chain_head") == [["0"]]
    assert verify(db)[0] == 0
    # adopt runs once: a row inserted later stays unchained and is reported
    sql(db, "INSERT INTO activity_decisions (decision_id, session_id, action_type, policy_pack, "
            "decision, decided_at, created_at, updated_at, payload) VALUES ('d-late', 's', "
            "'read_file', 'p', 'allow', '2026-01-01T00:00:00.000000Z', "
            "'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', '{}'" + obj + ")")
    code, out, _ = cavra("audit", "adopt", db=db)
    assert code == 0 and "chained 0 records" in out
    code, out, _ = verify(db)
    assert code == 1 and any(l.startswith("inserted") and "id=d-late" in l
                             for l in breaks(out)), out


def test_verify_refuses_a_database_before_the_chain(db):
    assert cavra("migrate", "up", "--to", "12", db=db)[0] == 0
    code, out, err = verify(db)
    assert code == 1 and "run 'cavra migrate up' first" in err, err


def test_a_restored_backup_carries_the_chain(chained, tmp_path):
    """Backed up from either backend and restored into a new SQLite database, the chain
    verifies there: the canonical form is the same on both."""
    db, ids = chained
    out_dir, target = str(tmp_path / "bk"), str(tmp_path / "restored")
    code, _, err = cavra("ops", "backup", "--output", out_dir, db=db)
    assert code == 0, err
    code, _, err = cavra("ops", "restore", out_dir, "--target-dir", target)
    assert code == 0, err
    assert "audit chain: carried: 8 entries, head seq 8, the backup's audit_head, verified" \
        in err, err
    restored = target + "/cavra.db"
    assert chain_ids(restored) == ids
    code, out, err = verify(restored)
    assert code == 0 and "8 entries" in out, out + err
    head = json.load(open(out_dir + "/manifest.json"))["audit_head"]
    assert [str(head["seq"]), head["hash"]] == sql(db, "SELECT seq, hash FROM audit_chain_head")[0]


def reseal(bk, table, lines):
    """Rewrites a table file of an unsigned backup and its manifest entry, checksums included,
    so that only the chain can tell."""
    # canonical lines (sorted keys) in the file's order: by the key (the chain's: seq's value;
    # audit_chain_head's: hash)
    key = (lambda l: int(l["seq"])) if table == "audit_chain" else (lambda l: l["hash"].encode())
    data = b"".join(json.dumps(l, separators=(",", ":"), sort_keys=True,
                               ensure_ascii=False).encode() + b"\n"
                    for l in sorted(lines, key=key))
    _reseal(bk, table, data)


def rows(bk, table):
    return [json.loads(l) for l in (bk / f"{table}.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("case", ["edit_entry", "cut_tail_and_head"])
def test_a_restore_reports_a_tampered_chain(chained, tmp_path, case):
    db, ids = chained
    bk, target = tmp_path / "bk", tmp_path / "restored"
    assert cavra("ops", "backup", "--output", str(bk), "--compression", "none", db=db)[0] == 0
    chain = sorted(rows(bk, "audit_chain"), key=lambda r: int(r["seq"]))
    if case == "edit_entry":
        chain[2]["record_sha256"] = "0" * 64
        reseal(bk, "audit_chain", chain)
        want = "edited seq=3"
    else:
        # the newest entry cut off and the head row rewritten to match: the chain alone is
        # consistent, only the manifest's audit_head shows it
        head = rows(bk, "audit_chain_head")
        head[0]["seq"], head[0]["hash"] = chain[6]["seq"], chain[6]["hash"]
        reseal(bk, "audit_chain", chain[:7])
        reseal(bk, "audit_chain_head", head)
        want = "is not the backup's audit_head (seq 8)"
    # the files match their checksums; verify reads the chain from the lines and names it
    code, out, err = cavra("ops", "verify", str(bk))
    found = ("seq 3 (decision " if case == "edit_entry"
             else "the chain ends at seq 7, not at the manifest's audit_head (seq 8)")
    assert code == 1 and "1 problem\n" in out and found in out, out + err
    code, out, err = cavra("ops", "restore", str(bk), "--target-dir", str(target))
    assert code == 1, out + err
    assert "the restored chain does not verify" in err and want in err, err


def test_serve_writes_signed_checkpoints(db, keys, tmp_path):
    import glob
    import time
    sk, pk = keys
    cpdir = tmp_path / "checkpoints"
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, "--audit-checkpoint-dir", str(cpdir), "--audit-signing-key-file", sk,
               "--audit-checkpoint-seconds", "1", tmp=tmp_path) as srv:
        post_many(srv, 3)
        deadline = time.time() + 60
        while not glob.glob(str(cpdir / "checkpoint-3-*.json")) and time.time() < deadline:
            time.sleep(0.2)
        log = srv.stderr()
    files = glob.glob(str(cpdir / "checkpoint-3-*.json"))
    assert files, sorted(glob.glob(str(cpdir / "*")))
    assert glob.glob(str(cpdir / "checkpoint-0-*.json"))  # the one written at start
    assert open(sk).read().splitlines()[1] not in log
    code, out, err = verify(db, "--checkpoint", files[0], "--public-key", pk)
    assert code == 0 and "checked against the checkpoint" in out, out + err


def test_serve_checkpoint_settings_go_together(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    code, _, err = cavra("serve", "--audit-checkpoint-dir", str(tmp_path / "cp"), db=db)
    assert code == 2 and "go together" in err, err


@pytest.fixture
def with_approvals(db, tmp_path):
    """A database with decisions and three approvals: one approved, one denied, one pending;
    returns (db, {state: approval_id})."""
    assert cavra("migrate", "up", db=db)[0] == 0
    got = {}
    with serve(db, tmp=tmp_path) as srv:
        for state, action in (("approved", "approve"), ("denied", "deny"), ("pending", None)):
            r = srv.post("/decisions", {"session_id": "apr", "agent_id": "a",
                                        "action_type": "execute_command",
                                        "command": f"make {state}"})
            assert r.status_code == 201, r.text
            r = srv.post("/approvals", {"decision": r.json()})
            assert r.status_code == 201, r.text
            got[state] = r.json()["approval_id"]
            if action:
                r = srv.post(f"/approvals/{got[state]}/{action}",
                             {"actor": "sam", "reason": "checked"})
                assert r.status_code == 200, r.text
    return db, got


def test_approvals_are_chained_at_every_write(with_approvals):
    db, got = with_approvals
    kinds = sql(db, "SELECT kind, record_id FROM audit_chain ORDER BY seq")
    for state, aid in got.items():
        # created, then each state change: one entry per write
        assert kinds.count(["approval", aid]) == (1 if state == "pending" else 2), kinds
    code, out, err = verify(db)
    assert code == 0, out + err
    assert breaks(out) == [] and f"{len(kinds)} entries" in out, out


@pytest.mark.parametrize("case", ["edit_state", "edit_history", "delete", "insert"])
def test_approval_tampering_is_detected_and_named(with_approvals, case):
    db, got = with_approvals
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    cols = ("decision_id, session_id, state, approver_group, requested_by, rule_id, "
            "expires_at, decided_at, decided_by, created_at, updated_at, payload")
    last = {aid: sql(db, f"SELECT max(seq) FROM audit_chain WHERE record_id = '{aid}'")[0][0]
            for aid in got.values()}
    denied = got["denied"]
    stmts, want = {
        "edit_state": ([f"UPDATE approvals SET state = 'approved' WHERE approval_id = "
                        f"'{denied}'"], ("edited", last[denied], denied)),
        "edit_history": ([f"UPDATE approvals SET payload = '{{\"history\":[]}}'{obj} "
                          f"WHERE approval_id = '{got['approved']}'"],
                         ("edited", last[got["approved"]], got["approved"])),
        "delete": ([f"DELETE FROM approvals WHERE approval_id = '{denied}'"],
                   ("deleted", last[denied], denied)),
        "insert": ([f"INSERT INTO approvals (approval_id, {cols}) SELECT 'apr_forged', {cols} "
                    f"FROM approvals WHERE approval_id = '{denied}'"],
                   ("inserted", 0, "apr_forged")),
    }[case]
    for s in stmts:
        sql(db, s)
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = breaks(out)
    what, seq, rid = want
    assert len(lines) == 1, lines
    assert lines[0].startswith(what + " ") and f"id={rid}" in lines[0], lines
    assert not seq or re.search(rf"\bseq={seq}\b", lines[0]), lines


def test_existing_approvals_are_adopted_one_entry_each(with_approvals):
    db, got = with_approvals
    # as if the approvals had been written before the chain: no entries, adoption pending
    sql(db, "DELETE FROM audit_chain")
    sql(db, "UPDATE audit_chain_head SET seq = 0, hash = '" + "0" * 64 + "', adopt_pending = 1")
    code, out, err = cavra("audit", "adopt", db=db)
    assert code == 0, err
    kinds = sql(db, "SELECT kind, record_id FROM audit_chain ORDER BY seq")
    assert sorted(r[1] for r in kinds if r[0] == "approval") == sorted(got.values())
    assert f"chained {len(kinds)} records" in out, out
    assert verify(db)[0] == 0


def adoption_plans(log_text):
    """The plans auto_explain logged for the adoption's page query."""
    entries = re.split(r"^\S.*LOG:  duration: ", log_text, flags=re.M)
    return [e for e in entries if "NOT EXISTS (SELECT 1 FROM audit_chain" in e
            and "Query Text:" in e]


def test_adoption_probes_the_chain_index_for_every_row(pg, pg_db):
    """audit_chain grows inside the adoption's transaction, unseen by ANALYZE: with the
    statistics of an empty chain PostgreSQL would scan every entry again for each page (a
    10M-decision adoption ran for hours). The adoption holds the plan to one index probe per
    row; auto_explain shows the plans of its page queries."""
    log = getattr(pg, "dir", None) and os.path.join(pg.dir, "log")
    if not log or not os.path.exists(log):
        pytest.skip("needs the test's own PostgreSQL and its log (not CAVRA_TEST_PG_URL)")
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    sql(pg_db, "INSERT INTO activity_decisions (decision_id, session_id, action_type, "
               "policy_pack, decision, decided_at, created_at, updated_at, payload) "
               "SELECT 'd-' || lpad(i::text, 5, '0'), 's', 'read_file', 'p', 'allow', t, t, t, "
               "jsonb_build_object('decision_id', 'd-' || lpad(i::text, 5, '0')) FROM "
               "generate_series(1, 2500) i, LATERAL (SELECT timestamptz '2026-01-01' + "
               "i * interval '1 second' AS t) x")
    add_session(pg_db, "s", 2500)
    sql(pg_db, "UPDATE audit_chain_head SET adopt_pending = 1 WHERE seq = 0")
    sql(pg_db, "VACUUM (ANALYZE)")  # as after a bulk load: the chain's statistics say empty
    name = pg_db.rsplit("/", 1)[1]
    for setting in ("session_preload_libraries = 'auto_explain'",
                    "auto_explain.log_min_duration = 0"):
        sql(pg_db, f"ALTER DATABASE {name} SET {setting}")
    start = os.path.getsize(log)
    code, out, err = cavra("audit", "adopt", db=pg_db)
    assert code == 0 and "chained 2501 records" in out, err  # and the session (023)
    with open(log, encoding="utf-8", errors="replace") as f:
        f.seek(start)
        plans = adoption_plans(f.read())
    assert len(plans) >= 3, "no plans logged for the adoption's pages"
    for p in plans:
        assert re.search(r"Index (Only )?Scan using ix_audit_chain_kind_record_id", p), p
        assert re.search(r"record_id = d\.(decision_id|approval_id|session_id|agent_id|server_id|"
                         r"repository_id|rollout_id|integration_id|token_id)", p), p
        for bad in ("Materialize", "Gather", "Hash", "Merge Anti Join"):
            assert bad not in p, p
    assert verify(pg_db)[0] == 0


def append_entry(db, kind, record_id, record_sha256):
    """An entry appended at the tail by hand, as anyone who reads docs/audit.md's link can: the
    link recomputed, the head moved. Returns its seq."""
    seq, prev = sql(db, "SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1")[0]
    seq = int(seq) + 1
    link = (f"cavra.audit.chain.v1\n{seq}\n{kind}\n{len(record_id.encode())}:{record_id}\n"
            f"{record_sha256}\n{prev}\n")
    h = hashlib.sha256(link.encode()).hexdigest()
    sql(db, "INSERT INTO audit_chain (seq, kind, record_id, record_sha256, prev_hash, hash, "
        f"chained_at) VALUES ({seq}, '{kind}', '{record_id}', '{record_sha256}', '{prev}', "
        f"'{h}', '2026-12-05T00:00:00.000000Z')")
    sql(db, f"UPDATE audit_chain_head SET seq = {seq}, hash = '{h}'")
    return seq


def last_sha(db, rid):
    return sql(db, f"SELECT record_sha256 FROM audit_chain WHERE record_id = '{rid}' "
               "ORDER BY seq DESC LIMIT 1")[0][0]


@pytest.mark.parametrize("state", ["denied", "pending"])
def test_an_approval_chained_again_behind_cavras_back_is_named(with_approvals, state):
    """A decided approval has its request and one decision; a pending one its request. An
    entry appended by hand for either (as after rewriting a denied approval into an approved
    one and hashing its new row) is a break, though its links and record hash hold."""
    db, got = with_approvals
    aid = got[state]
    seq = append_entry(db, "approval", aid, last_sha(db, aid))
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = breaks(out)
    assert len(lines) == 1 and lines[0].startswith(f"edited seq={seq} id={aid} "), lines
    assert ("changed after it was decided" if state == "denied" else "a second chain entry") \
        in lines[0], lines


def test_a_decision_chained_twice_is_named(chained):
    db, ids = chained
    seq = append_entry(db, "decision", ids[2], last_sha(db, ids[2]))
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = breaks(out)
    assert len(lines) == 1 and lines[0].startswith(f"duplicated seq={seq} id={ids[2]} "), lines


# Edits of a stored decision and approval that keep their record hash, each named by verify
# (SQLite only: PostgreSQL's jsonb keeps one value per key, and its columns are typed).
SAME_HASH = {
    # the canonical form keeps the later of two equal keys, so '{"decision":"allow",...' in
    # front of a stored payload would hash as before; a reader taking the first key sees it
    "a key twice": (
        "UPDATE activity_decisions SET payload = '{\"decision\":\"allow\",' || "
        "substr(payload, 2) WHERE decision_id = '{did}'",
        "UPDATE approvals SET payload = '{\"state\":\"approved\",' || substr(payload, 2) "
        "WHERE approval_id = '{aid}'"),
    # CAST(x AS BLOB) keeps the bytes, so the hash, but no lookup by that column finds it
    "BLOB": (
        "UPDATE activity_decisions SET session_id = CAST(session_id AS BLOB) "
        "WHERE decision_id = '{did}'",
        "UPDATE approvals SET approver_group = CAST(approver_group AS BLOB) "
        "WHERE approval_id = '{aid}'"),
}


@pytest.mark.parametrize("marker", list(SAME_HASH))
def test_an_edit_that_keeps_the_record_hash_is_named(with_approvals, marker):
    db, got = with_approvals
    if backend_of(db) == "postgres":
        pytest.skip("jsonb keeps one value per key, and the columns are typed")
    did = sql(db, "SELECT decision_id FROM activity_decisions LIMIT 1")[0][0]
    seq = sql(db, f"SELECT seq FROM audit_chain WHERE record_id = '{did}'")[0][0]
    aid = got["pending"]
    for stmt in SAME_HASH[marker]:
        sql(db, stmt.replace("{did}", did).replace("{aid}", aid))
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = breaks(out)
    # a session_id stored as a BLOB also leaves its session's count: the session is named,
    # and the BLOB's value as one with no row
    assert len(lines) == (4 if marker == "BLOB" else 2), lines
    if marker == "BLOB":
        assert [l.split(" after=")[0] for l in lines[2:]] == ["edited id=apr", "deleted id=apr"]
    assert any(l.startswith(f"edited seq={seq} id={did} ") and marker in l for l in lines), lines
    assert any(f"id={aid} " in l and marker in l for l in lines), lines


def forge_decision(db, like):
    """'dec_forged', a copy of decision like, inserted behind cavra's back (no chain entry)."""
    cols = ("session_id, agent_id, actor, repository, action_type, policy_pack, rule_id, "
            "decision, severity, approver_group, correlation_id, decided_at, created_at, "
            "updated_at, payload")
    sql(db, f"INSERT INTO activity_decisions (decision_id, {cols}) SELECT 'dec_forged', {cols} "
        f"FROM activity_decisions WHERE decision_id = '{like}'")


def test_adoption_set_by_hand_on_a_chain_adopts_nothing(chained, tmp_path):
    """adopt_pending set on a chain with entries would have the next start chain a decision
    inserted behind cavra's back: it is refused, logged, and reported by verify."""
    db, ids = chained
    forge_decision(db, ids[0])
    flag_refused(db, tmp_path, "adopt_pending", 8, "asks for adoption", "dec_forged")


def flag_refused(db, tmp_path, flag, seq, why, forged):
    """flag set by hand on the head (seq) of a chain beside a forged record: serve logs the
    refusal and runs on, `audit adopt` refuses, verify names the flag and the forged record."""
    sql(db, f"UPDATE audit_chain_head SET {flag} = 1")
    with serve(db, tmp=tmp_path) as srv:
        assert srv.get("/audit/head").json()["seq"] == seq
        assert "set behind cavra's back: nothing adopted" in srv.stderr()
    code, out, err = cavra("audit", "adopt", db=db)
    assert code == 1 and "nothing adopted" in err, out + err
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = breaks(out)
    assert any(l.startswith(f"edited seq={seq} ") and why in l for l in lines), lines
    assert any(l.startswith(f"inserted id={forged} ") for l in lines), lines


def test_an_import_that_writes_no_decision_chains_no_decision(chained, tmp_path):
    """A failed import, or one of other records (which chains those records alone), leaves a
    decision inserted behind cavra's back unchained: verify still names it."""
    db, ids = chained
    forge_decision(db, ids[0])
    code, out, err = cavra("ops", "import", "--json", str(tmp_path / "missing.json"),
                           "--store", "activity", db=db)
    assert code == 1 and "audit chain: chained" not in err, out + err
    agents = tmp_path / "registry.json"
    agents.write_text(json.dumps({"agents": [{"agent_id": "imported-agent"}]}))
    code, out, err = cavra("ops", "import", "--json", str(agents), "--store", "registry", db=db)
    assert code == 0 and "audit chain: chained 1 imported records" in err, out + err
    code, out, err = verify(db)
    assert code == 1 and any(l.startswith("inserted id=dec_forged ") for l in breaks(out)), out
