// chart.js - decisions over time by outcome: the latest few hundred decisions, bucketed in the
// browser into equal time slices, or daily counts the server summed (a rollout's activity),
// drawn as stacked SVG bars. Colours come from classes in app.css; every bar has a <title>, and
// the figure has a text summary for screen readers.

import { h, s, DECISIONS } from './dom.js';

const W = 640;
const H = 180;
const PAD = { left: 36, right: 8, top: 10, bottom: 28 };
const MAX_BUCKETS = 24;
const MIN_BUCKETS = 12;
// Bucket widths to choose from: the smallest that fits the span in MAX_BUCKETS.
const STEPS = [1, 5, 15, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400]
  .map((sec) => sec * 1000);

function fmt(ms, widthMs) {
  const iso = new Date(ms).toISOString();
  if (widthMs < 60e3) return `${iso.slice(11, 19)} UTC`;
  return widthMs < 86400e3 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)} UTC` : iso.slice(0, 10);
}

function widthLabel(ms) {
  const sec = ms / 1000;
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${sec / 60} min`;
  if (sec < 86400) return `${sec / 3600} h`;
  return sec === 86400 ? 'day' : `${sec / 86400} days`;
}

// Buckets decisions (any order) into equal slices of a round width (1 s … 30 days), the newest
// decision in the last slice: {start, width, buckets: [{from, counts: {decision: n}}]}.
function bucketize(items) {
  const times = items.map((d) => Date.parse(d.timestamp)).filter((t) => !Number.isNaN(t));
  if (!times.length) return null;
  const min = Math.min(...times);
  const max = Math.max(...times);
  const width = STEPS.find((w) => Math.floor(max / w) - Math.floor(min / w) < MAX_BUCKETS) || STEPS[STEPS.length - 1];
  const last = Math.floor(max / width) * width;
  const n = Math.min(MAX_BUCKETS, Math.max(MIN_BUCKETS, (last - Math.floor(min / width) * width) / width + 1));
  const start = last - (n - 1) * width;
  const buckets = Array.from({ length: n }, (_, i) => ({ from: start + i * width, counts: {} }));
  items.forEach((d) => {
    const t = Date.parse(d.timestamp);
    if (Number.isNaN(t)) return;
    const i = Math.max(0, Math.min(n - 1, Math.floor((t - start) / width)));
    buckets[i].counts[d.decision] = (buckets[i].counts[d.decision] || 0) + 1;
  });
  return { start, width, buckets };
}

function emptyChart(caption, note) {
  return h('figure', { class: 'chart' }, h('figcaption', null, caption), h('p', { class: 'empty' }, note));
}

export function decisionsChart(items, caption) {
  const b = bucketize(items);
  return b ? drawChart(b, caption) : emptyChart(caption, 'No decisions to chart.');
}

// Counts already bucketed by day, oldest first ([{day: "YYYY-MM-DD", allow: n, block: n, ...}],
// as a rollout's drill-down gives them): one bar per day.
export function dailyChart(daily, caption) {
  const days = (Array.isArray(daily) ? daily : []).filter((d) => d && !Number.isNaN(Date.parse(`${d.day}T00:00:00Z`)));
  const buckets = days.map((d) => {
    const counts = {};
    for (const [k, v] of Object.entries(d)) if (k !== 'day' && typeof v === 'number' && v > 0) counts[k] = v;
    return { from: Date.parse(`${d.day}T00:00:00Z`), counts };
  });
  if (!buckets.some((x) => Object.keys(x.counts).length)) return emptyChart(caption, 'No decisions in this window.');
  return drawChart({ start: buckets[0].from, width: 86400e3, buckets }, caption);
}

// Draws b = {start, width, buckets: [{from, counts}]} as stacked bars with axes, a legend and a
// text summary.
function drawChart(b, caption) {
  const fig = h('figure', { class: 'chart' });
  const totals = {};
  b.buckets.forEach((x) => {
    for (const [o, n] of Object.entries(x.counts)) totals[o] = (totals[o] || 0) + n;
  });
  const all = Object.values(totals).reduce((a, c) => a + c, 0);
  const outcomes = [...DECISIONS, ...Object.keys(totals).filter((k) => !DECISIONS.includes(k))]
    .filter((k) => totals[k]);
  const peak = Math.max(...b.buckets.map((x) => Object.values(x.counts).reduce((a, c) => a + c, 0)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const barW = plotW / b.buckets.length;
  const span = b.width * b.buckets.length;
  const titleId = `chart-title-${Date.now()}`;
  const descId = `${titleId}-d`;
  const summary = `${all} decisions between ${new Date(b.start).toISOString()} and `
    + `${new Date(b.start + span).toISOString()}: `
    + outcomes.map((o) => `${totals[o]} ${o.replaceAll('_', ' ')}`).join(', ') + '.';

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`,
    class: 'chart-svg', preserveAspectRatio: 'xMidYMid meet' },
  s('title', { id: titleId }, caption), s('desc', { id: descId }, summary));

  // Axes: a baseline, the peak on the y axis, the first, middle and last time on the x axis.
  const y0 = PAD.top + plotH;
  svg.append(s('line', { x1: PAD.left, x2: W - PAD.right, y1: y0, y2: y0, class: 'axis' }));
  svg.append(s('line', { x1: PAD.left, x2: W - PAD.right, y1: PAD.top, y2: PAD.top, class: 'grid' }));
  svg.append(s('text', { x: PAD.left - 4, y: PAD.top + 4, class: 'tick', 'text-anchor': 'end' }, String(peak)));
  svg.append(s('text', { x: PAD.left - 4, y: y0, class: 'tick', 'text-anchor': 'end' }, '0'));
  [[0, 'start'], [0.5, 'middle'], [1, 'end']].forEach(([f, anchor]) => {
    svg.append(s('text', { x: PAD.left + f * plotW, y: H - 8, class: 'tick', 'text-anchor': anchor },
      fmt(b.start + f * span, b.width)));
  });

  b.buckets.forEach((bucket, i) => {
    let y = y0;
    const x = PAD.left + i * barW + 1;
    const parts = outcomes.filter((o) => bucket.counts[o]);
    if (!parts.length) return;
    const g = s('g', { class: 'bar' }, s('title', null,
      `${new Date(bucket.from).toISOString().slice(0, 19)}Z – ${new Date(bucket.from + b.width).toISOString().slice(0, 19)}Z: `
      + parts.map((o) => `${bucket.counts[o]} ${o.replaceAll('_', ' ')}`).join(', ')));
    parts.forEach((o) => {
      const hgt = (bucket.counts[o] / peak) * plotH;
      y -= hgt;
      const cls = DECISIONS.includes(o) ? `fill-${o}` : 'fill-other';
      g.append(s('rect', { x, y, width: Math.max(barW - 2, 1), height: Math.max(hgt, 0.5), class: cls }));
    });
    svg.append(g);
  });

  const legend = h('ul', { class: 'legend' }, outcomes.map((o) => h('li', null,
    h('span', { class: `swatch fill-${DECISIONS.includes(o) ? o : 'other'}`, 'aria-hidden': 'true' }),
    `${o.replaceAll('_', ' ')} (${totals[o]})`)));
  fig.append(h('figcaption', null, `${caption}, one bar per ${widthLabel(b.width)}`), svg, legend);
  return fig;
}
