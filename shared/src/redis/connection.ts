import { Cluster, Redis, type ClusterNode, type ClusterOptions, type Command, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { WriteCoalescer } from './write-coalescer.js';
import { SLOT_MAP_FALLBACK_MS, shareSlotMapWatch } from './slot-map-watch.js';

export type { Redis } from 'ioredis';
export type { Cluster } from 'ioredis';

/**
 * A request/response connection to the service's Redis: one server, or a Redis Cluster. Both
 * speak the same commands; on a cluster, ioredis routes each command (and each script, MULTI and
 * pipeline) by the hash slot of its keys, so every multi-key operation of the service keeps its
 * keys in one slot (see `RedisKeys`).
 */
export type RedisClient = Redis | Cluster;

/**
 * Where Redis is: a URL (`redis://` or `rediss://` for TLS, credentials in the URL), or the seed
 * nodes of a Redis Cluster (`REDIS_CLUSTER_NODES`) with the credentials and TLS every node shares.
 */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: ClusterNode[]; username?: string; password?: string; tls?: boolean };

export interface RedisConnectionOptions {
  /** Shown in CLIENT LIST and logs: which part of which process holds the connection. */
  name: string;
  /**
   * BullMQ requires `maxRetriesPerRequest: null` on connections it blocks on; request/response
   * clients instead fail a command after a few reconnect attempts so an HTTP request gets a
   * clear 503 rather than hanging while Redis is away. Default: false.
   */
  forBullmq?: boolean;
  /**
   * A connection that only subscribes to session channels (SSUBSCRIBE). On a cluster it keeps one
   * subscriber connection per master (ioredis `shardedSubscribers`): a session's frames travel
   * only from the shard that owns the session. Default: false.
   */
  shardedSubscriber?: boolean;
  logger?: Logger;
}

/** Reconnect with exponential backoff capped at 2 s, forever: a restarted Redis is found again by itself. */
const reconnectDelay = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 6), 2000);

/**
 * One place that opens Redis connections, so every connection reconnects the same way. A URL
 * opens one server; a cluster target opens an ioredis `Cluster`.
 */
export function openRedis(target: RedisTarget | string, options: RedisConnectionOptions): RedisClient {
  const resolved: RedisTarget = typeof target === 'string' ? { kind: 'single', url: target } : target;
  const client = resolved.kind === 'single' ? createRedisConnection(resolved.url, options) : openCluster(resolved, options);
  return client;
}

/** A connection to one Redis server (the single-node default, and tests' direct clients). */
export function createRedisConnection(url: string, options: RedisConnectionOptions): Redis {
  const redis = new CoalescingRedis(url, nodeOptions(options));
  watchErrors(redis, options);
  return redis;
}

/**
 * A connection to one server whose commands of one event-loop turn leave in one socket write
 * (see WriteCoalescer): a busy worker or gateway issues many commands per loop turn (the scripts
 * of many turns answered by one socket read of replies), and one `write` system call each was
 * ~10 % of a worker's CPU at the turn-rate bench. A Cluster's node connections do the same
 * (`coalesceWrites`, `openCluster`). BullMQ's blocking connections are `duplicate()`s, plain
 * `Redis`: a blocking command has nothing to share a write with.
 */
class CoalescingRedis extends Redis {
  private writes: WriteCoalescer | undefined;

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    this.coalescer().hold();
    return super.sendCommand(command, stream);
  }

  /** Created on first use: ioredis may send its handshake from inside its own constructor, before this class's fields exist. */
  coalescer(): WriteCoalescer {
    return (this.writes ??= new WriteCoalescer(this));
  }
}

/**
 * Runs `hook` once this loop turn is over, just before the connection writes the loop turn's
 * commands (see `WriteCoalescer.beforeRelease`); false when the client does not coalesce its
 * writes (a cluster, whose node connections each write on their own), and then nothing is
 * scheduled.
 */
export function beforeLoopTurnWrite(client: RedisClient, hook: () => void): boolean {
  if (!(client instanceof CoalescingRedis)) return false;
  client.coalescer().beforeRelease(hook);
  return true;
}

function nodeOptions(options: RedisConnectionOptions): RedisOptions {
  return {
    connectionName: options.name,
    enableReadyCheck: true,
    retryStrategy: reconnectDelay,
    maxRetriesPerRequest: options.forBullmq ? null : 2,
    lazyConnect: false,
  };
}

function openCluster(target: Extract<RedisTarget, { kind: 'cluster' }>, options: RedisConnectionOptions): Cluster {
  const clusterOptions: ClusterOptions = {
    redisOptions: {
      ...nodeOptions(options),
      username: target.username,
      password: target.password,
      ...(target.tls ? { tls: {} } : {}),
    },
    clusterRetryStrategy: reconnectDelay,
    enableReadyCheck: true,
    // Writes and reads go to masters: a replica may lag (a turn's frames, its state), and the
    // service reads what it just wrote.
    scaleReads: 'master',
    // A failover takes `cluster-node-timeout` plus an election: keep redirecting commands
    // (MOVED, CLUSTERDOWN, a dead master's connection) for a few seconds rather than failing them.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    retryDelayOnMoved: 0,
    maxRedirections: 32,
    // Notice a promoted replica or moved slots without waiting for a command to fail: one client
    // per process asks for the slot map every 2 s on behalf of all of them, and each whose map
    // differs re-reads it (`shareSlotMapWatch`); each re-reads on its own only this seldom.
    slotsRefreshInterval: SLOT_MAP_FALLBACK_MS,
    slotsRefreshTimeout: 2000,
    shardedSubscribers: options.shardedSubscriber ?? false,
    // No auto-pipelining: each node connection already sends a loop turn's commands in one write
    // (`coalesceWrites`), and auto-pipelining on top built a Pipeline object per node per tick and
    // held a node's next batch until the previous one was answered. Without it, on the local
    // cluster: +23-37 % turns/s, -18-32 % service CPU per turn (docs/performance.md, round 11).
    enableAutoPipelining: false,
  };
  const cluster = new SettlingCluster(target.nodes, clusterOptions);
  watchErrors(cluster, options);
  return cluster;
}

/**
 * An ioredis `Cluster` whose `connect()` always settles: once the cluster is ready, or when it
 * ends. Its duplicates (BullMQ's blocking connections) are of the same kind.
 *
 * Why: ioredis's `Cluster.connect()` promise is left pending for good when the ready check of
 * that attempt finds `cluster_state:fail` (a master has died and its replica is not promoted
 * yet): the client disconnects and reconnects by itself, and becomes ready again, but through
 * another `connect()` call whose promise nobody holds. BullMQ awaits `connect()` on a worker's
 * blocking connection when its BZPOPMIN outlasts its block time by a second (it then drops
 * and reopens that connection): during a failover that is the cluster-down window, and the
 * worker then waits for ever, taking no job from that queue shard again
 * (`shared/test/cluster-connect.test.ts`, `stack/test/cluster-failover-block.test.ts`).
 *
 * And a command its caller gave up on by disconnecting the client never runs after the client
 * connects again (see `refuseIfAbandoned`).
 */
class SettlingCluster extends Cluster {
  private readonly seeds: ClusterNode[];

  /** `duplicate`: made by `duplicate()` (BullMQ's blocking connections), so no slot-map watcher. */
  constructor(nodes: ClusterNode[], options: ClusterOptions, duplicate = false) {
    // ioredis's constructor calls connect() already (unless lazyConnect): see pendingConnects.
    super(nodes, options);
    this.seeds = nodes;
    shareSlotMapWatch(this, nodes, !duplicate);
    // Nodes join the pool after the constructor (the first connect resolves the seeds first).
    this.on('+node', (node: Redis) => coalesceWrites(node, this));
    this.on('ready', () => settleWaitingConnects(this));
    this.on('end', () => settleWaitingConnects(this, new Error('Connection is closed.')));
  }

  /**
   * As ioredis's, and a caller's disconnect (not ioredis's own, `disconnect(true)`, between
   * reconnect attempts) ends the commands sent before it: see `refuseIfAbandoned`.
   */
  override disconnect(reconnect = false): void {
    if (!reconnect) disconnectsOf.set(this, (disconnectsOf.get(this) ?? 0) + 1);
    super.disconnect(reconnect);
  }

  /** As ioredis's, for commands not abandoned by a disconnect since they were first sent. */
  override sendCommand(command: Command, stream?: Parameters<Cluster['sendCommand']>[1], node?: Parameters<Cluster['sendCommand']>[2]): unknown {
    if (refuseIfAbandoned(this, command)) return command.promise;
    return super.sendCommand(command, stream, node);
  }

  override connect(): Promise<void> {
    const attempt = super.connect();
    return new Promise<void>((resolve, reject) => {
      const waiting = waitingConnects(this);
      const settle = (err?: Error): void => {
        if (!waiting.delete(settle)) return;
        if (err) reject(err);
        else resolve();
      };
      waiting.add(settle);
      attempt.then(
        () => settle(),
        (err: unknown) => settle(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }

  /** As ioredis's, but a `SettlingCluster` (BullMQ passes `{ connectionName }` as the first argument: not a node list). */
  override duplicate(overrideStartupNodes: unknown = [], overrideOptions: ClusterOptions = {}): Cluster {
    const nodes = Array.isArray(overrideStartupNodes) && overrideStartupNodes.length > 0 ? (overrideStartupNodes as ClusterNode[]) : this.seeds.slice();
    return new SettlingCluster(nodes, { ...this.options, ...overrideOptions }, true);
  }
}

/**
 * Makes one of a cluster's node connections send the commands of one event-loop turn in one
 * socket write, as `CoalescingRedis` does for a single server (see WriteCoalescer). ioredis makes
 * the node connections itself (plain `Redis`), so its `sendCommand` is wrapped as the node joins
 * the pool. Without it every command to a master was its own `write` system call: on a cluster
 * that was a tenth of a worker's CPU at the turn-rate bench. It is also how commands to many
 * sessions' keys (a sweep) are batched per master: the cluster clients do not auto-pipeline.
 */
function coalesceWrites(node: Redis, cluster: Cluster): void {
  const writes = new WriteCoalescer(node);
  const send = node.sendCommand.bind(node);
  node.sendCommand = (command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown => {
    // A retry ioredis sends straight to the node once the cluster is ready again.
    if (refuseIfAbandoned(cluster, command)) return command.promise;
    writes.hold();
    return send(command, stream);
  };
}

/** How many times the caller disconnected each `SettlingCluster` (kept outside: see pendingConnects). */
const disconnectsOf = new WeakMap<Cluster, number>();

/** The caller disconnects a command was first sent under (a property of the command: one read per send). */
const SENT_UNDER = Symbol('disconnects when first sent');

/**
 * Refuses (rejects, and returns true) a command first sent before the cluster client's latest
 * disconnect by its caller; stamps a command sent for the first time.
 *
 * Why: ioredis retries a command whose node connection closed, or that met CLUSTERDOWN, on a
 * timer (`retryDelayOnFailover`, `retryDelayOnClusterDown`) that a disconnect does not cancel;
 * fired after the caller connected again, it parks the command in the offline queue, and the
 * command runs once the cluster is ready. BullMQ's block watchdog disconnects a worker's
 * blocking connection when its BZPOPMIN outlasts the block (a master died under it) and blocks
 * anew after the reconnect: the old BZPOPMIN then ran on the promoted master ahead of the new
 * one, took the marker of the first job queued after the failover and handed it to nobody, and
 * that job waited for BullMQ's next block, up to 10 s (`shared/test/cluster-stale-commands.test.ts`).
 * Rejected with an `AbandonedCommandError`, which ioredis passes on to the caller without
 * retrying (as its "Too many Cluster redirections" naming it, when the command's redirection
 * budget was spent on the way). Any command of a caller's can be refused so, scripts and
 * pipelines included; a script's NOSCRIPT fallback and everything sent after the disconnect are
 * new commands, stamped anew.
 */
function refuseIfAbandoned(cluster: Cluster, command: Command): boolean {
  const current = disconnectsOf.get(cluster) ?? 0;
  const stamped = command as Command & { [SENT_UNDER]?: number };
  const sentUnder = stamped[SENT_UNDER];
  if (sentUnder === undefined) {
    stamped[SENT_UNDER] = current;
    return false;
  }
  if (sentUnder === current) return false;
  command.reject(new AbandonedCommandError(command.name));
  return true;
}

/**
 * A command refused because its cluster client was disconnected after it was sent. Its message
 * starts like a closed connection's (`isRedisUnavailableError`), but is not ioredis's own
 * "Connection is closed.", which ioredis would retry once more instead of passing it on.
 */
export class AbandonedCommandError extends Error {
  constructor(commandName: string) {
    super(`Connection is closed: ${commandName} was sent before the client was disconnected, and is not sent again after the reconnect`);
    this.name = 'AbandonedCommandError';
  }
}

/**
 * A `SettlingCluster`'s `connect()` calls not settled yet, settled all at once by its next
 * `ready` or `end` (one listener per event for all of them: the client's own reconnects call
 * `connect()` too, every couple of seconds while the cluster is down). Kept outside the instance:
 * the first call comes from ioredis's constructor, before the subclass's fields exist.
 */
const pendingConnects = new WeakMap<Cluster, Set<(err?: Error) => void>>();

function waitingConnects(cluster: Cluster): Set<(err?: Error) => void> {
  let waiting = pendingConnects.get(cluster);
  if (!waiting) {
    waiting = new Set();
    pendingConnects.set(cluster, waiting);
  }
  return waiting;
}

function settleWaitingConnects(cluster: Cluster, err?: Error): void {
  for (const settle of [...waitingConnects(cluster)]) settle(err);
}

function watchErrors(client: RedisClient, options: RedisConnectionOptions): void {
  const logger = options.logger;
  if (!logger) {
    client.on('error', () => {});
    return;
  }
  let lastError = '';
  client.on('error', (err: Error) => {
    // ioredis repeats the same error on every reconnect attempt; log each distinct one once.
    if (err.message !== lastError) logger.warn({ err: err.message, connection: options.name }, 'redis connection error');
    lastError = err.message;
  });
  client.on('ready', () => {
    if (lastError) logger.info({ connection: options.name }, 'redis connection restored');
    lastError = '';
  });
}

/** Whether a client talks to a Redis Cluster. */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}

/**
 * The servers a command meant for every node must reach (SCRIPT LOAD, CLIENT KILL in tests):
 * the masters of a cluster, or the one server.
 */
export function masterNodes(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/** Parses `REDIS_CLUSTER_NODES` (`host:port,host:port,...`; IPv6 as `[::1]:7000`). */
export function parseClusterNodes(list: string): Array<{ host: string; port: number }> {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(entry);
      if (!match) throw new TypeError(`invalid cluster node "${entry}": expected host:port`);
      const port = Number(match[3]);
      if (port < 1 || port > 65535) throw new TypeError(`invalid cluster node "${entry}": port out of range`);
      return { host: match[1] ?? match[2]!, port };
    });
}

/**
 * Whether an error means "Redis is not reachable right now" (as opposed to a bug): the REST
 * layer answers those with 503 so clients retry, instead of 500.
 */
export function isRedisUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    err.name === 'ClusterAllFailedError' ||
    /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Stream isn't writeable|LOADING|CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections|Failed to refresh slots cache/.test(err.message)
  );
}
