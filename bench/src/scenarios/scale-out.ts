import { fmtInt, type ScenarioReport } from '../report.js';
import type { RunContext } from '../run-context.js';
import { measureRelay, relayRow, RELAY_COLUMNS, type RelayRun } from './relay.js';
import { measureTurnRate, type TurnRateRun } from './turn-rate.js';

/**
 * Scenario 5, scale-out: the relay and turn-rate measurements with 1 gateway × 1 worker, then
 * 2 × 2, on this one machine (so the same cores are shared by more processes).
 */
export async function runScaleOut(ctx: RunContext): Promise<ScenarioReport> {
  const layouts = [
    { gateways: 1, workers: 1 },
    { gateways: 2, workers: 2 },
  ];
  const relays: RelayRun[] = [];
  const turnRates: TurnRateRun[] = [];
  for (const { gateways, workers } of layouts) {
    relays.push(await measureRelay(ctx, gateways, workers));
    turnRates.push(await measureTurnRate(ctx, gateways, workers));
  }
  const bestOf = (run: TurnRateRun) => (run.best ? `${run.best.figures.turnsPerSecond} turns/s at c=${run.best.concurrency}, p99 ${run.best.figures.turnMs.p99} ms` : 'none at 100 %');
  return {
    scenario: 'scale-out',
    title: 'scale-out: relay and turn rate, 1 gateway × 1 worker vs 2 × 2 on the same box',
    parameters: { layouts, streams: ctx.options.streams, relayTokens: ctx.options.relayTokens, concurrency: ctx.options.concurrency, turnTokens: ctx.options.turnTokens },
    stacks: [],
    steps: [...relays.map((r) => ({ kind: 'relay', ...r })), ...turnRates.map((t) => ({ kind: 'turn-rate', ...t }))],
    table: {
      columns: [...RELAY_COLUMNS, 'best turn rate (100 % success)'],
      rows: relays.map((r, i) => [...relayRow(r), bestOf(turnRates[i]!)]),
    },
    targets: [],
    notes: [
      ...turnRates.flatMap((run) =>
        run.steps.map(
          (s) =>
            `turn-rate ${run.gateways}×${run.workers} c=${s.concurrency}: ${s.figures.turnsPerSecond} turns/s, ${s.figures.successPercent} % of ${fmtInt(s.figures.sent)}, p99 ${s.figures.turnMs.p99} ms`,
        ),
      ),
    ],
  };
}
