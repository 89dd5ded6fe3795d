"""The original CAVRA's command-line and HTTP habits, kept by cavra: `--help` on every command
and action (read from the binary's own usage, so a command added there without help fails
here), one-line refusals that name the bad argument, the negated flags, the original's default
output paths, GET /health and GET /console/config on both backends and both auth modes."""
import json
import os
import re

import pytest

from conftest import backend_of, cavra, one_line, serve, sql

DESC_COLUMN = 37  # where the usage text's descriptions start
WORD = re.compile(r"[a-z][a-z-]*")


def usage_synopses():
    """The synopsis of every entry of `cavra --help` (continuation lines joined)."""
    code, out, err = cavra("--help")
    assert code == 0 and err == ""
    synopses = []
    for line in out.split("\n"):
        if line.startswith("settings"):
            break
        if re.match(r"  [a-z]", line):
            synopses.append(re.split(r"\s{2,}", line.strip())[0])
        elif synopses and line.startswith("   ") and not line.startswith(" " * DESC_COLUMN):
            synopses[-1] += " " + line.strip()
    return synopses


def commands():
    """(command, action or None) for every entry: `a|b` and `x | y` name several actions."""
    found = set()
    for syn in usage_synopses():
        words = syn.split()
        found.add((words[0], None))
        alternatives = words[1].split("|") if len(words) > 1 else []
        alternatives += [seg.split()[0] for seg in syn.split(" | ")[1:] if seg.split()]
        found |= {(words[0], a) for a in alternatives if WORD.fullmatch(a)}
    return sorted(found, key=lambda c: (c[0], c[1] or ""))


def test_usage_lists_the_commands():
    names = {c for c, _ in commands()}
    assert {"serve", "migrate", "evidence", "ops", "tokens", "auth", "version", "help"} <= names
    actions = {f"{c} {a}" for c, a in commands() if a}
    assert {"migrate status", "migrate up", "ops backup", "ops restore", "ops retention-plan",
            "tokens create", "tokens list", "tokens revoke", "evidence migrate"} <= actions


@pytest.mark.parametrize("cmd,action", commands())
def test_every_command_and_action_has_help(tmp_path, cmd, action):
    argv = [cmd] + ([action] if action else [])
    code, out, err = cavra(*argv, "--help", cwd=str(tmp_path))
    assert code == 0 and err == "", err
    assert out.startswith("usage: cavra "), out
    if cmd != "help":
        assert out.startswith(f"usage: cavra {cmd}"), out
    if action:
        assert re.search(rf"(^| |\|){re.escape(action)}( |\||$)", out.split("\n")[0]), out
    # the same text with -h and (but for help itself) from `cavra help ...`
    assert cavra(*argv, "-h", cwd=str(tmp_path))[:2] == (0, out)
    if cmd != "help":
        assert cavra("help", *argv, cwd=str(tmp_path))[:2] == (0, out)
    # nothing is opened or created
    assert os.listdir(tmp_path) == []


def test_help_of_unknown_command_is_a_usage_error(tmp_path):
    code, out, err = cavra("help", "frobnicate", cwd=str(tmp_path))
    assert code == 2 and out == "" and "'frobnicate'" in one_line(err)
    code, out, err = cavra("frobnicate", "--help", cwd=str(tmp_path))
    assert code == 2 and out == "" and "'frobnicate'" in one_line(err)


# (arguments, what the one line must say): the argument at fault, never a good one before it
BAD_ARGS = [
    (["serve", "--print-config", "--bogus"], "unknown option '--bogus'"),
    (["serve", "--print-config=yes"], "option '--print-config' takes no value"),
    (["serve", "extra"], "unexpected argument 'extra'"),
    (["migrate", "status", "--json", "--bogus"], "unknown option '--bogus'"),
    (["migrate", "status", "--json=1"], "option '--json' takes no value"),
    (["migrate", "up", "--to"], "--to needs"),
    (["migrate"], "missing action"),
    (["ops", "frob"], "unknown action 'frob'"),
    (["ops", "backup", "--json", "--bogus"], "unknown option '--bogus'"),
    (["ops", "backup", "--include-missing=no"], "option '--include-missing' takes no value"),
    (["ops", "backup", "--output"], "--output needs a value"),
    (["ops", "verify", "m", "--overwrite"], "unknown option '--overwrite'"),
    (["ops", "restore", "m", "--no-overwrite=1"], "option '--no-overwrite' takes no value"),
    (["ops", "restore", "m", "n"], "unexpected argument 'n'"),
    (["ops", "stores", "--json", "--bogus"], "unknown option '--bogus'"),
    (["ops", "retention-plan", "--no-legal-hold=1"], "option '--no-legal-hold' takes no value"),
    (["ops", "retention-plan", "--legal-hold", "--bogus"], "unknown option '--bogus'"),
    (["ops", "import", "--from-env", "--bogus"], "unknown option '--bogus'"),
    (["ops", "import", "--from-env", "--format", "xml"], "--format 'xml'"),
    (["tokens", "frob"], "unknown action 'frob'"),
    (["tokens", "create", "--name", "a", "--bogus"], "unknown option '--bogus'"),
    (["tokens", "list", "--bogus"], "unknown option '--bogus'"),
    (["tokens", "revoke", "a", "b"], "unexpected argument 'b'"),
    (["auth", "permissions", "--markdown", "--bogus"], "unknown option '--bogus'"),
    (["evidence", "migrate", "--bogus"], "unknown option '--bogus'"),
    (["evidence", "migrate", "--sqlite"], "--sqlite needs"),
    (["version", "--bogus"], "unknown option '--bogus'"),
]


@pytest.mark.parametrize("argv,needle", BAD_ARGS, ids=[" ".join(a) for a, _ in BAD_ARGS])
def test_bad_argument_is_named_in_one_line(tmp_path, argv, needle):
    code, out, err = cavra(*argv, cwd=str(tmp_path))
    assert code == 2, err
    line = one_line(err)
    assert line.startswith("cavra: ") and needle in line, line
    assert out == ""
    # refused before anything is opened: the default database (.cavra/cavra.db) is not created
    assert os.listdir(tmp_path) == []


# ---- the negated flags ----

def ok(result):
    code, out, err = result
    assert code == 0, err + out
    return out


def plan(db, out, *args):
    ok(cavra("ops", "retention-plan", "--output", str(out), "--retention-days", "30", *args,
             db=db))
    with open(os.path.join(str(out), "persistent-api-retention-plan.json")) as f:
        return json.load(f)


def test_retention_plan_no_legal_hold(db, tmp_path):
    ok(cavra("migrate", "up", db=db))
    held = plan(db, tmp_path / "p", "--legal-hold")
    assert held["legal_hold"] is True and held["delete_protection"] is True
    # the last of --legal-hold / --no-legal-hold counts, as in the original
    off = plan(db, tmp_path / "p", "--legal-hold", "--no-legal-hold")
    assert off["legal_hold"] is False and off["delete_protection"] is False
    assert plan(db, tmp_path / "p", "--no-legal-hold")["legal_hold"] is False
    assert plan(db, tmp_path / "p", "--no-legal-hold", "--legal-hold")["legal_hold"] is True


def test_restore_no_overwrite_refuses_a_target_with_data(db, tmp_path):
    ok(cavra("migrate", "up", db=db))
    ok(cavra("tokens", "create", "--name", "ci", "--role", "agent", db=db))
    ok(cavra("ops", "backup", "--output", str(tmp_path / "b"), db=db))
    for flags in (["--no-overwrite"], ["--overwrite", "--no-overwrite"]):
        code, _, err = cavra("ops", "restore", str(tmp_path / "b"), *flags, db=db)
        assert code == 1 and "holds data" in err and "--overwrite" in err, err
    assert sql(db, "SELECT count(*) FROM operations_records WHERE kind = 'restore'") == [["0"]]
    ok(cavra("ops", "restore", str(tmp_path / "b"), "--no-overwrite", "--overwrite", db=db))
    assert sql(db, "SELECT name FROM api_tokens") == [["ci"]]


def test_backup_include_missing_flags_change_nothing(db, tmp_path):
    """cavra dumps every table, empty ones too: no store is ever missing, so both flags are
    accepted and give the same backup."""
    ok(cavra("migrate", "up", db=db))
    shas = []
    for i, flag in enumerate(["--include-missing", "--no-include-missing"]):
        dest = tmp_path / f"b{i}"
        res = json.loads(ok(cavra("ops", "backup", "--output", str(dest), flag, "--json",
                                  db=db)))
        assert res["ok"]
        with open(dest / "manifest.json") as f:
            files = json.load(f)["files"]
        shas.append({f["table"]: f["sha256"] for f in files if f["table"] != "operations_records"})
    assert shas[0] == shas[1] and "evidence_metadata" in shas[0]


# ---- the original's default paths, relative to the working directory ----

def test_default_output_paths(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    run = lambda *a: cavra(*a, cwd=str(work))  # noqa: E731
    ok(run("evidence", "migrate"))
    meta = work / ".cavra" / "evidence" / "metadata.db"
    assert meta.is_file()
    ok(run("migrate", "verify", "--database", str(meta)))
    # ops backup: .cavra/backups/latest, and a second run refuses to mix into it
    ok(run("ops", "backup", "--database", str(meta)))
    latest = work / ".cavra" / "backups" / "latest"
    before = sorted(os.listdir(latest))
    assert "manifest.json" in before
    ok(run("ops", "verify", str(latest)))
    code, out, err = run("ops", "backup", "--database", str(meta))
    line = one_line(err)
    assert code == 1 and "--output" in line and ".cavra/backups/latest" in line, err
    assert sorted(os.listdir(latest)) == before
    # ops retention-plan: .cavra/operations/retention
    ok(run("ops", "retention-plan", "--no-legal-hold", "--database", str(meta)))
    assert sorted(os.listdir(work / ".cavra" / "operations" / "retention")) == [
        "persistent-api-retention-plan.json", "persistent-api-retention-plan.md"]
    assert sorted(os.listdir(work / ".cavra")) == ["backups", "evidence", "operations"]


# ---- HTTP ----

MODES = ["metadata_mode", "approval_mode", "registry_mode", "activity_mode", "inventory_mode",
         "integration_mode"]


def test_health_and_console_config(db, tmp_path):
    ok(cavra("migrate", "up", db=db))
    with serve(db, tmp=tmp_path) as srv:
        health, healthz = srv.get("/health"), srv.get("/healthz")
        assert health.status_code == healthz.status_code == 200
        assert health.json() == healthz.json() == {"status": "ok"}
        r = srv.get("/console/config")
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
        cfg = r.json()
        assert {m: cfg[m] for m in MODES} == {m: backend_of(db) for m in MODES}
        assert cfg["backend"] == backend_of(db) and cfg["auth_mode"] == "none"
        assert srv.post("/health", data=b"").status_code == 405


def test_health_and_console_config_without_credentials_in_oidc_mode(db, tmp_path, idp):
    ok(cavra("migrate", "up", db=db))
    args = ("--auth-mode", "oidc", "--oidc-issuer", idp.issuer, "--oidc-audience", "cavra-api")
    with serve(db, *args, tmp=tmp_path) as srv:
        assert srv.get("/health").status_code == 200
        assert srv.get("/health").json() == srv.get("/healthz").json()
        r = srv.get("/console/config")
        assert r.status_code == 200, r.text
        assert r.json()["auth_mode"] == "oidc" and r.json()["activity_mode"] == backend_of(db)
        assert srv.get("/decisions").status_code == 401
