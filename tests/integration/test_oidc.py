"""auth_mode oidc against a real OpenID provider (oidc-provider from npm, tests/integration/idp):
every route for each persona as one table, approvals acting as the token's identity, key
rotation, the provider stopping or down at start, several issuers, and bad tokens."""
import base64
import http.server
import json
import os
import re
import threading
import time

import pytest
import requests

from conftest import REPO, cavra, serve

PERSONAS = ["agent", "auditor", "operator", "nogroups"]
D = "dec_table0000001"

# (method, path, body) -> expected status for agent, auditor, operator, nogroups.
# Requests run in this order, persona by persona, on one database.
TABLE = [
    ("GET", "/healthz", None, [200, 200, 200, 200]),
    ("GET", "/health", None, [200, 200, 200, 200]),
    ("GET", "/readyz", None, [200, 200, 200, 200]),
    ("GET", "/version", None, [200, 200, 200, 200]),
    ("GET", "/metrics", None, [403, 200, 200, 403]),
    ("GET", "/auth/whoami", None, [200, 200, 200, 200]),
    ("POST", "/decisions", {"action_type": "read_file", "target": "a"}, [201, 403, 403, 403]),
    ("GET", "/decisions", None, [403, 200, 200, 403]),
    ("GET", "/decisions/dec_none", None, [403, 404, 404, 403]),
    ("GET", "/sessions", None, [403, 200, 200, 403]),
    ("POST", "/sessions", {"session_id": "table-s"}, [201, 403, 403, 403]),
    ("GET", "/sessions/none", None, [403, 404, 404, 403]),
    ("GET", "/sessions/table-s/decisions", None, [403, 200, 200, 403]),
    ("GET", "/policy-packs", None, [403, 200, 200, 403]),
    ("GET", "/policy-packs/cavra-ai-agent-baseline", None, [403, 200, 200, 403]),
    ("GET", "/evidence", None, [403, 200, 200, 403]),
    ("POST", "/evidence", {"session_id": "table-e"}, [201, 403, 200, 403]),
    ("GET", "/evidence/none", None, [403, 404, 404, 403]),
    ("GET", "/approvals", None, [200, 200, 200, 403]),
    # D is imported, nobody's: the agent may not ask for its approval, the operator may
    ("POST", "/approvals", {"decision": {"decision_id": D, "approver_group": "Repository Owners"}},
     [403, 403, 201, 403]),
    ("POST", "/approvals/break-glass", {"decision_id": D, "reason": "r", "external_ref": "I-1"},
     [403, 403, 403, 403]),
    ("GET", "/approvals/apr_000000000000", None, [404, 404, 404, 403]),
    ("POST", "/approvals/apr_000000000000/approve", {"reason": "r"}, [403, 403, 404, 403]),
    ("POST", "/approvals/apr_000000000000/deny", {"reason": "r"}, [403, 403, 404, 403]),
    ("POST", "/approvals/apr_000000000000/expire", {}, [403, 403, 404, 403]),
    ("GET", "/agents", None, [403, 200, 200, 403]),
    ("POST", "/agents", {"agent_id": "a1"}, [403, 403, 403, 403]),
    ("GET", "/agents/a1", None, [403, 404, 404, 403]),
    ("GET", "/mcp/servers", None, [403, 200, 200, 403]),
    ("POST", "/mcp/servers", {"name": "m1"}, [403, 403, 403, 403]),
    ("GET", "/mcp/servers/m1", None, [403, 404, 404, 403]),
    ("GET", "/mcp/trust?server=m1", None, [403, 200, 200, 403]),
    ("GET", "/repositories", None, [403, 200, 200, 403]),
    ("POST", "/repositories", {"repository": "a/b"}, [403, 403, 403, 403]),
    ("GET", "/repositories/a/b", None, [403, 404, 404, 403]),
    ("GET", "/policy-rollouts", None, [403, 200, 200, 403]),
    ("POST", "/policy-rollouts", {"repository": "a/b", "policy_pack": "p"}, [403, 403, 403, 403]),
    ("GET", "/policy-rollouts/a/b:p", None, [403, 404, 404, 403]),
    ("GET", "/integrations", None, [403, 200, 200, 403]),
    ("POST", "/integrations", {"provider": "jira"}, [403, 403, 403, 403]),
    ("GET", "/integrations/jira-global", None, [403, 404, 404, 403]),
    ("GET", "/operations/stores", None, [403, 200, 403, 403]),
    ("GET", "/operations/retention-plan", None, [403, 200, 403, 403]),
    # the console's files are public; its login needs console settings this server lacks
    ("GET", "/console", None, [200, 200, 200, 200]),
    ("GET", "/console/", None, [200, 200, 200, 200]),
    ("GET", "/console/app.js", None, [200, 200, 200, 200]),
    ("GET", "/console/config", None, [200, 200, 200, 200]),
    ("GET", "/console/login", None, [404, 404, 404, 404]),
    ("GET", "/console/callback", None, [404, 404, 404, 404]),
    ("POST", "/console/logout", {}, [200, 200, 200, 200]),
]

# Without credentials: what answers, and with what (everything else is 401).
PUBLIC = {"/healthz": 200, "/readyz": 200, "/version": 200, "/console": 200, "/console/": 200,
          "/health": 200, "/console/config": 200, "/console/app.js": 200, "/console/login": 404,
          "/console/callback": 404}


def oidc_args(idp, *extra):
    return ("--auth-mode", "oidc", "--oidc-issuer", idp.issuer, "--oidc-audience", "cavra-api",
            "--oidc-refetch-interval-seconds", "1") + extra


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def migrated(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    return db


def route_table():
    """(method, pattern) of every route in internal/http/router.c."""
    with open(os.path.join(REPO, "internal", "http", "router.c")) as f:
        return set(re.findall(r'\{"(GET|POST)", "([^"]+)", handle_', f.read()))


def pattern_of(path):
    p = path.split("?")[0]
    for method_pattern in route_table():
        rx = "^" + re.sub(r"\\\{[a-z_]+\\\+\\\}", ".+",
                          re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(method_pattern[1]))) + "$"
        if re.match(rx, p):
            yield method_pattern


def test_table_covers_every_route():
    covered = set()
    for method, path, _, _ in TABLE:
        covered |= {mp for mp in pattern_of(path) if mp[0] == method}
    assert route_table() - covered == set()


def store_decision(db, tmp_path, decision_id=D):
    """Stores a decision with that id (approvals are only for stored decisions) by importing it:
    routed to Repository Owners."""
    d = {"schema_version": "cavra.decision.v1", "decision_id": decision_id,
         "session_id": "table-d",
         "action_type": "execute_command", "target": "make table",
         "policy_pack": "cavra-ai-agent-baseline", "rule_id": "commands.default.require_approval",
         "decision": "require_approval", "severity": "medium",
         "approver_group": "Repository Owners", "timestamp": "2026-01-01T00:00:00Z"}
    path = tmp_path / f"activity-{decision_id}.json"
    path.write_text(json.dumps({"decisions": [d], "sessions": []}))
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "activity", db=db)
    assert code == 0, (out, err)


def test_every_route_for_every_persona(migrated, tmp_path, idp):
    tokens = {p: idp.token(p) for p in PERSONAS}
    store_decision(migrated, tmp_path)
    with serve(migrated, *oidc_args(idp), tmp=tmp_path) as s:
        got = []
        for method, path, body, want in TABLE:
            for persona, code in zip(PERSONAS, want):
                if method == "GET":
                    r = s.get(path, headers=bearer(tokens[persona]))
                else:
                    r = s.post(path, body, headers=bearer(tokens[persona]))
                got.append((method, path, persona, r.status_code, code))
        bad = [g for g in got if g[3] != g[4]]
        assert bad == [], bad
        # and without credentials: only the probes
        for method, path, body, _ in TABLE:
            r = s.get(path) if method == "GET" else s.post(path, body)
            expect = PUBLIC.get(path, 401)
            assert r.status_code == expect, (method, path, r.status_code)
            if expect == 401:
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
        logs = s.stderr()
    assert "auth: denied" in logs and "subject=nogroups" in logs
    for t in tokens.values():
        assert t not in logs


def test_whoami_and_explain(migrated, tmp_path, idp):
    with serve(migrated, *oidc_args(idp), tmp=tmp_path) as s:
        who = s.get("/auth/whoami?explain=1", headers=bearer(idp.token("operator"))).json()
        assert who["issuer"] == idp.issuer and who["subject"] == "operator"
        assert who["actor"] == "operator@example.test"
        assert who["roles"] == ["security_operator"]
        assert "approvals.decide" in who["permissions"]
        text = json.dumps(who["explain"])
        assert "CAVRA-Security-Operations" in text and "registry.write" in text
        nobody = s.get("/auth/whoami", headers=bearer(idp.token("nogroups"))).json()
        assert nobody["roles"] == [] and nobody["permissions"] == ["auth.read"]


def test_approvals_act_as_the_token(migrated, tmp_path, idp):
    agent, op, cab = idp.token("agent"), idp.token("operator"), idp.token("cab")
    with serve(migrated, *oidc_args(idp), tmp=tmp_path) as s:
        d = s.post("/decisions", {"action_type": "execute_command", "target": "make x"},
                   headers=bearer(agent)).json()
        a = s.post("/approvals", {"decision": d}, headers=bearer(agent)).json()
        assert a["approver_group"] == "Repository Owners"
        url = f"/approvals/{a['approval_id']}/approve"
        r = s.post(url, {"actor": "mallory@example.test", "reason": "ok"}, headers=bearer(op))
        assert r.status_code == 403 and "not the caller" in r.json()["detail"]
        r = s.post(url, {"reason": "ok"}, headers=bearer(op))
        assert r.status_code == 200, r.text
        assert r.json()["decided_by"] == "operator@example.test"
        assert r.json()["history"][-1]["actor"] == "operator@example.test"
        # an approval for a group the operator is not in
        iam = s.post("/decisions", {"action_type": "write_file", "target": "iam/a.tf"},
                     headers=bearer(agent)).json()
        b = s.post("/approvals", {"decision": iam}, headers=bearer(agent)).json()
        assert b["approver_group"] == "IAM"
        r = s.post(f"/approvals/{b['approval_id']}/deny", {"reason": "no"}, headers=bearer(op))
        assert r.status_code == 403 and "IAM" in r.json()["detail"]
        # break-glass: the Change Advisory Board, actor from the token
        r = s.post("/approvals/break-glass", {"decision": iam, "reason": "outage",
                                              "external_ref": "INC-9"}, headers=bearer(cab))
        assert r.status_code == 201 and r.json()["decided_by"] == "cab@example.test", r.text
        glass = r.json()["approval_id"]
        # the agent reads the approvals of its own decisions, whoever asked for them: the
        # caller's OIDC issuer and subject match the stored ones on both backends
        r = s.get("/approvals", headers=bearer(agent))
        assert r.status_code == 200, r.text
        assert {x["approval_id"] for x in r.json()["items"]} == {
            a["approval_id"], b["approval_id"], glass}, r.text
        assert s.get(f"/approvals/{glass}", headers=bearer(agent)).status_code == 200


def test_key_rotation_without_restart(migrated, tmp_path, new_idp):
    p = new_idp()
    p.start("k1")
    old = p.token("auditor")
    with serve(migrated, *oidc_args(p), tmp=tmp_path) as s:
        assert s.get("/decisions", headers=bearer(old)).status_code == 200
        p.restart("k2")  # new keys only
        new = p.token("auditor")
        time.sleep(1.1)  # past the refetch interval
        assert s.get("/decisions", headers=bearer(new)).status_code == 200
        r = s.get("/decisions", headers=bearer(old))
        assert r.status_code == 401, r.text
        # the provider goes away: the cached keys keep working
        p.stop()
        assert s.get("/decisions", headers=bearer(new)).status_code == 200
        assert s.get("/readyz").status_code == 200


def test_provider_down_at_start(migrated, tmp_path, new_idp):
    p = new_idp()
    p.start("k1")
    tok = p.token("auditor")
    p.stop()
    with serve(migrated, *oidc_args(p, "--oidc-refresh-seconds", "1"), tmp=tmp_path) as s:
        r = s.get("/readyz")
        assert r.status_code == 503 and p.issuer in r.json()["reason"], r.text
        r = s.get("/decisions", headers=bearer(tok))
        assert r.status_code == 503, r.text
        p.start("k1")
        deadline = time.time() + 15
        while time.time() < deadline and s.get("/readyz").status_code != 200:
            time.sleep(0.3)
        assert s.get("/readyz").status_code == 200
        assert s.get("/decisions", headers=bearer(tok)).status_code == 200


def test_several_issuers_with_their_own_mapping(migrated, tmp_path, idp, new_idp):
    other = new_idp()
    other.start("k2")
    issuers = tmp_path / "issuers.yaml"
    issuers.write_text(f"- issuer: {other.issuer}\n  audience: cavra-api\n")
    rbac = tmp_path / "rbac.yaml"
    rbac.write_text("groups:\n  CAVRA-Auditors: [auditor]\n"
                    f"issuers:\n  \"{other.issuer}\":\n    groups:\n"
                    "      cavra-agents: [auditor]\n")
    with serve(migrated, *oidc_args(idp), "--oidc-issuers-file", str(issuers),
               "--rbac-file", str(rbac), tmp=tmp_path) as s:
        assert s.get("/decisions", headers=bearer(idp.token("auditor"))).status_code == 200
        # the first issuer's agents are not auditors; the second issuer's are
        assert s.get("/decisions", headers=bearer(idp.token("agent"))).status_code == 403
        assert s.get("/decisions", headers=bearer(other.token("agent"))).status_code == 200
        assert s.get("/decisions", headers=bearer(other.token("auditor"))).status_code == 403


def b64(obj):
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_bad_tokens(migrated, tmp_path, idp):
    good = idp.token("auditor")
    h, p, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    kid = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"]
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    import hashlib
    import hmac
    n = idp.jwks()["keys"][0]["n"].encode()
    hs_head = b64({"alg": "HS256", "typ": "at+jwt", "kid": kid})
    hs_sig = hmac.new(n, f"{hs_head}.{p}".encode(), hashlib.sha256).digest()
    cases = {
        "flipped signature": f"{h}.{p}.{flipped}",
        "alg none": f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{p}.",
        "HS256 with the public key": f"{hs_head}.{p}.{b64(hs_sig)}",
        "unknown kid": f"{b64({'alg': 'RS256', 'kid': 'nope'})}.{p}.{sig}",
        "header not JSON": f"{b64(b'not json')}.{p}.{sig}",
        "bad base64": f"{h}.{p}!!.{sig}",
        "wrong audience": idp.token("wrongaud"),
        "wrong issuer": f"{h}.{b64(dict(claims, iss='http://127.0.0.1:1'))}.{sig}",
        "edited claims": f"{h}.{b64(dict(claims, groups=['CAVRA-CISO']))}.{sig}",
    }
    with serve(migrated, *oidc_args(idp), tmp=tmp_path) as s:
        assert s.get("/decisions", headers=bearer(good)).status_code == 200
        for name, tok in cases.items():
            r = s.get("/decisions", headers=bearer(tok))
            assert r.status_code == 401, (name, r.status_code, r.text)
            assert 'error="invalid_token"' in r.headers["WWW-Authenticate"], name
        logs = s.stderr()
    assert good not in logs and sig not in logs


def test_strict_at_jwt(migrated, tmp_path, idp):
    with serve(migrated, *oidc_args(idp, "--oidc-require-at-jwt"), tmp=tmp_path) as s:
        assert s.get("/auth/whoami", headers=bearer(idp.token("agent"))).status_code == 200
        assert s.get("/auth/whoami", headers=bearer(idp.token("agent-jwt"))).status_code == 401
    with serve(migrated, *oidc_args(idp), tmp=tmp_path) as s:
        assert s.get("/auth/whoami", headers=bearer(idp.token("agent-jwt"))).status_code == 200
        assert s.get("/auth/whoami", headers=bearer(idp.token("agent-es256"))).status_code == 200
        assert s.get("/auth/whoami",
                     headers=bearer(idp.token("agent-multiaud"))).status_code == 200


class FakeIssuer(http.server.BaseHTTPRequestHandler):
    mode = "no-jwks"

    def do_GET(self):
        base = f"http://127.0.0.1:{self.server.server_port}"
        if self.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://example.invalid/discovery")
            self.end_headers()
            return
        body = {"no-jwks": json.dumps({"issuer": base}).encode(),
                "not-json": b"<html>hello</html>"}[self.mode]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_unavailable_issuer_is_logged_once(migrated, tmp_path, new_idp):
    """A 503 from authentication is one failure: one warning or error line, not a denial and
    the reply's 5xx line both."""
    p = new_idp()
    p.start("k1")
    tok = p.token("auditor")
    p.stop()
    with serve(migrated, *oidc_args(p), tmp=tmp_path) as s:
        r = s.get("/decisions", headers=bearer(tok))
        assert r.status_code == 503, r.text
        rid = r.headers["X-Request-Id"]
        logs = s.stderr()
    lines = [l for l in logs.splitlines() if f"request_id={rid}" in l
             and ("level=warn" in l or "level=error" in l)]
    assert len(lines) == 1, lines


@pytest.mark.parametrize("mode,needle", [("no-jwks", "jwks_uri"), ("not-json", "JSON"),
                                         ("redirect", "")])
def test_broken_discovery_is_503_not_500(migrated, tmp_path, mode, needle):
    handler = type("H", (FakeIssuer,), {"mode": mode})
    srv = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    issuer = f"http://127.0.0.1:{srv.server_port}"
    tok = f"{b64({'alg': 'RS256', 'kid': 'k'})}.{b64({'iss': issuer, 'aud': 'cavra-api'})}.c2ln"
    try:
        with serve(migrated, "--auth-mode", "oidc", "--oidc-issuer", issuer,
                   "--oidc-audience", "cavra-api", tmp=tmp_path) as s:
            r = s.get("/readyz")
            assert r.status_code == 503 and needle in r.json()["reason"], r.text
            r = s.get("/decisions", headers=bearer(tok))
            assert r.status_code == 503, r.text
    finally:
        srv.shutdown()
