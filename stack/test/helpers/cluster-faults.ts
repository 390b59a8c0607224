/**
 * What the cluster fault tests share (cluster-failover, cluster-slot-migration): a process stack
 * on a local cluster, live sessions with two sockets each, the invariant over every socket, and
 * reading the cluster's slot map with redis-cli.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import { TurnQueues, clusterSlotOf, loadConfig, openRedis, queueRedisTarget, queueShardOf } from '@chat/shared';
import type { SpawnedRedisCluster } from '@chat/shared/dev';
import type { RunningStack } from '../../src/local-stack.js';
import { createSession, postJson } from './http-client.js';
import { startLocalStack } from './local-stack.js';
import { awaitTurnEnds, turnOutcome } from './turn-ledger.js';
import { TestSocket } from './ws-client.js';

const SESSIONS = 12;
const QUEUE_SHARDS = 3;

export async function startClusterStack(t: Test): Promise<RunningStack & { cluster: SpawnedRedisCluster }> {
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

export interface LiveSession {
  sessionId: string;
  messageId: string;
  sockets: TestSocket[];
}

/** Sessions with two sockets each, each asked one question; resolves once every turn streams. */
export async function startTurns(stack: RunningStack, label: string): Promise<LiveSession[]> {
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

/**
 * Every socket of every session: the turn ended per the invariant, never incoherent or missing.
 * `unaffected`: the sessions the fault did not touch (their keys on a master that lived): each
 * must complete. Without it, most turns must.
 */
export async function assertEveryTurnEnded(t: Test, sessions: LiveSession[], timeoutMs: number, unaffected?: LiveSession[]): Promise<void> {
  const pairs = sessions.flatMap((s) => s.sockets.map((socket, n) => ({ label: `${s.messageId}/device-${n + 1}`, socket, messageId: s.messageId })));
  const outcomes = await awaitTurnEnds(pairs, Date.now() + timeoutMs);
  const bad = outcomes.filter((o) => o.outcome.state === 'pending' || o.outcome.state === 'incoherent');
  t.same(bad.map((o) => `${o.label}: ${o.outcome.state} (${o.outcome.detail})`), [], 'every socket: in order, no gap, no duplicate, exactly one ending');
  const completed = outcomes.filter((o) => o.outcome.state === 'complete').length;
  const errors = outcomes.filter((o) => o.outcome.state === 'error').map((o) => o.outcome.detail);
  const codes = [...new Set(errors)].map((code) => `${code} × ${errors.filter((c) => c === code).length}`).join(', ');
  const summary = `${completed} of ${pairs.length} sockets completed; the rest ended with a catalogue error: ${codes || 'none'}`;
  if (unaffected) {
    // A session on the dead master may have lost what was not replicated yet (async replication:
    // session_not_found); one on a master that lived has lost nothing and must be answered.
    const notCompleted = unaffected.filter((s) => s.sockets.some((socket) => turnOutcome(socket.frames, s.messageId).state !== 'complete'));
    t.same(notCompleted.map((s) => s.messageId), [], `every session on a surviving master completed (${unaffected.length} of ${sessions.length} sessions; ${summary})`);
  } else {
    t.ok(completed >= pairs.length / 2, `most turns completed (${summary})`);
  }
  for (const s of sessions) {
    // Both sockets of a session saw the same ending.
    const ends = s.sockets.map((socket) => socket.frames.find((f) => (f.type === 'complete' || f.type === 'error') && f.message_id === s.messageId));
    t.equal(ends[0]?.type, ends[1]?.type, `${s.messageId}: both sockets end alike`);
    if (ends[0]?.type === 'complete') t.equal(ends[0].content, ends[1]?.content, `${s.messageId}: both sockets get the same answer`);
  }
}

export function role(port: number): string {
  const info = spawnSync('redis-cli', ['-p', String(port), 'info', 'replication'], { encoding: 'utf8' }).stdout ?? '';
  return /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
}

/** The master that owns a key's slot, by port (read from any live node). */
export function ownerPort(cluster: SpawnedRedisCluster, key: string): number {
  const slot = clusterSlotOf(key);
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
export async function assertServesEveryShard(t: Test, stack: RunningStack): Promise<void> {
  const byShard = new Map<number, string>();
  while (byShard.size < QUEUE_SHARDS) {
    const sessionId = await createSession(stack.httpUrl);
    byShard.set(queueShardOf(sessionId, QUEUE_SHARDS), sessionId);
  }
  for (const [shard, sessionId] of byShard) {
    const messageId = `after-fault-${shard}-${randomUUID()}`;
    const reply = await postJson<{ status: string }>(`${stack.httpUrl}/chat/message?wait=1`, { session_id: sessionId, message: 'Can I bring a pet?', message_id: messageId });
    // When it is not answered, say which side stalled: a job never taken (the workers) or one
    // done whose ending the gateway never heard (its subscription).
    const why = reply.body.status === 'completed' ? '' : `; HTTP ${reply.status} ${JSON.stringify(reply.body)}, job ${await jobState(stack, sessionId, messageId)}`;
    t.equal(reply.body.status, 'completed', `queue shard ${shard}: a new turn is answered${why}`);
  }
}

/** The BullMQ state of a turn's job on its queue shard, read through the cluster. */
async function jobState(stack: RunningStack, sessionId: string, messageId: string): Promise<string> {
  const config = loadConfig({ REDIS_CLUSTER_NODES: stack.redisUrl, QUEUE_SHARDS: String(QUEUE_SHARDS) });
  const connection = openRedis(queueRedisTarget(config), { name: 'test-diagnosis', forBullmq: true });
  const queues = TurnQueues.open(config, connection);
  try {
    return await queues.forSession(sessionId).getJobState(messageId);
  } catch (err) {
    return `unreadable (${String(err)})`;
  } finally {
    await queues.close();
    connection.disconnect();
  }
}

