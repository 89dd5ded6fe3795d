"""Bad input: a one-line error naming the problem, the right exit code, no partial state."""
import os
import time

import pytest

from conftest import cavra, one_line, status_json, user_tables


@pytest.mark.parametrize("url,scheme", [
    ("mysql://x", "mysql"),
    ("mysql://u:pw-in-url@h/db", "mysql"),
    ("http://example.com/db", "http"),
])
@pytest.mark.parametrize("cmd", [["migrate", "status"], ["migrate", "up"], ["serve"]])
def test_unknown_scheme_is_usage_error(url, scheme, cmd):
    code, _, err = cavra(*cmd, db=url)
    assert code == 2
    line = one_line(err)
    assert scheme in line and "pw-in-url" not in line


@pytest.mark.parametrize("cmd", [["migrate", "status"], ["migrate", "up"], ["serve"]])
def test_a_libpq_connection_string_is_usage_error(cmd, tmp_path):
    # taken as a path, it made a SQLite file named after it, the password in its name
    code, _, err = cavra(*cmd, db="host=127.0.0.1 port=5432 user=u password=pw-in-dsn",
                         cwd=str(tmp_path))
    assert code == 2
    line = one_line(err)
    assert "libpq connection string ('host=...')" in line and "pw-in-dsn" not in line
    assert os.listdir(tmp_path) == []


def test_a_libpq_connection_string_as_restore_target_is_usage_error(tmp_path):
    # it restored into a SQLite file named after it
    code, _, err = cavra("ops", "restore", str(tmp_path / "none"), "--target-url",
                         "host=127.0.0.1 password=pw-in-dsn", cwd=str(tmp_path))
    assert code == 2
    line = one_line(err)
    assert "--target-url looks like a libpq connection string" in line and "pw-in-dsn" not in line
    code, _, err = cavra("ops", "restore", str(tmp_path / "none"), "--target-url",
                         "mysql://u:pw-in-url@h/db", cwd=str(tmp_path))
    assert code == 2 and "unsupported scheme 'mysql'" in one_line(err)
    assert "pw-in-url" not in err and os.listdir(tmp_path) == []


def test_unknown_scheme_from_environment():
    code, _, err = cavra("migrate", "status", env={"CAVRA_DATABASE_URL": "mysql://x"})
    assert code == 2 and "mysql" in one_line(err)


@pytest.mark.parametrize("cmd", [["migrate", "up"], ["migrate", "status"], ["serve"]])
def test_unreachable_postgres_fails_fast(cmd, tmp_path):
    t0 = time.time()
    code, _, err = cavra(*cmd, db="postgresql://cavra:s3cr3t@127.0.0.1:1/cavra", timeout=30)
    assert code == 1 and time.time() - t0 < 15
    line = one_line(err)
    assert "s3cr3t" not in line
    assert "127.0.0.1" in line or "connect" in line


def test_wrong_password_is_never_echoed(pg):
    url = pg.url(password="definitely-wrong-pw")
    for cmd in (["migrate", "status"], ["migrate", "up"], ["serve"]):
        code, out, err = cavra(*cmd, db=url)
        assert code == 1
        assert "password authentication failed" in one_line(err)
        assert "definitely-wrong-pw" not in err + out


def test_unwritable_sqlite_location(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for path in ("/proc/cavra-forbidden/x.db", str(blocker / "x.db"), "sqlite:" + str(blocker / "y.db")):
        code, _, err = cavra("migrate", "up", db=path)
        assert code == 1, err
        line = one_line(err)
        assert path.replace("sqlite:", "") in line
    assert blocker.read_text() == "x"


def test_sqlite_database_that_is_a_directory(tmp_path):
    code, _, err = cavra("migrate", "up", db=str(tmp_path))
    assert code == 1 and str(tmp_path) in one_line(err)


@pytest.mark.parametrize("kind", ["missing", "empty", "no-sql-files"])
@pytest.mark.parametrize("cmd", [["migrate", "up"], ["migrate", "status"], ["migrate", "verify"],
                                 ["migrate", "plan"]])
def test_missing_or_empty_migrations_dir(tmp_path, kind, cmd):
    d = tmp_path / "m"
    if kind != "missing":
        d.mkdir()
    if kind == "no-sql-files":
        (d / "README.txt").write_text("nothing here")
    target = tmp_path / "x.db"
    code, _, err = cavra(*cmd, "--migrations-dir", str(d), db=str(target))
    assert code == 2, err
    assert str(d) in one_line(err)
    assert not target.exists() or user_tables("sqlite:" + str(target)) == []


def test_badly_named_migration_file(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "1_x.sql").write_text("SELECT 1;")
    target = tmp_path / "x.db"
    code, _, err = cavra("migrate", "up", "--migrations-dir", str(d), db=str(target))
    assert code == 2 and "1_x.sql" in err
    assert not target.exists() or user_tables("sqlite:" + str(target)) == []


def test_gap_in_migrations_dir(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    (d / "003_c.sql").write_text("CREATE TABLE c (x INTEGER);")
    target = tmp_path / "x.db"
    code, _, err = cavra("migrate", "up", "--migrations-dir", str(d), db=str(target))
    line = one_line(err)
    assert code == 2 and "version 2" in line and str(d) in line
    assert not target.exists() or user_tables("sqlite:" + str(target)) == []


def test_empty_migrations_dir_on_postgres(db, tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    code, _, err = cavra("migrate", "up", "--migrations-dir", str(d), db=db)
    assert code == 2 and str(d) in one_line(err)
    assert user_tables(db) == []


BAD_SETTINGS = [
    ("CAVRA_DB_POOL_SIZE", "--db-pool-size", "0", "db_pool_size"),
    ("CAVRA_DB_POOL_SIZE", "--db-pool-size", "257", "db_pool_size"),
    ("CAVRA_DB_POOL_SIZE", "--db-pool-size", "eight", "db_pool_size"),
    ("CAVRA_DB_STATEMENT_TIMEOUT_MS", "--db-statement-timeout-ms", "99",
     "db_statement_timeout_ms"),
    ("CAVRA_DB_STATEMENT_TIMEOUT_MS", "--db-statement-timeout-ms", "5s",
     "db_statement_timeout_ms"),
    ("CAVRA_DB_LOCK_TIMEOUT_MS", "--db-lock-timeout-ms", "0", "db_lock_timeout_ms"),
    ("CAVRA_DB_LOCK_TIMEOUT_MS", "--db-lock-timeout-ms", "3600001", "db_lock_timeout_ms"),
    ("CAVRA_REQUEST_TIMEOUT_MS", "--request-timeout-ms", "-1", "request_timeout_ms"),
    ("CAVRA_REQUEST_TIMEOUT_MS", "--request-timeout-ms", "ten", "request_timeout_ms"),
    ("CAVRA_LOG_LEVEL", "--log-level", "loud", "log_level"),
    ("CAVRA_LOG_FORMAT", "--log-format", "xml", "log_format"),
    ("CAVRA_LISTEN", "--listen", "nope", "listen"),
    ("CAVRA_LISTEN", "--listen", "127.0.0.1:99999", "listen"),
    ("CAVRA_AUTO_MIGRATE", None, "perhaps", "auto_migrate"),
]


@pytest.mark.parametrize("var,flag,value,name", BAD_SETTINGS)
@pytest.mark.parametrize("source", ["env", "flag", "file"])
def test_bad_settings_exit_2(tmp_path, var, flag, value, name, source):
    env, args = {}, []
    if source == "env":
        env[var] = value
    elif source == "flag":
        if flag is None:
            pytest.skip("boolean flag")
        args = [flag, value]
    else:
        cfg = tmp_path / "cavra.yaml"
        cfg.write_text(f"{name}: {value}\n")
        args = ["--config", str(cfg)]
    for cmd in (["migrate", "status"], ["serve"]):
        code, _, err = cavra(*cmd, *args, env=env, cwd=str(tmp_path))
        assert code == 2, err
        assert name in one_line(err)
    assert not (tmp_path / ".cavra").exists()


def test_unknown_config_key_and_missing_config_file(tmp_path):
    cfg = tmp_path / "cavra.yaml"
    cfg.write_text("no_such_setting: 1\n")
    code, _, err = cavra("serve", "--print-config", "--config", str(cfg))
    assert code == 2 and "no_such_setting" in one_line(err)
    code, _, err = cavra("serve", "--print-config", "--config", str(tmp_path / "absent.yaml"))
    assert code == 2 and "absent.yaml" in one_line(err)


@pytest.mark.parametrize("argv,needle", [
    (["nope"], "nope"),
    (["migrate", "frobnicate"], "frobnicate"),
    (["migrate", "up", "--to", "abc"], "--to"),
    (["migrate", "up", "--to", "99"], "99"),
    (["migrate", "status", "--bogus"], "--bogus"),
    (["evidence", "migrate", "--sqlite"], "--sqlite"),
    (["evidence", "migrate", "--bogus"], "--bogus"),
])
def test_usage_errors_exit_2(tmp_path, argv, needle):
    code, _, err = cavra(*argv, "--database", str(tmp_path / "u.db"))
    assert code == 2 and needle in err
    assert not (tmp_path / "u.db").exists() or user_tables("sqlite:" + str(tmp_path / "u.db")) == []
