// list.js - what every list view shares: a filter form whose values live in the URL's hash
// (so a view can be shared and survives a reload), and a pager over the API's envelope
// {"items","total","total_relation","limit","offset","next_cursor"} that follows next_cursor.

import { h, uid, withQuery } from './dom.js';

const PAGE_SIZES = [25, 50, 100, 200];
const PAGING = ['cursor', 'page', 'limit'];

// The filters of a view: the query without the paging parameters.
function filtersOf(query) {
  const f = {};
  for (const [k, v] of Object.entries(query)) if (!PAGING.includes(k) && v !== '') f[k] = v;
  return f;
}

// The API parameters of one page of a list: filters, limit and cursor.
export function pageParams(query, known) {
  const p = {};
  for (const k of known) if (query[k]) p[k] = query[k];
  const limit = Number(query.limit);
  p.limit = Number.isInteger(limit) && limit >= 1 && limit <= 500 ? limit : 50;
  if (query.cursor) p.cursor = query.cursor;
  return p;
}

// datetime-local value (local time) <-> RFC 3339 in UTC for the API and the URL.
function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fromLocalInput(v) {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function field(f, value) {
  const id = uid(`f-${f.name}`);
  let input;
  if (f.type === 'select') {
    input = h('select', { id, name: f.name },
      h('option', { value: '' }, f.any || 'any'),
      f.options.map((o) => h('option', { value: o, selected: o === value }, o.replaceAll('_', ' '))));
  } else if (f.type === 'datetime') {
    input = h('input', { id, name: f.name, type: 'datetime-local', step: '1',
      value: value ? toLocalInput(value) : '', 'data-utc': '1' });
  } else {
    const listId = f.list ? uid('dl') : null;
    input = h('input', { id, name: f.name, type: f.type || 'text', value: value || '',
      list: listId, placeholder: f.placeholder, autocomplete: 'off', min: f.min });
    if (f.list) return h('div', { class: 'field' }, h('label', { for: id }, f.label), input,
      h('datalist', { id: listId }, f.list.map((o) => h('option', { value: o }))));
  }
  return h('div', { class: 'field' }, h('label', { for: id }, f.label), input);
}

// A filter form. spec: [{name, label, type: text|select|datetime|number, options, list}].
// Apply puts the values in the hash (dropping the cursor); Clear removes them all.
export function filterForm(title, spec, query, baseHash, submitLabel = 'Apply filters') {
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': title },
    h('div', { class: 'filter-fields' }, spec.map((f) => field(f, query[f.name]))),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary' }, submitLabel),
      h('a', { class: 'button', href: withQuery(baseHash, query.limit ? { limit: query.limit } : {}) }, 'Clear')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = {};
    for (const el of form.elements) {
      if (!el.name || !el.value.trim()) continue;
      next[el.name] = el.dataset.utc ? fromLocalInput(el.value) : el.value.trim();
    }
    if (query.limit) next.limit = query.limit;
    location.hash = withQuery(baseHash, next);
  });
  return form;
}

// An envelope's total as text: "123"; "10,000+" when the server stopped counting at its bound
// (total_relation "gte"); '' when it did not count (count=none).
export function totalText(env) {
  if (typeof env.total !== 'number') return '';
  return env.total_relation === 'gte' ? `${env.total.toLocaleString('en-US')}+` : `${env.total}`;
}

// Rows of this page the server left out (the envelope's "withheld"): the audit chain does not
// vouch for them, so they were written or changed in the database. Said, not hidden: an
// auditor sees that the list is short and why. null when there are none.
export function withheldNote(env) {
  const n = Number(env.withheld) || 0;
  if (n <= 0) return null;
  const them = n === 1 ? 'it' : 'them';
  return h('span', { class: 'withheld', role: 'alert' },
    `${n} not shown: written or changed in the database since the audit chain recorded ${them} `
    + `(cavra audit verify names ${them})`);
}

// Where "Previous" goes from a page reached by a cursor: remembered while the tab lives.
const previous = new Map();

// The pager under a list: "Showing 51–100 of 123", First / Previous / Next and a page size.
export function pager(env, query, baseHash) {
  const filters = filtersOf(query);
  const page = Math.max(1, Number(query.page) || 1);
  const limit = env.limit || 50;
  const n = env.items.length;
  const start = n ? (page - 1) * limit + 1 : 0;
  const count = totalText(env);
  const total = count ? ` of ${count}` : '';
  const keep = query.limit ? { limit: query.limit } : {};
  const nav = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('span', { class: 'pager-count', role: 'status' },
      n ? `Showing ${start}–${start + n - 1}${total}` : `No rows${total ? ` (${count} in all)` : ''}`),
    withheldNote(env));
  if (query.cursor) {
    nav.append(h('a', { class: 'button', href: withQuery(baseHash, { ...filters, ...keep }) }, '« First'));
    const prev = previous.get(query.cursor);
    if (prev !== undefined) {
      const q = prev ? { ...filters, ...keep, cursor: prev, page: page - 1 } : { ...filters, ...keep };
      nav.append(h('a', { class: 'button', href: withQuery(baseHash, q), rel: 'prev' }, '‹ Previous'));
    }
  }
  if (env.next_cursor) {
    previous.set(env.next_cursor, query.cursor || '');
    nav.append(h('a', { class: 'button', rel: 'next',
      href: withQuery(baseHash, { ...filters, ...keep, cursor: env.next_cursor, page: page + 1 }) }, 'Next ›'));
  }
  const sizeId = uid('pagesize');
  const sizes = PAGE_SIZES.includes(limit) ? PAGE_SIZES : [...PAGE_SIZES, limit].sort((a, b) => a - b);
  const size = h('select', { id: sizeId },
    sizes.map((v) => h('option', { value: v, selected: v === limit }, String(v))));
  size.addEventListener('change', () => {
    location.hash = withQuery(baseHash, { ...filters, limit: size.value });
  });
  nav.append(h('span', { class: 'pager-size' }, h('label', { for: sizeId }, 'Rows per page'), size));
  return nav;
}
