import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_FLAGS, connectHost } from '@chat/shared';
import { findFreePort, spawnRedisCluster, spawnRedisServer, type SpawnedRedis, type SpawnedRedisCluster } from '@chat/shared/dev';
import { ManagedProcess } from './child-process-runner.js';
import { PortInUseError, probePort } from './port-probe.js';

/** Where each part's built entry point is, relative to this file (stack/dist or stack/src). */
const ENTRY_POINTS = {
  gateway: fileURLToPath(new URL('../../gateway/dist/main.js', import.meta.url)),
  worker: fileURLToPath(new URL('../../worker/dist/main.js', import.meta.url)),
  offlineLlm: fileURLToPath(new URL('../../offline-llm/dist/main.js', import.meta.url)),
} as const;

export interface LocalStackOptions {
  /** Gateway processes, all on one port (SO_REUSEPORT). Default: 1. */
  gateways?: number;
  /** Worker processes. Default: 1. */
  workers?: number;
  /** Environment passed to every part (REDIS_URL, OPENAI_API_KEY, PORT, ...). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Forward the parts' log lines to this process's output. Default: true. */
  forwardOutput?: boolean;
  /** How long each part may take to say it is ready, ms (a loaded CI box is slow). Default: 20 000. */
  readyTimeoutMs?: number;
  /** How many of each part's latest log lines are kept for `recentOutput`. Default: 10. */
  keepLines?: number;
  /**
   * Spawn a local Redis Cluster (3 masters + 3 replicas on free loopback ports) instead of one
   * Redis, unless REDIS_CLUSTER_NODES is set. Default: false.
   */
  redisCluster?: boolean;
  /**
   * Where the spawned Redis keeps its data (append-only file; see spawnRedisServer), so that a
   * restart of it, or of the stack, keeps sessions and queued turns. The start command passes
   * LOCAL_REDIS_DATA_DIR. Default: nothing kept (tests).
   */
  redisDataDir?: string;
}

/** The start command's Redis data folder: `.data/redis/` at the repository root (gitignored). */
export const LOCAL_REDIS_DATA_DIR = fileURLToPath(new URL('../../.data/redis/', import.meta.url));

export interface RunningStack {
  /** http://host:port of the gateways. */
  httpUrl: string;
  wsUrl: string;
  /** The Redis URL, or the cluster's seed nodes (`host:port,...`). */
  redisUrl: string;
  /** Set when the stack spawned its own Redis. */
  spawnedRedis: SpawnedRedis | null;
  /** Set when the stack spawned its own Redis Cluster. */
  spawnedCluster: SpawnedRedisCluster | null;
  /** Set when no OPENAI_API_KEY was given and the offline model runs. */
  offlineLlmUrl: string | null;
  gateways: ManagedProcess[];
  workers: ManagedProcess[];
}

/**
 * Everything on one machine, as the README's start command and the multi-process tests run it:
 * a Redis (spawned on a free loopback port unless REDIS_URL is set), the offline model (unless
 * OPENAI_API_KEY is set), N gateways sharing one port, M workers.
 */
export class LocalStack {
  private running: RunningStack | null = null;
  private offlineLlm: ManagedProcess | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: LocalStackOptions = {}) {}

  get stack(): RunningStack {
    if (!this.running) throw new Error('the stack is not running');
    return this.running;
  }

  async start(): Promise<RunningStack> {
    const baseEnv: NodeJS.ProcessEnv = { ...(this.options.env ?? process.env) };
    const forwardOutput = this.options.forwardOutput ?? true;
    // Before anything is spawned: a gateway would join a port already served (SO_REUSEPORT).
    const gatewayPort = Number(baseEnv.PORT ?? 8088);
    if (gatewayPort !== 0) {
      const probeHost = connectHost(baseEnv.HOST ?? '0.0.0.0');
      const servedBy = await probePort(probeHost, gatewayPort);
      if (servedBy !== 'free') throw new PortInUseError(probeHost, gatewayPort, servedBy);
    }
    let spawnedRedis: SpawnedRedis | null = null;
    let spawnedCluster: SpawnedRedisCluster | null = null;
    if (this.options.redisCluster && !baseEnv.REDIS_CLUSTER_NODES) {
      spawnedCluster = await spawnRedisCluster({ detached: true });
      baseEnv.REDIS_CLUSTER_NODES = spawnedCluster.seedList;
      // A single-shard queue would be one hot slot: spread turns over the masters.
      baseEnv.QUEUE_SHARDS ??= '3';
    } else if (!baseEnv.REDIS_URL && !baseEnv.REDIS_CLUSTER_NODES) {
      spawnedRedis = await spawnRedisServer({ detached: true, ...(this.options.redisDataDir ? { dataDir: this.options.redisDataDir } : {}) });
      baseEnv.REDIS_URL = spawnedRedis.url;
    }
    const running: RunningStack = {
      httpUrl: '',
      wsUrl: '',
      redisUrl: baseEnv.REDIS_CLUSTER_NODES || baseEnv.REDIS_URL || '',
      spawnedRedis,
      spawnedCluster,
      offlineLlmUrl: null,
      gateways: [],
      workers: [],
    };
    this.running = running;
    try {
      if (!baseEnv.OPENAI_API_KEY && !baseEnv.OPENAI_BASE_URL) {
        // Unset: port 0, the model binds a free port itself and names it when ready (a port picked
        // here and bound later can be taken meanwhile on a busy machine); the workers get that one.
        baseEnv.OFFLINE_LLM_PORT ??= '0';
        baseEnv.OFFLINE_LLM_HOST ??= '127.0.0.1';
        this.offlineLlm = new ManagedProcess({
          name: 'offline-llm',
          command: process.execPath,
          args: [ENTRY_POINTS.offlineLlm],
          env: { ...baseEnv },
          forwardOutput,
          ...this.partOptions(),
        });
        await this.offlineLlm.ready;
        const port = this.offlineLlm.port;
        if (port === undefined) throw new Error('offline-llm was ready but did not say which port it serves');
        baseEnv.OFFLINE_LLM_PORT = String(port);
        running.offlineLlmUrl = `http://127.0.0.1:${port}/v1`;
      }
      let port = Number(baseEnv.PORT ?? 8088);
      baseEnv.PORT = String(port);
      const workerMetricsBase = Number(baseEnv.WORKER_METRICS_PORT ?? 9464);
      for (let i = 0; i < (this.options.workers ?? 1); i++) {
        running.workers.push(
          new ManagedProcess({
            name: `worker-${i + 1}`,
            command: process.execPath,
            args: [...SERVICE_NODE_FLAGS, ENTRY_POINTS.worker],
            // Each worker on the host needs its own metrics port; 0 lets the OS pick.
            env: { ...baseEnv, WORKER_METRICS_PORT: String(workerMetricsBase === 0 ? 0 : workerMetricsBase + i) },
            forwardOutput,
            ...this.partOptions(),
          }),
        );
      }
      const startGateway = (i: number): ManagedProcess => {
        const gateway = new ManagedProcess({
          name: `gateway-${i + 1}`,
          command: process.execPath,
          args: [...SERVICE_NODE_FLAGS, ENTRY_POINTS.gateway],
          env: { ...baseEnv },
          forwardOutput,
          ...this.partOptions(),
        });
        running.gateways.push(gateway);
        return gateway;
      };
      if (port === 0) {
        // PORT=0: a free port, picked here. uWS shares a port (SO_REUSEPORT) only when it was
        // bound by number, so the first gateway cannot bind 0 and have the others join; and a
        // port picked ahead can be taken before the gateway binds it on a busy machine. So the
        // first gateway starts alone, on another free port if its pick was taken meanwhile,
        // and the others join the port it holds.
        for (let attempt = 1; ; attempt++) {
          port = await findFreePort();
          baseEnv.PORT = String(port);
          const first = startGateway(0);
          try {
            await first.ready;
            break;
          } catch (err) {
            running.gateways.pop();
            if (attempt >= 5 || !/could not listen/.test(String(err))) throw err;
          }
        }
      }
      for (let i = running.gateways.length; i < (this.options.gateways ?? 1); i++) startGateway(i);
      await Promise.all([...running.workers, ...running.gateways].map((part) => part.ready));
      const host = baseEnv.HOST && baseEnv.HOST !== '0.0.0.0' ? baseEnv.HOST : '127.0.0.1';
      running.httpUrl = `http://${host}:${port}`;
      running.wsUrl = `ws://${host}:${port}`;
      return running;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The options every part is spawned with besides its own: ready timeout, lines kept. */
  private partOptions(): { readyTimeoutMs?: number; keepLines?: number } {
    return {
      ...(this.options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: this.options.readyTimeoutMs }),
      ...(this.options.keepLines === undefined ? {} : { keepLines: this.options.keepLines }),
    };
  }

  /** Each part's latest log lines (see `keepLines`), the model first, then workers and gateways. */
  recentOutput(): Array<{ part: string; lines: string[] }> {
    const parts = [this.offlineLlm, ...(this.running?.workers ?? []), ...(this.running?.gateways ?? [])];
    return parts.filter((part): part is ManagedProcess => part !== null).map((part) => ({ part: part.name, lines: part.recentOutput() }));
  }

  /** Stops gateways first (clients reconnect elsewhere), then workers, the model and Redis. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const running = this.running;
      if (!running) return;
      await Promise.all(running.gateways.map((part) => part.stop()));
      await Promise.all(running.workers.map((part) => part.stop()));
      await this.offlineLlm?.stop();
      await running.spawnedRedis?.stop();
      await running.spawnedCluster?.stop();
    })();
    return this.stopping;
  }
}
