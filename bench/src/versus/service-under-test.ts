import { startBenchStack } from '../bench-stack.js';
import { OVERHEAD_MODEL_ENV } from '../scenarios/overhead.js';

/**
 * The offline model's pacing for both services: the bench's realistic setting (400 ms to the
 * first token, 60 tokens/s, every answer 120 tokens), so each turn costs the model the same.
 */
export const VERSUS_MODEL_ENV: Readonly<Record<string, string>> = Object.freeze({ ...OVERHEAD_MODEL_ENV });

/** A process of a running service and whether its CPU counts as the service's. */
export interface MeasuredProcess {
  role: string;
  pid: number;
  /** false for the offline model (and anything else that stands in for the outside world). */
  service: boolean;
}

/** One running service, either side, as the comparison drives and measures it. */
export interface ServiceUnderTest {
  httpUrl: string;
  wsUrl: string;
  processes: MeasuredProcess[];
  /** How it was started (environment, command), for the report. */
  config: Record<string, string>;
  /** Stops it and everything it started. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * This service as the bench starts it (one gateway, one worker, its own Redis and offline model:
 * `startBenchStack`, with the bench's raised abuse limits and worker concurrency for the load).
 */
export async function startOurService(sessions: number): Promise<ServiceUnderTest> {
  const stack = await startBenchStack({
    gateways: 1,
    workers: 1,
    env: { ...VERSUS_MODEL_ENV, WORKER_CONCURRENCY: String(Math.max(200, sessions + 100)) },
  });
  return {
    httpUrl: stack.running.httpUrl,
    wsUrl: stack.running.wsUrl,
    processes: stack.processes.map((p) => ({ ...p, service: p.role !== 'offline-llm' })),
    config: { layout: '1 gateway × 1 worker', ...stack.env },
    stop: () => stack.stop(),
  };
}
