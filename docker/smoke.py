"""A smoke check of a running cavra + OpenID provider, as docker-compose.yml starts them.

The compose file's test-runner runs it before the integration suite: it is the part of the run
that talks to the stack's own `cavra serve` (PostgreSQL, migrated by the one-shot `migrate`
service, oidc mode) instead of the servers the suite starts for itself. By hand, with the
stack up, from the host:

    /usr/bin/python3 docker/smoke.py          # CAVRA_SMOKE_URL / CAVRA_SMOKE_ISSUER to override

Exits 0 when every check passes; otherwise prints the first failure and exits 1.
"""
import os
import subprocess
import sys
import time
import uuid

import requests

BASE = os.environ.get("CAVRA_SMOKE_URL", "http://127.0.0.1:8080").rstrip("/")
ISSUER = os.environ.get("CAVRA_SMOKE_ISSUER", "http://127.0.0.1:9000").rstrip("/")


def token(persona):
    """A client_credentials token of one of tests/integration/idp's personas."""
    r = requests.post(ISSUER + "/token", data={"grant_type": "client_credentials"},
                      auth=(persona, f"{persona}-secret"), timeout=10)
    r.raise_for_status()
    return {"Authorization": "Bearer " + r.json()["access_token"]}


def check(what, cond, detail=""):
    if not cond:
        print(f"smoke: FAIL {what} {detail}".rstrip(), file=sys.stderr)
        sys.exit(1)
    print(f"smoke: ok   {what}")


def main():
    deadline = time.monotonic() + 120
    while True:
        try:
            r = requests.get(BASE + "/readyz", timeout=5)
            if r.status_code == 200:
                break
            last = f"{r.status_code} {r.text}"
        except requests.RequestException as e:
            last = str(e)
        if time.monotonic() > deadline:
            check("/readyz answers 200 within 120 s", False, last)
        time.sleep(1)
    check("/readyz: database reachable, schema current, OIDC keys loaded", True)

    v = requests.get(BASE + "/version", timeout=10).json()
    check("/version: PostgreSQL backend", v.get("backend") == "postgres", str(v))

    r = requests.get(BASE + "/decisions", timeout=10)
    check("no token: 401", r.status_code == 401, str(r.status_code))

    who = requests.get(BASE + "/auth/whoami", headers=token("operator"), timeout=10).json()
    check("operator's token maps to security_operator",
          "security_operator" in who.get("roles", []), str(who))

    session = "smoke-" + uuid.uuid4().hex[:8]
    r = requests.post(BASE + "/decisions", headers=token("agent"), timeout=10,
                      json={"session_id": session, "agent_id": "smoke", "repository": "smoke/repo",
                            "action_type": "write_file", "target": ".github/workflows/x.yml"})
    check("agent: POST /decisions 201 block", r.status_code == 201
          and r.json().get("decision") == "block", f"{r.status_code} {r.text}")

    r = requests.get(BASE + f"/sessions/{session}/decisions", headers=token("auditor"), timeout=10)
    check("auditor reads the session back", r.status_code == 200
          and len(r.json().get("items", [])) == 1, f"{r.status_code} {r.text}")

    r = requests.get(BASE + "/decisions", headers=token("agent"), timeout=10)
    check("agent may not list decisions: 403", r.status_code == 403, str(r.status_code))

    r = requests.get(BASE + "/metrics", headers=token("auditor"), timeout=10)
    check("auditor: /metrics", r.status_code == 200 and "cavra_decisions_total" in r.text,
          str(r.status_code))
    verify_seals()


def verify_seals():
    """The stack's chain verifies, and every entry carries the development key's seal (the
    compose file sets it on migrate and serve): with this build's cavra, where the runner has
    it (CAVRA_BIN) and the database's address (CAVRA_SMOKE_DATABASE_URL)."""
    url, key = os.environ.get("CAVRA_SMOKE_DATABASE_URL"), os.environ.get("CAVRA_SMOKE_SEAL_KEY_FILE")
    exe = os.environ.get("CAVRA_BIN")
    if not (url and key and exe):
        print("smoke: skip the chain's seals (no CAVRA_SMOKE_DATABASE_URL, "
              "CAVRA_SMOKE_SEAL_KEY_FILE or CAVRA_BIN)")
        return
    r = subprocess.run([exe, "audit", "verify", "--database", url, "--seal-key-file", key],
                       capture_output=True, text=True, timeout=120)
    last = (r.stdout.strip().splitlines() or [""])[-1]
    check("audit verify --seal-key-file: no break, every entry sealed",
          r.returncode == 0 and ", 0 breaks, " in last and " 0 seals checked" not in last,
          f"exit {r.returncode}: {r.stdout[-600:]} {r.stderr[-300:]}")


if __name__ == "__main__":
    main()
