"""The Idempotency-Key of POST /decisions on both backends: a retry answers the stored
decision and counts once, another body under the same key is 422, keys are per caller,
concurrent duplicates resolve to one decision, bad keys are 400 (docs/api.md)."""
import concurrent.futures
import http.client
import json
import threading

import pytest
import requests

from conftest import backend_of, cavra, serve, sql
from test_tokens import bearer, make_token

BODY = {"session_id": "retry", "action_type": "execute_command", "target": "terraform apply"}


@pytest.fixture
def srv(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as s:
        yield s


def post(srv, body, key=None, headers=None, raw=None):
    h = dict(headers or {})
    if key is not None:
        h["Idempotency-Key"] = key
    if raw is not None:
        h["Content-Type"] = "application/json"
        return srv.post("/decisions", data=raw, headers=h)
    return srv.post("/decisions", body, headers=h)


def counters(srv, sid):
    s = srv.get(f"/sessions/{sid}").json()
    return s["decision_count"], s["blocked_count"], s["approval_required_count"]


def test_a_retry_is_not_answered_with_a_decision_changed_in_the_database(srv, db):
    """The stored decision a retry would answer, its outcome turned to allow by SQL: the
    harness is not told allow (409, the audit chain), and nothing new is stored."""
    key = "2f5e1b8a-5c1e-4c53-9b3e-0e5f1c1d2a77"
    first = post(srv, BODY, key=key)
    assert first.status_code == 201 and first.json()["decision"] == "block", first.text
    obj = "::jsonb" if backend_of(db) == "postgres" else ""
    allowed = json.dumps(dict(first.json(), decision="allow")).replace("'", "''")
    sql(db, f"UPDATE activity_decisions SET decision = 'allow', payload = '{allowed}'{obj} "
            f"WHERE decision_id = '{first.json()['decision_id']}'")
    again = post(srv, BODY, key=key)
    assert again.status_code == 409 and "audit chain" in again.json()["detail"], again.text
    assert "allow" not in again.text
    assert sql(db, "SELECT count(*) FROM activity_decisions") == [["1"]]


def test_retry_answers_the_stored_decision_and_counts_once(srv, db):
    first = post(srv, BODY, key='"8e03978e-40d5-43e8-bc93-6894a57f9324"')
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    # the same JSON with other key order and whitespace is the same request
    raw = json.dumps(dict(reversed(list(BODY.items()))), indent=2)
    again = post(srv, None, key='"8e03978e-40d5-43e8-bc93-6894a57f9324"', raw=raw)
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.json()["decision_id"] == first.json()["decision_id"]
    if backend_of(db) == "sqlite":  # PostgreSQL answers the JSONB's text, as GET does
        assert again.content == first.content
    assert again.json() == srv.get(f"/decisions/{first.json()['decision_id']}").json()
    # bare (unquoted) is the same key
    bare = post(srv, BODY, key="8e03978e-40d5-43e8-bc93-6894a57f9324")
    assert bare.status_code == 201 and bare.json() == first.json()
    assert counters(srv, "retry") == (1, 1, 0)
    assert srv.get("/decisions", params={"session_id": "retry"}).json()["total"] == 1
    metrics = srv.get("/metrics").text
    assert 'cavra_decisions_total{decision="block"} 1' in metrics
    # a decision without a key is not affected by one with it
    assert post(srv, BODY).status_code == 201
    assert counters(srv, "retry") == (2, 2, 0)
    rows = sql(db, "SELECT idempotency_key, length(idempotency_caller), length(request_sha256) "
                   "FROM activity_decisions WHERE idempotency_key IS NOT NULL")
    assert rows == [["8e03978e-40d5-43e8-bc93-6894a57f9324", "64", "64"]]


def test_same_key_with_another_body_is_422(srv):
    assert post(srv, BODY, key="k-422").status_code == 201
    other = dict(BODY, target="pytest -q")
    r = post(srv, other, key="k-422")
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "unprocessable" and "Idempotency-Key" in r.json()["detail"]
    assert "request_id" in r.json()
    # an added field is another body too
    assert post(srv, dict(BODY, actor="someone"), key="k-422").status_code == 422
    assert counters(srv, "retry") == (1, 1, 0)


def test_one_number_in_two_spellings_is_the_same_body(srv):
    # 1e2 and 100 are one number (PostgreSQL's numeric spelling); 1.0 and 1 are not
    body = json.dumps(BODY)[:-1] + ', "extra": {"n": %s}}'
    first = post(srv, None, key="k-num", raw=body % "1e2")
    assert first.status_code == 201, first.text
    again = post(srv, None, key="k-num", raw=body % "100")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true", again.text
    assert again.json()["decision_id"] == first.json()["decision_id"]
    assert post(srv, None, key="k-num", raw=body % "100.0").status_code == 422
    assert counters(srv, "retry") == (1, 1, 0)


def test_keys_are_per_caller(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    one = make_token(db, "agent-one", "agent")
    two = make_token(db, "agent-two", "agent")
    with serve(db, tmp=tmp_path) as s:
        a = post(s, BODY, key="shared", headers=bearer(one))
        # (a session of its own: another caller's session takes no decision of it)
        b = post(s, dict(BODY, session_id="retry-two"), key="shared", headers=bearer(two))
        c = post(s, BODY, key="shared")  # auth mode none, no credentials: the local caller
        assert (a.status_code, b.status_code, c.status_code) == (201, 201, 201)
        ids = {a.json()["decision_id"], b.json()["decision_id"], c.json()["decision_id"]}
        assert len(ids) == 3
        assert "Idempotent-Replayed" not in b.headers and "Idempotent-Replayed" not in c.headers
        again = post(s, dict(BODY, session_id="retry-two"), key="shared", headers=bearer(two))
        assert again.json()["decision_id"] == b.json()["decision_id"]
        # another caller's key with another body is that caller's new key, not a 422
        assert post(s, dict(BODY, target="ls"), key="other", headers=bearer(one)).status_code \
            == 201
        assert counters(s, "retry") == (3, 2, 0) and counters(s, "retry-two") == (1, 1, 0)


def test_concurrent_duplicates_resolve_to_one_decision(srv):
    n = 12
    start = threading.Barrier(n)
    body = dict(BODY, session_id="race")

    def one(_):
        start.wait()
        r = requests.post(srv.base + "/decisions", json=body, timeout=60,
                          headers={"Idempotency-Key": '"race-key"'})
        return r.status_code, r.json().get("decision_id"), r.headers.get("Idempotent-Replayed")

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(one, range(n)))
    assert [a[0] for a in answers] == [201] * n, answers
    assert len({a[1] for a in answers}) == 1
    assert sum(1 for a in answers if a[2] is None) == 1  # exactly one made it
    assert counters(srv, "race") == (1, 1, 0)
    assert srv.get("/decisions", params={"session_id": "race"}).json()["total"] == 1


@pytest.mark.parametrize("key", ['""', "", '"unterminated', "with space", "tab\tinside",
                                 '"a\\"b"', "x" * 256, '"' + "y" * 256 + '"', "caf\u00e9"])
def test_bad_keys_are_400_and_store_nothing(srv, key):
    headers = {"Idempotency-Key": key.encode("utf-8") if not key.isascii() else key}
    r = srv.post("/decisions", BODY, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid" and "Idempotency-Key" in r.json()["detail"]
    assert srv.get("/decisions").json()["total"] == 0


def test_two_key_headers_are_400(srv):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    payload = json.dumps(BODY).encode()
    conn.putrequest("POST", "/decisions")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(payload)))
    conn.putheader("Idempotency-Key", "a")
    conn.putheader("Idempotency-Key", "b")
    conn.endheaders(payload)
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    assert resp.status == 400 and "more than one Idempotency-Key" in body["detail"]
    assert srv.get("/decisions").json()["total"] == 0


def test_longest_key_is_accepted(srv):
    key = "k" * 255
    a = post(srv, BODY, key=f'"{key}"')
    b = post(srv, BODY, key=key)
    assert a.status_code == b.status_code == 201
    assert b.headers["Idempotent-Replayed"] == "true"
