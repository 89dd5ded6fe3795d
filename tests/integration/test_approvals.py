"""The approval router on both backends: creation and routing, the state machine, expiry,
concurrent decisions, break-glass, filters, and a routing file."""
import concurrent.futures
import json
import re
import threading
import time

import pytest

from conftest import backend_of, cavra, serve, sql


@pytest.fixture
def srv(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as s:
        s.db = db
        yield s


def decide(srv, **req):
    r = srv.post("/decisions", dict({"session_id": "apr-s1", "agent_id": "codex"}, **req))
    assert r.status_code == 201, r.text
    return r.json()


def create(srv, body, status=201):
    r = srv.post("/approvals", body)
    assert r.status_code == status, r.text
    return r.json()


def test_routing_order_and_record(srv):
    iam = decide(srv, action_type="write_file", target="iam/role.tf")
    a = create(srv, {"decision_id": iam["decision_id"], "requested_by": "codex"})
    assert re.fullmatch(r"apr_[0-9a-f]{12}", a["approval_id"])
    assert a["schema_version"] == "cavra.approval.v1"
    assert (a["state"], a["approver_group"], a["decision_id"]) == (
        "pending", "IAM", iam["decision_id"])
    assert a["history"][0]["event"] == "requested" and a["history"][0]["actor"] == "codex"
    assert a["expires_at"] > a["created_at"]
    # the same open decision again returns the same approval
    again = create(srv, {"decision_id": iam["decision_id"]}, 200)
    assert again["approval_id"] == a["approval_id"]
    # in auth mode none the caller holds every role, approvals.route too: its group overrides
    # the rules (test_integrity.py: who else may)
    cases = [
        (dict(action_type="write_file", target="iam/x"), {"approver_group": "Custom"}, "Custom",
         "override"),
        (dict(action_type="write_file", target="iam/y"), {"approver_group": "IAM"}, "IAM",
         "iam-writes"),
        (dict(action_type="write_file", target=".github/workflows/ci.yml"), {},
         "Platform Security", "workflow-writes"),
        (dict(action_type="execute_command", target="make deploy"), {}, "Repository Owners",
         "default-command-approvals"),
        (dict(action_type="execute_command", target="terraform destroy"), {}, "Cloud Security",
         "blocked-terraform"),
        (dict(action_type="mcp_tool_call", server="nowhere", tool="t"), {}, "AI Governance",
         "mcp-rules"),
        # no rule matches: the stored decision's own group
        (dict(action_type="deploy_model", target="m"), {}, "Repository Owners", "decision"),
    ]
    for req, extra, group, routed_by in cases:
        d = decide(srv, **req)
        r = srv.post("/approvals", dict({"decision": d}, **extra))
        assert r.status_code == 201, r.text
        assert (r.json()["approver_group"], r.json()["routed_by"]) == (group, routed_by), req
    # no group anywhere
    d = decide(srv, action_type="read_file", target="README.md")
    r = srv.post("/approvals", {"decision_id": d["decision_id"]})
    assert r.status_code == 400 and "no approver group" in r.json()["detail"], r.text
    assert srv.post("/approvals", {"decision_id": "dec_missing"}).status_code == 404
    assert srv.post("/approvals", {}).status_code == 400
    assert srv.post("/approvals", {"decision": "x"}).status_code == 400
    d = decide(srv, action_type="execute_command", target="make ttl")
    assert srv.post("/approvals", {"decision": d, "ttl_hours": 0}).status_code == 400
    assert srv.post("/approvals", {"decision": d, "ttl_hours": "1"}).status_code == 400


def test_state_machine(srv):
    d = decide(srv, action_type="execute_command", target="make deploy")
    a = create(srv, {"decision": d})
    url = f"/approvals/{a['approval_id']}"
    for body, needle in [({"reason": "ok"}, "actor"), ({"actor": "sam"}, "reason"),
                         ({"actor": "sam", "reason": ""}, "reason"), ({}, "actor")]:
        r = srv.post(url + "/approve", body)
        assert r.status_code == 400 and needle in r.json()["detail"], r.text
    r = srv.post(url + "/approve", {"actor": "sam", "reason": "looks fine",
                                     "external_ref": "CHG-1"})
    assert r.status_code == 200, r.text
    rec = r.json()
    assert (rec["state"], rec["decided_by"]) == ("approved", "sam")
    assert [h["event"] for h in rec["history"]] == ["requested", "approved"]
    h = rec["history"][1]
    assert (h["actor"], h["reason"], h["external_ref"]) == ("sam", "looks fine", "CHG-1")
    assert h["timestamp"] == rec["decided_at"]
    for action in ("approve", "deny", "expire"):
        r = srv.post(f"{url}/{action}", {"actor": "x", "reason": "again"})
        assert r.status_code == 409 and "approved" in r.json()["detail"], r.text
    assert srv.get(url).json()["history"] == rec["history"]
    # deny and expire
    b = create(srv, {"decision": decide(srv, action_type="execute_command", target="make b")})
    r = srv.post(f"/approvals/{b['approval_id']}/deny", {"actor": "kim", "reason": "no"})
    assert r.json()["state"] == "denied"
    c = create(srv, {"decision": decide(srv, action_type="execute_command", target="make c")})
    r = srv.post(f"/approvals/{c['approval_id']}/expire", data="")
    assert r.status_code == 200 and r.json()["state"] == "expired", r.text
    assert srv.post("/approvals/apr_000000000000/approve",
                    {"actor": "a", "reason": "b"}).status_code == 404


def test_a_damaged_stored_approval_is_not_written_back_without_its_history(srv):
    # the payload edited in the database into JSON the strict parser refuses (a key twice): an
    # approve must refuse, not start a new payload from nothing (which dropped the history);
    # the row is not what its chain entry hashed, so it is refused before it is parsed
    if backend_of(srv.db) == "postgres":
        pytest.skip("jsonb keeps one of two equal keys: PostgreSQL cannot hold such a payload")
    d = decide(srv, action_type="execute_command", target="make deploy")
    a = create(srv, {"decision": d})
    damaged = '{"history":[{"event":"requested"}],"x":1,"x":2}'
    sql(srv.db, f"UPDATE approvals SET payload = '{damaged}' "
                f"WHERE approval_id = '{a['approval_id']}'")
    r = srv.post(f"/approvals/{a['approval_id']}/approve", {"actor": "sam", "reason": "ok"})
    assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
    rows = sql(srv.db, f"SELECT state, payload FROM approvals "
                       f"WHERE approval_id = '{a['approval_id']}'")
    assert rows == [["pending", damaged]], rows
    assert (f"approval '{a['approval_id']}' is not what the audit chain last recorded for it"
            in srv.stderr()), srv.stderr()


def set_state(db, approval_id, state, group=None):
    """The approval's state (column and record) changed in the database, and its group."""
    pg = backend_of(db) == "postgres"
    payload = (f"jsonb_set(payload, '{{state}}', '\"{state}\"')" if pg
               else f"json_set(payload, '$.state', '{state}')")
    if group:
        payload = (f"jsonb_set({payload}, '{{approver_group}}', '\"{group}\"')" if pg
                   else f"json_set({payload}, '$.approver_group', '{group}')")
    sql(db, f"UPDATE approvals SET state = '{state}', payload = {payload}"
            + (f", approver_group = '{group}'" if group else "")
            + f" WHERE approval_id = '{approval_id}'")


def test_an_approval_changed_in_the_database_is_not_served(srv):
    """What a harness waits on: an approval approved by SQL (or handed to another group) is
    refused where it is read by id and where it would be decided (409, nothing written, the
    log names it), so no harness proceeds on it and no approver's click chains the edit.
    `cavra audit verify` names it; a new approval can be asked for once it is not pending."""
    d = decide(srv, action_type="execute_command", target="make deploy")
    a = create(srv, {"decision": d})
    url = f"/approvals/{a['approval_id']}"
    assert srv.get(url).json()["state"] == "pending"
    set_state(srv.db, a["approval_id"], "approved")
    r = srv.get(url)
    assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
    assert "is not what the audit chain last recorded for it" in r.json()["detail"], r.text
    assert f"approval '{a['approval_id']}' is not what the audit chain" in srv.stderr()
    # nor listed: a harness polling ?state=approved does not see it either
    for query in (f"decision_id={d['decision_id']}", "state=approved"):
        page = srv.get(f"/approvals?{query}").json()
        assert page["items"] == [] and page["withheld"] == 1, page
    # said once for both lists: a client polling a tampered list does not flood the log
    logged = [l for l in srv.stderr().splitlines() if "left out of a list" in l]
    assert len(logged) == 1 and f"'{a['approval_id']}' the first" in logged[0], logged
    set_state(srv.db, a["approval_id"], "pending", group="Mallory Friends")
    for action in ("approve", "deny", "expire"):
        r = srv.post(f"{url}/{action}", {"actor": "sam", "reason": "ok"})
        assert r.status_code == 409 and "audit chain" in r.json()["detail"], r.text
    assert sql(srv.db, f"SELECT state, approver_group FROM approvals WHERE approval_id = "
                       f"'{a['approval_id']}'") == [["pending", "Mallory Friends"]]
    # asked for again, the decision's open approval is that one: not served either
    assert "audit chain" in create(srv, {"decision": d}, status=409)["detail"]
    code, out, err = cavra("audit", "verify", db=srv.db)
    assert code == 1 and f"id={a['approval_id']}" in out, out + err
    # approved by SQL, it is no longer the decision's open approval: a new one can be asked for
    set_state(srv.db, a["approval_id"], "approved")
    b = create(srv, {"decision": d})
    assert b["approval_id"] != a["approval_id"] and b["state"] == "pending", b
    r = srv.post(f"/approvals/{b['approval_id']}/approve", {"actor": "sam", "reason": "ok"})
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    page = srv.get(f"/approvals?decision_id={d['decision_id']}").json()
    assert [x["approval_id"] for x in page["items"]] == [b["approval_id"]], page
    assert page["withheld"] == 1 and page["total"] == 2, page
    page = srv.get("/approvals?approver_group=Repository%20Owners").json()
    assert [x["approval_id"] for x in page["items"]] == [b["approval_id"]], page
    assert "withheld" not in page, page


def test_simultaneous_first_requests_make_one_approval(srv):
    # the open-approval check runs again inside the write, under the chain head's lock
    for round_ in range(4):
        d = decide(srv, action_type="execute_command", target=f"make ship{round_}")
        barrier = threading.Barrier(8)

        def go(i):
            barrier.wait()
            r = srv.post("/approvals", {"decision_id": d["decision_id"], "requested_by": f"h{i}"})
            return r.status_code, r.json().get("approval_id")

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            got = list(pool.map(go, range(8)))
        codes = sorted(c for c, _ in got)
        assert codes == [200] * 7 + [201], got
        assert len({a for _, a in got}) == 1, got
        rows = sql(srv.db, "SELECT count(*) FROM approvals WHERE decision_id = "
                           f"'{d['decision_id']}'")
        assert rows == [["1"]], rows


def test_concurrent_approves_exactly_one_wins(srv):
    for round_ in range(3):
        d = decide(srv, action_type="execute_command", target=f"make release{round_}")
        a = create(srv, {"decision": d})
        url = f"/approvals/{a['approval_id']}/"

        def go(i):
            action = "approve" if i % 2 == 0 else "deny"
            return srv.post(url + action, {"actor": f"op{i}", "reason": f"r{i}"}).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(go, range(8)))
        assert sorted(codes) == [200] + [409] * 7, codes
        rec = srv.get(url.rstrip("/")).json()
        assert len(rec["history"]) == 2 and rec["state"] in ("approved", "denied")


def test_expiry_by_time_and_state_filters(srv):
    short = create(srv, {"decision": decide(srv, action_type="execute_command", target="make x"),
                         "ttl_hours": 0.0003})  # about a second
    long = create(srv, {"decision": decide(srv, action_type="execute_command", target="make y"),
                        "approver_group": "Team B"})
    time.sleep(1.5)
    got = srv.get(f"/approvals/{short['approval_id']}").json()
    assert got["state"] == "expired"
    r = srv.post(f"/approvals/{short['approval_id']}/approve", {"actor": "a", "reason": "late"})
    assert r.status_code == 409 and "expired" in r.json()["detail"]

    def listed(q):
        return sorted(i["approval_id"] for i in srv.get("/approvals" + q).json()["items"])

    assert listed("?state=expired") == [short["approval_id"]]
    assert listed("?state=pending") == [long["approval_id"]]
    assert listed("?approver_group=Team%20B") == [long["approval_id"]]
    assert listed("?state=pending&approver_group=Repository%20Owners") == []
    assert srv.get("/approvals?state=later").status_code == 400
    env = srv.get("/approvals?limit=1").json()
    assert env["total"] == 2 and env["next_cursor"]


def test_break_glass(srv):
    d = decide(srv, action_type="execute_command", target="terraform apply")
    base = {"decision": d, "actor": "oncall", "reason": "prod down", "external_ref": "INC-42"}
    for missing in ("reason", "external_ref", "actor"):
        r = srv.post("/approvals/break-glass", {k: v for k, v in base.items() if k != missing})
        assert r.status_code == 400 and missing in r.json()["detail"], r.text
    r = srv.post("/approvals/break-glass", dict(base, ttl_hours=5))
    assert r.status_code == 400 and "4" in r.json()["detail"]
    r = srv.post("/approvals/break-glass", base)
    assert r.status_code == 201, r.text
    bg = r.json()
    assert (bg["state"], bg["approver_group"], bg["external_ref"]) == (
        "break_glass", "Change Advisory Board", "INC-42")
    assert bg["history"][-1]["event"] == "break_glass"
    assert bg["history"][-1]["reason"] == "prod down"
    hours = (time_of(bg["expires_at"]) - time_of(bg["created_at"])) / 3600
    assert 3.99 < hours <= 4.0
    assert srv.post(f"/approvals/{bg['approval_id']}/approve",
                    {"actor": "a", "reason": "b"}).status_code == 409
    items = srv.get("/approvals?state=break_glass").json()["items"]
    assert [i["approval_id"] for i in items] == [bg["approval_id"]]


def time_of(ts):
    import datetime
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def test_routing_file(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    rules = tmp_path / "routing.yaml"
    rules.write_text("approval_routing:\n"
                     "  - rule_id_prefix: filesystem.write\n"
                     "    target_contains: iam/\n"
                     "    approver_group: Cloud IAM Owners\n")
    with serve(db, "--approval-routing-file", str(rules), tmp=tmp_path) as s:
        d = decide(s, action_type="write_file", target="iam/a.tf")
        assert create(s, {"decision": d})["approver_group"] == "Cloud IAM Owners"
        # the file replaces the built-in rules: commands now fall to the decision's group
        d = decide(s, action_type="execute_command", target="make x")
        assert create(s, {"decision": d})["approver_group"] == "Repository Owners"
    js = tmp_path / "routing.json"
    js.write_text(json.dumps([{"severity": "medium", "approver_group": "Medium Team"}]))
    with serve(db, env={"CAVRA_APPROVAL_ROUTING_FILE": str(js)}, tmp=tmp_path) as s:
        d = decide(s, action_type="execute_command", target="make y")
        assert create(s, {"decision": d})["approver_group"] == "Medium Team"


@pytest.mark.parametrize("text,needle", [
    ("approval_routing:\n  - approver_group: [x\n", r"bad-routing\.yaml:\d+: "),
    ('{"rules": [\n  {"approver_group": "A" "colour": 1},\n  {}\n]}', r"bad-routing\.yaml:2: "),
    ("rules:\n  - rule_id: x\n", "approver_group"),
    ("rules:\n  - approver_group: A\n    colour: red\n", "colour"),
    ("just: words\n", "list of rules"),
])
def test_bad_routing_file_stops_startup(db, tmp_path, text, needle):
    assert cavra("migrate", "up", db=db)[0] == 0
    f = tmp_path / "bad-routing.yaml"
    f.write_text(text)
    code, out, err = cavra("serve", "--listen", "127.0.0.1:1", "--approval-routing-file",
                           str(f), db=db, timeout=20)
    assert code == 2, (code, err)
    assert "bad-routing.yaml" in err and re.search(needle, err), err
    assert len([l for l in err.splitlines() if l.strip()]) == 1, err
