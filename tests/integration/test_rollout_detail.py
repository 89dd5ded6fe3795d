"""Policy rollout drill-down (docs/api.md, "Policy rollout drill-down"), on both backends:
GET /policy-rollouts/{id}/detail and its alias, the readiness checks (each failing alone),
POST .../change-plan and .../apply-change with its compare-and-set, and the permissions."""
import urllib.parse

import pytest

from conftest import cavra, serve, sql

REPO_ID = "acme/payments-api"
PACK = "audit-pack"
RID = f"{REPO_ID}:{PACK}"
AUDIT_PACK = """metadata:
  id: audit-pack
  version: "7"
  mode: audit_only
  inherits: [cavra-ai-agent-baseline]
"""
CHECKS = ["repository_registered", "coverage", "source_control_integration",
          "siem_or_storage_integration", "no_expired_pending_approvals", "outcome_change_share"]


@pytest.fixture
def srv(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    pdir = tmp_path / "policies" / PACK
    pdir.mkdir(parents=True)
    (pdir / "policy.yaml").write_text(AUDIT_PACK)
    with serve(db, "--policy-dir", str(tmp_path / "policies"), tmp=tmp_path) as s:
        s.db = db
        yield s


def ok(r, code=200):
    assert r.status_code == code, r.text
    return r.json()


def enc(rid):
    return urllib.parse.quote(rid, safe="")


def decide(s, target, n=1, repo=REPO_ID, pack=PACK, session="sess-1"):
    ids = []
    for _ in range(n):
        body = {"session_id": session, "agent_id": "agent-1", "actor": "dev",
                "repository": repo, "policy_pack": pack, "action_type": "read_file",
                "target": target}
        ids.append(ok(s.post("/decisions", body), 201)["decision_id"])
    return ids


def world(s, skip=(), coverage=90, mode="audit_only", reads=20):
    """A rollout with everything readiness wants, less the parts named in skip."""
    if "repository_registered" not in skip:
        ok(s.post("/repositories", {"repository_id": REPO_ID, "provider": "github",
                                    "owner": "payments"}), 201)
    if "source_control_integration" not in skip:
        ok(s.post("/integrations", {"provider": "github", "category": "source_control",
                                    "status": "active", "health_status": "healthy"}), 201)
    if "siem_or_storage_integration" not in skip:
        ok(s.post("/integrations", {"provider": "splunk", "category": "siem",
                                    "status": "configured", "health_status": "healthy",
                                    "repositories": [REPO_ID]}), 201)
    # serves other repositories only: not counted
    ok(s.post("/integrations", {"provider": "s3", "category": "storage", "status": "active",
                                "repositories": ["acme/other"]}), 201)
    ok(s.post("/policy-rollouts", {"repository": REPO_ID, "policy_pack": PACK, "mode": mode,
                                   "state": "active",
                                   "coverage_percent": 50 if "coverage" in skip else coverage}),
       201)
    ids = decide(s, "README.md", reads)
    if "outcome_change_share" in skip:
        decide(s, ".env", 3, session="sess-2")  # audit_only: allow, would block
    if "no_expired_pending_approvals" in skip:
        appr = ok(s.post("/approvals", {"decision_id": ids[0], "approver_group": "Repository Owners"}),
                  201)["approval_id"]
        sql(s.db, "UPDATE approvals SET expires_at = '2020-01-01T00:00:00.000000Z' "
                  f"WHERE approval_id = '{appr}'")
    # another repository's decisions are not this rollout's
    decide(s, ".env", 5, repo="acme/other", session="sess-3")


def detail(s, rid=RID):
    return ok(s.get(f"/policy-rollouts/{enc(rid)}/detail"))


def checks(d):
    return {c["name"]: c for c in d["readiness"]["checks"]}


def test_ready_rollout(srv):
    world(srv)
    d = detail(srv)
    assert d["schema_version"] == "cavra.policy_rollout_detail.v1"
    assert d["rollout"]["rollout_id"] == RID and d["rollout"]["version"] == 1
    assert d["history"] == []
    assert d["repository"]["repository_id"] == REPO_ID and d["repository_note"] is None
    p = d["policy_pack"]
    assert p["found"] and p["id"] == PACK and p["version"] == "7" and len(p["sha256"]) == 64
    assert p["rules"] == sum(p["rules_by_outcome"].values()) and p["rules_by_outcome"]["block"] > 0
    a = d["activity"]
    assert a["window_days"] == 30 and a["decisions"] == 20
    assert a["by_outcome"]["allow"] == 20 and a["by_outcome"]["block"] == 0
    assert a["by_severity"]["low"] == 20
    assert len(a["daily"]) == 30 and a["daily"][-1]["allow"] == 20
    assert [x["day"] for x in a["daily"]] == sorted(x["day"] for x in a["daily"])
    assert len(a["recent"]) == 10 and all(r["repository"] == REPO_ID for r in a["recent"])
    assert a["explorer_query"] == "repository=acme%2Fpayments-api&policy_pack=audit-pack"
    i = d["integrations"]
    assert i["total"] == 2 and set(i["by_category"]) == {"source_control", "siem"}
    assert i["by_category"]["siem"][0]["health_status"] == "healthy"
    assert d["readiness"]["status"] == "ready", d["readiness"]
    assert [c["name"] for c in d["readiness"]["checks"]] == CHECKS
    assert all(c["passed"] and c["reason"] for c in d["readiness"]["checks"])


@pytest.mark.parametrize("failing", CHECKS)
def test_each_check_fails_alone(srv, failing):
    world(srv, skip=(failing,))
    d = detail(srv)
    assert d["readiness"]["status"] == "needs_attention"
    failed = [c["name"] for c in d["readiness"]["checks"] if not c["passed"]]
    assert failed == [failing], d["readiness"]
    c = checks(d)[failing]
    assert c["reason"] and c["reason"][-1] != "."
    if failing == "outcome_change_share":
        assert c["value"] == pytest.approx(3 / 23) and c["threshold"] == pytest.approx(0.05)
        assert "3 of 23" in c["reason"] and "enforce" in c["reason"]
    if failing == "no_expired_pending_approvals":
        assert d["activity"]["expired_pending_approvals"] == 1
    if failing == "coverage":
        assert c["value"] == 50 and c["threshold"] == 80


def test_unregistered_repository(srv):
    world(srv, skip=("repository_registered",))
    d = detail(srv)
    assert d["repository"] is None
    assert d["repository_note"] == f"repository {REPO_ID} is not registered"
    assert not checks(d)["repository_registered"]["passed"]


def test_unknown_rollout_is_404_json(srv):
    for path in ("/policy-rollouts/acme%2Fnope%3Ax/detail", "/policy-rollout-details/acme/nope:x"):
        r = srv.get(path)
        assert r.status_code == 404 and r.headers["Content-Type"].startswith("application/json")
        assert "acme/nope:x" in r.json()["detail"]


def test_ids_with_slash_and_colon_and_the_alias(srv):
    world(srv)
    plain = srv.get(f"/policy-rollouts/{RID}/detail").json()
    alias = ok(srv.get(f"/policy-rollout-details/{enc(RID)}"))
    assert plain["rollout"] == alias["rollout"] == detail(srv)["rollout"]
    # a rollout whose own id ends in /detail: its record through the alias's detail
    weird = "acme/x:pack/detail"
    ok(srv.post("/policy-rollouts", {"rollout_id": weird, "repository": "acme/x",
                                     "policy_pack": PACK}), 201)
    assert ok(srv.get(f"/policy-rollout-details/{weird}"))["rollout"]["rollout_id"] == weird
    assert srv.get(f"/policy-rollouts/{weird}").status_code == 404  # read as the detail of acme/x:pack


def test_change_plan_counts_by_rule(srv):
    world(srv, skip=("outcome_change_share",))
    decide(srv, "secrets/id.pem", 2, session="sess-4")
    plan = ok(srv.post(f"/policy-rollouts/{enc(RID)}/change-plan",
                       {"mode": "enforce", "reason": "ready to enforce"}))
    assert plan["schema_version"] == "cavra.policy_rollout_change_plan.v1"
    assert plan["base_version"] == 1 and plan["plan_id"].startswith("plan-")
    assert plan["from"] == {"mode": "audit_only", "state": "active"}
    assert plan["to"] == {"mode": "enforce", "state": "active"}
    assert (plan["decisions"], plan["would_change"]) == (25, 5)
    assert plan["share"] == pytest.approx(5 / 25)
    assert {(b["rule_id"], b["from_outcome"], b["to_outcome"]): b["count"]
            for b in plan["by_rule"]} == {("filesystem.read.block", "allow", "block"): 5}
    # the check's share is exactly the plan's to the target mode
    assert checks(detail(srv))["outcome_change_share"]["value"] == pytest.approx(plan["share"])
    # pausing an audit-only rollout changes nothing; the body-id form is the same plan
    same = ok(srv.post("/policy-rollouts/change-plan", {"rollout_id": RID, "state": "paused"}))
    assert same["would_change"] == 0 and same["by_rule"] == []


@pytest.mark.parametrize("body, needle", [
    ({}, "mode"),
    ({"mode": "yolo"}, "mode"),
    ({"state": "gone"}, "state"),
    ({"mode": 5}, "mode"),
])
def test_change_plan_bad_input(srv, body, needle):
    world(srv, reads=1)
    r = srv.post(f"/policy-rollouts/{enc(RID)}/change-plan", body)
    assert r.status_code == 400 and needle in r.json()["detail"], r.text
    r = srv.post("/policy-rollouts/change-plan", {"mode": "enforce"})
    assert r.status_code == 400 and "rollout_id" in r.json()["detail"]
    r = srv.post("/policy-rollouts/acme%2Fnope%3Ax/change-plan", {"mode": "enforce"})
    assert r.status_code == 404


def test_apply_change_with_history_and_stale_plan(srv):
    world(srv)
    plan = ok(srv.post(f"/policy-rollouts/{enc(RID)}/change-plan", {"mode": "enforce"}))
    body = {"base_version": plan["base_version"], "mode": "enforce", "reason": "checks pass",
            "plan_id": plan["plan_id"], "actor": "alice"}
    out = ok(srv.post(f"/policy-rollouts/{enc(RID)}/apply-change", body))
    assert out["rollout"]["mode"] == "enforce" and out["rollout"]["version"] == 2
    h = out["history_entry"]
    assert (h["actor"], h["action"], h["reason"], h["plan_id"]) == (
        "alice", "apply_change", "checks pass", plan["plan_id"])
    assert h["from"] == {"mode": "audit_only", "state": "active"}
    assert h["to"] == {"mode": "enforce", "state": "active"}
    d = detail(srv)
    assert d["rollout"]["mode"] == "enforce" and d["rollout"]["version"] == 2
    assert d["history"] == [h]
    assert ok(srv.get(f"/policy-rollouts/{enc(RID)}"))["mode"] == "enforce"
    # the same plan again is stale: 409, nothing written
    r = srv.post(f"/policy-rollouts/{enc(RID)}/apply-change", body)
    assert r.status_code == 409 and "version 2" in r.json()["detail"], r.text
    assert detail(srv)["history"] == [h]
    # a POST of the rollout moves the version too: a plan made before it is stale
    plan = ok(srv.post("/policy-rollouts/change-plan", {"rollout_id": RID, "state": "paused"}))
    ok(srv.post("/policy-rollouts", {"repository": REPO_ID, "policy_pack": PACK,
                                     "mode": "enforce", "state": "active",
                                     "coverage_percent": 95}))
    r = srv.post("/policy-rollouts/apply-change",
                 {"rollout_id": RID, "base_version": plan["base_version"], "state": "paused",
                  "reason": "incident"})
    assert r.status_code == 409
    now = detail(srv)
    assert now["rollout"]["version"] == 3 and now["history"] == [h]
    # the body-id form with the current version applies; history newest first
    out = ok(srv.post("/policy-rollouts/apply-change",
                      {"rollout_id": RID, "base_version": 3, "state": "paused",
                       "reason": "incident"}))
    assert out["rollout"]["state"] == "paused" and out["rollout"]["version"] == 4
    assert [e["reason"] for e in detail(srv)["history"]] == ["incident", "checks pass"]


@pytest.mark.parametrize("body, code, needle", [
    ({"mode": "enforce", "reason": "x"}, 400, "base_version"),
    ({"mode": "enforce", "base_version": 1}, 400, "reason"),
    ({"mode": "enforce", "base_version": 1, "reason": ""}, 400, "reason"),
    ({"base_version": 1, "reason": "x"}, 400, "mode"),
    ({"mode": "audit_only", "base_version": 1, "reason": "x"}, 400, "nothing to apply"),
    ({"mode": "enforce", "base_version": 0, "reason": "x"}, 400, "base_version"),
    ({"mode": "enforce", "base_version": 9, "reason": "x"}, 409, "version 1"),
])
def test_apply_change_bad_input(srv, body, code, needle):
    world(srv, reads=1)
    r = srv.post(f"/policy-rollouts/{enc(RID)}/apply-change", body)
    assert r.status_code == code and needle in r.json()["detail"], r.text
    assert detail(srv)["rollout"]["version"] == 1


def make_token(db, name, *roles):
    args = ["tokens", "create", "--name", name]
    for role in roles:
        args += ["--role", role]
    code, out, err = cavra(*args, db=db)
    assert code == 0, err
    return {"Authorization": f"Bearer {out.strip()}"}


def test_permissions(srv):
    world(srv, reads=1)
    auditor = make_token(srv.db, "auditor-bot", "auditor")
    operator = make_token(srv.db, "operator-bot", "security_operator")
    platform = make_token(srv.db, "platform-bot", "platform_security")
    agent = make_token(srv.db, "agent-bot", "agent")
    path = f"/policy-rollouts/{enc(RID)}"
    assert srv.get(path + "/detail", headers=auditor).status_code == 200
    assert srv.get(f"/policy-rollout-details/{enc(RID)}", headers=auditor).status_code == 200
    r = srv.get(path + "/detail", headers=agent)
    assert r.status_code == 403 and "inventory.read" in r.json()["detail"]
    for who in (auditor, operator, agent):
        r = srv.post(path + "/change-plan", {"mode": "enforce"}, headers=who)
        assert r.status_code == 403 and "policy.admin" in r.json()["detail"]
        r = srv.post("/policy-rollouts/apply-change",
                     {"rollout_id": RID, "mode": "enforce", "base_version": 1, "reason": "x"},
                     headers=who)
        assert r.status_code == 403
    assert ok(srv.post(path + "/change-plan", {"mode": "enforce"}, headers=platform))
    body = {"mode": "enforce", "base_version": 1, "reason": "go", "actor": "someone-else"}
    r = srv.post(path + "/apply-change", body, headers=platform)
    assert r.status_code == 403 and "not the caller" in r.json()["detail"]
    del body["actor"]
    h = ok(srv.post(path + "/apply-change", body, headers=platform))["history_entry"]
    assert h["actor"] == "platform-bot" and h["recorded_by"]["kind"] == "api_token"


def test_version_and_history_survive_backup_and_restore(db, tmp_path):
    """Migration 016's columns travel in a backup; a backup from before 016 restores with
    version 1 and an empty history."""
    import json
    assert cavra("migrate", "up", "--to", "15", db=db)[0] == 0
    t = "2026-01-01T00:00:00.000000Z"
    sql(db, "INSERT INTO inventory_policy_rollouts VALUES ('acme/old:p', 'acme/old', 'p', "
            f"'enforce', 'active', 10, '{t}', '{t}', "
            "'{\"repository\": \"acme/old\", \"policy_pack\": \"p\"}')")
    code, out, err = cavra("ops", "backup", "--output", str(tmp_path / "b15"), db=db)
    assert code == 0, err
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as s:
        assert ok(s.get("/policy-rollouts/acme/old:p/detail"))["rollout"]["version"] == 1
        ok(s.post("/policy-rollouts", {"repository": REPO_ID, "policy_pack": PACK,
                                       "mode": "audit_only"}), 201)
        ok(s.post(f"/policy-rollouts/{enc(RID)}/apply-change",
                  {"base_version": 1, "state": "active", "reason": "pilot"}))
    code, out, err = cavra("ops", "backup", "--output", str(tmp_path / "b16"), db=db)
    assert code == 0, err
    code, out, err = cavra("ops", "restore", str(tmp_path / "b16"), "--target-dir",
                           str(tmp_path / "r16"), db=db, timeout=300)
    assert code == 0, err + out
    code, out, err = cavra("ops", "restore", str(tmp_path / "b15"), "--target-dir",
                           str(tmp_path / "r15"), db=db, timeout=300)
    assert code == 0, err + out
    assert cavra("migrate", "up", db=f"sqlite:{tmp_path}/r15/cavra.db")[0] == 0
    for target, rid, version, reasons in (("r16", RID, 2, ["pilot"]),
                                          ("r15", "acme/old:p", 1, [])):
        with serve(f"sqlite:{tmp_path}/{target}/cavra.db", tmp=tmp_path) as s:
            d = ok(s.get(f"/policy-rollout-details/{rid}"))
            assert d["rollout"]["version"] == version
            assert [h["reason"] for h in d["history"]] == reasons, json.dumps(d["history"])


# ---- migration 017: the generated columns the counts read (would_decision, decided_day) ----

# The rows whose generated columns differ from what their payload and decided_at say.
STALE_PROJECTION = {
    "sqlite": "SELECT decision_id FROM activity_decisions WHERE would_decision IS NOT "
              "json_extract(payload, '$.would_decision') OR decided_day IS NOT "
              "substr(decided_at, 1, 10)",
    "postgres": "SELECT decision_id FROM activity_decisions WHERE would_decision IS DISTINCT "
                "FROM payload->>'would_decision' OR decided_day IS DISTINCT FROM "
                "(decided_at AT TIME ZONE 'UTC')::date",
}
# The counts as the drill-down made them before 017: from each row's payload.
PAYLOAD_GROUPS = {
    "sqlite": "SELECT substr(decided_at, 1, 10), decision, severity, count(*) "
              "FROM activity_decisions WHERE repository = '{r}' AND policy_pack = '{p}' "
              "GROUP BY 1, 2, 3",
    "postgres": "SELECT to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), decision, "
                "severity, count(*) FROM activity_decisions WHERE repository = '{r}' AND "
                "policy_pack = '{p}' GROUP BY 1, 2, 3",
}


def backend(db):
    return "postgres" if db.startswith("postgres") else "sqlite"


def would_decisions(db):
    rows = sql(db, "SELECT would_decision, count(*) FROM activity_decisions "
                   "GROUP BY would_decision")
    return {("" if w in ("", "None") else w): int(n) for w, n in rows}


def import_one(db, tmp_path, decision_id, when):
    """One decision of the rollout through `cavra ops import`, carrying a would_decision."""
    import json
    store = {"decisions": [{
        "schema_version": "cavra.decision.v1", "decision_id": decision_id,
        "session_id": "imported-1", "agent_id": "codex", "actor": "ai-agent",
        "repository": REPO_ID, "action_type": "read_file", "target": "id_rsa",
        "requested_operation": "", "policy_pack": PACK, "policy_id": PACK,
        "rule_id": "filesystem.read.block", "decision": "allow", "would_decision": "block",
        "severity": "high", "reason": "audit only", "evidence_refs": [],
        "approver_group": None, "timestamp": when, "correlation_id": "corr_imported1"}],
        "sessions": []}
    path = tmp_path / "activity.json"
    path.write_text(json.dumps(store))
    code, out, err = cavra("ops", "import", "--json", str(path), "--store", "activity", db=db)
    assert code == 0, err + out


def test_generated_columns_written_by_every_path(srv, tmp_path):
    """POST /decisions, an import and a restore all fill would_decision and decided_day from
    the row, and the drill-down's counts equal the ones taken from the payloads."""
    import datetime
    world(srv, skip=("outcome_change_share",))  # 20 allowed reads, 3 that would block
    when = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2))
    import_one(srv.db, tmp_path, "dec_0000000imp01", when.isoformat())
    assert sql(srv.db, STALE_PROJECTION[backend(srv.db)]) == []
    wd = would_decisions(srv.db)
    assert sql(srv.db, "SELECT count(*) FROM activity_decisions WHERE repository = "
                       f"'{REPO_ID}' AND policy_pack = '{PACK}' AND would_decision = 'block'"
               ) == [["4"]], wd
    d = detail(srv)["activity"]
    want_o, want_s, want_days, total = {}, {}, {}, 0
    for day, dec, sev, n in sql(srv.db, PAYLOAD_GROUPS[backend(srv.db)].format(r=REPO_ID,
                                                                               p=PACK)):
        want_o[dec] = want_o.get(dec, 0) + int(n)
        want_s[sev] = want_s.get(sev, 0) + int(n)
        want_days[(day, dec)] = want_days.get((day, dec), 0) + int(n)
        total += int(n)
    assert d["decisions"] == total == 24
    assert {k: v for k, v in d["by_outcome"].items() if v} == want_o
    assert {k: v for k, v in d["by_severity"].items() if v} == want_s
    assert {(x["day"], k): v for x in d["daily"] for k, v in x.items()
            if k != "day" and v} == want_days
    plan = ok(srv.post(f"/policy-rollouts/{enc(RID)}/change-plan", {"mode": "enforce"}))
    assert (plan["decisions"], plan["would_change"]) == (24, 4)
    # a backup does not carry the generated columns; its restore computes them again
    code, out, err = cavra("ops", "backup", "--output", str(tmp_path / "b"), db=srv.db)
    assert code == 0, err
    code, out, err = cavra("ops", "restore", str(tmp_path / "b"), "--target-dir",
                           str(tmp_path / "r"), db=srv.db, timeout=300)
    assert code == 0, err + out
    restored = f"sqlite:{tmp_path}/r/cavra.db"
    assert sql(restored, STALE_PROJECTION["sqlite"]) == []
    assert would_decisions(restored) == wd


def test_migration_017_fills_the_columns_of_stored_decisions(db, tmp_path):
    """Decisions stored before 017 get would_decision and decided_day when it runs, and the
    drill-down and the change plan count them."""
    import datetime
    assert cavra("migrate", "up", "--to", "16", db=db)[0] == 0
    now = datetime.datetime.now(datetime.timezone.utc)
    for i, (dec, would) in enumerate((("allow", "block"), ("allow", None), ("block", None))):
        t = (now - datetime.timedelta(days=i + 1)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        extra = f', "would_decision": "{would}"' if would else ""
        sql(db, "INSERT INTO activity_decisions (decision_id, session_id, repository, "
                "action_type, policy_pack, rule_id, decision, severity, decided_at, created_at, "
                f"updated_at, payload) VALUES ('dec_old{i}', 'sess-old', '{REPO_ID}', "
                f"'read_file', '{PACK}', 'filesystem.read.block', '{dec}', 'high', '{t}', "
                f"'{t}', '{t}', '{{\"decision\": \"{dec}\"{extra}}}')")
    if backend(db) == "sqlite":  # statistics that know nothing of 017's index are dropped
        sql(db, "ANALYZE")
        assert sql(db, "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'activity_decisions'"
                   ) != [["0"]]
    code, out, err = cavra("migrate", "up", db=db)
    assert code == 0 and "017_decision_rollout_projection" in out, err + out
    if backend(db) == "sqlite":
        assert sql(db, "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'activity_decisions'"
                   ) == [["0"]]
    assert sql(db, STALE_PROJECTION[backend(db)]) == []
    assert would_decisions(db) == {"block": 1, "": 2}
    with serve(db, tmp=tmp_path) as s:
        ok(s.post("/policy-rollouts", {"repository": REPO_ID, "policy_pack": PACK,
                                       "mode": "audit_only", "state": "active"}), 201)
        act = detail(s)["activity"]
        assert act["decisions"] == 3 and act["by_outcome"]["allow"] == 2
        assert sum(x["block"] for x in act["daily"]) == 1
        plan = ok(s.post(f"/policy-rollouts/{enc(RID)}/change-plan", {"mode": "enforce"}))
        assert (plan["decisions"], plan["would_change"]) == (3, 1)
