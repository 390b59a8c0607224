/**
 * A cluster client's `connect()` settles, whatever the cluster's state when it is called
 * (`openRedis`'s `SettlingCluster`).
 *
 *   connect() while a master is dead and its replica not yet promoted → the attempt's ready check
 *   finds `cluster_state:fail`; once the replica takes over, the client is ready and the promise
 *   resolves (ioredis alone leaves it pending for ever, and BullMQ awaits it on a worker's
 *   blocking connection: that worker then takes no job from that queue shard again)
 *
 * The replica is told not to fail over by itself (`cluster-replica-no-failover`), so the cluster
 * stays down until the test promotes it (`CLUSTER FAILOVER TAKEOVER`): no race with the election.
 */
import t from 'tap';
import type { Cluster } from 'ioredis';
import { spawnRedisCluster } from '../src/dev/redis-cluster.js';
import { openRedis } from '../src/redis/connection.js';
import { redisCli, until } from './helpers/cluster-control.js';

t.test('connect() during a failover resolves once the replica has taken over', async (t) => {
  const cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const client = openRedis({ kind: 'cluster', nodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) }, { name: 'cluster-connect-test', forBullmq: true }) as Cluster;
  t.teardown(async () => {
    client.disconnect();
    await cluster.stop();
  });
  await until('the client to be ready', () => client.status === 'ready', 20_000);
  // The first master as created, and its replica, which must wait for the test to promote it.
  const victim = cluster.nodes[0]!;
  const replica = cluster.nodes.find((n) => new RegExp(`master_port:${victim.port}\\r?\\n`).test(redisCli(n.port, 'info', 'replication')))!;
  t.ok(replica, 'the victim has a replica');
  t.equal(redisCli(replica.port, 'config', 'set', 'cluster-replica-no-failover', 'yes').trim(), 'OK');
  const survivor = cluster.nodes.find((n) => n !== victim && n !== replica)!;

  victim.process.kill('SIGKILL');
  await until('the cluster to be down', () => redisCli(survivor.port, 'cluster', 'info').includes('cluster_state:fail'), 30_000);

  // A fresh connect() now: its ready check meets the down cluster, and the client starts over.
  const ended = new Promise((resolve) => client.once('end', resolve));
  client.disconnect();
  await ended;
  let startedOver = false;
  client.once('reconnecting', () => (startedOver = true));
  let outcome = 'pending';
  const connecting = client.connect().then(
    () => (outcome = 'resolved'),
    (err: unknown) => (outcome = `rejected: ${String(err)}`),
  );
  await until('the ready check to fail and the client to start over', () => startedOver, 20_000);
  t.equal(outcome, 'pending', 'not settled while the cluster is down');

  t.equal(redisCli(replica.port, 'cluster', 'failover', 'takeover').trim(), 'OK', 'the replica takes over');
  const promotedAt = Date.now();
  await until('the cluster to be up', () => redisCli(survivor.port, 'cluster', 'info').includes('cluster_state:ok'), 30_000);
  // The client retries with a backoff of at most 2 s (`reconnectDelay`): well within 15 s.
  await Promise.race([connecting, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  t.equal(outcome, 'resolved', 'connect() resolved once the replica took over');
  t.comment(`${outcome} ${Date.now() - promotedAt} ms after the takeover`);
  t.equal(client.status, 'ready');
  await client.set('{cluster-connect}:k', 'v');
  t.equal(await client.get('{cluster-connect}:k'), 'v', 'and the client serves commands');
});
