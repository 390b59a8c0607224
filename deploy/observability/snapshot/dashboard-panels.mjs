// What the snapshot needs from the Grafana dashboard JSON, as pure functions (unit-tested in
// deploy/test/dashboard-snapshot.test.ts): the panels in grid order, each target's PromQL with
// Grafana's template variables replaced by fixed values, Grafana's legend templates, and its units.

/**
 * @typedef {{ x: number, y: number, w: number, h: number }} GridPos
 * @typedef {{ refId: string, expr: string, legendFormat?: string }} DashboardTarget
 * @typedef {{ kind: 'row', title: string, gridPos: GridPos }} RowItem
 * @typedef {{ kind: 'panel', id: number, type: string, title: string, description?: string, unit: string, gridPos: GridPos, targets: DashboardTarget[] }} PanelItem
 * @typedef {RowItem | PanelItem} LayoutItem
 */

/**
 * The values Grafana would fill in for a query_range over the load window. `$__rate_interval` is
 * Grafana's max(4 × scrape interval, step + scrape interval); `$__interval` is the step.
 * @param {{ scrapeIntervalS: number, stepS: number, rangeS: number }} timing
 * @returns {Record<string, string>}
 */
export function grafanaVariables({ scrapeIntervalS, stepS, rangeS }) {
  return {
    __rate_interval: `${Math.max(4 * scrapeIntervalS, stepS + scrapeIntervalS)}s`,
    __interval: `${stepS}s`,
    __interval_ms: String(stepS * 1000),
    __range: `${Math.round(rangeS)}s`,
    __range_s: String(Math.round(rangeS)),
  };
}

/**
 * Replaces `$name` and `${name}` for every name in `vars`; throws on any other `$` variable left,
 * so a query is never sent with a template Prometheus cannot parse.
 * @param {string} expr
 * @param {Record<string, string>} vars
 * @returns {string}
 */
export function substituteVariables(expr, vars) {
  const out = expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (match, braced, bare) => {
    const name = braced ?? bare;
    if (!(name in vars)) throw new Error(`unknown template variable ${match} in ${expr}`);
    return vars[name];
  });
  return out;
}

/**
 * Rows and panels of the dashboard, ordered top to bottom, left to right (Grafana's reading order).
 * Panels nested in a collapsed row are listed after it, as Grafana lays them out when it opens.
 * @param {{ panels: Array<Record<string, any>> }} dashboard
 * @returns {LayoutItem[]}
 */
export function layoutItems(dashboard) {
  /** @type {LayoutItem[]} */
  const items = [];
  const add = (/** @type {Record<string, any>} */ panel) => {
    if (panel.type === 'row') {
      items.push({ kind: 'row', title: panel.title, gridPos: panel.gridPos });
      for (const inner of panel.panels ?? []) add(inner);
      return;
    }
    items.push({
      kind: 'panel',
      id: panel.id,
      type: panel.type,
      title: panel.title,
      ...(panel.description ? { description: panel.description } : {}),
      unit: panel.fieldConfig?.defaults?.unit ?? 'short',
      gridPos: panel.gridPos,
      targets: (panel.targets ?? []).map((/** @type {Record<string, any>} */ t) => ({ refId: t.refId, expr: t.expr, ...(t.legendFormat ? { legendFormat: t.legendFormat } : {}) })),
    });
  };
  for (const panel of dashboard.panels) add(panel);
  return items.sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
}

/**
 * Pixel box of a grid position: Grafana's grid is 24 columns wide; each grid row is `rowPx` high.
 * @param {GridPos} gridPos
 * @param {{ widthPx: number, rowPx: number, gapPx: number }} grid
 * @returns {{ left: number, top: number, width: number, height: number }}
 */
export function gridBox(gridPos, { widthPx, rowPx, gapPx }) {
  const colPx = widthPx / 24;
  return {
    left: Math.round(gridPos.x * colPx + gapPx / 2),
    top: Math.round(gridPos.y * rowPx + gapPx / 2),
    width: Math.round(gridPos.w * colPx - gapPx),
    height: Math.round(gridPos.h * rowPx - gapPx),
  };
}

/**
 * Grafana's legend template: `{{label}}` replaced by the series' label (empty when it has none);
 * without a template, the series' labels as `{a="b"}` (or the expression when it has none).
 * @param {string | undefined} legendFormat
 * @param {Record<string, string>} labels
 * @param {string} expr
 * @returns {string}
 */
export function legendName(legendFormat, labels, expr) {
  if (legendFormat) return legendFormat.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name) => labels[name] ?? '').replace(/\s+/g, ' ').trim();
  const pairs = Object.entries(labels).filter(([name]) => name !== '__name__');
  return pairs.length ? `{${pairs.map(([k, v]) => `${k}="${v}"`).join(', ')}}` : expr;
}

const SI = [
  [1e9, ' Bil'],
  [1e6, ' Mil'],
  [1e3, ' K'],
];

/** @param {number} v */
function trim(v) {
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return String(Number(v.toFixed(digits)));
}

/** @param {number} v */
function short(v) {
  for (const [size, suffix] of SI) if (Math.abs(v) >= size) return `${trim(v / size)}${suffix}`;
  return trim(v);
}

/**
 * A value as Grafana shows it for the panel's unit (the units this dashboard uses; others as `short`).
 * @param {string} unit
 * @param {number} v
 * @returns {string}
 */
export function formatValue(unit, v) {
  if (!Number.isFinite(v)) return String(v);
  switch (unit) {
    case 's': {
      const abs = Math.abs(v);
      if (abs === 0) return '0 s';
      if (abs < 1e-3) return `${trim(v * 1e6)} µs`;
      if (abs < 1) return `${trim(v * 1e3)} ms`;
      return `${trim(v)} s`;
    }
    case 'percentunit':
      return `${trim(v * 100)}%`;
    case 'reqps':
      return `${short(v)} req/s`;
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let i = 0;
      let x = v;
      while (Math.abs(x) >= 1024 && i < units.length - 1) {
        x /= 1024;
        i++;
      }
      return `${trim(x)} ${units[i]}`;
    }
    case 'currencyUSD':
      return `$${short(v)}`;
    default:
      return short(v);
  }
}

/**
 * Round axis ticks covering [min, max] (at least the span 0..1 when everything is 0).
 * @param {number} min
 * @param {number} max
 * @param {number} [count] about how many ticks
 * @returns {number[]}
 */
export function niceTicks(min, max, count = 4) {
  let lo = Math.min(0, min);
  let hi = max;
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}
