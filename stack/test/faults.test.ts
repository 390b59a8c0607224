/**
 * The fault suite (issue 5), on real processes: Redis, the offline model, gateways and workers
 * as the start command runs them. Each case checks the invariant from the client side: every
 * turn's frames, read as a client must (helpers/turn-transcript.ts), run in order with no gap
 * and no duplicate and end exactly once, with a `complete` equal to the text.
 *
 *   SIGKILL a worker mid-answer   → another worker takes the turn over (reset, then the answer)
 *   SIGSTOP a worker past its lock → it is replaced; revived, its writes are refused
 *   SIGKILL a gateway              → its clients reconnect to the other one and resume
 */
import { get } from 'node:http';
import t, { type Test } from 'tap';
import type { RunningStack } from '../src/local-stack.js';
import { createSession, postJson } from './helpers/http-client.js';
import { startLocalStack } from './helpers/local-stack.js';
import { readTurn } from './helpers/turn-transcript.js';
import { TestSocket, type Frame } from './helpers/ws-client.js';

const TURNS = 10;

async function startStack(t: Test, gateways: number, workers: number): Promise<RunningStack & { workerPorts: number[] }> {
  const running = await startLocalStack(t, {
    gateways,
    workers,
    env: {
      // About 3 s per answer: long enough to be caught mid-answer.
      OFFLINE_LLM_TTFT_MS: '50',
      OFFLINE_LLM_TOKENS_PER_SECOND: '60',
      OFFLINE_LLM_ANSWER_TOKENS: '180',
      OFFLINE_LLM_FILL: 'true',
      // A dead worker's turns move within about 2 s, not BullMQ's default 30 s or more.
      WORKER_LOCK_MS: '1500',
      WORKER_STALLED_INTERVAL_MS: '500',
      JOB_ATTEMPTS: '5',
    },
  });
  return Object.assign(running, { workerPorts: running.workers.map((w) => w.port ?? 0) });
}

/** The index of the worker running the most turns (from each worker's /health). */
async function busiestWorker(ports: number[]): Promise<number> {
  const active = await Promise.all(
    ports.map(async (port) => ((await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { active_turns: number }).active_turns),
  );
  return active.indexOf(Math.max(...active));
}

/**
 * Sockets per gateway process, by pid, from each gateway's /health (`gateway_id` is
 * `<host>-<pid>-<hex>`). The gateways share one port (SO_REUSEPORT), so each request goes on a
 * new connection, which the kernel hands to one of them by a hash of its address: asked until
 * every gateway has answered.
 */
async function socketsPerGateway(httpUrl: string, pids: number[]): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  for (let attempt = 0; seen.size < pids.length; attempt++) {
    if (attempt >= 500) throw new Error(`/health reached only gateways ${[...seen.keys()].join(', ')} of ${pids.join(', ')}`);
    const health = await new Promise<{ gateway_id: string; active_connections: number }>((resolve, reject) => {
      get(`${httpUrl}/health`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(JSON.parse(body) as { gateway_id: string; active_connections: number }));
      }).on('error', reject);
    });
    seen.set(Number(health.gateway_id.split('-').at(-2)), health.active_connections);
  }
  return seen;
}

/** Opens one session and socket per turn and sends each its question. */
async function startTurns(stack: RunningStack & { workerPorts: number[] }): Promise<Array<{ sessionId: string; messageId: string; socket: TestSocket }>> {
  return Promise.all(
    Array.from({ length: TURNS }, async (_, i) => {
      const sessionId = await createSession(stack.httpUrl);
      const socket = await TestSocket.open(`${stack.wsUrl}/ws/${sessionId}/client`);
      const messageId = `fault-turn-${i}`;
      socket.send({ message: `What are the excess baggage fees? (${i})`, message_id: messageId });
      return { sessionId, messageId, socket };
    }),
  );
}

function assertInvariant(t: Test, frames: readonly Frame[], messageId: string): ReturnType<typeof readTurn> {
  const transcript = readTurn(frames, messageId);
  t.same(transcript.problems, [], `${messageId}: in order, no gap, no duplicate, one ending`);
  t.equal(transcript.end?.type, 'complete', `${messageId}: completed`);
  return transcript;
}

t.test('SIGKILL a worker mid-answer: another worker takes the turns over and every client sees one coherent answer', async (t) => {
  const stack = await startStack(t, 1, 2);
  const turns = await startTurns(stack);
  t.teardown(() => turns.forEach((turn) => turn.socket.close()));
  await Promise.all(turns.map((turn) => turn.socket.waitFor((f) => f.type === 'chunk' && f.message_id === turn.messageId, 'a first chunk', 15_000)));
  const victim = stack.workers[await busiestWorker(stack.workerPorts)]!;
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  await victim.exited;
  for (const turn of turns) await turn.socket.turn(turn.messageId, 30_000);
  const recoveredIn = Date.now() - killedAt;
  let takenOver = 0;
  for (const turn of turns) {
    assertInvariant(t, turn.socket.frames, turn.messageId);
    if (turn.socket.frames.some((f) => f.type === 'reset')) takenOver++;
  }
  t.ok(takenOver >= 1, `the killed worker's turns were taken over by the other one (${takenOver} of ${TURNS}, each with a reset)`);
  t.ok(recoveredIn < 20_000, `all turns ended ${recoveredIn} ms after the kill`);
});

t.test('SIGSTOP a worker past its lock: it is replaced, and once revived its writes are refused', async (t) => {
  const stack = await startStack(t, 1, 2);
  const turns = await startTurns(stack);
  t.teardown(() => turns.forEach((turn) => turn.socket.close()));
  await Promise.all(turns.map((turn) => turn.socket.waitFor((f) => f.type === 'chunk' && f.message_id === turn.messageId, 'a first chunk', 15_000)));
  const paused = stack.workers[await busiestWorker(stack.workerPorts)]!.child;
  paused.kill('SIGSTOP');
  t.teardown(() => {
    if (paused.exitCode === null) paused.kill('SIGCONT');
  });
  for (const turn of turns) await turn.socket.turn(turn.messageId, 30_000);
  // Revive it: it still believes it owns its old turns and tries to go on writing them.
  paused.kill('SIGCONT');
  await new Promise((resolve) => setTimeout(resolve, 2500));
  let takenOver = 0;
  for (const turn of turns) {
    assertInvariant(t, turn.socket.frames, turn.messageId);
    if (turn.socket.frames.some((f) => f.type === 'reset')) takenOver++;
  }
  t.ok(takenOver >= 1, `turns of the paused worker were taken over (${takenOver})`);
  // New turns still work with both workers back.
  const after = await postJson<{ status: string }>(`${stack.httpUrl}/chat/message?wait=1`, { session_id: turns[0]!.sessionId, message: 'Thanks for the info!' });
  t.equal(after.body.status, 'completed');
});

t.test('SIGKILL a gateway: its clients reconnect to the other gateway, resume, and miss nothing', async (t) => {
  const stack = await startStack(t, 2, 1);
  const turns = await startTurns(stack);
  await Promise.all(turns.map((turn) => turn.socket.waitFor((f) => f.type === 'chunk' && f.message_id === turn.messageId, 'a first chunk', 15_000)));
  // The victim is the gateway holding the most sockets: the kernel's hash alone could put all
  // ten on the other one (it did, once in CI), and then no client would have had to reconnect.
  const sockets = await socketsPerGateway(stack.httpUrl, stack.gateways.map((g) => g.child.pid!));
  const victim = stack.gateways.reduce((best, g) => ((sockets.get(g.child.pid!) ?? 0) > (sockets.get(best.child.pid!) ?? 0) ? g : best));
  t.comment(`sockets per gateway pid: ${JSON.stringify([...sockets])}`);
  victim.child.kill('SIGKILL');
  await victim.exited;
  let reconnected = 0;
  const results = await Promise.all(
    turns.map(async (turn) => {
      const outcome = await Promise.race([turn.socket.turn(turn.messageId, 30_000).then(() => 'live' as const), turn.socket.closed.then(() => 'dropped' as const)]);
      if (outcome === 'live' && turn.socket.ws.readyState === turn.socket.ws.OPEN) return turn.socket.frames;
      // The gateway under this socket died: reconnect (the port now leads to the survivor) and resume.
      reconnected++;
      const seen = readTurn(turn.socket.frames, turn.messageId);
      if (seen.end) return turn.socket.frames;
      const again = await TestSocket.open(`${stack.wsUrl}/ws/${turn.sessionId}/client?resume=${turn.messageId}&seq=${seen.lastSeq}`);
      await again.turn(turn.messageId, 30_000);
      again.close();
      return [...turn.socket.frames, ...again.frames];
    }),
  );
  turns.forEach((turn) => turn.socket.close());
  results.forEach((frames, i) => assertInvariant(t, frames, turns[i]!.messageId));
  t.ok(reconnected >= 1, `some clients were on the killed gateway and resumed on the other (${reconnected} of ${TURNS})`);
});
