/**
 * Turns outlive the gateway that accepted them (issue 5): each gateway records the turns it
 * watches in Redis under a lease; when it is killed (the lease lapses) or stops (it gives the
 * lease up), another gateway adopts them and sees that they end — here, by enqueueing again a
 * job that was lost meanwhile, which no one else would do.
 *
 * Real processes: Redis, the offline model, two gateways on one port, one worker. The worker is
 * SIGSTOPped so the turns wait in the queue; the gateway holding the sockets goes; the jobs of
 * its turns are deleted (as a failover to a stale replica would lose them); the worker is
 * revived; every client, reconnected to the survivor with resume, must see its turn complete.
 */
import t, { type Test } from 'tap';
import { RedisKeys, TurnQueues, cacheRedisTarget, loadConfig, openRedis, queueRedisTarget } from '@chat/shared';
import type { RunningStack } from '../src/local-stack.js';
import { eventually } from './helpers/eventually.js';
import { exitIfStillAlive } from './helpers/exit-guard.js';
import { startLocalStack } from './helpers/local-stack.js';
import { createSession } from './helpers/http-client.js';
import { readTurn } from './helpers/turn-transcript.js';
import { TestSocket } from './helpers/ws-client.js';

const TURNS = 10;

// Two five-process stacks, one after the other: on a loaded 2-core box each takes minutes to
// start and run, past the default per-file limit.
t.setTimeout(600_000);

function startStack(t: Test, custodyLeaseMs: number): Promise<RunningStack> {
  return startLocalStack(t, {
    gateways: 2,
    workers: 1,
    env: {
      TURN_CUSTODY_LEASE_MS: String(custodyLeaseMs),
      // Far off: the turns here must be saved by the requeue, not ended by a timeout.
      TURN_DEADLINE_MS: '120000',
    },
  });
}

/** A counter's value summed over its label sets, from one gateway's /metrics. */
async function counter(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))) sum += Number(match[1]);
  return sum;
}

async function runScenario(t: Test, options: { stop: 'SIGKILL' | 'SIGTERM'; custodyLeaseMs: number }): Promise<void> {
  const stack = await startStack(t, options.custodyLeaseMs);
  // The stack's own view of Redis: one server, or the cluster with the turn queue in shards.
  const config = loadConfig(
    stack.spawnedCluster ? { REDIS_CLUSTER_NODES: stack.redisUrl, QUEUE_SHARDS: '3' } : { REDIS_URL: stack.redisUrl },
  );
  const queueConnection = openRedis(queueRedisTarget(config), { name: 'test-queue', forBullmq: true });
  const queues = TurnQueues.open(config, queueConnection);
  const redis = openRedis(cacheRedisTarget(config), { name: 'test-assertions' });
  const keys = new RedisKeys(config.redis.prefix);
  t.teardown(async () => {
    await queues.close();
    queueConnection.disconnect();
    redis.disconnect();
  });
  const worker = stack.workers[0]!.child;
  worker.kill('SIGSTOP');
  t.teardown(() => void worker.kill('SIGCONT'));

  const turns = await Promise.all(
    Array.from({ length: TURNS }, async (_, i) => {
      const sessionId = await createSession(stack.httpUrl);
      const socket = await TestSocket.open(`${stack.wsUrl}/ws/${sessionId}/client`);
      const messageId = `custody-turn-${i}`;
      socket.send({ message: `Can I bring a guitar on board? (${i})`, message_id: messageId });
      return { sessionId, messageId, socket };
    }),
  );
  t.teardown(() => turns.forEach((turn) => turn.socket.close()));
  const waiting = async (): Promise<number> => {
    const counts = await Promise.all(queues.shards.map((queue) => queue.getJobCounts('waiting')));
    return counts.reduce((sum, count) => sum + (count.waiting ?? 0), 0);
  };
  await eventually(waiting, (n) => n === TURNS, 15_000);

  // The gateway goes; the turns it accepted, the ones it was watching, are those of the sockets
  // it held: told by the socket slots in Redis (members are `<gatewayId>/<n>`, and a gateway id
  // holds its pid), not by which sockets close within some time, which a busy box stretches.
  const victim = stack.gateways[0]!;
  const victimMember = new RegExp(`-${victim.child.pid}-[0-9a-f]{6}/`);
  const orphaned: typeof turns = [];
  for (const turn of turns) {
    const members = await redis.zrange(keys.session(turn.sessionId, 'sockets'), 0, -1);
    if (members.some((member) => victimMember.test(member))) orphaned.push(turn);
  }
  victim.child.kill(options.stop);
  await victim.exited;
  await Promise.all(orphaned.map((turn) => turn.socket.waitForClose(15_000)));
  t.ok(orphaned.length >= 1, `some sockets were on the gateway that went (${orphaned.length} of ${TURNS})`);

  // Their jobs are lost, as a failover to a stale replica would lose them.
  for (const turn of orphaned) t.equal(await queues.forSession(turn.sessionId).remove(turn.messageId), 1, `${turn.messageId}: job deleted`);
  const survivor = stack.httpUrl;
  const adopted = await eventually(() => counter(survivor, 'chat_gateway_turns_adopted_total'), (n) => n >= orphaned.length, 30_000);
  t.equal(adopted, orphaned.length, 'the survivor adopted exactly the turns the other gateway watched');
  const requeued = await eventually(() => counter(survivor, 'chat_gateway_turns_requeued_total'), (n) => n >= orphaned.length, 30_000);
  t.equal(requeued, orphaned.length, 'and enqueued each lost job again');

  worker.kill('SIGCONT');
  const results = await Promise.all(
    turns.map(async (turn) => {
      if (!orphaned.includes(turn)) {
        await turn.socket.turn(turn.messageId, 30_000);
        return turn.socket.frames;
      }
      const again = await TestSocket.open(`${stack.wsUrl}/ws/${turn.sessionId}/client?resume=${turn.messageId}&seq=-1`);
      try {
        await again.turn(turn.messageId, 30_000);
      } finally {
        again.close();
      }
      return again.frames;
    }),
  );
  results.forEach((frames, i) => {
    const transcript = readTurn(frames, turns[i]!.messageId);
    t.same(transcript.problems, [], `${turns[i]!.messageId}: in order, no gap, no duplicate, one ending`);
    t.equal(transcript.end?.type, 'complete', `${turns[i]!.messageId}: completed`);
  });
}

t.test('a gateway SIGKILLed with turns in flight: another adopts them once its lease lapses and sees them end', async (t) => {
  await runScenario(t, { stop: 'SIGKILL', custodyLeaseMs: 1500 });
});

t.test('a gateway that stops (SIGTERM) hands its turns over at once, long before its lease would lapse', async (t) => {
  // A 60 s lease: only the hand-over can move the turns within the 30 s the test waits.
  await runScenario(t, { stop: 'SIGTERM', custodyLeaseMs: 60_000 });
});

// The file's root test ends when these two are done, rather than when the event loop empties:
// a handle left open on a cluster once kept it from ending at all (see exitIfStillAlive).
t.teardown(exitIfStillAlive);
t.end();
