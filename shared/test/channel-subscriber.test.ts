/**
 * What `ChannelSubscriber` tells its user when one of its connections drops, against a real
 * local cluster (3 masters, 3 replicas): one subscriber connection per master, and the events
 * name the channels of the connection that dropped only.
 *
 *   the connection to one master killed and kept down → `lost` names that master's channels,
 *   nothing else; the other masters' channels keep delivering; `isListening` and `status` say so
 *   the connection back → `restored` names the same channels; `status` 'ready' again; they deliver
 *
 * Kept down deterministically: `ACL SETUSER default off` on that master refuses new connections
 * (those already open keep working), then `CLIENT KILL` ends the subscriber's.
 */
import t from 'tap';
import type { Cluster } from 'ioredis';
import { spawnRedisCluster } from '../src/dev/redis-cluster.js';
import { ChannelSubscriber } from '../src/redis/channel-subscriber.js';
import { openRedis, type RedisClient } from '../src/redis/connection.js';
import { clusterSlotOf } from '../src/redis/redis-keys.js';
import { until } from './helpers/cluster-control.js';

const spawned = await spawnRedisCluster({ masters: 3, replicasPerMaster: 1 });
const target = { kind: 'cluster' as const, nodes: spawned.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) };
const cluster = openRedis(target, { name: 'channel-subscriber-test' }) as Cluster;
const subscriber = ChannelSubscriber.open(target, cluster, { name: 'subscriber-test' });
const nodeClients: RedisClient[] = [];
t.teardown(async () => {
  await subscriber.close();
  cluster.disconnect();
  for (const client of nodeClients) client.disconnect();
  await spawned.stop();
});
await until('the cluster client', () => cluster.status === 'ready', 30_000);
await until('the subscriber', () => subscriber.status === 'ready', 30_000);

/** Two channels on each master, by `host:port`. */
const byMaster = new Map<string, string[]>();
for (let i = 0; [...byMaster.values()].flat().length < 6; i++) {
  const channel = `subscriber-test:{c${i}}`;
  const master = cluster.slots[clusterSlotOf(channel)]![0]!;
  const list = byMaster.get(master) ?? [];
  if (list.length < 2) byMaster.set(master, [...list, channel]);
}
const masters = [...byMaster.keys()];
const received: string[] = [];
subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => received.push(`${channel.toString()}=${message.toString()}`));
const events: Array<{ event: 'lost' | 'restored'; channels: string[] }> = [];
subscriber.on('lost', (channels: string[]) => events.push({ event: 'lost', channels: [...channels].sort() }));
subscriber.on('restored', (channels: string[]) => events.push({ event: 'restored', channels: [...channels].sort() }));
await subscriber.subscribe(...[...byMaster.values()].flat());

/** Publishes on every channel and resolves once the expected ones have arrived. */
async function publishAll(tag: string, expect: string[]): Promise<void> {
  for (const channel of [...byMaster.values()].flat()) await cluster.spublish(channel, tag);
  await until(`${tag} on ${expect.length} channels`, () => expect.every((channel) => received.includes(`${channel}=${tag}`)), 10_000);
}

t.test('one master lost: only its channels are lost, the others deliver; back: the same channels are restored', async (t) => {
  await publishAll('before', [...byMaster.values()].flat());
  t.pass('every channel delivers at first');

  const [victim, ...others] = masters as [string, ...string[]];
  const node = openRedis(`redis://${victim}`, { name: 'subscriber-test-outage' });
  nodeClients.push(node);
  const list = String(await node.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  const id = /^id=(\d+) .* name=subscriber-test@/m.exec(list)?.[1];
  t.ok(id, "the subscriber's connection to the victim is found");
  await node.call('ACL', 'SETUSER', 'default', 'off');
  t.teardown(() => node.call('ACL', 'SETUSER', 'default', 'on').catch(() => {}));
  await node.call('CLIENT', 'KILL', 'ID', id!);

  await until('a lost event', () => events.length >= 1, 10_000);
  t.same(events, [{ event: 'lost', channels: [...byMaster.get(victim)!].sort() }], "`lost` names the victim's channels only");
  t.equal(subscriber.status, 'connecting', 'the subscriber is not ready while one connection is down');
  t.same(
    [...byMaster].map(([master, channels]) => [master === victim, channels.map((c) => subscriber.isListening(c))]),
    [...byMaster].map(([master, channels]) => [master === victim, channels.map(() => master !== victim)]),
    "isListening: false for the victim's channels, true for the others",
  );
  const othersChannels = others.flatMap((master) => byMaster.get(master)!);
  await publishAll('during', othersChannels);
  t.notOk(
    byMaster.get(victim)!.some((channel) => received.includes(`${channel}=during`)),
    "nothing arrives on the victim's channels meanwhile (their frames are what a relay must refill)",
  );
  t.pass("the other masters' channels deliver while the victim's connection is down");

  await node.call('ACL', 'SETUSER', 'default', 'on');
  await until('a restored event', () => events.length >= 2, 15_000);
  t.same(events[1], { event: 'restored', channels: [...byMaster.get(victim)!].sort() }, '`restored` names the same channels');
  t.equal(events.length, 2, 'and nothing else');
  await until('the subscriber ready again', () => subscriber.status === 'ready', 10_000);
  t.ok(
    [...byMaster.values()].flat().every((c) => subscriber.isListening(c)),
    'every channel is listened to again',
  );
  await publishAll('after', [...byMaster.values()].flat());
  t.pass('every channel delivers again (ioredis subscribed them again on reconnect)');
});
