"""Packs written in the original CAVRA's vocabulary: they load, each deciding key changes the
decision it should, and the audit-only keys show on the pack and on every decision."""
import os
import shutil

from conftest import REPO, cavra, serve

PACKS = os.path.join(REPO, "tests", "integration", "fixtures", "original_packs")


def decide(srv, pack, **action):
    r = srv.post("/decisions", dict(action, policy_pack=pack))
    assert r.status_code == 201, r.text
    return r.json()


def outcome(d):
    return d["decision"], d["rule_id"], d["severity"], d["approver_group"]


def register(srv, name, tier="trusted"):
    r = srv.post("/mcp/servers", {"name": name, "trust_tier": tier})
    assert r.status_code in (200, 201), r.text


def test_original_packs_load_and_show_their_settings(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, "--policy-dir", PACKS, tmp=tmp_path) as srv:
        packs = {p["id"]: p for p in srv.get("/policy-packs").json()["items"]}
        assert {"hipaa-ai-agent", "pci-dss-ai-agent", "mcp-enterprise", "community-starter",
                "pci-dss-rollout", "cavra-ai-agent-baseline"} == set(packs)
        assert packs["pci-dss-rollout"]["mode"] == "audit_only"
        # its own two after the baseline's, which it inherits
        base = packs["cavra-ai-agent-baseline"]["list_counts"]["commands.require_approval"]
        assert packs["hipaa-ai-agent"]["list_counts"]["commands.require_approval"] == base + 2
        r = srv.get("/policy-packs/hipaa-ai-agent")
        assert r.status_code == 200, r.text
        p = r.json()
        assert p["sha256"] == packs["hipaa-ai-agent"]["sha256"]
        assert p["rules"]["git.block_push_branches"] == ["production", "hotfix/*"]
        assert "pg_dump*" in p["rules"]["commands.require_approval"]
        s = p["settings"]
        assert s["compliance"]["maps_to"][0] == "HIPAA 164.312(b) audit controls"
        assert s["git"] == {"block_direct_push_to_protected_branch": True,
                            "require_pull_request": True, "require_human_reviewer": True,
                            "require_ai_attestation": True, "require_pr_attestation": True}
        assert s["mcp"]["risk_scoring"] == {"github": "medium", "ehr-*": "critical"}
        assert s["mcp"]["allowlist_enabled"] is True
        assert s["mcp"]["block_unknown_servers"] is False
        assert s["approvals"]["protected_actions"]["approvers"] == [
            "privacy-office", "security-engineering"]
        assert s["evidence"]["required_fields"] == ["actor", "ticket", "approver"]
        assert s["evidence"]["require_docs_update_for_user_facing_changes"] is False
        r = srv.get("/policy-packs/no-such-pack")
        assert r.status_code == 404 and "no-such-pack" in r.text
        # the audit-only settings ride on every decision
        d = decide(srv, "hipaa-ai-agent", action_type="read_file", target="src/a.py")
        v = d["policy_version"]
        assert v["sha256"] == p["sha256"] and v["mode"] == "enforce"
        assert v["compliance"]["maps_to"] == s["compliance"]["maps_to"]
        assert v["evidence"]["require_branch_pattern"] == "^(feature|fix)/[A-Z]+-[0-9]+"
        assert v["git"]["require_pull_request"] is True
        assert "block_direct_push_to_protected_branch" not in v["git"]
        stored = srv.get(f"/decisions/{d['decision_id']}").json()
        assert stored["policy_version"] == v


def test_commands_and_writes_need_approval_routed_to_the_pack_groups(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, "--policy-dir", PACKS, tmp=tmp_path) as srv:
        d = decide(srv, "hipaa-ai-agent", action_type="execute_command",
                   target="pg_dump -Fc patients")
        assert outcome(d) == ("require_approval", "commands.require_approval", "high",
                              "privacy-office")
        assert d["approval_class"] == "protected_actions"
        assert d["approvers"] == ["privacy-office", "security-engineering"]
        # allowed on its own, needs approval when require_approval names it
        d = decide(srv, "community-starter", action_type="execute_command",
                   target="npm test && npm publish")
        assert outcome(d) == ("require_approval", "commands.require_approval", "high",
                              "Repository Owners")
        assert decide(srv, "community-starter", action_type="execute_command",
                      target="npm test")["decision"] == "allow"
        # block still comes first
        d = decide(srv, "hipaa-ai-agent", action_type="execute_command",
                   target="sudo pg_dump x")
        assert (d["decision"], d["rule_id"]) == ("block", "commands.block")
        d = decide(srv, "hipaa-ai-agent", action_type="write_file",
                   target="db/migrations/0042_add.sql")
        assert outcome(d) == ("require_approval", "filesystem.write.require_approval", "high",
                              "appsec")
        d = decide(srv, "pci-dss-ai-agent", action_type="write_file", target="payments/api.py")
        assert d["approver_group"] == "pci-qsa"
        # no class for the rule: the built-in group
        d = decide(srv, "hipaa-ai-agent", action_type="execute_command", target="make deploy")
        assert outcome(d) == ("require_approval", "commands.default.require_approval",
                              "medium", "Repository Owners")
        assert "approvers" not in d
        # the default pack is unchanged
        d = decide(srv, "cavra-ai-agent-baseline", action_type="execute_command",
                   target="pg_dump -Fc patients")
        assert d["rule_id"] == "commands.default.require_approval"


def test_git_push_lists_switch_and_pull_requests(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, "--policy-dir", PACKS, tmp=tmp_path) as srv:
        def git(pack, target, operation):
            return decide(srv, pack, action_type="git_operation", target=target,
                          operation=operation)

        d = git("hipaa-ai-agent", "origin production", "git push")
        assert outcome(d) == ("block", "git.block_push_branches", "high", None)
        assert git("pci-dss-ai-agent", "release/3.1", "push")["rule_id"] == \
            "git.block_push_branches"
        assert git("hipaa-ai-agent", "main", "push")["rule_id"] == \
            "git.protected_branch.block_direct_push"
        # block_direct_push_to_protected_branch: false lets main through, not production
        assert outcome(git("community-starter", "main", "push")) == (
            "allow", "git.allow", "low", None)
        assert git("community-starter", "production", "push")["decision"] == "block"
        # a pack that does not say keeps today's default
        assert git("mcp-enterprise", "main", "push")["decision"] == "block"
        assert git("hipaa-ai-agent", "feature/ABC-1", "push")["decision"] == "allow"
        d = git("hipaa-ai-agent", "feature/ABC-1", "create_pull_request")
        assert outcome(d) == ("allow_with_attestation",
                              "git.pull_request.allow_with_attestation", "medium", None)


def test_mcp_allow_list_blocked_servers_and_risk(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, "--policy-dir", PACKS, tmp=tmp_path) as srv:
        for name in ("github", "internal-search", "pastebin", "random-mcp", "jira"):
            register(srv, name)

        def call(pack, server):
            return decide(srv, pack, action_type="mcp_tool_call", server=server, tool="search")

        assert outcome(call("mcp-enterprise", "github")) == (
            "allow", "mcp.tool.allow", "medium", None)
        assert call("mcp-enterprise", "internal-search")["severity"] == "high"
        # blocked_servers wins over a trusted registry entry
        d = call("mcp-enterprise", "pastebin")
        assert (d["decision"], d["rule_id"]) == ("block", "mcp.server.blocked")
        # outside the allow list: approval (allowlist_enabled), routed to mcp_servers
        d = call("mcp-enterprise", "random-mcp")
        assert outcome(d) == ("require_approval", "mcp.server.not_allowlisted", "medium",
                              "ai-governance-board")
        # block_unknown_servers: outside the list is blocked
        d = call("pci-dss-ai-agent", "random-mcp")
        assert (d["decision"], d["rule_id"]) == ("block", "mcp.server.not_allowlisted")
        assert outcome(call("pci-dss-ai-agent", "jira")) == (
            "allow", "mcp.tool.allow", "low", None)
        # the pack list never admits an unregistered server
        d = call("hipaa-ai-agent", "ehr-epic")
        assert (d["decision"], d["rule_id"], d["severity"]) == (
            "block", "mcp.registry.unknown", "critical")
        t = srv.get("/mcp/trust", params={"server": "random-mcp", "tool": "search",
                                           "policy_pack": "pci-dss-ai-agent"}).json()
        assert (t["decision"], t["rule_id"]) == ("block", "mcp.server.not_allowlisted")


def test_audit_only_mode_records_and_lets_through(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, "--policy-dir", PACKS, tmp=tmp_path) as srv:
        d = decide(srv, "pci-dss-rollout", action_type="git_operation", target="production",
                   operation="push")
        assert (d["decision"], d["would_decision"], d["would_rule_id"], d["rule_id"]) == (
            "allow", "block", "git.block_push_branches", "git.block_push_branches")
        assert d["reason"].startswith("audit_only mode: would block: ")
        assert d["approver_group"] is None
        assert d["policy_version"]["mode"] == "audit_only"
        d = decide(srv, "pci-dss-rollout", action_type="execute_command",
                   target="kubectl get pods -n cde")
        assert (d["decision"], d["would_decision"]) == ("allow", "require_approval")
        d = decide(srv, "pci-dss-rollout", action_type="read_file", target="src/app.py")
        assert d["decision"] == "allow" and "would_decision" not in d
        # the parent it inherits from enforces
        d = decide(srv, "pci-dss-ai-agent", action_type="git_operation", target="production",
                   operation="push")
        assert d["decision"] == "block"
        page = srv.get("/decisions", params={"policy_pack": "pci-dss-rollout",
                                             "decision": "allow"}).json()
        assert page["total"] == 3
        assert sorted(i.get("would_decision", "-") for i in page["items"]) == [
            "-", "block", "require_approval"]


def test_typo_in_an_original_pack_stops_serve_naming_pack_key_and_known_keys(tmp_path):
    pdir = tmp_path / "policies"
    shutil.copytree(PACKS, pdir)
    f = pdir / "hipaa-ai-agent" / "policy.yaml"
    f.write_text(f.read_text().replace("  require_pull_request: true",
                                       "  require_pull_requests: true"))
    code, _, err = cavra("serve", "--policy-dir", str(pdir), "--listen", "127.0.0.1:1",
                         db=str(tmp_path / "x.db"))
    assert code == 2, err
    assert "hipaa-ai-agent/policy.yaml:" in err
    assert "unknown key 'git.require_pull_requests'" in err
    assert "known: protected_branches, block_push_branches" in err and \
        "require_pull_request" in err
    assert len(err.strip().splitlines()) == 1
