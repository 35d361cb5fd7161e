// Draws an inspection graph (WIT `inspection.nodes` / `edges`) as SVG: host
// imports on the left, inner component instances in the middle (one column per
// depth of component-to-component wiring), outer exports on the right.
const SVG = 'http://www.w3.org/2000/svg';
const NODE_H = 30, ROW_GAP = 14, COL_GAP = 170, PAD = 20, CHAR_W = 7.3;

function el(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function columns(nodes, edges) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depth = new Map();
  const comps = nodes.filter((n) => n.kind === 'component');
  for (const n of comps) depth.set(n.id, 0);
  // Longest path over component→component edges; bounded so that a cycle
  // (which a valid composition does not have) cannot loop forever.
  for (let round = 0; round < comps.length; round++) {
    let changed = false;
    for (const e of edges) {
      const a = byId.get(e.source), b = byId.get(e.target);
      if (a?.kind === 'component' && b?.kind === 'component' && depth.get(b.id) < depth.get(a.id) + 1) {
        depth.set(b.id, depth.get(a.id) + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const maxDepth = Math.max(0, ...depth.values());
  const col = (n) => n.kind === 'host-import' ? 0 : n.kind === 'component' ? 1 + depth.get(n.id) : 2 + maxDepth;
  const cols = [];
  for (const n of nodes) (cols[col(n)] ??= []).push(n);
  return cols.map((c) => c ?? []);
}

/** Returns an `<svg>` element picturing `inspection`. */
export function drawGraph({ nodes, edges }) {
  const cols = columns(nodes, edges);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const widths = cols.map((c) => Math.max(110, ...c.map((n) => n.name.length * CHAR_W + 20)));
  // Order each column by where its suppliers sit (barycentre), so that wires
  // cross less; host imports keep the order the input gives.
  const rowOf = new Map();
  cols.forEach((c, i) => {
    if (i > 0) {
      const key = (n) => {
        const ys = edges.filter((e) => e.target === n.id && rowOf.has(e.source)).map((e) => rowOf.get(e.source));
        return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : Infinity;
      };
      const keys = new Map(c.map((n) => [n.id, key(n)]));
      c.sort((a, b) => keys.get(a.id) - keys.get(b.id) || a.id - b.id);
    }
    c.forEach((n, j) => rowOf.set(n.id, j - (c.length - 1) / 2));
  });
  const colOf = new Map();
  cols.forEach((c, i) => c.forEach((n) => colOf.set(n.id, i)));
  const pos = new Map();
  let x = PAD;
  const height = Math.max(...cols.map((c) => c.length)) * (NODE_H + ROW_GAP) + PAD * 2;
  cols.forEach((c, i) => {
    const colH = c.length * (NODE_H + ROW_GAP) - ROW_GAP;
    let y = (height - colH) / 2;
    for (const n of c) {
      pos.set(n.id, { x, y, w: widths[i] });
      y += NODE_H + ROW_GAP;
    }
    x += widths[i] + COL_GAP;
  });
  const width = x - COL_GAP + PAD;
  const svg = el('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': 'composition graph' });
  const defs = el('defs');
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#8a8aa0' }));
  defs.append(marker);
  svg.append(defs);

  // One drawn edge per (from, to) pair, labelled with every name it carries.
  const pairs = new Map();
  for (const e of edges) {
    const k = `${e.source}->${e.target}`;
    if (!pairs.has(k)) pairs.set(k, { from: e.source, to: e.target, names: [] });
    pairs.get(k).names.push(e.name);
  }
  const edgeLayer = el('g', { class: 'edges' });
  for (const { from, to, names } of pairs.values()) {
    const a = pos.get(from), b = pos.get(to);
    if (!a || !b) continue;
    const x1 = a.x + a.w, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
    const dx = Math.max(40, Math.abs(x2 - x1) / 2);
    const g = el('g', { class: 'edge' });
    g.append(el('path', { d: `M ${x1} ${y1} C ${x1 + dx} ${y1}, ${x2 - dx} ${y2}, ${x2} ${y2}`,
      'marker-end': 'url(#arrow)' }));
    // A wire from a host import or to an outer export carries that node's own
    // name; label only what the nodes do not already say.
    const hostNames = new Set([byId.get(from), byId.get(to)]
      .filter((n) => n && n.kind !== 'component').map((n) => n.name));
    const shown = names.filter((n) => !hostNames.has(n));
    let label = shown.join(', ');
    if (label.length > 28) {
      label = shown.length === 1 ? `${shown[0].slice(0, 27)}…` : `${shown[0].slice(0, 20)}… (+${shown.length - 1})`;
    }
    // A wire that spans several columns is labelled where it leaves its source,
    // clear of the nodes it passes.
    const long = Math.abs(colOf.get(to) - colOf.get(from)) > 1;
    const t = long
      ? el('text', { x: x1 + 6, y: y1 - 5, 'text-anchor': 'start' }, label)
      : el('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 5, 'text-anchor': 'middle' }, label);
    t.append(el('title', {}, names.join('\n')));
    if (label) g.append(t);
    g.append(el('title', {}, names.join('\n')));
    edgeLayer.append(g);
  }
  svg.append(edgeLayer);

  for (const n of nodes) {
    const p = pos.get(n.id);
    const g = el('g', { class: `node ${n.kind}`, 'data-id': n.id });
    g.append(el('rect', { x: p.x, y: p.y, width: p.w, height: NODE_H }));
    g.append(el('text', { x: p.x + p.w / 2, y: p.y + NODE_H / 2 + 4, 'text-anchor': 'middle' }, n.name));
    g.append(el('title', {}, `${n.kind}: ${n.name}`));
    svg.append(g);
  }
  return svg;
}
