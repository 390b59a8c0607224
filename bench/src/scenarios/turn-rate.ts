import { cpus } from 'node:os';
import { sourceAddresses } from '../bench-options.js';
import { formatCpu, runChatWindow, type WindowFigures } from '../chat-window.js';
import { fmtInt, type ScenarioReport } from '../report.js';
import type { RunContext } from '../run-context.js';
import { failureNotes } from './overhead.js';
import { CommandStatsReader, formatCommandRates } from '../command-stats.js';
import { RuntimeMeter, formatRuntime } from '../runtime-meter.js';
import { formatFloor, runFloor, type FloorFigures } from '../floor/floor.js';
import { describeServiceBudget, serviceBudget, type ServiceBudget } from '../cpu-budget.js';

export interface TurnRateRun {
  gateways: number;
  workers: number;
  steps: Array<{ concurrency: number; figures: WindowFigures }>;
  /** The step with the most completed turns/s among those at 100 % success; null if none. */
  best: { concurrency: number; figures: WindowFigures } | null;
}

/**
 * Turn rate on a fresh stack: short answers (`turnTokens` tokens, no model delay); for each
 * concurrency of the ladder, that many sessions each send their next turn as soon as the last
 * completes (at most one send per 60 ms per socket, under the gateway's 20 frames/s). The ladder
 * stops at the first step below 100 % success.
 */
export async function measureTurnRate(ctx: RunContext, gateways: number, workers: number): Promise<TurnRateRun> {
  const ladder = ctx.options.concurrency;
  const env = {
    ...turnRateModelEnv(ctx),
    WORKER_CONCURRENCY: String(Math.max(200, Math.ceil(Math.max(...ladder) / workers))),
  };
  const clients = ctx.options.clients ?? 2;
  const measureMs = ctx.durationMs(10);
  const steps: TurnRateRun['steps'] = [];
  await ctx.withStack({ gateways, workers, env, runtimeProbe: true }, clients, async (stack, pool, processes) => {
    const open = await pool.open({ httpUrl: stack.running.httpUrl, wsUrl: stack.running.wsUrl, sockets: Math.max(...ladder), localAddresses: sourceAddresses(1) });
    const commandStats = new CommandStatsReader(stack);
    const runtime = stack.runtimeDir ? new RuntimeMeter(stack.runtimeDir, processes) : undefined;
    try {
      for (const concurrency of ladder) {
        const chatting = Math.min(concurrency, open.opened);
        const figures = await runChatWindow(pool, processes, { chatting, warmupMs: ctx.warmupMs, measureMs, staggerMs: 200, commandStats, runtime });
        steps.push({ concurrency, figures });
        ctx.log(`  turn-rate ${gateways}×${workers} c=${concurrency}: ${figures.turnsPerSecond} turns/s, ${figures.successPercent} %, p99 ${figures.turnMs.p99} ms, cpu ${formatCpu(figures.cpuPercent)}`);
        if (figures.redisCommandsPerTurn) ctx.log(`    redis commands per turn: ${formatCommandRates(figures.redisCommandsPerTurn)}`);
        if (figures.runtime) ctx.log(`    runtime: ${formatRuntime(figures.runtime)}`);
        if (figures.failed > 0 || figures.sent === 0) break;
      }
    } finally {
      commandStats.close();
    }
    await pool.closeSockets();
  });
  const clean = steps.filter((s) => s.figures.failed === 0 && s.figures.sent > 0);
  const best = clean.reduce<TurnRateRun['best']>((acc, s) => (!acc || s.figures.turnsPerSecond > acc.figures.turnsPerSecond ? s : acc), null);
  return { gateways, workers, steps, best };
}

/** Short answers at once: the model's part of a turn as small as it goes. */
function turnRateModelEnv(ctx: RunContext): Record<string, string> {
  return {
    OFFLINE_LLM_TTFT_MS: '0',
    OFFLINE_LLM_TOKENS_PER_SECOND: '0',
    OFFLINE_LLM_ANSWER_TOKENS: String(ctx.options.turnTokens),
    OFFLINE_LLM_FILL: 'true',
  };
}

export const TURN_RATE_COLUMNS = ['layout', 'concurrency', 'turns sent', 'success %', 'turns/s', 'turn p50 ms', 'turn p99 ms', 'cpu % by role (other = not the benchmark)', 'service ms per turn', 'service µs per token'];

export function turnRateRows(run: TurnRateRun): string[][] {
  return run.steps.map((s) => [
    `${run.gateways}×${run.workers}`,
    fmtInt(s.concurrency),
    fmtInt(s.figures.sent),
    s.figures.successPercent.toFixed(2),
    String(s.figures.turnsPerSecond),
    String(s.figures.turnMs.p50 ?? '-'),
    String(s.figures.turnMs.p99 ?? '-'),
    formatCpu(s.figures.cpuPercent),
    String(s.figures.cpuPerTurnMs.service ?? '-'),
    String(s.figures.cpuPerTokenUs.service ?? '-'),
  ]);
}

/** Issue 17: completed turns per second at 100 % success. */
const TURN_RATE_TARGET = 2000;

/** The target's budget on this box given the model's and clients' CPU per turn; null when either is unknown. */
function budgetFrom(modelMsPerTurn: number | undefined, clientsMsPerTurn: number | undefined): ServiceBudget | null {
  if (modelMsPerTurn === undefined || clientsMsPerTurn === undefined) return null;
  const others = modelMsPerTurn + clientsMsPerTurn;
  return Number.isFinite(others) && others >= 0 ? serviceBudget(TURN_RATE_TARGET, cpus().length, others) : null;
}

/**
 * Scenario 4, turn rate: see `measureTurnRate`, once per worker count of `--turn-rate-workers`
 * (1 and 2 by default: one worker process per core is how this service is meant to be run on a
 * box like this one). The target's verdict is the best step of any layout, named with it.
 */
export async function runTurnRate(ctx: RunContext): Promise<ScenarioReport> {
  const runs: TurnRateRun[] = [];
  for (const workers of ctx.options.turnRateWorkers) runs.push(await measureTurnRate(ctx, ctx.options.gateways, workers));
  const best = runs
    .filter((run) => run.best !== null)
    .reduce<TurnRateRun | null>((acc, run) => (!acc || run.best!.figures.turnsPerSecond > acc.best!.figures.turnsPerSecond ? run : acc), null);
  // The floor at the best step's concurrency: what the transports alone do with those sessions.
  let floor: FloorFigures | null = null;
  if (ctx.options.floor && best?.best) {
    ctx.log(`  floor: concurrency ${best.best.concurrency}, one bare gateway, one bare worker, one Redis…`);
    floor = await runFloor({ sessions: best.best.concurrency, warmupMs: ctx.warmupMs, measureMs: ctx.durationMs(10), modelEnv: turnRateModelEnv(ctx), cpuProfDir: ctx.options.cpuProfDir });
    ctx.log(`    ${formatFloor(floor)}`);
  }
  const service = best?.best?.figures.cpuPerTurnMs.service;
  const floorText =
    floor?.cpuPerTurnMs && best?.best
      ? `the floor at concurrency ${best.best.concurrency}: ${floor.turnsPerSecond} turns/s at ${floor.cpuPerTurnMs.floor} ms CPU per turn (worker ${floor.cpuPerTurnMs.worker} · gateway ${floor.cpuPerTurnMs.gateway} · redis ${floor.cpuPerTurnMs.redis})${service !== undefined && floor.cpuPerTurnMs.floor > 0 ? `; the service ${(service / floor.cpuPerTurnMs.floor).toFixed(2)}× the floor's CPU per turn` : ''}`
      : null;
  // What 2 000 turns/s leaves the service on this box, at the best step's model and client cost
  // per turn; and, with a floor, at theirs in the floor's run: at a higher rate the model and the
  // clients cost less per turn, so the two bound what the target leaves. A step without the
  // model's, the clients' or the service's figure (no turn in its window) gives no budget.
  const perTurn = best?.best?.figures.cpuPerTurnMs;
  const budget = perTurn && service !== undefined ? budgetFrom(perTurn['offline-llm'], perTurn['load clients']) : null;
  const budgetAtFloorCosts = budget && floor?.cpuPerTurnMs ? budgetFrom(floor.cpuPerTurnMs['offline-llm'], floor.cpuPerTurnMs.clients) : null;
  const budgetText = budget
    ? `${describeServiceBudget(budget)}${budgetAtFloorCosts && floor ? ` (${budgetAtFloorCosts.serviceMsPerTurn} if they cost per turn what they did in the floor's run at ${floor.turnsPerSecond} turns/s)` : ''}; it took ${service}${floor?.cpuPerTurnMs ? `, the floor ${floor.cpuPerTurnMs.floor}` : ''}`
    : null;
  return {
    scenario: 'turn-rate',
    title: `turn rate: ${ctx.options.turnTokens}-token answers, no model delay`,
    parameters: { concurrency: ctx.options.concurrency, tokensPerAnswer: ctx.options.turnTokens, measureMs: ctx.durationMs(10), layouts: runs.map((run) => `${run.gateways}×${run.workers}`) },
    stacks: [],
    steps: runs.flatMap((run) => run.steps.map((s) => ({ layout: `${run.gateways}×${run.workers}`, concurrency: s.concurrency, ...s.figures }))),
    ...(floor ? { floor } : {}),
    ...(budget ? { serviceBudget: budget } : {}),
    ...(budgetAtFloorCosts ? { serviceBudgetAtFloorCosts: budgetAtFloorCosts } : {}),
    table: { columns: TURN_RATE_COLUMNS, rows: runs.flatMap(turnRateRows) },
    targets: [
      {
        name: 'completed turns per second at 100 % success',
        target: `≥ ${TURN_RATE_TARGET} turns/s`,
        measured: best?.best
          ? `${best.best.figures.turnsPerSecond} turns/s with ${best.gateways} gateway(s) × ${best.workers} worker(s) at concurrency ${best.best.concurrency} (p99 turn ${best.best.figures.turnMs.p99} ms; service ${best.best.figures.cpuPerTurnMs.service} ms CPU per turn)${floorText ? `; ${floorText}` : ''}${budgetText ? `; ${budgetText}` : ''}`
          : 'no step at 100 % success',
        met: best?.best ? best.best.figures.turnsPerSecond >= TURN_RATE_TARGET : false,
        ...(floor ? { floorMet: floor.turnsPerSecond >= TURN_RATE_TARGET } : {}),
      },
    ],
    notes: [
      ...(floor ? [`the floor (one bare gateway, one bare worker and one Redis, whatever the stack's layout: the service's transports, none of its work): ${formatFloor(floor)}`] : []),
      ...failureNotes(runs.flatMap((run) => run.steps.map((s) => ({ label: `${run.gateways}×${run.workers} concurrency ${s.concurrency}`, failures: s.figures.failures, warmup: s.figures.warmupFailures })))),
    ],
  };
}
