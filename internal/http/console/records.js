// records.js - the stores that share one set of API rules (docs/api.md "The other stores"):
// agents and MCP servers (registry), repositories and policy rollouts (inventory),
// integrations and evidence metadata. Each kind is data: its route, id, filters, columns and
// form fields; one list view, one record view and one create/update form serve them all.

import { get, post, can, onePath, restPath } from './api.js';
import {
  h, badge, time, text, route, table, dl, message, loading, clear, uid, jsonView, hasMarkers,
} from './dom.js';
import { filterForm, pager, pageParams } from './list.js';
import { errorBox, writeError, policyPackIds, setFlash, navigate } from './common.js';

const AGENT_STATUS = ['active', 'disabled', 'retired'];
const TRUST_TIERS = ['trusted', 'approved', 'experimental', 'blocked', 'unknown'];
const MCP_APPROVAL = ['pending', 'approved', 'denied', 'not_required'];
const REPO_STATUS = ['active', 'archived', 'disabled'];
export const ROLLOUT_MODES = ['audit_only', 'enforce', 'strict', 'break_glass'];
export const ROLLOUT_STATES = ['planned', 'active', 'paused', 'retired'];
const INT_CATEGORIES = ['source_control', 'ci_cd', 'siem', 'itsm', 'chatops', 'identity', 'cloud',
  'storage', 'security', 'observability'];
const INT_STATUS = ['planned', 'configured', 'active', 'paused', 'disabled'];
const INT_HEALTH = ['unknown', 'healthy', 'degraded', 'failed', 'not_checked'];

// Field types: text, enum (options), list (comma separated strings), int, bool.
export const KINDS = {
  agents: {
    title: 'Agents', one: 'agent', section: 'Registry', api: '/agents', id: 'agent_id',
    read: 'registry.read', write: 'registry.write',
    filters: [{ name: 'status', type: 'select', options: AGENT_STATUS }, { name: 'owner' }],
    columns: ['agent_id', 'status:agent', 'owner', 'type', 'vendor', 'version', 'risk_tier', 'last_seen@', 'updated_at@'],
    form: [{ name: 'agent_id', required: true }, { name: 'status', type: 'enum', options: AGENT_STATUS },
      { name: 'owner' }, { name: 'type' }, { name: 'vendor' }, { name: 'version' }, { name: 'risk_tier' },
      { name: 'capabilities', type: 'list' }, { name: 'scopes', type: 'list' },
      { name: 'allowed_repositories', type: 'list' }, { name: 'allowed_tools', type: 'list' }],
  },
  'mcp-servers': {
    title: 'MCP servers', one: 'MCP server', section: 'Registry', api: '/mcp/servers', id: 'server_id',
    read: 'registry.read', write: 'registry.write',
    filters: [{ name: 'trust_tier', type: 'select', options: TRUST_TIERS },
      { name: 'approval_state', type: 'select', options: MCP_APPROVAL }, { name: 'owner' }, { name: 'capability' }],
    columns: ['server_id', 'name', 'trust_tier:tier', 'approval_state:mcp', 'owner', 'capabilities', 'allowed_tools', 'updated_at@'],
    form: [{ name: 'server_id', required: true }, { name: 'name' },
      { name: 'trust_tier', type: 'enum', options: TRUST_TIERS },
      { name: 'approval_state', type: 'enum', options: MCP_APPROVAL }, { name: 'owner' },
      { name: 'capabilities', type: 'list' }, { name: 'allowed_tools', type: 'list' }],
  },
  repositories: {
    title: 'Repositories', one: 'repository', section: 'Inventory', api: '/repositories', id: 'repository_id',
    slashIds: true, read: 'inventory.read', write: 'inventory.write',
    filters: [{ name: 'provider' }, { name: 'owner' }, { name: 'policy_pack', packs: true },
      { name: 'status', type: 'select', options: REPO_STATUS }, { name: 'risk_tier' }],
    columns: ['repository_id', 'provider', 'owner', 'policy_pack', 'risk_tier', 'status:repo', 'default_branch', 'updated_at@'],
    form: [{ name: 'repository_id', required: true }, { name: 'provider' }, { name: 'owner' },
      { name: 'policy_pack', packs: true }, { name: 'risk_tier' }, { name: 'status', type: 'enum', options: REPO_STATUS },
      { name: 'default_branch' }, { name: 'protected_branches', type: 'list' }, { name: 'required_checks', type: 'list' }],
  },
  'policy-rollouts': {
    title: 'Policy rollouts', one: 'policy rollout', section: 'Inventory', api: '/policy-rollouts', id: 'rollout_id',
    slashIds: true, read: 'inventory.read', write: 'inventory.write',
    filters: [{ name: 'repository' }, { name: 'policy_pack', packs: true },
      { name: 'mode', type: 'select', options: ROLLOUT_MODES },
      { name: 'state', type: 'select', options: ROLLOUT_STATES }, { name: 'owner' }],
    columns: ['rollout_id', 'repository', 'policy_pack', 'mode:mode', 'state:rollout', 'coverage_percent', 'owner', 'updated_at@'],
    form: [{ name: 'repository', required: true }, { name: 'policy_pack', required: true, packs: true },
      { name: 'rollout_id', hint: 'default <repository>:<policy_pack>' },
      { name: 'mode', type: 'enum', options: ROLLOUT_MODES }, { name: 'state', type: 'enum', options: ROLLOUT_STATES },
      { name: 'coverage_percent', type: 'int', min: 0, max: 100 }, { name: 'owner' }, { name: 'policy_version' }],
  },
  integrations: {
    title: 'Integrations', one: 'integration', section: 'Integrations', api: '/integrations', id: 'integration_id',
    read: 'integrations.read', write: 'integrations.write',
    filters: [{ name: 'provider' }, { name: 'environment' },
      { name: 'category', type: 'select', options: INT_CATEGORIES },
      { name: 'status', type: 'select', options: INT_STATUS },
      { name: 'health_status', type: 'select', options: INT_HEALTH }, { name: 'owner' }],
    columns: ['integration_id', 'provider', 'environment', 'category', 'status:int', 'health_status:health', 'owner', 'last_checked_at@', 'updated_at@'],
    form: [{ name: 'provider', required: true }, { name: 'environment' },
      { name: 'integration_id', hint: 'default: provider-environment, lowercased' }, { name: 'name' },
      { name: 'category', type: 'enum', options: INT_CATEGORIES }, { name: 'status', type: 'enum', options: INT_STATUS },
      { name: 'health_status', type: 'enum', options: INT_HEALTH }, { name: 'owner' },
      { name: 'capabilities', type: 'list' }, { name: 'repositories', type: 'list' }],
  },
  evidence: {
    title: 'Evidence metadata', one: 'evidence record', section: 'Evidence', api: '/evidence', id: 'session_id',
    read: 'evidence.read', write: 'evidence.write',
    filters: [{ name: 'session_id', label: 'session_id (contains)' }, { name: 'signer' },
      { name: 'min_blocked', type: 'number', min: 0 },
      { name: 'has_approvals', type: 'select', options: ['true', 'false'] }],
    columns: ['session_id', 'signer', 'decision_count', 'blocked_count', 'approval_required_count', 'updated_at@'],
    form: [{ name: 'session_id', required: true }, { name: 'signer' },
      { name: 'decision_count', type: 'int', min: 0 }, { name: 'blocked_count', type: 'int', min: 0 },
      { name: 'approval_required_count', type: 'int', min: 0 }],
  },
};

const label = (name) => name.replaceAll('_', ' ');

function apiPath(kind, id) {
  return kind.slashIds ? restPath(kind.api, id) : onePath(kind.api, id);
}

// The record's view in the console, or null when the API could not fetch it by id (an id with
// '/' where the route takes one path segment).
function recordHash(key, kind, id) {
  if (!kind.slashIds && String(id).includes('/')) return null;
  return route(key, id);
}

// A column spec "field", "field:badgekind" or "field@" (a time).
function column(key, kind, spec) {
  const isTime = spec.endsWith('@');
  const [field, badgeKind] = spec.replace('@', '').split(':');
  let cell;
  if (field === kind.id) {
    cell = (r) => {
      const href = recordHash(key, kind, r[field]);
      return href ? h('a', { href }, r[field]) : text(r[field]);
    };
  } else if (isTime) cell = (r) => time(r[field]);
  else if (badgeKind) cell = (r) => badge(badgeKind, r[field]);
  else cell = (r) => text(r[field]);
  return { label: label(field), cell, class: ['coverage_percent', 'decision_count', 'blocked_count',
    'approval_required_count'].includes(field) ? 'num' : null };
}

// extra (optional): {columns: more columns after the id, after(listBox, items): runs once the
// table is shown, and the view counts as loaded when it has finished}.
export async function recordsView(view, key, query, extra = {}) {
  const kind = KINDS[key];
  const packs = await policyPackIds();
  const listBox = h('section', { 'aria-label': kind.title }, loading(kind.title.toLowerCase()));
  const formBox = h('section', { class: 'form-box' });
  const head = h('div', { class: 'title-row' }, h('h1', null, kind.title));
  if (can(kind.write)) {
    const btn = h('button', { type: 'button', class: 'primary', 'aria-expanded': 'false' }, `New ${kind.one}`);
    btn.addEventListener('click', () => {
      const open = btn.getAttribute('aria-expanded') === 'true';
      btn.setAttribute('aria-expanded', String(!open));
      clear(formBox);
      if (!open) formBox.append(recordForm(key, kind, null, packs));
    });
    head.append(btn);
  }
  view.append(h('p', { class: 'crumbs' }, kind.section), head, formBox,
    filterForm(`Filter ${kind.title.toLowerCase()}`, kind.filters.map((f) => ({
      ...f, label: f.label || label(f.name), list: f.packs ? packs : undefined,
    })), query, `#/${key}`),
    listBox);
  try {
    const env = await get(kind.api, pageParams(query, kind.filters.map((f) => f.name)));
    const columns = kind.columns.map((c) => column(key, kind, c));
    columns.splice(1, 0, ...(extra.columns || []));
    clear(listBox).append(
      table(`${kind.title}, newest first (by creation)`, columns, env.items,
        { rowProps: (r) => ({ 'data-id': r[kind.id] }) }),
      pager(env, query, `#/${key}`));
    if (extra.after) await extra.after(listBox, env.items);
  } catch (e) {
    clear(listBox).append(errorBox(e, kind.title.toLowerCase()));
  }
}

// ---- one record

export async function recordView(view, key, id) {
  const kind = KINDS[key];
  const box = h('section', null, loading(`the ${kind.one}`));
  view.append(h('p', { class: 'crumbs' }, h('a', { href: `#/${key}` }, `‹ ${kind.title}`)),
    h('h1', null, `${kind.one[0].toUpperCase()}${kind.one.slice(1)} `, h('code', null, id)), box);
  let rec;
  try {
    rec = await get(apiPath(kind, id));
  } catch (e) {
    clear(box).append(errorBox(e, `the ${kind.one}`));
    return;
  }
  clear(box);
  if (can(kind.write)) {
    const formBox = h('div', { class: 'form-box' });
    const btn = h('button', { type: 'button', 'aria-expanded': 'false' }, 'Edit');
    btn.addEventListener('click', async () => {
      const open = btn.getAttribute('aria-expanded') === 'true';
      btn.setAttribute('aria-expanded', String(!open));
      clear(formBox);
      if (!open) formBox.append(recordForm(key, kind, rec, await policyPackIds()));
    });
    box.append(h('div', { class: 'actions' }, btn), formBox);
  }
  box.append(dl(Object.entries(rec).map(([k, v]) => [label(k),
    /_at$|^last_seen$/.test(k) && typeof v === 'string' ? time(v) : (typeof v === 'object' && v !== null && !Array.isArray(v)
      ? jsonView(v) : text(v))])));
}

// ---- create or update (the API's writes are upserts that replace the record)

function formField(f, value, packs) {
  const id = uid(`r-${f.name}`);
  const raw = f.type === 'enum' ? '' : String(Array.isArray(value) ? value.join(', ') : (value ?? ''));
  let input;
  if (f.type === 'enum') {
    input = h('select', { id, name: f.name },
      h('option', { value: '' }, '(default)'),
      f.options.map((o) => h('option', { value: o, selected: o === value }, label(o))));
  } else {
    const listId = f.packs && packs.length ? uid('dl') : null;
    input = h('input', { id, name: f.name, type: f.type === 'int' ? 'number' : 'text', value: raw,
      required: f.required, min: f.min, max: f.max, step: f.type === 'int' ? '1' : null, list: listId,
      autocomplete: 'off' });
  }
  const hint = f.type === 'list' ? 'comma separated' : f.hint;
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label(f.name), f.required ? ' (required)' : ''), input);
  if (input.getAttribute('list')) {
    wrap.append(h('datalist', { id: input.getAttribute('list') }, packs.map((p) => h('option', { value: p }))));
  }
  if (hint) wrap.append(h('small', null, hint));
  // The field shows the value as it is, to be edited; what it holds that the eye cannot tell
  // apart is spelled out under it, with the page's markers.
  if (hasMarkers(raw)) {
    wrap.append(h('small', { class: 'value-warning', role: 'note' },
      'This value holds characters that are not shown or look like others: ', raw));
  }
  if (/[\r\n]/.test(raw)) {
    wrap.append(h('small', { class: 'value-warning', role: 'note' },
      'This value holds line breaks, which a one-line field drops: saving the form would remove them.'));
  }
  return wrap;
}

function formBody(kind, form, original) {
  // Start from the stored record so that fields the form does not show are kept.
  const body = original ? { ...original } : {};
  delete body.created_at;
  delete body.updated_at;
  for (const f of kind.form) {
    const raw = form.elements[f.name].value.trim();
    if (!raw) {
      delete body[f.name];
      continue;
    }
    if (f.type === 'list') body[f.name] = raw.split(',').map((x) => x.trim()).filter(Boolean);
    else if (f.type === 'int') body[f.name] = Number(raw);
    else body[f.name] = raw;
  }
  return body;
}

export function recordForm(key, kind, original, packs) {
  const status = h('div', { class: 'form-status' });
  const form = h('form', { class: 'record-form', 'aria-label': original ? `Edit ${kind.one}` : `New ${kind.one}` },
    h('h2', null, original ? `Edit ${kind.one}` : `New ${kind.one}`),
    h('div', { class: 'form-grid' }, kind.form.map((f) => formField(f, original ? original[f.name] : undefined, packs))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save')),
    status);
  if (original) form.elements[kind.id]?.setAttribute('readonly', '');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const saved = await post(kind.api, formBody(kind, form, original));
      const href = recordHash(key, kind, saved[kind.id]);
      if (!href) {
        clear(status).append(message('ok', `Saved ${kind.one} ${saved[kind.id]}.`));
        return;
      }
      // Show the record as stored, with the server's defaults filled in.
      setFlash(`Saved ${kind.one} ${saved[kind.id]}.`);
      navigate(href);
    } catch (e) {
      clear(status).append(writeError(e, 'Saving'));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}


// ---- policy packs (read only; they load from files at start)

export async function policyPacksView(view) {
  const box = h('section', null, loading('policy packs'));
  view.append(h('p', { class: 'crumbs' }, 'Inventory'), h('h1', null, 'Policy packs'), box);
  try {
    const env = await get('/policy-packs');
    clear(box).append(table('Policy packs', [
      { label: 'id', cell: (p) => h('code', null, p.id) },
      { label: 'title', cell: (p) => text(p.title) },
      { label: 'version', cell: (p) => text(p.version) },
      { label: 'inherits', cell: (p) => text(p.inherits) },
      { label: 'rules', cell: (p) => text(p.rule_count), class: 'num' },
      { label: 'sha256', cell: (p) => h('code', { title: p.sha256 }, String(p.sha256 || '').slice(0, 12)) },
      { label: 'rollouts', cell: (p) => h('a', { href: `#/policy-rollouts?policy_pack=${encodeURIComponent(p.id)}` }, 'rollouts') },
    ], env.items));
  } catch (e) {
    clear(box).append(errorBox(e, 'policy packs'));
  }
}
