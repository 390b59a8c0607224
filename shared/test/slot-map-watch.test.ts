/**
 * The cluster clients of one process share one periodic read of the slot map
 * (`shareSlotMapWatch`), against a real local cluster (3 masters, 3 replicas):
 *
 *   four clients of one cluster, nothing sent → one of them asks for the map every 2 s over a
 *   connection it has (`CLUSTER SLOTS`); none re-reads its map (ioredis alone: each of the four,
 *   every 2 s, each time over a new connection)
 *   a replica promoted (`CLUSTER FAILOVER`) → every client's map names it as its slots' master
 *   within a few seconds, with no command sent and no redirection (each client re-reads the
 *   map on its own only every 5 minutes)
 *   clients that end leave; a client that connects again rejoins
 */
import t from 'tap';
import type { Cluster } from 'ioredis';
import { spawnRedisCluster } from '../src/dev/redis-cluster.js';
import { openRedis } from '../src/redis/connection.js';
import { SLOT_MAP_FALLBACK_MS, SLOT_MAP_WATCH_MS, slotOwners } from '../src/redis/slot-map-watch.js';
import { redisCli, until } from './helpers/cluster-control.js';

const cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 1 });
const target = { kind: 'cluster' as const, nodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) };
const clients = Array.from({ length: 4 }, (_, i) => openRedis(target, { name: `slot-map-watch-${i}` }) as Cluster);
/** Slot-map re-reads per client, counted from the `refresh` each one emits. */
const reads = clients.map(() => 0);
clients.forEach((client, i) => client.on('refresh', () => reads[i]!++));
/** `CLUSTER SLOTS` the watch sent through each client. */
const watches = clients.map(() => 0);
clients.forEach((client, i) => {
  const send = client.cluster.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { cluster: (...args: unknown[]) => unknown }).cluster = (...args: unknown[]) => {
    if (String(args[0]).toUpperCase() === 'SLOTS') watches[i]!++;
    return send(...args);
  };
});
t.teardown(async () => {
  for (const client of clients) client.disconnect();
  await cluster.stop();
});
await until('every client to be ready', () => clients.every((c) => c.status === 'ready'), 30_000);

/**
 * How soon every client must learn a change: a few watch periods, far inside the fallback (each
 * client's own re-read, minutes), which therefore cannot be what makes it in time.
 */
const LEARNED_WITHIN_MS = 15_000;

t.test('one client watches the slot map for all of them; nobody re-reads it while it stands', async (t) => {
  t.equal(clients[0]!.options.slotsRefreshInterval, SLOT_MAP_FALLBACK_MS, 'each client on its own: only the fallback');
  await until('a first watch', () => watches[0]! >= 1, 20_000);
  const readsBefore = [...reads];
  const watchesBefore = [...watches];
  await until('three more watches', () => watches[0]! - watchesBefore[0]! >= 3, 20_000);
  t.same(
    watches.slice(1).map((n, i) => n - watchesBefore[i + 1]!),
    [0, 0, 0],
    'the first client asked for all of them',
  );
  t.same(
    reads.map((n, i) => n - readsBefore[i]!),
    [0, 0, 0, 0],
    'no client re-read its map while nothing changed',
  );
});

t.test('a promoted replica is in every client’s map within the watch period, with no command sent', async (t) => {
  const slot = 0;
  const master = clients[0]!.slots[slot]![0]!;
  const masterPort = Number(master.split(':')[1]);
  const replica = cluster.nodes.find((n) => new RegExp(`master_port:${masterPort}\\r?\\n`).test(redisCli(n.port, 'info', 'replication')));
  t.ok(replica, 'slot 0’s master has a replica');
  const promoted = `127.0.0.1:${replica!.port}`;
  const mapsBefore = clients.map((c) => slotOwners(c));
  t.equal(new Set(mapsBefore).size, 1, 'the clients agree on the map before');
  t.equal(redisCli(replica!.port, 'cluster', 'failover').trim(), 'OK');
  const startedAt = Date.now();
  // The fallback (minutes) would be too late: only the watch can make this in time.
  t.ok(SLOT_MAP_FALLBACK_MS > 10 * LEARNED_WITHIN_MS, 'the fallback is not what is measured');
  await until('every client to name the promoted replica', () => clients.every((c) => c.slots[slot]?.[0] === promoted), LEARNED_WITHIN_MS);
  const tookMs = Date.now() - startedAt;
  t.ok(tookMs < LEARNED_WITHIN_MS, `all four learned it in ${tookMs} ms (watch every ${SLOT_MAP_WATCH_MS} ms)`);
  t.equal(new Set(clients.map((c) => slotOwners(c))).size, 1, 'and they agree on the whole map');
});

t.test('a client that connects again after it ended rejoins the watch', async (t) => {
  const [watcher, second] = clients as [Cluster, Cluster];
  const ended = new Promise((resolve) => watcher.once('end', resolve));
  watcher.disconnect();
  await ended;
  // The next client watches now.
  const before = watches[1]!;
  await until('the second client to watch twice', () => watches[1]! - before >= 2, 20_000);
  t.pass('the second client took over the watch');
  await watcher.connect();
  await until('the first client to be ready again', () => watcher.status === 'ready', 20_000);
  // Back in the group (last in order): a change reaches it again. Promote slot 0's master back.
  const slot = 0;
  const current = Number(second.slots[slot]![0]!.split(':')[1]);
  const replica = cluster.nodes.find((n) => new RegExp(`master_port:${current}\\r?\\n`).test(redisCli(n.port, 'info', 'replication')))!;
  await until('the replica to be in sync', () => /master_link_status:up/.test(redisCli(replica.port, 'info', 'replication')), 20_000);
  t.equal(redisCli(replica.port, 'cluster', 'failover').trim(), 'OK');
  const promoted = `127.0.0.1:${replica.port}`;
  await until('the rejoined client to name the promoted replica', () => watcher.slots[slot]?.[0] === promoted, LEARNED_WITHIN_MS);
  t.pass('the rejoined client learned the change');
});
