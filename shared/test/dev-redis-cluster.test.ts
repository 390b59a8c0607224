/**
 * The local Redis Cluster the start command (`--redis-cluster`), the bench and the tests spawn:
 * when it resolves, every slot is served and every replica has synced with its master, so a
 * write acknowledged a moment before a master dies survives on the replica that takes over
 * (a master used to wait 5 s before its replicas' first sync: a fault test killing a master in
 * its first seconds lost all of that master's data).
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import type { Cluster } from 'ioredis';
import { spawnRedisCluster } from '../src/dev/redis-cluster.js';
import { openRedis } from '../src/redis/connection.js';
import { clusterSlotOf } from '../src/redis/redis-keys.js';

const cli = (port: number, ...args: string[]) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout ?? '';

t.test('spawned: every replica in sync at once; a write made just before its master dies survives the failover', async (t) => {
  const cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 1 });
  t.teardown(() => cluster.stop());
  const roles = cluster.nodes.map((n) => cli(n.port, 'info', 'replication'));
  t.equal(roles.filter((info) => /role:master/.test(info)).length, 3, 'three masters');
  t.same(
    roles.filter((info) => /role:slave/.test(info)).map((info) => /master_link_status:(\w+)/.exec(info)?.[1]),
    ['up', 'up', 'up'],
    'three replicas, each linked to its master',
  );

  const client = openRedis({ kind: 'cluster', nodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) }, { name: 'dev-cluster-test' }) as Cluster;
  t.teardown(() => client.disconnect());
  while (client.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 20));
  await client.set('{s:survivor}:session', 'kept');
  // The key's master, from the slot map of a live node.
  const slot = clusterSlotOf('{s:survivor}:session');
  const slots = cli(cluster.nodes[0]!.port, 'cluster', 'slots').split('\n').map((line) => line.trim());
  let victimPort = 0;
  for (let i = 0; i + 3 < slots.length; i++) {
    if (/^\d+$/.test(slots[i]!) && /^\d+$/.test(slots[i + 1]!) && Number(slots[i]) <= slot && slot <= Number(slots[i + 1]) && slots[i + 2] === '127.0.0.1') {
      victimPort = Number(slots[i + 3]);
      break;
    }
  }
  t.ok(victimPort > 0, 'the key has a master');
  // The replica has the key (replication is a round trip away), then the master dies.
  const replica = cluster.nodes.find((n) => new RegExp(`master_port:${victimPort}\\r?\\n`).test(cli(n.port, 'info', 'replication')))!;
  while (cli(replica.port, 'dbsize').trim() === '0') await new Promise((resolve) => setTimeout(resolve, 20));
  cluster.node(victimPort)!.process.kill('SIGKILL');
  // Commands are redirected until the replica is promoted (cluster-node-timeout 2 s + election).
  let value: string | null = null;
  for (;;) {
    try {
      value = await client.get('{s:survivor}:session');
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  t.equal(value, 'kept', 'the promoted replica has it');
});
