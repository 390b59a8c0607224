// The snapshot page: the dashboard's rows and panels at their grid positions, each panel an SVG
// line chart (or a stat) of the series its own queries returned, with title, unit and legend.
// Pure: data in, HTML out (no script, no fetch), so Chromium only has to paint it.
import { formatValue, gridBox, niceTicks } from './dashboard-panels.mjs';

/**
 * @typedef {import('./dashboard-panels.mjs').RowItem} RowItem
 * @typedef {import('./dashboard-panels.mjs').PanelItem} PanelItem
 * @typedef {{ legend: string, labels: Record<string, string>, values: Array<[number, number | null]> }} Series
 * @typedef {{ refId: string, expr: string, legendFormat?: string, query: string, series: Series[], error?: string }} TargetResult
 * @typedef {Omit<PanelItem, 'targets'> & { targets: TargetResult[] }} PanelResult
 * @typedef {{ title: string, subtitle: string, startS: number, endS: number, stepS: number, items: Array<RowItem | PanelResult> }} SnapshotPage
 */

/** Grafana's classic palette, in its order. */
const COLOURS = ['#7EB26D', '#EAB839', '#6ED0E0', '#EF843C', '#E24D42', '#1F78C1', '#BA43A9', '#705DA0', '#508642', '#CCA300', '#447EBC', '#C15C17'];

/** The page's grid: 24 columns over this width, a grid row this high (Grafana: 30 px + margin). */
export const GRID = { widthPx: 1800, rowPx: 34, gapPx: 8 };

/** @param {string} s */
const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

/** @param {number} s epoch seconds */
const clock = (s) => new Date(s * 1000).toISOString().slice(11, 19);

/**
 * Legend lines a panel needs at about 7 px per character over `width` (capped at 4; the rest is cut).
 * @param {string[]} names
 * @param {number} width
 */
function legendLines(names, width) {
  let lines = names.length ? 1 : 0;
  let used = 0;
  for (const name of names) {
    const w = 26 + name.length * 7;
    if (used > 0 && used + w > width) {
      lines++;
      used = 0;
    }
    used += w;
  }
  return Math.min(lines, 4);
}

/**
 * @param {PanelResult} panel
 * @param {number} width
 * @param {number} height
 * @param {{ startS: number, endS: number, stepS: number }} window
 */
function chartSvg(panel, width, height, { startS, endS, stepS }) {
  const series = panel.targets.flatMap((t) => t.series);
  const values = series.flatMap((s) => s.values.map(([, v]) => v)).filter((v) => v !== null && Number.isFinite(v));
  // Bytes tick at round KiB/MiB/GiB, as Grafana does; everything else at round decimal values.
  const max = values.length ? Math.max(...values) : 1;
  const scale = panel.unit === 'bytes' && max >= 1024 ? 1024 ** Math.floor(Math.log(max) / Math.log(1024)) : 1;
  const ticks = niceTicks((values.length ? Math.min(...values) : 0) / scale, max / scale).map((v) => v * scale);
  const lo = ticks[0];
  const hi = ticks[ticks.length - 1];
  const labelW = Math.max(...ticks.map((v) => formatValue(panel.unit, v).length)) * 6.5 + 10;
  const m = { left: labelW, right: 10, top: 6, bottom: 20 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const x = (/** @type {number} */ t) => m.left + ((t - startS) / (endS - startS)) * plotW;
  const y = (/** @type {number} */ v) => m.top + plotH - ((v - lo) / (hi - lo)) * plotH;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`];
  for (const tick of ticks) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${y(tick)}" y2="${y(tick)}" class="grid"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y(tick) + 4}" text-anchor="end">${esc(formatValue(panel.unit, tick))}</text>`);
  }
  const xTicks = 6;
  for (let i = 0; i <= xTicks; i++) {
    const t = startS + ((endS - startS) * i) / xTicks;
    parts.push(`<text x="${x(t)}" y="${height - 5}" text-anchor="${i === 0 ? 'start' : i === xTicks ? 'end' : 'middle'}">${clock(t)}</text>`);
  }
  series.forEach((s, i) => {
    // A null or NaN (a quantile over no observations) or a missing step (no result: a scrape
    // missed) breaks the line, as Grafana draws Prometheus series.
    let d = '';
    let pen = 'M';
    let previous = -Infinity;
    for (const [t, v] of s.values) {
      if (t - previous > stepS * 1.5) pen = 'M';
      previous = t;
      if (v === null || !Number.isFinite(v)) {
        pen = 'M';
        continue;
      }
      d += `${pen}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = 'L';
    }
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.6"/>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/**
 * Whether a panel got any value at all from its queries.
 * @param {PanelResult} panel
 */
export function panelHasData(panel) {
  return panel.targets.some((t) => t.series.some((s) => s.values.some(([, v]) => v !== null && Number.isFinite(v))));
}

/**
 * @param {PanelResult} panel
 * @param {{ left: number, top: number, width: number, height: number }} box
 * @param {{ startS: number, endS: number, stepS: number }} window
 */
function panelHtml(panel, box, window) {
  const style = `left:${box.left}px;top:${box.top}px;width:${box.width}px;height:${box.height}px`;
  const header = `<div class="title" title="${esc(panel.description ?? '')}">${esc(panel.title)} <span class="unit">${esc(panel.unit)}</span></div>`;
  // Queries that returned nothing, by refId and legend (its `{{label}}` shown as `<label>`).
  const empty = panel.targets
    .filter((t) => t.series.length === 0 || t.error)
    .map((t) => (t.error ? `${t.refId}: error ${t.error}` : `${t.refId} ${(t.legendFormat ?? '').replace(/\{\{\s*(\w+)\s*\}\}/g, '<$1>')}: no data`.replace(/\s+:/, ':')));
  // A flat line at 0 is data, not a blank: say so, and name the queries that returned nothing.
  const allZero = panel.targets.every((t) => t.series.every((s) => s.values.every(([, v]) => v === null || v === 0)));
  const notes = [...(allZero ? ['0 throughout this window'] : []), ...empty];
  const emptyNote = notes.length && panelHasData(panel) ? `<div class="empty">${esc(notes.join(' · '))}</div>` : '';
  if (!panelHasData(panel)) {
    return `<div class="panel" style="${style}">${header}<div class="nodata">No data</div><div class="empty">${esc(empty.join(' · '))}</div></div>`;
  }
  if (panel.type === 'stat') {
    const last = panel.targets[0]?.series[0]?.values.filter(([, v]) => v !== null && Number.isFinite(v)).at(-1)?.[1] ?? 0;
    return `<div class="panel" style="${style}">${header}<div class="stat">${esc(formatValue(panel.unit, last))}</div>${emptyNote}</div>`;
  }
  const series = panel.targets.flatMap((t) => t.series);
  const names = series.map((s) => s.legend);
  const legendH = legendLines(names, box.width - 16) * 17;
  const chartH = box.height - 30 - legendH - (emptyNote ? 16 : 0) - 6;
  const legend = names.map((name, i) => `<span><i style="background:${COLOURS[i % COLOURS.length]}"></i>${esc(name)}</span>`).join('');
  return `<div class="panel" style="${style}">${header}${chartSvg(panel, box.width - 8, chartH, window)}<div class="legend" style="max-height:${legendH}px">${legend}</div>${emptyNote}</div>`;
}

/**
 * The whole page.
 * @param {SnapshotPage} page
 * @returns {string}
 */
export function renderSnapshotPage(page) {
  const body = page.items.map((item) => {
    const box = gridBox(item.gridPos, GRID);
    if (item.kind === 'row') return `<div class="row" style="left:${box.left}px;top:${box.top}px;width:${box.width}px">${esc(item.title)}</div>`;
    return panelHtml(item, box, page);
  });
  const bottom = Math.max(...page.items.map((item) => item.gridPos.y + item.gridPos.h)) * GRID.rowPx;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(page.title)}</title><style>
body { margin: 0; background: #111217; color: #ccccdc; font: 13px/1.3 Helvetica, Arial, sans-serif; width: ${GRID.widthPx + 24}px; }
header { padding: 10px 12px 4px; }
header h1 { margin: 0; font-size: 19px; color: #e6e6f0; }
header p { margin: 3px 0 0; color: #9fa0ad; }
.grid { position: relative; margin: 0 12px; height: ${bottom}px; }
.row { position: absolute; font-size: 16px; font-weight: bold; color: #e6e6f0; padding-top: 6px; }
.panel { position: absolute; background: #181b1f; border: 1px solid #2c3235; border-radius: 3px; overflow: hidden; padding: 0 4px; box-sizing: border-box; }
.title { height: 28px; line-height: 28px; font-weight: bold; color: #e6e6f0; padding-left: 4px; white-space: nowrap; overflow: hidden; }
.unit { font-weight: normal; color: #8e8e9b; font-size: 11px; }
svg text { fill: #9fa0ad; font-size: 11px; }
svg line.grid { stroke: #2c3235; }
.legend { overflow: hidden; padding-left: 6px; }
.legend span { display: inline-block; margin-right: 14px; line-height: 17px; white-space: nowrap; }
.legend i { display: inline-block; width: 14px; height: 4px; margin-right: 6px; vertical-align: middle; border-radius: 2px; }
.nodata { position: absolute; inset: 28px 0 22px; display: flex; align-items: center; justify-content: center; font-size: 18px; color: #8e8e9b; }
.empty { position: absolute; bottom: 3px; left: 8px; right: 8px; font-size: 11px; color: #8e8e9b; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.stat { position: absolute; inset: 28px 0 0; display: flex; align-items: center; justify-content: center; font-size: 44px; color: #73bf69; font-weight: bold; }
</style></head><body>
<header><h1>${esc(page.title)}</h1><p>${esc(page.subtitle)}</p></header>
<div class="grid">
${body.join('\n')}
</div>
</body></html>
`;
}
