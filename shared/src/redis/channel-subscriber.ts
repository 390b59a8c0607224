/// <reference path="../types/cluster-key-slot.d.ts" />
import { EventEmitter } from 'node:events';
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRedisConnection, type RedisTarget } from './connection.js';

/**
 * What a gateway hears its session channels (and readiness canaries) on: Redis 7 sharded pub/sub
 * (`SSUBSCRIBE`; workers `SPUBLISH` from the frame script). On one Redis that is one connection.
 * On a cluster a channel lives in its hash slot like a key, so a session's frames travel only on
 * the master that owns the session (never broadcast over the cluster bus): this holds one
 * subscriber connection per master and subscribes each channel on the master of its slot.
 *
 * It tells its user which channels may be missing frames, per master: `lost` names the channels
 * of a connection that dropped (or whose slot changed master), `restored` names them again once
 * the connection that serves them now is up. The session relay answers `lost` by holding those
 * sessions' frames and `restored` by subscribing them again and filling their holes from the
 * turn logs, so a failover or a slot migration costs a hole fill, not a lost frame; and sessions
 * on the other masters stream on meanwhile (a master's death holds only its own sessions for
 * `cluster-node-timeout` and the election, not every session of the gateway).
 *
 * Why not ioredis's own `shardedSubscribers`: the relay needs to know exactly when frames may have
 * been missed, and the library does not say (a moved slot, for one, is only noticed later). The
 * topology comes from the gateway's cluster client (`CLUSTER SLOTS`, re-read within 2 s of a
 * change by the process's slot-map watch, and on every redirection); the connections are plain
 * ones, resubscribed by ioredis on reconnect.
 *
 * Events: `messageBuffer` (channel, message as Buffers: nothing is decoded on the frame path),
 * `ready` (once, when every connection is first up), `lost` (channels), `restored` (channels).
 */
export class ChannelSubscriber extends EventEmitter {
  /** Subscriber connections by node (`host:port`; `single` on one Redis). */
  private readonly connections = new Map<string, Redis>();
  /** Every subscribed channel and the node it is subscribed on. */
  private readonly channels = new Map<string, string>();
  /** Nodes whose connection dropped after it had been ready, and is not ready again yet. */
  private readonly lostNodes = new Set<string>();
  /** Nodes whose connection was ready at least once (a loss before that misses nothing). */
  private readonly readyOnce = new Set<string>();
  /** Channels reported `lost` and not yet `restored`. */
  private readonly owed = new Set<string>();
  /** Every connection was ready once: before that, the subscriber is still connecting. */
  private everReady = false;
  private closed = false;

  private constructor(
    private readonly target: RedisTarget,
    /** The cluster client whose slot map says which master owns a channel; null on one Redis. */
    private readonly cluster: Cluster | null,
    private readonly name: string,
    private readonly logger: Logger | undefined,
  ) {
    super();
  }

  /**
   * On one Redis: one subscriber connection. On a cluster: `cluster` (the gateway's command
   * client, already connecting) supplies the slot map.
   */
  static open(target: RedisTarget, cluster: Cluster | null, options: { name: string; logger?: Logger }): ChannelSubscriber {
    const subscriber = new ChannelSubscriber(target, cluster, options.name, options.logger);
    if (cluster) {
      cluster.on('refresh', subscriber.onTopology);
      cluster.on('ready', subscriber.onTopology);
      subscriber.onTopology();
    } else {
      subscriber.connection('single');
    }
    return subscriber;
  }

  /** 'ready' while every subscriber connection is up and no channel is owed a `restored`. */
  get status(): string {
    if (this.closed) return 'end';
    return this.everReady && this.lostNodes.size === 0 && this.owed.size === 0 ? 'ready' : 'connecting';
  }

  /**
   * Whether the channel's frames arrive now: the connection of its master is up and the channel
   * is not owed a `restored` (a SUBSCRIBE refused while this holds will not come right by itself).
   */
  isListening(channel: string): boolean {
    if (this.closed || this.owed.has(channel)) return false;
    const node = this.channels.get(channel);
    return node !== undefined && this.connections.get(node)?.status === 'ready';
  }

  /** Subscribes channels, each on the master of its slot (SSUBSCRIBE takes one slot at a time). */
  async subscribe(...channels: string[]): Promise<void> {
    // Closed: no new connection may open (it would reconnect forever and keep the process alive).
    if (this.closed) return;
    const groups = new Map<string, string[]>();
    for (const channel of channels) {
      // A channel already placed stays on its node: moving channels is onTopology's, on a slot
      // map re-read whole. (ioredis patches its map on a MOVED reply before that, and for a
      // whole range of slots at once: read then, it can name the wrong master.)
      const node = this.nodeOf(channel);
      this.channels.set(channel, node);
      // Subscribed on a connection that is down: its `restored` covers this channel too.
      if (this.lostNodes.has(node)) this.owed.add(channel);
      const group = `${node}\n${this.cluster ? calculateSlot(channel) : 0}`;
      const list = groups.get(group);
      if (list) list.push(channel);
      else groups.set(group, [channel]);
    }
    await Promise.all(
      [...groups].map(([group, list]) =>
        this.connection(group.split('\n')[0]!)
          .ssubscribe(...list)
          .catch((err: unknown) => {
            // The slot moved: read the map now; onTopology moves the channels (`lost`, `restored`).
            if (isRedirection(err)) this.cluster?.refreshSlotsCache();
            throw err;
          }),
      ),
    );
  }

  async unsubscribe(...channels: string[]): Promise<void> {
    const groups = new Map<string, string[]>();
    for (const channel of channels) {
      const node = this.channels.get(channel);
      this.channels.delete(channel);
      this.owed.delete(channel);
      if (node === undefined || !this.connections.has(node)) continue;
      const group = `${node}\n${this.cluster ? calculateSlot(channel) : 0}`;
      const list = groups.get(group);
      if (list) list.push(channel);
      else groups.set(group, [channel]);
    }
    await Promise.all([...groups].map(([group, list]) => this.connections.get(group.split('\n')[0]!)?.sunsubscribe(...list)));
  }

  /**
   * Drops every connection (or the one to `node`) and opens it anew (a subscription Redis
   * silently dropped: the readiness canary's remedy). `lost` then `restored` follow, as for any
   * loss.
   */
  reopen(node?: string): void {
    for (const [owner, connection] of this.connections) if (node === undefined || owner === node) connection.disconnect(true);
  }

  /** The masters that own slots in the cluster client's map now; on one Redis, `single`. */
  masters(): string[] {
    if (!this.cluster) return ['single'];
    const masters = new Set<string>();
    for (const owners of this.cluster.slots) if (owners?.[0]) masters.add(owners[0]);
    return [...masters];
  }

  /** The node a channel is subscribed on (or, not subscribed yet, the one it would be). */
  nodeOf(channel: string): string {
    return this.channels.get(channel) ?? this.ownerOf(channel);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cluster?.off('refresh', this.onTopology);
    this.cluster?.off('ready', this.onTopology);
    await Promise.all(
      [...this.connections.values()].map(async (connection) => {
        if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
        else connection.disconnect();
      }),
    );
    this.connections.clear();
  }

  /** The node that owns a channel's slot now (on one Redis, the one server). */
  ownerOf(channel: string): string {
    if (!this.cluster) return 'single';
    const owner = this.cluster.slots[calculateSlot(channel)]?.[0];
    if (owner === undefined) throw new Error('the cluster slot map is not known yet');
    return owner;
  }

  private connection(node: string): Redis {
    const existing = this.connections.get(node);
    if (existing) return existing;
    if (this.closed) throw new Error('the channel subscriber is closed');
    const options = { name: `${this.name}${node === 'single' ? '' : `@${node}`}`, logger: this.logger };
    let connection: Redis;
    if (this.target.kind === 'single') {
      connection = createRedisConnection(this.target.url, options);
    } else {
      const colon = node.lastIndexOf(':');
      const scheme = this.target.tls ? 'rediss' : 'redis';
      const credentials = this.target.password ? `${encodeURIComponent(this.target.username ?? '')}:${encodeURIComponent(this.target.password)}@` : '';
      const host = node.slice(0, colon).includes(':') ? `[${node.slice(0, colon)}]` : node.slice(0, colon);
      connection = createRedisConnection(`${scheme}://${credentials}${host}:${node.slice(colon + 1)}`, options);
    }
    connection.on('close', () => this.onConnectionLost(node, connection));
    connection.on('ready', () => this.onConnectionReady(node, connection));
    connection.on('smessageBuffer', this.onMessage);
    // A slot that moves away makes its old master unsubscribe us unasked (Redis 7 sends a
    // `sunsubscribe` push); ioredis reports that reply as an error. Read the slot map now rather
    // than at the next periodic refresh: the channels move, and the hole is filled.
    connection.on('error', (err: Error) => {
      if (/sunsubscribe/.test(err.message)) this.cluster?.refreshSlotsCache();
    });
    this.connections.set(node, connection);
    return connection;
  }

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    this.emit('messageBuffer', channel, message);
  };

  /** The channels subscribed on a node. */
  channelsOn(node: string): string[] {
    const list: string[] = [];
    for (const [channel, owner] of this.channels) if (owner === node) list.push(channel);
    return list;
  }

  /** These channels may miss frames from now on (each `lost` counts: the relay restarts a fill). */
  private reportLost(channels: string[]): void {
    for (const channel of channels) this.owed.add(channel);
    if (channels.length > 0) this.emit('lost', channels);
  }

  /** `restored` for the owed channels whose master's connection is up now. */
  private reportRestored(): void {
    const back: string[] = [];
    for (const channel of this.owed) {
      const node = this.channels.get(channel);
      if (node === undefined || this.lostNodes.has(node) || this.connections.get(node)?.status !== 'ready') continue;
      back.push(channel);
    }
    for (const channel of back) this.owed.delete(channel);
    if (back.length > 0) this.emit('restored', back);
  }

  private onConnectionLost(node: string, connection: Redis): void {
    // A connection already replaced or dropped (its node left the slot map) tells nothing.
    if (this.closed || this.connections.get(node) !== connection) return;
    if (!this.readyOnce.has(node) || this.lostNodes.has(node)) return;
    this.lostNodes.add(node);
    this.reportLost(this.channelsOn(node));
  }

  private onConnectionReady(node: string, connection: Redis): void {
    if (this.closed || this.connections.get(node) !== connection) return;
    this.readyOnce.add(node);
    this.lostNodes.delete(node);
    this.markEverReady();
    this.reportRestored();
  }

  /** The first time every connection is up: the subscriber has connected (`ready`, once). */
  private markEverReady(): void {
    if (this.everReady || this.connections.size === 0) return;
    for (const connection of this.connections.values()) if (connection.status !== 'ready') return;
    this.everReady = true;
    this.emit('ready');
  }

  /**
   * The cluster's slot map changed (or was read again): connections for new masters, channels
   * whose slot moved go to their new master, connections to nodes that are no longer masters are
   * closed. A moved channel may have missed frames: `lost`, then `restored` once its new master's
   * connection is up.
   */
  private readonly onTopology = (): void => {
    const cluster = this.cluster;
    if (!cluster || this.closed || cluster.slots.length === 0) return;
    const masters = new Set(this.masters());
    if (masters.size === 0) return;
    const moved: string[] = [];
    for (const [channel, node] of this.channels) if (this.ownerOf(channel) !== node) moved.push(channel);
    for (const master of masters) this.connection(master);
    if (moved.length > 0) {
      this.logger?.info({ channels: moved.length, connection: this.name }, 'subscribed slots changed master: moving their channels');
      // Not awaited: the relay subscribes the channels again on `restored`, and the
      // connections' offline queues hold these until the new masters answer. Both record the
      // move at once; `lost` comes after them, so that the channels are owed on their new master
      // (nothing can arrive on the new subscription before this tick ends).
      void this.unsubscribe(...moved).catch(() => {});
      void this.subscribe(...moved).catch((err: unknown) => this.logger?.warn({ err: String(err) }, 'moving channels failed'));
      this.reportLost(moved);
    }
    for (const [node, connection] of this.connections) {
      if (masters.has(node)) continue;
      if (this.channelsOn(node).length > 0) continue;
      this.connections.delete(node);
      this.lostNodes.delete(node);
      this.readyOnce.delete(node);
      connection.disconnect();
    }
    this.markEverReady();
    this.reportRestored();
  };
}

/** A MOVED or ASK reply: the channel's slot is served elsewhere. */
export function isRedirection(err: unknown): boolean {
  return err instanceof Error && /^(MOVED|ASK) /.test(err.message);
}
