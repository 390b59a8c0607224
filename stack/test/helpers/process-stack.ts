import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { OfflineLlmServer, type OfflineLlmOptions } from '@chat/offline-llm';
import { createRedisConnection, type Redis } from '@chat/shared';
import { spawnRedisServer, type SpawnedRedis } from '@chat/shared/dev';
import { ManagedProcess } from '../../src/child-process-runner.js';

const ENTRY_POINTS = {
  gateway: fileURLToPath(new URL('../../../gateway/dist/main.js', import.meta.url)),
  worker: fileURLToPath(new URL('../../../worker/dist/main.js', import.meta.url)),
};

export interface ProcessStackOptions {
  gateways?: number;
  workers?: number;
  /** Offline model pacing (the model runs in this process; it is not under test). */
  offline?: OfflineLlmOptions;
  /** Extra environment for every gateway and worker. */
  env?: Record<string, string>;
}

/** One gateway or worker child process and every line it wrote. */
export interface StackPart {
  name: string;
  process: ManagedProcess;
  lines: string[];
  /** Set when the process exited before the test stopped it. */
  unexpectedExit: string | null;
}

export interface ProcessStack {
  /** The Redis now running (a new one after `restartRedis`), always on `redisPort`. */
  redis: SpawnedRedis;
  redisPort: number;
  prefix: string;
  offline: OfflineLlmServer;
  gateways: StackPart[];
  workers: StackPart[];
  gatewayPorts: number[];
  httpUrl(gateway?: number): string;
  wsUrl(sessionId: string, clientId: string, gateway?: number): string;
  /** A client on the stack's Redis that reconnects by itself (it survives a restart). */
  redisClient: Redis;
  /** Stops Redis: `SHUTDOWN NOSAVE` (everything in it is gone), or SIGKILL. */
  stopRedis(how?: 'shutdown-nosave' | 'sigkill'): Promise<void>;
  /** Starts a new, empty redis-server on the same port. */
  startRedis(): Promise<void>;
  /** Lines that show a crash or an unhandled error, from any part. */
  crashLines(): string[];
  /** Parts that exited on their own. */
  exits(): string[];
  /** Writes each part's lines to `<dir>/<part>.log` (for a person reading a failure). */
  dumpLogs(dir: string): void;
  close(): Promise<void>;
}

/**
 * The service as separate processes, so that a crash is a dead process rather than a dead test:
 * a redis-server this helper can stop and restart on the same port, each gateway its own
 * process on its own port (so a test can tell which gateway answers), workers as processes, and
 * the offline model in this process. Every line the parts write is kept for assertions.
 */
export async function startProcessStack(t: Test, options: ProcessStackOptions = {}): Promise<ProcessStack> {
  let redis = await spawnRedisServer();
  const redisPort = redis.port;
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const offline = new OfflineLlmServer({ ttftMs: 0, tokensPerSecond: 0, answerTokens: 30, ...options.offline });
  const offlinePort = await offline.listen(0, '127.0.0.1');
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    REDIS_URL: redis.url,
    REDIS_PREFIX: prefix,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    OPENAI_BASE_URL: `http://127.0.0.1:${offlinePort}/v1`,
    WORKER_METRICS_HOST: '127.0.0.1',
    WORKER_METRICS_PORT: '0',
    CHUNK_WINDOW_MS: '0',
    JOB_BACKOFF_MS: '50',
    SHUTDOWN_TIMEOUT_MS: '3000',
    TURNS_PER_MINUTE: '100000',
    SESSIONS_PER_MINUTE_PER_ADDRESS: '100000',
    WS_CONNECTS_PER_MINUTE_PER_ADDRESS: '100000',
    ...options.env,
  };
  let stopping = false;
  const parts: StackPart[] = [];
  const spawnPart = (name: string, entry: string, env: NodeJS.ProcessEnv): StackPart => {
    // A generous start-up limit: on a loaded 2-core box a worker can take many seconds to be ready.
    const managed = new ManagedProcess({ name, command: process.execPath, args: [entry], env, forwardOutput: false, readyTimeoutMs: 60_000 });
    const part: StackPart = { name, process: managed, lines: [], unexpectedExit: null };
    // ManagedProcess reads the streams too; a second reader sees the same data.
    createInterface({ input: managed.child.stdout! }).on('line', (line) => part.lines.push(line));
    createInterface({ input: managed.child.stderr! }).on('line', (line) => part.lines.push(`stderr: ${line}`));
    managed.child.once('exit', (code, signal) => {
      if (!stopping) part.unexpectedExit = `${name} exited with code ${String(code)} signal ${String(signal)}`;
    });
    parts.push(part);
    return part;
  };
  const redisClient = createRedisConnection(redis.url, { name: 'test-assertions' });
  const gatewayPorts: number[] = [];
  const gateways: StackPart[] = [];
  const workers: StackPart[] = [];

  let closed: Promise<void> | null = null;
  const stack: ProcessStack = {
    get redis() {
      return redis;
    },
    redisPort,
    prefix,
    offline,
    gateways,
    workers,
    gatewayPorts,
    httpUrl: (gateway = 0) => `http://127.0.0.1:${gatewayPorts[gateway]}`,
    wsUrl: (sessionId, clientId, gateway = 0) => `ws://127.0.0.1:${gatewayPorts[gateway]}/ws/${sessionId}/${clientId}`,
    redisClient,
    async stopRedis(how = 'shutdown-nosave') {
      const exited = new Promise<void>((resolve) => {
        if (redis.process.exitCode !== null || redis.process.signalCode !== null) resolve();
        else redis.process.once('exit', () => resolve());
      });
      if (how === 'sigkill') redis.process.kill('SIGKILL');
      else {
        const admin = createRedisConnection(redis.url, { name: 'test-admin' });
        // The server closes the connection as it shuts down: the command never gets a reply.
        await admin.call('SHUTDOWN', 'NOSAVE').catch(() => {});
        admin.disconnect();
      }
      await exited;
    },
    async startRedis() {
      const old = redis;
      redis = await spawnRedisServer({ port: redisPort });
      await old.stop();
    },
    crashLines() {
      return parts.flatMap((part) =>
        part.lines
          .filter((line) => {
            if (/unhandled|uncaught|UnhandledPromiseRejection|FATAL ERROR|heap out of memory|^stderr: \s+at /i.test(line)) return true;
            try {
              return (JSON.parse(line) as { level?: number }).level === 60;
            } catch {
              return line.startsWith('stderr:') && /Error|Exception/.test(line);
            }
          })
          .map((line) => `${part.name}: ${line.slice(0, 300)}`),
      );
    },
    exits() {
      return parts.flatMap((part) => (part.unexpectedExit ? [part.unexpectedExit] : []));
    },
    dumpLogs(dir) {
      mkdirSync(dir, { recursive: true });
      for (const part of parts) writeFileSync(join(dir, `${part.name}.log`), `${part.lines.join('\n')}\n`);
    },
    close() {
      closed ??= (async () => {
        stopping = true;
        await Promise.all(gateways.map((part) => part.process.stop(5000)));
        await Promise.all(workers.map((part) => part.process.stop(5000)));
        await offline.close();
        redisClient.disconnect();
        await redis.stop();
      })();
      return closed;
    },
  };
  t.teardown(() => stack.close());

  try {
    for (let i = 0; i < (options.workers ?? 1); i++) workers.push(spawnPart(`worker-${i}`, ENTRY_POINTS.worker, baseEnv));
    // Each gateway binds a port the OS picks and tells it in its ready message: a port picked
    // ahead could be taken by then on a busy test box.
    for (let i = 0; i < (options.gateways ?? 1); i++) gateways.push(spawnPart(`gateway-${i}`, ENTRY_POINTS.gateway, { ...baseEnv, PORT: '0' }));
    await Promise.all(parts.map((part) => part.process.ready));
    for (const gateway of gateways) gatewayPorts.push(gateway.process.port!);
  } catch (err) {
    const output = parts.map((part) => `${part.name}:\n${part.lines.slice(-20).join('\n')}`).join('\n');
    await stack.close();
    throw new Error(`the process stack did not start: ${err instanceof Error ? err.message : String(err)}\n${output}`);
  }
  return stack;
}
