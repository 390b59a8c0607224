import { sourceAddresses } from '../bench-options.js';
import { formatCpu, runChatWindow, type WindowFigures } from '../chat-window.js';
import { fmtInt, fmtPct, type ScenarioReport, type TargetCheck } from '../report.js';
import type { RunContext } from '../run-context.js';
import type { ChartPanel } from '../svg-chart.js';
import { formatBreakdown } from '../first-token-breakdown.js';
import { CommandStatsReader, formatCommandRates } from '../command-stats.js';
import { RuntimeMeter, formatRuntime } from '../runtime-meter.js';
import { formatFloor, runFloor, type FloorFigures } from '../floor/floor.js';

/** Realistic pacing: the offline model's defaults, every answer padded to 120 tokens (2.4 s a turn). */
export const OVERHEAD_MODEL_ENV = {
  OFFLINE_LLM_TTFT_MS: '400',
  OFFLINE_LLM_TOKENS_PER_SECOND: '60',
  OFFLINE_LLM_ANSWER_TOKENS: '120',
  OFFLINE_LLM_FILL: 'true',
};

export interface OverheadOutcome {
  report: ScenarioReport;
  /** Chart panels: time added to the first token and to the whole answer, against sessions. */
  panels: ChartPanel[];
}

/**
 * Scenario 1, overhead: N sessions each with one socket, each sending its next turn as soon
 * as the last completes, against the offline model at 400 ms to the first token and 60 tokens/s.
 * What the pipeline adds is the client's time minus the model's own, per turn:
 *
 *   added to first token = client send → first chunk  −  LLM time to first token (worker-measured)
 *   added to the answer  = client send → complete     −  LLM stream time (worker-measured)
 *
 * The LLM times come from the turn's `complete.metadata` (ttft_ms; response_time_ms − queue_wait_ms),
 * so the offline model's timer-wheel granularity is not counted against the pipeline.
 */
export async function runOverhead(ctx: RunContext): Promise<OverheadOutcome> {
  const levels = ctx.options.sessions;
  const largest = Math.max(...levels);
  const concurrency = ctx.options.workerConcurrency;
  // PIPELINE_TIMINGS: every turn carries its step stamps, for the first-token breakdown below.
  const env: Record<string, string> = { ...OVERHEAD_MODEL_ENV, PIPELINE_TIMINGS: 'true' };
  if (concurrency !== 'service') env.WORKER_CONCURRENCY = String(concurrency ?? Math.max(200, largest + 100));
  const layout = { gateways: ctx.options.gateways, workers: ctx.options.workers, env, runtimeProbe: true };
  const clients = ctx.options.clients ?? 2;
  const addresses = sourceAddresses(ctx.options.addresses ?? Math.max(1, Math.ceil(largest / 20_000)));
  const measureMs = ctx.durationMs(15);
  // A window counts the turns sent in it. With thousands of sessions on a small box the first
  // wave of turns outlasts a 15 s window, so no session sends a second one in it and the step
  // measures nothing (5 000 sessions on 2 cores: the first wave takes ~20 s). Unless --duration
  // says otherwise, a step gets at least 5 ms per session.
  const windowFor = (sessions: number) => (ctx.options.durationS === null ? Math.max(measureMs, sessions * 5) : measureMs);
  // Every session's first turn starts within one turn's length, so the load is even from the start.
  const warmupMs = Math.max(ctx.warmupMs, 2500);
  // Turns the stack answered before a step (earlier steps, warm-ups included): V8 optimises a function
  // after it has run enough, so a process's first few hundred turns run partly in the
  // interpreter, and a step on a fresh stack measures that (docs/performance.md, round 17).
  const steps: Array<{
    sessions: number;
    stackTurnsBefore: number;
    open: { opened: number; failed: number; failures: Record<string, number>; ms: number };
    figures: WindowFigures;
    floor?: StepFloor;
  }> = [];
  let stackTurns = 0;

  await ctx.withStack(layout, clients, async (stack, pool, processes) => {
    const commandStats = new CommandStatsReader(stack);
    const runtime = stack.runtimeDir ? new RuntimeMeter(stack.runtimeDir, processes) : undefined;
    try {
      for (const sessions of levels) {
        ctx.log(`  overhead: ${sessions} session(s): opening…`);
        const open = await pool.open({ httpUrl: stack.running.httpUrl, wsUrl: stack.running.wsUrl, sockets: sessions, localAddresses: addresses });
        const windowMs = windowFor(sessions);
        ctx.log(`    opened ${open.opened}/${sessions} in ${Math.round(open.ms)} ms; chatting ${windowMs / 1000} s after ${warmupMs / 1000} s warm-up…`);
        const figures = await runChatWindow(pool, processes, { chatting: open.opened, warmupMs, measureMs: windowMs, staggerMs: 2500, commandStats, runtime });
        if (open.failed > 0) {
          figures.failed += open.failed;
          figures.sent += open.failed;
          for (const [k, v] of Object.entries(open.failures)) figures.failures[k] = (figures.failures[k] ?? 0) + v;
          figures.successPercent = Math.floor((figures.ok / figures.sent) * 10_000) / 100;
        }
        steps.push({ sessions, stackTurnsBefore: stackTurns, open, figures });
        stackTurns += figures.totalTurns;
        ctx.log(`    ${figures.ok}/${figures.sent} ok, added first ${fmtPct(figures.addedFirstMs)} ms, cpu ${formatCpu(figures.cpuPercent)}`);
        if (figures.firstTokenSteps.length > 0) ctx.log(`    first token, p50 / p99 ms per step: ${formatBreakdown(figures.firstTokenSteps)}`);
        if (figures.redisCommandsPerTurn) ctx.log(`    redis commands per turn: ${formatCommandRates(figures.redisCommandsPerTurn)}`);
        if (figures.runtime) ctx.log(`    runtime: ${formatRuntime(figures.runtime)}`);
        await pool.closeSockets();
      }
    } finally {
      commandStats.close();
    }
  });

  if (ctx.options.floor) {
    // After the stack has stopped: the floor's processes get the box to themselves, as the stack had.
    const floors = new Map<number, StepFloor>();
    for (const sessions of new Set(steps.map((s) => s.sessions))) {
      const common = { sessions, warmupMs, measureMs: windowFor(sessions), modelEnv: OVERHEAD_MODEL_ENV, cpuProfDir: ctx.options.cpuProfDir };
      ctx.log(`  floor: ${sessions} session(s), one bare gateway, one bare worker, one Redis…`);
      const turns = await runFloor(common);
      ctx.log(`    ${formatFloor(turns)}`);
      const readOnly = await runFloor({ ...common, mode: 'read-only' });
      ctx.log(`    the model's streams read alone: ${formatFloor(readOnly)}`);
      floors.set(sessions, { turns, readOnly });
    }
    for (const step of steps) step.floor = floors.get(step.sessions)!;
  }

  const targets: TargetCheck[] = [];
  // Issue 17: unloaded (1 and 100 sessions) p50 ≤ 2 ms and p99 ≤ 5 ms; at 1 000 streams p99 ≤ 50 ms.
  for (const [sessions, p50Max, p99Max] of [
    [1, 2, 5],
    [100, 2, 5],
    [1000, null, 50],
  ] as const) {
    // The last step of that size: with `--sessions 100,1,...` a one-session step on a warm stack.
    const step = steps.findLast((s) => s.sessions === sessions);
    const target = p50Max === null ? `p99 ≤ ${p99Max} ms` : `p50 ≤ ${p50Max} ms, p99 ≤ ${p99Max} ms`;
    targets.push({
      name: `time added to first token at ${sessions} concurrent stream${sessions === 1 ? '' : 's'}`,
      target,
      measured: step
        ? `p50 ${step.figures.addedFirstMs.p50} ms, p99 ${step.figures.addedFirstMs.p99} ms${onFreshStack(step) ? ` (a fresh stack: ${step.stackTurnsBefore} turns before)` : ''}${step.floor ? `; the floor there p50 ${step.floor.turns.addedFirstMs?.p50} ms, p99 ${step.floor.turns.addedFirstMs?.p99} ms` : ''}`
        : `not run (no ${sessions}-session step)`,
      met: step ? firstTokenWithin(step.figures.addedFirstMs, p50Max, p99Max) : null,
      ...(step?.floor ? { floorMet: step.floor.turns.addedFirstMs ? firstTokenWithin(step.floor.turns.addedFirstMs, p50Max, p99Max) : null } : {}),
    });
  }
  const withTokens = steps.filter((s) => s.figures.cpuPerTokenUs.service !== undefined);
  // The most sessions, wherever the step came in the run (`--sessions 1000,1` ends on one session).
  const busiest = withTokens.reduce<(typeof withTokens)[number] | undefined>((most, s) => (!most || s.sessions > most.sessions ? s : most), undefined);
  targets.push({
    name: 'service CPU per streamed token (gateway + worker + Redis)',
    target: '≤ 15 µs',
    measured: busiest
      ? `${busiest.figures.cpuPerTokenUs.service} µs at ${busiest.sessions} sessions (${formatCpu(busiest.figures.cpuPerTokenUs)})${busiest.floor ? `; the floor there ${floorSummary(busiest.figures, busiest.floor)}` : ''}`
      : 'no tokens measured',
    met: busiest ? busiest.figures.cpuPerTokenUs.service! <= 15 : null,
    ...(busiest?.floor ? { floorMet: busiest.floor.turns.cpuPerTokenUs.floor <= 15 } : {}),
  });
  const at5000 = steps.find((s) => s.sessions === 5000);
  targets.push({
    name: '100 % success at 5000 concurrent sessions',
    target: '100 %',
    measured: at5000 ? `${at5000.figures.successPercent} % of ${at5000.figures.sent} turns` : 'not run (no 5000-session step)',
    met: at5000 ? at5000.figures.failed === 0 && at5000.figures.sent > 0 : null,
  });

  const report: ScenarioReport = {
    scenario: 'overhead',
    title: 'overhead: time the pipeline adds (offline model 400 ms TTFT, 60 tokens/s, 120-token answers)',
    parameters: { sessions: levels, measureMs, warmupMs, clients, sourceAddresses: addresses, message: 'one turn per session at a time, no think time' },
    stacks: [],
    steps: steps.map((s) => ({ sessions: s.sessions, stackTurnsBefore: s.stackTurnsBefore, open: s.open, ...s.figures, ...(s.floor ? { floor: s.floor } : {}) })),
    table: {
      columns: ['sessions', 'turns', 'success %', 'added 1st p50/p95/p99 ms', 'added total p50/p95/p99 ms', 'client 1st chunk p50/p99 ms', 'model ttft p50 ms', 'queue wait p50/p99 ms', 'relay 1st p50/p99 ms', 'turns/s', 'cpu % by role (other = not the benchmark)', 'service µs per token', 'floor: added 1st p50 ms, µs per token'],
      rows: steps.map((s) => [
        fmtInt(s.sessions),
        fmtInt(s.figures.sent),
        s.figures.successPercent.toFixed(2),
        fmtPct(s.figures.addedFirstMs),
        fmtPct(s.figures.addedTotalMs),
        `${s.figures.firstChunkMs.p50 ?? '-'} / ${s.figures.firstChunkMs.p99 ?? '-'}`,
        String(s.figures.modelFirstMs.p50 ?? '-'),
        `${s.figures.queueWaitMs.p50 ?? '-'} / ${s.figures.queueWaitMs.p99 ?? '-'}`,
        `${s.figures.relayFirstMs.p50 ?? '-'} / ${s.figures.relayFirstMs.p99 ?? '-'}`,
        String(s.figures.turnsPerSecond),
        formatCpu(s.figures.cpuPercent),
        String(s.figures.cpuPerTokenUs.service ?? '-'),
        s.floor ? `${s.floor.turns.addedFirstMs?.p50 ?? '-'}, ${s.floor.turns.cpuPerTokenUs.floor}` : '-',
      ]),
    },
    targets,
    notes: [
      'each question carries its message id, so the response cache never answers it: every turn goes through the model',
      ...steps
        .filter((s) => s.figures.firstTokenSteps.length > 0)
        .map((s) => `${s.sessions} sessions, first token p50 / p99 ms per step (PIPELINE_TIMINGS stamps): ${formatBreakdown(s.figures.firstTokenSteps)}`),
      ...steps
        .filter(onFreshStack)
        .map(
          (s) =>
            `${s.sessions} sessions ran on a fresh stack (${s.stackTurnsBefore} turns before it): its processes' per-turn code was not optimised yet; put a larger step first (--sessions 100,1) for a warm stack's figure`,
        ),
      ...steps
        .filter((s) => s.floor)
        .map((s) => `${s.sessions} sessions, the floor (one bare gateway, one bare worker and one Redis, whatever the stack's layout: the service's transports, none of its work): ${formatFloor(s.floor!.turns)}; the model's streams read alone: ${formatFloor(s.floor!.readOnly)}; ${floorSummary(s.figures, s.floor!)}`),
      ...failureNotes(steps.map((s) => ({ label: `${s.sessions} sessions`, failures: s.figures.failures, warmup: s.figures.warmupFailures }))),
      ...steps.filter((s) => s.figures.fromCache > 0).map((s) => `${s.sessions} sessions: ${s.figures.fromCache} answers came from the response cache`),
      ...steps
        .filter((s) => s.figures.resets > 0)
        .map((s) => `${s.sessions} sessions: ${s.figures.resets} turns were retried by a new attempt (BullMQ found the job stalled) and reached their clients whole after a reset frame`),
    ],
  };
  const panels: ChartPanel[] = [
    {
      title: 'time added to the first token',
      points: steps.map((s) => ({ x: s.sessions, ...s.figures.addedFirstMs })),
      targets: [
        { value: 5, label: 'p99 target (1 and 100 sessions) 5 ms' },
        { value: 2, label: 'p50 target 2 ms' },
      ],
    },
    { title: 'time added to the whole answer', points: steps.map((s) => ({ x: s.sessions, ...s.figures.addedTotalMs })) },
  ];
  return { report, panels };
}

/** The floor at a step's sessions: turns as the step ran them, and the model's streams read alone. */
export interface StepFloor {
  turns: FloorFigures;
  readOnly: FloorFigures;
}

/** Whether added first-token times are within a target's bounds (no p50 bound: `p50Max` null). */
function firstTokenWithin(added: { p50: number | null; p99: number | null }, p50Max: number | null, p99Max: number): boolean {
  return (p50Max === null || (added.p50 ?? Infinity) <= p50Max) && (added.p99 ?? Infinity) <= p99Max;
}

/** `20.3 µs per token (the read alone 18.1): the service 1.66× the floor` */
function floorSummary(figures: WindowFigures, floor: StepFloor): string {
  const service = figures.cpuPerTokenUs.service;
  const base = floor.turns.cpuPerTokenUs.floor;
  const ratio = service !== undefined && base > 0 ? `: the service ${(service / base).toFixed(2)}× the floor` : '';
  return `${base} µs per token (the read alone ${floor.readOnly.cpuPerTokenUs.floor})${ratio}`;
}

/**
 * A step whose median measured turn came before the stack had answered this many turns (its
 * earlier steps' turns, its own warm-up's and half its measured ones) is reported as run on a
 * fresh stack: in round 17's runs one session after ~1 660 turns was about a millisecond faster
 * than on a fresh stack, and 100 sessions (100 turns of warm-up, 800 measured) were not.
 */
const FRESH_STACK_TURNS = 300;

function onFreshStack(step: { stackTurnsBefore: number; figures: { sent: number; totalTurns: number } }): boolean {
  const warmUpTurns = step.figures.totalTurns - step.figures.sent;
  return step.stackTurnsBefore + warmUpTurns + step.figures.sent / 2 < FRESH_STACK_TURNS;
}

/** Failures by reason, and those of warm-up turns (not in the success rate, never hidden). */
export function failureNotes(list: Array<{ label: string; failures: Record<string, number>; warmup?: Record<string, number> }>): string[] {
  const fmt = (counts: Record<string, number>) => Object.entries(counts).map(([k, v]) => `${k} × ${v}`).join(', ');
  return list.flatMap((entry) => [
    ...(Object.keys(entry.failures).length > 0 ? [`${entry.label}: failures ${fmt(entry.failures)}`] : []),
    ...(entry.warmup && Object.keys(entry.warmup).length > 0 ? [`${entry.label}: warm-up failures ${fmt(entry.warmup)}`] : []),
  ]);
}
