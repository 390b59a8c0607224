import type { Test } from 'tap';
import { LocalStack, type RunningStack } from '../../src/local-stack.js';

export interface LocalStackForTestOptions {
  gateways: number;
  workers: number;
  /** Environment on top of the defaults below (config variables from ENV_TABLE). */
  env?: Record<string, string>;
  /** On a local Redis Cluster (3 masters, 3 replicas) spawned for the test. Default: `TEST_REDIS=cluster`. */
  redisCluster?: boolean;
  /** Keep Redis's data there, as the start command does (default: a throwaway Redis). */
  redisDataDir?: string;
  /**
   * The parts' log level (default: `STACK_TEST_LOG_LEVEL`, else warn). A fault test that may
   * fail on a loaded CI box asks for `debug`: nothing is printed unless the test fails.
   */
  logLevel?: 'debug' | 'info' | 'warn';
}

/** The latest log lines kept per part, printed when the test fails. */
const LINES_SHOWN_ON_FAILURE = 300;

/**
 * The start command's layout as child processes (Redis, the offline model, gateways sharing a
 * free loopback port, workers), stopped when the test ends. Quiet (`LOG_LEVEL=warn`), and each
 * worker serves /health on a port the OS picks (told in its ready message): ports picked ahead
 * could be taken by then on a busy test box. Five processes starting at once on a 2-core box
 * that also runs other test files (or a CPU hog) get 120 s to be ready. `stop()` ends it early.
 * When the test fails, each part's latest log lines are printed as comments: a failure that
 * happens once in twenty CI runs is diagnosed from that run's output, not reproduced.
 */
export async function startLocalStack(t: Test, options: LocalStackForTestOptions): Promise<RunningStack & { stop(): Promise<void> }> {
  const local = new LocalStack({
    gateways: options.gateways,
    workers: options.workers,
    // STACK_TEST_OUTPUT=1 shows the parts' log lines (diagnosing a failed run).
    forwardOutput: process.env.STACK_TEST_OUTPUT === '1',
    readyTimeoutMs: 120_000,
    keepLines: LINES_SHOWN_ON_FAILURE,
    redisCluster: options.redisCluster ?? process.env.TEST_REDIS === 'cluster',
    ...(options.redisDataDir ? { redisDataDir: options.redisDataDir } : {}),
    env: {
      PATH: process.env.PATH,
      // A free port, picked again if taken before the first gateway binds it (see LocalStack).
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.STACK_TEST_LOG_LEVEL ?? options.logLevel ?? 'warn',
      WORKER_METRICS_PORT: '0',
      ...options.env,
    },
  });
  t.teardown(async () => {
    // Read before stopping: the parts' shutdown lines would push out what led to the failure.
    const failed = !t.passing();
    const output = failed ? local.recentOutput() : [];
    await local.stop();
    for (const { part, lines } of output) {
      t.comment(`${part}: its last ${lines.length} log lines before the failure\n${lines.join('\n')}`);
    }
  });
  const running = await local.start();
  // Stops every process (gateways first); safe to call again at teardown.
  return Object.assign(running, { stop: () => local.stop() });
}
