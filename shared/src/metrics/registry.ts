import { Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds; from 1 ms (relay overheads) to 2 minutes (whole answers). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * How often the event-loop lag is sampled, ms. prom-client's default (10 ms) is a timer that wakes
 * every process 100 times a second, which was a third of an idle gateway's or worker's CPU
 * (docs/performance.md, Round 7, "Idle cost"). A stall shows by the part of it past the next
 * sample's due time, so a long one shows nearly whole and one shorter than this may not show at
 * all. The percentiles prom-client exports are whole intervals (an idle loop reads this much):
 * the dashboard subtracts it (deploy/observability/grafana/render-dashboard.mjs).
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** A private registry per process part, with Node's default process metrics on it. */
export function createMetricsRegistry(role: string, withDefaults = true): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  if (withDefaults) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return registry;
}

/** The registry as JSON: `{ name: { help, type, values: [{ labels, value }] } }`, for /stats. */
export async function registryAsJson(registry: Registry): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const metric of await registry.getMetricsAsJSON()) {
    out[metric.name] = { help: metric.help, type: metric.type, values: metric.values };
  }
  return out;
}
