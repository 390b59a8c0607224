import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds; from 1 ms (relay overheads) to 2 minutes (whole answers). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * How often the event-loop lag is sampled, ms. The sampling is a timer that wakes the process:
 * prom-client's default (10 ms) was a third of an idle gateway's or worker's CPU (docs/performance.md,
 * Round 7, "Idle cost"), and 100 ms was still ten wake-ups a second, about 1 ms of CPU per second
 * on a virtual machine (Round 11). A stall shows by the part of it past the next sample's due
 * time, so a long one (a saturated loop, a long pause) shows nearly whole and a short one often
 * not at all: how busy a loop is reads from `nodejs_eventloop_utilization` instead, which needs
 * no timer. The percentiles prom-client exports are whole intervals (an idle loop reads this
 * much): the dashboard subtracts it (deploy/observability/grafana/render-dashboard.mjs).
 */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/** A private registry per process part, with Node's default process metrics on it. */
export function createMetricsRegistry(role: string, withDefaults = true): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  if (withDefaults) {
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    registerEventLoopUtilization(registry);
  }
  return registry;
}

/**
 * `nodejs_eventloop_utilization`: the share of time the event loop was running callbacks rather
 * than waiting, since the previous scrape (Node's `performance.eventLoopUtilization`, read from
 * libuv's own counters: no timer, no wake-up). Near 1, the process is saturated and everything it
 * serves queues; it is the load signal the event-loop lag samples too coarsely to give.
 */
function registerEventLoopUtilization(registry: Registry): void {
  let since: EventLoopUtilization = performance.eventLoopUtilization();
  new Gauge({
    name: 'nodejs_eventloop_utilization',
    help: 'Share of time the event loop was busy since the previous scrape (0-1).',
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, since).utilization);
      since = now;
    },
  });
}

/** The registry as JSON: `{ name: { help, type, values: [{ labels, value }] } }`, for /stats. */
export async function registryAsJson(registry: Registry): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const metric of await registry.getMetricsAsJSON()) {
    out[metric.name] = { help: metric.help, type: metric.type, values: metric.values };
  }
  return out;
}
