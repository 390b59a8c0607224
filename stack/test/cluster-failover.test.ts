/**
 * The service on a Redis Cluster under the faults a cluster has (issue 12), on real processes:
 * a local cluster (3 masters + 3 replicas), the offline model, a gateway and two workers as
 * `pnpm start --redis-cluster` runs them, with the turns spread over 3 queue shards.
 *
 *   SIGKILL a master mid-run → its replica is promoted; gateway and workers go on by themselves;
 *                              every turn ends per the invariant on every socket of its session,
 *                              and new turns on every queue shard are answered afterwards
 *   move a live session's slot to another master (CLUSTER SETSLOT + MIGRATE) → its frames follow
 *
 * The invariant (helpers/turn-ledger.ts): chunks in order with no gap and no duplicate, then
 * exactly one `complete` equal to them, or exactly one `error` with a catalogue code.
 */
import { spawnSync } from 'node:child_process';
import t, { type Test } from 'tap';
import { createRedisConnection, queueShardOf, type Redis } from '@chat/shared';
import type { SpawnedRedisCluster } from '@chat/shared/dev';
import calculateSlot from 'cluster-key-slot';
import type { RunningStack } from '../src/local-stack.js';
import { eventually } from './helpers/eventually.js';
import { createSession, postJson } from './helpers/http-client.js';
import { startLocalStack } from './helpers/local-stack.js';
import { awaitTurnEnds } from './helpers/turn-ledger.js';
import { TestSocket } from './helpers/ws-client.js';

const SESSIONS = 12;
const QUEUE_SHARDS = 3;

async function startClusterStack(t: Test): Promise<RunningStack & { cluster: SpawnedRedisCluster }> {
  const running = await startLocalStack(t, {
    gateways: 1,
    workers: 2,
    redisCluster: true,
    env: {
      QUEUE_SHARDS: String(QUEUE_SHARDS),
      // About 3 s per answer: long enough to be caught mid-answer by the fault.
      OFFLINE_LLM_TTFT_MS: '50',
      OFFLINE_LLM_TOKENS_PER_SECOND: '60',
      OFFLINE_LLM_ANSWER_TOKENS: '180',
      OFFLINE_LLM_FILL: 'true',
      WORKER_LOCK_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      JOB_ATTEMPTS: '5',
    },
  });
  if (!running.spawnedCluster) throw new Error('the stack did not spawn a cluster');
  return Object.assign(running, { cluster: running.spawnedCluster });
}

interface LiveSession {
  sessionId: string;
  messageId: string;
  sockets: TestSocket[];
}

/** Sessions with two sockets each, each asked one question; resolves once every turn streams. */
async function startTurns(stack: RunningStack, label: string): Promise<LiveSession[]> {
  const sessions = await Promise.all(
    Array.from({ length: SESSIONS }, async (_, i) => {
      const sessionId = await createSession(stack.httpUrl);
      const sockets = await Promise.all([1, 2].map((n) => TestSocket.openAdmitted(`${stack.wsUrl}/ws/${sessionId}/device-${n}`, 15_000)));
      const messageId = `${label}-${i}-${sessionId.slice(0, 8)}`;
      sockets[0]!.send({ message: `What are the excess baggage fees? (${i})`, message_id: messageId });
      return { sessionId, messageId, sockets };
    }),
  );
  await Promise.all(sessions.map((s) => s.sockets[1]!.waitFor((f) => f.type === 'chunk' && f.message_id === s.messageId, 'a first chunk', 30_000)));
  return sessions;
}

/** Every socket of every session: the turn ended per the invariant, never incoherent or missing. */
async function assertEveryTurnEnded(t: Test, sessions: LiveSession[], timeoutMs: number): Promise<void> {
  const pairs = sessions.flatMap((s) => s.sockets.map((socket, n) => ({ label: `${s.messageId}/device-${n + 1}`, socket, messageId: s.messageId })));
  const outcomes = await awaitTurnEnds(pairs, Date.now() + timeoutMs);
  const bad = outcomes.filter((o) => o.outcome.state === 'pending' || o.outcome.state === 'incoherent');
  t.same(bad.map((o) => `${o.label}: ${o.outcome.state} (${o.outcome.detail})`), [], 'every socket: in order, no gap, no duplicate, exactly one ending');
  const completed = outcomes.filter((o) => o.outcome.state === 'complete').length;
  t.ok(completed >= pairs.length / 2, `most turns completed (${completed} of ${pairs.length} sockets; the rest ended with a catalogue error)`);
  for (const s of sessions) {
    // Both sockets of a session saw the same ending.
    const ends = s.sockets.map((socket) => socket.frames.find((f) => (f.type === 'complete' || f.type === 'error') && f.message_id === s.messageId));
    t.equal(ends[0]?.type, ends[1]?.type, `${s.messageId}: both sockets end alike`);
    if (ends[0]?.type === 'complete') t.equal(ends[0].content, ends[1]?.content, `${s.messageId}: both sockets get the same answer`);
  }
}

function role(port: number): string {
  const info = spawnSync('redis-cli', ['-p', String(port), 'info', 'replication'], { encoding: 'utf8' }).stdout ?? '';
  return /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
}

/** The master that owns a key's slot, by port (read from any live node). */
function ownerPort(cluster: SpawnedRedisCluster, key: string): number {
  const slot = calculateSlot(key);
  for (const node of cluster.nodes) {
    if (node.process.exitCode !== null || node.process.signalCode !== null) continue;
    const out = spawnSync('redis-cli', ['-p', String(node.port), 'cluster', 'slots'], { encoding: 'utf8' }).stdout ?? '';
    // redis-cli prints each range as: start, end, master ip, master port, master id, ...
    const lines = out.split('\n').map((l) => l.trim());
    for (let i = 0; i + 3 < lines.length; i++) {
      const start = Number(lines[i]);
      const end = Number(lines[i + 1]);
      if (/^\d+$/.test(lines[i]!) && /^\d+$/.test(lines[i + 1]!) && lines[i + 2] === '127.0.0.1' && start <= slot && slot <= end) return Number(lines[i + 3]);
    }
  }
  throw new Error(`no live node knows the owner of slot ${slot}`);
}

/** A new turn on a session of every queue shard completes: gateways and workers go on by themselves. */
async function assertServesEveryShard(t: Test, stack: RunningStack): Promise<void> {
  const byShard = new Map<number, string>();
  while (byShard.size < QUEUE_SHARDS) {
    const sessionId = await createSession(stack.httpUrl);
    byShard.set(queueShardOf(sessionId, QUEUE_SHARDS), sessionId);
  }
  for (const [shard, sessionId] of byShard) {
    const reply = await postJson<{ status: string }>(`${stack.httpUrl}/chat/message?wait=1`, { session_id: sessionId, message: 'Can I bring a pet?' });
    t.equal(reply.body.status, 'completed', `queue shard ${shard}: a new turn is answered`);
  }
}

t.test('SIGKILL a master mid-run: its replica takes over, and every turn ends per the invariant on every socket', async (t) => {
  const stack = await startClusterStack(t);
  const sessions = await startTurns(stack, 'failover');
  t.teardown(() => sessions.forEach((s) => s.sockets.forEach((socket) => socket.close())));
  // The master of the first session: its frames, turn log and history go through the victim.
  const victimPort = ownerPort(stack.cluster, `{s:${sessions[0]!.sessionId}}`);
  const victim = stack.cluster.node(victimPort)!;
  t.equal(role(victimPort), 'master', 'the victim is a master');
  victim.process.kill('SIGKILL');
  // Its replica is promoted (cluster-node-timeout 2 s, then an election).
  const survivors = stack.cluster.nodes.filter((n) => n !== victim).map((n) => n.port);
  await eventually(
    () => spawnSync('redis-cli', ['-p', String(survivors[0]), 'cluster', 'info'], { encoding: 'utf8' }).stdout ?? '',
    (info) => info.includes('cluster_state:ok') && ownerPort(stack.cluster, `{s:${sessions[0]!.sessionId}}`) !== victimPort,
    30_000,
  );
  t.pass('a replica was promoted and the cluster serves every slot again');
  await assertEveryTurnEnded(t, sessions, 60_000);
  await assertServesEveryShard(t, stack);
});

t.test('a live session moves to another master (slot migration): its frames follow it, nothing is lost', async (t) => {
  const stack = await startClusterStack(t);
  const sessions = await startTurns(stack, 'migrate');
  t.teardown(() => sessions.forEach((s) => s.sockets.forEach((socket) => socket.close())));
  const tag = `{s:${sessions[0]!.sessionId}}`;
  const slot = calculateSlot(tag);
  const sourcePort = ownerPort(stack.cluster, tag);
  const masters = stack.cluster.nodes.map((n) => n.port).filter((port) => role(port) === 'master');
  const targetPort = masters.find((port) => port !== sourcePort)!;
  const source: Redis = createRedisConnection(`redis://127.0.0.1:${sourcePort}`, { name: 'test-migrate-source' });
  const target: Redis = createRedisConnection(`redis://127.0.0.1:${targetPort}`, { name: 'test-migrate-target' });
  t.teardown(() => {
    source.disconnect();
    target.disconnect();
  });
  const sourceId = String(await source.call('CLUSTER', 'MYID'));
  const targetId = String(await target.call('CLUSTER', 'MYID'));
  // The documented resharding steps (what `redis-cli --cluster reshard` does), one slot.
  await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
  await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
  let moved = 0;
  for (;;) {
    const keys = (await source.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
    if (keys.length === 0) break;
    await source.call('MIGRATE', '127.0.0.1', targetPort, '', 0, 5000, 'REPLACE', 'KEYS', ...keys);
    moved += keys.length;
  }
  for (const port of masters) {
    const node = createRedisConnection(`redis://127.0.0.1:${port}`, { name: 'test-migrate-setslot' });
    await node.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
    node.disconnect();
  }
  t.ok(moved > 0, `the session's keys moved (${moved})`);
  t.equal(ownerPort(stack.cluster, tag), targetPort, 'the slot is served by the other master');
  await assertEveryTurnEnded(t, sessions, 60_000);
  // The moved session goes on on its new master.
  const again = await postJson<{ status: string }>(`${stack.httpUrl}/chat/message?wait=1`, { session_id: sessions[0]!.sessionId, message: 'And for a second bag?' });
  t.equal(again.body.status, 'completed', 'the moved session answers a new turn');
});
