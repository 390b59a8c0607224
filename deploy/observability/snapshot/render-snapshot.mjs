#!/usr/bin/env node
// The README's "dashboard under load" image, without Grafana (it is not in Debian and no Docker
// engine runs here): the dashboard's own panel queries, answered by a real Prometheus that scraped
// the local stack while the benchmark's clients chatted with it, drawn at the panels' grid
// positions and photographed by Chromium.
//
//   pnpm -s exec tsc -b && flock /tmp/heavy.lock node deploy/observability/snapshot/render-snapshot.mjs
//
//   bench stack (1 gateway, 2 workers, offline model, own Redis) ◀── ClientPool (ws sessions, ramp)
//        │ /metrics (gateway PORT, each worker's metrics port)
//        ▼
//   prometheus (free port, temp TSDB, 2 s scrapes) ◀── query_range per panel target
//        ▼
//   snapshot-page.mjs (HTML + SVG) ──▶ Chromium ──▶ docs/images/dashboard-under-load.png (+ .json)
//
// Options: --load-seconds N (default 90), --out PATH.png; --from-json PATH.json draws a recorded
// run again without the stack (a change to the page only). Needs `pnpm -s exec tsc -b` first
// (the stack and the load clients run from dist/), /usr/bin/prometheus and /usr/bin/chromium.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { grafanaVariables, layoutItems, legendName, substituteVariables } from './dashboard-panels.mjs';
import { panelHasData, renderSnapshotPage } from './snapshot-page.mjs';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DASHBOARD_FILE = join(ROOT, 'deploy/observability/grafana/dashboards/chat-service.json');
const PROMETHEUS = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCRAPE_INTERVAL_S = 2;
const STEP_S = 2;

/**
 * The load, a ramp so that the charts show the service answering more: sockets chatting in each
 * phase (one turn at a time each, a think pause between turns). Shares of `--load-seconds`.
 * @type {Array<{ chatting: number, share: number }>}
 */
const PHASES = [
  { chatting: 10, share: 1 / 3 },
  { chatting: 30, share: 1 / 3 },
  { chatting: 60, share: 1 / 3 },
];

/**
 * The stack's settings: answers paced like a hosted model (400 ms to the first token, 40 tokens/s,
 * 60 tokens), and few stream slots per worker so that the top of the ramp queues turns.
 */
const STACK_ENV = {
  OFFLINE_LLM_TTFT_MS: '400',
  OFFLINE_LLM_TOKENS_PER_SECOND: '40',
  OFFLINE_LLM_ANSWER_TOKENS: '60',
  OFFLINE_LLM_FILL: 'true',
  WORKER_CONCURRENCY: '12',
};

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{ loadSeconds: number, out: string, fromJson: string | null }} */
  const options = { loadSeconds: 90, out: join(ROOT, 'docs/images/dashboard-under-load.png'), fromJson: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--load-seconds') options.loadSeconds = Number(argv[++i]);
    else if (arg === '--out') options.out = argv[++i] ?? options.out;
    else if (arg === '--from-json') options.fromJson = argv[++i] ?? null;
    else throw new Error(`unknown option ${arg} (options: --load-seconds N, --out PATH.png, --from-json PATH.json)`);
  }
  if (!(options.loadSeconds >= 10 && options.loadSeconds <= 180)) throw new Error('--load-seconds must be 10..180 (keep a heavy run under ~4 minutes)');
  return options;
}

/** @returns {Promise<number>} a free loopback port */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` until it returns true (or throws its last error after `timeoutMs`).
 * @param {string} what
 * @param {() => Promise<boolean>} check
 * @param {number} timeoutMs
 */
async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = `: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms${last}`);
    await sleep(250);
  }
}

/**
 * A Prometheus on a free port with a temporary TSDB, scraping the given targets every 2 s.
 * @param {{ gateways: string[], workers: string[] }} targets host:port of each process
 */
async function startPrometheus(targets) {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-snapshot-'));
  const port = await freePort();
  const config = [
    'global:',
    `  scrape_interval: ${SCRAPE_INTERVAL_S}s`,
    `  evaluation_interval: ${SCRAPE_INTERVAL_S}s`,
    'scrape_configs:',
    '  - job_name: chat-gateway',
    `    static_configs: [{ targets: ${JSON.stringify(targets.gateways)} }]`,
    '  - job_name: chat-worker',
    `    static_configs: [{ targets: ${JSON.stringify(targets.workers)} }]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const child = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('prometheus ready', async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      return (await fetch(`${url}/-/ready`)).ok;
    }, 30_000);
    const expected = targets.gateways.length + targets.workers.length;
    await waitFor(`all ${expected} scrape targets up`, async () => {
      const body = await (await fetch(`${url}/api/v1/targets`)).json();
      return body.data.activeTargets.filter((/** @type {{ health: string }} */ t) => t.health === 'up').length === expected;
    }, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

/**
 * One PromQL range query.
 * @param {string} prometheusUrl
 * @param {string} query
 * @param {number} startS
 * @param {number} endS
 * @returns {Promise<Array<{ metric: Record<string, string>, values: Array<[number, string]> }>>}
 */
async function queryRange(prometheusUrl, query, startS, endS) {
  const params = new URLSearchParams({ query, start: String(startS), end: String(endS), step: `${STEP_S}s` });
  const response = await fetch(`${prometheusUrl}/api/v1/query_range`, { method: 'POST', body: params });
  const body = await response.json();
  if (body.status !== 'success') throw new Error(`${body.errorType}: ${body.error}`);
  return body.data.result;
}

/**
 * Runs every target of every panel over the window.
 * @param {string} prometheusUrl
 * @param {ReturnType<typeof layoutItems>} items
 * @param {number} startS
 * @param {number} endS
 * @returns {Promise<import('./snapshot-page.mjs').SnapshotPage['items']>}
 */
async function queryPanels(prometheusUrl, items, startS, endS) {
  const vars = { ...grafanaVariables({ scrapeIntervalS: SCRAPE_INTERVAL_S, stepS: STEP_S, rangeS: endS - startS }), datasource: 'prometheus' };
  const out = [];
  for (const item of items) {
    if (item.kind === 'row') {
      out.push(item);
      continue;
    }
    const targets = [];
    for (const target of item.targets) {
      const query = substituteVariables(target.expr, vars);
      try {
        const result = await queryRange(prometheusUrl, query, startS, endS);
        const series = result.map((r) => ({
          legend: legendName(target.legendFormat, r.metric, query),
          labels: r.metric,
          values: r.values.map(([t, v]) => /** @type {[number, number | null]} */ ([t, Number.isFinite(Number(v)) ? Number(v) : null])),
        }));
        targets.push({ ...target, query, series });
      } catch (err) {
        targets.push({ ...target, query, series: [], error: err instanceof Error ? err.message : String(err) });
      }
    }
    out.push({ ...item, targets });
  }
  return out;
}

/**
 * Screenshot of the page, full height, with Debian's Chromium driven by playwright-core.
 * @param {string} html
 * @param {string} pngPath
 */
async function screenshot(html, pngPath) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'], timeout: 30_000 });
  try {
    const page = await browser.newPage({ viewport: { width: 1824, height: 1000 }, deviceScaleFactor: 1 });
    await page.setContent(html, { waitUntil: 'load' });
    mkdirSync(dirname(pngPath), { recursive: true });
    await page.screenshot({ path: pngPath, fullPage: true, animations: 'disabled' });
  } finally {
    await browser.close();
  }
}

/** @param {string} line */
const log = (line) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

/**
 * What a run recorded (written beside the PNG): the load, the window, and every panel's queries
 * as sent with the series Prometheus returned, enough to draw the image again.
 * @typedef {import('./snapshot-page.mjs').SnapshotPage & { command: string, dashboard: string, stepS: number, scrapeIntervalS: number,
 *   stack: { gateways: number, workers: number, env: Record<string, string> },
 *   load: Array<{ chatting: number, seconds: number, sent: number, ok: number, failed: number, failures: Record<string, number> }> }} Snapshot
 */

/**
 * The page of a snapshot, photographed.
 * @param {Snapshot} snapshot
 * @param {string} pngPath
 */
async function renderImage(snapshot, pngPath) {
  const panels = snapshot.items.filter((item) => item.kind === 'panel');
  const without = panels.filter((p) => !panelHasData(p)).map((p) => p.title);
  log(`${panels.length - without.length} of ${panels.length} panels with data; no data: ${without.join(', ') || 'none'}`);
  await screenshot(renderSnapshotPage(snapshot), pngPath);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.fromJson) {
    // Draws a recorded run again (a change to the page, not to the service): no stack, no load.
    await renderImage(JSON.parse(readFileSync(options.fromJson, 'utf8')), options.out);
    log(`wrote ${relative(ROOT, options.out)} from ${options.fromJson}`);
    return;
  }
  for (const [what, path] of [['prometheus', PROMETHEUS], ['chromium', CHROMIUM], ['the built bench (pnpm -s exec tsc -b)', join(ROOT, 'bench/dist/index.js')]]) {
    if (!existsSync(path)) throw new Error(`needs ${what} at ${path}`);
  }
  const { startBenchStack } = await import(pathToFileURL(join(ROOT, 'bench/dist/bench-stack.js')).href);
  const { ClientPool } = await import(pathToFileURL(join(ROOT, 'bench/dist/index.js')).href);
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'));
  const items = layoutItems(dashboard);

  /** @type {Array<() => Promise<void>>} */
  const cleanups = [];
  const cleanUp = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((err) => log(`clean-up: ${err instanceof Error ? err.message : err}`));
  };
  process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanUp().then(() => process.exit(143)));
  try {
    log('starting the stack: 1 gateway, 2 workers, offline model, own Redis');
    const stack = await startBenchStack({ gateways: 1, workers: 2, env: STACK_ENV });
    cleanups.push(() => stack.stop());
    const gatewayTarget = new URL(stack.running.httpUrl).host;
    const workerTargets = stack.running.workers.map((/** @type {{ port: number }} */ w) => `127.0.0.1:${w.port}`);
    const prometheus = await startPrometheus({ gateways: [gatewayTarget], workers: workerTargets });
    cleanups.push(prometheus.stop);
    log(`prometheus ${prometheus.url} scraping gateway ${gatewayTarget}, workers ${workerTargets.join(', ')} every ${SCRAPE_INTERVAL_S} s`);

    const pool = await ClientPool.start(2);
    cleanups.push(() => pool.stop());
    const maxChatting = Math.max(...PHASES.map((p) => p.chatting));
    const open = await pool.open({ httpUrl: stack.running.httpUrl, wsUrl: stack.running.wsUrl, sockets: maxChatting + 10, localAddresses: ['127.0.0.1'] });
    log(`${open.opened} sockets open (${open.failed} failed), ${open.opened - maxChatting} of them idle throughout`);
    // Some scrapes of the idle stack first, so that the ramp starts from a baseline.
    await sleep(6_000);
    const startS = Date.now() / 1000 - 8;
    /** @type {Array<{ chatting: number, seconds: number, sent: number, ok: number, failed: number, failures: Record<string, number> }>} */
    const phases = [];
    for (const phase of PHASES) {
      const seconds = Math.round(options.loadSeconds * phase.share);
      const now = Date.now();
      const result = await pool.chat({ chatting: phase.chatting, message: 'What is the baggage allowance on my flight?', staggerMs: 1000, thinkMs: 500, minIntervalMs: 60, measureFrom: now, measureTo: now + seconds * 1000, turnTimeoutMs: 30_000 });
      phases.push({ chatting: phase.chatting, seconds, sent: result.sent, ok: result.ok, failed: result.failed, failures: result.failures });
      log(`${phase.chatting} sockets chatting for ${seconds} s: ${result.sent} turns sent, ${result.ok} complete, ${result.failed} failed`);
    }
    // The last turns end and the rates fall: a few more scrapes.
    await sleep(8_000);
    const endS = Date.now() / 1000;
    const panels = await queryPanels(prometheus.url, items, Math.floor(startS), Math.ceil(endS));
    await cleanUp();

    const turns = phases.reduce((sum, p) => sum + p.sent, 0);
    /** @type {Snapshot} */
    const snapshot = {
      title: `${dashboard.title} — under load, ${new Date(startS * 1000).toISOString().slice(0, 10)}`,
      subtitle:
        `Rendered from the dashboard's own panel queries against a real Prometheus scraping the local stack under load (Grafana itself cannot run on the build machine). ` +
        `Load: ${phases.map((p) => `${p.chatting} chatting sessions × ${p.seconds} s`).join(', then ')} (${turns} turns); 1 gateway, 2 workers (WORKER_CONCURRENCY=${STACK_ENV.WORKER_CONCURRENCY}), offline model at ${STACK_ENV.OFFLINE_LLM_TOKENS_PER_SECOND} tokens/s. ` +
        `$__rate_interval = ${grafanaVariables({ scrapeIntervalS: SCRAPE_INTERVAL_S, stepS: STEP_S, rangeS: 0 }).__rate_interval}, step ${STEP_S} s, times UTC.`,
      command: 'flock /tmp/heavy.lock node deploy/observability/snapshot/render-snapshot.mjs',
      dashboard: relative(ROOT, DASHBOARD_FILE),
      startS: Math.floor(startS),
      endS: Math.ceil(endS),
      stepS: STEP_S,
      scrapeIntervalS: SCRAPE_INTERVAL_S,
      stack: { gateways: 1, workers: 2, env: STACK_ENV },
      load: phases,
      items: panels,
    };
    const jsonPath = options.out.replace(/\.png$/, '.json');
    writeFileSync(jsonPath, `${JSON.stringify(snapshot, null, 1)}\n`);
    await renderImage(snapshot, options.out);
    log(`wrote ${relative(ROOT, options.out)} and ${relative(ROOT, jsonPath)}`);
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
