// rollouts.js - policy rollouts: the list with each rollout's readiness at a glance, and a
// rollout's drill-down (GET /policy-rollouts/{id}/detail): its repository and policy pack, the
// readiness checks and their reasons, the activity under the pack, the integrations that serve
// it, its history, and the form that plans a change of mode or state and applies the plan.

import { get, post, can, restPath, ApiError } from './api.js';
import {
  h, badge, time, text, code, route, withQuery, table, dl, message, loading, clear, uid,
} from './dom.js';
import { dailyChart } from './chart.js';
import {
  KINDS, ROLLOUT_MODES, ROLLOUT_STATES, recordsView, recordForm,
} from './records.js';
import { errorBox, writeError, policyPackIds, setFlash, navigate } from './common.js';

// The permission of change-plan and apply-change (policy administration).
const POLICY_ADMIN = 'policy.admin';
// Detail requests the list sends at once to fill its readiness column.
const PARALLEL = 4;

const label = (name) => String(name).replaceAll('_', ' ');

function detailPath(id) {
  return `${restPath('/policy-rollouts', id)}/detail`;
}

function failing(readiness) {
  return (readiness?.checks || []).filter((c) => !c.passed);
}

// "ready", or "needs attention" and the names of the checks that fail.
function readinessBadge(readiness) {
  const out = h('span', { class: 'readiness' }, badge('readiness', readiness?.status || 'unknown'));
  const bad = failing(readiness);
  if (bad.length) out.append(' ', h('small', { class: 'muted' }, bad.map((c) => label(c.name)).join(', ')));
  return out;
}

// ---- the list

async function fillReadiness(listBox) {
  const cells = [...listBox.querySelectorAll('[data-readiness]')];
  let next = 0;
  const worker = async () => {
    while (next < cells.length) {
      const cell = cells[next];
      next += 1;
      if (!cell.isConnected) return; // the user has moved on
      try {
        const d = await get(detailPath(cell.dataset.readiness));
        clear(cell).append(readinessBadge(d.readiness));
      } catch (e) {
        clear(cell).append(h('span', { class: 'muted', title: e.message }, 'unknown'));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, cells.length) }, worker));
}

export function rolloutsView(view, query) {
  return recordsView(view, 'policy-rollouts', query, {
    columns: [{
      label: 'readiness',
      cell: (r) => h('span', { 'data-readiness': r.rollout_id }, h('span', { class: 'muted' }, 'checking…')),
    }],
    after: fillReadiness,
  });
}

// ---- one rollout

function section(id, title, ...content) {
  return h('section', { 'aria-labelledby': id, class: 'rollout-part' }, h('h2', { id }, title), ...content);
}

function summaryPart(d, id) {
  const r = d.rollout;
  const part = section('ro-summary', 'Rollout');
  if (can(KINDS['policy-rollouts'].write)) {
    const formBox = h('div', { class: 'form-box' });
    const btn = h('button', { type: 'button', 'aria-expanded': 'false' }, 'Edit');
    btn.addEventListener('click', async () => {
      const open = btn.getAttribute('aria-expanded') === 'true';
      btn.setAttribute('aria-expanded', String(!open));
      clear(formBox);
      if (!open) formBox.append(recordForm('policy-rollouts', KINDS['policy-rollouts'], r, await policyPackIds()));
    });
    part.append(h('div', { class: 'actions' }, btn), formBox);
  }
  part.append(dl([
    ['rollout id', code(r.rollout_id ?? id)],
    ['repository', d.repository ? h('a', { href: route('repositories', r.repository) }, r.repository) : text(r.repository)],
    ['policy pack', text(r.policy_pack)],
    ['mode', badge('mode', r.mode)],
    ['state', badge('rollout', r.state)],
    ['coverage', r.coverage_percent === undefined || r.coverage_percent === null ? text(null) : `${r.coverage_percent} %`],
    ['owner', text(r.owner)],
    ['policy version', text(r.policy_version)],
    ['version', text(r.version)],
    ['updated', time(r.updated_at)],
  ]));
  return part;
}

function readinessPart(readiness) {
  const checks = readiness?.checks || [];
  const bad = failing(readiness);
  const summary = bad.length
    ? `Needs attention: ${bad.length} of ${checks.length} checks fail.`
    : `Ready: all ${checks.length} checks pass.`;
  return section('ro-readiness', 'Readiness',
    h('p', { class: 'readiness-summary' }, badge('readiness', readiness?.status || 'unknown'), ' ', summary),
    table('Readiness checks', [
      { label: 'Check', cell: (c) => label(c.name) },
      { label: 'Result', cell: (c) => badge('check', c.passed ? 'pass' : 'fail') },
      { label: 'Reason', cell: (c) => text(c.reason), class: 'wrap' },
      { label: 'Value', cell: (c) => text(c.value), class: 'num' },
      { label: 'Threshold', cell: (c) => text(c.threshold), class: 'num' },
    ], checks, { rowProps: (c) => ({ 'data-id': c.name, class: c.passed ? null : 'check-failed' }) }));
}

function repositoryPart(d) {
  const repo = d.repository;
  if (!repo) {
    return section('ro-repo', 'Repository', message('warn', d.repository_note
      || `Repository ${d.rollout.repository} is not registered.`,
    can('inventory.write') ? h('span', null, ' ', h('a', { href: '#/repositories' }, 'Register it')) : null));
  }
  return section('ro-repo', 'Repository', dl([
    ['repository', h('a', { href: route('repositories', repo.repository_id) }, repo.repository_id)],
    ['provider', text(repo.provider)],
    ['owner', text(repo.owner)],
    ['policy pack', text(repo.policy_pack)],
    ['risk tier', text(repo.risk_tier)],
    ['status', badge('repo', repo.status)],
    ['protected branches', text(repo.protected_branches)],
  ]));
}

function packPart(pack) {
  if (!pack || !pack.found) {
    return section('ro-pack', 'Policy pack', message('warn', `Policy pack ${pack?.id ?? ''} is not loaded on this server.`));
  }
  const by = pack.rules_by_outcome || {};
  return section('ro-pack', 'Policy pack', dl([
    ['id', code(pack.id)],
    ['title', text(pack.title)],
    ['version', text(pack.version)],
    ['SHA-256', code(pack.sha256)],
    ['rules', text(pack.rules)],
    ['rules by outcome', h('span', { class: 'by-outcome' },
      Object.entries(by).map(([o, n], i) => [i ? ' · ' : '', badge('decision', o), ` ${n}`]))],
  ]));
}

// The Activity Explorer with the rollout's filters: the query the server gives, or the
// rollout's repository and policy pack.
function explorerHash(d, extra = {}) {
  const q = d.activity?.explorer_query
    ? Object.fromEntries(new URLSearchParams(d.activity.explorer_query))
    : { repository: d.rollout.repository, policy_pack: d.rollout.policy_pack };
  return withQuery('#/decisions', { ...q, ...extra });
}

function card(value, what, hash, cls) {
  const inner = [h('span', { class: 'glance-value' }, String(value ?? 0)), h('span', { class: 'glance-label' }, what)];
  return hash ? h('a', { class: ['glance-card', cls], href: hash }, inner) : h('div', { class: ['glance-card', cls] }, inner);
}

function activityPart(d) {
  const a = d.activity || {};
  const days = a.window_days ?? 30;
  const sev = a.by_severity || {};
  const glance = h('div', { class: 'glance' },
    card(a.decisions, 'decisions', explorerHash(d), 'glance-all'),
    card(a.by_outcome?.block, 'blocked', explorerHash(d, { decision: 'block' }), 'glance-block'),
    card(a.by_outcome?.require_approval, 'approval required', explorerHash(d, { decision: 'require_approval' }),
      'glance-approval'),
    card(a.blocked_sessions, 'sessions with a block', null, 'glance-block'),
    card(a.approval_required_sessions, 'sessions needing approval', null, 'glance-approval'),
    card(a.pending_approvals, 'approvals pending', null, 'glance-pending'),
    card(a.expired_pending_approvals, 'pending past expiry', null, 'glance-block'));
  const recent = Array.isArray(a.recent) ? a.recent : [];
  return section('ro-activity', `Activity, last ${days} days`,
    h('p', { class: 'muted' }, 'Decisions of the repository under this policy pack',
      a.since ? [' since ', time(a.since)] : null, '. By severity: ',
      ['low', 'medium', 'high', 'critical'].map((k, i) => `${i ? ', ' : ''}${sev[k] ?? 0} ${k}`).join(''), '.'),
    h('div', { class: 'overview' }, glance, dailyChart(a.daily, `Decisions per day by outcome, last ${days} days`)),
    h('h3', null, 'Recent decisions'),
    table('Recent decisions, newest first', [
      { label: 'Decision', cell: (x) => h('a', { href: route('decisions', x.decision_id) }, h('code', null, x.decision_id)) },
      { label: 'Time', cell: (x) => time(x.timestamp) },
      { label: 'Outcome', cell: (x) => badge('decision', x.decision) },
      { label: 'Severity', cell: (x) => badge('severity', x.severity) },
      { label: 'Action', cell: (x) => text(x.action_type) },
      { label: 'Target', cell: (x) => code(x.target), class: 'wrap' },
      { label: 'Rule', cell: (x) => code(x.rule_id), class: 'wrap' },
    ], recent, { rowProps: (x) => ({ 'data-id': x.decision_id }), empty: 'No decisions in this window.' }),
    h('p', null, h('a', { href: explorerHash(d), class: 'explorer-link' },
      'All decisions of this repository and pack in the Activity Explorer ›')));
}

function integrationsPart(ints) {
  const cats = Object.entries(ints?.by_category || {});
  const part = section('ro-integrations', `Integrations (${ints?.total ?? 0})`);
  if (!cats.length) part.append(h('p', { class: 'empty' }, 'No integration serves this repository.'));
  for (const [cat, list] of cats) {
    part.append(h('h3', null, label(cat)), table(`${label(cat)} integrations`, [
      { label: 'Integration', cell: (i) => h('a', { href: route('integrations', i.integration_id) }, i.integration_id) },
      { label: 'Provider', cell: (i) => text(i.provider) },
      { label: 'Name', cell: (i) => text(i.name) },
      { label: 'Status', cell: (i) => badge('int', i.status) },
      { label: 'Health', cell: (i) => badge('health', i.health_status) },
    ], Array.isArray(list) ? list : [], { rowProps: (i) => ({ 'data-id': i.integration_id }) }));
  }
  return part;
}

const modeState = (x) => `${label(x?.mode ?? '?')} / ${label(x?.state ?? '?')}`;

function historyPart(history) {
  return section('ro-history', 'History', table('Changes, newest first', [
    { label: 'Time', cell: (e) => time(e.at) },
    { label: 'Actor', cell: (e) => text(e.actor) },
    { label: 'Action', cell: (e) => text(label(e.action ?? '')) },
    { label: 'From', cell: (e) => modeState(e.from) },
    { label: 'To', cell: (e) => modeState(e.to) },
    { label: 'Reason', cell: (e) => text(e.reason), class: 'wrap' },
    { label: 'Plan', cell: (e) => code(e.plan_id) },
  ], Array.isArray(history) ? history : [], { empty: 'No change has been applied to this rollout yet.' }));
}

// ---- planning and applying a change

function select(name, text0, options, value) {
  const id = uid(`c-${name}`);
  return h('div', { class: 'field' }, h('label', { for: id }, text0),
    h('select', { id, name }, [...new Set([...options, value].filter(Boolean))]
      .map((o) => h('option', { value: o, selected: o === value }, label(o)))));
}

function planView(plan, form, id) {
  const share = typeof plan.share === 'number' ? `${(plan.share * 100).toFixed(1)} %` : '?';
  const status = h('div', { class: 'apply-status', 'aria-live': 'polite' });
  const apply = h('button', { type: 'button', class: 'primary' }, 'Apply');
  apply.addEventListener('click', () => applyPlan(plan, form, id, apply, status));
  return h('div', { class: 'plan', 'data-plan': plan.plan_id },
    h('h3', null, 'Plan'),
    h('p', { class: 'plan-summary' }, `Moving from ${modeState(plan.from)} to ${modeState(plan.to)} would change the outcome of `,
      h('strong', null, `${plan.would_change ?? 0} of ${plan.decisions ?? 0}`),
      ` decisions of the last ${plan.window_days ?? 30} days (${share}).`),
    table('Decisions whose outcome would change, by rule', [
      { label: 'Rule', cell: (x) => code(x.rule_id), class: 'wrap' },
      { label: 'From', cell: (x) => badge('decision', x.from_outcome) },
      { label: 'To', cell: (x) => badge('decision', x.to_outcome) },
      { label: 'Decisions', cell: (x) => text(x.count), class: 'num' },
    ], Array.isArray(plan.by_rule) ? plan.by_rule : [], { empty: 'No recent decision would change its outcome.' }),
    h('p', { class: 'muted' }, 'Planned ', time(plan.planned_at), ` against version ${plan.base_version} of the rollout.`),
    h('div', { class: 'actions' }, apply), status);
}

async function applyPlan(plan, form, id, button, status) {
  const reason = form.elements.reason.value.trim();
  if (!reason) {
    clear(status).append(message('error', 'Give a reason: it is recorded in the rollout\'s history.'));
    form.elements.reason.focus();
    return;
  }
  button.disabled = true;
  try {
    await post(`${restPath('/policy-rollouts', id)}/apply-change`, {
      base_version: plan.base_version, mode: plan.to?.mode, state: plan.to?.state, reason, plan_id: plan.plan_id,
    });
    setFlash(`Applied: the rollout is now ${modeState(plan.to)}.`);
    navigate(route('policy-rollouts', id));
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) {
      clear(status).append(message('error', 'The rollout changed since this plan; plan again.'));
      button.remove();
      form.querySelector('button[type=submit]').focus();
    } else {
      clear(status).append(writeError(e, 'Applying the change'));
      button.disabled = false;
    }
  }
}

function changePart(d, id) {
  if (!can(POLICY_ADMIN)) {
    return section('ro-change', 'Change mode or state', h('p', { class: 'muted' },
      `Planning and applying a change needs the permission ${POLICY_ADMIN}, which your roles do not give.`));
  }
  const r = d.rollout;
  const reasonId = uid('c-reason');
  const planBox = h('div', { class: 'plan-box', 'aria-live': 'polite' });
  const form = h('form', { class: 'change-plan', 'aria-labelledby': 'ro-change' },
    h('div', { class: 'form-grid' },
      select('mode', 'mode', ROLLOUT_MODES, r.mode), select('state', 'state', ROLLOUT_STATES, r.state)),
    h('div', { class: 'field' }, h('label', { for: reasonId }, 'reason (required to apply)'),
      h('textarea', { id: reasonId, name: 'reason', rows: '2', maxlength: '1000' }),
      h('small', null, 'Recorded in the rollout\'s history with your name.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Plan')),
    planBox);
  // A plan is for the values it was made with: changing them asks for a new plan.
  const forget = (ev) => {
    if (ev.target.name !== 'reason') clear(planBox);
  };
  form.addEventListener('change', forget);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const mode = form.elements.mode.value;
    const state = form.elements.state.value;
    if (mode === r.mode && state === r.state) {
      clear(planBox).append(message('warn', 'Choose another mode or state to plan a change.'));
      return;
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    clear(planBox).append(loading('the plan'));
    try {
      const reason = form.elements.reason.value.trim();
      const plan = await post(`${restPath('/policy-rollouts', id)}/change-plan`,
        { mode, state, ...(reason ? { reason } : {}) });
      clear(planBox).append(planView(plan, form, id));
    } catch (e) {
      clear(planBox).append(writeError(e, 'Planning'));
    } finally {
      button.disabled = false;
    }
  });
  return section('ro-change', 'Change mode or state', form);
}

export async function rolloutView(view, id) {
  const box = h('div', null, loading('the policy rollout'));
  const title = h('div', { class: 'title-row' }, h('h1', null, 'Policy rollout ', h('code', null, id)));
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/policy-rollouts' }, '‹ Policy rollouts')), title, box);
  let d;
  try {
    d = await get(detailPath(id));
  } catch (e) {
    clear(box).append(errorBox(e, 'the policy rollout'));
    return;
  }
  title.append(readinessBadge(d.readiness));
  clear(box).append(summaryPart(d, id), readinessPart(d.readiness), repositoryPart(d), packPart(d.policy_pack),
    activityPart(d), integrationsPart(d.integrations), historyPart(d.history), changePart(d, id));
}
