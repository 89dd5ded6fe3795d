"""Sealed chain entries (docs/audit.md, "Sealed entries"; migration 024), on both backends:
with audit_seal_key_file set, every entry a command appends carries an HMAC under a key the
database never holds; `cavra audit verify --seal-key-file` names an entry appended by hand
(unsealed), a record edited with its chain rebuilt (forged), a copy of an earlier entry
(replayed), and an entry deleted or moved among one writer's (deleted, reordered: each
connection numbers the entries it commits), none of which the links alone can tell from cavra's
own writes."""
import hashlib
import json
import re

import pytest

from conftest import backend_of, cavra, one_line, serve, sql
from test_audit import append_entry, breaks, forge_decision, post_many, verify
from test_group_commit import check_stored, post_many_behind_lock
from test_ops import _reseal
from test_restore_chain import canonical

SEALED = r"[0-9a-f]{32}\.[0-9a-f]{16}\.[0-9a-f]{64}"


def keyfile(tmp_path, name="seal.key", lines=None):
    p = tmp_path / name
    p.write_text("\n".join(lines or [hashlib.sha256(name.encode()).hexdigest()]) + "\n")
    return str(p)


def env_of(key):
    return {"CAVRA_AUDIT_SEAL_KEY_FILE": key}


def seals(db):
    return [tuple(r) for r in sql(db, "SELECT seq, kind, record_id, seal FROM audit_chain "
                                      "ORDER BY seq")]


def post(srv, path, body, code=(200, 201)):
    r = srv.post(path, body)
    assert r.status_code in code, r.text
    return r.json()


@pytest.fixture
def sealed(db, tmp_path):
    """Decisions from four writers at once, a session described twice, an approval approved,
    evidence and an API token created by the CLI, all with the seal key; returns (db, key)."""
    key = keyfile(tmp_path)
    assert cavra("migrate", "up", db=db, env=env_of(key))[0] == 0
    code, _, err = cavra("tokens", "create", "--name", "seal-ci", "--role", "agent",
                         "--expires-in", "1d", db=db, env=env_of(key))
    assert code == 0, err
    with serve(db, tmp=tmp_path, env=env_of(key)) as srv:
        post_many(srv, 12, workers=4)
        post(srv, "/sessions", {"session_id": "s-desc", "repository": "acme/api"})
        post(srv, "/sessions", {"session_id": "s-desc", "repository": "acme/web"})
        d = post(srv, "/decisions", {"session_id": "apr", "agent_id": "a",
                                     "action_type": "execute_command", "command": "make it"})
        a = post(srv, "/approvals", {"decision": d})
        post(srv, f"/approvals/{a['approval_id']}/approve", {"actor": "sam", "reason": "ok"})
        post(srv, "/evidence", {"session_id": "s-ev", "signer": "harness"})
    return db, key


def test_every_entry_is_sealed_and_verifies(sealed, tmp_path):
    db, key = sealed
    rows = seals(db)
    kinds = {k for _, k, _, _ in rows}
    assert {"decision", "session", "approval", "evidence", "token"} <= kinds, kinds
    assert all(s and re.fullmatch(SEALED, s) for _, _, _, s in rows), rows
    assert len({s for _, _, _, s in rows}) == len(rows)  # a writer's number of its own each
    # each writer (a connection) numbers its entries 1, 2, 3 ... in seq order
    by_writer = {}
    for seq, _, _, s in rows:
        by_writer.setdefault(s[:32], []).append(int(s[33:49], 16))
    assert all(n == list(range(1, len(n) + 1)) for n in by_writer.values()), by_writer
    code, out, err = verify(db, "--seal-key-file", key)
    assert code == 0, out + err
    assert out.strip().endswith(f"0 breaks, {len(rows)} seals checked"), out
    # the links alone say the same; another key finds every entry forged
    assert verify(db)[0] == 0
    code, out, err = verify(db, "--seal-key-file", keyfile(tmp_path, "other.key"))
    assert code == 1, out + err
    assert [l.split(" ")[0] for l in breaks(out)] == ["forged"] * len(rows), out


def relink_from(db, seq):
    """Recomputes every link from seq on and moves the head, as anyone who read docs/audit.md's
    link can after changing an entry's record hash."""
    rows = sql(db, f"SELECT seq, kind, record_id, record_sha256 FROM audit_chain WHERE seq >= "
                   f"{seq} ORDER BY seq")
    prev = sql(db, f"SELECT hash FROM audit_chain WHERE seq = {int(seq) - 1}")[0][0] \
        if int(seq) > 1 else "0" * 64
    for s, kind, rid, rsha in rows:
        link = f"cavra.audit.chain.v1\n{s}\n{kind}\n{len(rid.encode())}:{rid}\n{rsha}\n{prev}\n"
        h = hashlib.sha256(link.encode()).hexdigest()
        sql(db, f"UPDATE audit_chain SET prev_hash = '{prev}', hash = '{h}' WHERE seq = {s}")
        prev = h
    sql(db, f"UPDATE audit_chain_head SET hash = '{prev}'")


def only_the_seals_tell(db, key):
    """The links alone verify (exit 0); with the seal key verify fails: its break lines."""
    code, out, err = verify(db)
    assert code == 0, out + err
    code, out, err = verify(db, "--seal-key-file", key)
    assert code == 1, out + err
    return breaks(out)


def test_a_record_edited_with_its_chain_rebuilt_is_forged(sealed, tmp_path):
    """An outcome changed, its record hash recomputed from the backup's canonical line and the
    chain rebuilt after it: every link holds, so only the seal tells."""
    db, key = sealed
    bk = tmp_path / "bk"
    assert cavra("ops", "backup", "--output", str(bk), "--compression", "none", db=db)[0] == 0
    lines = [json.loads(l) for l in (bk / "activity_decisions.jsonl").read_text().splitlines()]
    d = next(l for l in lines if l["decision"] in ("allow", "warn"))
    seq, rsha = sql(db, "SELECT seq, record_sha256 FROM audit_chain WHERE record_id = "
                        f"'{d['decision_id']}'")[0]
    assert hashlib.sha256(canonical(d)).hexdigest() == rsha  # the record hash, as documented
    d["decision"] = "block"
    sql(db, f"UPDATE activity_decisions SET decision = 'block' WHERE decision_id = "
            f"'{d['decision_id']}'")
    sql(db, f"UPDATE audit_chain SET record_sha256 = "
            f"'{hashlib.sha256(canonical(d)).hexdigest()}' WHERE seq = {seq}")
    sql(db, "UPDATE activity_sessions SET blocked_count = blocked_count + 1 WHERE session_id "
            f"= '{d['session_id']}'")
    relink_from(db, seq)
    lines = only_the_seals_tell(db, key)
    assert len(lines) == 1 and lines[0].startswith(f"forged seq={seq} id={d['decision_id']} "), \
        lines


def test_an_entry_appended_by_hand_is_unsealed(sealed):
    db, key = sealed
    did = sql(db, "SELECT record_id FROM audit_chain WHERE kind = 'decision' LIMIT 1")[0][0]
    forge_decision(db, did)
    sha = sql(db, f"SELECT record_sha256 FROM audit_chain WHERE record_id = '{did}'")[0][0]
    seq = append_entry(db, "decision", "dec_forged", sha)
    code, out, err = verify(db, "--seal-key-file", key)
    assert code == 1, out + err
    assert any(l.startswith(f"unsealed seq={seq} id=dec_forged ") for l in breaks(out)), out
    # and a seal copied from another entry is not the forged one's
    other = sql(db, "SELECT seal FROM audit_chain WHERE seq = 1")[0][0]
    sql(db, f"UPDATE audit_chain SET seal = '{other}' WHERE seq = {seq}")
    code, out, err = verify(db, "--seal-key-file", key)
    assert any(l.startswith(f"forged seq={seq} id=dec_forged ") for l in breaks(out)), out


def test_a_copy_of_an_earlier_entry_is_replayed(sealed):
    """A session put back to its first description with a copy of that write's entry appended:
    the row matches its last entry and the links hold; the copy's seal is the first entry's."""
    db, key = sealed
    first = sql(db, "SELECT min(seq) FROM audit_chain WHERE record_id = 's-desc'")[0][0]
    rsha, seal = sql(db, f"SELECT record_sha256, seal FROM audit_chain WHERE seq = {first}")[0]
    sql(db, "UPDATE activity_sessions SET repository = 'acme/api' WHERE session_id = 's-desc'")
    seq = append_entry(db, "session", "s-desc", rsha)
    sql(db, f"UPDATE audit_chain SET seal = '{seal}' WHERE seq = {seq}")
    lines = only_the_seals_tell(db, key)
    assert len(lines) == 1 and lines[0].startswith(f"replayed seq={seq} id=s-desc "), lines
    assert "a copy of an earlier entry" in lines[0], lines


def writers(db):
    """{writer: [(number, seq, kind, record_id)] in number order}."""
    out = {}
    for seq, kind, rid, s in seals(db):
        out.setdefault(s[:32], []).append((int(s[33:49], 16), int(seq), kind, rid))
    return {w: sorted(v) for w, v in out.items()}


def a_writers_pair(db, first=1):
    """Two decision entries numbered n >= first and n + 1 by one writer: (seq of n, of n + 1)."""
    for v in writers(db).values():
        for (n, s1, k1, _), (m, s2, k2, _) in zip(v, v[1:]):
            if n >= first and m == n + 1 and k1 == k2 == "decision":
                return s1, s2
    raise AssertionError(f"no writer wrote two decisions: {writers(db)}")


def move_seq(db, frm, to):
    sql(db, f"UPDATE audit_chain SET seq = {to} WHERE seq = {frm}")


def test_an_entry_deleted_among_a_writers_leaves_a_gap(sealed):
    """A decision deleted with its entry, the later entries moved up one and the links, head
    and session counters rebuilt: only its writer's numbers show the gap."""
    db, key = sealed
    gone, _ = a_writers_pair(db, first=2)  # a writer's entries before and after it
    did = sql(db, f"SELECT record_id FROM audit_chain WHERE seq = {gone}")[0][0]
    sid, outcome = sql(db, "SELECT session_id, decision FROM activity_decisions WHERE "
                           f"decision_id = '{did}'")[0]
    extra = {"block": ", blocked_count = blocked_count - 1",
             "require_approval": ", approval_required_count = approval_required_count - 1"}
    sql(db, f"UPDATE activity_sessions SET decision_count = decision_count - 1"
            f"{extra.get(outcome, '')} WHERE session_id = '{sid}'")
    sql(db, f"DELETE FROM activity_decisions WHERE decision_id = '{did}'")
    sql(db, f"DELETE FROM audit_chain WHERE seq = {gone}")
    head = int(sql(db, "SELECT seq FROM audit_chain_head")[0][0])
    for s in range(gone + 1, head + 1):
        move_seq(db, s, s - 1)
    sql(db, f"UPDATE audit_chain_head SET seq = {head - 1}")
    relink_from(db, gone)
    lines = only_the_seals_tell(db, key)
    assert len(lines) == 1 and lines[0].startswith("deleted after="), lines
    assert "of one writer, between seq=" in lines[0], lines


def test_two_entries_of_a_writer_swapped_are_reordered(sealed):
    db, key = sealed
    a, b = a_writers_pair(db)
    moved = sql(db, f"SELECT record_id FROM audit_chain WHERE seq = {a}")[0][0]
    move_seq(db, a, 1000000)
    move_seq(db, b, a)
    move_seq(db, 1000000, b)
    relink_from(db, a)
    lines = only_the_seals_tell(db, key)
    # in seq order the writer's number n + 1 comes first, then n, which was moved
    assert len(lines) == 1 and lines[0].startswith(f"reordered seq={b} id={moved} "), lines


def test_entries_from_before_the_key_and_a_rotation(db, tmp_path):
    """Entries written without the key are unsealed, and --sealed-from skips them; a key rotated
    out, on the file's second line, still verifies what it sealed."""
    assert cavra("migrate", "up", db=db)[0] == 0
    old, new = (hashlib.sha256(n).hexdigest() for n in (b"old", b"new"))
    with serve(db, tmp=tmp_path) as srv:
        post_many(srv, 3)
    with serve(db, tmp=tmp_path, env=env_of(keyfile(tmp_path, "k1", [old]))) as srv:
        post_many(srv, 2)
    with serve(db, tmp=tmp_path, env=env_of(keyfile(tmp_path, "k2", [new, old]))) as srv:
        post_many(srv, 2)
    both = keyfile(tmp_path, "k3", [new, old])
    code, out, err = verify(db, "--seal-key-file", both)
    assert code == 1, out + err
    assert [l.split(" id=")[0] for l in breaks(out)] == \
        ["unsealed seq=1", "unsealed seq=2", "unsealed seq=3"], out
    code, out, err = verify(db, "--seal-key-file", both, "--sealed-from", "4")
    assert code == 0 and out.strip().endswith("0 breaks, 4 seals checked"), out + err
    code, out, err = verify(db, "--seal-key-file", keyfile(tmp_path, "k4", [new]),
                            "--sealed-from", "4")
    assert code == 1 and len(breaks(out)) == 2, out + err  # seq 4 and 5: the old key's


def test_a_restore_carries_the_seals(sealed, tmp_path):
    db, key = sealed
    bk = tmp_path / "bk"
    assert cavra("ops", "backup", "--output", str(bk), db=db)[0] == 0
    code, out, err = cavra("ops", "restore", str(bk), "--target-dir", str(tmp_path / "restored"))
    assert code == 0, out + err
    target = f"sqlite:{tmp_path}/restored/cavra.db"
    assert seals(target) == seals(db)
    code, out, err = verify(target, "--seal-key-file", key)
    assert code == 0, out + err
    # with the key set, the restore checks the seals itself
    code, out, err = cavra("ops", "restore", str(bk), "--target-dir", str(tmp_path / "r2"),
                           env=env_of(key))
    assert code == 0, out + err
    assert f", {len(seals(db))} seals checked" in err, err


def test_a_restore_with_the_key_refuses_a_forged_seal(sealed, tmp_path):
    """A backup whose chain file had one entry's seal replaced by another's (its checksums
    recomputed, unsigned): the links still prove the chain, the seal does not."""
    db, key = sealed
    bk = tmp_path / "bk"
    assert cavra("ops", "backup", "--output", str(bk), "--compression", "none", db=db)[0] == 0
    lines = (bk / "audit_chain.jsonl").read_text().splitlines()
    rows = [json.loads(l) for l in lines]
    rows[2]["seal"] = rows[1]["seal"]
    _reseal(bk, "audit_chain", "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False)
                                       + "\n" for r in rows).encode())
    code, out, err = cavra("ops", "restore", str(bk), "--target-dir", str(tmp_path / "r1"))
    assert code == 0, out + err  # without the key nothing tells
    code, out, err = cavra("ops", "restore", str(bk), "--target-dir", str(tmp_path / "r2"),
                           env=env_of(key))
    assert code == 1, out + err
    assert f"forged seq={rows[2]['seq']} " in err, err
    # and the number the entry's own seal carried is missing from its writer's, when that
    # writer wrote again after it
    gap = "deleted after=- before=" in err
    assert f"the restored chain does not verify: the restored chain has {1 + gap} breaks" \
        in err, err


def test_a_restore_test_checks_the_seals(sealed, tmp_path):
    """restore-test with the key set checks the scratch database's seals as a restore does."""
    db, key = sealed
    bk = tmp_path / "bk"
    assert cavra("ops", "backup", "--output", str(bk), "--compression", "none", db=db)[0] == 0

    def chain_check(expect):
        code, out, err = cavra("ops", "restore-test", str(bk), "--scratch-dir", str(tmp_path),
                               db=db, env=env_of(key))
        assert code == expect, out + err
        return next(c for c in json.loads(out)["checks"] if c["name"] == "audit_chain"), err

    c, _ = chain_check(0)
    assert c["ok"] and c["detail"].endswith(f", {len(seals(db))} seals checked"), c
    rows = [json.loads(l) for l in (bk / "audit_chain.jsonl").read_text().splitlines()]
    rows[2]["seal"] = rows[1]["seal"]
    _reseal(bk, "audit_chain", "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False)
                                       + "\n" for r in rows).encode())
    c, err = chain_check(1)
    assert not c["ok"] and "the restored chain has" in c["detail"], c
    assert f"forged seq={rows[2]['seq']} " in err, err


def test_a_restore_with_the_key_warns_when_no_entry_is_sealed(sealed, tmp_path):
    """Every seal removed from an unsigned backup's chain (checksums recomputed): the links
    hold and nothing is sealed, which a backup from before the key also shows; the restore says
    so on stderr, and the checks that follow the first sealed entry have none to start from."""
    db, key = sealed
    bk = tmp_path / "bk"
    assert cavra("ops", "backup", "--output", str(bk), "--compression", "none", db=db)[0] == 0
    rows = [json.loads(l) for l in (bk / "audit_chain.jsonl").read_text().splitlines()]
    for r in rows:
        r["seal"] = None
    _reseal(bk, "audit_chain", "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False)
                                       + "\n" for r in rows).encode())
    code, out, err = cavra("ops", "restore", str(bk), "--target-dir", str(tmp_path / "r"),
                           env=env_of(key))
    assert code == 0 and ", 0 seals checked" in err, out + err
    assert "warning: audit_seal_key_file is set but no restored chain entry is sealed" in err, err
    code, out, err = cavra("ops", "restore", str(bk), "--target-dir", str(tmp_path / "r2"))
    assert code == 0 and "no restored chain entry is sealed" not in err, err


def test_a_restore_with_the_key_skips_entries_from_before_it(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        post_many(srv, 3)
    key = keyfile(tmp_path)
    with serve(db, tmp=tmp_path, env=env_of(key)) as srv:
        post_many(srv, 2)
    bk = tmp_path / "bk"
    assert cavra("ops", "backup", "--output", str(bk), db=db)[0] == 0
    code, out, err = cavra("ops", "restore", str(bk), "--target-dir", str(tmp_path / "r"),
                           env=env_of(key))
    assert code == 0 and ", 2 seals checked" in err, out + err


@pytest.mark.parametrize("args,why", [
    (["--sealed-from", "3"], "--sealed-from goes with --seal-key-file"),
    (["--seal-key-file", "KEY", "--sealed-from", "x"], "--sealed-from takes a seq"),
    (["--seal-key-file", "KEY", "--sealed-from", "0"], "--sealed-from takes a seq"),
    (["--seal-key-file", "/nonexistent/key"], "--seal-key-file '/nonexistent/key'"),
    (["--seal-key-file", "SHORT"], "a key needs at least 32"),
])
def test_verify_refuses_bad_seal_options(db, tmp_path, args, why):
    assert cavra("migrate", "up", db=db)[0] == 0
    short = tmp_path / "short"
    short.write_text("abc\n")
    args = [a.replace("KEY", keyfile(tmp_path)).replace("SHORT", str(short)) for a in args]
    code, out, err = verify(db, *args)
    assert code == 2 and why in one_line(err), err
    assert out == ""


def test_a_schema_before_seals_cannot_be_checked_for_them(db, tmp_path):
    assert cavra("migrate", "up", "--to", "23", db=db)[0] == 0
    code, out, err = verify(db, "--seal-key-file", keyfile(tmp_path))
    assert code == 1 and "before migration 024" in one_line(err), out + err
    assert verify(db)[0] == 0  # the links alone are checked as before


def test_a_bad_seal_key_file_stops_every_command(db, tmp_path):
    short = tmp_path / "short"
    short.write_text("abc\n")
    for args in (["migrate", "up"], ["audit", "verify"]):
        code, out, err = cavra(*args, db=db, env=env_of(str(short)))
        assert code == 2 and "audit_seal_key_file" in one_line(err), err
        assert "abc" not in err and out == "", out + err


def add_late_poison(db):
    """A batch holding a decision of session 'poison' fails when it moves the chain's head,
    after its entries were numbered and sealed: the batch rolls back, each row is tried alone."""
    if backend_of(db) == "postgres":
        sql(db, "CREATE FUNCTION late_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF EXISTS (SELECT 1 FROM activity_decisions WHERE session_id = 'poison') THEN "
                "RAISE EXCEPTION 'poisoned batch'; END IF; RETURN NEW; END $$; "
                "CREATE TRIGGER late_poison BEFORE UPDATE ON audit_chain_head FOR EACH ROW "
                "EXECUTE FUNCTION late_poison()")
    else:
        sql(db, "CREATE TRIGGER late_poison BEFORE UPDATE ON audit_chain_head WHEN EXISTS "
                "(SELECT 1 FROM activity_decisions WHERE session_id = 'poison') BEGIN "
                "SELECT RAISE(ABORT, 'poisoned batch'); END")


def test_a_batch_rolled_back_after_sealing_gives_its_numbers_back(db, tmp_path):
    """Entries numbered in a transaction that then rolls back are numbered again by the
    writer's next one: no gap, so no false 'deleted'."""
    key = keyfile(tmp_path)
    assert cavra("migrate", "up", db=db, env=env_of(key))[0] == 0
    add_late_poison(db)
    with serve(db, "--db-lock-timeout-ms", "10000", "--db-statement-timeout-ms", "20000",
               "--request-timeout-ms", "30000", tmp=tmp_path, env=env_of(key)) as srv:
        results = post_many_behind_lock(srv, db, 60, poison=17)
        codes = [code for _, code, _ in results]
        assert codes[:17] + codes[18:] == [201] * 59 and codes[17] >= 400, codes
        check_stored(db, results)
        post_many(srv, 8, workers=4)  # the writers go on numbering
    code, out, err = verify(db, "--seal-key-file", key)
    assert code == 0, out + err
    assert out.strip().endswith("0 breaks, 67 seals checked"), out


def test_ops_verify_checks_the_seals_from_the_backups_lines(sealed, tmp_path):
    """`cavra ops verify --seal-key-file` (or audit_seal_key_file) checks each entry's seal from
    the chain's lines: a decision edited with its chain rebuilt, links, audit_head and checksums
    included, keeps seals that no longer fit (forged); seals removed after a sealed entry are
    unsealed. Without the key, only a checkpoint could tell."""
    from test_restore_chain import backup, lines, rebuild
    db, key = sealed
    bk = tmp_path / "bk"
    backup(db, bk)
    n = len(seals(db))
    code, out, err = cavra("ops", "verify", str(bk), "--seal-key-file", key)
    assert code == 0 and f", {n} seals checked" in out, out + err
    code, out, err = cavra("ops", "verify", str(bk), "--json", env=env_of(key))
    assert code == 0 and json.loads(out)["audit_chain"]["sealed"] == n, out + err
    code, out, err = cavra("ops", "verify", str(bk), "--seal-key-file",
                           keyfile(tmp_path, "other.key"))
    assert code == 1 and "forged" in out, out + err
    chain = sorted(lines(bk, "audit_chain"), key=lambda r: int(r["seq"]))
    victim = next(e for e in chain if e["kind"] == "decision")
    rebuild(bk, victim["record_id"], repository="edited/by-hand")
    assert cavra("ops", "verify", str(bk))[0] == 0  # the links and checksums all agree
    code, out, err = cavra("ops", "verify", str(bk), "--seal-key-file", key)
    assert code == 1 and f"seq {victim['seq']} (decision {victim['record_id']}): its seal is " \
        "not one of the keys': forged" in out, out + err


def test_ops_verify_names_seals_removed_after_a_sealed_entry(sealed, tmp_path):
    from test_restore_chain import backup, lines, reseal
    db, key = sealed
    bk = tmp_path / "bk"
    backup(db, bk)
    chain = sorted(lines(bk, "audit_chain"), key=lambda r: int(r["seq"]))
    chain[-1]["seal"] = None
    reseal(bk, "audit_chain", chain)
    code, out, err = cavra("ops", "verify", str(bk), "--seal-key-file", key)
    assert code == 1 and f"seq {chain[-1]['seq']} ({chain[-1]['kind']} " in out and \
        "unsealed after a sealed entry" in out, out + err
    # every seal removed: nothing to tell from a chain written before the key; said, not failed
    for e in chain:
        e["seal"] = None
    reseal(bk, "audit_chain", chain)
    code, out, err = cavra("ops", "verify", str(bk), "--seal-key-file", key)
    assert code == 0 and "no entry is sealed though a seal key is set" in out, out + err
    code, out, err = cavra("ops", "verify", str(bk), "--seal-key-file", str(tmp_path / "nope"))
    assert code == 2 and "--seal-key-file" in err, out + err
