"""The console under another name than console_public_url, and plain http to another machine.

Cookies belong to the host name a browser used; the OpenID callback comes back under
console_public_url's. A console opened as http://localhost:<port> while configured as
http://127.0.0.1:<port> set its pre-login cookie for localhost, the callback on 127.0.0.1 found
none (403) and every login began again. Console pages and the login start now redirect to the
same path under console_public_url before any cookie is set (never to an address taken from
Host), and a callback that still arrives without its cookie under another name says so.

And `cavra serve` warns once at startup when console_public_url is http:// on a host that is
not this machine: the pre-login cookie's login-CSRF defence holds over https only, and the
session cookie then travels in clear."""
import json
import os
import subprocess
import urllib.parse

import pytest
import requests

import conftest
from conftest import cavra, serve, sql
from idp import node_binary
from test_console import CONSOLE_DIR, chromium, require_browser
from test_console_login import console_args

HOST_MJS = os.path.join(CONSOLE_DIR, "host.mjs")
LOGIN_COOKIE = "cavra_console_login"
MARK = "host_redirect=1"


@pytest.fixture
def migrated(tmp_path):
    db = f"sqlite:{tmp_path}/cavra.db"
    assert cavra("migrate", "up", db=db)[0] == 0
    return db


def start(migrated, tmp_path, idp, *extra, scheme="http"):
    port = conftest.free_port()
    public = f"{scheme}://127.0.0.1:{port}"
    return serve(migrated, *console_args(idp, public, tmp_path, *extra), tmp=tmp_path,
                 port=port), public


def get(s, path, host=None, **kw):
    headers = dict(kw.pop("headers", {}))
    if host:
        headers["Host"] = host
    return requests.get(s.base + path, headers=headers, allow_redirects=False, timeout=10, **kw)


def test_login_opened_under_another_name_works_in_chromium(migrated, tmp_path, idp):
    require_browser()
    srv, public = start(migrated, tmp_path, idp)
    with srv as s:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
        env.update(OPEN_URL=f"http://localhost:{s.port}/console/#/approvals", CAVRA_URL=public,
                   LOGIN_USER="operator", CHROMIUM=chromium())
        r = subprocess.run([node_binary(), HOST_MJS], cwd=CONSOLE_DIR, env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr + s.stderr()[-3000:]
        out = json.loads(r.stdout.split("result ", 1)[1])
        # before: the callback on 127.0.0.1 found no pre-login cookie (it was localhost's),
        # answered 403, and the console went to the login page again
        assert out["who"]["status"] == 200, (out, s.stderr()[-3000:])
        assert json.loads(out["who"]["body"])["actor"] == "operator@example.test"
        assert out["url"].startswith(public + "/console/"), out["url"]
        assert out["url"].endswith("#/approvals"), out["url"]  # the link survived both moves
        # no cookie was ever set for the other name
        assert not [c for c in out["cookies"] if c["domain"] == "localhost"], out["cookies"]
        assert "no pre-login cookie" not in s.stderr()


def test_other_hosts_are_redirected_to_the_public_url(migrated, tmp_path, idp):
    srv, public = start(migrated, tmp_path, idp)
    with srv as s:
        others = (f"localhost:{s.port}", "evil.example", f"evil.example:{s.port}",
                  f"127.0.0.1:{s.port + 1}", "127.0.0.1", f"EVIL.example:{s.port}")
        for host in others:
            for path, to in (("/console", "/console"), ("/console/", "/console/"),
                             ("/console/login?return_to=/console/%23/approvals",
                              "/console/login?return_to=%2Fconsole%2F%23%2Fapprovals&")):
                r = get(s, path, host=host)
                loc = r.headers.get("Location", "")
                assert r.status_code == 302, (host, path, r.status_code, r.text)
                assert loc == f"{public}{to}{'?' if '?' not in to else ''}{MARK}", (host, loc)
                assert "evil" not in loc.lower() and "localhost" not in loc, (host, loc)
                assert "Set-Cookie" not in r.headers, (host, path, r.headers)
        # a return_to that leaves the console is the console's home, as on the public address
        r = get(s, "/console/login?return_to=//evil.example/x", host="evil.example")
        assert r.headers["Location"] == f"{public}/console/login?return_to=%2Fconsole%2F&{MARK}"
        assert sql(migrated, "SELECT count(*) FROM console_sessions") == [["0"]]
        # under the public address itself nothing moves
        assert get(s, "/console/").status_code == 200
        r = get(s, "/console/login")
        assert r.status_code == 302 and r.headers["Location"].startswith(idp.issuer), r.headers
        assert LOGIN_COOKIE in r.headers["Set-Cookie"]
        # the console's files and the API are not pages: served under any name
        assert get(s, "/console/app.js", host="evil.example").status_code == 200
        assert get(s, "/healthz", host="evil.example").status_code == 200


def test_a_proxy_that_rewrites_host_does_not_loop(migrated, tmp_path, idp):
    # nginx's bare proxy_pass sends Host: <upstream>: after one redirect to the public URL the
    # request comes back with the mark and is served where it is, and the log says why
    srv, public = start(migrated, tmp_path, idp)
    with srv as s:
        r = get(s, f"/console/?{MARK}", host="cavra-upstream:8080")
        assert r.status_code == 200 and "<script" in r.text, r.status_code
        r = get(s, f"/console/login?return_to=%2Fconsole%2F&{MARK}", host="cavra-upstream:8080")
        assert r.status_code == 302 and r.headers["Location"].startswith(idp.issuer), r.headers
        pre = r.cookies[LOGIN_COOKIE]
        # the callback too works under the rewritten Host when the browser has its cookie
        cb = idp.login(r.headers["Location"], "operator")
        r = requests.get(cb, headers={"Host": "cavra-upstream:8080"},
                         cookies={LOGIN_COOKIE: pre}, allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"] == "/console/", r.text
        log = s.stderr()
        assert log.count("came back with another Host") == 1, log


def test_a_callback_without_its_cookie_names_both_addresses(migrated, tmp_path, idp):
    srv, public = start(migrated, tmp_path, idp)
    with srv as s:
        for host, shown in ((f"localhost:{s.port}", f"localhost:{s.port}"),
                            ('evil.example"><b>x</b>', "another address")):
            web = requests.Session()
            cb = idp.login(public + "/console/login", "operator", session=web)
            r = requests.get(cb, headers={"Host": host}, allow_redirects=False, timeout=10)
            assert r.status_code == 403, r.text
            detail = r.json()["detail"]
            assert f"opened as {shown}, but console_public_url is {public}" in detail, detail
            assert f"use {public}/console/" in detail and "<b>" not in detail, detail
        # under the public address the message stays what it was
        web = requests.Session()
        cb = idp.login(public + "/console/login", "operator", session=web)
        r = requests.get(cb, allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "opened as" not in r.json()["detail"], r.text


def test_http_behind_an_https_public_url_is_redirected(migrated, tmp_path, idp):
    # a trusted proxy saying the browser came over http, while console_public_url is https:
    # the Secure __Host- pre-login cookie would be neither kept nor sent back there
    srv, public = start(migrated, tmp_path, idp, "--trust-forwarded-proto", scheme="https")
    with srv as s:
        host = f"127.0.0.1:{s.port}"
        r = get(s, "/console/", host=host, headers={"X-Forwarded-Proto": "http"})
        assert r.status_code == 302 and r.headers["Location"] == f"{public}/console/?{MARK}"
        assert public.startswith("https://")
        assert get(s, "/console/", host=host,
                   headers={"X-Forwarded-Proto": "https"}).status_code == 200
        assert get(s, "/console/", host=host).status_code == 200  # scheme unknown: as it is


WARN_CASES = (  # console_public_url, whether serve warns about it
    ("http://10.1.2.3:{port}", True),
    ("http://cavra.example.com", True),
    ("http://127.0.0.1:{port}", False),
    ("http://127.9.8.7:{port}", False),
    ("http://localhost:{port}", False),
    ("http://[::1]:{port}", False),
    ("https://cavra.example.com", False),
)


def test_plain_http_to_another_host_warns_at_startup(migrated, tmp_path, idp):
    for url, warns in WARN_CASES:
        port = conftest.free_port()
        url = url.format(port=port)
        with serve(migrated, *console_args(idp, url, tmp_path), tmp=tmp_path, port=port) as s:
            pass
        log = s.stderr()
        lines = [ln for ln in log.splitlines() if "console_public_url is http://" in ln]
        assert len(lines) == (1 if warns else 0), (url, log)
        assert "console-secret" not in log
        if warns:
            host = urllib.parse.urlsplit(url).hostname
            assert "level=warn" in lines[0] and f"'{host}'" in lines[0], lines[0]
            for words in ("session cookie travels in clear", "login-CSRF", "https"):
                assert words in lines[0], lines[0]


def test_public_url_with_credentials_is_refused(migrated, tmp_path, idp):
    # it would go into every redirect and the startup log
    code, _, err = cavra("serve", "--listen", "127.0.0.1:1",
                         *console_args(idp, "http://admin:s3cret@cavra.example.com", tmp_path),
                         db=migrated, timeout=30)
    assert code == 2 and "console_public_url" in err and "user:password@" in err, err
    assert "s3cret" not in err
