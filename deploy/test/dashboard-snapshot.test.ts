/**
 * The dashboard snapshot's pure parts (deploy/observability/snapshot/), without a Prometheus run:
 * Grafana's template variables replaced in every query of the real dashboard, the grid laid out
 * as Grafana does, legends, units, and a panel with no data saying so.
 *
 *   chat-service.json ──▶ layoutItems ──▶ substituteVariables(expr) ──▶ (query_range, not here)
 *                                    └──▶ gridBox ──▶ renderSnapshotPage(series) ──▶ HTML
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { DASHBOARD_FILE } from '../observability/grafana/render-dashboard.mjs';
import { formatValue, grafanaVariables, gridBox, layoutItems, legendName, niceTicks, substituteVariables, type PanelItem } from '../observability/snapshot/dashboard-panels.mjs';
import { GRID, renderSnapshotPage, type PanelResult } from '../observability/snapshot/snapshot-page.mjs';

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: Array<Record<string, unknown>> };

t.test("Grafana's variables: the rate interval as Grafana computes it, every query of the dashboard left without a $", async (t) => {
  t.equal(grafanaVariables({ scrapeIntervalS: 2, stepS: 2, rangeS: 100 }).__rate_interval, '8s', '4 × scrape interval');
  t.equal(grafanaVariables({ scrapeIntervalS: 15, stepS: 60, rangeS: 3600 }).__rate_interval, '75s', 'step + scrape interval when larger');
  const vars = grafanaVariables({ scrapeIntervalS: 2, stepS: 2, rangeS: 100 });
  t.equal(substituteVariables('rate(x[$__rate_interval]) and on() y{ds="${__interval}"}', vars), 'rate(x[8s]) and on() y{ds="2s"}');
  t.throws(() => substituteVariables('rate(x[$unknown])', vars), /unknown template variable \$unknown/, 'an unknown variable is refused, not sent');
  const panels = layoutItems(dashboard).filter((item): item is PanelItem => item.kind === 'panel');
  t.ok(panels.length > 30, `${panels.length} panels`);
  const queries = panels.flatMap((panel) => panel.targets.map((target) => substituteVariables(target.expr, vars)));
  t.same(queries.filter((query) => query.includes('$')), [], 'no template variable left');
  t.ok(queries.some((query) => query.includes('[8s]')), 'rate windows filled in');
});

t.test('the grid: reading order, inside 24 columns, no two boxes overlapping', async (t) => {
  const items = layoutItems(dashboard);
  t.equal(items[0]!.kind, 'row', 'a row comes first');
  for (let i = 1; i < items.length; i++) {
    const [a, b] = [items[i - 1]!.gridPos, items[i]!.gridPos];
    t.ok(a.y < b.y || (a.y === b.y && a.x < b.x), `${items[i]!.title} after ${items[i - 1]!.title}`);
  }
  const boxes = items.map((item) => ({ title: item.title, ...gridBox(item.gridPos, GRID) }));
  for (const box of boxes) t.ok(box.left >= 0 && box.left + box.width <= GRID.widthPx, `${box.title} inside the page width`);
  const overlaps = boxes.flatMap((a, i) =>
    boxes.slice(i + 1).filter((b) => a.left < b.left + b.width && b.left < a.left + a.width && a.top < b.top + b.height && b.top < a.top + a.height).map((b) => `${a.title} / ${b.title}`),
  );
  t.same(overlaps, []);
  t.same(gridBox({ x: 8, y: 2, w: 8, h: 8 }, { widthPx: 2400, rowPx: 30, gapPx: 10 }), { left: 805, top: 65, width: 790, height: 230 }, 'a third of the width, 8 grid rows high');
});

t.test('legends and units as Grafana shows them', async (t) => {
  t.equal(legendName('{{role}} {{instance}}', { role: 'worker', instance: '127.0.0.1:9464' }, 'x'), 'worker 127.0.0.1:9464');
  t.equal(legendName('reopened {{instance}}', {}, 'x'), 'reopened', 'a missing label is empty');
  t.equal(legendName(undefined, { __name__: 'up', job: 'chat' }, 'up'), '{job="chat"}');
  t.equal(legendName(undefined, {}, 'sum(up)'), 'sum(up)');
  t.equal(formatValue('s', 0.0123), '12.3 ms');
  t.equal(formatValue('s', 0.00005), '50 µs');
  t.equal(formatValue('s', 2.5), '2.5 s');
  t.equal(formatValue('percentunit', 0.25), '25%');
  t.equal(formatValue('reqps', 1500), '1.5 K req/s');
  t.equal(formatValue('bytes', 150 * 1024 * 1024), '150 MiB');
  t.equal(formatValue('currencyUSD', 0), '$0');
  t.same(niceTicks(0, 0.37), [0, 0.1, 0.2, 0.3, 0.4]);
  t.same(niceTicks(0, 0), [0, 0.25, 0.5, 0.75, 1], 'all zero still gets an axis');
});

t.test('the page: a panel with data is drawn with its legend; one without says "No data"', async (t) => {
  const gridPos = { x: 0, y: 1, w: 8, h: 8 };
  const panel = (title: string, values: Array<[number, number | null]>[]): PanelResult => ({
    kind: 'panel',
    id: 1,
    type: 'timeseries',
    title,
    unit: 's',
    gridPos,
    targets: [{ refId: 'A', expr: 'q', legendFormat: 'p99', query: 'q', series: values.map((v, i) => ({ legend: `series ${i}`, labels: {}, values: v })) }],
  });
  const html = renderSnapshotPage({
    title: 'T',
    subtitle: 'S',
    startS: 0,
    endS: 10,
    stepS: 2,
    items: [
      { kind: 'row', title: 'Latency', gridPos: { x: 0, y: 0, w: 24, h: 1 } },
      panel('With data', [[[0, 0.1], [2, 0.2], [4, null], [6, 0.3], [10, 0.4]]]),
      { ...panel('Empty', []), gridPos: { ...gridPos, x: 8 } },
      { ...panel('Zeros', [[[0, 0], [2, 0]]]), gridPos: { ...gridPos, x: 16 } },
    ],
  });
  const section = (title: string) => html.slice(html.indexOf(`>${title} <`), html.indexOf('</div></div>', html.indexOf(`>${title} <`)));
  t.match(section('With data'), /<path d="M[\d.,]+L[\d.,]+M[\d.,]+M[\d.,]+"/, 'the null and the missing step (6 → 10) break the line');
  t.match(section('With data'), /series 0/, 'legend');
  t.match(section('With data'), /100 ms/, 'axis in the unit');
  t.match(section('Empty'), /No data/);
  t.match(section('Empty'), /A p99: no data/, 'names the query that returned nothing');
  t.match(renderSnapshotPage({ title: 'T', subtitle: 'S', startS: 0, endS: 10, stepS: 2, items: [{ ...panel('E', []), targets: [{ refId: 'B', expr: 'q', legendFormat: 'worker {{code}}', query: 'q', series: [] }] }] }), /B worker &lt;code&gt;: no data/, 'a legend template is shown as a placeholder');
  t.notMatch(section('Zeros'), /No data/, 'zeros are data');
  t.match(section('Zeros'), /0 throughout this window/, 'and are said to be zeros');
  t.match(html, /class="row"[^>]*>Latency</);
});
