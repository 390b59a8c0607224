import type { ClientPool } from './client/client-pool.js';
import type { ChatResult } from './client/messages.js';
import { CpuMeter, loadAverage } from './proc-stats.js';
import { percentiles, round1, successPercent, type Percentiles } from './stats.js';
import { breakdownFigures } from './first-token-breakdown.js';

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
  /** One-minute load average at the end of the window. */
  loadAverage: number;
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
  let load = 0;
  const begin = setTimeout(() => cpu.begin(), measureFrom - Date.now());
  const end = setTimeout(() => {
    cpuPercent = cpu.end();
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
  return summarise(result, options.measureMs, cpuPercent, load);
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
    loadAverage: load,
  };
}

/** `gateway 85 · worker 60 · ...` */
export function formatCpu(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .map(([role, pct]) => `${role} ${pct}`)
    .join(' · ');
}
