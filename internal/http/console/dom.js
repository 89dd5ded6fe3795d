// dom.js - building the page without innerHTML: every value from the API goes into the DOM as a
// text node or an attribute value, never as markup. Shared widgets live here too: badges,
// tables, definition lists, messages and the time format.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Attributes that could run script or load things are refused whatever their value.
function safeAttr(name) {
  const n = name.toLowerCase();
  return !n.startsWith('on') && n !== 'style' && n !== 'srcdoc';
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'text') {
      clear(el).append(...textNodes(String(v)));
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'href') {
      // Only links the console builds itself: its own hash routes and same-origin paths.
      const s = String(v);
      if (s.startsWith('#') || (s.startsWith('/') && !s.startsWith('//'))) el.setAttribute('href', s);
    } else if (safeAttr(k)) {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

// Characters that show nothing or change how the text around them is shown: format characters
// (Unicode's Cf: the bidirectional overrides, embeddings, isolates and marks, zero-width spaces
// and joiners, the soft hyphen, tags), control characters other than tab and newline, the line
// and paragraph separators and the invisible Hangul fillers. In an agent's text they could show
// an approver one command and mean another ("rm -rf" written backwards behind U+202E), so each
// is shown as a marker naming its code point and never reaches the page as itself.
const HIDDEN = /[\p{Cf}\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u115f\u1160\u3164\uffa0]/u;
const HIDDEN_ALL = new RegExp(HIDDEN.source, 'gu');

function hiddenMark(ch) {
  const cp = `U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  const mark = document.createElement('span');
  mark.setAttribute('class', 'hidden-char');
  mark.setAttribute('title', `${cp}: a character that is not shown, or that changes the direction of the text around it`);
  mark.textContent = `[${cp}]`;
  return mark;
}

// The text s as nodes: text nodes, with a marker in place of each hidden character.
function textNodes(s) {
  if (!HIDDEN.test(s)) return [document.createTextNode(s)];
  const out = [];
  let at = 0;
  for (const m of s.matchAll(HIDDEN_ALL)) {
    if (m.index > at) out.push(document.createTextNode(s.slice(at, m.index)));
    out.push(hiddenMark(m[0]));
    at = m.index + m[0].length;
  }
  if (at < s.length) out.push(document.createTextNode(s.slice(at)));
  return out;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    if (c instanceof Node) el.append(c);
    else el.append(...textNodes(String(c)));
  }
  return el;
}

// h('a', {href: '#/x', class: 'y'}, 'text', child, ...): an HTML element.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  return append(el, children);
}

// s('rect', {x: 1, ...}): an SVG element; attributes are presentation attributes, never style.
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  return append(el, children);
}

// el.append(...) that skips null, undefined and false (the native one would print "null").
export function add(el, ...children) {
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// ---- values

export const DECISIONS = ['allow', 'block', 'require_approval', 'warn', 'audit_only',
  'allow_with_attestation'];
export const SEVERITIES = ['low', 'medium', 'high', 'critical'];
export const SESSION_STATES = ['active', 'completed', 'failed', 'archived'];
export const APPROVAL_STATES = ['pending', 'approved', 'denied', 'expired', 'break_glass'];
export const ACTION_TYPES = ['read_file', 'write_file', 'execute_command', 'git_operation',
  'mcp_tool_call'];

// A coloured badge; the colour comes from a class chosen only among known values, and the
// text always says the value too (colour is never the only signal).
export function badge(kind, value) {
  if (value === null || value === undefined || value === '') return h('span', { class: 'muted' }, '—');
  const v = String(value);
  const known = /^[a-z_]{1,40}$/.test(v) ? v : 'other';
  return h('span', { class: `badge badge-${kind} ${kind}-${known}` }, v.replaceAll('_', ' '));
}

// "2026-11-23T09:01:46.500547Z" -> <time> "2026-11-23 09:01:46 UTC" (full value in the title).
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)/.exec(String(iso));
  return h('time', { datetime: iso, title: iso }, m ? `${m[1]} ${m[2]}` : String(iso));
}

export function text(v) {
  if (v === null || v === undefined || v === '') return h('span', { class: 'muted' }, '—');
  if (Array.isArray(v)) return v.length ? v.map(String).join(', ') : h('span', { class: 'muted' }, '—');
  if (typeof v === 'object') return h('code', null, JSON.stringify(v));
  return String(v);
}

export function code(v) {
  if (v === null || v === undefined || v === '') return h('span', { class: 'muted' }, '—');
  return h('code', null, String(v));
}

// ---- links to the console's own views (every path segment encoded)

export function route(...segments) {
  return '#/' + segments.map((x) => encodeURIComponent(String(x))).join('/');
}

export function withQuery(hash, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const qs = q.toString();
  return qs ? `${hash}?${qs}` : hash;
}

export function link(hash, label, props) {
  return h('a', { ...props, href: hash }, label);
}

// ---- tables

// columns: [{label, cell(row) -> Node|string, class?}]. rows: array. Returns a scrollable
// wrapper with a real <table> (caption, scoped headers).
export function table(caption, columns, rows, opts = {}) {
  const head = h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)));
  const body = h('tbody', null, rows.map((row, i) => {
    const tr = h('tr', opts.rowProps ? opts.rowProps(row, i) : null);
    for (const c of columns) tr.append(h('td', { class: c.class }, c.cell(row, i)));
    return tr;
  }));
  const t = h('table', { class: 'data' },
    h('caption', { class: opts.showCaption ? null : 'visually-hidden' }, caption),
    h('thead', null, head), body);
  const wrap = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption }, t);
  if (!rows.length) wrap.append(h('p', { class: 'empty' }, opts.empty || 'Nothing matches.'));
  return wrap;
}

// A definition list of [label, value] pairs.
export function dl(pairs) {
  return h('dl', { class: 'fields' }, pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

// Any JSON value, for shapes the console does not know field by field (operations documents,
// extra fields of records): objects as definition lists, arrays of objects as tables.
export function jsonView(value, depth = 0) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof value !== 'object') return String(value);
  if (depth > 4) return h('code', null, JSON.stringify(value));
  if (Array.isArray(value)) {
    if (!value.length) return h('span', { class: 'muted' }, 'none');
    if (value.every((x) => x === null || typeof x !== 'object')) return value.map(String).join(', ');
    const keys = [...new Set(value.flatMap((x) => (x && typeof x === 'object' ? Object.keys(x) : [])))];
    return table('items', keys.map((k) => ({ label: k, cell: (row) => jsonView(row?.[k], depth + 1) })), value);
  }
  return dl(Object.entries(value).map(([k, v]) => [k, jsonView(v, depth + 1)]));
}

// ---- messages

export function message(kind, ...content) {
  // role=alert for errors (read out at once), status otherwise.
  return h('div', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...content);
}

export function loading(what) {
  return h('p', { class: 'loading', role: 'status' }, `Loading ${what}…`);
}

let idCounter = 0;
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
