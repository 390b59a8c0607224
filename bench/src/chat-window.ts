import type { ClientPool } from './client/client-pool.js';
import type { ChatResult } from './client/messages.js';
import { CpuMeter, loadAverage, rssBytes } from './proc-stats.js';
import { percentiles, round1, round2, successPercent, type Percentiles } from './stats.js';
import { breakdownFigures } from './first-token-breakdown.js';
import { commandRates, type CommandCounts, type CommandRates, type CommandStatsReader } from './command-stats.js';
import { RuntimeMeter, type RuntimeFigures } from './runtime-meter.js';

/** The message every benchmark turn sends (the original service's fourth test message). */
export const BENCH_MESSAGE = 'I need information about flight NZ123 from Auckland to Sydney';

export interface ChatWindowOptions {
  /** Sockets that chat, across all clients. */
  chatting: number;
  /** Warm-up before the window, ms (turns sent in it are not measured). */
  warmupMs: number;
  /** Measurement window, ms. */
  measureMs: number;
  /** First turns start within this, ms. Default: the warm-up. */
  staggerMs?: number;
  /** Default: 0. */
  thinkMs?: number;
  /** Default: 60 ms, so one socket never sends more than the gateway's 20 frames/s. */
  minIntervalMs?: number;
  /** Default: 60 000 ms. */
  turnTimeoutMs?: number;
  /** Reads the stack's Redis command counts at the window's edges (`redisCommandsPerTurn`); default none. */
  commandStats?: CommandStatsReader;
  /** Reads the runtime probe at the window's edges (`runtime`); default none. */
  runtime?: RuntimeMeter;
}

/** One measured window: the clients' figures, the processes' CPU, and the derived rates. */
export interface WindowFigures {
  windowMs: number;
  sent: number;
  ok: number;
  failed: number;
  successPercent: number;
  failures: Record<string, number>;
  /** Failures of warm-up turns (not in the success rate, but never hidden). */
  warmupFailures: Record<string, number>;
  /** Turns of every phase, warm-up included: what the stack answered during this window's run. */
  totalTurns: number;
  /** Measured turns answered from the worker's response cache. */
  fromCache: number;
  /** Measured turns retried by a new attempt (a reset frame), counted as successes when whole. */
  resets: number;
  turnsPerSecond: number;
  chunkFramesPerSecond: number;
  tokensPerSecond: number;
  addedFirstMs: Percentiles;
  addedTotalMs: Percentiles;
  firstChunkMs: Percentiles;
  turnMs: Percentiles;
  modelFirstMs: Percentiles;
  /** Gateway accept → worker start, ms (part of the time added). */
  queueWaitMs: Percentiles;
  /** First chunk: worker publish → client, ms (ms resolution). */
  relayFirstMs: Percentiles;
  /** The time added to the first token, step by step (PIPELINE_TIMINGS stacks only; else empty). */
  firstTokenSteps: ReturnType<typeof breakdownFigures>;
  /**
   * CPU use over the window per role, % of one core (the machine has 100 × cores); `other` is
   * the rest of the machine's busy time: load that is not the benchmark's (a shared machine).
   */
  cpuPercent: Record<string, number>;
  /**
   * CPU per completed turn and per streamed token, by role and for the service (`service`:
   * gateways + workers + Redis, without the offline model and the load clients): figures that
   * travel between boxes, where a bare rate does not. Empty when nothing completed.
   */
  cpuPerTurnMs: Record<string, number>;
  cpuPerTokenUs: Record<string, number>;
  /** Resident memory per role at the end of the window, MiB (what a stream in flight costs: compare steps). */
  rssMiB: Record<string, number>;
  /** One-minute load average at the end of the window. */
  loadAverage: number;
  /**
   * Redis commands per completed turn over the window (`INFO commandstats`; a script's own
   * commands count too, `evalsha` alone is the scripts' round trips): a figure no box's speed
   * changes. Null when not read.
   */
  redisCommandsPerTurn: CommandRates | null;
  /**
   * Per Node role, the GC pauses and the event-loop delay over the window (the runtime probe):
   * a turn's step that waits for a stalled loop waits this long. Null when not read.
   */
  runtime: Record<string, RuntimeFigures> | null;
}

/** The roles that are the service itself (not the model it calls, not the load, not the box). */
export function isServiceRole(role: string): boolean {
  return role === 'gateway' || role === 'worker' || role.startsWith('redis');
}

/** CPU (% of a core over `windowMs`) spent per unit of work, with the service's sum; `scale` 1e3 gives ms, 1e6 µs. */
export function cpuPerUnit(cpuPercent: Record<string, number>, windowMs: number, units: number, scale: number): Record<string, number> {
  if (units <= 0) return {};
  const out: Record<string, number> = {};
  let service = 0;
  for (const [role, percent] of Object.entries(cpuPercent)) {
    if (role === 'other') continue;
    const perUnit = ((percent / 100) * (windowMs / 1000) * scale) / units;
    out[role] = round2(perUnit);
    if (isServiceRole(role)) service += perUnit;
  }
  out.service = round2(service);
  return out;
}

/**
 * Runs one chat window on the pool: every chatting socket loops turns from a staggered start,
 * turns sent during the warm-up are discarded, and CPU is sampled over exactly the window.
 */
export async function runChatWindow(
  pool: ClientPool,
  processes: () => Array<{ role: string; pid: number }>,
  options: ChatWindowOptions,
): Promise<WindowFigures> {
  const measureFrom = Date.now() + options.warmupMs;
  const measureTo = measureFrom + options.measureMs;
  const cpu = new CpuMeter(processes);
  let cpuPercent: Record<string, number> = {};
  let rssMiB: Record<string, number> = {};
  let load = 0;
  let commandsAtStart: Promise<CommandCounts> | null = null;
  let commandsAtEnd: Promise<CommandCounts> | null = null;
  let runtimeAtStart: ReturnType<RuntimeMeter['read']> | null = null;
  let runtimeAtEnd: ReturnType<RuntimeMeter['read']> | null = null;
  const begin = setTimeout(() => {
    cpu.begin();
    commandsAtStart = options.commandStats?.read() ?? null;
    runtimeAtStart = options.runtime?.read() ?? null;
  }, measureFrom - Date.now());
  const end = setTimeout(() => {
    cpuPercent = cpu.end();
    commandsAtEnd = options.commandStats?.read() ?? null;
    runtimeAtEnd = options.runtime?.read() ?? null;
    rssMiB = residentByRole(processes());
    load = loadAverage();
  }, measureTo - Date.now());
  let result: ChatResult;
  try {
    result = await pool.chat({
      chatting: options.chatting,
      message: BENCH_MESSAGE,
      staggerMs: options.staggerMs ?? options.warmupMs,
      thinkMs: options.thinkMs ?? 0,
      minIntervalMs: options.minIntervalMs ?? 60,
      measureFrom,
      measureTo,
      turnTimeoutMs: options.turnTimeoutMs ?? 60_000,
    });
  } finally {
    clearTimeout(begin);
    clearTimeout(end);
  }
  const figures = { ...summarise(result, options.measureMs, cpuPercent, load), rssMiB };
  if (commandsAtStart && commandsAtEnd) figures.redisCommandsPerTurn = commandRates(await commandsAtStart, await commandsAtEnd, result.completedInWindow);
  if (runtimeAtStart && runtimeAtEnd) figures.runtime = RuntimeMeter.figures(await runtimeAtStart, await runtimeAtEnd);
  return figures;
}

/** Resident memory summed per role, MiB, one decimal. */
function residentByRole(processes: Array<{ role: string; pid: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { role, pid } of processes) {
    const bytes = rssBytes(pid);
    if (bytes !== null) out[role] = (out[role] ?? 0) + bytes / 2 ** 20;
  }
  for (const role of Object.keys(out)) out[role] = Math.round(out[role]! * 10) / 10;
  return out;
}

export function summarise(result: ChatResult, windowMs: number, cpuPercent: Record<string, number>, load = 0): WindowFigures {
  const seconds = windowMs / 1000;
  const tokensPerChar = result.charsOk > 0 ? result.tokensOk / result.charsOk : 0;
  return {
    windowMs,
    sent: result.sent,
    ok: result.ok,
    failed: result.failed,
    successPercent: successPercent(result.ok, result.sent),
    failures: result.failures,
    warmupFailures: result.unmeasuredFailures,
    totalTurns: result.totalTurns,
    fromCache: result.fromCache,
    resets: result.resets,
    turnsPerSecond: round1(result.completedInWindow / seconds),
    chunkFramesPerSecond: Math.round(result.chunkFramesInWindow / seconds),
    tokensPerSecond: Math.round((result.charsInWindow * tokensPerChar) / seconds),
    addedFirstMs: percentiles(result.samples.addedFirst),
    addedTotalMs: percentiles(result.samples.addedTotal),
    firstChunkMs: percentiles(result.samples.firstChunk),
    turnMs: percentiles(result.samples.turn),
    modelFirstMs: percentiles(result.samples.modelFirst),
    queueWaitMs: percentiles(result.samples.queueWait),
    relayFirstMs: percentiles(result.samples.relayFirst),
    firstTokenSteps: breakdownFigures(result.steps),
    cpuPercent,
    cpuPerTurnMs: cpuPerUnit(cpuPercent, windowMs, result.completedInWindow, 1e3),
    cpuPerTokenUs: cpuPerUnit(cpuPercent, windowMs, result.charsInWindow * tokensPerChar, 1e6),
    rssMiB: {},
    loadAverage: load,
    redisCommandsPerTurn: null,
    runtime: null,
  };
}

/** `gateway 85 · worker 60 · ...` */
export function formatCpu(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .map(([role, pct]) => `${role} ${pct}`)
    .join(' · ');
}
