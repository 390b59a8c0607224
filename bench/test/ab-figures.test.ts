/**
 * The A/B summary (`pnpm bench:ab`): figures read from each run's report by step, medians and
 * ranges per side, and the pairs counted by which way each figure is better.
 */
import t from 'tap';
import type { BenchReport } from '../src/report.js';
import { formatSummary, runFigures, summarise } from '../src/ab/ab-figures.js';

/** A report of one turn-rate step and one overhead step, with the figures given. */
function report(opts: { reference: number; turnsPerSecond: number; workerMs: number; addedP50: number; gc?: number }): BenchReport {
  return {
    references: { cpuLoop: { start: { opsPerSecond: opts.reference }, end: null } },
    scenarios: [
      {
        scenario: 'turn-rate',
        steps: [
          {
            layout: '1×1',
            concurrency: 200,
            turnsPerSecond: opts.turnsPerSecond,
            cpuPerTurnMs: { worker: opts.workerMs, service: opts.workerMs + 0.5 },
            ...(opts.gc !== undefined ? { runtime: { worker: { gcPauseMsPerS: opts.gc } } } : {}),
          },
        ],
      },
      { scenario: 'overhead', steps: [{ sessions: 100, addedFirstMs: { p50: opts.addedP50, p99: null } }] },
    ],
  } as unknown as BenchReport;
}

t.test('figures are read per step, only where the step has them as numbers', async (t) => {
  const run = runFigures(report({ reference: 300_000, turnsPerSecond: 1000, workerMs: 0.8, addedP50: 7 }));
  t.equal(run.reference, 300_000);
  t.same(run.steps, [
    { step: 'turn-rate 1×1 c=200', figures: { 'turns/s': 1000, 'service ms CPU/turn': 1.3, 'worker ms CPU/turn': 0.8 } },
    { step: 'overhead sessions=100', figures: { 'added 1st token p50 ms': 7 } },
  ]);
});

t.test('pairs are judged by which way each figure is better; medians and ranges per side', async (t) => {
  const base = [
    report({ reference: 300_000, turnsPerSecond: 1000, workerMs: 0.9, addedP50: 7, gc: 180 }),
    report({ reference: 310_000, turnsPerSecond: 1100, workerMs: 0.8, addedP50: 8, gc: 170 }),
    report({ reference: 290_000, turnsPerSecond: 900, workerMs: 1.0, addedP50: 9, gc: 190 }),
  ].map(runFigures);
  const head = [
    report({ reference: 305_000, turnsPerSecond: 1100, workerMs: 0.8, addedP50: 7, gc: 160 }),
    report({ reference: 295_000, turnsPerSecond: 1050, workerMs: 0.7, addedP50: 9, gc: 175 }),
    report({ reference: 300_000, turnsPerSecond: 1000, workerMs: 0.9, addedP50: 6 }),
  ].map(runFigures);
  const summary = summarise(base, head);
  t.equal(summary.pairs, 3);
  const figure = (step: string, name: string) => summary.figures.find((f) => f.step === step && f.figure === name)!;

  const rate = figure('turn-rate 1×1 c=200', 'turns/s');
  t.same(rate.base, { median: 1000, min: 900, max: 1100 });
  t.same(rate.head, { median: 1050, min: 1000, max: 1100 });
  t.same(rate.pairs, { better: 2, worse: 1, equal: 0 }, 'higher turns/s is better: 1100 > 1000, 1050 < 1100, 1000 > 900');

  const worker = figure('turn-rate 1×1 c=200', 'worker ms CPU/turn');
  t.same(worker.pairs, { better: 3, worse: 0, equal: 0 }, 'lower CPU per turn is better in every pair');

  const added = figure('overhead sessions=100', 'added 1st token p50 ms');
  t.same(added.pairs, { better: 1, worse: 1, equal: 1 }, 'an equal figure counts as neither');

  const gc = figure('turn-rate 1×1 c=200', 'worker GC pause ms/s');
  t.same(gc.pairs, { better: 1, worse: 1, equal: 0 }, 'a pair missing the figure on one side is left out (160 < 180, 175 > 170)');
  t.same(gc.base, { median: 175, min: 170, max: 180 }, 'and so are its figures');

  t.same(summary.reference.base, { median: 300_000, min: 290_000, max: 310_000 });
  t.notOk(summary.figures.some((f) => f.figure === 'added 1st token p99 ms'), 'a figure no step has (null) is not compared');

  const text = formatSummary(summary, 'aaaaaaa', 'bbbbbbb');
  t.match(text, /3 pairs; base = aaaaaaa, head = bbbbbbb/);
  t.match(text, /turn-rate 1×1 c=200\s+turns\/s\s+1000 \(900–1100\)\s+1050 \(1000–1100\)\s+2 better, 1 worse, 0 equal \(higher is better\)/);
});

t.test("relay, capacity and scale-out steps: figures under `figures`, steps told apart by layout and size", async (t) => {
  const run = runFigures({
    references: { cpuLoop: { start: { opsPerSecond: 1 }, end: null } },
    scenarios: [
      { scenario: 'relay', steps: [{ gateways: 2, workers: 2, streams: 1000, figures: { tokensPerSecond: 50_000, addedFirstMs: { p50: 9, p99: 40 } } }] },
      {
        scenario: 'capacity',
        steps: [
          { gateways: 1, sockets: 5000, chatting: 100, figures: { turnsPerSecond: 30 } },
          { gateways: 1, sockets: 10_000, chatting: 100, figures: { turnsPerSecond: 29 } },
          { gateways: 1, sockets: 10_000, chatting: 100, figures: { turnsPerSecond: 28 } },
        ],
      },
      { scenario: 'scale-out', steps: [{ kind: 'gateways', gateways: 2, workers: 1, streams: 500, figures: { tokensPerSecond: 30_000 } }] },
    ],
  } as unknown as BenchReport);
  t.same(
    run.steps.map((s) => [s.step, s.figures]),
    [
      ['relay 2×2 streams=1000', { 'tokens/s': 50_000, 'added 1st token p50 ms': 9, 'added 1st token p99 ms': 40 }],
      ['capacity gateways=1 sockets=5000 chatting=100', { 'turns/s': 30 }],
      ['capacity gateways=1 sockets=10000 chatting=100', { 'turns/s': 29 }],
      ['capacity gateways=1 sockets=10000 chatting=100 #2', { 'turns/s': 28 }],
      ['scale-out gateways 2×1 streams=500', { 'tokens/s': 30_000 }],
    ],
  );
});

t.test("on a cluster, Redis's CPU is the sum of its masters' and replicas'", async (t) => {
  const run = runFigures({
    references: { cpuLoop: { start: { opsPerSecond: 1 }, end: null } },
    scenarios: [
      {
        scenario: 'turn-rate',
        steps: [{ layout: '1×1', concurrency: 200, cpuPerTurnMs: { gateway: 0.29, worker: 1.18, 'redis master 39127': 0.27, 'redis master 41729': 0.11, 'redis master 41853': 0.18, 'redis replicas': 0.2, service: 2.23 } }],
      },
    ],
  } as unknown as BenchReport);
  t.equal(run.steps[0]!.figures['redis ms CPU/turn'], 0.76);
  t.equal(run.steps[0]!.figures['worker ms CPU/turn'], 1.18);
});

t.test('unpaired runs are refused', async (t) => {
  const one = [runFigures(report({ reference: 1, turnsPerSecond: 1, workerMs: 1, addedP50: 1 }))];
  t.throws(() => summarise(one, []), /unpaired runs/);
});
