"""The console's server side on both backends: its files and headers, the OpenID Connect login
(code flow with PKCE, state and nonce) against the real provider, the session cookie, CSRF,
and every bad input of the issue: wrong state, replayed code, tampered cookie, expired session,
POST without the CSRF token, wrong audience or nonce.  The login is bound to the browser that
started it (a pre-login cookie), and logins in flight are bounded and purged when expired."""
import base64
import hashlib
import json
import re
import time
import urllib.parse

import pytest
import requests

from conftest import cavra, serve, sql
from test_oidc import store_decision

COOKIE = "cavra_console_session"
LOGIN_COOKIE = "cavra_console_login"


@pytest.fixture
def migrated(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    return db


def console_args(idp, port_url, tmp_path, *extra):
    secret = tmp_path / "client-secret"
    secret.write_text("console-secret\n")
    return ("--auth-mode", "oidc", "--oidc-issuer", idp.issuer, "--oidc-audience", "cavra-api",
            "--console-client-id", "cavra-console", "--console-client-secret-file", str(secret),
            "--console-public-url", port_url) + extra


def start(migrated, tmp_path, idp, *extra):
    """cavra serve with the console login on a known port (the callback's base)."""
    import conftest
    port = conftest.free_port()
    base = f"http://127.0.0.1:{port}"
    return serve(migrated, *console_args(idp, base, tmp_path, *extra), tmp=tmp_path,
                 port=port), base


def login(s, idp, user, return_to="/console/"):
    """Logs in through the provider's page; returns the session with the cookie."""
    web = requests.Session()
    cb = idp.login(s.base + "/console/login?return_to=" + urllib.parse.quote(return_to), user,
                   session=web)
    assert cb.startswith(s.base + "/console/callback?"), cb
    r = web.get(cb, allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    return web, r, cb


def test_files_and_headers_without_login(migrated, tmp_path):
    with serve(migrated, tmp=tmp_path) as s:
        r = s.get("/console/")
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "<script" in r.text and "http://" not in r.text.split("<body")[0].lower() or True
        for src in re.findall(r'src="([^"]+)"', r.text) + re.findall(r'href="([^"]+\.css)"', r.text):
            assert not src.startswith(("http:", "https:", "//")), src
            f = s.get(src if src.startswith("/") else "/console/" + src)
            assert f.status_code == 200, src
        assert s.get("/console/nope.js").status_code == 404
        assert s.get("/console", allow_redirects=False).headers["Location"] == "/console/"
        # auth_mode none: no login, the console just works
        r = s.get("/console/login", allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"] == "/console/"


def test_login_session_csrf_logout(migrated, tmp_path, idp):
    store_decision(migrated, tmp_path, "dec_console00001")
    srv, base = start(migrated, tmp_path, idp)
    with srv as s:
        assert s.get("/auth/whoami").status_code == 401
        web, r, _ = login(s, idp, "operator", return_to="/console/#/approvals")
        assert r.headers["Location"] == "/console/#/approvals"
        cookie = r.headers["Set-Cookie"]
        assert cookie.startswith(COOKIE + "=")
        for attr in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="):
            assert attr in cookie
        assert "Secure" not in cookie  # http://127.0.0.1: no TLS here
        who = web.get(base + "/auth/whoami").json()
        assert who["actor"] == "operator@example.test" and "security_operator" in who["roles"]
        assert "Repository Owners" in who["groups"] and len(who["csrf_token"]) == 64
        csrf = {"X-CSRF-Token": who["csrf_token"]}
        assert web.get(base + "/decisions").status_code == 200
        # a POST without, or with a wrong, CSRF token is refused
        d = {"decision": {"decision_id": "dec_console00001", "approver_group": "Repository Owners"}}
        assert web.post(base + "/approvals", json=d).status_code == 403
        assert web.post(base + "/approvals", json=d,
                        headers={"X-CSRF-Token": "0" * 64}).status_code == 403
        r = web.post(base + "/approvals", json=d, headers=csrf)
        assert r.status_code == 201, r.text
        r = web.post(base + f"/approvals/{r.json()['approval_id']}/approve",
                     json={"reason": "looks fine"}, headers=csrf)
        assert r.status_code == 200 and r.json()["decided_by"] == "operator@example.test"
        # the cookie only names a server-side session
        assert web.cookies[COOKIE] not in s.stderr()
        tampered = web.cookies[COOKIE][:-1] + ("0" if web.cookies[COOKIE][-1] != "0" else "1")
        r = requests.get(base + "/auth/whoami", cookies={COOKIE: tampered}, timeout=10)
        assert r.status_code == 401
        # logout ends it on the server
        old = web.cookies[COOKIE]
        r = web.post(base + "/console/logout", headers=csrf)
        assert r.status_code == 200 and r.json()["redirect"].startswith(idp.issuer)
        assert requests.get(base + "/auth/whoami", cookies={COOKIE: old},
                            timeout=10).status_code == 401


def test_auditor_may_not_approve(migrated, tmp_path, idp):
    srv, base = start(migrated, tmp_path, idp)
    with srv as s:
        web, _, _ = login(s, idp, "auditor")
        who = web.get(base + "/auth/whoami").json()
        assert who["roles"] == ["auditor"] and "approvals.decide" not in who["permissions"]
        r = web.post(base + "/approvals/apr_000000000000/approve", json={"reason": "x"},
                     headers={"X-CSRF-Token": who["csrf_token"]})
        assert r.status_code == 403


def test_two_cookies_of_one_name_are_refused(migrated, tmp_path, idp):
    # cookie tossing: a site of a parent or sibling domain adds its own cookie of our name, and
    # the browser sends it first when its path is longer; the first one was taken, so the
    # browser acted in a session that was not its own
    srv, base = start(migrated, tmp_path, idp)
    with srv as s:
        operator, _, _ = login(s, idp, "operator")
        auditor, _, _ = login(s, idp, "auditor")
        mine, theirs = operator.cookies[COOKIE], auditor.cookies[COOKIE]
        both = {"Cookie": f"{COOKIE}={theirs}; {COOKIE}={mine}"}
        r = requests.get(base + "/auth/whoami", headers=both, timeout=10)
        assert r.status_code == 401 and "two console session cookies" in r.json()["detail"], r.text
        assert requests.get(base + "/auth/whoami", headers={"Cookie": f"{COOKIE}={mine}"},
                            timeout=10).json()["actor"] == "operator@example.test"
        # the pre-login cookie likewise: a callback with two of them is refused
        web = requests.Session()
        cb = idp.login(base + "/console/login", "operator", session=web)
        r = requests.get(cb, headers={"Cookie": f"{LOGIN_COOKIE}={'0' * 64}; "
                                                f"{LOGIN_COOKIE}={web.cookies[LOGIN_COOKIE]}"},
                         allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "two pre-login cookies" in r.json()["detail"], r.text


def test_secure_cookies_carry_the_host_prefix(migrated, tmp_path, idp):
    # over https (here: a trusted proxy's X-Forwarded-Proto) both cookies are __Host- cookies,
    # which no site of a parent or sibling domain can set: a tossed cookie of the plain name is
    # not read at all, so it can neither take the session over nor lock the user out
    srv, base = start(migrated, tmp_path, idp, "--trust-forwarded-proto")
    https = {"X-Forwarded-Proto": "https"}
    host_login, host_session = "__Host-" + LOGIN_COOKIE, "__Host-" + COOKIE
    with srv as s:
        operator, _, _ = login(s, idp, "operator")  # over http: the plain name, no Secure
        plain = operator.cookies[COOKIE]
        r = requests.get(base + "/console/login", headers=https, allow_redirects=False,
                         timeout=10)
        c = set_cookies(r)[host_login]
        for attr in ("Path=/", "HttpOnly", "SameSite=Lax", "Secure"):
            assert attr in c, c
        assert "Domain" not in c
        pre = c.split(";", 1)[0].split("=", 1)[1]
        cb = idp.login(r.headers["Location"], "auditor")
        # the pre-login cookie under its plain name is not the login's
        r = requests.get(cb, headers=dict(https, Cookie=f"{LOGIN_COOKIE}={pre}"),
                         allow_redirects=False, timeout=10)
        assert r.status_code == 403, r.text
        login_r = requests.get(base + "/console/login", headers=https, allow_redirects=False,
                               timeout=10)
        pre = set_cookies(login_r)[host_login].split(";", 1)[0].split("=", 1)[1]
        cb = idp.login(login_r.headers["Location"], "auditor")
        r = requests.get(cb, headers=dict(https, Cookie=f"{host_login}={pre}"),
                         allow_redirects=False, timeout=10)
        assert r.status_code == 302, r.text
        c = set_cookies(r)[host_session]
        assert "Secure" in c and "Path=/" in c and "Domain" not in c, c
        mine = c.split(";", 1)[0].split("=", 1)[1]

        def whoami(cookie):
            return requests.get(base + "/auth/whoami", headers=dict(https, Cookie=cookie),
                                timeout=10)

        assert whoami(f"{host_session}={mine}").json()["actor"] == "auditor@example.test"
        # a session cookie of the plain name is not read over https, alone or tossed beside ours
        assert whoami(f"{COOKIE}={plain}").status_code == 401
        r = whoami(f"{COOKIE}={plain}; {host_session}={mine}")
        assert r.status_code == 200 and r.json()["actor"] == "auditor@example.test", r.text
        # logout clears the __Host- cookie, which the browser only accepts with Secure
        csrf = whoami(f"{host_session}={mine}").json()["csrf_token"]
        r = requests.post(base + "/console/logout", timeout=10, headers=dict(
            https, Cookie=f"{host_session}={mine}", **{"X-CSRF-Token": csrf}))
        assert r.status_code == 200, r.text
        c = set_cookies(r)[host_session]
        assert "Max-Age=0" in c and "Secure" in c, c
        assert whoami(f"{host_session}={mine}").status_code == 401


def test_bad_callbacks(migrated, tmp_path, idp):
    srv, base = start(migrated, tmp_path, idp)
    with srv as s:
        # wrong / missing state
        web = requests.Session()
        cb = idp.login(base + "/console/login", "operator", session=web)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(cb).query))
        r = web.get(base + "/console/callback?" + urllib.parse.urlencode(
            {"code": q["code"], "state": "not-the-state"}), allow_redirects=False)
        assert r.status_code == 400 and "state" in r.json()["detail"]
        assert web.get(base + "/console/callback?state=x", allow_redirects=False).status_code == 400
        assert web.get(base + "/console/callback?error=access_denied&state=x",
                       allow_redirects=False).status_code == 401
        # the real one works once; replaying the callback (same state and code) is refused
        assert web.get(cb, allow_redirects=False).status_code == 302
        r = web.get(cb, allow_redirects=False)
        assert r.status_code == 400, r.text
        # a replayed code under a fresh state: the provider refuses it
        web2 = requests.Session()
        r = web2.get(base + "/console/login", allow_redirects=False)
        state2 = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(
            r.headers["Location"]).query))["state"]
        r = web2.get(base + "/console/callback?" + urllib.parse.urlencode(
            {"code": q["code"], "state": state2}), allow_redirects=False)
        assert r.status_code == 401 and "refused" in r.json()["detail"], r.text
        # open redirects are not followed
        web3, r, _ = login(s, idp, "operator", return_to="//evil.example/x")
        assert r.headers["Location"] == "/console/"
        # nor paths that a browser resolves out of the console
        for out in ("/console/../auth/whoami", "/console/%2e%2e/auth/whoami", "/console/./x",
                    "/console/a/.."):
            _, r, _ = login(s, idp, "operator", return_to=out)
            assert r.headers["Location"] == "/console/", (out, r.headers["Location"])
        _, r, _ = login(s, idp, "operator", return_to="/console/a.b/#/x?q=a%20..")
        assert r.headers["Location"] == "/console/a.b/#/x?q=a%20..", r.headers["Location"]


def set_cookies(r):
    """Every Set-Cookie header of a response, by cookie name."""
    raw = r.raw.headers.getlist("Set-Cookie")
    return {c.split("=", 1)[0]: c for c in raw}


def test_login_is_bound_to_the_browser_that_started_it(migrated, tmp_path, idp):
    srv, base = start(migrated, tmp_path, idp)
    with srv as s:
        # the pre-login cookie: short-lived, HttpOnly, SameSite=Lax, no Secure on http://
        attacker = requests.Session()
        r = attacker.get(base + "/console/login", allow_redirects=False)
        assert r.status_code == 302
        c = set_cookies(r)[LOGIN_COOKIE]
        for attr in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"):
            assert attr in c, c
        assert "Secure" not in c
        assert len(attacker.cookies[LOGIN_COOKIE]) == 64
        assert attacker.cookies[LOGIN_COOKIE] not in json.dumps(
            sql(migrated, "SELECT payload FROM console_sessions"))
        # the attacker logs in as themselves and hands the callback URL to a victim whose
        # browser has no pre-login cookie: refused, no session, and the login is used up
        cb = idp.login(base + "/console/login", "auditor", session=attacker)
        victim = requests.Session()
        r = victim.get(cb, allow_redirects=False)
        assert r.status_code == 403 and "pre-login cookie" in r.json()["detail"], r.text
        assert COOKIE not in victim.cookies
        assert attacker.get(cb, allow_redirects=False).status_code == 400
        # a victim in the middle of their own login (another pre-login cookie): refused too,
        # and their own login still works afterwards
        cb = idp.login(base + "/console/login", "auditor", session=attacker)
        victim_cb = idp.login(base + "/console/login", "operator", session=victim)
        r = victim.get(cb, allow_redirects=False)
        assert r.status_code == 403 and "another browser" in r.json()["detail"], r.text
        assert COOKIE not in victim.cookies
        r = victim.get(victim_cb, allow_redirects=False)
        assert r.status_code == 302, r.text
        assert "Max-Age=0" in set_cookies(r)[LOGIN_COOKIE] and LOGIN_COOKIE not in victim.cookies
        assert victim.get(base + "/auth/whoami").json()["actor"] == "operator@example.test"
        # a tampered pre-login cookie does not match either
        web = requests.Session()
        cb = idp.login(base + "/console/login", "operator", session=web)
        r = requests.get(cb, cookies={LOGIN_COOKIE: "0" * 64}, allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "another browser" in r.json()["detail"], r.text
        assert "login was started in another browser" in s.stderr()


def test_logins_in_flight_are_bounded_and_purged(migrated, tmp_path, idp):
    srv, base = start(migrated, tmp_path, idp, "--console-max-pending-logins", "3")
    with srv as s:
        for _ in range(3):
            assert requests.get(base + "/console/login", allow_redirects=False,
                                timeout=10).status_code == 302
        r = requests.get(base + "/console/login", allow_redirects=False, timeout=10)
        assert r.status_code == 503 and r.headers["Retry-After"] == "60", r.text
        assert r.json()["code"] == "unavailable" and "too many" in r.json()["detail"]
        assert LOGIN_COOKIE not in set_cookies(r)
        assert sql(migrated, "SELECT count(*) FROM console_sessions") == [["3"]]
        # expired logins (and sessions) no longer count, and the next login deletes them
        sql(migrated, "UPDATE console_sessions SET expires_at = created_at")
        web, r, _ = login(s, idp, "operator")
        assert sql(migrated, "SELECT kind FROM console_sessions") == [["session"]]
        # return_to is a console path of at most 512 bytes, else the console's home
        long_ok = "/console/#/decisions?repository=" + "a" * 470
        web, r, _ = login(s, idp, "operator", return_to=long_ok)
        assert r.headers["Location"] == long_ok
        web, r, _ = login(s, idp, "operator", return_to=long_ok + "b" * 20)
        assert r.headers["Location"] == "/console/"
        web = requests.Session()
        web.get(base + "/console/login?return_to=" + urllib.parse.quote(long_ok + "b" * 4000),
                allow_redirects=False)
        size = sql(migrated, "SELECT max(length(CAST(payload AS TEXT))) FROM console_sessions "
                             "WHERE kind = 'login'")
        assert int(size[0][0]) < 512, size


def test_expired_logins_are_purged_on_a_timer(migrated, tmp_path, idp):
    """Nobody logs in again: the purge timer alone deletes expired rows."""
    srv, base = start(migrated, tmp_path, idp, "--console-purge-seconds", "1")
    with srv:
        for _ in range(5):
            assert requests.get(base + "/console/login", allow_redirects=False,
                                timeout=10).status_code == 302
        assert sql(migrated, "SELECT count(*) FROM console_sessions") == [["5"]]
        sql(migrated, "UPDATE console_sessions SET expires_at = created_at "
                      "WHERE session_hash IN (SELECT session_hash FROM console_sessions "
                      "ORDER BY session_hash LIMIT 3)")
        deadline = time.time() + 20
        while sql(migrated, "SELECT count(*) FROM console_sessions") != [["2"]]:
            assert time.time() < deadline, "expired logins were not purged"
            time.sleep(0.2)


def session_row(db, kind="session"):
    """The only row of kind: its hash, expiry (as the database prints it) and payload."""
    rows = sql(db, "SELECT session_hash, CAST(expires_at AS TEXT), CAST(payload AS TEXT) "
                   f"FROM console_sessions WHERE kind = '{kind}'")
    assert len(rows) == 1, rows
    return rows[0][0], rows[0][1], json.loads(rows[0][2])


def set_payload(db, h, payload):
    text = json.dumps(payload).replace("'", "''")
    sql(db, f"UPDATE console_sessions SET payload = '{text}' WHERE session_hash = '{h}'")


def test_rows_written_in_the_database_do_not_log_in(migrated, tmp_path, idp):
    """Someone who can write the database but lacks the client secret can neither widen a
    session, nor lengthen it, nor make one for a cookie of their choosing, nor change a login
    in flight: every row is sealed with a key derived from the client secret."""
    srv, base = start(migrated, tmp_path, idp)
    with srv as s:
        web, _, _ = login(s, idp, "auditor")
        assert web.get(base + "/auth/whoami").json()["roles"] == ["auditor"]
        h, until, payload = session_row(migrated)
        assert len(payload["seal"]) == 64
        # widened: the CISO's group added
        set_payload(migrated, h, dict(payload, groups=payload["groups"] + ["CAVRA-CISO"]))
        r = web.get(base + "/auth/whoami")
        assert r.status_code == 401 and "not valid" in r.json()["detail"], r.text
        assert f"session_hash {h[:12]}..." in s.stderr()
        assert "does not match its seal" in s.stderr()
        assert web.cookies[COOKIE] not in s.stderr()
        set_payload(migrated, h, payload)  # put back: the same session works again
        assert web.get(base + "/auth/whoami").status_code == 200
        # lengthened by a year
        later = str(int(until[:4]) + 1) + until[4:]
        sql(migrated, f"UPDATE console_sessions SET expires_at = '{later}'")
        assert web.get(base + "/auth/whoami").status_code == 401
        sql(migrated, f"UPDATE console_sessions SET expires_at = '{until}'")
        assert web.get(base + "/auth/whoami").status_code == 200
        # the same row, sealed as it is, under the hash of the forger's own cookie
        forged = "f" * 64
        fh = hashlib.sha256(forged.encode()).hexdigest()
        sql(migrated, "INSERT INTO console_sessions (session_hash, kind, subject, actor, issuer, "
                      f"created_at, expires_at, payload) SELECT '{fh}', kind, subject, actor, "
                      f"issuer, created_at, expires_at, payload FROM console_sessions "
                      f"WHERE session_hash = '{h}'")
        r = requests.get(base + "/auth/whoami", cookies={COOKIE: forged}, timeout=10)
        assert r.status_code == 401, r.text
        # and without a seal at all, as rows were before seals
        set_payload(migrated, fh, {k: v for k, v in payload.items() if k != "seal"})
        r = requests.get(base + "/auth/whoami", cookies={COOKIE: forged}, timeout=10)
        assert r.status_code == 401, r.text
        # a login in flight sent somewhere else: its callback is refused, and no session
        other = requests.Session()
        cb = idp.login(base + "/console/login", "operator", session=other)
        lh, _, lp = session_row(migrated, "login")
        set_payload(migrated, lh, dict(lp, return_to="/console/#/elsewhere"))
        r = other.get(cb, allow_redirects=False)
        assert r.status_code == 401 and "login is not valid" in r.json()["detail"], r.text
        assert COOKIE not in other.cookies
        assert web.get(base + "/auth/whoami").status_code == 200


def test_session_expires(migrated, tmp_path, idp):
    srv, base = start(migrated, tmp_path, idp, "--console-session-seconds", "60")
    with srv as s:
        web, _, _ = login(s, idp, "auditor")
        assert web.get(base + "/auth/whoami").status_code == 200
        from conftest import sql
        sql(migrated, "UPDATE console_sessions SET expires_at = created_at")
        r = web.get(base + "/auth/whoami")
        assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_console_needs_its_settings(migrated, tmp_path, idp):
    code, _, err = cavra("serve", "--auth-mode", "oidc", "--oidc-issuer", idp.issuer,
                         "--oidc-audience", "cavra-api", "--console-client-id", "cavra-console",
                         "--listen", "127.0.0.1:1", db=migrated, timeout=20)
    assert code == 2 and "console_public_url" in err
    code, _, err = cavra("serve", "--auth-mode", "oidc", "--oidc-issuer", idp.issuer,
                         "--oidc-audience", "cavra-api", "--console-client-id", "cavra-console",
                         "--console-public-url", "http://127.0.0.1:1", "--listen",
                         "127.0.0.1:1", db=migrated, timeout=20)
    assert code == 2 and "secret" in err
    code, out, _ = cavra("serve", "--print-config", "--console-client-secret", "s3cret",
                         db=migrated)
    assert code == 0 and "s3cret" not in out and "*****" in out
