import { randomBytes } from 'node:crypto';
import tap, { type Test } from 'tap';
import { ChatGateway } from '@chat/gateway';
import { OfflineLlmServer, type OfflineLlmOptions } from '@chat/offline-llm';
import { createLogger, loadConfig, openRedis, type Config, type ConfigOverrides, type Logger, type RedisClient, type Tracing } from '@chat/shared';
import { spawnRedisCluster, spawnRedisServer, type SpawnedRedis, type SpawnedRedisCluster } from '@chat/shared/dev';
import { ChatWorker } from '@chat/worker';
import { exitIfStillAlive } from './exit-guard.js';

export interface InProcessStackOptions {
  gateways?: number;
  workers?: number;
  /** Offline model pacing; default: instant, 30-token answers. */
  offline?: OfflineLlmOptions;
  /** Config overrides on top of the test defaults. */
  config?: ConfigOverrides;
  /** Reuse a Redis (several stacks in one test); default: spawn one for this stack. */
  redis?: SpawnedRedis;
  /**
   * Run on a local Redis Cluster (3 masters, 3 replicas) instead of one Redis. Default: the
   * `TEST_REDIS` environment variable, `cluster` or `single` (the suites that exercise Redis run
   * under both: see package.json's `test:cluster`).
   */
  redisMode?: 'single' | 'cluster';
  /** Reuse a cluster (several stacks in one test); implies cluster mode. */
  redisCluster?: SpawnedRedisCluster;
  /** Collect every part's log lines here (JSON strings) instead of discarding them. */
  logLines?: string[];
  /** Traces for each part (e.g. an in-memory exporter); default: off. */
  tracing?: (role: 'gateway' | 'worker') => Tracing;
}

export interface InProcessStack {
  config: Readonly<Config>;
  /** The stack's Redis; on a cluster, its first node (a master when the cluster was made). */
  redis: SpawnedRedis;
  /** The stack's Redis Cluster, in cluster mode. */
  cluster: SpawnedRedisCluster | null;
  /** A plain client on the stack's Redis (a cluster client in cluster mode), for assertions. */
  redisClient: RedisClient;
  offline: OfflineLlmServer;
  gateways: ChatGateway[];
  workers: ChatWorker[];
  httpUrl(gateway?: number): string;
  wsUrl(sessionId: string, clientId: string, gateway?: number): string;
  close(): Promise<void>;
}

/**
 * The whole service in this process, on real sockets and a real Redis spawned for the test:
 * the offline model, N gateways (each on its own free port) and M workers, all under a random
 * key prefix. Torn down when the test ends.
 *
 *   test ──HTTP/WS──▶ gateway[i] ──BullMQ──▶ worker[j] ──openai──▶ offline model
 *                        ▲                      │
 *                        └──── Redis pub/sub ◀──┘
 */
export async function startInProcessStack(t: Test, options: InProcessStackOptions = {}): Promise<InProcessStack> {
  const clusterMode = options.redisCluster !== undefined || (options.redisMode ?? testRedisMode()) === 'cluster';
  const cluster = clusterMode ? (options.redisCluster ?? (await sharedCluster())) : null;
  const redis = cluster ? cluster.nodes[0]! : (options.redis ?? (await spawnRedisServer()));
  const offline = new OfflineLlmServer({ ttftMs: 0, tokensPerSecond: 0, answerTokens: 30, ...options.offline });
  const offlinePort = await offline.listen(0, '127.0.0.1');
  const overrides = options.config ?? {};
  const config = loadConfig(
    {},
    {
      ...overrides,
      redis: { url: redis.url, prefix: `t${randomBytes(4).toString('hex')}`, ...(cluster ? { clusterNodes: cluster.seedList } : {}), ...overrides.redis },
      log: { level: 'silent', ...overrides.log },
      gateway: { host: '127.0.0.1', port: 0, ...overrides.gateway },
      worker: { metricsPort: 0, metricsHost: '127.0.0.1', chunkWindowMs: 0, backoffMs: 50, ...overrides.worker },
      llm: { baseUrl: `http://127.0.0.1:${offlinePort}/v1`, ...overrides.llm },
      shutdown: { timeoutMs: 3000, ...overrides.shutdown },
    },
  );
  const logger = options.logLines ? captureLogger(config.log.level, options.logLines) : undefined;
  const gateways: ChatGateway[] = [];
  const workers: ChatWorker[] = [];
  const redisClient = openRedis(cluster ? { kind: 'cluster', nodes: seedNodes(cluster) } : redis.url, { name: 'test-assertions' });
  let closed: Promise<void> | null = null;
  const stack: InProcessStack = {
    config,
    redis,
    cluster,
    redisClient,
    offline,
    gateways,
    workers,
    httpUrl: (gateway = 0) => `http://127.0.0.1:${gateways[gateway]!.port}`,
    wsUrl: (sessionId, clientId, gateway = 0) => `ws://127.0.0.1:${gateways[gateway]!.port}/ws/${sessionId}/${clientId}`,
    close() {
      closed ??= (async () => {
        await Promise.all(gateways.map((g) => g.close()));
        await Promise.all(workers.map((w) => w.close()));
        await offline.close();
        redisClient.disconnect();
        // A cluster is shared by the test file's stacks (each under its own key prefix).
        if (!cluster && !options.redis) await redis.stop();
      })();
      return closed;
    },
  };
  t.teardown(() => stack.close());
  for (let i = 0; i < (options.workers ?? 1); i++) {
    const worker = new ChatWorker({
      config,
      serveMetrics: true,
      ...(logger ? { logger: logger.child({ role: 'worker' }) } : {}),
      ...(options.tracing ? { tracing: options.tracing('worker') } : {}),
    });
    workers.push(worker);
    await worker.start();
  }
  for (let i = 0; i < (options.gateways ?? 1); i++) {
    const gateway = new ChatGateway({
      config,
      gatewayId: `gw${i}`,
      ...(logger ? { logger: logger.child({ role: 'gateway' }) } : {}),
      ...(options.tracing ? { tracing: options.tracing('gateway') } : {}),
    });
    gateways.push(gateway);
    await gateway.start();
  }
  return stack;
}

/** A logger built like the service's own (same redaction), writing lines into an array. */
function captureLogger(level: string, lines: string[]): Logger {
  return createLogger('test', level, { write: (line: string) => void lines.push(line) });
}

let fileCluster: Promise<SpawnedRedisCluster> | null = null;

/**
 * One local cluster for all the stacks of a test file: a cluster takes seconds to form, and the
 * stacks keep apart by key prefix. Stopped when the file's tests are done (a root teardown set up
 * before any test runs: one added from inside a running test is not run by tap at the end).
 */
export function sharedCluster(): Promise<SpawnedRedisCluster> {
  fileCluster ??= spawnRedisCluster();
  return fileCluster;
}

if (testRedisMode() === 'cluster') {
  tap.teardown(async () => {
    if (fileCluster) await (await fileCluster).stop();
    // Every test and teardown is done: see exitIfStillAlive.
    exitIfStillAlive();
  });
}

/** Which Redis the stack tests run on: `TEST_REDIS=cluster` for a local Redis Cluster. */
export function testRedisMode(): 'single' | 'cluster' {
  return process.env.TEST_REDIS === 'cluster' ? 'cluster' : 'single';
}

function seedNodes(cluster: SpawnedRedisCluster): Array<{ host: string; port: number }> {
  return cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
}
