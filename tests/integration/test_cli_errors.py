"""Errors that must not mislead: a bad argument is named as given, `migrate up --to N` says
where the database stands, auto_migrate knows the embedded default however it is written, a
mistyped SQLite path is refused without leaving a file, a malformed API token is reported as
one, and one exit-code rule (docs/config.md "Exit codes") decides 1 or 2 for every refusal."""
import os

import pytest

from conftest import LATEST, cavra, free_port, one_line, serve, sqlite_path, status_json


@pytest.mark.parametrize("argv,line", [
    (["serve", "--print-config", "--bogus"], "serve: unknown option '--bogus'"),
    (["serve", "--print-config=yes"], "serve: option '--print-config' takes no value"),
    (["migrate", "status", "--json=1"], "migrate status: option '--json' takes no value"),
    (["ops", "stores", "--json=true"], "ops stores: option '--json' takes no value"),
    (["serve", "--no-auto-migrate=false"], "option --no-auto-migrate takes no value"),
    (["serve", "--auto-migrate=yes"], "setting auto_migrate: must be one of true, false, auto"),
    (["--print-config", "serve"], "unknown option '--print-config' before the command"),
    (["migrate", "up", "--to=abc"], "migrate up: --to: 'abc' is not a migration version"),
    (["migrate", "up", "--to"], "migrate up: --to needs a version"),
    (["serve", "extra"], "serve: unexpected argument 'extra'"),
    # an empty value (a variable that was never set) is refused, never taken for a name
    (["ops", "backup", "--output", ""], "ops backup: --output is empty"),
    (["ops", "retention-plan", "--output="], "ops retention-plan: --output is empty"),
    (["ops", "restore", "m.json", "--target-dir", ""], "ops restore: --target-dir is empty"),
    (["ops", "verify", ""], "ops verify: MANIFEST is empty"),
    (["serve", "--audit-checkpoint-dir", "", "--audit-signing-key-file", "k.pem"],
     "setting audit_checkpoint_dir: the value is empty"),
])
def test_bad_argument_is_named(argv, line, tmp_path):
    code, out, err = cavra(*argv, cwd=tmp_path)
    assert code == 2 and out == "", (code, out, err)
    assert line in one_line(err), err
    assert not os.path.exists(tmp_path / ".cavra"), "a refused command opened the database"


def test_migrate_up_to_says_what_it_did(db):
    code, out, err = cavra("migrate", "up", "--to", "3", db=db)
    assert code == 0, err
    assert "up to date" not in out
    assert f"database is at schema version 3 ({'postgres' if db.startswith('postgres') else 'sqlite'}); " \
        f"{LATEST - 3} migrations pending up to {LATEST}" in out, out
    code, out, err = cavra("migrate", "up", "--to", "2", db=db)
    assert code == 0 and "applied" not in out.replace("nothing applied", ""), out
    assert f"nothing applied: schema version 3 is already at or past --to 2" in out, out
    assert f"{LATEST - 3} migrations pending up to {LATEST}" in out, out
    assert cavra("migrate", "up", db=db)[0] == 0
    code, out, err = cavra("migrate", "up", "--to", "3", db=db)
    assert code == 0 and out.startswith(f"nothing applied: schema version {LATEST} is already")
    assert out.rstrip().endswith("database is up to date"), out


@pytest.mark.parametrize("spelling", ["sqlite:.cavra/cavra.db", "./.cavra//cavra.db",
                                      "ABSOLUTE", "sqlite:ABSOLUTE"])
def test_auto_migrate_knows_the_default_however_written(tmp_path, spelling):
    (tmp_path / ".cavra").mkdir()
    url = spelling.replace("ABSOLUTE", str(tmp_path / ".cavra" / "cavra.db"))
    with serve(url, cwd=tmp_path, tmp=tmp_path) as srv:
        assert srv.get("/readyz").status_code == 200
    assert "auto-migrate: applied" in srv.stderr()
    code, st, err = status_json(str(tmp_path / ".cavra" / "cavra.db"))
    assert code == 0 and st["schema_version"] == LATEST, err


def test_other_files_are_not_auto_migrated(tmp_path):
    (tmp_path / ".cavra").mkdir()
    (tmp_path / ".cavra" / "other.db").write_bytes(b"")
    code, _, err = cavra("serve", "--listen", f"127.0.0.1:{free_port()}",
                         "--database", "sqlite:.cavra/other.db", cwd=tmp_path)
    assert code == 1 and "pending migrations" in one_line(err), err


@pytest.mark.parametrize("argv,verb", [
    (["serve", "--listen", "127.0.0.1:1"], "start"),
    (["tokens", "list"], "manage tokens"),
    (["tokens", "create", "--name", "x", "--role", "agent"], "manage tokens"),
])
def test_mistyped_sqlite_path_leaves_no_file(tmp_path, argv, verb):
    typo = tmp_path / "cavra-typo.db"
    code, out, err = cavra(*argv, "--database", f"sqlite:{typo}", cwd=tmp_path)
    assert code == 1 and out == "", (code, out, err)
    line = one_line(err)
    assert f"refusing to {verb}: database '{typo}' does not exist" in line, line
    assert "cavra migrate up" in line
    assert os.listdir(tmp_path) == [], os.listdir(tmp_path)


def test_auto_migrate_true_still_creates_a_named_file(tmp_path):
    db = f"sqlite:{tmp_path}/new.db"
    with serve(db, "--auto-migrate", tmp=tmp_path) as srv:
        assert srv.get("/readyz").status_code == 200
    assert os.path.getsize(sqlite_path(db)) > 0


@pytest.mark.parametrize("token", ["cavra_abc", "cavra_" + "0" * 63, "cavra_" + "A" * 64,
                                   "cavra_" + "0" * 65])
def test_malformed_api_token_in_mode_none(db, tmp_path, token):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        r = srv.get("/decisions", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, r.text
        detail = r.json()["detail"]
        assert "malformed API token" in detail and "JWT" not in detail, detail
        assert token not in srv.stderr()


# The rule: 2 when the fix is in the command line or its settings, 1 when it is in the system.
SETTINGS_REFUSALS = [
    (["--listen", "0.0.0.0:1"], "auth_mode none on '0.0.0.0:1'"),
    (["--listen", "127.0.0.1:1", "--auth-mode", "oidc"], "auth_mode oidc needs"),
    (["--listen", "127.0.0.1:1", "--policy-dir", "/nonexistent-policies"], "/nonexistent"),
    (["--listen", "127.0.0.1:1", "--approval-routing-file", "/nonexistent.yaml"],
     "/nonexistent.yaml"),
    (["--listen", "nowhere"], "setting listen"),
]


@pytest.mark.parametrize("args,needle", SETTINGS_REFUSALS)
def test_refusing_to_start_on_settings_is_2(db, args, needle):
    assert cavra("migrate", "up", db=db)[0] == 0
    code, _, err = cavra("serve", *args, db=db, timeout=30)
    assert code == 2 and needle in one_line(err), (code, err)


def test_refusing_to_start_on_the_system_is_1(db, tmp_path):
    port = f"127.0.0.1:{free_port()}"
    code, _, err = cavra("serve", "--listen", port, db="postgres://nobody@127.0.0.1:1/x")
    assert code == 1 and "connect" in one_line(err), err
    assert cavra("migrate", "up", "--to", "2", db=db)[0] == 0
    code, _, err = cavra("serve", "--listen", port, db=db)
    assert code == 1 and "pending migrations" in one_line(err), err
