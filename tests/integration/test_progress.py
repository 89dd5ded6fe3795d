"""Progress of the long commands on stderr (docs/operations.md, "Progress"), with the real
binary on both backends: under a pseudo-terminal a line redrawn with '\\r' and a summary line;
nothing when stderr is a pipe; plain lines (no '\\r') with --progress on a pipe; nothing with
--quiet, which also silences the other informational lines; stdout byte for byte the same in
every case, so scripts that parse it keep working."""
import os
import pty
import re
import subprocess
import threading

import pytest

import original_fixture as orig
from conftest import CAVRA, SANITIZER_MARKS, cavra
from test_import import ACTIVITY
from test_ops import ok, seed


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}


def run_pty(*args, db=None, timeout=300):
    """Runs the binary with stderr on a pseudo-terminal and stdout on a pipe; returns
    (exit code, stdout, what the terminal received)."""
    argv = [CAVRA, *args] + (["--database", db] if db else [])
    master, slave = pty.openpty()
    got = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last holder of the slave closed it
                return
            if not data:
                return
            got.append(data)

    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                         env=clean_env())
    os.close(slave)
    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = p.communicate(timeout=timeout)
    reader.join(timeout)
    os.close(master)
    err = b"".join(got).decode()
    for mark in SANITIZER_MARKS:
        assert mark not in err, err
    return p.returncode, out.decode(), err


def redrawn(err, command):
    """The progress lines a terminal got: each starts with '\\r' (the pty turns '\\n' into
    '\\r\\n', so a '\\r' before the command's name is a redraw)."""
    return re.findall("\r" + re.escape(command) + r": [^\r\n]*", err)


@pytest.fixture
def seeded(db, tmp_path):
    ok(cavra("migrate", "up", db=db))
    seed(db, tmp_path)
    return db


@pytest.fixture
def backup_dir(seeded, tmp_path):
    dest = tmp_path / "bk"
    ok(cavra("ops", "backup", "--output", str(dest), db=seeded))
    return str(dest)


def test_backup_and_verify_on_a_terminal(seeded, tmp_path):
    dest = str(tmp_path / "tty-bk")
    code, out, err = run_pty("ops", "backup", "--output", dest, "--json", db=seeded)
    assert code == 0, err
    lines = redrawn(err, "backup")
    assert any(re.search(r"\d+ of \d+ rows \(\d+%\)", l) for l in lines), err
    assert re.search(r"\rbackup: done in [0-9.]+ s: [0-9,]+ rows in ", err), err
    assert '"ok": true' in out and "backup:" not in out

    code, out, err = run_pty("ops", "verify", dest, db=seeded)
    assert code == 0, err
    # the phase's first line at once; a table's own line only when it takes longer than the
    # redraw interval, which 40 rows do not
    assert any(re.search(r"verify: .*\d+ of \d+ rows", l) for l in redrawn(err, "verify")), err
    assert re.search(r"\rverify: done in [0-9.]+ s: [0-9,]+ rows in ", err), err
    assert out.startswith("ok: ")


def test_stdout_is_the_same_with_and_without_progress(backup_dir, seeded):
    code, plain, err = cavra("ops", "verify", backup_dir, "--json", db=seeded)
    assert code == 0 and err == "", err
    code, forced, err_forced = cavra("ops", "verify", backup_dir, "--json", "--progress",
                                     db=seeded)
    assert code == 0, err_forced
    code, tty, err_tty = run_pty("ops", "verify", backup_dir, "--json", db=seeded)
    assert code == 0, err_tty
    assert plain == forced == tty
    assert "verify: done in" in err_forced and "verify: done in" in err_tty


def test_pipe_is_silent_and_progress_forces_plain_lines(backup_dir, seeded):
    # stderr a pipe: nothing
    code, out, err = cavra("ops", "verify", backup_dir, db=seeded)
    assert code == 0 and err == "", err
    # --progress on a pipe: plain lines, never a '\r'
    code, out, err = cavra("ops", "verify", backup_dir, "--progress", db=seeded)
    assert code == 0, err
    assert "\r" not in err
    lines = err.splitlines()
    assert re.fullmatch(r"verify: (\S+\.jsonl: )?[0-9,]+ of [0-9,]+ rows \(\d+%\).*", lines[0]), err
    assert re.fullmatch(r"verify: done in [0-9.]+ s: [0-9,]+ rows in [0-9.]+ s.*", lines[-1]), err


def test_quiet_on_a_terminal_shows_nothing(backup_dir, seeded, tmp_path):
    code, out, err = run_pty("ops", "verify", backup_dir, "--quiet", db=seeded)
    assert code == 0 and out.startswith("ok: ")
    assert err == "", repr(err)
    # --quiet also silences the informational lines, here the restored chain's
    target = str(tmp_path / "restored")
    code, out, err = run_pty("ops", "restore", backup_dir, "--target-dir", target, "--quiet",
                             db=seeded)
    assert code == 0, err
    assert err == "", repr(err)
    code, out, err = cavra("ops", "restore", backup_dir, "--target-dir", target + "2", db=seeded)
    assert code == 0 and "audit chain: carried" in err, err


def test_restore_and_restore_test_phases(backup_dir, seeded, tmp_path):
    code, out, err = cavra("ops", "restore", backup_dir, "--target-dir", str(tmp_path / "r"),
                           "--progress", db=seeded)
    assert code == 0, err
    summary = [l for l in err.splitlines() if l.startswith("restore: done in")]
    assert len(summary) == 1, err
    # a new database's content is checked while it loads: the verify phase reads the files
    # as stored only, so it has no rows of its own
    assert re.search(r": verify files in [0-9.]+ s; load [0-9,]+ rows in ", summary[0]), err
    assert "restore: load" in err  # the load phase draws its first line at once
    code, out, err = run_pty("ops", "restore-test", backup_dir, "--scratch-dir", str(tmp_path),
                             db=seeded)
    assert code == 0, err
    assert re.search(r"\rrestore-test: done in .*; checks in ", err), err
    assert out.lstrip().startswith("{")


def test_both_flags_are_a_usage_error(tmp_path):
    for args in (["ops", "verify", str(tmp_path), "--progress", "--quiet"],
                 ["ops", "backup", "--quiet", "--progress"],
                 ["audit", "verify", "--progress", "--quiet"],
                 ["migrate", "up", "--progress", "--quiet"],
                 ["ops", "import", "--from-env", "--progress", "--quiet"]):
        code, out, err = cavra(*args, db=f"sqlite:{tmp_path}/x.db")
        assert code == 2, args
        assert "--progress and --quiet contradict" in err and out == ""
    assert not os.path.exists(tmp_path / "x.db")


def test_documented_in_help():
    for cmd in (["ops", "backup"], ["ops", "verify"], ["ops", "restore"], ["ops", "restore-test"],
                ["ops", "import"], ["audit", "verify"], ["audit", "adopt"], ["migrate"]):
        code, out, err = cavra(*cmd, "--help")
        assert code == 0 and "--progress" in out and "--quiet" in out, cmd


def test_audit_verify_and_adopt(seeded):
    code, out, err = run_pty("audit", "verify", db=seeded)
    assert code == 0, err
    assert re.search(r"\raudit verify: done in [0-9.]+ s: chain [0-9,]+ rows in ", err), err
    assert out.startswith("audit chain: ") and "\r" not in out
    code, adopted, err = cavra("audit", "adopt", "--progress", db=seeded)
    assert code == 0 and "audit adopt: done in" in err, err
    code, out2, err = cavra("audit", "verify", "--quiet", db=seeded)
    assert code == 0 and err == "" and out2 == out


def test_import_progress(tmp_path, db):
    ok(cavra("migrate", "up", db=db))
    path = tmp_path / "activity.json"
    path.write_text(__import__("json").dumps(ACTIVITY))
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "activity",
                           "--format", "json", "--progress", db=db)
    assert code == 0, err
    assert re.search(r"^import: activity( \w+)?: [0-9,]+ of 5 rows", err, re.M), err
    assert re.search(r"^import: done in .*: activity 5 rows in .*; audit chain 6 rows in ", err,
                     re.M), err
    assert out.lstrip().startswith("[")
    # --quiet: not even the chain's line
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "activity",
                           "--quiet", db=db)
    assert code == 0 and err == "", err


def test_adoption_of_an_original_pilot(tmp_path):
    path = str(tmp_path / "pilot.db")
    orig.build(path)
    code, out, err = run_pty("migrate", "up", "--database", path)
    assert code == 0, err
    assert out.startswith("adopted the original CAVRA database")
    assert any(" of " in l for l in redrawn(err, "migrate up")), err
    assert re.search(r"\rmigrate up: done in [0-9.]+ s: adopt [0-9,]+ rows in .*; recount "
                     r"sessions in ", err), err
