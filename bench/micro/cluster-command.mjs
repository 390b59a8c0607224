// CPU per command of a Redis Cluster client as the service opens it (`openRedis`: write
// coalescing, the abandoned-command check), two checkouts' builds in one process, alternating:
// 8 windows each of 50 000 GETs, 500 in flight, on keys spread over the three masters of a
// spawned local cluster. Prints each side's windows and median (µs of this process's CPU per
// command; the client's share only, Redis's is not counted).
// Usage (after pnpm build in both): node bench/micro/cluster-command.mjs <base checkout> [checkout]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

if (!process.argv[2]) {
  console.error('usage: node bench/micro/cluster-command.mjs <base checkout> [checkout]');
  process.exit(2);
}
const roots = { base: resolve(process.argv[2]), checkout: resolve(process.argv[3] ?? '.') };
const load = (root, path) => import(pathToFileURL(resolve(root, path)).href);
const sides = {
  base: await load(roots.base, 'shared/dist/redis/connection.js'),
  checkout: await load(roots.checkout, 'shared/dist/redis/connection.js'),
};
const { spawnRedisCluster } = await load(roots.checkout, 'shared/dist/dev/index.js');

const cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 1 });
const nodes = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));

/** One window: µs of CPU per command. */
async function window(connection) {
  const client = connection.openRedis({ kind: 'cluster', nodes }, { name: 'cluster-command-micro' });
  await new Promise((ready) => client.once('ready', ready));
  const batch = async () => {
    const replies = [];
    for (let i = 0; i < 500; i++) replies.push(client.get(`k${i % 997}`));
    await Promise.all(replies);
  };
  for (let i = 0; i < 20; i++) await batch();
  const before = process.cpuUsage();
  for (let i = 0; i < 100; i++) await batch();
  const used = process.cpuUsage(before);
  client.disconnect();
  return (used.user + used.system) / 50_000;
}

const results = { base: [], checkout: [] };
for (let round = 0; round < 8; round++) {
  for (const side of round % 2 ? ['checkout', 'base'] : ['base', 'checkout']) results[side].push(await window(sides[side]));
}
for (const side of ['base', 'checkout']) {
  const sorted = [...results[side]].sort((a, b) => a - b);
  console.log(`${side} (${roots[side]}): ${sorted.map((v) => v.toFixed(2)).join(' ')} µs CPU per command, median ${((sorted[3] + sorted[4]) / 2).toFixed(2)}`);
}
await cluster.stop();
process.exit(0);
