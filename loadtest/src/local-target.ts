import { LocalStack } from '@chat/stack';

export interface LocalTargetOptions {
  gateways: number;
  workers: number;
  /** Concurrent users of the tier: every one may have a turn streaming at once. */
  users: number;
}

export interface LocalTarget {
  url: string;
  stop(): Promise<void>;
}

/**
 * The local stack a campaign runs against: what `pnpm start` runs (its own Redis, the offline
 * model, N gateways sharing a port, M workers), with the offline model at its realistic pacing
 * (400 ms to the first token, 60 tokens/s), logs at warn (or `LOG_LEVEL`), and two settings a load test needs:
 *
 * - every virtual user comes from 127.0.0.1, so the per-address abuse limits (sessions and socket
 *   connects per minute) and the per-session turn limit are raised: with the defaults, the limiter,
 *   not the service, would be measured;
 * - the worker may stream a turn for every user at once.
 */
export async function startLocalTarget(options: LocalTargetOptions): Promise<LocalTarget> {
  const stack = new LocalStack({
    gateways: options.gateways,
    workers: options.workers,
    forwardOutput: true,
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      // 0: LocalStack picks it, and picks again if another process took it before the gateway bound it.
      PORT: '0',
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      OFFLINE_LLM_TTFT_MS: '400',
      OFFLINE_LLM_TOKENS_PER_SECOND: '60',
      WORKER_CONCURRENCY: String(Math.max(200, Math.ceil(options.users / options.workers) + 50)),
      TURNS_PER_MINUTE: '1000000',
      WS_CONNECTS_PER_MINUTE_PER_ADDRESS: '1000000',
      SESSIONS_PER_MINUTE_PER_ADDRESS: '1000000',
    },
  });
  const running = await stack.start();
  return { url: running.httpUrl, stop: () => stack.stop() };
}
