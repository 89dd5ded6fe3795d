// activity.js - the Activity Explorer: decisions and sessions with every filter of the API,
// counts at a glance, a chart of decisions over time, a session's replay (its decisions oldest
// first) and one decision's full record.

import { get, can, onePath, ApiError } from './api.js';
import {
  h, add, badge, time, text, code, codeBlock, route, withQuery, table, dl, loading, clear,
  DECISIONS, SEVERITIES, SESSION_STATES, ACTION_TYPES,
} from './dom.js';
import { filterForm, pager, pageParams, totalText, withheldNote } from './list.js';
import { decisionsChart } from './chart.js';
import { errorBox, policyPackIds } from './common.js';

const DECISION_FILTERS = ['session_id', 'decision', 'severity', 'action_type', 'agent_id',
  'repository', 'policy_pack', 'since', 'until'];
const SESSION_FILTERS = ['agent_id', 'repository', 'policy_pack', 'state'];
const CHART_SAMPLE = 500; // the API's largest page: "the latest few hundred decisions"

function tabs(current) {
  const tab = (name, label) => h('a', {
    href: `#/${name}`, class: ['tab', current === name && 'active'],
    'aria-current': current === name ? 'page' : null,
  }, label);
  return h('nav', { class: 'tabs', 'aria-label': 'Activity' }, tab('decisions', 'Decisions'), tab('sessions', 'Sessions'));
}

function pick(query, names) {
  const out = {};
  for (const n of names) if (query[n]) out[n] = query[n];
  return out;
}

// ---- counts at a glance

async function countOf(params) {
  const env = await get('/decisions', { ...params, limit: 1 });
  return totalText(env);
}

function glanceCard(label, value, hash, cls) {
  return h('a', { class: ['glance-card', cls], href: hash },
    h('span', { class: 'glance-value' }, value === null ? '…' : String(value)),
    h('span', { class: 'glance-label' }, label));
}

async function fillGlance(box, filters) {
  const base = { ...filters };
  delete base.decision;
  const [all, blocked, approval] = await Promise.all([
    countOf(base), countOf({ ...base, decision: 'block' }),
    countOf({ ...base, decision: 'require_approval' })]);
  let pending = null;
  if (can('approvals.read')) {
    pending = await get('/approvals', { state: 'pending', limit: 1 }).then(totalText, () => null);
  }
  clear(box).append(
    glanceCard('decisions', all, withQuery('#/decisions', base), 'glance-all'),
    glanceCard('blocked', blocked, withQuery('#/decisions', { ...base, decision: 'block' }), 'glance-block'),
    glanceCard('approval required', approval,
      withQuery('#/decisions', { ...base, decision: 'require_approval' }), 'glance-approval'));
  if (pending !== null) {
    box.append(glanceCard('approvals pending', pending, '#/approvals?state=pending', 'glance-pending'));
  }
}

// ---- decisions

function decisionColumns(withSession) {
  const cols = [
    { label: 'Decision', cell: (d) => h('a', { href: route('decisions', d.decision_id) }, h('code', null, d.decision_id)) },
    { label: 'Time (newest first)', cell: (d) => time(d.timestamp) },
    { label: 'Outcome', cell: (d) => badge('decision', d.decision) },
    { label: 'Severity', cell: (d) => badge('severity', d.severity) },
    { label: 'Action', cell: (d) => text(d.action_type) },
    { label: 'Target', cell: (d) => code(d.target), class: 'wrap' },
    { label: 'Agent', cell: (d) => text(d.agent_id) },
    { label: 'Repository', cell: (d) => text(d.repository) },
    { label: 'Policy pack', cell: (d) => text(d.policy_pack) },
    { label: 'Rule', cell: (d) => code(d.rule_id), class: 'wrap' },
  ];
  if (withSession) {
    cols.push({ label: 'Session', cell: (d) => h('a', { href: route('sessions', d.session_id) }, d.session_id) });
  }
  return cols;
}

export async function decisionsView(view, query) {
  const filters = pick(query, DECISION_FILTERS);
  const glance = h('section', { class: 'glance', 'aria-label': 'Counts at a glance' }, loading('counts'));
  const chartBox = h('section', { class: 'chart-box', 'aria-label': 'Decisions over time' }, loading('chart'));
  const listBox = h('section', { 'aria-label': 'Decisions' }, loading('decisions'));
  const packs = await policyPackIds();
  view.append(
    h('h1', null, 'Activity Explorer'), tabs('decisions'),
    h('div', { class: 'overview' }, glance, chartBox),
    filterForm('Filter decisions', [
      { name: 'repository', label: 'Repository' },
      { name: 'decision', label: 'Outcome', type: 'select', options: DECISIONS },
      { name: 'severity', label: 'Severity', type: 'select', options: SEVERITIES },
      { name: 'action_type', label: 'Action type', list: ACTION_TYPES },
      { name: 'agent_id', label: 'Agent' },
      { name: 'policy_pack', label: 'Policy pack', list: packs },
      { name: 'session_id', label: 'Session' },
      { name: 'since', label: 'Since (local time)', type: 'datetime' },
      { name: 'until', label: 'Until (local time)', type: 'datetime' },
    ], query, '#/decisions'),
    listBox);

  await Promise.all([
    fillGlance(glance, filters).catch((e) => clear(glance).append(errorBox(e, 'counts'))),
    get('/decisions', { ...filters, limit: CHART_SAMPLE, count: 'none' })
      .then((env) => clear(chartBox).append(decisionsChart(env.items,
        `Decisions over time by outcome (latest ${env.items.length} matching)`)))
      .catch((e) => clear(chartBox).append(errorBox(e, 'the chart'))),
    get('/decisions', pageParams(query, DECISION_FILTERS))
      .then((env) => clear(listBox).append(
        table('Decisions, newest first', decisionColumns(true), env.items,
          { rowProps: (d) => ({ 'data-id': d.decision_id }) }),
        pager(env, query, '#/decisions')))
      .catch((e) => clear(listBox).append(errorBox(e, 'decisions'))),
  ]);
}

// ---- sessions

export async function sessionsView(view, query) {
  const listBox = h('section', { 'aria-label': 'Sessions' }, loading('sessions'));
  const packs = await policyPackIds();
  view.append(
    h('h1', null, 'Activity Explorer'), tabs('sessions'),
    filterForm('Filter sessions', [
      { name: 'agent_id', label: 'Agent' },
      { name: 'repository', label: 'Repository' },
      { name: 'policy_pack', label: 'Policy pack', list: packs },
      { name: 'state', label: 'State', type: 'select', options: SESSION_STATES },
    ], query, '#/sessions'),
    listBox);
  try {
    const env = await get('/sessions', pageParams(query, SESSION_FILTERS));
    clear(listBox).append(table('Sessions, newest first (by creation)', [
      { label: 'Session', cell: (x) => h('a', { href: route('sessions', x.session_id) }, x.session_id) },
      { label: 'State', cell: (x) => badge('state', x.state) },
      { label: 'Agent', cell: (x) => text(x.agent_id) },
      { label: 'Actor', cell: (x) => text(x.actor) },
      { label: 'Repository', cell: (x) => text(x.repository) },
      { label: 'Policy pack', cell: (x) => text(x.policy_pack) },
      { label: 'Started', cell: (x) => time(x.started_at) },
      { label: 'Updated', cell: (x) => time(x.updated_at) },
      { label: 'Decisions', cell: (x) => String(x.decision_count), class: 'num' },
      { label: 'Blocked', cell: (x) => String(x.blocked_count), class: 'num' },
      { label: 'Approval required', cell: (x) => String(x.approval_required_count), class: 'num' },
    ], env.items, { rowProps: (x) => ({ 'data-id': x.session_id }) }), pager(env, query, '#/sessions'));
  } catch (e) {
    clear(listBox).append(errorBox(e, 'sessions'));
  }
}

// ---- one session: its decisions in order

function replayStep(d, n) {
  const what = [d.target, d.requested_operation].filter(Boolean);
  const mcp = [d.server && `server ${d.server}`, d.tool && `tool ${d.tool}`,
    d.capability && `capability ${d.capability}`].filter(Boolean);
  return h('li', { class: 'step', 'data-id': d.decision_id },
    h('div', { class: 'step-head' },
      h('span', { class: 'step-n' }, `#${n}`), time(d.timestamp),
      h('span', { class: 'step-action' }, text(d.action_type)),
      badge('decision', d.decision), badge('severity', d.severity),
      h('a', { href: route('decisions', d.decision_id), class: 'step-link' }, h('code', null, d.decision_id))),
    dl([
      ['Target', what.length ? what.map((w) => codeBlock(w)) : text(null)],
      ...(mcp.length ? [['MCP', mcp.join(' · ')]] : []),
      ['Rule', code(d.rule_id)],
      ['Reason', text(d.reason)],
      ['Evidence', (d.evidence_refs || []).length ? h('ul', { class: 'refs' },
        d.evidence_refs.map((r) => h('li', null, h('code', null, r)))) : text(null)],
      ...(d.approver_group ? [['Approver group', d.approver_group]] : []),
    ]));
}

async function sessionApprovals(box, id) {
  try {
    const env = await get('/approvals', { session_id: id, limit: 100 });
    if (!env.items.length) return;
    box.append(h('h2', null, 'Approvals in this session'), approvalsMini(env.items));
  } catch (e) {
    box.append(errorBox(e, 'approvals'));
  }
}

function approvalsMini(items) {
  return table('Approvals', [
    { label: 'Approval', cell: (a) => h('a', { href: route('approvals', a.approval_id) }, h('code', null, a.approval_id)) },
    { label: 'State', cell: (a) => badge('approval', a.state) },
    { label: 'Group', cell: (a) => text(a.approver_group) },
    { label: 'Decision', cell: (a) => h('a', { href: route('decisions', a.decision_id) }, h('code', null, a.decision_id)) },
    { label: 'Requested', cell: (a) => time(a.requested_at) },
    { label: 'Decided by', cell: (a) => text(a.decided_by) },
  ], items);
}

export async function sessionView(view, id) {
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/sessions' }, '‹ Sessions')),
    h('h1', null, 'Session ', h('code', null, id)));
  const summary = h('section', { 'aria-label': 'Summary' }, loading('the session'));
  const steps = h('ol', { class: 'replay', 'aria-label': 'Decisions, oldest first' });
  const more = h('div', { class: 'replay-more' });
  const extra = h('section');
  view.append(summary, h('h2', null, 'Decisions in order (oldest first)'), steps, more, extra);

  let s;
  try {
    s = await get(onePath('/sessions', id));
  } catch (e) {
    clear(summary).append(errorBox(e, 'the session'));
    return;
  }
  clear(summary).append(dl([
    ['State', badge('state', s.state)],
    ['Agent', text(s.agent_id)], ['Actor', text(s.actor)],
    ['Repository', text(s.repository)], ['Policy pack', text(s.policy_pack)],
    ['Started', time(s.started_at)], ['Updated', time(s.updated_at)],
    ['Decisions', `${s.decision_count} (${s.blocked_count} blocked, ${s.approval_required_count} approval required)`],
    ['Evidence', text(s.evidence_refs)],
    ...(s.metadata ? [['Metadata', code(JSON.stringify(s.metadata))]] : []),
    ['All its decisions', h('a', { href: withQuery('#/decisions', { session_id: id }) }, 'filter the decisions table')],
  ]));

  let n = 0;
  const loadPage = async (cursor) => {
    clear(more).append(loading('decisions'));
    try {
      const env = await get(`${onePath('/sessions', id)}/decisions`, { limit: 200, cursor });
      env.items.forEach((d) => { n += 1; steps.append(replayStep(d, n)); });
      clear(more);
      if (!n) more.append(h('p', { class: 'empty' }, 'This session has no decisions.'));
      more.append(h('p', { class: 'muted', role: 'status' }, `${n} of ${totalText(env) || n} decisions shown`));
      add(more, withheldNote(env));
      if (env.next_cursor) {
        more.append(h('button', { type: 'button', on: { click: () => loadPage(env.next_cursor) } }, 'Load more'));
      }
    } catch (e) {
      clear(more).append(errorBox(e, 'the decisions'));
    }
  };
  await Promise.all([loadPage(undefined), can('approvals.read') ? sessionApprovals(extra, id) : null]);
}

// ---- one decision

const DECISION_FIELDS = ['decision_id', 'timestamp', 'decision', 'severity', 'session_id', 'agent_id',
  'actor', 'repository', 'action_type', 'target', 'requested_operation', 'server', 'tool',
  'capability', 'policy_pack', 'policy_id', 'rule_id', 'reason', 'evidence_refs', 'approver_group',
  'correlation_id', 'policy_version', 'schema_version'];

export function decisionFields(d) {
  const value = (k) => {
    const v = d[k];
    if (k === 'decision') return badge('decision', v);
    if (k === 'severity') return badge('severity', v);
    if (k === 'timestamp') return time(v);
    if (k === 'session_id' && v) return h('a', { href: route('sessions', v) }, v);
    if (k === 'policy_version' && v) return `${v.version ?? '—'} (sha256 ${v.sha256 ?? '—'})`;
    if (['target', 'requested_operation', 'rule_id', 'decision_id', 'correlation_id'].includes(k)) return code(v);
    return text(v);
  };
  const keys = [...DECISION_FIELDS.filter((k) => k in d), ...Object.keys(d).filter((k) => !DECISION_FIELDS.includes(k))];
  return dl(keys.map((k) => [k, value(k)]));
}

export async function decisionView(view, id) {
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/decisions' }, '‹ Decisions')),
    h('h1', null, 'Decision ', h('code', null, id)));
  let d;
  try {
    d = await get(onePath('/decisions', id));
  } catch (e) {
    view.append(errorBox(e, 'the decision'));
    return;
  }
  const actions = h('div', { class: 'actions' });
  if (can('approvals.break_glass')) {
    actions.append(h('a', { class: 'button danger', href: withQuery('#/break-glass', { decision_id: id }) }, 'Break glass…'));
  }
  view.append(actions, decisionFields(d));
  if (can('approvals.read')) {
    try {
      const env = await get('/approvals', { decision_id: id, limit: 50 });
      view.append(h('h2', null, 'Approvals of this decision'),
        env.items.length ? approvalsMini(env.items) : h('p', { class: 'empty' }, 'None.'));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 403)) view.append(errorBox(e, 'approvals'));
    }
  }
}

