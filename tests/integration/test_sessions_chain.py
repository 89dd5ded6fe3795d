"""Sessions in the audit chain (docs/audit.md, migration 023), on both backends: every write of
a session but a decision's (POST /sessions, evidence that starts one, an import) is chained; a
session's owner, state or description changed in the database, a session planted there and one
that only decisions made but was changed since are named by `cavra audit verify`; sessions
written before 023 are chained once by the adoption."""
import json
import threading

import pytest
import requests

from conftest import backend_of, cavra, serve, sql
from test_audit import breaks, flag_refused, verify, withheld_when_read
from test_evidence_chain import restore_carries, restore_over_newer
from test_tokens import bearer, make_token

T0 = "2026-01-01T00:00:00.000000Z"


def entries(db):
    return [tuple(r) for r in sql(db, "SELECT kind, record_id FROM audit_chain WHERE kind = "
                                      "'session' ORDER BY seq")]


def last_seq(db, rid):
    return sql(db, f"SELECT max(seq) FROM audit_chain WHERE kind = 'session' AND "
                   f"record_id = '{rid}'")[0][0]


def insert_session(db, sid, payload):
    """A session row written behind cavra's back (or by a binary before 023)."""
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    sql(db, "INSERT INTO activity_sessions (session_id, state, started_at, updated_at, "
            f"created_at, payload) VALUES ('{sid}', 'active', '{T0}', '{T0}', '{T0}', "
            f"'{json.dumps(payload)}'{obj})")


def post(srv, token, path, **body):
    r = srv.post(path, body, headers=bearer(token))
    assert r.status_code in (200, 201), r.text
    return r.json()


@pytest.fixture
def with_sessions(db, tmp_path):
    """s-rec recorded by agent A (then its decisions, the same description again, then closed),
    s-dec started by a decision of A, s-ev started by B's evidence and described by B's
    decisions; returns (db, A's token, B's token)."""
    assert cavra("migrate", "up", db=db)[0] == 0
    a, b = make_token(db, "sc-agent-a", "agent"), make_token(db, "sc-agent-b", "agent")
    with serve(db, tmp=tmp_path) as srv:
        post(srv, a, "/sessions", session_id="s-rec", repository="acme/api")
        for _ in range(2):
            post(srv, a, "/decisions", session_id="s-rec", action_type="shell_command",
                 command="ls")
        post(srv, a, "/sessions", session_id="s-rec", repository="acme/api")
        post(srv, a, "/sessions", session_id="s-rec", repository="acme/api", state="completed")
        post(srv, a, "/decisions", session_id="s-dec", agent_id="agent-a",
             action_type="shell_command", command="rm -rf /")
        post(srv, b, "/evidence", session_id="s-ev", signer="harness")
        post(srv, b, "/decisions", session_id="s-ev", agent_id="agent-b",
             repository="acme/web", action_type="shell_command", command="ls")
    return db, a, b


def test_every_session_write_but_a_decisions_is_chained(with_sessions):
    """The first and the changing POST /sessions and the evidence's start are chained; the
    decisions that count in a session and fill in its description are not, and neither is the
    same description written again, nor the session a decision started."""
    db, _, _ = with_sessions
    assert entries(db) == [("session", "s-rec"), ("session", "s-rec"), ("session", "s-ev")]
    got = sql(db, "SELECT agent_id, decision_count FROM activity_sessions WHERE session_id = "
                  "'s-ev'")
    assert got == [["agent-b", "1"]], got
    code, out, err = verify(db)
    assert code == 0, out + err
    assert breaks(out) == [], out


def owner(token_name):
    return {"kind": "api_token", "token": token_name}


@pytest.mark.parametrize("case", ["owner_handed_over", "recorded_closed", "description",
                                  "evidence_owner", "decision_session_taken",
                                  "decision_session_archived", "decision_session_described",
                                  "evidence_session_described", "planted", "deleted"])
def test_session_tampering_is_detected_and_named(with_sessions, case, tmp_path):
    db, _, _ = with_sessions
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    taken = json.dumps({"recorded_by": owner("sc-agent-b")})
    stmts, (what, sid) = {
        # the story 023 closes: B's decisions would now be taken into A's session
        "owner_handed_over": ([f"UPDATE activity_sessions SET payload = '{taken}'{obj} WHERE "
                               "session_id = 's-rec'"], ("edited", "s-rec")),
        "recorded_closed": (["UPDATE activity_sessions SET state = 'active' WHERE "
                             "session_id = 's-rec'"], ("edited", "s-rec")),
        "description": (["UPDATE activity_sessions SET repository = 'acme/other' WHERE "
                         "session_id = 's-rec'"], ("edited", "s-rec")),
        "evidence_owner": ([f"UPDATE activity_sessions SET payload = "
                            f"'{json.dumps({'started_by': owner('sc-agent-a')})}'{obj} WHERE "
                            "session_id = 's-ev'"], ("edited", "s-ev")),
        "decision_session_taken": ([f"UPDATE activity_sessions SET payload = '{taken}'{obj} "
                                    "WHERE session_id = 's-dec'"], ("inserted", "s-dec")),
        "decision_session_archived": (["UPDATE activity_sessions SET state = 'archived' WHERE "
                                       "session_id = 's-dec'"], ("inserted", "s-dec")),
        "planted": ([], ("inserted", "s-planted")),
        # a description no decision of the session gave
        "decision_session_described": (["UPDATE activity_sessions SET repository = 'acme/other' "
                                        "WHERE session_id = 's-dec'"], ("edited", "s-dec")),
        # its entry hashes its description as NULL: B's decisions gave it
        "evidence_session_described": (["UPDATE activity_sessions SET repository = 'acme/other' "
                                        "WHERE session_id = 's-ev'"], ("edited", "s-ev")),
        "deleted": (["DELETE FROM evidence_metadata WHERE session_id = 's-ev'",
                     "DELETE FROM activity_sessions WHERE session_id = 's-ev'"],
                    ("deleted", "s-ev")),
    }[case]
    for s in stmts:
        sql(db, s)
    if case == "planted":
        insert_session(db, "s-planted", {"recorded_by": owner("sc-agent-b")})
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = [l for l in breaks(out) if f" id={sid} " in l]
    assert lines and all(l.startswith(what + " ") for l in lines), breaks(out)
    if what == "edited" and case.endswith("_session_described"):
        assert len(breaks(out)) == 1 and "none of its decisions names" in lines[0], lines
    elif what == "edited":
        assert len(breaks(out)) == 1, breaks(out)
        assert lines[0].startswith(f"edited seq={last_seq(db, sid)} "), lines
    # what the session's entry covers (not the description decisions give), cavra serve
    # does not serve
    if what != "deleted" and not case.endswith("_session_described"):
        withheld_when_read(db, tmp_path, "/sessions", sid)


def decision_count(db, sid):
    return sql(db, f"SELECT count(*) FROM activity_decisions WHERE session_id = '{sid}'")[0][0]


@pytest.mark.parametrize("case", ["evidence_owner", "decision_session_taken",
                                  "first_decision_taken"])
def test_a_session_handed_over_in_the_database_takes_no_decisions(with_sessions, tmp_path,
                                                                  case):
    """The new owner's decisions are refused (409, nothing written) as soon as they come, not
    only when `cavra audit verify` runs: the owner check asks the chain whether it vouches for
    the session's row and, for a session only decisions made, for its first decision."""
    db, a, b = with_sessions
    pg = backend_of(db) == "postgres"
    obj = "::jsonb" if pg else ""
    sid, new_owner, name = {
        "evidence_owner": ("s-ev", a, "sc-agent-a"),
        "decision_session_taken": ("s-dec", b, "sc-agent-b"),
        "first_decision_taken": ("s-dec", b, "sc-agent-b"),
    }[case]
    with serve(db, tmp=tmp_path) as srv:
        body = {"session_id": sid, "action_type": "shell_command", "command": "ls"}
        r = srv.post("/decisions", body, headers=bearer(new_owner))
        assert r.status_code == 403, r.text  # before the edit, not the caller's session
    if case == "evidence_owner":
        sql(db, f"UPDATE activity_sessions SET payload = "
                f"'{json.dumps({'started_by': owner(name)})}'{obj} WHERE session_id = '{sid}'")
    elif case == "decision_session_taken":
        sql(db, f"UPDATE activity_sessions SET payload = "
                f"'{json.dumps({'recorded_by': owner(name)})}'{obj} WHERE session_id = '{sid}'")
    else:
        fn = "jsonb_set(payload, '{recorded_by}', " if pg else "json_set(payload, '$.recorded_by', json("
        val = f"'{json.dumps(owner(name))}'{obj}" + ("" if pg else ")")
        sql(db, f"UPDATE activity_decisions SET payload = {fn}{val}) WHERE session_id = '{sid}'")
    before = decision_count(db, sid)
    with serve(db, tmp=tmp_path) as srv:
        for _ in range(2):  # the refusal is not remembered as an owner
            r = srv.post("/decisions", body, headers=bearer(new_owner))
            assert r.status_code == 409, r.text
            msg = r.json()["detail"]
            assert f"session '{sid}'" in msg and "audit chain" in msg, msg
        # a description written over it would chain the hand-over: refused alike
        n = len(entries(db))
        r = srv.post("/sessions", {"session_id": sid, "repository": "acme/x"},
                     headers=bearer(new_owner))
        assert r.status_code == 409 and "audit chain" in r.json()["detail"], r.text
        assert len(entries(db)) == n
    assert decision_count(db, sid) == before
    code, out, err = verify(db)
    assert code == 1, out + err


def hammer(bases, token, sid, rounds=15):
    """Decisions and re-descriptions of session sid at once, from six threads over bases; the
    status codes."""
    codes, lock = [], threading.Lock()

    def run(i):
        base = bases[i % len(bases)]
        for n in range(rounds):
            if i < 2:
                r = requests.post(base + "/sessions", json={"session_id": sid,
                                                           "metadata": {"n": f"{i}-{n}"}},
                                  headers=bearer(token), timeout=60)
            else:
                r = requests.post(base + "/decisions", json={
                    "session_id": sid, "action_type": "shell_command", "command": "ls"},
                    headers=bearer(token), timeout=60)
            with lock:
                codes.append(r.status_code)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_session_writes_racing_its_decisions_verify(db, tmp_path):
    """A session described again while its decisions are written (on PostgreSQL through two
    processes): every write answered, the last description is the one chained last, the
    counters exact, and the chain verifies."""
    assert cavra("migrate", "up", db=db)[0] == 0
    a = make_token(db, "race-a", "agent")
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    with serve(db, tmp=tmp_path / "1") as s1, serve(db, tmp=tmp_path / "2") as s2:
        post(s1, a, "/sessions", session_id="s-race", repository="acme/api")
        bases = [s1.base, s2.base] if backend_of(db) == "postgres" else [s1.base]
        codes = hammer(bases, a, "s-race")
    assert sorted(set(codes)) == [200, 201], codes
    assert sql(db, "SELECT decision_count FROM activity_sessions WHERE session_id = "
                   "'s-race'") == [["60"]]
    code, out, err = verify(db)
    assert code == 0, out + err


def test_what_decisions_move_is_left_out(with_sessions, tmp_path):
    """Counters and updated_at are checked against the decisions, not the entry: a session's
    entry still matches after decisions, and a counter changed in the database is named as a
    counter, once."""
    db, a, _ = with_sessions
    with serve(db, tmp=tmp_path) as srv:
        post(srv, a, "/decisions", session_id="s-rec", action_type="shell_command",
             command="ls")
    assert verify(db)[0] == 0
    sql(db, "UPDATE activity_sessions SET decision_count = 99 WHERE session_id = 's-rec'")
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = breaks(out)
    assert len(lines) == 1 and "session counters 99/" in lines[0], lines


def test_sessions_before_023_are_adopted_once_by_migrate_up(db):
    """Sessions written before 023 get their entries from the `migrate up` that applies it; a
    session inserted later is not chained by the next adoption, and verify names it."""
    assert cavra("migrate", "up", "--to", "22", db=db)[0] == 0
    insert_session(db, "old-1", {"recorded_by": {"kind": "local"}})
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    assert "chained 1 records" in out + err, out + err
    assert entries(db) == [("session", "old-1")]
    assert sql(db, "SELECT adopt_pending, evidence_pending, records_pending, sessions_pending "
                   "FROM audit_chain_head") == [["0", "0", "0", "0"]]
    assert verify(db)[0] == 0
    insert_session(db, "late", {"recorded_by": {"kind": "local"}})
    code, out, _ = cavra("audit", "adopt", db=db)
    assert code == 0 and "chained 0 records" in out, out
    code, out, _ = verify(db)
    assert code == 1 and [l.split(" after=")[0] for l in breaks(out)] == ["inserted id=late"], out


def test_verify_waits_for_the_sessions_adoption(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    insert_session(db, "old-1", {"metadata": {"ticket": "SEC-1"}})
    # as 023 leaves a database with sessions before the adoption that `migrate up` runs next
    sql(db, "UPDATE audit_chain_head SET sessions_pending = 1")
    code, out, err = verify(db)
    assert code == 1 and "run 'cavra audit adopt' first" in err, out + err
    assert "sessions written before migration 023 are not chained" in err, err
    code, out, err = cavra("audit", "adopt", db=db)
    assert code == 0 and "chained 1 records" in out, out + err
    assert verify(db)[0] == 0


def test_sessions_pending_set_by_hand_adopts_nothing(with_sessions, tmp_path):
    db, _, _ = with_sessions
    insert_session(db, "s-forged", {"recorded_by": owner("sc-agent-b")})
    head = int(sql(db, "SELECT seq FROM audit_chain_head")[0][0])
    flag_refused(db, tmp_path, "sessions_pending", head, "the sessions' adoption", "s-forged")


def test_a_backup_from_before_023_restored_over_023_asks_for_adoption(db, tmp_path):
    assert cavra("migrate", "up", "--to", "22", db=db)[0] == 0
    insert_session(db, "old-1", {"recorded_by": {"kind": "local"}})
    restore_over_newer(db, tmp_path, "sessions_pending")


def test_a_restored_backup_carries_the_sessions_entries(with_sessions, tmp_path):
    db, _, _ = with_sessions
    restore_carries(db, tmp_path, entries)


def test_an_import_chains_the_sessions_it_writes(with_sessions, tmp_path):
    """Imported sessions are chained before the import commits (with every other session
    that has no entry yet, as an import does in the tables it wrote), and a session the import
    changes gets an entry for its new state."""
    db, _, _ = with_sessions
    path = tmp_path / "activity.json"

    def imported(state):
        path.write_text(json.dumps({"sessions": [{"session_id": "imp-1", "state": state,
                                                  "started_at": T0,
                                                  "metadata": {"ticket": "SEC-1"}}]}))
        code, out, err = cavra("ops", "import", "--json", str(path), "--store", "activity",
                               db=db)
        assert code == 0, out + err

    imported("active")
    # after the chain's entries, oldest first: the imported session, then the one a decision
    # made before it (the import chains what has no entry in the table it wrote)
    assert entries(db)[-2:] == [("session", "imp-1"), ("session", "s-dec")]
    # an active session without metadata, described by the file and not by its decisions
    # (none here): chained by the import, so not taken for one only decisions made
    path.write_text(json.dumps({"sessions": [{"session_id": "imp-0", "state": "active",
                                              "started_at": T0, "agent_id": "old-agent"}]}))
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "activity", db=db)
    assert code == 0, out + err
    assert entries(db)[-1] == ("session", "imp-0")
    assert verify(db)[0] == 0
    imported("completed")
    assert entries(db)[-2:] == [("session", "imp-0"), ("session", "imp-1")]
    code, out, err = verify(db)
    assert code == 0, out + err


def test_ops_verify_checks_sessions_from_the_backups_lines(with_sessions, tmp_path):
    """`cavra ops verify` hashes each session line as its entries hash the row (what decisions
    move left out) and matches its newest entry; a session only decisions made (s-dec) may
    have none. A session handed to another caller in the backup is named before any restore."""
    from test_restore_chain import backup, lines, reseal
    db, _, _ = with_sessions
    bk = tmp_path / "bk"
    backup(db, bk)
    code, out, err = cavra("ops", "verify", str(bk), "--json")
    chain = json.loads(out)["audit_chain"]
    assert code == 0 and chain["breaks"] == 0 and chain["unchained"] == 0, out + err
    sessions = lines(bk, "activity_sessions")
    s = next(x for x in sessions if x["session_id"] == "s-rec")
    s["payload"]["recorded_by"] = owner("sc-agent-b")
    d = next(x for x in sessions if x["session_id"] == "s-dec")
    d["decision_count"] += 5  # counters are the decisions' to prove, not the entry's
    # s-ev's entry hashes its description as NULL: its decisions gave it, and are compared
    next(x for x in sessions if x["session_id"] == "s-ev")["repository"] = "acme/other"
    reseal(bk, "activity_sessions", sessions)
    code, out, err = cavra("ops", "verify", str(bk))
    assert code == 1 and "3 problems\n" in out, out + err
    assert "(session s-rec): the line differs from the record's newest entry: edited" in out, out
    assert "session s-dec: counters " in out and "differ from its decision lines'" in out, out
    assert ("session s-ev: its repository 'acme/other' is none of its decision lines'" in out
            ), out


@pytest.mark.parametrize("flag,why", [
    ("sessions_pending", "the sessions' adoption"),
    ("records_pending", "the adoption of the registry"),
    ("evidence_pending", "the evidence's adoption"),
    ("adopt_pending", "the head asks for adoption"),
])
def test_ops_verify_names_a_heads_adoption_flag_set_in_the_backup(with_sessions, tmp_path,
                                                                   flag, why):
    """A head line whose flag asks for an adoption beside entries it would not make (set in an
    unsigned backup, checksums recomputed) would have a restore chain records without an entry
    as if written before their migration: here s-dec's agent, changed so that no decision of
    its names it, whose check the flag would also turn off. `cavra ops verify` names the flag
    from the backup's lines, as `cavra audit verify` does in the restored database."""
    from test_restore_chain import backup, lines, reseal
    db, _, _ = with_sessions
    bk = tmp_path / "bk"
    backup(db, bk)
    head = lines(bk, "audit_chain_head")
    assert head[0][flag] == 0, head
    head[0][flag] = 1
    reseal(bk, "audit_chain_head", head)
    sessions = lines(bk, "activity_sessions")
    next(x for x in sessions if x["session_id"] == "s-dec")["agent_id"] = "agent-z"
    reseal(bk, "activity_sessions", sessions)
    code, out, err = cavra("ops", "verify", str(bk), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["audit_chain"]["breaks"] == 1, out + err
    found = [p for p in doc["problems"] if p["kind"] == "chain"]
    assert [p["path"] for p in found] == ["audit_chain_head.jsonl"], out
    assert found[0]["message"].startswith(f"its {flag} is 1: ") and why in found[0]["message"]
    code, out, err = cavra("ops", "restore", str(bk), "--target-dir", str(tmp_path / "r"), db=db)
    assert code == 1 and why in out + err, out + err
