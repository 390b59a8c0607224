import t from 'tap';
import { loadConfig } from '@chat/shared';
import { MEASURED_STREAM_COST, cgroupCpuQuota, deriveStreamBudget, workerConcurrency, type StreamBudgetInputs } from '../src/stream-budget.js';

const ONE_CORE: StreamBudgetInputs = { cores: 1, heapLimitBytes: 4 * 2 ** 30, minStreamTokensPerSecond: 20, llmTokensPerMinute: 0, llmRequestsPerMinute: 0 };

t.test('one core, no rate budget: the CPU a stream takes at the slowest allowed pace bounds it', async (t) => {
  const budget = deriveStreamBudget(ONE_CORE);
  const perStreamUs = 20 * MEASURED_STREAM_COST.cpuPerTokenUs;
  t.equal(budget.limitedBy, 'cpu');
  t.equal(budget.concurrency, Math.floor((0.85 * 1e6) / perStreamUs));
  t.ok(budget.concurrency > 200, `more than the old fixed 200 (${budget.concurrency})`);
  t.ok(budget.bounds.memory > budget.bounds.cpu, 'a 4 GiB heap holds far more streams than a core paces');
});

t.test('a faster pace, or half a core, holds proportionally fewer streams', async (t) => {
  const base = deriveStreamBudget(ONE_CORE).concurrency;
  t.equal(deriveStreamBudget({ ...ONE_CORE, minStreamTokensPerSecond: 40 }).concurrency, Math.floor(base / 2), 'twice the tokens per second, half the streams (floored)');
  const half = deriveStreamBudget({ ...ONE_CORE, cores: 0.5 }).concurrency;
  t.ok(Math.abs(half - base / 2) <= 1, `half a core: ${half} of ${base}`);
});

t.test('the model\'s rate budget caps what one worker needs', async (t) => {
  // 24 000 tokens a minute = 400 tokens/s = 20 streams at 20 tokens/s.
  const byTokens = deriveStreamBudget({ ...ONE_CORE, llmTokensPerMinute: 24_000 });
  t.equal(byTokens.limitedBy, 'llm-tokens');
  t.equal(byTokens.concurrency, 20);
  // 120 requests a minute = 2 a second, each holding its slot 120 / 20 + 0.5 = 6.5 s: 13 streams — under the floor.
  t.same(
    [deriveStreamBudget({ ...ONE_CORE, llmRequestsPerMinute: 120 }).limitedBy, deriveStreamBudget({ ...ONE_CORE, llmRequestsPerMinute: 120 }).concurrency],
    ['floor', 16],
  );
  // 600 requests a minute = 10 a second × 6.5 s: 65 streams.
  const byRequests = deriveStreamBudget({ ...ONE_CORE, llmRequestsPerMinute: 600 });
  t.equal(byRequests.limitedBy, 'llm-requests');
  t.equal(byRequests.concurrency, 65);
});

t.test('never below the floor, never above the ceiling', async (t) => {
  t.same([deriveStreamBudget({ ...ONE_CORE, llmTokensPerMinute: 60 }).limitedBy, deriveStreamBudget({ ...ONE_CORE, llmTokensPerMinute: 60 }).concurrency], ['floor', 16]);
  const huge = deriveStreamBudget({ ...ONE_CORE, minStreamTokensPerSecond: 1 }, { ...MEASURED_STREAM_COST, cpuPerTokenUs: 0.01, bytesPerStream: 1 });
  t.same([huge.limitedBy, huge.concurrency], ['ceiling', 10_000]);
  const tightHeap = deriveStreamBudget({ ...ONE_CORE, heapLimitBytes: 8 * 2 ** 20 });
  t.equal(tightHeap.limitedBy, 'memory');
});

t.test('a cgroup v2 CPU limit (cpu.max) gives the cores; no limit gives none', async (t) => {
  t.equal(cgroupCpuQuota('50000 100000\n'), 0.5);
  t.equal(cgroupCpuQuota('200000 100000'), 2);
  t.equal(cgroupCpuQuota('max 100000'), null);
  t.equal(cgroupCpuQuota(''), null);
  t.equal(cgroupCpuQuota('garbage'), null);
});

t.test('WORKER_CONCURRENCY set wins; unset (0) derives', async (t) => {
  const set = workerConcurrency(loadConfig({ WORKER_CONCURRENCY: '37' }));
  t.same(set, { concurrency: 37, budget: null });
  const derived = workerConcurrency(loadConfig({ WORKER_MIN_STREAM_TOKENS_PER_SECOND: '30' }));
  t.ok(derived.budget, 'derived');
  t.equal(derived.budget!.inputs.minStreamTokensPerSecond, 30);
  t.equal(derived.concurrency, derived.budget!.concurrency);
  t.ok(derived.concurrency >= 16 && derived.concurrency <= 10_000);
});
