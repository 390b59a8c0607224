/**
 * A queue shard's master dies while the worker is blocked on that shard (BZPOPMIN), on real
 * processes: a local cluster (3 masters + 3 replicas), a gateway and one worker.
 *
 *   SIGKILL the shard's master 2.5 s into the worker's 5 s block, its replica promoted 8 s later
 *     → BullMQ's block watchdog (block time + 1 s) fires while the cluster is down, and drops
 *       and reopens the blocking connection; a new turn on that shard is answered soon after
 *       the promotion (ioredis alone left the reopened connection's connect() pending for ever,
 *       and the worker took no job from that shard again: see SettlingCluster)
 *
 * One worker, so no other worker can hide a stalled one. The fault is scheduled, not waited on:
 * the kill lands while the block's command is still being retried (its redirections last about
 * 3 s), and the replica is told not to fail over by itself (`cluster-replica-no-failover`) and is
 * promoted by the test (`CLUSTER FAILOVER TAKEOVER`) once the watchdog has surely fired.
 */
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import t from 'tap';
import { RedisKeys, TURN_QUEUE_NAME, queueShardOf } from '@chat/shared';
import { eventually } from './helpers/eventually.js';
import { createSession, postJson } from './helpers/http-client.js';
import { ownerPort, role } from './helpers/cluster-faults.js';
import { startLocalStack } from './helpers/local-stack.js';
import { exitIfStillAlive } from './helpers/exit-guard.js';

const SHARDS = 3;
/** Alone on its master in a fresh local cluster (shards 0 and 1, and the canaries, share another). */
const SHARD = 2;

function redisCli(port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout ?? '';
}

/** Resolves at the next BZPOPMIN on `key` that the server on `port` runs (MONITOR). */
function nextBlock(port: number, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let seen = '';
    socket.on('connect', () => socket.write('MONITOR\r\n'));
    socket.on('data', (data) => {
      seen = (seen + data.toString('latin1')).slice(-4096);
      if (seen.toLowerCase().includes(`"bzpopmin" "${key.toLowerCase()}"`)) {
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', reject);
  });
}

/** Where a shard's jobs stand (BullMQ's lists and sets), to tell a worker that never took the turn from a relay that lost it. */
function queueState(port: number, queueKey: string): string {
  const count = (command: string, suffix: string) => redisCli(port, command, `${queueKey}:${suffix}`).trim();
  return `wait ${count('llen', 'wait')}, active ${count('llen', 'active')}, completed ${count('zcard', 'completed')}, failed ${count('zcard', 'failed')}, marker ${count('zcard', 'marker')}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('the master of a queue shard dies mid-block: the worker takes that shard\'s turns again after the promotion', async (t) => {
  const stack = await startLocalStack(t, {
    gateways: 1,
    workers: 1,
    redisCluster: true,
    // A turn not answered 40 s after the promotion is stalled for good (the default is 120 s).
    env: { QUEUE_SHARDS: String(SHARDS), WAIT_TIMEOUT_MS: '40000' },
    // Printed only if the test fails: whether the worker took the turn, and what its BullMQ said.
    logLevel: 'debug',
  });
  const cluster = stack.spawnedCluster!;
  const prefix = new RedisKeys('chat').bullShardPrefix(SHARD);
  const marker = `${prefix}:${TURN_QUEUE_NAME}:marker`;
  const victimPort = ownerPort(cluster, prefix);
  t.equal(role(victimPort), 'master', 'the victim is a master');
  const replica = cluster.nodes.find((n) => new RegExp(`master_port:${victimPort}\\r?\\n`).test(redisCli(n.port, 'info', 'replication')))!;
  t.ok(replica, 'the victim has a replica');
  t.equal(redisCli(replica.port, 'config', 'set', 'cluster-replica-no-failover', 'yes').trim(), 'OK');

  await nextBlock(victimPort, marker);
  await sleep(2500);
  cluster.node(victimPort)!.process.kill('SIGKILL');
  // Down past the watchdog of the block the kill interrupted (5 s + 1 s after it began).
  await sleep(8000);
  t.equal(redisCli(replica.port, 'cluster', 'failover', 'takeover').trim(), 'OK', 'the replica takes over');
  const survivor = cluster.nodes.find((n) => n.port !== victimPort)!.port;
  await eventually(
    () => redisCli(survivor, 'cluster', 'info'),
    (info) => info.includes('cluster_state:ok') && ownerPort(cluster, prefix) === replica.port,
    30_000,
  );
  const promotedAt = Date.now();

  let sessionId = await createSession(stack.httpUrl);
  while (queueShardOf(sessionId, SHARDS) !== SHARD) sessionId = await createSession(stack.httpUrl);
  const reply = await postJson<{ status: string }>(`${stack.httpUrl}/chat/message?wait=1`, { session_id: sessionId, message: 'Can I bring a pet?', message_id: `after-block-${sessionId.slice(0, 8)}` });
  const elapsed = Date.now() - promotedAt;
  t.equal(reply.body.status, 'completed', `queue shard ${SHARD}: a new turn is answered (HTTP ${reply.status}, ${elapsed} ms after the promotion)`);
  if (reply.body.status !== 'completed') t.comment(`queue shard ${SHARD} on its new master: ${queueState(replica.port, `${prefix}:${TURN_QUEUE_NAME}`)}`);
  // The reconnect's backoff (at most 2 s), then the answer. (The block BullMQ dropped used to run
  // after the reconnect and pop this turn's marker, costing one more block, up to 10 s: ioredis
  // no longer sends it, shared/test/cluster-stale-commands.test.ts.) The bound leaves room for a
  // loaded box.
  t.ok(elapsed < 30_000, `answered within 30 s of the promotion (${elapsed} ms)`);
});

// Ends its root test itself, with a guard for a handle left open (see exitIfStillAlive).
t.teardown(exitIfStillAlive);
t.end();
