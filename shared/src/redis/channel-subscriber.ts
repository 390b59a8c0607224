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
 * It behaves like one connection to the session relay and the readiness canary, which were built
 * on one: `close` when any of its connections is lost or a subscribed slot changes master (frames
 * may be missing from then on), `ready` once every connection is back, `status` 'ready' between
 * the two. The relay answers `close` by holding frames and `ready` by subscribing again and
 * filling the hole from the turn logs, so a failover or a slot migration costs a hole fill, not
 * a lost frame.
 *
 * Why not ioredis's own `shardedSubscribers`: the relay needs to know exactly when frames may have
 * been missed, and the library does not say (a moved slot, for one, is only noticed later). The
 * topology comes from the gateway's cluster client (`CLUSTER SLOTS`, re-read within 2 s of a
 * change by the process's slot-map watch, and on every redirection); the connections are plain
 * ones, resubscribed by ioredis on reconnect.
 *
 * Events: `messageBuffer` (channel, message as Buffers: nothing is decoded on the frame path),
 * `close`, `ready`.
 */
export class ChannelSubscriber extends EventEmitter {
  /** Subscriber connections by node (`host:port`; `single` on one Redis). */
  private readonly connections = new Map<string, Redis>();
  /** Every subscribed channel and the node it is subscribed on. */
  private readonly channels = new Map<string, string>();
  /** Some connection was lost (or a slot moved) since the last `ready`. */
  private lost = false;
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

  /** 'ready' while every subscriber connection is up and no slot it listens on has moved. */
  get status(): string {
    if (this.closed) return 'end';
    return this.everReady && !this.lost ? 'ready' : 'connecting';
  }

  /** Subscribes channels, each on the master of its slot (SSUBSCRIBE takes one slot at a time). */
  async subscribe(...channels: string[]): Promise<void> {
    // Closed: no new connection may open (it would reconnect forever and keep the process alive).
    if (this.closed) return;
    const groups = new Map<string, string[]>();
    for (const channel of channels) {
      const node = this.ownerOf(channel);
      this.channels.set(channel, node);
      const group = `${node}\n${this.cluster ? calculateSlot(channel) : 0}`;
      const list = groups.get(group);
      if (list) list.push(channel);
      else groups.set(group, [channel]);
    }
    await Promise.all([...groups].map(([group, list]) => this.connection(group.split('\n')[0]!).ssubscribe(...list)));
  }

  async unsubscribe(...channels: string[]): Promise<void> {
    const groups = new Map<string, string[]>();
    for (const channel of channels) {
      const node = this.channels.get(channel);
      this.channels.delete(channel);
      if (node === undefined || !this.connections.has(node)) continue;
      const group = `${node}\n${this.cluster ? calculateSlot(channel) : 0}`;
      const list = groups.get(group);
      if (list) list.push(channel);
      else groups.set(group, [channel]);
    }
    await Promise.all([...groups].map(([group, list]) => this.connections.get(group.split('\n')[0]!)?.sunsubscribe(...list)));
  }

  /**
   * Drops every connection and opens them anew (a subscription Redis silently dropped: the
   * readiness canary's remedy). `close` then `ready` follow, as for any loss.
   */
  reopen(): void {
    for (const connection of this.connections.values()) connection.disconnect(true);
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
  private ownerOf(channel: string): string {
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
    connection.on('close', this.onConnectionLost);
    connection.on('ready', this.onConnectionReady);
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

  private readonly onConnectionLost = (): void => {
    if (this.closed || this.lost || !this.everReady) return;
    this.lost = true;
    this.emit('close');
  };

  private readonly onConnectionReady = (): void => {
    if (this.closed || (this.everReady && !this.lost) || this.connections.size === 0) return;
    for (const connection of this.connections.values()) if (connection.status !== 'ready') return;
    this.everReady = true;
    this.lost = false;
    this.emit('ready');
  };

  /**
   * The cluster's slot map changed (or was read again): connections for new masters, channels
   * whose slot moved go to their new master, connections to nodes that are no longer masters are
   * closed. A moved channel may have missed frames: `close`, then `ready` once all is up.
   */
  private readonly onTopology = (): void => {
    const cluster = this.cluster;
    if (!cluster || this.closed || cluster.slots.length === 0) return;
    const masters = new Set<string>();
    for (const owners of cluster.slots) if (owners?.[0]) masters.add(owners[0]);
    if (masters.size === 0) return;
    const moved: string[] = [];
    for (const [channel, node] of this.channels) if (this.ownerOf(channel) !== node) moved.push(channel);
    for (const master of masters) this.connection(master);
    if (moved.length > 0) {
      this.logger?.info({ channels: moved.length, connection: this.name }, 'subscribed slots changed master: moving their channels');
      this.onConnectionLost();
      // Not awaited: the relay subscribes everything again on `ready`, and the connections'
      // offline queues hold these until the new masters answer.
      void this.unsubscribe(...moved).catch(() => {});
      void this.subscribe(...moved).catch((err: unknown) => this.logger?.warn({ err: String(err) }, 'moving channels failed'));
    }
    for (const [node, connection] of this.connections) {
      if (masters.has(node)) continue;
      let stillUsed = false;
      for (const owner of this.channels.values()) if (owner === node) stillUsed = true;
      if (stillUsed) continue;
      this.connections.delete(node);
      connection.off('close', this.onConnectionLost);
      connection.disconnect();
    }
    this.onConnectionReady();
  };
}
