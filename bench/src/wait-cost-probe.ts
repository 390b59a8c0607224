/**
 * What `WAIT 1` would cost on the turn's accept step on a Redis Cluster (issue 12: "WAIT where
 * it is worth its cost — measure it"). Spawns a local cluster (3 masters + 3 replicas), then on
 * one master, alternating rounds of the same write — one script writing a session's order and
 * state keys, the size of the accept step — sent alone or followed by `WAIT 1 <timeout>` in the
 * same pipeline (so the reply comes once a replica has the write). Prints the round trip p50 /
 * p99 of each and writes a JSON report.
 *
 *   node bench/dist/wait-cost-probe.js [--writes 2000] [--rounds 4] [--out reports/bench/wait-cost.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { createRedisConnection } from '@chat/shared';
import { spawnRedisCluster } from '@chat/shared/dev';

const ACCEPT_LIKE = `
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'epoch', '0', 'next', '0')
redis.call('EXPIRE', KEYS[2], 300)
return 1`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { writes: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '4' }, out: { type: 'string', default: 'reports/bench/wait-cost.json' } },
  });
  const writes = Number(values.writes);
  const rounds = Number(values.rounds);
  const cluster = await spawnRedisCluster();
  try {
    // The first node made is a master; its replica is another node of the cluster.
    const master = createRedisConnection(`redis://127.0.0.1:${cluster.nodes[0]!.port}`, { name: 'wait-probe' });
    const slotKeys = (await master.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const mine = slotKeys.find((range) => range[2][1] === cluster.nodes[0]!.port)!;
    // Keys that hash into this master's slots: try tags until one lands there.
    let tag = '';
    for (let i = 0; ; i++) {
      const slot = Number(await master.call('CLUSTER', 'KEYSLOT', `{s:probe-${i}}`));
      if (slot >= mine[0] && slot <= mine[1]) {
        tag = `{s:probe-${i}}`;
        break;
      }
    }
    const results: Record<string, number[]> = { alone: [], 'with WAIT 1': [] };
    for (let round = 0; round < rounds * 2; round++) {
      const withWait = round % 2 === 1;
      const samples = results[withWait ? 'with WAIT 1' : 'alone']!;
      for (let i = 0; i < writes; i++) {
        const started = process.hrtime.bigint();
        const pipeline = master.pipeline().eval(ACCEPT_LIKE, 2, `${tag}:turns`, `${tag}:turn:${i}:state`, `m${i}`);
        if (withWait) pipeline.call('WAIT', 1, 1000);
        await pipeline.exec();
        samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      await master.del(`${tag}:turns`);
    }
    const report = Object.fromEntries(
      Object.entries(results).map(([name, samples]) => {
        const sorted = [...samples].sort((a, b) => a - b);
        return [name, { writes: samples.length, p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), mean_ms: samples.reduce((a, b) => a + b, 0) / samples.length }];
      }),
    );
    for (const [name, figures] of Object.entries(report)) {
      process.stdout.write(`${name.padEnd(12)} p50 ${figures.p50_ms.toFixed(3)} ms  p99 ${figures.p99_ms.toFixed(3)} ms  mean ${figures.mean_ms.toFixed(3)} ms  (${figures.writes} writes)\n`);
    }
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify({ command: process.argv.slice(1).join(' '), at: new Date().toISOString(), report }, null, 2)}\n`);
    master.disconnect();
  } finally {
    await cluster.stop();
  }
}

void main();
