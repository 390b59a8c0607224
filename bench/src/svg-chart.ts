/**
 * A dependency-free SVG line chart: latency percentiles (log y) against concurrency (log x),
 * one panel per measure. Small enough to read in a diff; rendered by any browser or GitHub.
 */

export interface ChartSeriesPoint {
  x: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface ChartPanel {
  title: string;
  points: ChartSeriesPoint[];
  /** A horizontal line for a target, e.g. 10 ms. */
  targets?: Array<{ value: number; label: string }>;
}

const PANEL_W = 420;
const PANEL_H = 300;
const MARGIN = { left: 58, right: 16, top: 36, bottom: 46 };
const COLOURS = { p50: '#1b9e77', p95: '#d95f02', p99: '#7570b3' } as const;

export function latencyChartSvg(title: string, subtitle: string, panels: ChartPanel[]): string {
  const width = PANEL_W * panels.length;
  const height = PANEL_H + 64;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">${escape(subtitle)}</text>`,
  ];
  panels.forEach((panel, i) => parts.push(renderPanel(panel, i * PANEL_W, 44)));
  // Legend
  const legendY = height - 10;
  let lx = width / 2 - 120;
  for (const key of ['p50', 'p95', 'p99'] as const) {
    parts.push(`<line x1="${lx}" y1="${legendY - 4}" x2="${lx + 22}" y2="${legendY - 4}" stroke="${COLOURS[key]}" stroke-width="2.5"/>`);
    parts.push(`<text x="${lx + 27}" y="${legendY}">${key}</text>`);
    lx += 80;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function renderPanel(panel: ChartPanel, offsetX: number, offsetY: number): string {
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const x0 = offsetX + MARGIN.left;
  const y0 = offsetY + MARGIN.top;
  const xs = panel.points.map((p) => p.x).filter((x) => x > 0);
  const ys = panel.points
    .flatMap((p) => [p.p50, p.p95, p.p99])
    .filter((v): v is number => v !== null)
    .map((v) => Math.max(v, 0.1));
  for (const t of panel.targets ?? []) ys.push(t.value);
  const xMin = Math.min(...xs, 1);
  const xMax = Math.max(...xs, 10);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, 10)));
  const sx = (x: number) => x0 + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin) || 1)) * plotW;
  const sy = (y: number) => y0 + plotH - ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;
  const out: string[] = [
    `<text x="${offsetX + PANEL_W / 2}" y="${offsetY + 22}" text-anchor="middle" font-weight="bold">${escape(panel.title)}</text>`,
    `<rect x="${x0}" y="${y0}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  ];
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    const y = sy(decade);
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + plotW}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${fmtTick(decade)}</text>`);
  }
  for (const x of xs) {
    out.push(`<line x1="${sx(x)}" y1="${y0}" x2="${sx(x)}" y2="${y0 + plotH}" stroke="#f3f3f3"/>`);
    out.push(`<text x="${sx(x)}" y="${y0 + plotH + 16}" text-anchor="middle">${x.toLocaleString('en-US')}</text>`);
  }
  out.push(`<text x="${x0 + plotW / 2}" y="${y0 + plotH + 34}" text-anchor="middle" fill="#333">concurrent sessions (log)</text>`);
  out.push(`<text transform="translate(${offsetX + 14},${y0 + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">ms (log)</text>`);
  for (const t of panel.targets ?? []) {
    const y = sy(t.value);
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + plotW}" y2="${y}" stroke="#c00" stroke-dasharray="5,4"/>`);
    out.push(`<text x="${x0 + plotW - 4}" y="${y - 4}" text-anchor="end" fill="#c00">${escape(t.label)}</text>`);
  }
  for (const key of ['p50', 'p95', 'p99'] as const) {
    const pts = panel.points.filter((p) => p[key] !== null && p.x > 0).map((p) => `${sx(p.x).toFixed(1)},${sy(p[key]!).toFixed(1)}`);
    if (pts.length === 0) continue;
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${COLOURS[key]}" stroke-width="2.5"/>`);
    for (const pt of pts) {
      const [cx, cy] = pt.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${COLOURS[key]}"/>`);
    }
  }
  return out.join('\n');
}

function fmtTick(value: number): string {
  return value >= 1000 ? `${value / 1000} s` : `${value}`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
