// charts.js — the dashboard's charts, drawn as plain SVG: a stacked bar chart
// per day and a status grid. They are small and fixed, so a chart library
// would add weight without adding anything we use.

const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// A chart's frame: a figure with its caption.
function figure(title) {
  const wrap = document.createElement('figure');
  wrap.className = 'chart';
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  wrap.appendChild(cap);
  return wrap;
}

// Says in wrap why there is nothing to draw; returns wrap.
function note(wrap, text) {
  const p = document.createElement('p');
  p.className = 'muted';
  p.textContent = text;
  wrap.appendChild(p);
  return wrap;
}

// days: ['YYYY-MM-DD', ...]; series: [{key, label, color, values: [n per day]}]
// (at most `maxSeries`, the rest summed as "others"). Returns an element.
export function stackedBars({ title, days, series, maxSeries = 6 }) {
  const wrap = figure(title);
  const total = (s) => s.values.reduce((a, b) => a + b, 0);
  let ss = series.filter((s) => total(s) > 0).sort((a, b) => total(b) - total(a));
  if (ss.length > maxSeries) {
    const rest = ss.slice(maxSeries - 1);
    ss = ss.slice(0, maxSeries - 1);
    ss.push({ key: 'others', label: `others (${rest.length})`, color: '#9e9e9e',
      values: days.map((_, i) => rest.reduce((a, s) => a + s.values[i], 0)) });
  }
  if (!ss.length || !days.length) {
    return note(wrap, 'No violations in this period.');
  }
  const W = 340, H = 150, L = 30, B = 20, T = 6;
  const sums = days.map((_, i) => ss.reduce((a, s) => a + s.values[i], 0));
  const max = Math.max(1, ...sums);
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  const bw = (W - L) / days.length;
  const y = (v) => T + (H - B - T) * (1 - v / top);
  for (let v = 0; v <= top; v += step) {
    svg.appendChild(el('line', { x1: L, x2: W, y1: y(v), y2: y(v), class: 'grid' }));
    svg.appendChild(el('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, String(v)));
  }
  days.forEach((d, i) => {
    let acc = 0;
    for (const s of ss) {
      const v = s.values[i];
      if (!v) continue;
      const r = el('rect', { x: L + i * bw + 0.5, width: Math.max(1, bw - 1), y: y(acc + v), height: y(acc) - y(acc + v), fill: s.color });
      r.appendChild(el('title', {}, `${d}: ${s.label} ${v}`));
      svg.appendChild(r);
      acc += v;
    }
  });
  // Date ticks: first, middle, last — never more, so they cannot overlap.
  const ticks = days.length > 2 ? [0, Math.floor((days.length - 1) / 2), days.length - 1] : days.map((_, i) => i);
  ticks.forEach((i, k) => {
    const anchor = k === 0 ? 'start' : k === ticks.length - 1 ? 'end' : 'middle';
    const x = k === 0 ? L : k === ticks.length - 1 ? W : L + (i + 0.5) * bw;
    svg.appendChild(el('text', { x, y: H - 5, 'text-anchor': anchor, class: 'axis' }, days[i].slice(5)));
  });
  wrap.appendChild(svg);
  wrap.appendChild(legend(ss.map((s) => ({ color: s.color, label: `${s.label} (${total(s)})` }))));
  return wrap;
}

// rows: [{label, cells: [status|null per column]}]; cols: ['YYYY-MM-DD']
export function statusGrid({ title, cols, rows, colors }) {
  const wrap = figure(title);
  if (!rows.length) {
    return note(wrap, 'No zone in force in this period.');
  }
  const L = 120, W = 340, rh = 20, T = 4, B = 18;
  const H = T + rows.length * rh + B;
  const cw = (W - L) / cols.length;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  rows.forEach((r, j) => {
    const label = r.label.length > 20 ? r.label.slice(0, 19) + '…' : r.label;
    const t = el('text', { x: L - 4, y: T + j * rh + 14, 'text-anchor': 'end', class: 'axis' }, label);
    t.appendChild(el('title', {}, r.label));
    svg.appendChild(t);
    r.cells.forEach((s, i) => {
      const rect = el('rect', { x: L + i * cw + 1, y: T + j * rh + 2, width: cw - 2, height: rh - 4,
        fill: s ? colors[s] : 'none', stroke: s ? 'none' : '#cfd8dc', 'stroke-dasharray': s ? '' : '2 2' });
      rect.appendChild(el('title', {}, `${r.label}, week to ${cols[i]}: ${s || 'not in force'}`));
      svg.appendChild(rect);
    });
  });
  [0, cols.length - 1].forEach((i, k) => {
    svg.appendChild(el('text', { x: k ? W : L, y: H - 4, 'text-anchor': k ? 'end' : 'start', class: 'axis' }, cols[i].slice(5)));
  });
  wrap.appendChild(svg);
  wrap.appendChild(legend(Object.entries(colors).map(([k, c]) => ({ color: c, label: k }))));
  return wrap;
}

function legend(items) {
  const ul = document.createElement('ul');
  ul.className = 'chart-legend';
  for (const it of items) {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = it.color;
    li.append(sw, document.createTextNode(it.label));
    ul.appendChild(li);
  }
  return ul;
}

function niceStep(max) {
  const raw = max / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return Math.max(1, m * p);
  return Math.max(1, 10 * p);
}
