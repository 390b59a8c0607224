/**
 * deploy/observability/: alert rules, their PrometheusRule, the Grafana dashboard and the compose
 * profile that runs them, checked offline.
 *
 *   prometheus/alerts.rules.yml ──▶ promtool check rules + promtool test rules alerts.test.yml
 *            │                        (every alert has a case that fires it)
 *            └─ render-prometheus-rule.mjs ──▶ k8s/prometheus-rule.yaml (must be equal)
 *   grafana/render-dashboard.mjs ──▶ grafana/dashboards/chat-service.json (must be equal)
 *            └─ every query parsed by promtool (as a recording rule)
 *   compose.yaml --profile observability ──▶ Prometheus targets = gateways on PORT, workers on
 *            WORKER_METRICS_PORT; Grafana provisioning paths = the mounts
 *
 * Metric names against running processes: stack/test/observability-metrics.test.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../shared/src/config.js';
import { renderPrometheusRule, PROMETHEUS_RULE_FILE, RULES_FILE } from '../observability/render-prometheus-rule.mjs';
import { DASHBOARD_FILE, EVENT_LOOP_SAMPLE_S, buildDashboard, renderDashboard } from '../observability/grafana/render-dashboard.mjs';
import { dashboardQueries, metricNamesIn, ruleQueries } from './helpers/queried-metrics.js';

const DEPLOY = fileURLToPath(new URL('../', import.meta.url));
const OBSERVABILITY = join(DEPLOY, 'observability');

type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not a mapping`);
  return v as Obj;
};
const arr = (v: unknown, what: string): unknown[] => {
  if (!Array.isArray(v)) throw new Error(`${what} is not a list`);
  return v;
};

function promtool(args: string[], cwd: string): Promise<{ code: number | 'missing'; output: string }> {
  return new Promise((resolve) => {
    execFile('promtool', args, { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') resolve({ code: 'missing', output: '' });
      else resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

const rules = obj(parse(readFileSync(RULES_FILE, 'utf8')), 'rules');
const alerts = arr(rules.groups, 'groups').flatMap((g) => arr(obj(g, 'group').rules, 'rules').map((r) => obj(r, 'rule')));

t.test('alert rules: promtool accepts them and every rule passes its unit test', async (t) => {
  const check = await promtool(['check', 'rules', 'alerts.rules.yml'], join(OBSERVABILITY, 'prometheus'));
  if (check.code === 'missing') {
    // .ci/run installs Debian's `prometheus` package, which ships promtool.
    t.pass('skipped: promtool is not installed');
    return;
  }
  t.equal(check.code, 0, `promtool check rules:\n${check.output}`);
  t.match(check.output, new RegExp(`SUCCESS: ${alerts.length} rules found`));
  const run = await promtool(['test', 'rules', 'alerts.test.yml'], join(OBSERVABILITY, 'prometheus'));
  t.equal(run.code, 0, `promtool test rules:\n${run.output}`);
  t.match(run.output, /SUCCESS/);
});

t.test('alert rules: every alert has a unit test that fires it, and the required ones exist', async (t) => {
  const tests = obj(parse(readFileSync(join(OBSERVABILITY, 'prometheus/alerts.test.yml'), 'utf8')), 'alerts.test.yml');
  t.same(tests.rule_files, ['alerts.rules.yml']);
  const fired = new Set<string>();
  for (const c of arr(tests.tests, 'tests').map((x) => obj(x, 'test'))) {
    for (const check of arr(c.alert_rule_test ?? [], 'alert_rule_test').map((x) => obj(x, 'check'))) {
      if (arr(check.exp_alerts, 'exp_alerts').length > 0) fired.add(String(check.alertname));
    }
  }
  const names = alerts.map((a) => String(a.alert));
  t.same([...fired].sort(), [...names].sort(), 'a firing case per alert');
  for (const required of [
    'ChatPipelineCanaryFailing',
    'ChatNoWorkerConsuming',
    'ChatQueueWaitHigh',
    'ChatFirstTokenSlow',
    'ChatTurnErrorRate',
    'ChatDeadLettersGrowing',
    'ChatRedisUnreachable',
    'ChatSubscriberReopenStorm',
    'ChatSlowClientCloses',
    'ChatCostBurn',
  ]) {
    t.ok(names.includes(required), `${required} is a rule`);
  }
  for (const a of alerts) {
    t.ok(['warning', 'critical'].includes(String(obj(a.labels, 'labels').severity)), `${String(a.alert)}: a severity`);
    const annotations = obj(a.annotations, 'annotations');
    t.ok(annotations.summary && annotations.description, `${String(a.alert)}: summary and description`);
    t.equal(annotations.runbook, `docs/operations.md#${String(a.alert).toLowerCase()}`, `${String(a.alert)}: runbook anchor`);
  }
  const operations = readFileSync(join(DEPLOY, '../docs/operations.md'), 'utf8');
  for (const a of alerts) t.match(operations, new RegExp(`^#+ ${String(a.alert)}$`, 'm'), `docs/operations.md has a section for ${String(a.alert)}`);
});

t.test('the PrometheusRule is the rules file, rendered', async (t) => {
  t.equal(readFileSync(PROMETHEUS_RULE_FILE, 'utf8'), renderPrometheusRule(readFileSync(RULES_FILE, 'utf8')), 'run node deploy/observability/render-prometheus-rule.mjs');
  const manifest = obj(parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')), 'PrometheusRule');
  t.same(obj(manifest.spec, 'spec').groups, rules.groups, 'same groups, same rules');
});

t.test('the event-loop panel subtracts the sampling interval the processes use', async (t) => {
  // Relative import: `@chat/shared` does not resolve from deploy/ (see deploy-files.test.ts).
  const { EVENT_LOOP_SAMPLE_MS } = await import('../../shared/src/metrics/registry.js');
  t.equal(EVENT_LOOP_SAMPLE_S * 1000, EVENT_LOOP_SAMPLE_MS, 'the dashboard and the processes agree on the interval');
  const delay = dashboardQueries().find((query) => query.expr.includes('nodejs_eventloop_lag_p99_seconds'));
  t.match(delay?.expr, `nodejs_eventloop_lag_p99_seconds - ${EVENT_LOOP_SAMPLE_S}`, 'an idle loop reads zero, not the interval');
});

t.test('the dashboard is rendered from its panel list and covers the service', async (t) => {
  t.equal(readFileSync(DASHBOARD_FILE, 'utf8'), renderDashboard(), 'run node deploy/observability/grafana/render-dashboard.mjs');
  const dashboard = buildDashboard() as { uid: string; panels: Array<{ id: number; type: string; title: string; gridPos: { x: number; w: number }; targets?: Array<{ expr: string; refId: string }> }> };
  t.equal(dashboard.uid, 'chat-service');
  const ids = dashboard.panels.map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of dashboard.panels) {
    t.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title}: fits the grid`);
    if (p.type === 'row') continue;
    t.ok((p.targets ?? []).length > 0, `${p.title}: has queries`);
  }
  const metrics = new Set(dashboardQueries().flatMap((q) => metricNamesIn(q.expr)));
  for (const needed of [
    'chat_gateway_open_sockets',
    'chat_gateway_active_sessions',
    'chat_gateway_turns_ended_total',
    'chat_queue_depth',
    'chat_queue_wait_seconds_bucket',
    'chat_worker_active_turns',
    'chat_turn_first_chunk_seconds_bucket',
    'chat_context_seconds_bucket',
    'chat_llm_ttft_seconds_bucket',
    'chat_turn_duration_seconds_bucket',
    'chat_gateway_delivery_lag_seconds_bucket',
    'chat_cache_lookups_total',
    'chat_gateway_errors_total',
    'chat_queue_jobs',
    'chat_gateway_subscriber_reopened_total',
    'chat_gateway_frames_recovered_total',
    'chat_redis_round_trip_seconds_bucket',
    'chat_redis_up',
    'nodejs_eventloop_lag_p99_seconds',
    'nodejs_eventloop_utilization',
    'nodejs_gc_duration_seconds_sum',
    'process_resident_memory_bytes',
    'chat_llm_model_tokens_total',
    'chat_llm_cost_usd_total',
  ]) {
    t.ok(metrics.has(needed), `the dashboard shows ${needed}`);
  }
});

t.test('every dashboard query is PromQL that promtool parses', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-promql-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Each query as a recording rule; Grafana's $__rate_interval becomes a plain range.
  const recording = {
    groups: [
      {
        name: 'dashboard',
        rules: dashboardQueries().map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr.replaceAll('$__rate_interval', '1m') })),
      },
    ],
  };
  writeFileSync(join(dir, 'dashboard.rules.yml'), stringify(recording));
  const check = await promtool(['check', 'rules', 'dashboard.rules.yml'], dir);
  if (check.code === 'missing') {
    t.pass('skipped: promtool is not installed');
    return;
  }
  t.equal(check.code, 0, check.output);
  t.ok(ruleQueries().length > 0);
});

t.test('metric names are read out of PromQL correctly', async (t) => {
  t.same(metricNamesIn('sum(max by (queue, shard) (chat_queue_depth{queue="turns"}))'), ['chat_queue_depth']);
  t.same(metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(chat_queue_wait_seconds_bucket[5m]))) > 2'), ['chat_queue_wait_seconds_bucket']);
  t.same(metricNamesIn('a_total and on () (sum(rate(b_total[5m])) or vector(0)) == 0'), ['a_total', 'b_total']);
  t.same(metricNamesIn('up{job=~"by|on"} unless bool x'), ['up', 'x']);
});

// ---------------------------------------------------------------------------------------------
// compose.yaml, profile `observability`

const compose = obj(parse(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8')), 'compose');
const services = obj(compose.services, 'services');
const service = (name: string) => obj(services[name], name);
/** "<host file>:<container path>[:ro]" → [absolute host path, container path]. */
const mounts = (name: string) =>
  arr(service(name).volumes, `${name}.volumes`).map((v) => {
    const [host, container, mode] = String(v).split(':');
    return { host: join(DEPLOY, host!), container: container!, readOnly: mode === 'ro' };
  });
const envOf = (name: string) => Object.fromEntries(Object.entries(obj(service(name).environment ?? {}, 'environment')).map(([k, v]) => [k, String(v).replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1')]));

t.test('compose: Prometheus and Grafana run only with --profile observability', async (t) => {
  const profiled = Object.entries(services).filter(([, s]) => obj(s, 'service').profiles !== undefined).map(([name]) => name);
  t.same(profiled.sort(), ['grafana', 'prometheus']);
  for (const name of profiled) {
    t.same(service(name).profiles, ['observability']);
    for (const m of mounts(name)) {
      t.ok(existsSync(m.host), `${name}: mounts ${m.host}, which exists`);
      t.ok(m.readOnly, `${name}: ${m.container} read-only`);
    }
    const ports = arr(service(name).ports, 'ports').map(String);
    t.ok(ports.every((p) => p.startsWith('127.0.0.1:')), `${name}: published on loopback only`);
    t.ok(arr(obj(service(name).healthcheck, 'healthcheck').test, 'test').length > 1, `${name}: health check`);
  }
  t.same(obj(obj(service('grafana').depends_on, 'depends_on').prometheus, 'prometheus').condition, 'service_healthy');
});

t.test('compose: Prometheus scrapes every gateway and worker on the port its config serves', async (t) => {
  const prometheusMounts = mounts('prometheus');
  const configMount = prometheusMounts.find((m) => m.container === '/etc/prometheus/prometheus.yml');
  t.ok(configMount, 'prometheus.yml is mounted where --config.file points');
  t.ok(arr(service('prometheus').command, 'command').includes('--config.file=/etc/prometheus/prometheus.yml'));
  const config = obj(parse(readFileSync(configMount!.host, 'utf8')), 'prometheus.yml');
  for (const file of arr(config.rule_files, 'rule_files').map(String)) {
    const mount = prometheusMounts.find((m) => m.container === file);
    t.ok(mount, `rule file ${file} is mounted`);
    t.equal(mount?.host, RULES_FILE, 'it is the alert rules file');
  }
  const targets = arr(config.scrape_configs, 'scrape_configs').flatMap((s) => {
    const scrape = obj(s, 'scrape');
    t.equal(scrape.metrics_path ?? '/metrics', '/metrics');
    return arr(scrape.static_configs, 'static_configs').flatMap((c) => arr(obj(c, 'static').targets, 'targets').map(String));
  });
  const expected: string[] = [];
  for (const name of Object.keys(services)) {
    if (/^gateway-\d+$/.test(name)) expected.push(`${name}:${loadConfig(envOf(name)).gateway.port}`);
    if (/^worker-\d+$/.test(name)) expected.push(`${name}:${loadConfig(envOf(name)).worker.metricsPort}`);
  }
  t.same([...targets].sort(), expected.sort(), 'every gateway and worker, nothing else');
});

t.test('compose: Grafana gets the datasource and the dashboard provisioned', async (t) => {
  const grafanaMounts = mounts('grafana');
  const provisioning = grafanaMounts.find((m) => m.container === '/etc/grafana/provisioning');
  t.ok(provisioning, 'provisioning mounted');
  const datasources = obj(parse(readFileSync(join(provisioning!.host, 'datasources/prometheus.yml'), 'utf8')), 'datasources');
  const [datasource] = arr(datasources.datasources, 'datasources').map((d) => obj(d, 'datasource'));
  t.equal(datasource?.type, 'prometheus');
  const prometheusPort = String(arr(service('prometheus').ports, 'ports')[0]).split(':').pop();
  t.equal(datasource?.url, `http://prometheus:${prometheusPort}`, 'the compose Prometheus');
  const providers = obj(parse(readFileSync(join(provisioning!.host, 'dashboards/chat.yml'), 'utf8')), 'dashboards');
  const [provider] = arr(providers.providers, 'providers').map((p) => obj(p, 'provider'));
  const path = String(obj(provider?.options, 'options').path);
  const dashboards = grafanaMounts.find((m) => m.container === path);
  t.ok(dashboards, `the provider path ${path} is mounted`);
  t.ok(existsSync(join(dashboards!.host, 'chat-service.json')), 'with the dashboard in it');
  t.equal(envOf('grafana').GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, `${path}/chat-service.json`, 'and it is the home dashboard');
});
