"""Settings: defaults < config file < environment < flags, `serve --print-config`, logging."""
import json
import os
import re

import pytest

from conftest import REPO, cavra, serve


def print_config(*args, env=None, cwd=None):
    code, out, err = cavra("serve", "--print-config", *args, env=env, cwd=cwd)
    assert code == 0, err
    settings = {}
    for line in out.splitlines():
        m = re.fullmatch(r"(\w+)\s+= (.*?)\s+\((default|file|env|flag)\)", line)
        assert m, f"not a 'name = value  (source)' line: {line!r}"
        settings[m.group(1)] = (m.group(2), m.group(3))
    return settings


def test_defaults():
    s = print_config()
    assert s["database_url"] == (".cavra/cavra.db", "default")
    assert s["listen"] == ("127.0.0.1:8080", "default")
    assert s["db_pool_size"] == ("8", "default")
    assert s["db_statement_timeout_ms"] == ("5000", "default")
    assert s["db_lock_timeout_ms"] == ("2000", "default")
    assert s["request_timeout_ms"] == ("10000", "default")
    assert s["log_level"] == ("info", "default")
    assert s["log_format"] == ("logfmt", "default")
    for name in ("migration_database_url", "migrations_dir", "auto_migrate"):
        assert name in s


# (file value, env value, flag value) -> expected (value, source)
PRECEDENCE = [
    (None, None, None, ("8", "default")),
    ("3", None, None, ("3", "file")),
    ("3", "4", None, ("4", "env")),
    ("3", "4", "5", ("5", "flag")),
    (None, "4", "5", ("5", "flag")),
    ("3", None, "5", ("5", "flag")),
]


@pytest.mark.parametrize("file_value,env_value,flag_value,expected", PRECEDENCE)
@pytest.mark.parametrize("how", ["--config", "CAVRA_CONFIG_FILE"])
def test_precedence(tmp_path, file_value, env_value, flag_value, expected, how):
    cfg = tmp_path / "cavra.yaml"
    cfg.write_text("# a comment\nlog_format: logfmt\n" +
                   (f"db_pool_size: {file_value}\n" if file_value else ""))
    args, env = [], {}
    if how == "--config":
        args += ["--config", str(cfg)]
    else:
        env["CAVRA_CONFIG_FILE"] = str(cfg)
    if env_value:
        env["CAVRA_DB_POOL_SIZE"] = env_value
    if flag_value:
        args += ["--db-pool-size", flag_value]
    s = print_config(*args, env=env)
    assert s["db_pool_size"] == expected
    assert s["config_file"] == (str(cfg), "flag" if how == "--config" else "env")


def test_every_setting_from_every_source(tmp_path):
    cfg = tmp_path / "cavra.yaml"
    cfg.write_text("listen: 127.0.0.1:9001\ndb_pool_size: 3\nlog_format: json\n"
                   "log_level: debug\n")
    s = print_config("--listen", "127.0.0.1:9003",
                     env={"CAVRA_CONFIG_FILE": str(cfg), "CAVRA_DB_POOL_SIZE": "4",
                          "CAVRA_LOG_LEVEL": "warn"})
    assert s["listen"] == ("127.0.0.1:9003", "flag")
    assert s["db_pool_size"] == ("4", "env")
    assert s["log_format"] == ("json", "file")
    assert s["log_level"] == ("warn", "env")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_config_file_is_no_settings(tmp_path, text):
    cfg = tmp_path / "cavra.yaml"
    cfg.write_text(text)
    s = print_config("--config", str(cfg))
    assert s["db_pool_size"] == ("8", "default")


def test_malformed_config_file(tmp_path):
    cfg = tmp_path / "cavra.yaml"
    cfg.write_text("listen: [1, 2\n")
    code, _, err = cavra("serve", "--print-config", env={"CAVRA_CONFIG_FILE": str(cfg)})
    assert code == 2 and str(cfg) in err


@pytest.mark.parametrize("source", ["env", "flag", "file"])
def test_print_config_redacts_passwords(tmp_path, source):
    app = "postgresql://app:hunter2@db:5432/cavra"
    owner = "postgres://own:pa55w0rd@db/cavra?sslmode=require"
    env, args = {}, []
    if source == "env":
        env = {"CAVRA_DATABASE_URL": app, "CAVRA_MIGRATION_DATABASE_URL": owner}
    elif source == "flag":
        args = ["--database", app, "--migration-database", owner]
    else:
        cfg = tmp_path / "cavra.yaml"
        cfg.write_text(f"database_url: {app}\nmigration_database_url: {owner}\n")
        args = ["--config", str(cfg)]
    code, out, err = cavra("serve", "--print-config", *args, env=env)
    assert code == 0, err
    assert "hunter2" not in out + err and "pa55w0rd" not in out + err
    s = print_config(*args, env=env)
    assert s["database_url"] == ("postgresql://app:*****@db:5432/cavra", source)
    assert s["migration_database_url"][0].startswith("postgres://own:*****@db/cavra")


def test_print_config_does_not_touch_the_database(tmp_path):
    print_config(cwd=str(tmp_path))
    assert not (tmp_path / ".cavra").exists()


def test_json_log_format(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, env={"CAVRA_LOG_FORMAT": "json"}, tmp=tmp_path) as srv:
        assert srv.get("/healthz").status_code == 200
    lines = [l for l in srv.stderr().splitlines() if l.strip()]
    assert lines
    records = [json.loads(l) for l in lines]  # every line is one JSON object
    assert any("/healthz" in json.dumps(r) for r in records)


def test_log_level_error_is_quiet(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, env={"CAVRA_LOG_LEVEL": "error"}, tmp=tmp_path) as srv:
        assert srv.get("/healthz").status_code == 200
    assert "/healthz" not in srv.stderr()


def test_security_doc_lists_the_permission_table():
    """docs/security.md carries exactly what `cavra auth permissions --markdown` prints."""
    code, out, err = cavra("auth", "permissions", "--markdown")
    assert code == 0, err
    with open(os.path.join(REPO, "docs", "security.md")) as f:
        doc = f.read()
    assert out.strip() in doc
