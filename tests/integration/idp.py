"""A real OpenID provider for the integration tests: panva's oidc-provider (npm), run by Node.

`idp/server.mjs` is the provider; `bash scripts/deps.sh test` installs its node_modules. This
module starts and stops it on a free 127.0.0.1 port and gets tokens from it:

    server = IdP(tmpdir); server.start()           # issuer http://127.0.0.1:<port>
    server.token("operator")                       # RFC 9068 JWT for audience cavra-api
    server.restart("k2")                           # same issuer, new signing key (new kid)

Personas are confidential clients (client id = persona, secret = "<persona>-secret") using the
client_credentials grant; the same names log in as users on the provider's dev login page.
"""
import atexit
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse

import requests

IDP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "idp")
SERVER = os.path.join(IDP_DIR, "server.mjs")

# Mirrors GROUPS in idp/server.mjs.
PERSONAS = {
    "agent": ["cavra-agents"],
    "auditor": ["CAVRA-Auditors"],
    "operator": ["CAVRA-Security-Operations", "Repository Owners"],
    "platform": ["CAVRA-Platform-Security"],
    "ciso": ["CAVRA-CISO"],
    "cab": ["Change Advisory Board"],
    "nogroups": [],
    # Variants of a token a verifier must tell apart:
    "agent-es256": ["cavra-agents"],  # signed ES256 instead of RS256
    "agent-jwt": ["cavra-agents"],  # header typ "JWT" instead of "at+jwt"
    "agent-multiaud": ["cavra-agents"],  # aud ["cavra-api", "other-api"]
    "wrongaud": ["CAVRA-Security-Operations"],  # aud "other-api"
}
CONSOLE_CLIENT = ("cavra-console", "console-secret")
API_RESOURCE = "urn:cavra-api"  # the resource indicator whose tokens have aud cavra-api
OTHER_RESOURCE = "urn:other-api"  # ... aud other-api


def node_binary():
    """Node.js: CAVRA_NODE (a path or a name on PATH), else `node` on PATH; None if missing."""
    return shutil.which(os.environ.get("CAVRA_NODE") or "node")


def unavailable():
    """Why the provider cannot run here (None when it can)."""
    if not node_binary():
        return "node is not installed (run: bash scripts/deps.sh test)"
    if not os.path.isdir(os.path.join(IDP_DIR, "node_modules", "oidc-provider")):
        return (f"{IDP_DIR}/node_modules is missing (run: bash scripts/deps.sh test, "
                "or npm ci in that directory)")
    return None


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def decode(token):
    """(header, payload) of a JWS compact token, without checking the signature."""
    header, payload, _ = token.split(".")
    return b64url_json(header), b64url_json(payload)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_LIVE = set()  # providers this process started, stopped at exit. If the process is killed,
# each provider exits by itself when its stdin closes (WATCH_STDIN).


@atexit.register
def _stop_all():
    for server in list(_LIVE):
        server.stop()


class IdP:
    audience = "cavra-api"

    def __init__(self, workdir, console_redirect_uri=None):
        """console_redirect_uri: the `cavra-console` client's exact redirect URI; by default
        any http://127.0.0.1:<port>/console/callback is accepted (RFC 8252 loopback)."""
        self.workdir = str(workdir)
        self.keys_dir = os.path.join(self.workdir, "keys")
        os.makedirs(self.keys_dir, exist_ok=True)
        self.log = os.path.join(self.workdir, "idp.log")
        self.console_redirect_uri = console_redirect_uri
        self.port = _free_port()
        self.proc = None
        self.proc_rc = None
        self.keyset = None
        self._started_once = False

    @property
    def issuer(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, keyset="k1", timeout=120):
        """Starts the provider and waits for its "ready" line; raises with the log if it fails.
        The wait is long: once in CI the provider printed nothing within 30 s, with image
        builds beside the suite (the log's stage lines say where a slow start spent its time).
        keyset: "k1", "k2", ... (keys per name, kept across restarts); "k2,k1" signs with k2
        and also publishes k1."""
        if self.proc is not None:
            raise RuntimeError("IdP already running")
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        for attempt in range(3):
            try:
                return self._start(keyset, timeout)
            except RuntimeError as e:
                # Another process took the free port between picking and binding: a new
                # port, but only before the issuer was ever handed out.
                if self._started_once or "EADDRINUSE" not in str(e) or attempt == 2:
                    raise
                self.port = _free_port()

    def _start(self, keyset, timeout):
        env = dict(os.environ, PORT=str(self.port), KEYSET=keyset, KEYS_DIR=self.keys_dir,
                   WATCH_STDIN="1")
        if self.console_redirect_uri:
            env["CONSOLE_REDIRECT_URI"] = self.console_redirect_uri
        with open(self.log, "a") as logf:
            offset = logf.tell()
            logf.write(f"--- start port={self.port} keyset={keyset}\n")
            logf.flush()
            self.proc = subprocess.Popen([node_binary(), SERVER], cwd=IDP_DIR, env=env,
                                         stdin=subprocess.PIPE, stdout=logf, stderr=logf)
        _LIVE.add(self)
        ready = f"ready {self.issuer}\n"
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log) as f:
                f.seek(offset)
                if ready in f.read():
                    break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"IdP did not start (exit {self.proc_rc}): "
                                   + self.log_text(offset))
            time.sleep(0.02)
        self.keyset = keyset
        self._started_once = True
        return self

    def stop(self):
        """SIGTERM, and SIGKILL if it has not exited after 10 s; its exit status is left in
        proc_rc. Safe to call twice."""
        proc, self.proc = self.proc, None
        _LIVE.discard(self)
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        self.proc_rc = proc.returncode

    def restart(self, keyset="k2"):
        """Same port and issuer, keys of another key set."""
        self.stop()
        return self.start(keyset)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self, offset=0):
        with open(self.log) as f:
            f.seek(offset)
            return f.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- endpoints

    def discovery(self):
        r = requests.get(self.issuer + "/.well-known/openid-configuration", timeout=10)
        r.raise_for_status()
        return r.json()

    def jwks(self):
        r = requests.get(self.issuer + "/jwks", timeout=10)
        r.raise_for_status()
        return r.json()

    def kids(self):
        return {k["kid"] for k in self.jwks()["keys"]}

    def token(self, persona, resource=None):
        """A client_credentials access token (JWT) for that persona; by default for cavra-api
        (other-api for `wrongaud`); resource=OTHER_RESOURCE gives audience other-api."""
        data = {"grant_type": "client_credentials"}
        if resource:
            data["resource"] = resource
        r = requests.post(self.issuer + "/token", data=data, timeout=10,
                          auth=(persona, f"{persona}-secret"))
        if r.status_code != 200:
            raise RuntimeError(f"token for {persona}: {r.status_code} {r.text}")
        return r.json()["access_token"]

    def login(self, authorize_url, username, session=None):
        """Signs in as `username` on the provider's dev login page (any password), starting
        from an authorization request URL or a URL that redirects to one (cavra's
        /console/login; pass the session that keeps its cookie). Returns the URL the provider
        finally redirects to (the client's redirect URI with code and state, or with an
        error), without following it."""
        s = session or requests.Session()
        url, data = authorize_url, None
        for _ in range(10):
            r = s.request("POST" if data else "GET", url, data=data, allow_redirects=False,
                          timeout=10)
            if r.is_redirect:
                url, data = urllib.parse.urljoin(r.url, r.headers["location"]), None
                if not url.startswith(self.issuer + "/"):
                    return url
            elif 'name="login"' in r.text and not data:
                action = r.text.split('action="', 1)[1].split('"', 1)[0]
                url = urllib.parse.urljoin(r.url, action)
                data = {"prompt": "login", "login": username, "password": "any"}
            else:
                break
        raise RuntimeError(f"login as {username} ended at {r.url}: {r.status_code} {r.text[:500]}")
