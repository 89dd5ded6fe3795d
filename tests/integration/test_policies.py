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
