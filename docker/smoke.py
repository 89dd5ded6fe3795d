"""A smoke check of a running cavra + OpenID provider, as docker-compose.yml starts them.

The compose file's test-runner runs it before the integration suite: it is the part of the run
that talks to the stack's own `cavra serve` (PostgreSQL, migrated by the one-shot `migrate`
service, oidc mode) instead of the servers the suite starts for itself. By hand, with the
stack up, from the host:

    /usr/bin/python3 docker/smoke.py          # CAVRA_SMOKE_URL / CAVRA_SMOKE_ISSUER to override

Exits 0 when every check passes; otherwise prints the first failure and exits 1.
"""
import os
import re
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
    head = requests.get(BASE + "/audit/head", headers=token("auditor"), timeout=10)
    check("auditor: /audit/head", head.status_code == 200 and head.json().get("seq", 0) >= 1,
          f"{head.status_code} {head.text}")
    verify_seals()
    verify_checkpoint(head.json()["seq"])


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


def checkpoint_at(d, seq, wait_s):
    """A checkpoint file in d (checkpoint-<seq>-<time>.json) of seq or later, waiting up to
    wait_s for one; the highest."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            found = [(int(m.group(1)), os.path.join(d, f)) for f in os.listdir(d)
                     for m in [re.fullmatch(r"checkpoint-(\d+)-.*\.json", f)] if m]
        except OSError:
            found = []
        found = [x for x in found if x[0] >= seq]
        if found or time.monotonic() > deadline:
            return max(found)[1] if found else None
        time.sleep(1)


def verify_checkpoint(seq):
    """cavra signs a checkpoint of the chain's head every 10 s while it moves (the compose
    file's audit_checkpoint_dir, on the cavra-data volume): one of seq, the head after this
    script's decision, or later comes, and the stack's chain verifies against it with the
    development signing key's public half."""
    url, d = os.environ.get("CAVRA_SMOKE_DATABASE_URL"), os.environ.get("CAVRA_SMOKE_CHECKPOINT_DIR")
    pub, exe = os.environ.get("CAVRA_SMOKE_PUBLIC_KEY"), os.environ.get("CAVRA_BIN")
    if not (url and d and pub and exe):
        print("smoke: skip the signed checkpoint (no CAVRA_SMOKE_DATABASE_URL, "
              "CAVRA_SMOKE_CHECKPOINT_DIR, CAVRA_SMOKE_PUBLIC_KEY or CAVRA_BIN)")
        return
    path = checkpoint_at(d, seq, 60)
    check(f"cavra signed a checkpoint of the chain's head at seq {seq} or later", path is not None,
          f"none in {d} within 60 s: {sorted(os.listdir(d)) if os.path.isdir(d) else 'no dir'}")
    r = subprocess.run([exe, "audit", "verify", "--database", url, "--checkpoint", path,
                        "--public-key", pub], capture_output=True, text=True, timeout=120)
    last = (r.stdout.strip().splitlines() or [""])[-1]
    check(f"audit verify --checkpoint {os.path.basename(path)}: no break",
          r.returncode == 0 and ", 0 breaks, checked against the checkpoint" in last,
          f"exit {r.returncode}: {r.stdout[-600:]} {r.stderr[-300:]}")


if __name__ == "__main__":
    main()
