// app.js - the console's entry point: asks GET /auth/whoami who is signed in (a 401 sends the
// browser to /console/login), draws the header and the navigation the user's permissions
// allow, and routes the URL's hash (#/decisions?repository=a&decision=block) to a view.

import { loadWhoami, me, can, logout, ApiError } from './api.js';
import { h, clear, message } from './dom.js';
import { decisionsView, sessionsView, sessionView, decisionView } from './activity.js';
import { approvalsView, approvalView, breakGlassView } from './approvals.js';
import { KINDS, recordsView, recordView, policyPacksView } from './records.js';
import { operationsView } from './operations.js';
import { rolloutsView, rolloutView } from './rollouts.js';
import { takeFlash, writeError } from './common.js';

// Sections of the navigation: [label, hash, permission, the routes it covers].
const NAV = [
  ['Decisions', '#/decisions', 'activity.read', ['decisions']],
  ['Sessions', '#/sessions', 'activity.read', ['sessions']],
  ['Approvals', '#/approvals?state=pending', 'approvals.read', ['approvals', 'break-glass']],
  ['Agents', '#/agents', 'registry.read', ['agents']],
  ['MCP servers', '#/mcp-servers', 'registry.read', ['mcp-servers']],
  ['Repositories', '#/repositories', 'inventory.read', ['repositories']],
  ['Policy rollouts', '#/policy-rollouts', 'inventory.read', ['policy-rollouts']],
  ['Policy packs', '#/policy-packs', 'policy.read', ['policy-packs']],
  ['Integrations', '#/integrations', 'integrations.read', ['integrations']],
  ['Evidence', '#/evidence', 'evidence.read', ['evidence']],
  ['Operations', '#/operations', 'operations.read', ['operations']],
];

// route name -> [permission, view(viewEl, id, query)]
const ROUTES = {
  decisions: ['activity.read', (v, id, q) => (id ? decisionView(v, id) : decisionsView(v, q))],
  sessions: ['activity.read', (v, id, q) => (id ? sessionView(v, id) : sessionsView(v, q))],
  approvals: ['approvals.read', (v, id, q) => (id ? approvalView(v, id) : approvalsView(v, q))],
  'break-glass': ['approvals.read', (v, id, q) => breakGlassView(v, q)],
  'policy-packs': ['policy.read', (v) => policyPacksView(v)],
  operations: ['operations.read', (v, id, q) => operationsView(v, q)],
};
for (const [key, kind] of Object.entries(KINDS)) {
  ROUTES[key] = [kind.read, (v, id, q) => (id ? recordView(v, key, id) : recordsView(v, key, q))];
}
// Policy rollouts: the list with readiness, and a rollout's drill-down instead of its bare record.
ROUTES['policy-rollouts'] = ['inventory.read', (v, id, q) => (id ? rolloutView(v, id) : rolloutsView(v, q))];

const main = document.getElementById('main');
const navList = document.getElementById('nav-list');
const userBox = document.getElementById('user');

// "#/sessions/ses%2F1?state=active" -> {name: "sessions", id: "ses/1", query: {state: "active"}}
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = Object.fromEntries(new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)));
  const parts = path.split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  return { name: parts[0] || '', id: parts.length > 1 ? parts.slice(1).join('/') : null, query };
}

function landing() {
  const first = NAV.find(([, , perm]) => can(perm));
  return first ? first[1] : null;
}

function drawNav(current) {
  clear(navList);
  for (const [label, hash, perm, names] of NAV) {
    if (!can(perm)) continue;
    const active = names.includes(current);
    navList.append(h('li', null, h('a', { href: hash, class: active ? 'active' : null,
      'aria-current': active ? 'page' : null }, label)));
  }
}

function drawUser() {
  clear(userBox);
  const who = me.actor || me.subject || (me.authMode === 'none' ? 'local pilot' : 'signed in');
  userBox.append(h('span', { class: 'who', title: me.subject || '' }, who),
    h('span', { class: 'roles' }, me.authMode === 'none'
      ? 'auth mode none: no login, every role'
      : (me.roles.length ? me.roles.join(', ').replaceAll('_', ' ') : 'no roles')));
  if (me.authMode === 'oidc') {
    const btn = h('button', { type: 'button', id: 'logout', class: 'logout' }, 'Log out');
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        await logout();
      } catch (e) {
        btn.disabled = false;
        main.prepend(writeError(e, 'Logging out'));
      }
    });
    userBox.append(btn);
  }
}

let first = true;

async function render() {
  const { name, id, query } = parseHash();
  document.body.removeAttribute('data-ready'); // set again when this view has loaded
  if (!name) {
    const to = landing();
    if (to) {
      location.replace(to);
      return;
    }
  }
  drawNav(name);
  const view = h('div', { class: 'view' });
  clear(main).append(view);
  const flash = takeFlash();
  if (flash) view.append(message('ok', flash));
  const r = ROUTES[name];
  if (!r) {
    view.append(h('h1', null, name ? 'Not found' : 'Welcome'), name
      ? message('warn', 'The console has no such page. Use the navigation above.')
      : message('info', 'Your account has no permission to read anything in cavra. Ask an administrator for a role.'));
  } else if (!can(r[0])) {
    view.append(h('h1', null, 'Not allowed'),
      message('warn', `This page needs the permission ${r[0]}, which your roles do not give.`));
  } else {
    await r[1](view, id, query);
  }
  focusTitle(view);
  if (main.contains(view)) document.body.setAttribute('data-ready', '1');
}

// After a navigation, move focus to the new page's heading (screen readers announce it) and
// name the tab after it.
function focusTitle(view) {
  const h1 = view.querySelector('h1');
  if (!h1) return;
  document.title = `${h1.textContent} · cavra console`;
  if (first || h1.hasAttribute('tabindex')) return;
  h1.setAttribute('tabindex', '-1');
  if (!main.contains(document.activeElement) || document.activeElement === document.body) h1.focus();
}

async function boot() {
  // The skip link must not change the hash, which is the router's.
  document.querySelector('a.skip')?.addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });
  try {
    await loadWhoami();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      clear(main).append(h('p', { class: 'loading', role: 'status' }, 'Going to the login page…'));
    } else {
      clear(main).append(h('h1', null, 'cavra console'),
        message('error', `The console could not ask the server who you are: ${e.message}`));
    }
    return;
  }
  document.body.classList.add(`auth-${me.authMode === 'oidc' ? 'oidc' : 'none'}`);
  drawUser();
  window.addEventListener('hashchange', () => {
    first = false;
    render();
  });
  await render();
}

boot();
