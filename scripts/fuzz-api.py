"""Throws malformed requests at a running `cavra serve` for a while and reports any answer of
500 or above other than 503, and a server that stops answering. Not part of the suite (it
runs for as long as it is told); run it by hand against an ASan build after changing request
handling, then look in the server's log for sanitizer reports.

    /usr/bin/python3 scripts/fuzz-api.py http://127.0.0.1:8080 120 [SEED]

Bodies start from a plausible request per POST route and get values of the wrong type, huge
or negative numbers, NUL and lone surrogates, bidirectional and fullwidth characters, long
strings, deep nesting, keys twice, cut-off and byte-flipped JSON, odd Content-Types and
Idempotency-Keys; GET routes get odd query parameters. Needs Debian's python3-requests.
"""
import json
import random
import sys
import time

import requests

BODIES = {
    "/decisions": {"session_id": "s1", "agent_id": "a1", "actor": "dev@example.com",
                   "repository": "acme/svc", "action_type": "execute_command",
                   "target": "ls -la", "metadata": {"k": "v"}},
    "/sessions": {"session_id": "s1", "agent_id": "a1", "actor": "dev",
                  "repository": "acme/svc", "metadata": {"a": [1, 2]}},
    "/evidence": {"session_id": "s1", "evidence": {"tests": "passed"}, "metadata": {"x": 1}},
    "/agents": {"agent_id": "a1", "name": "A", "owner": "o", "status": "active"},
    "/mcp/servers": {"server_id": "github", "name": "gh", "trust_tier": "trusted",
                     "approval_state": "approved", "allowed_tools": ["x"]},
    "/repositories": {"repository": "acme/svc", "owner": "o", "policy_pack": "baseline"},
    "/policy-rollouts": {"repository": "acme/svc", "policy_pack": "baseline", "mode": "enforce"},
    "/integrations": {"integration_id": "i1", "kind": "github", "status": "active"},
    "/approvals": {"decision_id": "dec_x"},
    "/approvals/break-glass": {"decision_id": "dec_x", "actor": "a", "reason": "r"},
    "/policy-rollouts/change-plan": {"repository": "acme/svc", "policy_pack": "baseline"},
    "/policy-rollouts/apply-change": {"repository": "acme/svc", "policy_pack": "baseline"},
}
GETS = ["/decisions", "/sessions", "/sessions/s1", "/sessions/s1/decisions", "/evidence",
        "/evidence/s1", "/approvals", "/agents", "/agents/a1", "/mcp/servers", "/mcp/trust",
        "/repositories", "/repositories/acme/svc", "/policy-rollouts",
        "/policy-rollouts/acme/svc/detail", "/integrations", "/operations/stores",
        "/audit/head", "/operations/retention-plan", "/policy-packs", "/policy-packs/baseline",
        "/decisions/dec_x", "/auth/whoami", "/metrics", "/readyz"]
PARAMS = ["limit", "cursor", "since", "until", "session_id", "agent_id", "outcome", "repository",
          "q", "order", "action_type", "status", "explain", "page_size", "before", "after"]
STRINGS = ["", "a" * 5000, "\u0000", "\ud800", "\u202e", "\uff41", "../../etc", "%00", "\\",
           "\"", "dec_" + "0" * 300, "1e400", "-0", "null", "\U0001f600" * 100, "\n\r",
           "x" * 70000]
VALUES = [None, True, False, 0, -1, 2**63, -(2**63) - 1, 2**64, 1e308, -0.0, 0.5, [], {},
          [[[]]], {"a": {"b": {}}}]


def weird(rnd):
    r = rnd.random()
    if r < 0.45:
        return rnd.choice(STRINGS)
    if r < 0.9:
        return rnd.choice(VALUES)
    return {rnd.choice(STRINGS[:5] + ["k", "metadata"]): weird(rnd)
            for _ in range(rnd.randint(0, 5))}


def mutate(rnd, body):
    body = json.loads(json.dumps(body))
    for _ in range(rnd.randint(1, 4)):
        k = rnd.choice(list(body) + ["extra", "decision", "outcome", "decision_id", "reason"])
        if rnd.random() < 0.15 and k in body:
            del body[k]
        else:
            body[k] = weird(rnd)
    return body


def encode(rnd, body):
    s = json.dumps(body, ensure_ascii=rnd.random() < 0.5)
    r = rnd.random()
    if r < 0.05:
        s = s[:rnd.randint(0, len(s))]
    elif r < 0.1:
        s = "[" * 5000 + "]" * 5000
    elif r < 0.15:
        s = s.replace("{", '{"session_id":"dup",', 1)
    elif r < 0.2:
        b = bytearray(s.encode("utf-8", "surrogatepass"))
        if b:
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        return bytes(b)
    elif r < 0.23:
        s = '{"n": ' + "9" * 400 + "}"
    elif r < 0.26:
        s = '{"metadata":' + '{"a":' * 3000 + "1" + "}" * 3000 + "}"
    return s.encode("utf-8", "surrogatepass")


def one(rnd, base):
    if rnd.random() < 0.7:
        path = rnd.choice(list(BODIES))
        body = mutate(rnd, BODIES[path])
        if path.startswith("/approvals") and rnd.random() < 0.3:
            path = "/approvals/apr_x/" + rnd.choice(["approve", "deny", "expire"])
            body = {"actor": weird(rnd), "reason": weird(rnd)}
        headers = {"Content-Type": rnd.choice(["application/json"] * 8 +
                                              ["text/plain", "application/json; charset=latin1"])}
        if rnd.random() < 0.2:
            headers["Idempotency-Key"] = rnd.choice(["k1", "\"k2\"", "", "x" * 300, "a b"])
        return path, requests.post(base + path, data=encode(rnd, body), headers=headers,
                                   timeout=30)
    path = rnd.choice(GETS)
    query = {rnd.choice(PARAMS): str(weird(rnd))[:3000].encode("utf-8", "surrogatepass")
             for _ in range(rnd.randint(0, 3))}
    return path, requests.get(base + path, params=query, timeout=30)


def main():
    base, seconds = sys.argv[1].rstrip("/"), float(sys.argv[2])
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    end, n, bad = time.time() + seconds, 0, 0
    while time.time() < end:
        n += 1
        try:
            path, r = one(rnd, base)
        except requests.exceptions.ConnectionError as e:
            print(f"the server stopped answering: {e}")
            return 1
        if r.status_code >= 500 and r.status_code != 503:
            bad += 1
            print(r.status_code, path, r.text[:300])
    print(f"{n} requests, {bad} answered 5xx other than 503")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
