// operations.js - read-only operations views: the status of every store (GET
// /operations/stores) and the retention plan (GET /operations/retention-plan). Backup and
// restore are command-line only (docs/operations.md); this page says so and shows what was last done.

import { get, ApiError } from './api.js';
import { h, badge, time, text, code, table, dl, message, loading, clear, jsonView } from './dom.js';
import { errorBox } from './common.js';
import { filterForm } from './list.js';

function bytes(n) {
  if (typeof n !== 'number') return text(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

function lastRun(r) {
  if (!r || typeof r !== 'object') return h('span', { class: 'muted' }, 'never');
  return h('span', null, r.outcome ? h('span', { class: `badge badge-outcome outcome-${r.outcome === 'succeeded' ? 'succeeded' : 'failed'}` }, r.outcome) : null,
    ' ', time(r.finished_at || r.started_at));
}

function unavailable(e, what) {
  if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
    return message('info', `The server does not offer ${what} yet. Until it does, the command line `
      + 'has it: ', h('code', null, 'cavra ops stores'), ' and ', h('code', null, 'cavra ops retention-plan'), '.');
  }
  return errorBox(e, what);
}

function storesSection(doc) {
  const stores = Array.isArray(doc.stores) ? doc.stores : [];
  const rest = { ...doc };
  delete rest.stores;
  return [
    dl([
      ['Backend', text(doc.backend)],
      ['Schema version', text(doc.database_schema_version ?? doc.schema_version)],
      ['Generated', time(doc.generated_at)],
      ['Last backup', lastRun(doc.last_backup)],
      ['Last restore test', lastRun(doc.last_restore_test)],
    ]),
    table('Stores', [
      { label: 'Store', cell: (x) => text(x.store ?? x.name) },
      { label: 'Rows', cell: (x) => text(x.rows), class: 'num' },
      { label: 'Size', cell: (x) => bytes(x.bytes), class: 'num' },
      { label: 'Oldest record', cell: (x) => time(x.oldest) },
      { label: 'Newest record', cell: (x) => time(x.newest) },
      { label: 'Tables', cell: (x) => (Array.isArray(x.tables) ? h('details', null,
        h('summary', null, x.tables.map((t) => t.table).join(', ')),
        table(`Tables of ${x.store}`, [
          { label: 'Table', cell: (t) => text(t.table) },
          { label: 'Rows', cell: (t) => text(t.rows), class: 'num' },
          { label: 'Size', cell: (t) => bytes(t.bytes), class: 'num' },
          { label: 'Oldest', cell: (t) => time(t.oldest) },
          { label: 'Newest', cell: (t) => time(t.newest) },
        ], x.tables)) : text(x.tables)) },
    ], stores, { showCaption: false }),
  ];
}

const yesNo = (v) => (v === true ? 'yes' : v === false ? 'no' : text(v));

function overdue(v) {
  return v ? h('span', { class: 'badge badge-overdue overdue-yes' }, 'overdue') : h('span', { class: 'badge overdue-no' }, 'on time');
}

const PLAN_KNOWN = ['schema_version', 'generated_at', 'tool_version', 'classification', 'retention_days',
  'legal_hold', 'cutoff', 'retain_until', 'delete_protection', 'delete_protection_reason', 'backend',
  'database_schema_version', 'controls', 'stores', 'records', 'past_cutoff', 'eligible_for_deletion'];

function planSection(doc) {
  const c = doc.controls && typeof doc.controls === 'object' ? doc.controls : {};
  const stores = Array.isArray(doc.stores) ? doc.stores : [];
  const other = Object.fromEntries(Object.entries(doc).filter(([k]) => !PLAN_KNOWN.includes(k)));
  return [
    dl([
      ['Classification', text(doc.classification)],
      ['Retention', `${doc.retention_days ?? '—'} days: records before ${doc.cutoff ?? '—'} are past the cutoff`],
      ['Retain until', time(doc.retain_until)],
      ['Legal hold', yesNo(doc.legal_hold)],
      ['Delete protection', h('span', null, yesNo(doc.delete_protection),
        doc.delete_protection_reason ? ` (${doc.delete_protection_reason})` : '')],
      ['Records', `${doc.records ?? '—'} in all, ${doc.past_cutoff ?? '—'} past the cutoff, `
        + `${doc.eligible_for_deletion ?? '—'} eligible for deletion`],
      ['Generated', time(doc.generated_at)],
    ]),
    h('h3', null, 'Backup and restore-test controls'),
    dl([
      ['Backups', h('span', null, `every ${c.backup_every_days ?? '—'} day(s) and before `,
        text(c.backup_before), ' — ', overdue(c.backup_overdue))],
      ['Last backup', lastRun(c.last_backup)],
      ['Backup command', code(c.backup_command)],
      ['Verify command', code(c.verify_command)],
      ['Restore tests', h('span', null, `every ${c.restore_test_every_days ?? '—'} day(s) — `, overdue(c.restore_test_overdue))],
      ['Last restore test', lastRun(c.last_restore_test)],
      ['Restore-test command', code(c.restore_test_command)],
    ]),
    h('h3', null, 'Per store'),
    table('Retention per store', [
      { label: 'Store', cell: (x) => text(x.store) },
      { label: 'Records', cell: (x) => text(x.records), class: 'num' },
      { label: 'Past cutoff', cell: (x) => text(x.past_cutoff), class: 'num' },
      { label: 'Eligible for deletion', cell: (x) => text(x.eligible_for_deletion), class: 'num' },
      { label: 'Action', cell: (x) => badge('action', x.action) },
      { label: 'Tables', cell: (x) => (Array.isArray(x.tables) ? h('details', null,
        h('summary', null, x.tables.map((t) => t.table).join(', ')),
        table(`Tables of ${x.store}`, [
          { label: 'Table', cell: (t) => text(t.table) },
          { label: 'By', cell: (t) => code(t.time_column) },
          { label: 'Records', cell: (t) => text(t.records), class: 'num' },
          { label: 'Past cutoff', cell: (t) => text(t.past_cutoff), class: 'num' },
          { label: 'Oldest', cell: (t) => time(t.oldest) },
          { label: 'Newest', cell: (t) => time(t.newest) },
        ], x.tables)) : text(x.tables)) },
    ], stores, { showCaption: false }),
    Object.keys(other).length ? h('details', null, h('summary', null, 'Other fields'), jsonView(other)) : null,
  ].filter(Boolean);
}

async function load(box, path, what, render, params) {
  try {
    const doc = await get(path, params);
    clear(box).append(...render(doc));
  } catch (e) {
    clear(box).append(unavailable(e, what));
  }
}

export async function operationsView(view, query) {
  const stores = h('section', { 'aria-labelledby': 'ops-stores' }, loading('the stores'));
  const plan = h('section', { 'aria-labelledby': 'ops-plan' }, loading('the retention plan'));
  view.append(h('h1', null, 'Operations'),
    h('p', { class: 'muted' }, 'Read only. Backups, verification and restores run from the command line '
      + '(cavra ops backup | verify | restore | restore-test); the runs recorded in the database show here.'),
    h('h2', { id: 'ops-stores' }, 'Stores'), stores,
    h('h2', { id: 'ops-plan' }, 'Retention plan'),
    h('p', { class: 'muted' }, 'Computed now, read only: change the parameters to see another plan '
      + '(the same as cavra ops retention-plan).'),
    filterForm('Retention plan parameters', [
      { name: 'retention_days', label: 'Retention (days)', type: 'number', min: 1, placeholder: '2555' },
      { name: 'classification', label: 'Classification', placeholder: 'regulated-sdlc' },
      { name: 'legal_hold', label: 'Legal hold', type: 'select', options: ['true', 'false'], any: 'default (no)' },
    ], query, '#/operations', 'Compute the plan'),
    plan);
  const params = {};
  for (const k of ['retention_days', 'classification', 'legal_hold']) if (query[k]) params[k] = query[k];
  await Promise.all([
    load(stores, '/operations/stores', 'the stores status', storesSection),
    load(plan, '/operations/retention-plan', 'the retention plan', planSection, params),
  ]);
}
