/**
 * `node bench/dist/resubscribe-probe.js [--sessions N] [--out DIR]`: how long a gateway holding
 * N session subscriptions takes to restore them after its subscriber connection drops (every
 * session re-subscribed and its hole filled from the turn logs), during which the sessions' live
 * frames are held. One gateway in this process on a Redis spawned for the run; the sessions are
 * idle (the common case), so the figure is the fill's own overhead per session. Prints the
 * figures and writes `resubscribe-<N>.json` (into reports/bench unless --out). Loopback only.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ChatGateway, type SessionRelay } from '@chat/gateway';
import { RedisKeys, SessionStore, createLogger, createRedisConnection, loadConfig } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { REPO_ROOT } from './machine.js';
import { DEFAULT_OUT_DIR } from './bench-options.js';

const RESTORED = 'session subscriptions restored after a reconnect';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sessions: { type: 'string', default: '2000' }, runs: { type: 'string', default: '3' }, out: { type: 'string', default: join(REPO_ROOT, ...DEFAULT_OUT_DIR) } },
  });
  const sessions = Number(values.sessions);
  const runs = Number(values.runs);
  const redisServer = await spawnRedisServer();
  const config = loadConfig({ REDIS_URL: redisServer.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
  // The gateway's own log tells when a restore pass is over.
  let onRestored: ((line: Record<string, unknown>) => void) | null = null;
  const lines = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (!text.includes(RESTORED)) continue;
        onRestored?.(JSON.parse(text) as Record<string, unknown>);
      }
      done();
    },
  });
  const gateway = new ChatGateway({ config, logger: createLogger('gateway', 'info', lines), gatewayId: 'probe' });
  await gateway.start();
  const redis = createRedisConnection(redisServer.url, { name: 'probe' });
  try {
    const store = new SessionStore(redis, new RedisKeys(config.redis.prefix), config.session.ttlSeconds);
    const context = { customer_name: 'Probe', customer_email: 'probe@example.com', flight_no: null, date: null, created_at: new Date().toISOString() };
    const ids = Array.from({ length: sessions }, (_, i) => `probe-session-${i}`);
    await Promise.all(ids.map((id) => store.create({ session_id: id, context })));
    const relay = (gateway as unknown as { relay: SessionRelay }).relay;
    for (const id of ids) relay.listen(id, () => {});
    await Promise.all(ids.map((id) => relay.ready(id)));

    const restoreMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      const restored = new Promise<void>((resolve) => {
        onRestored = () => resolve();
      });
      const cutAt = performance.now();
      await redis.client('KILL', 'TYPE', 'pubsub');
      await restored;
      restoreMs.push(Math.round((performance.now() - cutAt) * 10) / 10);
      process.stdout.write(`run ${run + 1}: ${sessions} sessions restored ${restoreMs.at(-1)} ms after the cut\n`);
    }
    const sorted = [...restoreMs].sort((a, b) => a - b);
    const report = { probe: 'resubscribe', sessions, runs: restoreMs, median_ms: sorted[Math.floor(sorted.length / 2)], per_session_us: Math.round((sorted[Math.floor(sorted.length / 2)]! * 1000) / sessions), at: new Date().toISOString() };
    mkdirSync(values.out!, { recursive: true });
    const path = join(values.out!, `resubscribe-${sessions}.json`);
    writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`median ${report.median_ms} ms (${report.per_session_us} µs per session); report: ${path}\n`);
  } finally {
    redis.disconnect();
    await gateway.close();
    await redisServer.stop();
  }
}

await main();
