// dom.js - building the page without innerHTML: every value from the API goes into the DOM as a
// text node or an attribute value, never as markup. Shared widgets live here too: badges,
// tables, definition lists, messages and the time format.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Attributes that could run script or load things are refused whatever their value.
function safeAttr(name) {
  const n = name.toLowerCase();
  return !n.startsWith('on') && n !== 'style' && n !== 'srcdoc';
}

// Attributes that a person reads (tooltips, labels read out by screen readers): their text gets
// the same markers as the page's text (plainText below).
const TEXT_ATTRS = new Set(['title', 'aria-label', 'alt', 'placeholder', 'label']);

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
    } else if (TEXT_ATTRS.has(k)) {
      el.setAttribute(k, plainText(String(v)));
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
// is shown as a marker naming its code point and never reaches the page as itself. A carriage
// return directly before a newline is a Windows line end, as policy evaluation reads it too;
// a lone one (which moves the cursor back over what was shown) is marked.
const HIDDEN = /[\p{Cf}\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\u115f\u1160\u3164\uffa0]|\r(?!\n)/u;
const HIDDEN_ALL = new RegExp(HIDDEN.source, 'gu');

// Characters made to look like ASCII: a compatibility form whose normal form (NFKC) is plain
// ASCII, such as the fullwidth "ｃ" and "／", the mathematical "𝐜", the Roman numeral "Ⅽ", the
// superscript "²" or the no-break space. "/etc／shadow" is not the path it looks like.
const PRINTABLE_ASCII = /^[\u0020-\u007e]+$/;

function asciiLookalike(ch) {
  const n = ch.normalize('NFKC');
  return n !== ch && PRINTABLE_ASCII.test(n) ? n : null;
}

// Japanese, Chinese and Korean text is written with fullwidth forms (U+FF01-U+FF5E: "（注）",
// "２０２４年", "設定／ファイル") and the ideographic space U+3000. A run of them that touches a
// Han, kana or Hangul character (or CJK punctuation) on one side and no ASCII character, a
// space included, on either is that text, not a disguise, and gets no marker; "/etc／shadow"
// still does, and so does "rm -rf ／漢字", where the space makes "／" start a path.
const WIDE = /[\u3000\uff01-\uff5e]/u;
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3001-\u303f\u30fc]/u;
const ASCII = /[\u0000-\u007f]/;

// The offsets (UTF-16) of the fullwidth forms in s that belong to CJK text, as a Set.
function cjkWide(s) {
  const out = new Set();
  const chars = [...s];
  const offsets = [];
  for (let i = 0, at = 0; i < chars.length; at += chars[i].length, i++) offsets.push(at);
  for (let i = 0; i < chars.length;) {
    if (!WIDE.test(chars[i])) { i++; continue; }
    let j = i;
    while (j < chars.length && WIDE.test(chars[j])) j++;
    const before = chars[i - 1] || '', after = chars[j] || '';
    if ((CJK.test(before) || CJK.test(after)) && !ASCII.test(before) && !ASCII.test(after)) {
      for (let k = i; k < j; k++) out.add(offsets[k]);
    }
    i = j;
  }
  return out;
}

// Letters that imitate letters of another script: a word (a run of letters, marks and digits)
// whose letters come from more than one script, such as "сlaude" with a Cyrillic "с", could
// pass for another agent, repository or command. Unicode's "highly restrictive" rule (UTS #39)
// is applied: a word may use one script, or Latin with Han and Japanese kana, with Han and
// Bopomofo, or with Han and Hangul. A letter belongs to every script of its Script_Extensions
// (the kana prolonged sound mark to both kana). In any other mixed word the letters outside the
// word's main script are shown as markers naming their code point and script. Letters of
// scripts not listed here count as "other-script". A word written wholly in another script's
// look-alikes of Latin letters is caught below (LATIN_LIKE).
const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian', 'Cherokee', 'Georgian', 'Hebrew',
  'Arabic', 'Coptic', 'Han', 'Hiragana', 'Katakana', 'Hangul', 'Bopomofo']
  .map((name) => [name, new RegExp(`\\p{Script_Extensions=${name}}`, 'u')]);
const PROFILES = [['Latin', 'Han', 'Hiragana', 'Katakana'], ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul']];
const NON_ASCII = /[^\u0000-\u007f]/;
const WORDS = /[\p{L}\p{M}\p{N}]+/gu;
const LETTER = /\p{L}/u;
const COMMON = /\p{Script=Common}|\p{Script=Inherited}/u;

// The scripts a letter may belong to; [] for a letter every script shares.
function scriptsOf(ch) {
  const found = SCRIPTS.filter(([, re]) => re.test(ch)).map(([name]) => name);
  if (found.length) return found;
  return COMMON.test(ch) ? [] : ['other-script'];
}

// The letters of one word (letters: [index, scripts]) to mark, with the word's main script.
function mixedLetters(letters) {
  const count = new Map();
  for (const [, scs] of letters) for (const sc of scs) count.set(sc, (count.get(sc) || 0) + 1);
  const used = [...count.keys()];
  const fits = (profile) => letters.every(([, scs]) => !scs.length || scs.some((sc) => profile.includes(sc)));
  if (used.some((sc) => fits([sc])) || PROFILES.some(fits)) return [];
  const main = used.reduce((x, y) => (count.get(y) > count.get(x) ? y : x));
  return letters.filter(([, scs]) => scs.length && !scs.includes(main)).map(([at, scs]) => [at, scs[0], main]);
}

// Cyrillic, Greek and Armenian letters that look like a Latin letter (a subset of Unicode's
// confusables, UTS #39), each with the letter it passes for. A word of two or more letters made
// only of them ("аррӏе", all Cyrillic) reads as a Latin word; its letters are marked when the
// text around it has Latin letters or is a single word (an id, a path, a host), so Russian or
// Greek prose keeps its words.
const LATIN_LIKE = new Map(Object.entries({
  // Cyrillic
  а: 'a', с: 'c', е: 'e', һ: 'h', і: 'i', ј: 'j', ӏ: 'l', о: 'o', р: 'p', ԛ: 'q', ѕ: 's',
  ԝ: 'w', х: 'x', у: 'y', ԁ: 'd',
  А: 'A', В: 'B', С: 'C', Е: 'E', Н: 'H', І: 'I', Ј: 'J', К: 'K', М: 'M', О: 'O', Р: 'P',
  Ѕ: 'S', Т: 'T', Х: 'X', Ү: 'Y', Ԛ: 'Q', Ԝ: 'W', Ӏ: 'I',
  // Greek
  ο: 'o', ν: 'v', ι: 'i', ρ: 'p', υ: 'u', α: 'a',
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P',
  Τ: 'T', Υ: 'Y', Χ: 'X',
  // Armenian
  օ: 'o', ս: 'u', ո: 'n', հ: 'h', զ: 'q', ց: 'g', ա: 'w', Տ: 'S', Օ: 'O',
}));
const LATIN = /\p{Script=Latin}/u;
const SPACE = /\s/u;

// The letters of the word w (at index `at` in s) to mark as whole-script look-alikes:
// [[offset in w, letter, Latin letter]], or [] when the word is not one.
function wholeScriptLetters(s, w, at) {
  const letters = [];
  let i = 0;
  for (const ch of w) {
    if (LETTER.test(ch)) {
      if (!LATIN_LIKE.has(ch)) return [];
      letters.push([i, ch, LATIN_LIKE.get(ch)]);
    }
    i += ch.length;
  }
  if (letters.length < 2) return [];
  const rest = s.slice(0, at) + ' ' + s.slice(at + w.length);
  return LATIN.test(rest) || !SPACE.test(s) ? letters : [];
}

const codePoint = (ch) => `U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

function hiddenMarks(s, out) {
  for (const m of s.matchAll(HIDDEN_ALL)) {
    const cp = codePoint(m[0]);
    out.push({ at: m.index, len: m[0].length, label: cp, kind: 'hidden-char',
      title: `${cp}: a character that is not shown, or that changes the direction of the text around it` });
  }
}

// The look-alikes of ASCII anywhere in s, then the mixed-script letters of each word.
function lookalikeMarks(s, out) {
  const taken = new Set();
  const wide = WIDE.test(s) ? cjkWide(s) : new Set();
  for (let i = 0; i < s.length;) {
    const ch = String.fromCodePoint(s.codePointAt(i));
    const like = NON_ASCII.test(ch) && !wide.has(i) ? asciiLookalike(ch) : null;
    if (like !== null) {
      taken.add(i);
      const cp = codePoint(ch);
      out.push({ at: i, len: ch.length, label: `${cp} as "${like}"`, kind: 'hidden-char lookalike',
        title: `${cp}: a compatibility form of "${like}"; it looks like "${like}" but is another character` });
    }
    i += ch.length;
  }
  for (const w of s.matchAll(WORDS)) {
    if (!NON_ASCII.test(w[0])) continue;
    const letters = [];
    let i = 0;
    for (const ch of w[0]) {
      if (LETTER.test(ch) && !taken.has(w.index + i)) letters.push([i, scriptsOf(ch)]);
      i += ch.length;
    }
    const mixed = mixedLetters(letters);
    for (const [at, sc, main] of mixed) {
      const ch = String.fromCodePoint(w[0].codePointAt(at));
      const cp = codePoint(ch);
      out.push({ at: w.index + at, len: ch.length, label: `${cp} ${sc}`, kind: 'hidden-char mixed-script',
        title: `${cp}: a ${sc} letter in a word of ${main} letters; it may imitate a letter it is not` });
    }
    if (mixed.length) continue;
    for (const [at, ch, like] of wholeScriptLetters(s, w[0], w.index)) {
      if (taken.has(w.index + at)) continue;
      const cp = codePoint(ch);
      const sc = scriptsOf(ch)[0];
      out.push({ at: w.index + at, len: ch.length, label: `${cp} ${sc}`, kind: 'hidden-char mixed-script',
        title: `${cp}: a ${sc} letter that looks like the Latin "${like}", in a word made only of such letters` });
    }
  }
}

// Where the text s needs a marker: [{at, len, label, title, kind}] in order of position.
function markers(s) {
  const out = [];
  if (HIDDEN.test(s)) hiddenMarks(s, out);
  if (NON_ASCII.test(s)) lookalikeMarks(s, out);
  return out.sort((x, y) => x.at - y.at);
}

function markerNode(m) {
  const mark = document.createElement('span');
  mark.setAttribute('class', m.kind);
  mark.setAttribute('title', m.title);
  mark.textContent = `[${m.label}]`;
  return mark;
}

// s cut at its markers: the text between them as strings, each marker as render(marker).
function splitAtMarkers(s, render) {
  const out = [];
  let at = 0;
  for (const m of markers(s)) {
    if (m.at > at) out.push(s.slice(at, m.at));
    out.push(render(m));
    at = m.at + m.len;
  }
  if (at < s.length || !out.length) out.push(s.slice(at));
  return out;
}

// The text s as nodes: text nodes, with a marker in place of each hidden character and of each
// letter that imitates another script's.
function textNodes(s) {
  return splitAtMarkers(s, markerNode).map((x) => (typeof x === 'string' ? document.createTextNode(x) : x));
}

// The text s for an attribute (a title, a label): markers as plain "[U+202E]" text.
export function plainText(s) {
  return splitAtMarkers(s, (m) => `[${m.label}]`).join('');
}

// Whether s holds anything textNodes would mark (for form fields, which show a value as it is).
export function hasMarkers(s) {
  return markers(String(s)).length > 0;
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

// Line breaks in a command or path. On one line (a table's cell, a field) each run of them shows
// as a marker, "↵" or "↵×3", so "echo ok" and "rm -rf ~" on two lines do not read as one
// command; in a block the breaks are kept but a run of more than one empty line shows as
// "[N empty lines]", so a command cannot sit hundreds of lines below what is in view.
function withBreaks(s, block) {
  const out = [];
  let at = 0;
  for (const m of s.matchAll(/(?:\r?\n)+/g)) {
    const n = m[0].split('\n').length - 1;
    out.push(s.slice(at, m.index));
    if (!block) {
      out.push(h('span', { class: 'line-break', title: n === 1 ? 'a line break' : `${n} line breaks` },
        n === 1 ? '↵' : `↵×${n}`));
    } else if (n > 2) {
      out.push('\n', h('span', { class: 'line-break' }, `[${n - 1} empty lines]`), '\n');
    } else {
      out.push(m[0]);
    }
    at = m.index + m[0].length;
  }
  out.push(s.slice(at));
  return out.filter((x) => x !== '');
}

export function code(v) {
  if (v === null || v === undefined || v === '') return h('span', { class: 'muted' }, '—');
  return h('code', null, withBreaks(String(v), false));
}

// A command or path on lines of its own.
export function codeBlock(v) {
  return h('code', { class: 'block' }, withBreaks(String(v), true));
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
