"""Policy packs through the service: a pack directory, inheritance, and a broken pack."""
import os
import shutil

from conftest import REPO, cavra, serve

POLICIES = os.path.join(REPO, "policies")


def test_shipped_packs_load_and_decide(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, "--policy-dir", POLICIES, tmp=tmp_path) as srv:
        packs = {p["id"]: p for p in srv.get("/policy-packs").json()["items"]}
        assert {"cavra-ai-agent-baseline", "terraform-production",
                "kubernetes-production"} <= set(packs)
        tf = packs["terraform-production"]
        assert tf["inherits"] == ["cavra-ai-agent-baseline"]
        assert tf["rule_count"] > packs["cavra-ai-agent-baseline"]["rule_count"]
        r = srv.post("/decisions", {"policy_pack": "terraform-production",
                                    "action_type": "write_file", "target": "backend.tf"})
        assert r.status_code == 201 and r.json()["decision"] == "block"
        assert r.json()["policy_version"]["sha256"] == tf["sha256"]
        # inherited from the baseline
        r = srv.post("/decisions", {"policy_pack": "terraform-production",
                                    "action_type": "write_file",
                                    "target": ".github/workflows/x.yml"})
        assert r.json()["rule_id"] == "filesystem.write.block"
        page = srv.get("/decisions", params={"policy_pack": "terraform-production"}).json()
        assert page["total"] == 2


def test_hidden_characters_send_an_allowed_action_for_approval(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    with serve(db, tmp=tmp_path) as srv:
        # read as "src/cod.exe" by a person; allowed by the rules, which judge the bytes
        r = srv.post("/decisions", {"action_type": "read_file", "target": "src/\u202eexe.doc"})
        d = r.json()
        assert r.status_code == 201, r.text
        assert (d["decision"], d["severity"], d["rule_id"], d["approver_group"]) == (
            "require_approval", "high", "input.hidden_characters", "Repository Owners"), d
        assert "target holds U+202E at byte 4" in d["reason"] and "\u202e" not in d["reason"]
        # an approval can be asked for it like any other
        a = srv.post("/approvals", {"decision_id": d["decision_id"]})
        assert a.status_code == 201, a.text
        # a block stands; a carriage return counts; plain text is untouched
        r = srv.post("/decisions", {"action_type": "read_file", "target": "\u200b/.ssh/id_rsa"})
        assert r.json()["decision"] == "block", r.text
        r = srv.post("/decisions", {"action_type": "write_file", "target": "src/app.py\r"})
        assert r.json()["rule_id"] == "input.hidden_characters", r.text
        r = srv.post("/decisions", {"action_type": "read_file", "target": "docs/caf\u00e9.md"})
        assert r.json()["decision"] == "allow", r.text


def test_a_pack_blocks_or_routes_hidden_characters(db, tmp_path):
    assert cavra("migrate", "up", db=db)[0] == 0
    pdir = tmp_path / "policies"
    shutil.copytree(POLICIES, pdir)
    for name, body in (("strict-input", "input:\n  block_hidden_characters: true\n"),
                       ("routed-input", "approvals:\n  hidden_characters:\n"
                                        "    approvers: [appsec-review]\n")):
        (pdir / name).mkdir()
        (pdir / name / "policy.yaml").write_text(
            f"metadata:\n  id: {name}\n  version: '1'\n  inherits: cavra-ai-agent-baseline\n"
            + body)
    with serve(db, "--policy-dir", str(pdir), tmp=tmp_path) as srv:
        packs = {p["id"]: p for p in srv.get("/policy-packs").json()["items"]}
        assert packs["strict-input"]["sha256"] != packs["cavra-ai-agent-baseline"]["sha256"]
        shown = srv.get("/policy-packs/strict-input").json()
        assert shown["settings"]["input"] == {"block_hidden_characters": True}, shown
        hidden = {"action_type": "read_file", "target": "src/\u202eexe.doc"}
        d = srv.post("/decisions", dict(hidden, policy_pack="strict-input")).json()
        assert (d["decision"], d["severity"], d["rule_id"], d["approver_group"]) == (
            "block", "high", "input.hidden_characters", None), d
        assert d["reason"].endswith("blocked by input.block_hidden_characters"), d
        # an approval the rules asked for becomes a block too
        d = srv.post("/decisions", {"policy_pack": "strict-input", "action_type":
                                    "execute_command", "target": "make deploy\u200b"}).json()
        assert d["decision"] == "block", d
        d = srv.post("/decisions", dict(hidden, policy_pack="routed-input")).json()
        assert (d["decision"], d["approver_group"], d["approval_class"]) == (
            "require_approval", "appsec-review", "hidden_characters"), d


def test_broken_pack_stops_serve_naming_file_and_line(tmp_path):
    pdir = tmp_path / "policies"
    shutil.copytree(POLICIES, pdir)
    bad = pdir / "broken"
    bad.mkdir()
    (bad / "policy.yaml").write_text("metadata:\n  id: broken\n  version: '1'\n"
                                     "commands:\n  block: 5\n")
    code, _, err = cavra("serve", "--policy-dir", str(pdir), "--listen", "127.0.0.1:1",
                         db=str(tmp_path / "x.db"))
    assert code == 2, err
    assert "broken/policy.yaml:5" in err and "commands.block" in err
    assert len(err.strip().splitlines()) == 1
