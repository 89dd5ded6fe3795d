"""API tokens and the auth layer without an identity provider: cavra tokens create / list /
revoke, roles on routes, bad Authorization headers, and auth_mode none's guard rails."""
import concurrent.futures
import hashlib
import json
import os
import subprocess
import time

import pytest
import requests

from conftest import cavra, one_line, pg_bindir, psql, serve, sql, until


def make_token(db, name, *roles, expires="1d"):
    args = ["tokens", "create", "--name", name, "--expires-in", expires]
    for r in roles:
        args += ["--role", r]
    code, out, err = cavra(*args, db=db)
    assert code == 0, err
    token = out.strip()
    assert token.startswith("cavra_") and len(token) == 70
    assert token not in err
    return token


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def migrated(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    return db


def plant_token(db, token_id, digit, like):
    """A token of a forger's own, inserted by SQL: its row and payload (seal included) copied
    from the token called like; returns the token."""
    planted = "cavra_" + digit * 64
    digest = hashlib.sha256(planted.encode()).hexdigest()
    sql(db, "INSERT INTO api_tokens (token_id, token_sha256, name, subject, created_by, "
            f"expires_at, created_at, updated_at, payload) SELECT '{token_id}', '{digest}', "
            "'planted', subject, created_by, expires_at, created_at, updated_at, payload "
            f"FROM api_tokens WHERE name = '{like}'")
    return planted


def test_tokens_lifecycle_and_roles(migrated, tmp_path):
    db = migrated
    agent = make_token(db, "ci-agent", "agent")
    auditor = make_token(db, "audit-bot", "auditor")
    admin = make_token(db, "root-bot", "admin", expires="never")
    code, _, err = cavra("tokens", "create", "--name", "ci-agent", "--role", "agent", db=db)
    assert code == 1 and "exists" in err
    code, _, err = cavra("tokens", "create", "--name", "x", "--role", "wizard", db=db)
    assert code == 2 and "wizard" in one_line(err)
    code, _, err = cavra("tokens", "create", "--name", "x", "--role", "agent",
                         "--expires-in", "soon", db=db)
    assert code == 2
    code, out, _ = cavra("tokens", "list", "--format", "json", db=db)
    listed = {t["name"]: t for t in json.loads(out)}
    assert set(listed) == {"ci-agent", "audit-bot", "root-bot"}
    assert listed["root-bot"]["expires_at"] is None and listed["ci-agent"]["roles"] == ["agent"]
    assert agent not in out and "cavra_" not in out
    # only hashes are stored
    from conftest import sql
    stored = sql(db, "SELECT token_sha256 FROM api_tokens")
    assert all(len(r[0]) == 64 for r in stored)

    with serve(db, tmp=tmp_path) as s:
        who = s.get("/auth/whoami", headers=bearer(agent)).json()
        assert (who["kind"], who["subject"], who["roles"]) == ("api_token", "token:ci-agent",
                                                               ["agent"])
        assert "decisions.create" in who["permissions"]
        assert "activity.read" not in who["permissions"]
        r = s.post("/decisions", {"action_type": "read_file", "target": "a"}, headers=bearer(agent))
        assert r.status_code == 201
        r = s.get("/decisions", headers=bearer(agent))
        assert r.status_code == 403 and "activity.read" in r.json()["detail"]
        assert s.get("/decisions", headers=bearer(auditor)).status_code == 200
        r = s.post("/decisions", {"action_type": "read_file", "target": "a"},
                   headers=bearer(auditor))
        assert r.status_code == 403
        # an approval decided by tokens: no groups, so only admin may decide
        d = s.post("/decisions", {"action_type": "execute_command", "target": "make x"},
                   headers=bearer(agent)).json()
        a = s.post("/approvals", {"decision": d}, headers=bearer(agent)).json()
        op = make_token(db, "op-bot", "security_operator")
        r = s.post(f"/approvals/{a['approval_id']}/approve", {"reason": "ok"},
                   headers=bearer(op))
        assert r.status_code == 403 and "Repository Owners" in r.json()["detail"]
        r = s.post(f"/approvals/{a['approval_id']}/approve", {"actor": "someone", "reason": "ok"},
                   headers=bearer(admin))
        assert r.status_code == 403 and "not the caller" in r.json()["detail"]
        r = s.post(f"/approvals/{a['approval_id']}/approve", {"reason": "ok"},
                   headers=bearer(admin))
        assert r.status_code == 200 and r.json()["decided_by"] == "root-bot", r.text
        # revoke: refused at once (on PostgreSQL once the notification reached the server's
        # token listener, which is what the wait allows for: test_token_cache.py)
        code, out, _ = cavra("tokens", "revoke", "ci-agent", db=db)
        assert code == 0 and "revoked 1" in out
        until(lambda: s.get("/auth/whoami", headers=bearer(agent)).status_code == 401,
              "the revoked token refused", timeout=2)
        r = s.get("/auth/whoami", headers=bearer(agent))
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
        assert "Bearer" in r.headers["WWW-Authenticate"]
        assert cavra("tokens", "revoke", "ci-agent", db=db)[0] == 1
        logs = s.stderr()
    assert "auth: denied" in logs and "subject=token:ci-agent" in logs
    assert agent not in logs and auditor not in logs and admin not in logs


def test_the_metrics_role_reads_metrics_and_nothing_else(migrated, tmp_path):
    # a Prometheus token: before this role it had to be an auditor's, which reads all activity
    tok = make_token(migrated, "prometheus", "metrics")
    with serve(migrated, tmp=tmp_path) as s:
        r = s.get("/metrics", headers=bearer(tok))
        assert r.status_code == 200 and "cavra_http_requests_total" in r.text, r.text[:300]
        who = s.get("/auth/whoami", headers=bearer(tok)).json()
        assert who["roles"] == ["metrics"], who
        assert sorted(who["permissions"]) == ["auth.read", "metrics.read"], who
        for path in ("/decisions", "/sessions", "/approvals", "/agents", "/evidence",
                     "/policy-packs", "/repositories", "/integrations", "/audit/head",
                     "/operations/stores", "/mcp/servers", "/policy-rollouts"):
            r = s.get(path, headers=bearer(tok))
            assert r.status_code == 403, (path, r.status_code, r.text)
        r = s.post("/decisions", {"action_type": "read_file"}, headers=bearer(tok))
        assert r.status_code == 403 and "decisions.create" in r.json()["detail"]


def listed_tokens(db):
    code, out, err = cavra("tokens", "list", "--format", "json", db=db)
    assert code == 0, err
    return {t["name"]: t for t in json.loads(out)}


def test_a_tokens_last_use_is_recorded_at_most_once_a_minute(migrated, tmp_path):
    db = migrated
    used = make_token(db, "ci-used", "agent")
    idle = make_token(db, "ci-idle", "agent")
    gone = make_token(db, "ci-gone", "agent")
    assert cavra("tokens", "revoke", "ci-gone", db=db)[0] == 0
    assert all(t["last_used_at"] is None for t in listed_tokens(db).values())
    # the database's last use decides here: a token remembered on PostgreSQL is judged by the
    # use its process recorded, which the rewind by SQL below does not move
    with serve(db, "--auth-token-cache-seconds", "0", tmp=tmp_path) as s:
        t0 = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
        assert s.get("/auth/whoami", headers=bearer(used)).status_code == 200
        t1 = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 1))
        assert s.get("/auth/whoami", headers=bearer(gone)).status_code == 401
        first = listed_tokens(db)
        assert t0 <= first["ci-used"]["last_used_at"] <= t1, first["ci-used"]
        assert first["ci-idle"]["last_used_at"] is None
        assert first["ci-gone"]["last_used_at"] is None  # a refused token was not used
        # within the minute: nothing more is written
        for _ in range(3):
            assert s.get("/auth/whoami", headers=bearer(used)).status_code == 200
        assert listed_tokens(db)["ci-used"]["last_used_at"] == first["ci-used"]["last_used_at"]
        # a use older than a minute is moved on by the next request
        sql(db, "UPDATE api_tokens SET last_used_at = '2020-01-02T03:04:05.000000Z' "
                "WHERE name = 'ci-used'")
        assert s.get("/auth/whoami", headers=bearer(used)).status_code == 200
        assert listed_tokens(db)["ci-used"]["last_used_at"] >= first["ci-used"]["last_used_at"]
        assert idle not in s.stderr() and used not in s.stderr()
    code, out, _ = cavra("tokens", "list", db=db)
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "last used never" in lines["ci-idle"]
    assert "last used 20" in lines["ci-used"] and "last used never" not in lines["ci-used"]


def test_expired_token(migrated, tmp_path):
    tok = make_token(migrated, "short", "auditor", expires="1s")
    import time
    time.sleep(1.2)
    with serve(migrated, tmp=tmp_path) as s:
        r = s.get("/decisions", headers=bearer(tok))
        assert r.status_code == 401 and "expired" in r.json()["detail"]


@pytest.mark.parametrize("headers,needle", [
    ({"Authorization": "Bearer"}, "no token"),
    ({"Authorization": "Bearer    "}, "no token"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer"),
    ({"Authorization": "Bearer " + "a" * 100_000}, "longer than"),
    ({"Authorization": "Bearer cavra_" + "0" * 64}, "unknown API token"),
    ({"Authorization": "Bearer not.a.jwt"}, None),
])
def test_bad_authorization_headers_are_401(migrated, tmp_path, headers, needle):
    with serve(migrated, tmp=tmp_path) as s:
        r = s.get("/decisions", headers=headers)
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "unauthenticated"
        if needle:
            assert needle in r.json()["detail"]
        assert s.get("/healthz", headers=headers).status_code == 200


def test_two_authorization_headers(migrated, tmp_path):
    tok = make_token(migrated, "dup", "auditor")
    with serve(migrated, tmp=tmp_path) as s:
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        c.putrequest("GET", "/decisions")
        c.putheader("Authorization", f"Bearer {tok}")
        c.putheader("Authorization", f"Bearer {tok}")
        c.endheaders()
        r = c.getresponse()
        assert r.status == 401 and b"more than one" in r.read()


def test_none_mode_refuses_public_listener_without_flag(migrated, tmp_path):
    code, _, err = cavra("serve", "--listen", "0.0.0.0:1", db=migrated, timeout=20)
    assert code == 2 and "--allow-unauthenticated" in one_line(err)
    with serve(migrated, "--allow-unauthenticated", tmp=tmp_path) as s:
        assert s.get("/decisions").status_code == 200
    # loopback is fine and says so nowhere
    with serve(migrated, tmp=tmp_path) as s:
        who = s.get("/auth/whoami").json()
        assert who["auth_mode"] == "none" and "admin" in who["roles"]


def test_oidc_mode_needs_an_issuer(migrated):
    code, _, err = cavra("serve", "--auth-mode", "oidc", "--listen", "127.0.0.1:1",
                         db=migrated, timeout=20)
    assert code == 2 and "oidc_issuer" in one_line(err)
    code, _, err = cavra("serve", "--auth-mode", "oidc", "--oidc-issuer", "http://127.0.0.1:9",
                         "--listen", "127.0.0.1:1", db=migrated, timeout=20)
    assert code == 2 and "oidc_audience" in one_line(err)
    code, _, err = cavra("serve", "--auth-mode", "ldap", db=migrated, timeout=20)
    assert code == 2 and "none, oidc" in one_line(err)


def test_auth_permissions_command():
    code, out, err = cavra("auth", "permissions")
    assert code == 0 and "approvals.decide" in out and "break_glass_approver" in out
    assert cavra("auth", "nothing")[0] == 2


def create_many(db, name, n):
    """n `cavra tokens create --name name` at once; returns their (exit code, stderr)."""
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        runs = list(pool.map(lambda _: cavra("tokens", "create", "--name", name, "--role",
                                             "agent", db=db), range(n)))
    return [(code, err) for code, _, err in runs]


def assert_one_won(db, name, runs):
    assert sorted(code for code, _ in runs) == [0] + [1] * (len(runs) - 1), runs
    for code, err in runs:
        assert code == 0 or f"a token called '{name}' exists" in one_line(err), err
    assert sql(db, f"SELECT count(*) FROM api_tokens WHERE name = '{name}' "
                   "AND revoked_at IS NULL") == [["1"]]


def test_a_revoked_tokens_name_is_never_given_again(migrated):
    """Records and Idempotency-Keys carry a token's name: a new token of a revoked one's name
    would be served its stored decisions and look like it in every record."""
    make_token(migrated, "ci-rotated", "agent")
    assert cavra("tokens", "revoke", "ci-rotated", db=migrated)[0] == 0
    code, out, err = cavra("tokens", "create", "--name", "ci-rotated", "--role", "agent",
                           db=migrated)
    assert code == 1 and out == "", (code, out, err)
    assert "a token called 'ci-rotated' was revoked, and names are never given again" in err
    assert sql(migrated, "SELECT count(*) FROM api_tokens WHERE name = 'ci-rotated'") == [["1"]]
    make_token(migrated, "ci-rotated-2", "agent")


def test_concurrent_creates_of_one_name_make_one_token(migrated):
    for round_ in range(3):
        assert_one_won(migrated, f"race-{round_}", create_many(migrated, f"race-{round_}", 6))


def test_name_check_that_all_pass_still_makes_one_token(pg_db):
    """PostgreSQL, READ COMMITTED: a lock held elsewhere lets every create pass its name check
    and then wait at its INSERT, the window two concurrent creates can meet in; when it is
    released, the database's unique index must refuse all but one."""
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    holder = subprocess.Popen([os.path.join(pg_bindir(), "psql"), pg_db, "-X", "-q"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        holder.stdin.write("BEGIN;\nLOCK TABLE api_tokens IN SHARE ROW EXCLUSIVE MODE;\n"
                           "SELECT 1;\n")
        holder.stdin.flush()
        waiting = ("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                   "WHERE c.relname = 'api_tokens' AND NOT l.granted")
        held = ("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = 'api_tokens' AND l.mode = 'ShareRowExclusiveLock' "
                "AND l.granted")
        deadline = time.time() + 30
        while psql(pg_db, held) != "1":
            assert time.time() < deadline, "the lock was not taken"
            time.sleep(0.05)
        pool = concurrent.futures.ThreadPoolExecutor(4)
        futures = [pool.submit(cavra, "tokens", "create", "--name", "twin", "--role", "agent",
                               db=pg_db) for _ in range(4)]
        # every create has read "no such name" and waits for the lock at its INSERT
        while psql(pg_db, waiting) != "4":
            assert time.time() < deadline, psql(pg_db, "SELECT * FROM pg_locks")
            time.sleep(0.05)
    finally:
        holder.stdin.write("COMMIT;\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    runs = [(code, err) for code, _, err in (f.result() for f in futures)]
    pool.shutdown()
    assert_one_won(pg_db, "twin", runs)


def token_payload(db, name):
    rows = sql(db, "SELECT token_id, CAST(payload AS TEXT) FROM api_tokens "
                   f"WHERE name = '{name}' AND revoked_at IS NULL")
    assert len(rows) == 1, rows
    return rows[0][0], json.loads(rows[0][1])


def test_sealed_tokens_refuse_rows_written_in_the_database(migrated, tmp_path):
    """With api_token_key_file set, a token row planted by SQL, or one whose roles or expiry
    were widened, lets nobody in; tokens made before the key are refused until `cavra tokens
    seal`, which seals only what the audit chain vouches for."""
    db = migrated
    keyfile = tmp_path / "token-key"
    keyfile.write_text("k" * 40 + "\n")
    key = {"CAVRA_API_TOKEN_KEY_FILE": str(keyfile)}
    old = make_token(db, "before-key", "agent")
    code, out, err = cavra("tokens", "create", "--name", "ci", "--role", "agent",
                           "--expires-in", "1d", db=db, env=key)
    assert code == 0, err
    ci = out.strip()
    tid, p = token_payload(db, "ci")
    assert len(p["seal"]) == 64 and p["roles"] == ["agent"]
    # a key that is too short, or a file that is not there: exit 2, the key never printed
    short = tmp_path / "short"
    short.write_text("s3cr3t\n")
    code, _, err = cavra("tokens", "list", db=db, env={"CAVRA_API_TOKEN_KEY_FILE": str(short)})
    assert code == 2 and "at least 32" in one_line(err) and "s3cr3t" not in err
    code, _, err = cavra("tokens", "seal", db=db)
    assert code == 2 and "api_token_key_file" in one_line(err)
    code, _, err = cavra("tokens", "list", db=db,
                         env={"CAVRA_API_TOKEN_KEY_FILE": str(tmp_path / "none")})
    assert code == 2 and "api_token_key_file" in one_line(err)
    code, out, _ = cavra("tokens", "list", "--format", "json", db=db, env=key)
    assert {t["name"]: t["seal"] for t in json.loads(out)} == {"ci": "current",
                                                                "before-key": "none"}
    code, out, _ = cavra("tokens", "list", db=db, env=key)
    assert [ln for ln in out.splitlines() if "NOT SEALED" in ln][0].startswith("before-key")
    until_at = sql(db, f"SELECT CAST(expires_at AS TEXT) FROM api_tokens WHERE token_id = "
                       f"'{tid}'")
    # planted: a token of the forger's own, its row and seal copied from a sealed one
    planted = plant_token(db, "tok_planted00", "0", "ci")
    with serve(db, env=key, tmp=tmp_path) as s:
        assert s.get("/auth/whoami", headers=bearer(ci)).status_code == 200
        for t in (old, planted):
            r = s.get("/auth/whoami", headers=bearer(t))
            assert r.status_code == 401 and "does not match its seal" in r.json()["detail"], r.text
        # widened by SQL: the admin role, or no expiry; put back, it works again (on
        # PostgreSQL once the row's notification reached the server's token listener, which
        # the waits allow for, as for a revocation)
        def answers(code, what):
            until(lambda: s.get("/auth/whoami", headers=bearer(ci)).status_code == code, what,
                  timeout=2)

        widened = json.dumps(dict(p, roles=["admin"]))
        sql(db, f"UPDATE api_tokens SET payload = '{widened}' WHERE token_id = '{tid}'")
        answers(401, "the widened roles refused")
        sql(db, f"UPDATE api_tokens SET payload = '{json.dumps(p)}' WHERE token_id = '{tid}'")
        answers(200, "the roles put back accepted")
        sql(db, f"UPDATE api_tokens SET expires_at = NULL WHERE token_id = '{tid}'")
        answers(401, "the expiry removed refused")
        sql(db, f"UPDATE api_tokens SET expires_at = '{until_at[0][0]}' WHERE token_id = '{tid}'")
        answers(200, "the expiry put back accepted")
        assert "does not match its seal" in s.stderr() and ci not in s.stderr()
    # sealing seals what the chain vouches for: the token made before the key, not the plant
    code, out, err = cavra("tokens", "seal", db=db, env=key)
    assert code == 1 and "sealed 1 token; 1 already sealed with the current key; 1 refused" \
        in out, out
    assert "'planted' (tok_planted00) not sealed" in err and "audit chain" in err
    assert cavra("tokens", "seal", db=db, env=key)[1].startswith("sealed 0 tokens; 2 already")
    with serve(db, env=key, tmp=tmp_path) as s:
        assert s.get("/auth/whoami", headers=bearer(old)).status_code == 200
        assert s.get("/auth/whoami", headers=bearer(ci)).status_code == 200
        assert s.get("/auth/whoami", headers=bearer(planted)).status_code == 401
    code, out, _ = cavra("audit", "verify", db=db)
    assert code == 1 and "tok_planted00" in out, out
    assert cavra("tokens", "revoke", "planted", db=db)[0] == 0
    # rotation: the new key first, the old one second, until every token is sealed again
    rotating = tmp_path / "token-key-rotating"
    rotating.write_text("n" * 40 + "\n" + "k" * 40 + "\n")
    both = {"CAVRA_API_TOKEN_KEY_FILE": str(rotating)}
    code, out, _ = cavra("tokens", "list", db=db, env=both)
    assert "SEALED WITH THE PREVIOUS KEY" in out and "NOT SEALED" not in out, out
    with serve(db, env=both, tmp=tmp_path) as s:
        assert s.get("/auth/whoami", headers=bearer(ci)).status_code == 200
        code, out, _ = cavra("tokens", "seal", db=db, env=both)
        assert code == 0 and out.startswith("sealed 2 tokens; 0 already"), out
        assert s.get("/auth/whoami", headers=bearer(ci)).status_code == 200
    new = tmp_path / "token-key-new"
    new.write_text("n" * 40 + "\n")
    with serve(db, env={"CAVRA_API_TOKEN_KEY_FILE": str(new)}, tmp=tmp_path) as s:
        assert s.get("/auth/whoami", headers=bearer(old)).status_code == 200
        assert s.get("/auth/whoami", headers=bearer(ci)).status_code == 200
    with serve(db, env=key, tmp=tmp_path) as s:  # the old key alone no longer fits
        assert s.get("/auth/whoami", headers=bearer(ci)).status_code == 401
    for text in ("n" * 40 + "\nshort\n", "n" * 40 + "\n" + "k" * 40 + "\n" + "m" * 40 + "\n"):
        bad = tmp_path / "token-key-bad"
        bad.write_text(text)
        code, _, err = cavra("tokens", "list", db=db, env={"CAVRA_API_TOKEN_KEY_FILE": str(bad)})
        assert code == 2 and ("second line" in err or "more than two" in err), err
    # without the key no seal is checked, but the audit chain still is: the expiry removed by
    # SQL is refused, and put back it works again
    with serve(db, tmp=tmp_path) as s:
        sql(db, f"UPDATE api_tokens SET expires_at = NULL WHERE token_id = '{tid}'")
        r = s.get("/auth/whoami", headers=bearer(ci))
        assert r.status_code == 401 and NOT_VOUCHED in r.json()["detail"], r.text
        sql(db, f"UPDATE api_tokens SET expires_at = '{until_at[0][0]}' WHERE token_id = '{tid}'")
        until(lambda: s.get("/auth/whoami", headers=bearer(ci)).status_code == 200,
              "the expiry put back accepted", timeout=2)


NOT_VOUCHED = "is not what the audit chain last recorded for it"


def test_a_token_the_chain_does_not_vouch_for_is_refused(migrated, tmp_path):
    """Without api_token_key_file too, a token is used only as the audit chain last recorded
    it: one planted by SQL (as a restored unsigned backup can carry one), or one whose
    revocation was taken back there, is refused with 401; the tokens cavra wrote work."""
    db = migrated
    agent = make_token(db, "ci", "agent")
    admin = make_token(db, "root-bot", "admin", expires="never")
    planted = plant_token(db, "tok_planted01", "1", "root-bot")
    assert cavra("tokens", "revoke", "ci", db=db)[0] == 0
    sql(db, "UPDATE api_tokens SET revoked_at = NULL WHERE name = 'ci'")
    with serve(db, tmp=tmp_path) as s:
        assert s.get("/auth/whoami", headers=bearer(admin)).status_code == 200
        for t in (planted, agent):
            r = s.get("/auth/whoami", headers=bearer(t))
            assert r.status_code == 401 and NOT_VOUCHED in r.json()["detail"], r.text
        assert NOT_VOUCHED in s.stderr() and planted not in s.stderr()
    code, out, err = cavra("audit", "verify", db=db)
    assert code == 1 and "tok_planted01" in out, out + err


def test_planted_text_cannot_hide_a_token_or_a_migration(migrated):
    """`cavra tokens list` and `cavra migrate status` print values read from the database: a
    token planted by SQL whose name moves the cursor up and clears a line (or reverses the
    text), or a ledger row renamed so, is printed escaped, so it cannot hide itself or another
    line from an operator."""
    db = migrated
    make_token(db, "root-bot", "admin", expires="never")
    evil = "ok\x1b[1A\x1b[2K\u202e"
    sql(db, "INSERT INTO api_tokens (token_id, token_sha256, name, subject, created_by, "
            "expires_at, created_at, updated_at, payload) SELECT 'tok_planted00', "
            f"'{'0' * 64}', '{evil}', subject, created_by, expires_at, created_at, updated_at, "
            "payload FROM api_tokens WHERE name = 'root-bot'")
    code, out, err = cavra("tokens", "list", db=db)
    assert code == 0 and "\x1b" not in out and "\u202e" not in out, out + err
    line = next(ln for ln in out.splitlines() if "tok_planted00" in ln)
    assert line.startswith("ok\\x1b[1A\\x1b[2K\\u202e "), line
    assert any(ln.startswith("root-bot ") for ln in out.splitlines()), out
    sql(db, f"UPDATE schema_migrations SET checksum = '{evil}' WHERE version = 1")
    code, out, err = cavra("migrate", "status", db=db)
    assert "\x1b" not in out + err and "\u202e" not in out + err, out + err
    assert "ok\\x1b[1A\\x1b[2K\\u202e" in out + err, out + err
