import { readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import type { Config } from '@chat/shared';

/**
 * How many turns one worker process streams at once when WORKER_CONCURRENCY is 0 (the default),
 * from what a stream costs. A worker spends its time waiting on the model, so the cap is not I/O
 * but the worker's own CPU per streamed token, its heap per stream in flight, and what the
 * model's rate budget (LLM_TOKENS_PER_MINUTE, LLM_REQUESTS_PER_MINUTE) lets all workers start.
 *
 * The CPU bound admits streams as long as each can still be paced at
 * WORKER_MIN_STREAM_TOKENS_PER_SECOND (20: three times a fast reader) when the worker is full.
 * A turn refused a slot waits in the queue a whole answer's length before its first token; a
 * turn admitted to a full worker gets its first token at once and shares the worker's pace. A
 * fixed 200 made 500 and 1 000 sessions starting together wait 4.9 and 11.7 s (p50) for their
 * first token on a box that, admitting them all, served them at 1.9 s (issue 17). Past the cap,
 * turns wait in the queue, where the autoscaler sees them (KEDA scales workers on its depth).
 */

/**
 * What a stream costs this worker, measured with the bench's overhead scenario at 1 000
 * concurrent streams of 120-token answers (docs/performance.md, Round 7, "Worker concurrency"):
 * the worker's CPU per streamed token, all in (the turn's own work spread over its tokens), and
 * its resident memory per stream in flight (RSS at 1 000 streams minus at one, ÷ 1 000). Update
 * them when the hot path changes; the derivation below is only as good as they are.
 */
export interface StreamCost {
  cpuPerTokenUs: number;
  bytesPerStream: number;
  /** Tokens of the answers they were measured on (a request holds its slot this long at a stream's pace). */
  tokensPerAnswer: number;
}

export const MEASURED_STREAM_COST: Readonly<StreamCost> = Object.freeze({
  cpuPerTokenUs: 48,
  bytesPerStream: 240 * 1024,
  tokensPerAnswer: 120,
});

/** Share of a core the streams may fill: the rest absorbs GC pauses, bursts and the event loop's own work. */
const CPU_HEADROOM = 0.85;
/** Share of the heap the streams may fill. */
const HEAP_SHARE = 0.5;
/** A turn's length beyond its tokens (time to the first token), s: how long a started request holds a slot. */
const TURN_OVERHEAD_S = 0.5;
const MIN_CONCURRENCY = 16;
const MAX_CONCURRENCY = 10_000;

export interface StreamBudgetInputs {
  /** Cores this process may use: at most one (one JavaScript thread), less under a cgroup CPU quota. */
  cores: number;
  /** Bytes the heap may grow to. */
  heapLimitBytes: number;
  /** The slowest pace a stream may drop to when the worker is full, tokens/s (WORKER_MIN_STREAM_TOKENS_PER_SECOND). */
  minStreamTokensPerSecond: number;
  /** LLM_TOKENS_PER_MINUTE, LLM_REQUESTS_PER_MINUTE; 0 = no limit. */
  llmTokensPerMinute: number;
  llmRequestsPerMinute: number;
}

export interface StreamBudget {
  concurrency: number;
  /** Each bound, for the start-up log and the docs; null when it does not apply. */
  bounds: { cpu: number; memory: number; llmTokens: number | null; llmRequests: number | null };
  limitedBy: 'cpu' | 'memory' | 'llm-tokens' | 'llm-requests' | 'floor' | 'ceiling';
  inputs: StreamBudgetInputs;
}

/** The derivation itself: pure, so that it can be tested and read. */
export function deriveStreamBudget(inputs: StreamBudgetInputs, cost: Readonly<StreamCost> = MEASURED_STREAM_COST): StreamBudget {
  // CPU one stream takes per second of streaming at the slowest pace allowed.
  const cpuPerStreamSecondUs = inputs.minStreamTokensPerSecond * cost.cpuPerTokenUs;
  const cpu = Math.floor((inputs.cores * CPU_HEADROOM * 1e6) / cpuPerStreamSecondUs);
  const memory = Math.floor((inputs.heapLimitBytes * HEAP_SHARE) / cost.bytesPerStream);
  // The rate budget is for all workers together; one worker never needs more slots than it can
  // feed: tokens per second of budget over a stream's pace, requests per second times how long
  // a request holds its slot at that pace.
  const llmTokens = inputs.llmTokensPerMinute > 0 ? Math.ceil(inputs.llmTokensPerMinute / 60 / inputs.minStreamTokensPerSecond) : null;
  const turnSeconds = cost.tokensPerAnswer / inputs.minStreamTokensPerSecond + TURN_OVERHEAD_S;
  const llmRequests = inputs.llmRequestsPerMinute > 0 ? Math.ceil((inputs.llmRequestsPerMinute / 60) * turnSeconds) : null;
  const candidates: Array<[StreamBudget['limitedBy'], number]> = [
    ['cpu', cpu],
    ['memory', memory],
    ...(llmTokens === null ? [] : ([['llm-tokens', llmTokens]] as Array<[StreamBudget['limitedBy'], number]>)),
    ...(llmRequests === null ? [] : ([['llm-requests', llmRequests]] as Array<[StreamBudget['limitedBy'], number]>)),
  ];
  let [limitedBy, concurrency] = candidates.reduce((low, next) => (next[1] < low[1] ? next : low));
  if (concurrency < MIN_CONCURRENCY) [limitedBy, concurrency] = ['floor', MIN_CONCURRENCY];
  if (concurrency > MAX_CONCURRENCY) [limitedBy, concurrency] = ['ceiling', MAX_CONCURRENCY];
  return { concurrency, bounds: { cpu, memory, llmTokens, llmRequests }, limitedBy, inputs };
}

/** The inputs of this process: its CPU quota (cgroup v2 `cpu.max`), V8's heap limit, the config. */
export function streamBudgetInputs(config: Config): StreamBudgetInputs {
  return {
    cores: Math.min(1, cgroupCpuQuota() ?? 1),
    heapLimitBytes: getHeapStatistics().heap_size_limit,
    minStreamTokensPerSecond: config.worker.minStreamTokensPerSecond,
    llmTokensPerMinute: config.limits.llmTokensPerMinute,
    llmRequestsPerMinute: config.limits.llmRequestsPerMinute,
  };
}

/** WORKER_CONCURRENCY when set, else the derived budget. */
export function workerConcurrency(config: Config): { concurrency: number; budget: StreamBudget | null } {
  if (config.worker.concurrency > 0) return { concurrency: config.worker.concurrency, budget: null };
  const budget = deriveStreamBudget(streamBudgetInputs(config));
  return { concurrency: budget.concurrency, budget };
}

/** Cores granted by a cgroup v2 CPU limit (a Kubernetes `resources.limits.cpu`); null when unlimited or unknown. */
export function cgroupCpuQuota(cpuMax: string | null = readCpuMax()): number | null {
  if (!cpuMax) return null;
  const [quota, period] = cpuMax.trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return null;
  const cores = Number(quota) / Number(period);
  return Number.isFinite(cores) && cores > 0 ? cores : null;
}

function readCpuMax(): string | null {
  try {
    return readFileSync('/sys/fs/cgroup/cpu.max', 'utf8');
  } catch {
    return null;
  }
}
