// End-to-end tests of cavra's web console in a real Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core). tests/integration/test_console.py starts PostgreSQL, the OpenID
// provider and `cavra serve` and runs this; it can also run against any cavra by hand:
//
//   CAVRA_URL=http://127.0.0.1:8080 node e2e.mjs             # auth mode none: no login
//   CAVRA_URL=... CAVRA_AGENT_TOKEN=... CAVRA_WRITER_TOKEN=... node e2e.mjs   # oidc
//
// Environment:
//   CAVRA_URL            the console's origin (required); the console is CAVRA_URL/console/
//   CAVRA_AUTH_MODE      oidc | none (default: asked of GET /auth/whoami without credentials)
//   CAVRA_AGENT_TOKEN    oidc: bearer token with decisions.create and approvals.create (seeding)
//   CAVRA_WRITER_TOKEN   oidc: bearer token with registry, inventory and integrations write
//   CAVRA_E2E_OPERATOR   oidc: login name of a security operator in group "Repository Owners"
//                        (default operator)
//   CAVRA_E2E_AUDITOR    oidc: login name of an auditor (default auditor)
//   CAVRA_E2E_WRITER     oidc: login name of a platform security engineer, who may write the
//                        registry (default platform)
//   CAVRA_E2E_NOROLES    oidc: login name of a user whose groups give no role (default nogroups)
//   SCREENSHOT_DIR       where screenshots go (default tests/integration/artifacts/console)
//   CHROMIUM             the browser (default /usr/bin/chromium)
//
// Each scenario prints "ok - <name> (<ms> ms)"; the first failure prints what was expected
// and what the page showed, saves FAILED-<scenario>.png, and exits 1.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.CAVRA_URL || '').replace(/\/+$/, '');
if (!BASE) {
  console.error('e2e: set CAVRA_URL to the console\'s origin, e.g. http://127.0.0.1:8080');
  process.exit(2);
}
const SHOTS = process.env.SCREENSHOT_DIR || path.resolve(here, '../artifacts/console');
const OPERATOR = process.env.CAVRA_E2E_OPERATOR || 'operator';
const AUDITOR = process.env.CAVRA_E2E_AUDITOR || 'auditor';
const WRITER = process.env.CAVRA_E2E_WRITER || 'platform';
const NOROLES = process.env.CAVRA_E2E_NOROLES || 'nogroups';
const XSS = '<img src=x onerror=alert(1)>';
const RUN = crypto.randomBytes(3).toString('hex');
const REPO_PAY = `e2e-${RUN}/payments`;
const REPO_INFRA = `e2e-${RUN}/infra`;
const REPO_READY = `e2e-${RUN}/ready`;
const REPO_HIDDEN = `e2e-${RUN}/hidden`;
// What an agent could send to be read differently on screen: U+202E shows what follows it
// backwards ("rm -rf ~" reads "~ fr- mr"), U+200B is a space of no width.
const HIDDEN_TARGET = 'cat notes.txt #\u202E~ fr- mr\u200B';
// And what could pass for something else: an agent id with a Cyrillic "с" (U+0441) that reads
// "claude-code", an owner with a fullwidth solidus (U+FF0F), and a command 200 lines below
// the one in view.
const REPO_LOOK = `e2e-${RUN}/lookalike`;
const LOOK_AGENT = '\u0441laude-code';
const LOOK_OWNER = 'team\uFF0Fa';
const LOOK_TARGET = `echo ok${'\n'.repeat(200)}rm -rf ~`;
const BASELINE = 'cavra-ai-agent-baseline';
const rolloutOf = (repo) => `${repo}:${BASELINE}`; // the API's default rollout id
const TIMEOUT = 10_000;

fs.mkdirSync(SHOTS, { recursive: true });
for (const f of fs.readdirSync(SHOTS)) if (f.startsWith('FAILED-')) fs.rmSync(path.join(SHOTS, f));

class Failure extends Error {}

function fail(msg) {
  throw new Failure(msg);
}

function expect(cond, msg) {
  if (!cond) fail(msg);
}

// Polls fn (async, returns truthy when done) until TIMEOUT; then fails with describe()'s text.
async function eventually(fn, describe) {
  const end = Date.now() + TIMEOUT;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`${await describe(last)}`);
}

// ---- the API, for seeding and checks (not through the browser)

async function api(method, p, body, token) {
  const headers = { Accept: 'application/json' };
  if (body) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(BASE + p, { method, headers, body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(TIMEOUT) });
  const text = await res.text();
  let data = null;
  try { data = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, data, text };
}

async function must(method, p, body, token, want = [200, 201]) {
  const r = await api(method, p, body, token);
  if (!want.includes(r.status)) fail(`seeding: ${method} ${p} gave ${r.status}: ${r.text.slice(0, 300)}`);
  return r.data;
}

async function authMode() {
  if (process.env.CAVRA_AUTH_MODE) return process.env.CAVRA_AUTH_MODE;
  const r = await api('GET', '/auth/whoami');
  if (r.status === 401) return 'oidc';
  if (r.status === 200) return r.data.auth_mode;
  fail(`GET /auth/whoami without credentials gave ${r.status}: ${r.text.slice(0, 200)}`);
}

// Sessions and decisions in a known order, two approvals for "Repository Owners", and records
// with HTML in their fields.
async function seed(mode) {
  const agent = mode === 'oidc' ? process.env.CAVRA_AGENT_TOKEN : undefined;
  const writer = mode === 'oidc' ? process.env.CAVRA_WRITER_TOKEN : undefined;
  if (mode === 'oidc' && !(agent && writer)) fail('oidc mode needs CAVRA_AGENT_TOKEN and CAVRA_WRITER_TOKEN');
  const s1 = `e2e-${RUN}-s1`;
  const s2 = `e2e-${RUN}-s2`;
  const s3 = `e2e-${RUN}-s3`;
  const steps = [
    { session_id: s1, agent_id: 'claude-code', repository: REPO_PAY, action_type: 'read_file', target: 'src/app.py' },
    { session_id: s1, action_type: 'write_file', target: '.github/workflows/ci.yml' },
    { session_id: s1, action_type: 'execute_command', target: 'make deploy' },
    { session_id: s1, action_type: 'git_operation', target: 'main', operation: 'push' },
    { session_id: s1, action_type: 'execute_command', target: 'pytest -q' },
  ];
  const d1 = [];
  for (const s of steps) d1.push(await must('POST', '/decisions', { repository: REPO_PAY, agent_id: 'claude-code', ...s }, agent));
  const d2 = [];
  for (const s of [
    { action_type: 'execute_command', target: 'terraform apply -auto-approve', policy_pack: 'terraform-production' },
    { action_type: 'write_file', target: 'iam/role.tf' },
  ]) d2.push(await must('POST', '/decisions', { session_id: s2, agent_id: XSS, repository: REPO_INFRA, ...s }, agent));
  const release = await must('POST', '/decisions', { session_id: s3, agent_id: 'codex', repository: REPO_PAY,
    action_type: 'execute_command', target: 'make release' }, agent);
  const deploy = d1[2];
  expect(deploy.decision === 'require_approval' && deploy.approver_group === 'Repository Owners',
    `seeding: 'make deploy' gave ${deploy.decision} for ${deploy.approver_group}, want require_approval for Repository Owners`);
  const a1 = await must('POST', '/approvals', { decision_id: deploy.decision_id }, agent);
  const a2 = await must('POST', '/approvals', { decision_id: release.decision_id }, agent);
  expect(a1.approver_group === 'Repository Owners', `seeding: approval routed to ${a1.approver_group}`);
  const hidden = await must('POST', '/decisions', { session_id: `e2e-${RUN}-s4`, agent_id: 'codex',
    repository: REPO_HIDDEN, action_type: 'execute_command', target: HIDDEN_TARGET }, agent);
  const lookalike = await must('POST', '/decisions', { session_id: `e2e-${RUN}-s5`, agent_id: LOOK_AGENT,
    repository: REPO_LOOK, action_type: 'execute_command', target: LOOK_TARGET }, agent);
  await must('POST', '/agents', { agent_id: XSS, owner: '<b>bold</b>', type: 'coding-agent' }, writer);
  await must('POST', '/agents', { agent_id: LOOK_AGENT, owner: LOOK_OWNER, type: 'coding-agent' }, writer);
  await must('POST', '/agents', { agent_id: 'claude-code', owner: 'platform', vendor: 'anthropic', risk_tier: 'medium' }, writer);
  await must('POST', '/mcp/servers', { server_id: `github-mcp-${RUN}`, trust_tier: 'trusted', allowed_tools: ['create_pr'] }, writer);
  await must('POST', '/repositories', { repository_id: REPO_PAY, provider: 'github', owner: 'payments-team',
    policy_pack: 'cavra-ai-agent-baseline', protected_branches: ['main'] }, writer);
  await must('POST', '/policy-rollouts', { repository: REPO_PAY, policy_pack: 'cavra-ai-agent-baseline',
    mode: 'enforce', state: 'active', coverage_percent: 80 }, writer);
  await must('POST', '/integrations', { provider: 'Splunk Cloud', environment: `e2e-${RUN}`, category: 'siem',
    status: 'active', health_status: 'healthy' }, writer);
  await seedRollouts(writer);
  return { s1, s2, s3, d1, d2, release, a1, a2, hidden, lookalike };
}

// Two more policy rollouts, owned by this run: one ready (a registered repository, full
// coverage, served by source control and a SIEM, no decisions that could change outcome) and
// one whose repository is not registered.
async function seedRollouts(writer) {
  const owner = `e2e-${RUN}`;
  await must('POST', '/repositories', { repository_id: REPO_READY, provider: 'github', owner, policy_pack: BASELINE }, writer);
  for (const [provider, category] of [['GitHub', 'source_control'], ['Splunk Cloud', 'siem']]) {
    await must('POST', '/integrations', { integration_id: `e2e-${RUN}-${category}`, provider, environment: owner, category,
      status: 'active', health_status: 'healthy', repositories: [REPO_READY] }, writer);
  }
  await must('POST', '/policy-rollouts', { repository: REPO_READY, policy_pack: BASELINE, mode: 'audit_only',
    state: 'active', coverage_percent: 100, owner }, writer);
  await must('POST', '/policy-rollouts', { repository: REPO_INFRA, policy_pack: BASELINE, mode: 'enforce',
    state: 'planned', coverage_percent: 90, owner }, writer);
}

// ---- the browser

const problems = []; // CSP violations, uncaught errors and dialogs, from every page

function watch(page, who) {
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) problems.push(`${who}: CSP: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${who}: uncaught error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`${who}: a dialog opened (${d.type()}: ${d.message()}): script ran from data`);
    d.dismiss().catch(() => {});
  });
}

async function newContext(browser, who, options = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, ...options });
  ctx.setDefaultTimeout(TIMEOUT);
  // Nothing leaves the machine: requests to anything but loopback (the provider's pages load
  // web fonts) are aborted.
  await ctx.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/]|\[::1\][:/])/, (r) => r.abort());
  const page = await ctx.newPage();
  watch(page, who);
  return { ctx, page };
}

const consoleUrl = (hash = '') => `${BASE}/console/${hash}`;

// Closes a second browser context without waiting long on it (the browser goes at the end).
async function closeSoon(ctx) {
  await Promise.race([ctx.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
}

// Runs body(page) at a hash route as someone who may write the registry: in auth mode oidc a
// page of its own, logged in as the writer and closed afterwards; in mode none the main page.
async function asWriter({ page: mainPage, browser, mode }, hash, body) {
  const own = mode === 'oidc' ? await newContext(browser, 'writer') : null;
  const page = own ? own.page : mainPage;
  try {
    if (own) {
      await page.goto(consoleUrl(hash));
      await logIn(page, WRITER);
      await page.waitForSelector('body[data-ready]');
    } else {
      await open(page, hash);
    }
    await body(page);
  } finally {
    if (own) await closeSoon(own.ctx);
  }
}

// Loads the console afresh at a hash route and waits until the view has loaded its data.
async function open(page, hash) {
  await page.goto('about:blank');
  await page.goto(consoleUrl(hash));
  await page.waitForSelector('body[data-ready]');
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

// Fills the provider's login page (any password works there).
async function logIn(page, user) {
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', user);
  await page.fill('input[name=password]', 'any-password');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(`${BASE}/console/`)), page.click('button[type=submit]')]);
}

async function whoText(page) {
  return (await page.textContent('#user .who', { timeout: TIMEOUT })).trim();
}

// Rows of the first data table under `scope` as objects keyed by column label.
async function rows(page, scope = 'main') {
  return page.$$eval(`${scope} table.data`, (tables) => {
    const t = tables[0];
    if (!t) return null;
    const heads = [...t.querySelectorAll('thead th')].map((th) => th.textContent.trim());
    return [...t.querySelectorAll('tbody tr')].map((tr) => {
      const o = { _id: tr.dataset.id };
      [...tr.children].forEach((td, i) => { o[heads[i]] = td.textContent.trim(); });
      return o;
    });
  });
}

// fetch() from inside the page (its cookie, its origin); a server that does not answer within
// TIMEOUT gives status 0 and says so.
async function pageFetch(page, p, init) {
  return page.evaluate(async ([url, i, ms]) => {
    try {
      const r = await fetch(url, { credentials: 'same-origin', ...i, signal: AbortSignal.timeout(ms) });
      return { status: r.status, text: await r.text() };
    } catch (e) {
      return { status: 0, text: `no answer: ${e.name}: ${e.message}` };
    }
  }, [p, init, TIMEOUT]);
}

async function approvalState(page, id) {
  const r = await pageFetch(page, `/approvals/${id}`, {});
  return r.status === 200 ? JSON.parse(r.text).state : `HTTP ${r.status}`;
}

// ---- scenarios

const S = {};

S.login = async ({ page, mode }) => {
  // A shared link to a filtered view survives the login round trip (return_to).
  const hash = `#/decisions?repository=${encodeURIComponent(REPO_PAY)}`;
  await page.goto(consoleUrl(hash));
  if (mode === 'oidc') {
    await logIn(page, OPERATOR);
    await page.waitForURL((u) => u.hash === hash);
  }
  await page.waitForSelector('body[data-ready]');
  const who = await whoText(page);
  if (mode === 'oidc') expect(who.startsWith(OPERATOR), `header shows '${who}', want the operator`);
  const r = await page.context().request.get(consoleUrl());
  const csp = r.headers()['content-security-policy'] || '';
  expect(r.status() === 200, `GET /console/ gave ${r.status()}`);
  for (const part of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"]) {
    expect(csp.includes(part), `GET /console/ has Content-Security-Policy '${csp}', which lacks "${part}"`);
  }
  const rowsNow = await rows(page, 'section[aria-label=Decisions]');
  expect(rowsNow && rowsNow.length === 6 && rowsNow.every((x) => x.Repository === REPO_PAY),
    `the shared link's filter: want the 6 decisions of ${REPO_PAY}, got ${JSON.stringify(rowsNow)}`);
};

S.filterDecisions = async ({ page }) => {
  await open(page, '#/decisions');
  await page.fill('form.filters [name=repository]', REPO_PAY);
  await page.selectOption('form.filters [name=decision]', 'block');
  await page.click('form.filters button[type=submit]');
  const want = ['.github/workflows/ci.yml', 'main'];
  const check = async () => {
    const r = await rows(page, 'section[aria-label=Decisions]');
    return r && r.length === 2 && r.every((x) => x.Repository === REPO_PAY && x.Outcome === 'block')
      && JSON.stringify(r.map((x) => x.Target).sort()) === JSON.stringify(want.sort()) && r;
  };
  await eventually(check, async () => `filtered decisions: want the 2 blocked rows of ${REPO_PAY}, got `
    + JSON.stringify(await rows(page, 'section[aria-label=Decisions]')));
  const h = new URL(page.url()).hash;
  expect(h.includes(`repository=${encodeURIComponent(REPO_PAY).replace(/%20/g, '+')}`) && h.includes('decision=block'),
    `the filters are not in the URL: ${h}`);
  // Counts at a glance (the other filters, all outcomes) and the chart.
  await eventually(async () => (await page.textContent('.glance-block .glance-value')) === '2'
      && (await page.textContent('.glance-approval .glance-value')) === '2',
  async () => `glance counts: blocked '${await page.textContent('.glance-block')}', approval '${await page.textContent('.glance-approval')}'`);
  expect(await page.locator('figure.chart svg rect').count() > 0, 'the chart has no bars');
  await shot(page, 'decisions');
  // A reload keeps the view.
  await page.reload();
  await eventually(check, async () => `after a reload: ${JSON.stringify(await rows(page, 'section[aria-label=Decisions]'))}`);
  expect(await page.inputValue('form.filters [name=repository]') === REPO_PAY, 'the repository filter was lost on reload');
};

// Cursor paging: pages of 4 over the 6 decisions of one repository, newest first.
S.paging = async ({ page, seeded }) => {
  const all = [...seeded.d1, seeded.release].map((d) => d.decision_id);
  await open(page, `#/decisions?repository=${encodeURIComponent(REPO_PAY)}&limit=4`);
  const list = 'section[aria-label=Decisions]';
  const first = await rows(page, list);
  expect(first.length === 4, `page 1: want 4 rows, got ${first.length}`);
  expect((await page.textContent('.pager-count')).includes('1–4 of 6'), `page 1: ${await page.textContent('.pager-count')}`);
  await page.click('.pager a[rel=next]');
  const second = await eventually(async () => {
    const r = await rows(page, list);
    return r && r.length === 2 && r;
  }, async () => `page 2: ${JSON.stringify(await rows(page, list))}`);
  expect((await page.textContent('.pager-count')).includes('5–6 of 6'), `page 2: ${await page.textContent('.pager-count')}`);
  expect(new URL(page.url()).hash.includes('cursor='), 'the cursor is not in the URL');
  const ids = [...first, ...second].map((x) => x._id);
  expect(new Set(ids).size === 6 && ids.every((id) => all.includes(id)), `pages hold ${ids}, want ${all}`);
  const times = [...first, ...second].map((x) => x['Time (newest first)']);
  expect(times.every((t, i) => i === 0 || t <= times[i - 1]), `not newest first: ${times}`);
  await page.click('.pager a[rel=prev]');
  await eventually(async () => JSON.stringify((await rows(page, list)).map((x) => x._id)) === JSON.stringify(first.map((x) => x._id)),
    async () => `back on page 1: ${JSON.stringify(await rows(page, list))}`);
};

S.sessionReplay = async ({ page, seeded }) => {
  await open(page, `#/sessions?repository=${encodeURIComponent(REPO_PAY)}`);
  const link = page.locator(`main table.data a:text-is("${seeded.s1}")`);
  await link.waitFor();
  await shot(page, 'sessions');
  await link.click();
  await page.waitForURL((u) => u.hash === `#/sessions/${encodeURIComponent(seeded.s1)}`);
  const want = seeded.d1.map((d) => d.decision_id);
  const got = await eventually(async () => {
    const ids = await page.$$eval('ol.replay > li', (lis) => lis.map((li) => li.dataset.id));
    return ids.length === want.length && ids;
  }, async () => `session replay: want ${want.length} steps, got ${await page.locator('ol.replay > li').count()}`);
  expect(JSON.stringify(got) === JSON.stringify(want), `session replay order: want ${want}, got ${got}`);
  const texts = await page.$$eval('ol.replay > li', (lis) => lis.map((li) => li.textContent));
  seeded.d1.forEach((d, i) => {
    for (const part of [d.rule_id, d.reason, d.evidence_refs[0]]) {
      expect(texts[i].includes(part), `step ${i + 1} lacks '${part}': ${texts[i]}`);
    }
  });
  await shot(page, 'session');
};

S.approve = async ({ page, seeded, mode }) => {
  const a = seeded.a1.approval_id;
  await open(page, `#/approvals?state=pending&approver_group=${encodeURIComponent('Repository Owners')}`);
  const link = page.locator(`main table.data a[href="#/approvals/${a}"]`);
  await link.waitFor();
  await shot(page, 'approvals');
  await link.click();
  const approve = page.getByRole('button', { name: 'Approve', exact: true });
  await approve.waitFor();
  // Without a reason nothing is sent.
  await approve.click();
  expect(await approvalState(page, a) === 'pending', 'approve without a reason changed the approval');
  if (mode === 'none') await page.fill('form.decide [name=actor]', 'operator@example.test');
  await page.fill('form.decide [name=reason]', 'deploy window CHG-7, checked with the owners');
  await page.fill('form.decide [name=external_ref]', 'CHG-7');
  await approve.click();
  await page.locator('dl.fields .approval-approved').first().waitFor();
  const history = await rows(page, 'main');
  const last = history && history[history.length - 1];
  expect(last && last.Event === 'approved' && last.Reason.includes('CHG-7'),
    `history after approving: ${JSON.stringify(history)}`);
  if (mode === 'oidc') expect(last.Actor.startsWith(OPERATOR), `approved by '${last.Actor}', want the operator`);
  expect(await approvalState(page, a) === 'approved', 'the server does not show the approval approved');
  await shot(page, 'approval');
};

// A POST that does not come from the console itself must be refused even though the browser
// holds the operator's session cookie, who could approve this one.
S.forgedPosts = async ({ page, seeded }) => {
  const a = seeded.a2.approval_id;
  const url = `/approvals/${a}/approve`;
  const body = JSON.stringify({ reason: 'forged' });
  const json = { 'Content-Type': 'application/json' };
  const noToken = await pageFetch(page, url, { method: 'POST', headers: json, body });
  expect([401, 403].includes(noToken.status), `POST without X-CSRF-Token gave ${noToken.status}: ${noToken.text}`);
  const badToken = await pageFetch(page, url, { method: 'POST', headers: { ...json, 'X-CSRF-Token': 'forged' }, body });
  expect([401, 403].includes(badToken.status), `POST with a wrong X-CSRF-Token gave ${badToken.status}: ${badToken.text}`);

  // A form on another origin of the same site (another port of 127.0.0.1: the session cookie
  // is sent along, SameSite=Lax does not stop it).
  const evil = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!DOCTYPE html><form method="post" enctype="text/plain" action="${BASE}${url}">`
      + '<input type="hidden" name=\'{"reason":"forged","x":"\' value=\'"}\'>'
      + '<button type="submit">win a prize</button></form>');
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  try {
    // In the same tab (closing a second tab after the POST was seen to stall for a minute).
    await page.goto(`http://127.0.0.1:${evil.address().port}/`);
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url() === BASE + url),
      page.click('button'),
    ]);
    expect([401, 403].includes(resp.status()), `a cross-origin form POST gave ${resp.status()}`);
  } finally {
    evil.close();
  }
  await open(page, `#/approvals/${a}`);
  expect(await approvalState(page, a) === 'pending', 'a forged POST changed the approval');
};

S.auditor = async ({ browser, seeded }) => {
  const { ctx, page } = await newContext(browser, 'auditor');
  try {
    const a = seeded.a2.approval_id;
    await page.goto(consoleUrl(`#/approvals/${a}`));
    await logIn(page, AUDITOR);
    await page.locator('dl.fields .approval-pending').first().waitFor();
    const who = await whoText(page);
    expect(who.startsWith(AUDITOR), `header shows '${who}', want the auditor`);
    for (const name of ['Approve', 'Deny', 'Expire', 'Break glass…']) {
      expect(await page.getByRole('button', { name, exact: true }).count() === 0
        && await page.getByRole('link', { name, exact: true }).count() === 0, `the auditor sees '${name}'`);
    }
    expect(await page.locator('form.decide').count() === 0, 'the auditor sees the decide form');
    await shot(page, 'approval-auditor');
    // Even with the right CSRF token the server refuses: the UI is not the guard.
    const whoami = await pageFetch(page, '/auth/whoami', {});
    expect(whoami.status === 200, `the auditor's GET /auth/whoami gave ${whoami.status}: ${whoami.text}`);
    const token = JSON.parse(whoami.text).csrf_token;
    expect(token, `GET /auth/whoami of a console session has no csrf_token: ${whoami.text}`);
    const r = await pageFetch(page, `/approvals/${a}/approve`, { method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token || '' }, body: JSON.stringify({ reason: 'x' }) });
    expect(r.status === 403, `the auditor's approve POST gave ${r.status}: ${r.text}`);
    await open(page, '#/operations');
    const stores = (await rows(page, 'section[aria-labelledby=ops-stores]')) || [];
    expect(['activity', 'approvals', 'registry'].every((n) => stores.some((x) => x.Store === n)),
      `operations: the stores table lacks activity, approvals or registry: ${JSON.stringify(stores)}`);
    expect((await page.textContent('section[aria-labelledby=ops-plan]')).includes('Retention'),
      'operations: no retention plan');
    await shot(page, 'operations');
  } finally {
    await closeSoon(ctx);
  }
};

// A user the identity provider knows but whose groups give no console view (no role at all, or
// only metrics, which reads /metrics and nothing else): one page that says so, no navigation,
// a page named by its URL refused in words, and the server refusing the data all the same.
S.noRoles = async ({ browser }) => {
  const { ctx, page } = await newContext(browser, 'no roles');
  try {
    await page.goto(consoleUrl());
    await logIn(page, NOROLES);
    await page.waitForSelector('body[data-ready]');
    const title = (await page.textContent('main h1')).trim();
    expect(title === 'Welcome', `a user without roles lands on '${title}'`);
    const text = await page.textContent('main');
    expect(text.includes('no permission to read anything'), `the landing page says: ${text}`);
    expect(await page.locator('#nav-list li').count() === 0, 'a user without roles sees navigation');
    const roles = (await page.textContent('#user .roles')).trim();
    expect(roles === 'no roles', `the header shows the roles '${roles}'`);
    await shot(page, 'no-roles');
    await open(page, '#/decisions');
    const denied = await page.textContent('main');
    expect(denied.includes('Not allowed') && denied.includes('activity.read'),
      `#/decisions for a user without roles shows: ${denied}`);
    const r = await pageFetch(page, '/decisions', {});
    expect(r.status === 403, `GET /decisions of a user without roles gave ${r.status}: ${r.text}`);
  } finally {
    await closeSoon(ctx);
  }
};

// Behind a TLS proxy (X-Forwarded-Proto: https, which the server is told to trust) the session
// cookie is a __Host- cookie: Secure, host-only, Path=/. A cookie of the plain name that a site
// of a sibling domain "tossed" beside it, with a longer path so the browser sends it first, is
// not read: the user stays who they are and is not locked out.
S.hostCookie = async () => {
  // A browser of its own that takes cavra's http:// origin for a secure one, as it would take
  // the https:// origin of a proxy: only then does it keep a Secure, __Host- cookie.
  const browser = await launch([`--unsafely-treat-insecure-origin-as-secure=${BASE}`]);
  const { ctx, page } = await newContext(browser, 'host cookie',
    { extraHTTPHeaders: { 'X-Forwarded-Proto': 'https' } });
  try {
    await page.goto(consoleUrl());
    await logIn(page, OPERATOR);
    await page.waitForSelector('body[data-ready]');
    // all of them: asked for an http:// URL, playwright leaves Secure cookies out
    const host = new URL(BASE).hostname;
    const cookies = (await ctx.cookies()).filter((c) => c.domain === host);
    const mine = cookies.find((c) => c.name === '__Host-cavra_console_session');
    expect(mine && mine.secure && mine.httpOnly && mine.path === '/' && mine.sameSite === 'Lax',
      `the session cookie behind https: ${JSON.stringify(cookies)}`);
    expect(!cookies.some((c) => c.name === 'cavra_console_session'),
      `a session cookie without the prefix was set: ${JSON.stringify(cookies)}`);
    // as a sibling site would toss it: for the whole domain, with a path longer than ours
    await ctx.addCookies([{ name: 'cavra_console_session', value: '0'.repeat(64),
      domain: host, path: '/auth/' }]);
    await page.reload();
    await page.waitForSelector('body[data-ready]');
    const [req, who] = await Promise.all([
      page.waitForRequest((r) => r.url() === `${BASE}/auth/whoami`),
      pageFetch(page, '/auth/whoami', {})]);
    const sent = (await req.allHeaders()).cookie || '';
    expect(sent.startsWith(`cavra_console_session=${'0'.repeat(64)}; `) && sent.includes('__Host-cavra_console_session='),
      `the browser sent the cookies '${sent.replace(/=[0-9a-f]{64}/g, '=…')}'`);
    expect(who.status === 200 && JSON.parse(who.text).actor.startsWith(`${OPERATOR}@`),
      `with a tossed cookie beside the __Host- one, whoami gave ${who.status}: ${who.text}`);
    expect((await whoText(page)).startsWith(OPERATOR), `the header shows ${await whoText(page)}`);
  } finally {
    await closeSoon(ctx);
    await browser.close().catch(() => {});
  }
};

S.xss = async ({ page, seeded, mode }) => {
  const noMarkup = async (where) => {
    const imgs = await page.$$eval('main img, img[src="x"]', (els) => els.map((e) => e.outerHTML));
    expect(imgs.length === 0, `${where}: an <img> element was made from data: ${imgs}`);
    expect(!(await page.evaluate(() => document.body.innerHTML.includes('<img src=x'))),
      `${where}: the page holds markup from data`);
  };
  await open(page, `#/decisions?repository=${encodeURIComponent(REPO_INFRA)}`);
  await eventually(async () => {
    const r = await rows(page, 'section[aria-label=Decisions]');
    return r && r.length === 2 && r.every((x) => x.Agent === XSS);
  }, async () => `decisions of ${REPO_INFRA}: want the agent id as text, got ${JSON.stringify(await rows(page, 'section[aria-label=Decisions]'))}`);
  await noMarkup('decisions');
  await open(page, `#/sessions/${encodeURIComponent(seeded.s2)}`);
  expect((await page.textContent('main dl.fields')).includes(XSS), 'the session does not show the agent id as text');
  await noMarkup('session');
  await open(page, '#/agents');
  const link = page.locator('main table.data a', { hasText: XSS });
  await link.waitFor();
  if (mode === 'oidc') {
    expect(await page.getByRole('button', { name: 'New agent' }).count() === 0,
      'the operator (no registry.write) sees "New agent"');
  }
  await noMarkup('agents');
  await shot(page, 'agents');
  await link.click();
  await eventually(async () => (await page.textContent('main h1 code')) === XSS,
    async () => `agent page title: ${await page.textContent('main h1')}`);
  await page.locator('main dl.fields').first().waitFor(); // recorded_by is a nested dl
  expect((await page.textContent('main dl.fields')).includes('<b>bold</b>'), 'the owner is not shown as text');
  await noMarkup('agent');
  // Characters that hide or turn text around are shown as their code points, in the list and
  // on the decision's page, and never reach the page as themselves.
  const marked = 'cat notes.txt #[U+202E]~ fr- mr[U+200B]';
  for (const hash of [`#/decisions?repository=${encodeURIComponent(REPO_HIDDEN)}`,
    `#/decisions/${encodeURIComponent(seeded.hidden.decision_id)}`]) {
    await open(page, hash);
    await eventually(async () => (await page.textContent('main')).includes(marked),
      async () => `${hash}: want the target shown as '${marked}', got ${await page.textContent('main')}`);
    const raw = await page.evaluate(() => /[\u202e\u200b]/.test(document.body.textContent));
    expect(!raw, `${hash}: U+202E or U+200B reached the page`);
    expect(await page.locator('main .hidden-char').count() >= 2, `${hash}: no markers`);
  }
};

// Text that could pass for other text is shown for what it is: a letter of another script
// inside a word and a fullwidth look-alike of ASCII as markers naming them, line breaks in a
// one-line cell as "↵", and a long run of empty lines in the session replay as one line that
// counts them. In a record's edit form the value stays as it is, with a warning under it.
S.lookalikes = async ({ page: mainPage, browser, seeded, mode }) => {
  const agentMark = '[U+0441 Cyrillic]laude-code';
  await open(mainPage, `#/decisions?repository=${encodeURIComponent(REPO_LOOK)}`);
  await eventually(async () => {
    const r = await rows(mainPage, 'section[aria-label=Decisions]');
    return r && r.length === 1 && r[0].Agent === agentMark && r[0].Target === 'echo ok↵×200rm -rf ~';
  }, async () => `decisions of ${REPO_LOOK}: ${JSON.stringify(await rows(mainPage, 'section[aria-label=Decisions]'))}`);
  const raw = await mainPage.evaluate(() => document.querySelector('main').textContent.includes('\u0441'));
  expect(!raw, 'U+0441 reached the list as itself');
  await shot(mainPage, 'lookalikes');
  await open(mainPage, `#/sessions/${encodeURIComponent(seeded.lookalike.session_id)}`);
  const block = 'echo ok\n[199 empty lines]\nrm -rf ~';
  await eventually(async () => (await mainPage.$$eval('ol.replay code.block', (els) => els.map((e) => e.textContent)))
    .includes(block), async () => `the replay's target: ${JSON.stringify(await mainPage.$$eval('ol.replay code.block',
    (els) => els.map((e) => e.textContent)))}`);
  await asWriter({ page: mainPage, browser, mode }, `#/agents/${encodeURIComponent(LOOK_AGENT)}`, async (page) => {
    await eventually(async () => (await page.textContent('main h1').catch(() => '')).includes(agentMark),
      async () => `the agent's page: ${await page.textContent('main')}`);
    expect((await page.textContent('main dl.fields')).includes('team[U+FF0F as "/"]a'),
      `the owner is not marked: ${await page.textContent('main dl.fields')}`);
    await page.getByRole('button', { name: 'Edit' }).click();
    const owner = page.locator('form.record-form [name=owner]');
    await owner.waitFor();
    expect(await owner.inputValue() === LOOK_OWNER, `the form changed the owner: ${await owner.inputValue()}`);
    const warnings = await page.$$eval('form.record-form .value-warning', (els) => els.map((e) => e.textContent));
    expect(warnings.some((w) => w.endsWith('team[U+FF0F as "/"]a')) && warnings.some((w) => w.endsWith(agentMark)),
      `the form's warnings: ${JSON.stringify(warnings)}`);
  });
};

S.otherViews = async ({ page }) => {
  for (const [hash, name] of [['#/mcp-servers', 'mcp-servers'], ['#/repositories', 'repositories'],
    ['#/policy-rollouts', 'policy-rollouts'], ['#/integrations', 'integrations'], ['#/policy-packs', 'policy-packs']]) {
    await open(page, hash);
    expect(await page.locator('main table.data tbody tr').count() > 0, `${name}: the table is empty`);
    await shot(page, name);
  }
  // A repository id with '/' opens its own page.
  await open(page, '#/repositories');
  await page.locator(`main table.data a:text-is("${REPO_PAY}")`).click();
  await eventually(async () => (await page.textContent('main dl.fields').catch(() => '')).includes('payments-team'),
    async () => `repository page: ${await page.textContent('main')}`);
};

// Create an agent through the form, then change it, as someone who may write the registry.
S.recordForm = async (ctx) => {
  await asWriter(ctx, '#/agents', async (page) => {
    const id = `e2e-${RUN}-form-agent`;
    await page.getByRole('button', { name: 'New agent' }).click();
    await page.fill('form.record-form [name=agent_id]', id);
    await page.fill('form.record-form [name=owner]', 'team-a');
    await page.fill('form.record-form [name=capabilities]', 'read, write');
    await page.selectOption('form.record-form [name=status]', 'active');
    await shot(page, 'agent-form');
    await page.click('form.record-form button[type=submit]');
    await page.waitForURL((u) => u.hash === `#/agents/${encodeURIComponent(id)}`);
    const fields = () => page.textContent('main dl.fields').catch(() => '');
    await eventually(async () => (await fields()).includes('team-a') && (await fields()).includes('read, write'),
      async () => `the new agent's page: ${await page.textContent('main')}`);
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.fill('form.record-form [name=owner]', 'team-b');
    await page.click('form.record-form button[type=submit]');
    await eventually(async () => (await fields()).includes('team-b') && (await fields()).includes('read, write'),
      async () => `the changed agent's page: ${await page.textContent('main')}`);
    expect((await page.textContent('main .msg-ok')).includes('Saved agent'), 'no "Saved" message');
  });
};

S.logout = async ({ page }) => {
  await open(page, '#/decisions');
  await page.click('#logout');
  // Where the server sends the browser: the provider's end-session endpoint (which may ask to
  // confirm, and then shows its own page or returns to the console), or the console itself.
  const confirm = page.locator('button[name=logout]');
  const login = page.locator('input[name=login]');
  const settled = async () => (await confirm.count()) || (await login.count())
    || /\/session\/end\/success/.test(page.url());
  await eventually(settled, async () => `after logout the browser is at ${page.url()}`);
  if (await confirm.count()) {
    await confirm.click();
    await eventually(async () => !(await confirm.count()) && ((await login.count()) || /\/session\/end\/success/.test(page.url())),
      async () => `after confirming the logout the browser is at ${page.url()}`);
  }
  await shot(page, 'logged-out');
  const r = await page.context().request.get(`${BASE}/auth/whoami`);
  expect(r.status() === 401, `GET /auth/whoami after logout gave ${r.status()}`);
  // Opening the console again needs a new login: the provider's session ended too.
  await page.goto(consoleUrl('#/decisions'));
  await eventually(async () => login.count(), async () => `the console after logout: ${page.url()} `
    + '(signed straight back in: the provider\'s session was not ended?)');
};

// A list of more than 10,000 matches: the server stops counting and the console says "10,000+"
// in the pager and the counts at a glance (CAVRA_E2E_BULK_REPO holds 10,001 allowed decisions,
// inserted by the test before the run).
S.boundedTotal = async ({ page }) => {
  const repo = process.env.CAVRA_E2E_BULK_REPO;
  await open(page, `#/decisions?repository=${encodeURIComponent(repo)}`);
  await eventually(async () => (await page.textContent('.pager-count')).includes('Showing 1–50 of 10,000+'),
    async () => `pager: '${await page.textContent('.pager-count')}', want 'Showing 1–50 of 10,000+'`);
  await eventually(async () => (await page.textContent('.glance-all .glance-value')) === '10,000+'
      && (await page.textContent('.glance-block .glance-value')) === '0',
  async () => `glance: all '${await page.textContent('.glance-all')}', blocked '${await page.textContent('.glance-block')}'`);
  await page.click('.pager a[rel=next]');
  await eventually(async () => (await page.textContent('.pager-count')).includes('Showing 51–100 of 10,000+'),
    async () => `page 2: '${await page.textContent('.pager-count')}'`);
  const r = await pageFetch(page, `/decisions?repository=${encodeURIComponent(repo)}&limit=1&count=exact`, {});
  expect(r.status === 200 && JSON.parse(r.text).total === 10001, `count=exact: ${r.status} ${r.text.slice(0, 200)}`);
};

// A decision planted in the database after the chain's adoption (CAVRA_E2E_WITHHELD_REPO holds
// one, inserted by the test before the run): the list leaves it out and says so, and so does
// its session's replay.
S.withheld = async ({ page }) => {
  const repo = process.env.CAVRA_E2E_WITHHELD_REPO;
  const note = (sel) => page.locator(sel).textContent({ timeout: 1000 }).catch(() => '');
  const want = '1 not shown: written or changed in the database since the audit chain recorded it';
  await open(page, `#/decisions?repository=${encodeURIComponent(repo)}`);
  await eventually(async () => (await note('.pager .withheld')).startsWith(want)
      && (await page.textContent('.pager-count')).startsWith('No rows'),
  async () => `pager: '${await page.textContent('.pager')}'`);
  await shot(page, 'withheld');
  await open(page, `#/sessions/${encodeURIComponent(process.env.CAVRA_E2E_WITHHELD_SESSION)}`);
  await eventually(async () => (await note('.withheld')).startsWith(want),
    async () => `replay: '${await page.textContent('main')}'`);
};

// ---- policy rollouts

const ROLLOUT_CHECKS = ['repository_registered', 'coverage', 'source_control_integration',
  'siem_or_storage_integration', 'no_expired_pending_approvals', 'outcome_change_share'];

async function rolloutDetail(page, id) {
  const p = `/policy-rollouts/${id.split('/').map(encodeURIComponent).join('/')}/detail`;
  const r = await pageFetch(page, p, {});
  expect(r.status === 200, `GET ${p} gave ${r.status}: ${r.text.slice(0, 200)}`);
  return JSON.parse(r.text);
}

// The list says at a glance which rollouts are ready and which checks fail.
S.rolloutList = async ({ page }) => {
  await open(page, `#/policy-rollouts?owner=${encodeURIComponent(`e2e-${RUN}`)}`);
  const list = 'section[aria-label="Policy rollouts"]';
  const got = await eventually(async () => {
    const r = await rows(page, list);
    const by = Object.fromEntries((r || []).map((x) => [x._id, x.readiness]));
    return r && r.length === 2 && by[rolloutOf(REPO_READY)] === 'ready'
      && /^needs attention\b.*repository registered/.test(by[rolloutOf(REPO_INFRA)] || '') && r;
  }, async () => `rollouts of this run: want ${rolloutOf(REPO_READY)} ready and ${rolloutOf(REPO_INFRA)} `
    + `needing attention (repository registered), got ${JSON.stringify(await rows(page, list))}`);
  expect(await page.locator(`${list} .readiness-ready`).count() === 1
    && await page.locator(`${list} .readiness-needs_attention`).count() === 1, 'the readiness badges lack their classes');
  await shot(page, 'policy-rollouts-readiness');
  // The rollout's id (with '/' and ':') opens its page.
  await page.locator(`${list} table.data a:text-is("${rolloutOf(REPO_INFRA)}")`).click();
  await page.waitForURL((u) => u.hash === `#/policy-rollouts/${encodeURIComponent(rolloutOf(REPO_INFRA))}`);
  await page.locator('section[aria-labelledby=ro-readiness] table.data').waitFor();
  expect(got.length === 2, 'two rollouts');
};

// A rollout's page: every check with its result and reason; an unregistered repository said so.
S.rolloutPage = async ({ page }) => {
  const checks = 'section[aria-labelledby=ro-readiness]';
  await open(page, `#/policy-rollouts/${encodeURIComponent(rolloutOf(REPO_INFRA))}`);
  const infra = await rows(page, checks);
  const names = (infra || []).map((x) => x._id);
  expect(JSON.stringify([...names].sort()) === JSON.stringify([...ROLLOUT_CHECKS].sort()),
    `checks of ${rolloutOf(REPO_INFRA)}: want ${ROLLOUT_CHECKS}, got ${names}`);
  const reg = infra.find((x) => x._id === 'repository_registered');
  expect(reg.Result === 'fail' && reg.Reason.length > 10, `repository_registered: ${JSON.stringify(reg)}`);
  expect((await page.textContent('main .title-row')).includes('needs attention'), 'the title lacks "needs attention"');
  const repo = await page.textContent('section[aria-labelledby=ro-repo]');
  expect(/not registered/.test(repo), `the repository part: '${repo}'`);

  await open(page, `#/policy-rollouts/${encodeURIComponent(rolloutOf(REPO_READY))}`);
  const ready = await rows(page, checks);
  expect(ready.length === ROLLOUT_CHECKS.length && ready.every((x) => x.Result === 'pass' && x.Reason),
    `checks of the ready rollout: ${JSON.stringify(ready)}`);
  expect((await page.textContent('main .title-row')).includes('ready'), 'the title lacks "ready"');
  const ints = await page.textContent('section[aria-labelledby=ro-integrations]');
  expect(ints.includes(`e2e-${RUN}-source_control`) && ints.includes(`e2e-${RUN}-siem`) && ints.includes('healthy'),
    `integrations: '${ints}'`);
  const pack = await page.textContent('section[aria-labelledby=ro-pack]');
  expect(pack.includes(BASELINE) && /[0-9a-f]{64}/.test(pack), `the policy pack part: '${pack}'`);
  await shot(page, 'rollout');
};

// The recent decisions of a rollout lead to the Activity Explorer with its filters set.
S.rolloutActivity = async ({ page }) => {
  await open(page, `#/policy-rollouts/${encodeURIComponent(rolloutOf(REPO_PAY))}`);
  const part = 'section[aria-labelledby=ro-activity]';
  const recent = await rows(page, part);
  expect(recent && recent.length === 6 && recent.every((x) => x._id && x.Decision === x._id),
    `recent decisions of ${REPO_PAY}: want its 6, got ${JSON.stringify(recent)}`);
  expect(await page.locator(`${part} figure.chart svg rect`).count() > 0, 'the activity chart has no bars');
  await shot(page, 'rollout-activity');
  await page.click(`${part} a.explorer-link`);
  await page.waitForURL((u) => u.hash.startsWith('#/decisions?'));
  const h = new URLSearchParams(new URL(page.url()).hash.split('?')[1]);
  expect(h.get('repository') === REPO_PAY && h.get('policy_pack') === BASELINE, `the Explorer's URL: ${page.url()}`);
  await eventually(async () => {
    const r = await rows(page, 'section[aria-label=Decisions]');
    return r && r.length === 6 && r.every((x) => x.Repository === REPO_PAY && x['Policy pack'] === BASELINE);
  }, async () => `the Explorer from a rollout: ${JSON.stringify(await rows(page, 'section[aria-label=Decisions]'))}`);
  expect(await page.inputValue('form.filters [name=repository]') === REPO_PAY
    && await page.inputValue('form.filters [name=policy_pack]') === BASELINE, 'the Explorer\'s filter form is not filled');
};

async function plan(page, mode, reason) {
  await page.selectOption('form.change-plan [name=mode]', mode);
  await page.fill('form.change-plan [name=reason]', reason);
  await page.click('form.change-plan button[type=submit]');
  await page.locator('form.change-plan .plan').waitFor();
  const text = await page.textContent('form.change-plan .plan');
  expect(text.includes('would change the outcome of'), `the plan: '${text}'`);
}

// A page of someone who administers policy at a console route: in oidc mode a second browser
// context, logged in once as the platform security engineer and kept for the next scenarios.
let admin = null;

async function adminPage({ page, browser, mode }, hash) {
  if (mode !== 'oidc') {
    await open(page, hash);
    return page;
  }
  if (admin) {
    await open(admin.page, hash);
    return admin.page;
  }
  admin = await newContext(browser, 'writer');
  await admin.page.goto(consoleUrl(hash));
  await logIn(admin.page, WRITER);
  await admin.page.waitForSelector('body[data-ready]');
  return admin.page;
}

// A plan counts by rule: moving the payments rollout from enforce to audit_only would let
// through its 2 blocked and 2 approval-required decisions. Planning changes nothing.
S.rolloutPlan = async (ctx) => {
  const hash = `#/policy-rollouts/${encodeURIComponent(rolloutOf(REPO_PAY))}`;
  if (ctx.mode === 'oidc') {
    // The security operator reads rollouts but does not administer policy.
    await open(ctx.page, hash);
    expect(await ctx.page.getByRole('button', { name: 'Plan', exact: true }).count() === 0,
      'the operator sees the Plan button');
    expect((await ctx.page.textContent('section[aria-labelledby=ro-change]')).includes('policy.admin'),
      'the operator is not told which permission planning needs');
  }
  const page = await adminPage(ctx, hash);
  await plan(page, 'audit_only', '');
  const summary = await page.textContent('form.change-plan .plan-summary');
  const byRule = await rows(page, 'form.change-plan .plan');
  const total = byRule.reduce((n, x) => n + Number(x.Decisions), 0);
  expect(summary.includes('4 of 6') && total === 4 && byRule.every((x) => x.To === 'allow'
    && ['block', 'require approval'].includes(x.From)), `the plan to audit_only: '${summary}' ${JSON.stringify(byRule)}`);
  await shot(page, 'rollout-plan');
  expect((await rolloutDetail(page, rolloutOf(REPO_PAY))).rollout.mode === 'enforce', 'planning changed the rollout');
  // Another mode or state in the form drops the plan.
  await page.selectOption('form.change-plan [name=state]', 'paused');
  expect(await page.locator('form.change-plan .plan').count() === 0, 'the plan stays after the form changed');
};

// Plan and apply a change of mode; then a plan made stale by another change is refused.
S.rolloutChange = async (ctx) => {
  const id = rolloutOf(REPO_READY);
  const page = await adminPage(ctx, `#/policy-rollouts/${encodeURIComponent(id)}`);
  const before = await rolloutDetail(page, id);
  await plan(page, 'enforce', `e2e ${RUN}: enforce the baseline`);
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await eventually(async () => (await page.textContent('main .msg-ok').catch(() => '')).includes('Applied'),
    async () => `after Apply: ${await page.textContent('main')}`);
  // The page loads again with the history entry.
  await eventually(async () => {
    const history = await rows(page, 'section[aria-labelledby=ro-history]');
    return history && history.length === 1 && history[0].To === 'enforce / active'
      && history[0].Reason.includes(`e2e ${RUN}`);
  }, async () => `history after applying: ${JSON.stringify(await rows(page, 'section[aria-labelledby=ro-history]'))}`);
  const after = await rolloutDetail(page, id);
  expect(after.rollout.mode === 'enforce' && after.rollout.version === before.rollout.version + 1,
    `the rollout after applying: ${JSON.stringify(after.rollout)}`);

  // Plan again, let someone else change the rollout, then apply the stale plan.
  await plan(page, 'strict', `e2e ${RUN}: stricter`);
  const csrf = JSON.parse((await pageFetch(page, '/auth/whoami', {})).text).csrf_token || '';
  const other = await pageFetch(page, `/policy-rollouts/${id.split('/').map(encodeURIComponent).join('/')}/apply-change`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
    body: JSON.stringify({ base_version: after.rollout.version, state: 'paused', reason: 'someone else' }) });
  expect(other.status === 200, `the concurrent apply-change gave ${other.status}: ${other.text}`);
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await eventually(async () => (await page.textContent('form.change-plan .msg-error').catch(() => ''))
    .includes('The rollout changed since this plan; plan again.'),
  async () => `after applying a stale plan: ${await page.textContent('form.change-plan')}`);
  expect(await page.getByRole('button', { name: 'Apply', exact: true }).count() === 0, 'the stale plan can still be applied');
  const last = await rolloutDetail(page, id);
  expect(last.rollout.mode === 'enforce' && last.rollout.state === 'paused',
    `the stale plan changed the rollout: ${JSON.stringify(last.rollout)}`);
  await shot(page, 'rollout-stale-plan');
};

// ---- main

const PLAN = {
  oidc: ['login', 'filterDecisions', 'paging', 'sessionReplay', 'approve', 'forgedPosts', 'xss', 'lookalikes', 'otherViews',
    'recordForm', 'rolloutList', 'rolloutPage', 'rolloutActivity', 'rolloutPlan', 'rolloutChange', 'auditor',
    'noRoles', 'hostCookie', 'logout'],
  none: ['login', 'filterDecisions', 'paging', 'sessionReplay', 'approve', 'xss', 'lookalikes', 'otherViews', 'recordForm',
    'rolloutList', 'rolloutPage', 'rolloutActivity', 'rolloutPlan', 'rolloutChange',
    ...(process.env.CAVRA_E2E_BULK_REPO ? ['boundedTotal'] : []),
    ...(process.env.CAVRA_E2E_WITHHELD_REPO ? ['withheld'] : [])],
};

// Whatever hangs, the run ends: one scenario may take at most this long.
const SCENARIO_LIMIT_MS = 60_000;

function withLimit(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`${what} did not finish within ${SCENARIO_LIMIT_MS / 1000} s`)),
      SCENARIO_LIMIT_MS);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
  });
}

async function main() {
  const t0 = Date.now();
  const mode = await authMode();
  if (!PLAN[mode]) fail(`unknown auth mode '${mode}'`);
  const seeded = await seed(mode);
  console.log(`e2e: ${BASE} auth mode ${mode}, run ${RUN}, seeded in ${Date.now() - t0} ms`);
  const browser = await launch();
  console.log(`e2e: chromium ${browser.version()} started after ${Date.now() - t0} ms`);
  const { page } = await newContext(browser, 'operator');
  let passed = 0;
  let current = '';
  try {
    for (const name of PLAN[mode]) {
      current = name;
      const t = Date.now();
      await withLimit(S[name]({ page, browser, seeded, mode }), name);
      expect(!problems.length, problems.join('\n'));
      passed += 1;
      console.log(`ok - ${name} (${Date.now() - t} ms)`);
    }
  } catch (e) {
    const msg = e instanceof Failure ? e.message : (e.stack || String(e));
    console.error(`not ok - ${current}: ${msg}`);
    console.error(`  page: ${page.url()}`);
    await page.screenshot({ path: path.join(SHOTS, `FAILED-${current}.png`), fullPage: true }).catch(() => {});
    console.error(`  screenshot: ${path.join(SHOTS, `FAILED-${current}.png`)}`);
    console.log(`e2e: ${passed} passed, 1 failed`);
    await withLimit(browser.close(), 'closing the browser').catch(() => {});
    process.exit(1);
  }
  await withLimit(browser.close(), 'closing the browser');
  console.log(`e2e: ${passed} passed, 0 failed in ${Date.now() - t0} ms; screenshots in ${SHOTS}`);
}

main().catch((e) => {
  console.error(`e2e: ${e instanceof Failure ? e.message : (e.stack || e)}`);
  process.exit(1);
});
