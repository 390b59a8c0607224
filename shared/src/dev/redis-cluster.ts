import { spawnSync } from 'node:child_process';
import { findFreePort } from './free-port.js';
import { RedisBinaryMissingError, redisServerAvailable, spawnRedisServer, type SpawnedRedis } from './redis-server.js';

/** A local Redis Cluster of `redis-server` children on loopback, for development and tests. */
export interface SpawnedRedisCluster {
  /** Seed nodes as `REDIS_CLUSTER_NODES` takes them: `127.0.0.1:7001,127.0.0.1:7002,...`. */
  seedList: string;
  /** Every node, masters first as created (a master may later become a replica after a failover). */
  nodes: SpawnedRedis[];
  /** The node at `host:port`, e.g. to SIGKILL a master in a fault test. */
  node(port: number): SpawnedRedis | undefined;
  /** Stops every node and removes their directories. Safe to call twice. */
  stop(): Promise<void>;
}

export interface SpawnRedisClusterOptions {
  /** Masters; default 3. Each gets `replicasPerMaster` replicas (default 1): 6 processes in all. */
  masters?: number;
  replicasPerMaster?: number;
  /**
   * How long a master may be unreachable before its replica takes over (`cluster-node-timeout`).
   * Default 2000 ms: a fault test sees a failover in a few seconds, not Redis's default 15 s.
   */
  nodeTimeoutMs?: number;
  stdio?: 'ignore' | 'inherit';
  /** As for `spawnRedisServer`: own process group, stopped last by the launcher. */
  detached?: boolean;
  /** Extra `redis-server` arguments for every node. */
  extraArgs?: string[];
}

/**
 * Starts `masters × (1 + replicasPerMaster)` cluster-enabled `redis-server` processes on free
 * loopback ports and joins them with `redis-cli --cluster create`. Resolves once every slot is
 * served (`cluster_state:ok` on every node) and every replica has synced with its master, so
 * clients can connect at once and a failover loses only what was not replicated yet.
 */
export async function spawnRedisCluster(options: SpawnRedisClusterOptions = {}): Promise<SpawnedRedisCluster> {
  if (!redisServerAvailable()) throw new RedisBinaryMissingError();
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const count = masters * (1 + replicas);
  const nodes: SpawnedRedis[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push(await spawnClusterNode(options));
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await waitForClusterOk(nodes.map((n) => n.port), 30_000);
    if (replicas > 0) await waitForReplicasInSync(nodes.map((n) => n.port), 30_000);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  let stopping: Promise<void> | null = null;
  return {
    seedList: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    nodes,
    node: (port) => nodes.find((n) => n.port === port),
    stop() {
      stopping ??= Promise.all(nodes.map((n) => n.stop())).then(() => undefined);
      return stopping;
    },
  };
}

/**
 * One cluster node. Its bus port is chosen free as well (the default, port + 10000, may be taken
 * or out of range). A port taken between the check and the bind (another test's process) makes
 * the server exit at once: try again with new ports.
 */
async function spawnClusterNode(options: SpawnRedisClusterOptions): Promise<SpawnedRedis> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const busPort = await findFreePort();
    try {
      return await spawnRedisServer({
        stdio: options.stdio,
        detached: options.detached,
        extraArgs: [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2000),
          '--cluster-port', String(busPort),
          // A replica with stale data still takes over: losing a master must not stop the cluster.
          '--cluster-replica-validity-factor', '0',
          // Replicate at once: by default a master waits 5 s for more replicas before its first
          // (diskless) sync, and a master lost meanwhile took every write with it (a fault test
          // killing a master in its first seconds lost all of that master's sessions).
          '--repl-diskless-sync-delay', '0',
          ...(options.extraArgs ?? []),
        ],
      });
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/** Resolves once every node reports `cluster_state:ok` (all 16384 slots served). */
export async function waitForClusterOk(ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = ports.map((port) => spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '');
    if (states.every((s) => s.includes('cluster_state:ok'))) return;
    if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Resolves once every replica's link to its master is up (its first sync done): from then on a
 * master's writes reach its replica within the replication delay, as in a cluster that has run
 * for a while, and a failover loses only that window.
 */
export async function waitForReplicasInSync(ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const replication = ports.map((port) => spawnSync('redis-cli', ['-p', String(port), 'info', 'replication'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '');
    if (replication.every((info) => !/role:slave/.test(info) || /master_link_status:up/.test(info))) return;
    if (Date.now() > deadline) throw new Error(`the replicas did not finish their first sync within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
