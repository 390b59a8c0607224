/**
 * On a Redis Cluster, each node connection sends the commands of one event-loop turn in one
 * socket write (`openRedis` wraps the nodes ioredis makes), as a single-server connection does:
 * BullMQ's connections (no auto-pipelining) and scripts sent outside a pipeline were one `write`
 * system call per command. Against a real 3-master cluster: writes counted at each node's socket,
 * replies and order checked.
 */
import { spawnSync } from 'node:child_process';
import type { Socket } from 'node:net';
import t from 'tap';
import type { Cluster } from 'ioredis';
import { spawnRedisCluster } from '../src/dev/redis-cluster.js';
import { openRedis } from '../src/redis/connection.js';

const cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 0 });
const nodes = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
t.teardown(() => cluster.stop());

async function ready(client: Cluster): Promise<void> {
  while (client.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 20));
  // A first command per master, so every node's connection is open before the counting.
  await Promise.all(client.nodes('master').map((node) => node.ping()));
}

/** Counts the socket-level writes (one `_write` or `_writev` each) of every master's connection. */
function countWrites(client: Cluster): { writes: () => number; restore: () => void } {
  let writes = 0;
  const restores: Array<() => void> = [];
  for (const node of client.nodes('master')) {
    const stream = (node as unknown as { stream: Socket & { _write: unknown; _writev: unknown } }).stream;
    const original = { _write: stream._write, _writev: stream._writev };
    const wrap = (fn: unknown) =>
      function (this: Socket, ...args: unknown[]) {
        writes++;
        return (fn as (...a: unknown[]) => unknown).apply(this, args);
      };
    stream._write = wrap(original._write);
    stream._writev = wrap(original._writev);
    restores.push(() => Object.assign(stream, original));
  }
  return { writes: () => writes, restore: () => restores.forEach((restore) => restore()) };
}

t.test("a BullMQ-style connection (no auto-pipelining): one loop turn's commands to a master, one write, in order", async (t) => {
  const client = openRedis({ kind: 'cluster', nodes }, { name: 'coalescing-bullmq', forBullmq: true }) as Cluster;
  t.teardown(() => client.disconnect());
  await ready(client);
  const counter = countWrites(client);
  t.teardown(counter.restore);

  const pushes: Promise<number>[] = [];
  for (let i = 0; i < 40; i++) pushes.push(client.rpush('{order}:list', String(i)));
  const lengths = await Promise.all(pushes);
  t.equal(counter.writes(), 1, '40 commands to one master, one socket write');
  t.same(lengths, Array.from({ length: 40 }, (_, i) => i + 1), 'each reply is its own command');
  t.same(await client.lrange('{order}:list', 0, -1), Array.from({ length: 40 }, (_, i) => String(i)), 'in issue order');

  const before = counter.writes();
  const spread = await Promise.all(Array.from({ length: 30 }, (_, i) => client.incr(`{k${i}}:n`)));
  t.same(spread, Array.from({ length: 30 }, () => 1));
  t.ok(counter.writes() - before <= 3, `30 commands over three masters: ${counter.writes() - before} writes, at most one per master`);

  const after = counter.writes();
  for (let i = 0; i < 3; i++) await client.incr('{order}:n');
  t.equal(counter.writes() - after, 3, 'commands of successive loop turns each leave in their own write');
});

t.test("a script and plain commands of one loop turn share a write, also on a duplicate (BullMQ's blocking clients)", async (t) => {
  const client = openRedis({ kind: 'cluster', nodes }, { name: 'coalescing-dup', forBullmq: true }) as Cluster;
  const duplicate = client.duplicate() as Cluster;
  t.teardown(() => {
    client.disconnect();
    duplicate.disconnect();
  });
  await ready(duplicate);
  const counter = countWrites(duplicate);
  t.teardown(counter.restore);
  const replies = await Promise.all([
    duplicate.eval("return redis.call('INCR', KEYS[1])", 1, '{s}:a'),
    duplicate.set('{s}:b', 'x'),
    duplicate.eval("return redis.call('GET', KEYS[1])", 1, '{s}:b'),
  ]);
  t.same(replies, [1, 'OK', 'x'], 'in order: the script after the SET reads its value');
  t.equal(counter.writes(), 1, 'one write for the three');
});

t.test('the clients of gateways and workers (no auto-pipelining): one write per master per loop turn', async (t) => {
  const client = openRedis({ kind: 'cluster', nodes }, { name: 'coalescing-auto' }) as Cluster;
  t.teardown(() => client.disconnect());
  await ready(client);
  const counter = countWrites(client);
  t.teardown(counter.restore);
  const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => client.set(`{p${i % 12}}:v${i}`, String(i))));
  t.equal(replies.filter((r) => r === 'OK').length, 60);
  t.ok(counter.writes() <= 3, `60 commands over three masters: ${counter.writes()} writes`);
  const values = await client.mget('{p0}:v0', '{p0}:v12');
  t.same(values, ['0', '12']);
});

t.test('after the masters drop every connection, the new ones coalesce too', async (t) => {
  const client = openRedis({ kind: 'cluster', nodes }, { name: 'coalescing-reconnect', forBullmq: true }) as Cluster;
  t.teardown(() => client.disconnect());
  await ready(client);
  const dropped = new Promise((resolve) => client.once('-node', resolve));
  for (const { port } of nodes) spawnSync('redis-cli', ['-p', String(port), 'CLIENT', 'KILL', 'TYPE', 'normal'], { encoding: 'utf8' });
  await dropped;
  // Commands wait for the cluster to reconnect (ioredis retries them), then run.
  t.equal(await client.incr('{x}:k'), 1, 'a command after the drop is answered');
  await ready(client);
  const counter = countWrites(client);
  t.teardown(counter.restore);
  const results = await Promise.all(Array.from({ length: 10 }, () => client.incr('{x}:k')));
  t.same(results, Array.from({ length: 10 }, (_, i) => i + 2));
  t.equal(counter.writes(), 1, 'one write for a loop turn on the reconnected connection');
});
