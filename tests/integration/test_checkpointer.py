"""What `cavra serve` checks before it signs a periodic checkpoint (docs/audit.md, "Signed
checkpoints"), on both backends: the chain from the newest checkpoint its key signed to the
head, as links and, with audit_seal_key_file, as seals and writers' numbers. A chain changed
behind cavra's back since the last checkpoint is logged and left unsigned; an untouched one is
signed as before."""
import glob
import hashlib
import time

from conftest import cavra, serve, sql
from test_audit import add_session, append_entry, forge_decision, keys, post_many, verify  # noqa: F401
from test_chain_seals import a_writers_pair, env_of, keyfile, relink_from


def files(cpdir):
    """{seq: [file names]} of the checkpoints in cpdir."""
    out = {}
    for f in glob.glob(str(cpdir / "checkpoint-*.json")):
        out.setdefault(int(f.rsplit("/", 1)[1].split("-")[1]), []).append(f)
    return out


def head(db):
    return int(sql(db, "SELECT seq FROM audit_chain_head")[0][0])


def run(db, tmp_path, sk, cpdir, posts=0, env=None, until=None, metrics=None):
    """One serve with periodic checkpoints every second: posts decisions, then waits until
    its log holds until (or a checkpoint of the head); returns the log. The checkpoint metrics
    of GET /metrics go into the dict metrics."""
    with serve(db, "--audit-checkpoint-dir", str(cpdir), "--audit-signing-key-file", sk,
               "--audit-checkpoint-seconds", "1", tmp=tmp_path, env=env) as srv:
        if posts:
            post_many(srv, posts)
        deadline = time.time() + 60
        while time.time() < deadline:
            log = srv.stderr()
            if (until in log) if until else head(db) in files(cpdir):
                break
            time.sleep(0.2)
        time.sleep(1.5)  # one more tick after it
        if metrics is not None:
            for line in srv.get("/metrics").text.splitlines():
                if line.startswith("cavra_audit_checkpoint_"):
                    name, value = line.split(" ")
                    metrics[name] = int(value)
        return srv.stderr()


def refused(log):
    return "audit checkpoint: not written:" in log


def test_an_untouched_chain_is_signed_from_the_last_checkpoint_on(db, keys, tmp_path):
    sk, pk = keys
    cpdir = tmp_path / "cp"
    assert cavra("migrate", "up", db=db)[0] == 0
    metrics = {}
    log = run(db, tmp_path, sk, cpdir, posts=4, metrics=metrics)
    assert not refused(log) and 4 in files(cpdir), log
    assert metrics["cavra_audit_checkpoint_breaks"] == 0, metrics
    assert metrics["cavra_audit_checkpoint_signed_seq"] == 4, metrics
    assert abs(metrics["cavra_audit_checkpoint_last_clean_seconds"] - time.time()) < 60, metrics
    log = run(db, tmp_path, sk, cpdir, posts=3)
    assert "the chain is checked from seq 4" in log, log
    assert not refused(log) and 7 in files(cpdir), log
    code, out, err = verify(db, "--checkpoint", files(cpdir)[7][0], "--public-key", pk)
    assert code == 0, out + err


def test_a_cut_tail_is_not_signed(db, keys, tmp_path):
    """The newest decisions deleted with their entries and the head moved back to match: the
    chain alone is whole, but it ends before the checkpoint's entry."""
    sk, _ = keys
    cpdir = tmp_path / "cp"
    assert cavra("migrate", "up", db=db)[0] == 0
    run(db, tmp_path, sk, cpdir, posts=5)
    assert 5 in files(cpdir)
    for seq in (5, 4):
        rid = sql(db, f"SELECT record_id FROM audit_chain WHERE seq = {seq}")[0][0]
        sql(db, f"DELETE FROM activity_decisions WHERE decision_id = '{rid}'")
        sql(db, f"DELETE FROM audit_chain WHERE seq = {seq}")
    h = sql(db, "SELECT hash FROM audit_chain WHERE seq = 3")[0][0]
    sql(db, f"UPDATE audit_chain_head SET seq = 3, hash = '{h}'")
    metrics = {}
    log = run(db, tmp_path, sk, cpdir, until="not written", metrics=metrics)
    assert "truncated seq=5: the chain ends before the last checkpoint's entry" in log, log
    assert metrics == {"cavra_audit_checkpoint_breaks": 1,
                       "cavra_audit_checkpoint_signed_seq": -1,
                       "cavra_audit_checkpoint_last_clean_seconds": 0}, metrics
    assert refused(log) and sorted(files(cpdir)) == [0, 5], log


def test_a_chain_rebuilt_back_past_the_checkpoint_is_not_signed(db, keys, tmp_path):
    sk, _ = keys
    cpdir = tmp_path / "cp"
    assert cavra("migrate", "up", db=db)[0] == 0
    run(db, tmp_path, sk, cpdir, posts=4)
    sql(db, "UPDATE audit_chain SET record_sha256 = '" + "a" * 64 + "' WHERE seq = 2")
    relink_from(db, 2)
    log = run(db, tmp_path, sk, cpdir, posts=2, until="not written")
    assert "rewritten seq=4 " in log and "entry differs from the last checkpoint's" in log, log
    assert refused(log) and 6 not in files(cpdir), log


def test_an_entry_appended_without_the_seal_key_is_not_signed(db, keys, tmp_path):
    """With the seal key, an entry appended by hand after the last checkpoint links like
    cavra's own: its missing seal stops the next checkpoint, and every one after it."""
    sk, _ = keys
    cpdir, env = tmp_path / "cp", env_of(keyfile(tmp_path))
    assert cavra("migrate", "up", db=db, env=env)[0] == 0
    run(db, tmp_path, sk, cpdir, posts=3, env=env)
    assert 3 in files(cpdir)
    did = sql(db, "SELECT record_id FROM audit_chain WHERE seq = 1")[0][0]
    forge_decision(db, did)
    sha = sql(db, "SELECT record_sha256 FROM audit_chain WHERE seq = 1")[0][0]
    seq = append_entry(db, "decision", "dec_forged", sha)
    log = run(db, tmp_path, sk, cpdir, posts=2, env=env, until="not written")
    assert f"unsealed seq={seq} id=dec_forged: " in log, log
    assert refused(log) and max(files(cpdir)) == 3, log


def test_a_deleted_entry_of_a_writer_is_not_signed(db, keys, tmp_path):
    """With the seal key, a decision and its entry deleted after the checkpoint, the later
    entries moved up and the links rebuilt: its writer's numbers have a gap."""
    sk, _ = keys
    cpdir, env = tmp_path / "cp", env_of(keyfile(tmp_path))
    assert cavra("migrate", "up", db=db, env=env)[0] == 0
    with serve(db, "--audit-checkpoint-dir", str(cpdir), "--audit-signing-key-file", sk,
               "--audit-checkpoint-seconds", "3600", tmp=tmp_path, env=env) as srv:
        deadline = time.time() + 30
        while not files(cpdir) and time.time() < deadline:  # the one at start, of seq 0
            time.sleep(0.1)
        post_many(srv, 12, workers=4)
    gone, _ = a_writers_pair(db)  # its writer's next entry follows it
    rid = sql(db, f"SELECT record_id FROM audit_chain WHERE seq = {gone}")[0][0]
    number = int(sql(db, f"SELECT seal FROM audit_chain WHERE seq = {gone}")[0][0][33:49], 16)
    sql(db, f"DELETE FROM activity_decisions WHERE decision_id = '{rid}'")
    sql(db, f"DELETE FROM audit_chain WHERE seq = {gone}")
    last = head(db)
    for s in range(gone + 1, last + 1):
        sql(db, f"UPDATE audit_chain SET seq = {s - 1} WHERE seq = {s}")
    sql(db, f"UPDATE audit_chain_head SET seq = {last - 1}")
    relink_from(db, gone)
    log = run(db, tmp_path, sk, cpdir, env=env, until="not written")
    assert f"deleted: entries {number}..{number} of one writer" in log, log
    assert refused(log) and sorted(files(cpdir)) == [0], log


def test_entries_from_before_the_seal_key_and_a_foreign_checkpoint(db, keys, tmp_path):
    """Unsealed entries before the first sealed one were written before the key was set: they
    do not stop checkpoints. A checkpoint in the directory that another key signed is not
    trusted: the chain is checked from its start."""
    sk, _ = keys
    cpdir = tmp_path / "cp"
    cpdir.mkdir()
    (cpdir / "checkpoint-99-x.json").write_text('{"format":"cavra.audit.checkpoint.v1"}')
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        post_many(srv, 3)
    log = run(db, tmp_path, sk, cpdir, posts=2, env=env_of(keyfile(tmp_path)))
    assert "checkpoint-99-x.json is not trusted" in log, log
    assert "the chain is checked from seq" not in log, log
    assert not refused(log) and 5 in files(cpdir), log
    assert hashlib.sha256(open(sk, "rb").read()).hexdigest() not in log


def checkpoint(db, sk, out, *extra, env=None):
    return cavra("audit", "checkpoint", "--signing-key", sk, "--output", str(out), *extra, db=db,
                 env=env)


def test_the_cli_checks_the_chain_before_it_signs(db, keys, tmp_path):
    """`cavra audit checkpoint` checks from --after's checkpoint (or the chain's start): a cut
    tail, an edited link and an entry without its seal are printed as verify's lines, and no
    file is written (exit 1)."""
    sk, pk = keys
    env = env_of(keyfile(tmp_path))
    assert cavra("migrate", "up", db=db, env=env)[0] == 0
    with serve(db, tmp=tmp_path, env=env) as srv:
        post_many(srv, 4)
    cp1, cp2 = tmp_path / "cp1.json", tmp_path / "cp2.json"
    code, out, err = checkpoint(db, sk, cp1)
    assert code == 0 and out.startswith("checkpoint: seq 4,"), out + err
    with serve(db, tmp=tmp_path, env=env) as srv:
        post_many(srv, 2)
    code, out, err = checkpoint(db, sk, cp2, "--after", str(cp1), "--seal-key-file",
                                env["CAVRA_AUDIT_SEAL_KEY_FILE"])
    assert code == 0 and out.startswith("checkpoint: seq 6,"), out + err
    # an entry appended by hand: links hold, its seal is missing
    forge_decision(db, sql(db, "SELECT record_id FROM audit_chain WHERE seq = 1")[0][0])
    seq = append_entry(db, "decision", "dec_forged", "b" * 64)
    cp3 = tmp_path / "cp3.json"
    code, out, err = checkpoint(db, sk, cp3, "--after", str(cp2))
    assert code == 0, out + err  # without the seal key only the links are checked
    cp4 = tmp_path / "cp4.json"
    code, out, err = checkpoint(db, sk, cp4, "--after", str(cp3), "--seal-key-file",
                                env["CAVRA_AUDIT_SEAL_KEY_FILE"])
    assert code == 0, out + err  # cp3 already signed it: the check starts after it
    code, out, err = checkpoint(db, sk, cp4, "--after", str(cp2), "--seal-key-file",
                                env["CAVRA_AUDIT_SEAL_KEY_FILE"])
    assert code == 2 and "exists" in err, err
    cp5 = tmp_path / "cp5.json"
    code, out, err = checkpoint(db, sk, cp5, "--after", str(cp2), "--seal-key-file",
                                env["CAVRA_AUDIT_SEAL_KEY_FILE"])
    assert code == 1 and out.startswith(f"unsealed seq={seq} id=dec_forged after=-: "), out
    assert "not written: 1 breaks in the chain since --after's checkpoint" in err, err
    assert not cp5.exists()
    # the head cut back past cp2's entry
    sql(db, f"DELETE FROM audit_chain WHERE seq >= 6")
    h = sql(db, "SELECT hash FROM audit_chain WHERE seq = 5")[0][0]
    sql(db, f"UPDATE audit_chain_head SET seq = 5, hash = '{h}'")
    code, out, err = checkpoint(db, sk, cp5, "--after", str(cp2))
    assert code == 1 and out.startswith("truncated seq=6 after=-: "), out + err
    # from the start: an entry edited in place
    sql(db, "UPDATE audit_chain SET record_sha256 = '" + "c" * 64 + "' WHERE seq = 2")
    code, out, err = checkpoint(db, sk, cp5)
    assert code == 1 and out.startswith("edited seq=2 id="), out + err
    assert not cp5.exists()
    # --after must be the signing key's
    (tmp_path / "bad.json").write_text(cp1.read_text().replace('"seq":4', '"seq":3'))
    code, out, err = checkpoint(db, sk, cp5, "--after", str(tmp_path / "bad.json"))
    assert code == 1 and "--after" in err and "signature does not match" in err, err
    assert len(err.strip().splitlines()) == 1 and not cp5.exists(), err
    code, out, err = checkpoint(db, sk, cp5, "--after", str(tmp_path / "nope.json"))
    assert code == 1 and "--after" in err and not cp5.exists(), err


def test_an_operators_checkpoint_moves_serve_past_a_break(db, keys, tmp_path):
    """After looking into a break, an operator signs the head with `cavra audit checkpoint`
    (links only, without the seal key) into the directory: the running server trusts it at its
    next check and signs again from there."""
    sk, _ = keys
    cpdir, env = tmp_path / "cp", env_of(keyfile(tmp_path))
    assert cavra("migrate", "up", db=db, env=env)[0] == 0
    run(db, tmp_path, sk, cpdir, posts=3, env=env)
    (good,) = files(cpdir)[3]
    forge_decision(db, sql(db, "SELECT record_id FROM audit_chain WHERE seq = 1")[0][0])
    seq = append_entry(db, "decision", "dec_forged",
                       sql(db, "SELECT record_sha256 FROM audit_chain WHERE seq = 1")[0][0])
    with serve(db, "--audit-checkpoint-dir", str(cpdir), "--audit-signing-key-file", sk,
               "--audit-checkpoint-seconds", "1", tmp=tmp_path, env=env) as srv:
        deadline = time.time() + 60
        while "not written" not in srv.stderr() and time.time() < deadline:
            time.sleep(0.2)
        assert "not written" in srv.stderr(), srv.stderr()
        code, out, err = cavra("audit", "checkpoint", "--signing-key", sk, "--output",
                               str(cpdir / f"checkpoint-{seq}-operator.json"), "--after", good,
                               db=db)
        assert code == 0 and out.startswith(f"checkpoint: seq {seq},"), out + err
        post_many(srv, 2)
        while head(db) not in files(cpdir) and time.time() < deadline:
            time.sleep(0.2)
        log = srv.stderr()
    assert f"the chain is checked from seq {seq}, signed at" in log, log
    assert head(db) == seq + 2 and seq + 2 in files(cpdir), log


def test_a_long_walk_is_not_cut_by_the_requests_statement_timeout(pg_db, keys, tmp_path):
    """The first check after a start without a checkpoint walks the whole chain in one
    statement: it must not run under db_statement_timeout_ms, which bounds requests (at the
    default 5 s a chain of a few million entries would never be signed)."""
    sk, _ = keys
    cpdir = tmp_path / "cp"
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    n = 100000
    sql(pg_db, "INSERT INTO activity_decisions (decision_id, session_id, action_type, "
               "policy_pack, decision, decided_at, created_at, updated_at, payload) "
               "SELECT 'd-' || lpad(i::text, 6, '0'), 's', 'read_file', 'p', 'allow', t, t, t, "
               "jsonb_build_object('decision_id', 'd-' || lpad(i::text, 6, '0')) FROM "
               f"generate_series(1, {n}) i, LATERAL (SELECT timestamptz '2026-01-01' + "
               "i * interval '1 second' AS t) x")
    add_session(pg_db, "s", n)
    sql(pg_db, "UPDATE audit_chain_head SET adopt_pending = 1 WHERE seq = 0")
    code, out, err = cavra("audit", "adopt", db=pg_db, timeout=600)
    assert code == 0 and f"chained {n + 1} records" in out, out + err
    with serve(pg_db, "--audit-checkpoint-dir", str(cpdir), "--audit-signing-key-file", sk,
               "--audit-checkpoint-seconds", "1", "--db-statement-timeout-ms", "100",
               tmp=tmp_path) as srv:
        deadline = time.time() + 120
        while time.time() < deadline and n + 1 not in files(cpdir):
            assert "audit checkpoint: " not in srv.stderr().replace(
                "audit checkpoint: seq", "").replace("audit checkpoint: the chain", ""), \
                srv.stderr()
            time.sleep(0.2)
        log = srv.stderr()
    assert n + 1 in files(cpdir), log
