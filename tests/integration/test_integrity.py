"""The governance record cannot be falsified by the agents it governs: an approval shows the
stored decision and the routed approver group, and who acted is who authenticated
(requested_by, the history's actors, recorded_by on every record the API writes)."""
import os
import subprocess

import pytest

from conftest import REPO, Postgres, cavra, psql, serve
from test_oidc import bearer, oidc_args, store_decision
from test_tokens import make_token


@pytest.fixture
def migrated(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    return db


def blocked_destroy(s, session_id="int-1", **kw):
    r = s.post("/decisions", {"session_id": session_id, "agent_id": "codex",
                              "actor": "alice@example.test", "action_type": "execute_command",
                              "target": "terraform destroy"}, **kw)
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["decision"], d["severity"]) == ("block", "high"), d
    return d


def approvals_of(s, decision_id):
    return s.get(f"/approvals?decision_id={decision_id}").json()["items"]


def test_approval_is_built_from_the_stored_decision(migrated, tmp_path):
    with serve(migrated, tmp=tmp_path) as s:
        d = blocked_destroy(s)
        forged = dict(d, target="ls -la", severity="low", decision="allow")
        r = s.post("/approvals", {"decision": forged})
        assert r.status_code == 409, r.text
        assert "differs from stored decision" in r.json()["detail"], r.text
        r = s.post("/approvals/break-glass", {"decision": forged, "actor": "oncall",
                                              "reason": "r", "external_ref": "INC-1"})
        assert r.status_code == 409, r.text
        assert approvals_of(s, d["decision_id"]) == []
        # a decision that was never stored: 404, whatever the body says of it
        for body in ({"decision_id": "dec_000000000000"},
                     {"decision": {"decision_id": "dec_000000000000", "target": "ls -la",
                                   "approver_group": "Friends"}}):
            r = s.post("/approvals", body)
            assert r.status_code == 404 and "not found" in r.json()["detail"], r.text
        r = s.post("/approvals", {"decision_id": d["decision_id"],
                                  "decision": {"decision_id": "dec_000000000000"}})
        assert r.status_code == 400, r.text
        # the unchanged copy, a part of it, or the id alone: the stored decision
        for body in ({"decision": d}, {"decision": {"decision_id": d["decision_id"],
                                                    "target": "terraform destroy"}},
                     {"decision_id": d["decision_id"]}):
            r = s.post("/approvals", body)
            assert r.status_code in (200, 201), r.text
            a = r.json()
            assert (a["target"], a["severity"]) == ("terraform destroy", "high")
            assert a["decision"]["target"] == "terraform destroy"
            assert a["decision"]["decision"] == "block"
            assert (a["approver_group"], a["routed_by"]) == ("Cloud Security",
                                                             "blocked-terraform")
        assert len(approvals_of(s, d["decision_id"])) == 1


def test_only_approvals_route_chooses_the_group(migrated, tmp_path):
    agent = make_token(migrated, "int-agent", "agent")
    operator = make_token(migrated, "int-operator", "security_operator", "platform_security")
    admin = make_token(migrated, "int-admin", "admin")
    with serve(migrated, tmp=tmp_path) as s:
        d = blocked_destroy(s, headers=bearer(agent))
        for tok in (agent, operator):
            r = s.post("/approvals", {"decision_id": d["decision_id"],
                                      "approver_group": "Friends of the agent"},
                       headers=bearer(tok))
            assert r.status_code == 403, r.text
            assert "approvals.route" in r.json()["detail"]
            assert "Cloud Security" in r.json()["detail"]
        assert approvals_of(s, d["decision_id"]) == []
        # naming the group the rules give is no override
        r = s.post("/approvals", {"decision_id": d["decision_id"],
                                  "approver_group": "Cloud Security"}, headers=bearer(agent))
        assert r.status_code == 201, r.text
        assert [h["event"] for h in r.json()["history"]] == ["requested"]
        assert s.post(f"/approvals/{r.json()['approval_id']}/expire",
                      headers=bearer(admin)).status_code == 200
        # admin may, and the history says so
        r = s.post("/approvals", {"decision_id": d["decision_id"],
                                  "approver_group": "Incident Response"}, headers=bearer(admin))
        assert r.status_code == 201, r.text
        a = r.json()
        assert (a["approver_group"], a["routed_by"]) == ("Incident Response", "override")
        assert [h["event"] for h in a["history"]] == ["requested", "approver_group_override"]
        h = a["history"][1]
        assert (h["actor"], h["approver_group"], h["routed_group"], h["routed_by"]) == (
            "int-admin", "Incident Response", "Cloud Security", "blocked-terraform")
        assert h["recorded_by"] == {"kind": "api_token", "token": "int-admin"}


def test_none_mode_records_local_and_tokens_their_name(migrated, tmp_path):
    agent = make_token(migrated, "int-agent", "agent")
    admin = make_token(migrated, "int-admin-s", "admin")
    forged = {"kind": "oidc", "issuer": "https://idp.example", "subject": "ciso"}
    with serve(migrated, tmp=tmp_path) as s:
        d = blocked_destroy(s)
        assert d["recorded_by"] == {"kind": "local"} and d["actor"] == "alice@example.test"
        assert s.get(f"/decisions/{d['decision_id']}").json()["recorded_by"] == {"kind": "local"}
        d2 = blocked_destroy(s, "int-2", headers=bearer(agent))
        assert d2["recorded_by"] == {"kind": "api_token", "token": "int-agent"}
        r = s.post("/agents", {"agent_id": "int-a", "recorded_by": forged})
        assert r.status_code == 201 and r.json()["recorded_by"] == {"kind": "local"}, r.text
        # sessions written through POST /sessions too; an upsert without metadata keeps it
        r = s.post("/sessions", {"session_id": "int-s", "metadata": {"ticket": "T-1"},
                                 "recorded_by": forged})
        assert r.status_code == 201 and r.json()["recorded_by"] == {"kind": "local"}, r.text
        r = s.post("/sessions", {"session_id": "int-s", "state": "completed"},
                   headers=bearer(admin))
        assert r.status_code == 200, r.text
        got = s.get("/sessions/int-s").json()
        assert got["recorded_by"] == {"kind": "local"}
        assert got["changed_by"] == {"kind": "api_token", "token": "int-admin-s"}
        assert got["metadata"] == {"ticket": "T-1"} and got["state"] == "completed"
        a = s.post("/approvals", {"decision_id": d["decision_id"]}).json()
        assert a["recorded_by"] == {"kind": "local"}
        assert a["requested_by"] == "alice@example.test"  # the decision's actor, as before
        r = s.post("/approvals", {"decision_id": d2["decision_id"], "requested_by": "bob"},
                   headers=bearer(agent))
        assert r.status_code == 403 and "not the caller" in r.json()["detail"], r.text
        r = s.post("/approvals", {"decision_id": d2["decision_id"]}, headers=bearer(agent))
        assert r.json()["requested_by"] == "int-agent"


def test_evidence_is_replaced_only_by_its_writer_or_an_admin(migrated, tmp_path):
    """An agent cannot rewrite another agent's evidence (say, after an approval was granted on
    it): the record is replaced only by the caller that wrote it (whose first write started its
    session), or an admin."""
    mine = make_token(migrated, "ev-agent-a", "agent")
    other = make_token(migrated, "ev-agent-b", "agent")
    admin = make_token(migrated, "ev-admin", "admin")
    first = {"session_id": "ev-s", "signer": "agent-a-key", "approval_required_count": 1,
             "attachment": "sha256:aaaa"}
    with serve(migrated, tmp=tmp_path) as s:
        assert s.post("/evidence", first, headers=bearer(mine)).status_code == 201
        r = s.post("/evidence", dict(first, attachment="sha256:bbbb", signer="b"),
                   headers=bearer(other))
        assert r.status_code == 403, r.text
        assert r.json()["detail"] == (
            "session 'ev-s' was recorded or started by another caller: only that caller, or "
            "one with permission 'evidence.replace', may record its evidence")
        got = s.get("/evidence/ev-s").json()
        assert (got["attachment"], got["recorded_by"]["token"]) == ("sha256:aaaa", "ev-agent-a")
        # the same body from another caller is refused too: it would move recorded_by
        assert s.post("/evidence", first, headers=bearer(other)).status_code == 403
        # another caller's first record of a session is its own
        assert s.post("/evidence", dict(first, session_id="ev-t"),
                      headers=bearer(other)).status_code == 201
        r = s.post("/evidence", dict(first, attachment="sha256:cccc"), headers=bearer(mine))
        assert r.status_code == 200 and r.json()["attachment"] == "sha256:cccc", r.text
        # an admin may replace it, and is named as changed_by without taking it over
        r = s.post("/evidence", dict(first, attachment="sha256:dddd"), headers=bearer(admin))
        assert r.status_code == 200, r.text
        assert (r.json()["recorded_by"]["token"], r.json()["changed_by"]["token"]) == (
            "ev-agent-a", "ev-admin"), r.text
        # auth mode none without credentials is every role: the pilot's callers share records
        assert s.post("/evidence", first).status_code == 200


def test_oidc_who_acted_is_who_authenticated(migrated, tmp_path, idp):
    tok = {p: idp.token(p) for p in ("agent", "operator", "platform", "cab")}
    with serve(migrated, *oidc_args(idp), tmp=tmp_path) as s:
        me = {p: s.get("/auth/whoami", headers=bearer(t)).json() for p, t in tok.items()}

        def by(p):
            return {"kind": "oidc", "issuer": idp.issuer, "subject": me[p]["subject"]}

        forged = {"kind": "api_token", "token": "someone-else"}
        # the decision keeps the harness's actor and records the verified caller
        d = s.post("/decisions", {"action_type": "execute_command", "target": "make deploy",
                                  "actor": "alice@example.test", "recorded_by": forged},
                   headers=bearer(tok["agent"])).json()
        assert (d["actor"], d["recorded_by"]) == ("alice@example.test", by("agent"))
        url = "/approvals"
        r = s.post(url, {"decision_id": d["decision_id"], "requested_by": "alice@example.test"},
                   headers=bearer(tok["agent"]))
        assert r.status_code == 403 and "not the caller" in r.json()["detail"], r.text
        a = s.post(url, {"decision_id": d["decision_id"], "recorded_by": forged},
                   headers=bearer(tok["agent"])).json()
        assert a["requested_by"] == me["agent"]["actor"] and a["recorded_by"] == by("agent")
        assert (a["history"][0]["actor"], a["history"][0]["recorded_by"]) == (
            me["agent"]["actor"], by("agent"))
        assert a["approver_group"] == "Repository Owners"
        # the operator approves: actor and recorded_by are the operator's, whatever the body says
        r = s.post(f"/approvals/{a['approval_id']}/approve", {"reason": "ok"},
                   headers=bearer(tok["operator"]))
        assert r.status_code == 200, r.text
        h = r.json()["history"][-1]
        assert (h["event"], h["actor"], h["recorded_by"]) == (
            "approved", "operator@example.test", by("operator"))
        # expire and break-glass, too
        d2 = s.post("/decisions", {"action_type": "execute_command", "target": "make x"},
                    headers=bearer(tok["agent"])).json()
        b = s.post(url, {"decision_id": d2["decision_id"]}, headers=bearer(tok["agent"])).json()
        r = s.post(f"/approvals/{b['approval_id']}/expire", {"actor": "mallory"},
                   headers=bearer(tok["operator"]))
        assert r.status_code == 403, r.text
        r = s.post(f"/approvals/{b['approval_id']}/expire", headers=bearer(tok["operator"]))
        h = r.json()["history"][-1]
        assert (h["event"], h["actor"], h["recorded_by"]) == (
            "expired", "operator@example.test", by("operator"))
        r = s.post("/approvals/break-glass", {"decision_id": d2["decision_id"], "reason": "down",
                                              "external_ref": "INC-7"}, headers=bearer(tok["cab"]))
        assert r.status_code == 201, r.text
        g = r.json()
        assert (g["requested_by"], g["decided_by"], g["recorded_by"]) == (
            "cab@example.test", "cab@example.test", by("cab"))
        assert {h["recorded_by"]["subject"] for h in g["history"]} == {me["cab"]["subject"]}
        # every other record the API writes
        writes = [("/evidence", {"session_id": "int-e"}, "operator"),
                  ("/agents", {"agent_id": "int-a"}, "platform"),
                  ("/mcp/servers", {"name": "int-m"}, "platform"),
                  ("/repositories", {"repository": "acme/int"}, "platform"),
                  ("/policy-rollouts", {"repository": "acme/int", "policy_pack": "p"},
                   "platform"),
                  ("/integrations", {"provider": "jira"}, "platform")]
        for path, body, persona in writes:
            r = s.post(path, dict(body, recorded_by=forged), headers=bearer(tok[persona]))
            assert r.status_code == 201, (path, r.text)
            assert r.json()["recorded_by"] == by(persona), (path, r.json())


def session_post(s, token, session_id, **fields):
    return s.post("/sessions", dict(fields, session_id=session_id), headers=bearer(token))


def test_a_session_is_changed_only_by_the_caller_that_recorded_or_started_it(migrated,
                                                                             tmp_path):
    """One agent cannot rewrite what an approver sees of another agent's session (its agent,
    repository, pack, state or metadata): a session is changed through POST /sessions only by
    the caller that recorded it there or, never recorded, made its first decision; or by a role
    with sessions.replace (admin)."""
    mine = make_token(migrated, "ses-agent-a", "agent")
    other = make_token(migrated, "ses-agent-b", "agent")
    admin = make_token(migrated, "ses-admin", "admin")
    with serve(migrated, tmp=tmp_path) as s:
        r = session_post(s, mine, "ses-rec", repository="acme/app", metadata={"ticket": "T-1"})
        assert r.status_code == 201, r.text
        r = session_post(s, other, "ses-rec", repository="acme/infra", state="completed")
        assert r.status_code == 403, r.text
        assert r.json()["detail"] == (
            "session 'ses-rec' was recorded or started by another caller: only that caller, "
            "or one with permission 'sessions.replace', may change it")
        # nor through a decision of its own (test_a_decision_joins_only_a_session_...), nor an
        # admin's decision: a recorded session's empty fields stay empty
        r = s.post("/decisions", {"session_id": "ses-rec", "agent_id": "evil-agent",
                                  "actor": "mallory", "action_type": "read_file",
                                  "target": "README.md"}, headers=bearer(other))
        assert r.status_code == 403, r.text
        r = s.post("/decisions", {"session_id": "ses-rec", "agent_id": "admin-agent",
                                  "actor": "root", "action_type": "read_file",
                                  "target": "README.md"}, headers=bearer(admin))
        assert r.status_code == 201, r.text
        got = s.get("/sessions/ses-rec").json()
        assert (got["repository"], got["state"], got["metadata"]) == (
            "acme/app", "active", {"ticket": "T-1"})
        assert (got["agent_id"], got["actor"], got["decision_count"]) == (None, None, 1), got
        assert got["recorded_by"]["token"] == "ses-agent-a"
        # a session that only decisions made belongs to the caller of its first decision
        r = s.post("/decisions", {"session_id": "ses-dec", "agent_id": "codex",
                                  "action_type": "read_file", "target": "README.md"},
                   headers=bearer(mine))
        assert r.status_code == 201, r.text
        assert session_post(s, other, "ses-dec", agent_id="forged").status_code == 403
        assert s.get("/sessions/ses-dec").json()["agent_id"] == "codex"
        r = session_post(s, mine, "ses-dec", state="completed")
        assert r.status_code == 200 and r.json()["state"] == "completed", r.text
        # the owner changes its own; another caller's new session is its own
        assert session_post(s, mine, "ses-rec", state="failed").status_code == 200
        assert session_post(s, other, "ses-new").status_code == 201
        # an admin may change any session, and is recorded as having done so (changed_by)
        # without taking it over: its owner still writes to it and adds decisions
        r = session_post(s, admin, "ses-rec", state="archived", metadata={"ticket": "T-2"})
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["recorded_by"]["token"], got["changed_by"]["token"]) == (
            "ses-agent-a", "ses-admin"), got
        assert (got["state"], got["metadata"]) == ("archived", {"ticket": "T-2"})
        r = s.post("/decisions", {"session_id": "ses-rec", "action_type": "read_file",
                                  "target": "README.md"}, headers=bearer(mine))
        assert r.status_code == 201, r.text
        r = session_post(s, mine, "ses-rec", state="completed")
        assert r.status_code == 200 and "changed_by" not in r.json(), r.text
        assert r.json()["metadata"] == {"ticket": "T-2"}
        # a session only decisions made keeps the caller of its first decision as its owner
        r = session_post(s, admin, "ses-dec", state="failed")
        assert r.json()["recorded_by"]["token"] == "ses-agent-a", r.text
        assert session_post(s, mine, "ses-dec", state="completed").status_code == 200
        # auth mode none without credentials is every role: the pilot's callers share records
        assert s.post("/sessions", {"session_id": "ses-rec"}).status_code == 200


def decision_post(s, token, session_id=None, **fields):
    body = dict({"agent_id": "codex", "action_type": "read_file", "target": "README.md"},
                **fields)
    if session_id:
        body["session_id"] = session_id
    return s.post("/decisions", body, headers=bearer(token) if token else None)


def test_a_decision_joins_only_a_session_its_caller_recorded_or_started(migrated, tmp_path):
    """One agent cannot add decisions to another agent's session, which would raise the counters
    and fill the list an approver reads as that session's: a decision names an existing session
    only from the caller that recorded it (POST /sessions) or made its first decision, or from a
    role with sessions.replace (admin).  Nothing is written for a refused one."""
    mine = make_token(migrated, "own-agent-a", "agent")
    other = make_token(migrated, "own-agent-b", "agent")
    admin = make_token(migrated, "own-admin", "admin")
    with serve(migrated, tmp=tmp_path) as s:
        assert decision_post(s, mine, "own-dec").status_code == 201
        r = decision_post(s, other, "own-dec", agent_id="forged",
                          action_type="execute_command", target="terraform destroy")
        assert r.status_code == 403, r.text
        assert r.json()["detail"] == (
            "session 'own-dec' was recorded or started by another caller: only that caller, "
            "or one with permission 'sessions.replace', may add decisions to it")
        got = s.get("/sessions/own-dec").json()
        assert (got["decision_count"], got["blocked_count"]) == (1, 0), got
        assert len(s.get("/sessions/own-dec/decisions").json()["items"]) == 1
        assert decision_post(s, mine, "own-dec").status_code == 201
        # a session recorded through POST /sessions belongs to its recorder, decisions or not
        assert session_post(s, mine, "own-rec", repository="acme/app").status_code == 201
        assert decision_post(s, other, "own-rec").status_code == 403
        assert decision_post(s, mine, "own-rec").status_code == 201
        # an admin may add to any session; another caller's new session is its own
        assert decision_post(s, admin, "own-dec").status_code == 201
        assert decision_post(s, other, "own-new").status_code == 201
        assert decision_post(s, mine, "own-new").status_code == 403
        r = decision_post(s, other)
        assert r.status_code == 201 and r.json()["session_id"].startswith("ses_"), r.text
        assert s.get("/sessions/own-dec").json()["decision_count"] == 3
        # auth mode none without credentials is every role: the pilot's callers share sessions
        assert decision_post(s, None, "own-new").status_code == 201


def evidence_post(s, token, session_id, **fields):
    return s.post("/evidence", dict(fields, session_id=session_id),
                  headers=bearer(token) if token else None)


def test_a_sessions_evidence_comes_from_its_owner(migrated, tmp_path):
    """One agent cannot record the evidence of another agent's session: evidence is one record
    per session that auditors filter on (blocked_count, approval_required_count), and the
    first writer keeps it, so another agent's evidence, written first, would tell its own story
    of the session and lock the owner out.  POST /evidence naming an existing session is 403
    unless the caller owns the session or holds evidence.replace; nothing is stored then."""
    mine = make_token(migrated, "ev-agent-a", "agent")
    other = make_token(migrated, "ev-agent-b", "agent")
    secop = make_token(migrated, "ev-secop", "security_operator")

    with serve(migrated, tmp=tmp_path) as s:
        assert decision_post(s, mine, "ev-dec").status_code == 201
        r = evidence_post(s, other, "ev-dec", signer="forged", blocked_count=0)
        assert r.status_code == 403, r.text
        assert r.json()["detail"] == (
            "session 'ev-dec' was recorded or started by another caller: only that caller, "
            "or one with permission 'evidence.replace', may record its evidence")
        assert s.get("/evidence/ev-dec").status_code == 404
        r = evidence_post(s, mine, "ev-dec", signer="harness", blocked_count=1)
        assert r.status_code == 201 and r.json()["recorded_by"]["token"] == "ev-agent-a", r.text
        # a session recorded through POST /sessions likewise
        assert session_post(s, mine, "ev-rec").status_code == 201
        assert evidence_post(s, other, "ev-rec").status_code == 403
        # evidence.replace may write any session's evidence
        assert evidence_post(s, secop, "ev-rec", signer="review").status_code == 201
        # auth mode none without credentials is every role
        assert evidence_post(s, None, "ev-dec", blocked_count=2).status_code == 200


def test_evidence_written_first_takes_the_session(migrated, tmp_path):
    """Evidence for a session not started yet starts it for its writer, who owns it (its
    started_by) until a POST /sessions records it.  Before, the record alone was taken: another
    agent that learnt a session id wrote its evidence first, the owner's decisions were stored
    in the session all the same, and the owner could not replace that evidence, so an auditor
    filtering on blocked_count read the other agent's story of it.  Now the owner's first decision is refused (403, nothing
    stored): the squatting is loud.  A session's owner replaces its session's evidence whoever
    wrote it before (one that a caller with evidence.replace wrote before the session began,
    say)."""
    mine = make_token(migrated, "evf-agent-a", "agent")
    other = make_token(migrated, "evf-agent-b", "agent")
    secop = make_token(migrated, "evf-secop", "security_operator")

    with serve(migrated, tmp=tmp_path) as s:
        r = evidence_post(s, other, "evf-s", signer="forged", blocked_count=0)
        assert r.status_code == 201, r.text
        got = s.get("/sessions/evf-s").json()
        assert got["started_by"] == {"kind": "api_token", "token": "evf-agent-b"}, got
        assert (got["state"], got["decision_count"], got["agent_id"]) == ("active", 0, None)
        assert "recorded_by" not in got, got
        r = decision_post(s, mine, "evf-s")
        assert r.status_code == 403, r.text
        assert s.get("/sessions/evf-s").json()["decision_count"] == 0
        assert evidence_post(s, mine, "evf-s", signer="harness").status_code == 403
        assert s.get("/evidence/evf-s").json()["signer"] == "forged"
        # the writer's own decisions join the session it started and describe it, as in a
        # session a decision started; its POST /sessions records it
        assert decision_post(s, other, "evf-s", agent_id="evf-b").status_code == 201
        got = s.get("/sessions/evf-s").json()
        assert (got["agent_id"], got["decision_count"]) == ("evf-b", 1), got
        assert session_post(s, other, "evf-s", state="completed").status_code == 200
        got = s.get("/sessions/evf-s").json()
        assert got["recorded_by"]["token"] == "evf-agent-b" and "started_by" not in got, got
        assert decision_post(s, mine, "evf-s").status_code == 403
        # the owner writes first: its own evidence and decisions, the other agent refused
        assert evidence_post(s, mine, "evf-t", signer="harness").status_code == 201
        assert decision_post(s, mine, "evf-t").status_code == 201
        assert evidence_post(s, other, "evf-t", signer="forged").status_code == 403
        # evidence.replace does not start a session: it owns none, the first decision does
        assert evidence_post(s, secop, "evf-u", signer="review").status_code == 201
        assert s.get("/sessions/evf-u").status_code == 404
        assert decision_post(s, mine, "evf-u").status_code == 201
        # ... and the session's owner replaces that record, taking it over
        r = evidence_post(s, mine, "evf-u", signer="harness", blocked_count=1)
        assert r.status_code == 200 and r.json()["recorded_by"]["token"] == "evf-agent-a", r.text
        assert "changed_by" not in r.json(), r.text
        # without credentials (auth mode none's every role) nothing is started either
        assert evidence_post(s, None, "evf-v").status_code == 201
        assert s.get("/sessions/evf-v").status_code == 404


def test_an_agent_asks_for_approvals_of_its_own_decisions(migrated, tmp_path):
    """One agent cannot ask for the approval of another agent's decision: the request would open
    the decision's one pending approval, with a lifetime of its choosing, for an action the
    deciding agent never asked to take, and an approver could grant it.  POST /approvals is 403
    unless the decision's recorded_by is the caller or the caller holds approvals.request_any
    (the roles that decide approvals); the refused caller gets no open approval back, and
    nothing is stored.  A decision nobody recorded through the API (imported) is nobody's."""
    mine = make_token(migrated, "req-agent-a", "agent")
    other = make_token(migrated, "req-agent-b", "agent")
    secop = make_token(migrated, "req-secop", "security_operator")
    admin = make_token(migrated, "req-admin", "admin")
    reader = make_token(migrated, "req-auditor", "auditor")
    cab = make_token(migrated, "req-cab", "break_glass_approver")
    store_decision(migrated, tmp_path, "dec_imported0001")

    def ask(token, decision_id, **fields):
        return s.post("/approvals", dict(fields, decision_id=decision_id),
                      headers=bearer(token) if token else None)

    def refused(r, decision_id):
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "forbidden" and "approval_id" not in r.json(), r.text
        assert r.json()["detail"] == (
            f"decision '{decision_id}' was recorded by another caller: only that caller, or "
            "one with permission 'approvals.request_any', may ask for its approval")

    def approvals(decision_id):
        r = s.get(f"/approvals?decision_id={decision_id}", headers=bearer(reader))
        assert r.status_code == 200, r.text
        return r.json()["items"]

    with serve(migrated, tmp=tmp_path) as s:
        d = decision_post(s, mine, "req-s", action_type="execute_command", target="make x").json()
        assert d["decision"] == "require_approval", d
        dec = d["decision_id"]
        refused(ask(other, dec, ttl_hours=720), dec)
        # a copy of the decision that differs says nothing of it: 403, not 409 naming a field
        refused(s.post("/approvals", {"decision": {"decision_id": dec, "target": "ls"}},
                       headers=bearer(other)), dec)
        assert approvals(dec) == []
        r = ask(mine, dec)
        assert r.status_code == 201 and r.json()["requested_by"] == "req-agent-a", r.text
        # the refusal comes before the open approval is looked up: it is not handed out
        refused(ask(other, dec), dec)
        # the roles that decide approvals may ask for any decision's
        r = ask(secop, dec)
        assert r.status_code == 200 and r.json()["requested_by"] == "req-agent-a", r.text
        d2 = decision_post(s, mine, "req-s", action_type="execute_command",
                           target="make y").json()
        r = ask(secop, d2["decision_id"])
        assert r.status_code == 201 and r.json()["requested_by"] == "req-secop", r.text
        assert [a["requested_by"] for a in approvals(dec)] == ["req-agent-a"]
        # a decision without recorded_by (imported) is nobody's; one written without
        # credentials is local's, which no token is
        refused(ask(mine, "dec_imported0001"), "dec_imported0001")
        assert approvals("dec_imported0001") == []
        assert ask(admin, "dec_imported0001").status_code == 201
        local = decision_post(s, None, "req-local", action_type="execute_command",
                              target="make z").json()
        refused(ask(mine, local["decision_id"]), local["decision_id"])
        # auth mode none without credentials is every role, as before
        assert ask(None, local["decision_id"]).status_code == 201
        # break-glass is a person's act on any decision, unchanged
        r = s.post("/approvals/break-glass", {"decision_id": d2["decision_id"], "reason": "r",
                                              "external_ref": "INC-1"}, headers=bearer(cab))
        assert r.status_code == 201, r.text


def test_evidence_replaced_by_another_caller_keeps_its_writer(migrated, tmp_path):
    """A caller with evidence.replace (security_operator, admin; local in auth mode none) who
    writes over an agent's evidence does not take it over: the record keeps recorded_by, the
    agent, and names the caller as changed_by, so the agent still writes to it.  Before, the
    replacer became recorded_by: the agent's next write was 403, and the record no longer said
    who first recorded it.  A body cannot name changed_by itself."""
    mine = make_token(migrated, "evw-agent", "agent")
    other = make_token(migrated, "evw-other", "agent")
    secop = make_token(migrated, "evw-secop", "security_operator")
    admin = make_token(migrated, "evw-admin", "admin")
    forged = {"kind": "api_token", "token": "evw-other"}

    def evidence(token, **fields):
        return s.post("/evidence", dict(fields, session_id="evw-s"),
                      headers=bearer(token) if token else None)

    def writers(r):
        assert r.status_code == 200, r.text
        got = r.json()
        return got["recorded_by"].get("token"), got.get("changed_by")

    with serve(migrated, tmp=tmp_path) as s:
        assert decision_post(s, mine, "evw-s").status_code == 201
        r = evidence(mine, signer="harness", blocked_count=1)
        assert r.status_code == 201 and "changed_by" not in r.json(), r.text
        r = evidence(secop, signer="review", blocked_count=2)
        assert writers(r) == ("evw-agent", {"kind": "api_token", "token": "evw-secop"})
        got = r.json()
        assert (got["signer"], got["blocked_count"]) == ("review", 2)
        assert s.get("/evidence/evw-s").json() == got
        # the same body again is the same record: nothing is written, not even updated_at
        assert evidence(secop, signer="review", blocked_count=2).json() == got
        # the last caller that changed it is named; another agent is still refused
        r = evidence(admin, signer="review", blocked_count=3)
        assert writers(r) == ("evw-agent", {"kind": "api_token", "token": "evw-admin"})
        assert evidence(other, signer="x").status_code == 403
        r = evidence(None, signer="review", blocked_count=4)
        assert writers(r) == ("evw-agent", {"kind": "local"})
        # its writer goes on writing to it; its own write drops changed_by
        r = evidence(mine, signer="harness", blocked_count=5)
        assert writers(r) == ("evw-agent", None)
        assert s.get("/evidence/evw-s").json()["blocked_count"] == 5
        # changed_by is the server's word, as recorded_by is
        for token in (mine, secop):
            r = evidence(token, signer="harness", blocked_count=6, changed_by=forged)
            assert r.json().get("changed_by") != forged, r.text


def test_an_agent_reads_only_the_approvals_of_its_own_decisions(migrated, tmp_path):
    """An approval carries its decision whole (target, action, repository, reason), and agents
    may not read other agents' activity: a caller without approvals.read_any (agent) sees only
    the approvals of decisions it recorded and those it asked for.  The list holds no other, in
    its total and on every page (offset or cursor); another agent's approval is the same 404 as
    a missing one.  The people's roles and auth mode none without credentials see every one."""
    a = make_token(migrated, "read-agent-a", "agent")
    b = make_token(migrated, "read-agent-b", "agent")
    secop = make_token(migrated, "read-secop", "security_operator")
    readers = [make_token(migrated, "read-auditor", "auditor"),
               make_token(migrated, "read-ciso", "ciso")]

    def require(token, session_id, target):
        d = decision_post(s, token, session_id, action_type="execute_command",
                          target=target).json()
        assert d["decision"] == "require_approval", d
        return d["decision_id"]

    def ask(token, decision_id):
        r = s.post("/approvals", {"decision_id": decision_id}, headers=bearer(token))
        assert r.status_code == 201, r.text
        return r.json()["approval_id"]

    def listed(token, **params):
        r = s.get("/approvals", params=dict(params, count="exact"),
                  headers=bearer(token) if token else None)
        assert r.status_code == 200, r.text
        return r.json()

    def paged(token, by_cursor):
        seen, cursor = [], None
        for offset in range(10):
            params = {"limit": 1, "cursor": cursor} if cursor else {"limit": 1}
            if not by_cursor:
                params = {"limit": 1, "offset": offset}
            env = listed(token, **params)
            assert env["total"] == 2, env
            seen += [x["approval_id"] for x in env["items"]]
            cursor = env["next_cursor"]
            if not cursor:
                return seen
        raise AssertionError(f"no last page: {seen}")

    with serve(migrated, tmp=tmp_path) as s:
        a1, a2 = require(a, "read-a", "make a1"), require(a, "read-a", "make a2")
        b1 = require(b, "read-b", "make b1")
        own, theirs, for_a = ask(a, a1), ask(b, b1), ask(secop, a2)
        mine = {own, for_a}
        env = listed(a)
        assert {x["approval_id"] for x in env["items"]} == mine and env["total"] == 2, env
        assert all(x["decision"]["recorded_by"]["token"] == "read-agent-a"
                   for x in env["items"]), env
        # a page holds up to limit of the caller's own: none skipped, none repeated
        for by_cursor in (True, False):
            seen = paged(a, by_cursor)
            assert len(seen) == 2 and set(seen) == mine, (by_cursor, seen)
        # the list's filters still apply, within the caller's own
        assert listed(a, decision_id=b1)["items"] == []
        assert [x["approval_id"] for x in listed(a, decision_id=a2)["items"]] == [for_a]
        assert {x["approval_id"] for x in listed(a, state="pending")["items"]} == mine
        assert [x["approval_id"] for x in listed(b)["items"]] == [theirs]
        # another agent's approval is answered as a missing one
        for approval_id in mine:
            assert s.get(f"/approvals/{approval_id}", headers=bearer(a)).status_code == 200
        missing = s.get("/approvals/apr_000000000000", headers=bearer(a))
        r = s.get(f"/approvals/{theirs}", headers=bearer(a))
        assert r.status_code == missing.status_code == 404, r.text
        assert r.json()["code"] == missing.json()["code"], r.text
        assert r.json()["detail"] == f"approval '{theirs}' not found", r.text
        assert "decision" not in r.json() and "read-agent-b" not in r.text, r.text
        # people read every one, and so does auth mode none without credentials
        for token in readers + [None]:
            env = listed(token)
            assert {x["approval_id"] for x in env["items"]} == mine | {theirs}, env
            assert env["total"] == 3, env
            r = s.get(f"/approvals/{theirs}", headers=bearer(token) if token else None)
            assert r.status_code == 200, r.text

def logged_plans(log, marker):
    """Every plan auto_explain logged for a statement whose text holds marker, in order."""
    plans, lines = [], log.splitlines()
    for i, line in enumerate(lines):
        if "Query Text:" in line and marker in line:
            plan = []
            for nxt in lines[i + 1:]:
                if nxt[:4].isdigit():  # the next log line (it starts with its timestamp)
                    break
                plan.append(nxt)
            plans.append("\n".join(plan))
    return plans


def logged_plan(log, marker):
    """The plan auto_explain logged for the first statement whose text holds marker."""
    plans = logged_plans(log, marker)
    return plans[0] if plans else None


def test_the_owner_lookup_probes_the_decisions_by_session(pg, pg_db, tmp_path):
    """The owner of a session that no POST /sessions wrote is the caller of its first decision,
    looked up on every decision naming the session (until the process remembers it).  On
    PostgreSQL that lookup must probe the decisions' index by session: compared in the sessions'
    "C" collation it could not, and the planner walked the index by time from the oldest
    decision instead, a read that grows with the table (6 ms at 5,000 decisions).  The plan the
    server ran is read from its log through auto_explain, on enough decisions for the planner
    to choose."""
    if not isinstance(pg, Postgres):
        pytest.skip("reads the plan from the log of a cluster this suite started")
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    r = subprocess.run(["bash", os.path.join(REPO, "bench", "seed.sh"), pg_db, "20000"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    session = psql(pg_db, "SELECT session_id FROM activity_sessions ORDER BY session_id "
                          "DESC LIMIT 1")
    name = pg_db.rsplit("/", 1)[1]
    psql(pg_db, f"ALTER DATABASE {name} SET session_preload_libraries = 'auto_explain'")
    psql(pg_db, f"ALTER DATABASE {name} SET auto_explain.log_min_duration = 0")
    token = make_token(pg_db, "plan-agent", "agent")
    with serve(pg_db, tmp=tmp_path) as s:
        r = s.post("/decisions", {"session_id": session, "agent_id": "codex",
                                  "action_type": "read_file", "target": "README.md"},
                   headers=bearer(token))
        # the seeded sessions have no owner: only sessions.replace may add to them
        assert r.status_code == 403, r.text
    with open(os.path.join(pg.dir, "log")) as f:
        plan = logged_plan(f.read(), "THEN 'y' ELSE 'n' END, CASE WHEN COALESCE(s.payload")
    assert plan, "auto_explain logged no plan of the owner check"
    # the probe by session, not a walk by time filtered on the session
    assert "Index Cond: (session_id = (s.session_id)" in plan, plan
    assert "Filter: (session_id" not in plan, plan
