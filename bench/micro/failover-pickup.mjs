// How soon a BullMQ worker blocked on a queue whose master dies takes the first job queued after
// the replica is promoted: a local Redis Cluster (3 masters + 3 replicas) per failover, three
// queue shards each consumed by a BullMQ Worker on one shared connection, as a service worker
// with QUEUE_SHARDS=3 runs them (`openRedis`; BullMQ duplicates it for each blocking
// connection); the master of the measured shard SIGKILLed at a random point of the 5 s blocks and
// its replica promoted a random 0.5–11.5 s later (`CLUSTER FAILOVER TAKEOVER`, automatic failover
// off), then one job added to that shard: the time from the cluster being up again to the job
// being taken. BullMQ's block watchdog (block + 1 s) fires while the cluster is down in most runs.
// `hogs` busy loops run beside it: the slow recoveries show on a loaded box (a CI run).
// Prints each failover and the distribution.
// Usage (after pnpm build): node bench/micro/failover-pickup.mjs [failovers=20] [hogs=3] [checkout]
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const failovers = Number(process.argv[2] ?? 20);
const hogs = Number(process.argv[3] ?? 3);
const root = resolve(process.argv[4] ?? '.');
const load = (path) => import(pathToFileURL(resolve(root, path)).href);
const { openRedis } = await load('shared/dist/index.js');
const { spawnRedisCluster } = await load('shared/dist/dev/index.js');
const { Queue, Worker } = createRequire(resolve(root, 'shared/package.json'))('bullmq');

const cli = (port, ...args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout ?? '';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** The measured shard, and the two others the same process consumes. */
const prefix = 'pickup:{q2}';
const otherPrefixes = ['pickup:{q0}', 'pickup:{q1}'];

async function failover(index) {
  const cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const seeds = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  const workerConnection = openRedis({ kind: 'cluster', nodes: seeds }, { name: 'pickup-worker', forBullmq: true });
  const queueConnection = openRedis({ kind: 'cluster', nodes: seeds }, { name: 'pickup-queue', forBullmq: true });
  let takenAt = 0;
  const worker = new Worker('turns', async () => void (takenAt = Date.now()), { connection: workerConnection, prefix, concurrency: 10, autorun: false });
  const others = otherPrefixes.map((other) => new Worker('turns', async () => {}, { connection: workerConnection, prefix: other, concurrency: 10, autorun: false }));
  for (const consumer of [worker, ...others]) consumer.on('error', () => {});
  const queue = new Queue('turns', { connection: queueConnection, prefix });
  try {
    await Promise.all([worker, ...others].map((consumer) => consumer.waitUntilReady()));
    for (const consumer of [worker, ...others]) void consumer.run();
    await queue.waitUntilReady();
    // The queue's master: the one node that serves its marker key instead of redirecting.
    const victim = cluster.nodes.find((n) => cli(n.port, 'role').startsWith('master') && !cli(n.port, 'exists', `${prefix}:turns:marker`).startsWith('MOVED'));
    const replica = cluster.nodes.find((n) => new RegExp(`master_port:${victim.port}\\r?\\n`).test(cli(n.port, 'info', 'replication')));
    const survivor = cluster.nodes.find((n) => n !== victim && n !== replica);
    cli(replica.port, 'config', 'set', 'cluster-replica-no-failover', 'yes');
    const killAfterMs = Math.random() * 6000;
    const promoteAfterMs = 500 + Math.random() * 11_000;
    await sleep(killAfterMs);
    victim.process.kill('SIGKILL');
    await sleep(promoteAfterMs);
    cli(replica.port, 'cluster', 'failover', 'takeover');
    while (!cli(survivor.port, 'cluster', 'info').includes('cluster_state:ok')) await sleep(20);
    const upAt = Date.now();
    // The queue's own client may still be redirecting: retry the add until it lands.
    for (let added = false; !added; ) added = await queue.add('turn', { index }).then(() => true, () => sleep(100).then(() => false));
    while (!takenAt && Date.now() - upAt < 60_000) await sleep(5);
    const pickupMs = takenAt ? takenAt - upAt : null;
    console.log(`failover ${index + 1}: kill ${killAfterMs.toFixed(0)} ms into the run, promotion ${promoteAfterMs.toFixed(0)} ms later: first job taken ${pickupMs === null ? 'not within 60 s' : `${pickupMs} ms`} after the cluster was up`);
    return pickupMs;
  } finally {
    await Promise.race([Promise.all([worker, ...others].map((consumer) => consumer.close(true)).concat(queue.close())).catch(() => {}), sleep(5000)]);
    workerConnection.disconnect();
    queueConnection.disconnect();
    await cluster.stop();
  }
}

const hogProcesses = Array.from({ length: hogs }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const pickups = [];
try {
  for (let i = 0; i < failovers; i++) pickups.push(await failover(i));
} finally {
  for (const hog of hogProcesses) hog.kill();
}
const taken = pickups.filter((ms) => ms !== null).sort((a, b) => a - b);
const at = (q) => taken[Math.min(taken.length - 1, Math.floor(q * taken.length))];
console.log(
  `${root}: ${failovers} failovers beside ${hogs} busy loops, first job taken after p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${taken.at(-1)} ms; over 5 s: ${taken.filter((ms) => ms > 5000).length}; not taken: ${pickups.length - taken.length}`,
);
process.exit(0);
