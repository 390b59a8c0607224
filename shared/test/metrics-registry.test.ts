/**
 * The process metrics every registry carries (createMetricsRegistry): event-loop utilisation,
 * read from libuv's counters between two scrapes, beside the lag prom-client samples.
 */
import t from 'tap';
import { createMetricsRegistry } from '../src/metrics/registry.js';

async function utilization(registry: ReturnType<typeof createMetricsRegistry>): Promise<number> {
  const metric = await registry.getSingleMetric('nodejs_eventloop_utilization')?.get();
  const value = metric?.values[0]?.value;
  if (typeof value !== 'number') throw new Error('nodejs_eventloop_utilization not exported');
  return value;
}

t.test('event-loop utilisation is the busy share of the loop since the previous scrape', async (t) => {
  const registry = createMetricsRegistry('test');
  // Busy: the loop runs this callback the whole time (however slowly a loaded box runs it).
  const until = Date.now() + 150;
  while (Date.now() < until);
  const busy = await utilization(registry);
  t.ok(busy > 0.5, `a loop kept busy reads mostly busy (${busy.toFixed(2)})`);
  // Idle: the loop waits for a timer (a loaded box makes the wait longer, not busier).
  await new Promise((resolve) => setTimeout(resolve, 300));
  const idle = await utilization(registry);
  t.ok(idle < 0.5, `a loop left waiting reads mostly idle (${idle.toFixed(2)}), since the previous scrape only`);
  t.ok(idle >= 0 && busy <= 1, 'a share');
});

t.test('utilisation is exported beside the lag percentiles', async (t) => {
  const text = await createMetricsRegistry('test').metrics();
  t.match(text, /nodejs_eventloop_lag_p99_seconds/, 'the lag percentiles are still exported');
  t.match(text, /# TYPE nodejs_eventloop_utilization gauge/);
});
