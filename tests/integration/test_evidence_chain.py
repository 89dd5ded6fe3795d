"""Evidence metadata in the audit chain (docs/audit.md, migration 021), on both backends: every
write that changes a session's evidence is chained, a change made in the database is named by
`cavra audit verify`, and evidence written before 021 (by an older binary, in an older backup)
is chained once by the adoption."""
import concurrent.futures
import json
import time
import urllib.parse

import pytest

from conftest import backend_of, cavra, serve, sql
from test_audit import breaks, flag_refused, verify, withheld_when_read
from test_tokens import bearer, make_token

T0 = "2026-01-01T00:00:00.000000Z"


def evidence_entries(db):
    return [r[0] for r in sql(db, "SELECT record_id FROM audit_chain WHERE kind = 'evidence' "
                                  "ORDER BY seq")]


def last_seq(db, sid):
    return sql(db, "SELECT max(seq) FROM audit_chain WHERE kind = 'evidence' AND "
                   f"record_id = '{sid}'")[0][0]


def insert_evidence(db, sid, signer="ci"):
    """An evidence row written behind cavra's back (or by a binary before 021)."""
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    payload = json.dumps({"schema_version": "cavra.evidence.metadata.v1", "session_id": sid,
                          "signer": signer})
    sql(db, "INSERT INTO evidence_metadata (session_id, signer, decision_count, blocked_count, "
            f"approval_count, created_at, updated_at, payload) VALUES ('{sid}', '{signer}', 0, "
            f"0, 0, '{T0}', '{T0}', '{payload}'{obj})")


@pytest.fixture
def with_evidence(db, tmp_path):
    """Evidence of three sessions written through the API, one of them replaced twice and
    one written again unchanged, beside decisions; returns db."""
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        r = srv.post("/decisions", {"session_id": "ev-a", "agent_id": "a",
                                    "action_type": "read_file", "path": "README.md"})
        assert r.status_code == 201, r.text
        for sid, signer, n in (("ev-a", "ci", 1), ("ev-b", "ci", 0), ("ev-a", "ci-2", 1),
                               ("ev-c", "ci", 0), ("ev-a", "ci-3", 1), ("ev-c", "ci", 0)):
            r = srv.post("/evidence", {"session_id": sid, "signer": signer,
                                       "decision_count": n})
            assert r.status_code in (200, 201), r.text
    return db


def test_every_evidence_write_that_changes_it_is_chained(with_evidence):
    db = with_evidence
    # ev-a created then replaced twice; ev-c written twice with the same content: one entry
    assert evidence_entries(db) == ["ev-a", "ev-b", "ev-a", "ev-c", "ev-a"]
    code, out, err = verify(db)
    assert code == 0, out + err
    assert breaks(out) == [] and "6 entries" in out, out


def test_evidence_and_decisions_written_at_once_give_one_chain(db, tmp_path):
    """Eight writers at once, each replacing its sessions' evidence and deciding in them: every
    write that changed a record has its entry, in one chain that verifies."""
    assert cavra("migrate", "up", db=db)[0] == 0

    def writer(w):
        for i in range(12):
            sid = f"race-{w}-{i % 3}"
            r = srv.post("/evidence", {"session_id": sid, "signer": f"s{i}",
                                       "decision_count": i})
            assert r.status_code in (200, 201), r.text
            r = srv.post("/decisions", {"session_id": sid, "agent_id": "a",
                                        "action_type": "read_file", "path": f"f{i}"})
            assert r.status_code == 201, r.text
    with serve(db, tmp=tmp_path) as srv:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(writer, range(8)))
    kinds = sql(db, "SELECT kind, count(*) FROM audit_chain GROUP BY kind ORDER BY kind")
    assert kinds == [["decision", "96"], ["evidence", "96"]], kinds
    code, out, err = verify(db)
    assert code == 0 and breaks(out) == [] and "192 entries" in out, out + err


@pytest.mark.parametrize("case", ["edit_signer", "edit_payload", "edit_counts", "delete",
                                  "insert"])
def test_evidence_tampering_is_detected_and_named(with_evidence, case, tmp_path):
    db = with_evidence
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    stmts, want = {
        # a projection column alone, the payload as it was
        "edit_signer": (["UPDATE evidence_metadata SET signer = 'someone' WHERE session_id = "
                         "'ev-a'"], ("edited", "ev-a")),
        "edit_payload": ([f"UPDATE evidence_metadata SET payload = '{{\"signer\":\"ci\"}}'{obj} "
                          "WHERE session_id = 'ev-b'"], ("edited", "ev-b")),
        "edit_counts": (["UPDATE evidence_metadata SET blocked_count = 0, decision_count = 0 "
                         "WHERE session_id = 'ev-a'"], ("edited", "ev-a")),
        "delete": (["DELETE FROM evidence_metadata WHERE session_id = 'ev-c'"],
                   ("deleted", "ev-c")),
        "insert": ([], ("inserted", "ev-forged")),
    }[case]
    for s in stmts:
        sql(db, s)
    if case == "insert":
        insert_evidence(db, "ev-forged")
    code, out, err = verify(db)
    assert code == 1, out + err
    lines = breaks(out)
    what, sid = want
    assert len(lines) == 1, lines
    assert lines[0].startswith(what + " ") and f"id={sid} " in lines[0], lines
    if what != "inserted":
        assert f"seq={last_seq(db, sid)} " in lines[0], lines
    if what != "deleted":
        withheld_when_read(db, tmp_path, "/evidence", sid)


def test_evidence_before_021_is_adopted_once_by_migrate_up(db):
    """A database whose chain already holds decisions gets its evidence chained after them,
    oldest first, by the `migrate up` that applies 021; evidence inserted later is not."""
    assert cavra("migrate", "up", "--to", "14", db=db)[0] == 0
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    sql(db, "INSERT INTO activity_decisions (decision_id, session_id, action_type, policy_pack, "
            f"decision, decided_at, created_at, updated_at, payload) VALUES ('d-1', 's', "
            f"'read_file', 'p', 'allow', '{T0}', '{T0}', '{T0}', "
            f"'{{\"decision_id\":\"d-1\"}}'{obj})")
    sql(db, "INSERT INTO activity_sessions (session_id, state, started_at, updated_at, "
            f"created_at, decision_count, payload) VALUES ('s', 'active', '{T0}', '{T0}', "
            f"'{T0}', 1, '{{}}'{obj})")
    insert_evidence(db, "old-1")
    code, out, err = cavra("migrate", "up", "--to", "20", db=db)
    assert code == 0, err
    assert sql(db, "SELECT kind, record_id FROM audit_chain") == [["decision", "d-1"]]
    insert_evidence(db, "old-2")
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0, err
    # the evidence by 021, then (023) the session
    assert "chained 3 records" in out + err, out + err
    assert sql(db, "SELECT kind, record_id FROM audit_chain ORDER BY seq") == \
        [["decision", "d-1"], ["evidence", "old-1"], ["evidence", "old-2"], ["session", "s"]]
    assert sql(db, "SELECT adopt_pending, evidence_pending FROM audit_chain_head") == \
        [["0", "0"]]
    assert verify(db)[0] == 0
    insert_evidence(db, "late")
    code, out, _ = cavra("audit", "adopt", db=db)
    assert code == 0 and "chained 0 records" in out, out
    code, out, _ = verify(db)
    assert code == 1 and [l.split(" after=")[0] for l in breaks(out)] == ["inserted id=late"], out


def test_verify_waits_for_the_evidence_adoption(db):
    assert cavra("migrate", "up", "--to", "20", db=db)[0] == 0
    insert_evidence(db, "old-1")
    assert cavra("migrate", "up", db=db)[0] == 0
    # as 021 leaves it before the adoption that `migrate up` runs next
    sql(db, "DELETE FROM audit_chain WHERE kind = 'evidence'")
    sql(db, "UPDATE audit_chain_head SET evidence_pending = 1, seq = 0, hash = '" + "0" * 64
            + "'")
    code, out, err = verify(db)
    assert code == 1 and "run 'cavra audit adopt' first" in err, out + err
    code, out, err = cavra("audit", "adopt", db=db)
    assert code == 0 and "chained 1 records" in out, out + err
    assert verify(db)[0] == 0


def test_evidence_pending_set_by_hand_adopts_nothing(with_evidence, tmp_path):
    """evidence_pending on a chain that holds evidence entries would have the next start chain
    evidence inserted behind cavra's back: refused, logged, and reported by verify."""
    db = with_evidence
    insert_evidence(db, "ev-forged")
    flag_refused(db, tmp_path, "evidence_pending", 6, "evidence's adoption", "ev-forged")


def restore_carries(db, tmp_path, entries):
    """A backup of db restored into a new directory: the same entries (entries(db)), which
    verify; the restore's stderr."""
    bk, target = str(tmp_path / "bk"), str(tmp_path / "restored")
    assert cavra("ops", "backup", "--output", bk, db=db)[0] == 0
    code, _, restored_err = cavra("ops", "restore", bk, "--target-dir", target)
    assert code == 0, restored_err
    restored = target + "/cavra.db"
    assert entries(restored) == entries(db)
    code, out, err = verify(restored)
    assert code == 0, out + err
    return restored_err


def restore_over_newer(db, tmp_path, flag):
    """A backup of db (at an older schema, holding one record of the kinds flag covers)
    restored with --overwrite over a database at the latest: the restore says so and sets
    flag, verify waits, and the adoption chains the record."""
    bk = str(tmp_path / "bk")
    code, _, err = cavra("ops", "backup", "--output", bk, db=db)
    assert code == 0, err
    target = str(tmp_path / "target.db")
    assert cavra("migrate", "up", db=target)[0] == 0
    code, _, err = cavra("ops", "restore", bk, "--target-url", target, "--overwrite")
    assert code == 0, err
    assert "predates the entries of some of its records" in err, err
    assert sql(target, f"SELECT {flag} FROM audit_chain_head") == [["1"]]
    code, out, err = verify(target)
    assert code == 1 and "run 'cavra audit adopt' first" in err, out + err
    code, out, err = cavra("audit", "adopt", db=target)
    assert code == 0 and "chained 1 records" in out, out + err
    code, out, err = verify(target)
    assert code == 0, out + err


def test_a_restored_backup_carries_the_evidence_entries(with_evidence, tmp_path):
    err = restore_carries(with_evidence, tmp_path, evidence_entries)
    assert "audit chain: carried: 6 entries" in err, err


def test_a_backup_from_before_021_restored_over_021_asks_for_adoption(db, tmp_path):
    """The backup's evidence has no entries: the restore over a database at 021 says so, and
    the next adoption chains it; the restored chain's decisions are carried as they were."""
    assert cavra("migrate", "up", "--to", "20", db=db)[0] == 0
    insert_evidence(db, "old-1")
    restore_over_newer(db, tmp_path, "evidence_pending")


def test_an_import_that_changes_evidence_chains_the_change(with_evidence, tmp_path):
    db = with_evidence
    path = tmp_path / "evidence.json"
    items = [{"schema_version": "cavra.evidence.metadata.v1", "session_id": sid,
              "created_at": T0, "signer": "imported"} for sid in ("ev-b", "ev-new")]
    path.write_text(json.dumps({"items": items}))
    code, out, err = cavra("ops", "import", "--json", str(path), "--store",
                           "evidence_metadata", db=db)
    assert code == 0, out + err
    # the change at once, as through the API; the new record before the import commits
    assert evidence_entries(db)[-2:] == ["ev-b", "ev-new"], evidence_entries(db)
    code, out, err = verify(db)
    assert code == 0, out + err


def test_sqlite_writers_of_one_process_queue_instead_of_polling(tmp_path):
    """SQLite lets a waiting writer only poll (its busy handler sleeps up to 100 ms between
    tries), so among eight writers one could lose every try until its lock timeout and get a
    503. The writers of one process pass a gate instead, each woken when the one before it
    ends: with a 300 ms lock timeout, eight threads writing evidence at once all succeed."""
    sqlite_db = f"sqlite:{tmp_path}/cavra.db"
    assert cavra("migrate", "up", db=sqlite_db)[0] == 0
    statuses = []

    def writer(w):
        for i in range(40):
            r = srv.post("/evidence", {"session_id": f"gate-{w}-{i % 4}", "signer": f"s{i}"})
            statuses.append(r.status_code)
    with serve(sqlite_db, "--db-lock-timeout-ms", "300", "--db-pool-size", "8",
               tmp=tmp_path) as srv:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(writer, range(8)))
    assert sorted(set(statuses)) in ([200, 201], [201]), \
        {s: statuses.count(s) for s in set(statuses)}
    assert verify(sqlite_db)[0] == 0


def test_sqlite_single_statement_writes_queue_at_the_gate_too(tmp_path):
    """A token's first use writes its last_used_at in one statement: on SQLite it queues at the
    writer gate like the transactions around it, instead of polling a lock the gated writers
    hand on to one another (it would lose every try until the lock timeout)."""
    db = f"sqlite:{tmp_path}/cavra.db"
    assert cavra("migrate", "up", db=db)[0] == 0
    writers = [make_token(db, f"writer-{i}", "agent") for i in range(8)]
    fresh = [make_token(db, f"fresh-{i}", "agent") for i in range(40)]
    done = []

    def writer(w):
        for i in range(150):
            r = srv.post("/evidence", {"session_id": f"tok-{w}-{i % 4}", "signer": f"s{i}"},
                         headers=bearer(writers[w]))
            assert r.status_code in (200, 201), r.text
        done.append(w)

    def first_uses():  # spread over the writers' load
        for t in fresh:
            time.sleep(0.04)
            assert srv.get("/auth/whoami", headers=bearer(t)).status_code == 200
    with serve(db, "--db-lock-timeout-ms", "300", "--db-pool-size", "8",
               "--auth-token-cache-seconds", "0", tmp=tmp_path) as srv:
        with concurrent.futures.ThreadPoolExecutor(9) as pool:
            futures = [pool.submit(writer, w) for w in range(8)] + [pool.submit(first_uses)]
            for f in futures:
                f.result()
        log = srv.stderr()
    assert "could not record a use" not in log, log[-2000:]
    used = sql(db.split(":", 1)[1], "SELECT count(*) FROM api_tokens WHERE name LIKE 'fresh-%' "
                                   "AND last_used_at IS NOT NULL")
    assert used == [["40"]], used
