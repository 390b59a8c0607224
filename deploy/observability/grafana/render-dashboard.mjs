#!/usr/bin/env node
// Writes dashboards/chat-service.json, the Grafana dashboard of the whole service, from the panel
// list below (a list is easier to review than 2000 lines of JSON):
//
//   node deploy/observability/grafana/render-dashboard.mjs
//
// deploy/test/observability.test.ts renders it again and fails when the committed JSON differs;
// a stack test fails when a query names a metric that no running process exports.
//
// Conventions: `instance` is the scrape target (one process). Figures every gateway exports with
// the same value (the queue's job counts) are read with `max by (queue, shard)` first.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_FILE = fileURLToPath(new URL('./dashboards/chat-service.json', import.meta.url));

const RATE = '[$__rate_interval]';
/**
 * How often the processes sample their event loop, s (EVENT_LOOP_SAMPLE_MS in
 * shared/src/metrics/registry.ts; a test holds the two equal). prom-client's delay percentiles
 * are whole sampling intervals, so an idle loop reads this much: the panel shows what is beyond it.
 */
export const EVENT_LOOP_SAMPLE_S = 1;
const q = (expr, legendFormat) => ({ expr, legendFormat });
const quantiles = (metric, by = '', qs = [0.5, 0.95, 0.99]) =>
  qs.map((p) => q(`histogram_quantile(${p}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket${RATE})))`, `p${Math.round(p * 100)}${by ? ` {{${by}}}` : ''}`));

/** Rows of panels: [title, [panel, ...]]; a panel is { title, unit, targets, type?, description? }. */
const ROWS = [
  [
    'Traffic',
    [
      { title: 'Open sockets per gateway', unit: 'short', targets: [q('sum by (instance) (chat_gateway_open_sockets)', '{{instance}}')], description: 'What the gateway autoscaler scales on (sum / pods).' },
      { title: 'Sessions per gateway', unit: 'short', targets: [q('sum by (instance) (chat_gateway_active_sessions)', '{{instance}}')] },
      { title: 'Turns/s by outcome', unit: 'reqps', targets: [q(`sum by (outcome) (rate(chat_gateway_turns_ended_total${RATE}))`, '{{outcome}}')], description: 'complete, or the error code the turn ended with (as relayed by gateways).' },
      { title: 'Turns accepted/s by transport', unit: 'reqps', targets: [q(`sum by (via) (rate(chat_gateway_turns_accepted_total${RATE}))`, '{{via}}')] },
    ],
  ],
  [
    'Queue and workers',
    [
      { title: 'Queue depth per shard', unit: 'short', targets: [q('max by (queue, shard) (chat_queue_depth)', '{{queue}}/{{shard}}'), q('sum(max by (queue, shard) (chat_queue_depth))', 'total (worker autoscaler input)')], description: 'waiting + prioritized turns per queue shard.' },
      { title: 'Queue jobs by state', unit: 'short', targets: [q('sum by (state) (max by (queue, shard, state) (chat_queue_jobs))', '{{state}}')] },
      { title: 'Queue wait', unit: 's', targets: quantiles('chat_queue_wait_seconds'), description: 'Gateway accept to a worker starting the turn.' },
      {
        title: 'Busy workers',
        unit: 'short',
        targets: [q('count(chat_worker_active_turns > 0)', 'busy workers'), q('count(chat_worker_active_turns)', 'workers'), q('sum(chat_worker_active_turns)', 'turns streaming'), q('sum(chat_worker_concurrency)', 'stream slots (WORKER_CONCURRENCY)')],
      },
    ],
  ],
  [
    'Latency',
    [
      { title: 'Time to first token', unit: 's', targets: quantiles('chat_turn_first_chunk_seconds'), description: 'Gateway accept to the first chunk published.' },
      {
        title: 'First token split by phase (p95)',
        unit: 's',
        targets: [
          q(`histogram_quantile(0.95, sum by (le) (rate(chat_queue_wait_seconds_bucket${RATE})))`, 'queue wait'),
          q(`histogram_quantile(0.95, sum by (le) (rate(chat_context_seconds_bucket${RATE})))`, 'context retrieval'),
          q(`histogram_quantile(0.95, sum by (le) (rate(chat_llm_ttft_seconds_bucket${RATE})))`, 'model first token'),
          q(`histogram_quantile(0.95, sum by (le) (rate(chat_gateway_delivery_lag_seconds_bucket${RATE})))`, 'relay (publish → socket)'),
        ],
      },
      { title: 'Answer time', unit: 's', targets: [...quantiles('chat_turn_duration_seconds'), q(`histogram_quantile(0.99, sum by (le) (rate(chat_gateway_turn_response_seconds_bucket${RATE})))`, 'p99 as relayed')] },
      { title: 'Delivery lag (worker publish → socket send)', unit: 's', targets: quantiles('chat_gateway_delivery_lag_seconds', '', [0.5, 0.99]) },
      { title: 'Gap between chunks', unit: 's', targets: quantiles('chat_chunk_gap_seconds', '', [0.5, 0.99]) },
      { title: 'Readiness canary round trip', unit: 's', targets: quantiles('chat_gateway_canary_round_trip_seconds', '', [0.5, 0.99]) },
    ],
  ],
  [
    'Cache and limits',
    [
      {
        title: 'Response cache hit rate',
        unit: 'percentunit',
        targets: [q(`sum(rate(chat_cache_lookups_total{result=~"hit|joined"}${RATE})) / sum(rate(chat_cache_lookups_total{result!="bypass"}${RATE}))`, 'hit rate')],
      },
      { title: 'Cache lookups/s (single-flight joins)', unit: 'reqps', targets: [q(`sum by (result) (rate(chat_cache_lookups_total${RATE}))`, '{{result}}')], description: 'joined = a turn that waited for another computing the same answer.' },
      {
        title: 'Rate-limit refusals/s',
        unit: 'reqps',
        targets: [
          q(`sum(rate(chat_gateway_errors_total{code="rate_limited"}${RATE}))`, 'turns / requests refused'),
          q(`sum(rate(chat_gateway_connections_total{result="rate_limited"}${RATE}))`, 'connections refused'),
          q(`sum by (limit) (rate(chat_llm_limiter_waits_total${RATE}))`, 'LLM budget waits ({{limit}})'),
        ],
      },
      { title: 'Fallback answers/s', unit: 'reqps', targets: [q(`sum(rate(chat_llm_fallback_answers_total${RATE}))`, 'grounded fallback')] },
    ],
  ],
  [
    'Errors and recovery',
    [
      { title: 'Errors/s by code', unit: 'reqps', targets: [q(`sum by (code) (rate(chat_gateway_errors_total${RATE}))`, 'gateway {{code}}'), q(`sum by (code) (rate(chat_worker_errors_total${RATE}))`, 'worker {{code}}')] },
      { title: 'Dead letters', unit: 'short', targets: [q('sum(max by (queue, shard) (chat_queue_jobs{state="failed"}))', 'failed turns (kept 24 h)')] },
      {
        title: 'Subscriber reopenings and hole fills',
        unit: 'short',
        targets: [
          q(`sum by (instance) (increase(chat_gateway_subscriber_reopened_total${RATE}))`, 'reopened {{instance}}'),
          q(`sum by (why) (increase(chat_gateway_frames_recovered_total${RATE}))`, 'frames recovered ({{why}})'),
        ],
      },
      {
        title: 'Socket closes/s by cause',
        unit: 'reqps',
        targets: [q(`sum by (cause) (rate(chat_gateway_socket_closes_total${RATE}))`, '{{cause}}'), q(`sum(rate(chat_gateway_slow_clients_cut_off_total${RATE}))`, 'slow clients cut off (4408)')],
      },
      { title: 'Turns requeued, adopted, timed out', unit: 'short', targets: [q(`sum(increase(chat_gateway_turns_requeued_total${RATE}))`, 'requeued'), q(`sum(increase(chat_gateway_turns_adopted_total${RATE}))`, 'adopted'), q(`sum(increase(chat_gateway_turns_timed_out_total${RATE}))`, 'timed out')] },
      { title: 'Gateway readiness', unit: 'short', targets: [q('chat_gateway_ready', '{{instance}}')] },
    ],
  ],
  [
    'Redis and runtime',
    [
      { title: 'Redis round trip (p99)', unit: 's', targets: [q(`histogram_quantile(0.99, sum by (le, connection, role) (rate(chat_redis_round_trip_seconds_bucket${RATE})))`, '{{role}} {{connection}}')] },
      { title: 'Redis availability', unit: 'short', targets: [q('min by (role, connection) (chat_redis_up)', '{{role}} {{connection}}')], description: '1 = every process reaches Redis on that connection.' },
      {
        title: 'Event loop delay (p99)',
        unit: 's',
        targets: [q(`clamp_min(nodejs_eventloop_lag_p99_seconds - ${EVENT_LOOP_SAMPLE_S}, 0)`, '{{role}} {{instance}}')],
        description: `How late the loop ran its ${EVENT_LOOP_SAMPLE_S * 1000} ms sampling timer, p99 between two scrapes: the wait any socket or Redis reply of that process met on top of its own work. Sampled once a second (a timer that wakes an idle process), it catches a saturated loop and long pauses, not every short stall.`,
      },
      {
        title: 'Event loop utilisation',
        unit: 'percentunit',
        targets: [q('nodejs_eventloop_utilization', '{{role}} {{instance}}')],
        description: "Share of each process's time its event loop was running callbacks since the previous scrape (no timer: read from libuv's counters). Near 100 %, everything the process serves queues behind its own work: add gateways or workers.",
      },
      {
        title: 'Time paused in GC',
        unit: 'percentunit',
        targets: [q(`sum by (role, instance) (rate(nodejs_gc_duration_seconds_sum${RATE}))`, '{{role}} {{instance}}')],
        description: "Share of each process's time its JavaScript stood still for garbage collection. A worker near its turn-rate limit spends a fifth of its time here (docs/performance.md, round 9): high together with CPU, add workers.",
      },
      { title: 'Memory (resident)', unit: 'bytes', targets: [q('process_resident_memory_bytes', '{{role}} {{instance}}')] },
      { title: 'CPU', unit: 'percentunit', targets: [q(`rate(process_cpu_seconds_total${RATE})`, '{{role}} {{instance}}')] },
    ],
  ],
  [
    'Tokens and cost',
    [
      { title: 'LLM tokens/s by model', unit: 'short', targets: [q(`sum by (model, kind) (rate(chat_llm_model_tokens_total${RATE}))`, '{{model}} {{kind}}')] },
      { title: 'LLM cost per hour by model', unit: 'currencyUSD', targets: [q(`sum by (model) (rate(chat_llm_cost_usd_total${RATE})) * 3600`, '{{model}}')] },
      { title: 'LLM cost, last 24 h', unit: 'currencyUSD', type: 'stat', targets: [q('sum(increase(chat_llm_cost_usd_total[24h]))', 'USD')] },
      { title: 'Tokens saved by the cache/s', unit: 'short', targets: [q(`sum(rate(chat_cache_tokens_saved_total${RATE}))`, 'tokens')] },
    ],
  ],
];

export function buildDashboard() {
  const panels = [];
  let id = 1;
  let y = 0;
  for (const [title, rowPanels] of ROWS) {
    panels.push({ id: id++, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    rowPanels.forEach((panel, index) => {
      const x = (index % 3) * 8;
      if (index > 0 && index % 3 === 0) y += 8;
      panels.push({
        id: id++,
        type: panel.type ?? 'timeseries',
        title: panel.title,
        ...(panel.description ? { description: panel.description } : {}),
        datasource: { type: 'prometheus', uid: '${datasource}' },
        gridPos: { h: 8, w: 8, x, y },
        fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
        options: panel.type === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] } } : { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
        targets: panel.targets.map((target, i) => ({ refId: String.fromCharCode(65 + i), datasource: { type: 'prometheus', uid: '${datasource}' }, ...target })),
      });
    });
    y += 8;
  }
  return {
    title: 'Chat service',
    uid: 'chat-service',
    description: 'The scalable chatbot service: traffic, queue, latency by phase, cache, errors, Redis, runtime, tokens and cost (docs/operations.md).',
    tags: ['chat'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }],
    },
    annotations: { list: [] },
    panels,
  };
}

export function renderDashboard() {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DASHBOARD_FILE, renderDashboard());
  process.stdout.write(`wrote ${DASHBOARD_FILE}\n`);
}
