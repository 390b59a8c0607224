import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { ChatGateway } from '@chat/gateway';
import { OfflineLlmServer, type OfflineLlmOptions } from '@chat/offline-llm';
import { createLogger, createRedisConnection, loadConfig, type Config, type ConfigOverrides, type Logger, type Redis, type Tracing } from '@chat/shared';
import { spawnRedisServer, type SpawnedRedis } from '@chat/shared/dev';
import { ChatWorker } from '@chat/worker';

export interface InProcessStackOptions {
  gateways?: number;
  workers?: number;
  /** Offline model pacing; default: instant, 30-token answers. */
  offline?: OfflineLlmOptions;
  /** Config overrides on top of the test defaults. */
  config?: ConfigOverrides;
  /** Reuse a Redis (several stacks in one test); default: spawn one for this stack. */
  redis?: SpawnedRedis;
  /** Collect every part's log lines here (JSON strings) instead of discarding them. */
  logLines?: string[];
  /** Traces for each part (e.g. an in-memory exporter); default: off. */
  tracing?: (role: 'gateway' | 'worker') => Tracing;
}

export interface InProcessStack {
  config: Readonly<Config>;
  redis: SpawnedRedis;
  /** A plain client on the stack's Redis, for assertions. */
  redisClient: Redis;
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
  const redis = options.redis ?? (await spawnRedisServer());
  const offline = new OfflineLlmServer({ ttftMs: 0, tokensPerSecond: 0, answerTokens: 30, ...options.offline });
  const offlinePort = await offline.listen(0, '127.0.0.1');
  const overrides = options.config ?? {};
  const config = loadConfig(
    {},
    {
      ...overrides,
      redis: { url: redis.url, prefix: `t${randomBytes(4).toString('hex')}`, ...overrides.redis },
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
  const redisClient = createRedisConnection(redis.url, { name: 'test-assertions' });
  let closed: Promise<void> | null = null;
  const stack: InProcessStack = {
    config,
    redis,
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
        if (!options.redis) await redis.stop();
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
