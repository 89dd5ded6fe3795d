"""Least privilege on PostgreSQL: migrations as the schema owner, serve with data privileges only."""
import uuid

import pytest

from conftest import cavra, least_privilege_sql, psql, serve, user_tables


@pytest.fixture
def roles(pg):
    """A database owned by an owner role, plus an app role with the GRANTs of docs/migrations.md."""
    tag = uuid.uuid4().hex[:8]
    dbname, owner, app = f"lp_{tag}", f"cavra_owner_{tag}", f"cavra_app_{tag}"
    cluster, inside = least_privilege_sql(dbname, owner, app)
    for stmt in cluster:
        psql(pg.url(), stmt)
    for stmt in inside:
        psql(pg.url(dbname), stmt)
    yield (pg.url(dbname), pg.url(dbname, user=owner, password="owner-secret"),
           pg.url(dbname, user=app, password="app-secret"))
    psql(pg.url(), f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)", check=False)
    for role in (app, owner):
        psql(pg.url(), f"DROP ROLE IF EXISTS {role}", check=False)


def test_app_role_cannot_migrate(roles):
    admin_url, _, app_url = roles
    code, out, err = cavra("migrate", "up", db=app_url)
    assert code == 1
    assert "permission denied" in err and "app-secret" not in err
    assert user_tables(admin_url) == []


def test_serve_runs_as_app_role_after_owner_migrates(roles):
    admin_url, owner_url, app_url = roles
    env = {"CAVRA_MIGRATION_DATABASE_URL": owner_url, "CAVRA_DATABASE_URL": app_url}
    code, out, err = cavra("migrate", "up", env=env)
    assert code == 0, err
    assert "applied 006_integrations_inventory" in out
    owners = psql(admin_url, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert owners.splitlines() == [owner_url.split("//")[1].split(":")[0]]
    code, _, err = cavra("migrate", "verify", env=env)
    assert code == 0, err
    # the app role can read the ledger (status) but not change the schema
    code, _, err = cavra("migrate", "status", db=app_url)
    assert code == 0, err
    with serve(None, env={"CAVRA_DATABASE_URL": app_url}) as srv:
        r = srv.get("/readyz")
        assert r.status_code == 200, r.text
    # with the owner URL only for migrations, serve with the app URL still refuses drift etc.;
    # and an app-only `migrate up` on the now-current schema is a no-op, not an error
    code, out, err = cavra("migrate", "up", db=app_url)
    assert code == 0 and "database is up to date" in out, err
