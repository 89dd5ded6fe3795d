"""A PostgreSQL password never reaches stdout or stderr, whichever form libpq accepts it in:
user:password@ (escaped, or raw with '@', ':' and '/' in it), ?password= (any position, any
case, escaped key) and key=value conninfo (quoted, with backslash escapes).  Checked on the
startup line of `serve`, `serve --print-config`, `migrate up`, `ops status` and the output and
errors of `ops restore --target-url`."""
import urllib.parse
import uuid

import pytest

from conftest import cavra, psql, serve

# Every piece of it contains MARK, so no fragment of the password can leak unnoticed.
SECRET = "sEcr3tA@sEcr3tB:sEcr3tC/sEcr3tD%sEcr3tE"
MARK = "sEcr3t"
ENC = urllib.parse.quote(SECRET, safe="")


@pytest.fixture
def owned(pg):
    """A fresh database owned by a role whose password is SECRET; returns (role, db, host)."""
    name = "t_" + uuid.uuid4().hex[:12]
    psql(pg.url(), f"CREATE ROLE {name} LOGIN PASSWORD '{SECRET}'")
    psql(pg.url(), f"CREATE DATABASE {name} OWNER {name}")
    yield name, name, urllib.parse.urlparse(pg.url()).netloc.split("@")[-1]
    psql(pg.url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)
    psql(pg.url(), f"DROP ROLE IF EXISTS {name}", check=False)


def working_forms(role, db, host):
    """The forms that connect."""
    return {"userinfo": f"postgresql://{role}:{ENC}@{host}/{db}",
            "query": f"postgresql://{role}@{host}/{db}?sslmode=disable&password={ENC}"
                     "&application_name=t"}


def every_form(role, db, host):
    """Those, and the ones libpq or cavra refuses (libpq's keyword form): still secret."""
    h, _, port = host.rpartition(":")
    return working_forms(role, db, host) | {
        "userinfo-raw": f"postgresql://{role}:{SECRET}@{host}/{db}",
        "query-first": f"postgresql://{host}/{db}?password={ENC}&user={role}",
        "query-case": f"postgresql://{role}@{host}/{db}?PassWord={ENC}",
        "query-escaped-key": f"postgresql://{role}@{host}/{db}?pass%77ord={ENC}",
        "conninfo": f"host={h} port={port} dbname={db} password={SECRET} user={role}",
        "conninfo-quoted": f"host={h} password = '{SECRET} \\' {SECRET}' dbname={db}",
        "conninfo-escaped": f"host={h} password={SECRET}\\ {SECRET} dbname={db}",
    }


def assert_secret_free(*texts):
    for t in texts:
        assert MARK not in t, t


def test_serve_startup_line_and_status(owned):
    for name, url in working_forms(*owned).items():
        code, out, err = cavra("migrate", "up", db=url)
        assert code == 0, name + err
        assert_secret_free(out, err)
        code, out, err = cavra("ops", "status", db=url)
        assert_secret_free(out, err)
        with serve(url) as s:
            assert s.get("/healthz").status_code == 200
        log = s.stderr()
        assert "listening on" in log and "*****" in log, log
        assert_secret_free(log)


def test_print_config(owned, tmp_path):
    for name, url in every_form(*owned).items():
        # libpq's keyword form is refused (exit 2) rather than read as a SQLite path
        refused = name.startswith("conninfo")
        code, out, err = cavra("serve", "--print-config", db=url, cwd=tmp_path)
        assert code == (2 if refused else 0), name + err
        if refused:
            assert "libpq connection string ('host=...')" in err, name + err
        else:
            assert "*****" in out, name + out
        assert_secret_free(out, err)
        code, out, err = cavra("serve", "--print-config", cwd=tmp_path,
                               env={"CAVRA_DATABASE_URL": url,
                                    "CAVRA_MIGRATION_DATABASE_URL": url})
        assert code == (2 if refused else 0), name + err
        assert_secret_free(out, err)


def test_ops_restore_target_url(owned, tmp_path):
    source = f"sqlite:{tmp_path}/source.db"
    assert cavra("migrate", "up", db=source)[0] == 0
    code, _, err = cavra("ops", "backup", "--output", str(tmp_path / "b"), db=source)
    assert code == 0, err
    restored = 0
    for name, url in every_form(*owned).items():
        code, out, err = cavra("ops", "restore", str(tmp_path / "b"), "--target-url", url,
                               "--overwrite", db=source, cwd=tmp_path)
        assert_secret_free(out, err)
        restored += code == 0
        if name == "userinfo":
            assert code == 0 and "*****" in out, err + out
    assert restored >= 1
