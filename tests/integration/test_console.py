"""The web console end to end in a real Chromium: tests/integration/console/e2e.mjs (playwright-core
driving Debian's /usr/bin/chromium) against `cavra serve` on PostgreSQL with the real OpenID
provider, all on 127.0.0.1; and the same console in auth mode none on SQLite.

The script seeds its own data through the API, logs in on the provider's page, filters decisions,
replays a session, approves as a security operator, checks that forged POSTs and an auditor are
refused, that stored HTML renders as text and look-alike or hidden characters as markers, walks the policy rollouts (readiness in the list, a
rollout's checks, its recent decisions into the Explorer, planning and applying a change and a
stale plan's 409), and logs out. Screenshots of the main views go to
tests/integration/artifacts/console/ (oidc) and artifacts/console-none/ (CAVRA_TEST_ARTIFACTS
overrides the artifacts directory).
"""
import os
import shutil
import subprocess

import pytest

from conftest import REPO, cavra, chain_planted, free_port, serve, sql
from idp import node_binary
from test_list_totals import TS, insert_decisions

CONSOLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "console")
E2E = os.path.join(CONSOLE_DIR, "e2e.mjs")
ARTIFACTS = os.environ.get("CAVRA_TEST_ARTIFACTS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "artifacts")
POLICIES = os.path.join(REPO, "policies")


def chromium():
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def require_browser():
    """Fails when the browser tests cannot run here; skips instead with CAVRA_ALLOW_SKIP_BROWSER=1."""
    reason = None
    if not node_binary():
        reason = "node is not installed"
    elif not os.access(chromium(), os.X_OK):
        reason = f"{chromium()} is missing (Debian's chromium package)"
    elif not os.path.isdir(os.path.join(CONSOLE_DIR, "node_modules", "playwright-core")):
        reason = f"{CONSOLE_DIR}/node_modules is missing"
    if reason:
        msg = f"browser tests unavailable: {reason} (run: bash scripts/deps.sh test)"
        if os.environ.get("CAVRA_ALLOW_SKIP_BROWSER") == "1":
            pytest.skip(msg)
        pytest.fail(msg + "; CAVRA_ALLOW_SKIP_BROWSER=1 skips these tests instead", pytrace=False)


def run_e2e(base, shots, srv, **env):
    """Runs e2e.mjs against base (its output goes to <shots>/e2e.log as it runs); fails with
    that output and the tail of the server's log."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    e.update(CAVRA_URL=base, SCREENSHOT_DIR=shots, CHROMIUM=chromium(), **env)
    log = os.path.join(shots, "e2e.log")
    with open(log, "w") as out:
        proc = subprocess.Popen([node_binary(), E2E], cwd=CONSOLE_DIR, env=e, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            rc = proc.wait(timeout=480)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = "killed after 480 s"
    with open(log) as f:
        text = f.read()
    if rc != 0:
        pytest.fail(f"e2e.mjs exited {rc}:\n{text}\n--- cavra serve log (tail) ---\n"
                    + "\n".join(srv.stderr().splitlines()[-40:]), pytrace=False)
    assert " 0 failed" in text, text
    return text


def test_console_in_chromium_oidc_postgres(pg_db, new_idp, tmp_path):
    require_browser()
    assert cavra("migrate", "up", db=pg_db)[0] == 0
    # The provider registers the console's exact callback and post-logout URIs, so cavra's port
    # is chosen first.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    idp = new_idp(console_redirect_uri=f"{base}/console/callback")
    idp.start()
    secret = tmp_path / "console-client-secret"
    secret.write_text("console-secret\n")
    secret.chmod(0o600)
    args = ("--auth-mode", "oidc", "--oidc-issuer", idp.issuer, "--oidc-audience", "cavra-api",
            "--console-client-id", "cavra-console", "--console-client-secret-file", str(secret),
            "--console-public-url", base, "--policy-dir", POLICIES, "--trust-forwarded-proto")
    shots = os.path.join(ARTIFACTS, "console")
    os.makedirs(shots, exist_ok=True)
    with serve(pg_db, *args, tmp=tmp_path, port=port) as s:
        out = run_e2e(base, shots, s, CAVRA_AUTH_MODE="oidc",
                      CAVRA_AGENT_TOKEN=idp.token("agent"),
                      CAVRA_WRITER_TOKEN=idp.token("platform"),
                      CAVRA_E2E_OPERATOR="operator", CAVRA_E2E_AUDITOR="auditor",
                      CAVRA_E2E_WRITER="platform", CAVRA_E2E_NOROLES="nogroups")
        logs = s.stderr()
    for scenario in ("login", "filterDecisions", "sessionReplay", "approve", "forgedPosts", "xss",
                     "lookalikes", "recordForm", "rolloutList", "rolloutPage", "rolloutActivity", "rolloutPlan",
                     "rolloutChange", "auditor", "noRoles", "hostCookie", "logout"):
        assert f"ok - {scenario} " in out, out
    assert "console-secret" not in logs
    for name in ("decisions", "sessions", "session", "approvals", "approval", "approval-auditor",
                 "agents", "operations", "policy-rollouts-readiness", "rollout", "rollout-plan",
                 "no-roles"):
        assert os.path.getsize(os.path.join(shots, f"{name}.png")) > 1000, name


def test_console_in_chromium_auth_none_sqlite(tmp_path):
    require_browser()
    shots = os.path.join(ARTIFACTS, "console-none")
    os.makedirs(shots, exist_ok=True)
    db = f"sqlite:{tmp_path}/cavra.db"
    # more than the 10,000 the default total counts, for the "10,000+" of boundedTotal
    assert cavra("migrate", "up", db=db)[0] == 0
    insert_decisions(db, "bulk/total", 10001)
    sql(db, "INSERT INTO activity_sessions (session_id, state, started_at, updated_at, "
            f"created_at, payload) VALUES ('withheld-session', 'active', '{TS}', '{TS}', '{TS}', "
            "'{}')")
    chain_planted(db)
    # one more after the adoption: planted, the audit chain does not vouch for it
    insert_decisions(db, "bulk/withheld", 1)
    sql(db, "UPDATE activity_decisions SET session_id = 'withheld-session' WHERE repository = "
            "'bulk/withheld'")
    with serve(db, "--auto-migrate", "--policy-dir", POLICIES, tmp=tmp_path) as s:
        out = run_e2e(s.base, shots, s, CAVRA_AUTH_MODE="none", CAVRA_E2E_BULK_REPO="bulk/total",
                      CAVRA_E2E_WITHHELD_REPO="bulk/withheld",
                      CAVRA_E2E_WITHHELD_SESSION="withheld-session")
    assert "auth mode none" in out and "ok - approve " in out, out
    assert "ok - boundedTotal " in out and "ok - withheld " in out, out
    for scenario in ("xss", "lookalikes", "rolloutList", "rolloutPage", "rolloutActivity",
                     "rolloutPlan", "rolloutChange"):
        assert f"ok - {scenario} " in out, out
