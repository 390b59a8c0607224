/**
 * Redis restarted under load, and the gateways' subscriber connections killed (issue 5, "Redis
 * outages and gateway restarts"), against gateways and workers running as child processes so
 * that a crash shows as a dead process:
 *
 *   sockets ──▶ gateway-0 ─┐                 ┌─ worker-0 ─┐
 *   sockets ──▶ gateway-1 ─┴─▶ redis-server ◀┴─ worker-1 ─┴─▶ offline model (this process)
 *                               ▲
 *                  SHUTDOWN NOSAVE, then a new empty redis-server on the same port
 *                  CLIENT KILL TYPE pubsub (once; then over and over for 2.5 s)
 *
 * Sessions live in Redis and this Redis persists nothing, so after the restart the old sessions
 * are gone: their sockets must be told so (an error frame with a code, or a documented close),
 * and new sessions must chat end to end again through both gateways and the workers.
 *
 * `REDIS_OUTAGE_TURN_DEADLINE_MS` (default 30000) is how long after Redis is back a turn
 * accepted before the outage may take to end before it is reported as hung;
 * `REDIS_OUTAGE_LOG_DIR=<dir>` keeps every process's log lines there.
 */
import t from 'tap';
import WebSocket from 'ws';
import { ERRORS } from '@chat/shared';
import { eventually } from './helpers/eventually.js';
import { createSession, getJson, postJson } from './helpers/http-client.js';
import { startProcessStack, type ProcessStack } from './helpers/process-stack.js';
import { awaitTurnEnds, turnOutcome } from './helpers/turn-ledger.js';
import { TestSocket, type Frame } from './helpers/ws-client.js';

const TURN_DEADLINE_MS = Number(process.env.REDIS_OUTAGE_TURN_DEADLINE_MS ?? 30_000);
const LOG_DIR = process.env.REDIS_OUTAGE_LOG_DIR;
const CATALOGUE = new Set(Object.keys(ERRORS));

interface Conversation {
  index: number;
  sessionId: string;
  /** One socket on each gateway. */
  sockets: TestSocket[];
  /** Turns sent, in order, and whether the gateway refused them (an error frame without message_id). */
  turns: Array<{ messageId: string; sentAt: number; refused: string | null }>;
}

async function openConversation(stack: ProcessStack, index: number, label: string): Promise<Conversation> {
  const sessionId = await createSession(stack.httpUrl(index % stack.gatewayPorts.length));
  const sockets = await Promise.all(stack.gatewayPorts.map((_, g) => TestSocket.open(stack.wsUrl(sessionId, `${label}-${index}-gw${g}`, g))));
  return { index, sessionId, sockets, turns: [] };
}

/** Sends one turn on the conversation's first socket and waits for its end or its refusal. */
async function sendTurn(conversation: Conversation, tag: string, timeoutMs: number): Promise<Frame> {
  const socket = conversation.sockets[0]!;
  const messageId = `${tag}-s${conversation.index}-${conversation.turns.length}`;
  const turn = { messageId, sentAt: Date.now(), refused: null as string | null };
  conversation.turns.push(turn);
  const from = socket.frames.length;
  socket.send({ message: `Session ${conversation.index} question ${conversation.turns.length}: what is the checked baggage allowance?`, message_id: messageId });
  const end = await socket.waitFor(
    (f) => ((f.type === 'complete' || f.type === 'error') && f.message_id === messageId) || (f.type === 'error' && f.message_id === undefined),
    `end or refusal of ${messageId}`,
    timeoutMs,
    from,
  );
  if (end.message_id === undefined) turn.refused = String(end.code);
  return end;
}

async function healthOf(url: string): Promise<{ status: number; body: Record<string, unknown> } | { status: 0; body: { error: string } }> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(3000) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  } catch (err) {
    return { status: 0, body: { error: err instanceof Error ? err.message : String(err) } };
  }
}

/** Every (socket, turn) pair of turns the gateway accepted (not refused) among `conversations`. */
function acceptedPairs(conversations: Conversation[], filter: (turn: Conversation['turns'][number]) => boolean) {
  return conversations.flatMap((c) =>
    c.turns
      .filter((turn) => turn.refused === null && filter(turn))
      .flatMap((turn) => c.sockets.map((socket, g) => ({ label: `session ${c.index} turn ${turn.messageId} on gateway ${g}`, socket, messageId: turn.messageId }))),
  );
}

t.test('Redis restarted under load: health goes 503 and back, turns in flight end, old sessions are told, new ones chat, nothing crashes', async (t) => {
  const stack = await startProcessStack(t, {
    gateways: 2,
    workers: 2,
    // Long enough answers that several turns are mid-stream when Redis goes.
    offline: { ttftMs: 100, tokensPerSecond: 60, answerTokens: 60 },
    // A per-turn deadline well inside the test's wait, so that a turn nobody can finish still ends.
    env: { LLM_TIMEOUT_MS: '15000', LLM_IDLE_TIMEOUT_MS: '5000', TURN_DEADLINE_MS: '15000' },
  });
  if (LOG_DIR) t.teardown(() => stack.dumpLogs(`${LOG_DIR}/redis-restart`));
  const conversations = await Promise.all(Array.from({ length: 6 }, (_, i) => openConversation(stack, i, 'before')));
  t.teardown(() => conversations.forEach((c) => c.sockets.forEach((s) => s.close())));
  for (const [g] of stack.gatewayPorts.entries()) t.equal((await healthOf(stack.httpUrl(g))).status, 200, `gateway ${g} is healthy before the outage`);

  // Every conversation chats turn after turn on its first socket until the outage begins.
  let outage = false;
  const chatters = conversations.map(async (c) => {
    while (!outage) {
      try {
        await sendTurn(c, 'before', 120_000);
      } catch {
        return; // the socket closed
      }
    }
  });
  await eventually(() => conversations.reduce((n, c) => n + c.turns.length, 0), (n) => n >= 12, 15_000);
  await new Promise((resolve) => setTimeout(resolve, 300));

  outage = true;
  const outageStarted = Date.now();
  const inFlight = conversations.filter((c) => turnOutcome(c.sockets[0]!.frames, c.turns.at(-1)!.messageId).state === 'pending').length;
  await stack.stopRedis('shutdown-nosave');
  t.comment(`Redis shut down (SHUTDOWN NOSAVE) with ${inFlight} of ${conversations.length} conversations mid-turn`);

  // While Redis is away: health says so, REST and sockets answer with clear errors, nobody crashes.
  const steps: string[] = [];
  const timed = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await run();
    } finally {
      steps.push(`${label} ${Date.now() - started} ms`);
    }
  };
  for (const [g] of stack.gatewayPorts.entries()) {
    const health = await timed(`health 503 on gateway ${g}`, () => eventually(() => healthOf(stack.httpUrl(g)), (h) => h.status === 503, 5000));
    t.equal(health.status, 503, `gateway ${g} answers /health with 503 while Redis is away`);
    t.match(health.body, { status: 'unhealthy', redis_status: 'disconnected' }, `gateway ${g} says Redis is disconnected`);
  }
  const createDuring = await timed('POST /chat/session', () => fetch(`${stack.httpUrl(0)}/chat/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customer_name: 'Ada', customer_email: 'ada@example.com' }),
    signal: AbortSignal.timeout(10_000),
  }).then(
    async (response) => ({ status: response.status, body: (await response.json()) as { error?: { code: string } } }),
    (err: unknown) => ({ status: 0, body: { error: { code: `request failed: ${String(err)}` } } }),
  ));
  t.equal(createDuring.status, 503, 'POST /chat/session while Redis is away: 503');
  t.equal(createDuring.body.error?.code, 'service_unavailable', 'with service_unavailable');
  const probe = conversations[0]!;
  let probeEnd: Frame | null = null;
  try {
    probeEnd = await timed('socket message', () => sendTurn(probe, 'during', 15_000));
  } catch (err) {
    t.comment(`no answer to a message sent while Redis was away: ${String(err).slice(0, 200)}`);
  }
  t.ok(probeEnd !== null && probeEnd.type === 'error' && CATALOGUE.has(String(probeEnd.code)), `a socket message while Redis is away gets an error frame with a code (${probeEnd ? `${probeEnd.type}:${String(probeEnd.code)}` : 'nothing within 15 s'})`);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3000 - (Date.now() - outageStarted))));
  t.same(stack.exits(), [], 'every gateway and worker process is still running while Redis is away');

  await stack.startRedis();
  const restarted = Date.now();
  t.comment(`Redis restarted on port ${stack.redisPort} after ${restarted - outageStarted} ms away; answers while away: ${steps.join(', ')}`);
  for (const [g] of stack.gatewayPorts.entries()) {
    const health = await eventually(() => healthOf(stack.httpUrl(g)), (h) => h.status === 200, 15_000);
    t.equal(health.status, 200, `gateway ${g} is healthy again (${Date.now() - restarted} ms after the restart)`);
  }

  // The invariant for turns accepted before the outage, on both sockets of their session.
  const before = acceptedPairs(conversations, (turn) => turn.sentAt < outageStarted);
  const outcomes = await awaitTurnEnds(before, restarted + TURN_DEADLINE_MS);
  const counts = outcomes.reduce<Record<string, number>>((acc, o) => ({ ...acc, [o.outcome.state]: (acc[o.outcome.state] ?? 0) + 1 }), {});
  const errorCodes = [...new Set(outcomes.filter((o) => o.outcome.state === 'error').map((o) => o.outcome.detail))];
  t.comment(`${before.length} (socket, turn) pairs accepted before the outage: ${JSON.stringify(counts)}; error codes ${JSON.stringify(errorCodes)}`);
  const hung = outcomes.filter((o) => o.outcome.state === 'pending').map((o) => `${o.label}: ${o.outcome.detail}`);
  const incoherent = outcomes.filter((o) => o.outcome.state === 'incoherent').map((o) => `${o.label}: ${o.outcome.detail}`);
  if (hung.length > 0) t.comment(`hung: ${hung.join('; ')}`);
  if (incoherent.length > 0) t.comment(`incoherent: ${incoherent.join('; ')}`);
  t.same(incoherent, [], 'no turn ended incoherently (a complete unequal to its chunks, a gap, two ends)');
  t.same(hung, [], `every turn accepted before the outage ended with a complete or an error frame within ${TURN_DEADLINE_MS} ms of Redis returning (${hung.length} hung)`);

  // Old sessions are gone with the old Redis: their sockets must be told, not left waiting.
  const old = conversations[1]!;
  let oldAnswer: string;
  try {
    const end = await sendTurn(old, 'after', 10_000);
    oldAnswer = end.type === 'error' ? `error:${String(end.code)}` : end.type;
  } catch {
    const closed = old.sockets[0]!.ws.readyState === WebSocket.CLOSED ? await old.sockets[0]!.closed : null;
    oldAnswer = closed ? `closed:${closed.code}` : 'nothing within 10 s';
  }
  t.ok(/^error:(session_not_found|service_unavailable|queue_unavailable)$|^closed:(4404|1001|1013)$/.test(oldAnswer), `a message on a socket of a session lost with Redis gets a clear answer (${oldAnswer})`);
  const lostSession = await getJson(`${stack.httpUrl(1)}/chat/session/${old.sessionId}`);
  t.equal(lostSession.status, 404, 'GET of a session lost with Redis: 404');

  // New sessions chat end to end again, through both gateways and the workers.
  const fresh = await Promise.all(Array.from({ length: 4 }, (_, i) => openConversation(stack, 10 + i, 'after')));
  t.teardown(() => fresh.forEach((c) => c.sockets.forEach((s) => s.close())));
  await Promise.all(fresh.map((c) => sendTurn(c, 'after', 20_000).catch(() => null)));
  const after = await awaitTurnEnds(acceptedPairs(fresh, () => true), Date.now() + 20_000);
  t.same(
    after.filter((o) => o.outcome.state !== 'complete').map((o) => `${o.label}: ${o.outcome.state} ${o.outcome.detail}`),
    [],
    `new sessions after the restart complete their turns on both gateways (${after.length} socket-turns)`,
  );
  t.ok(fresh.every((c) => c.turns.every((turn) => turn.refused === null)), 'no new turn was refused');
  const rest = await postJson<{ status: string; content: string }>(`${stack.httpUrl(1)}/chat/message?wait=1`, { session_id: fresh[0]!.sessionId, message: 'And over REST?' });
  t.equal(rest.status, 200, 'POST /chat/message?wait=1 answers after the restart');

  await Promise.race([Promise.all(chatters), new Promise((resolve) => setTimeout(resolve, 100))]);
  t.same(stack.exits(), [], 'no gateway or worker process exited');
  t.same(stack.crashLines(), [], 'no process logged an unhandled rejection, an uncaught exception or a fatal error');
  const restored = stack.gateways.concat(stack.workers).map((part) => `${part.name}: ${part.lines.filter((l) => l.includes('redis connection restored')).length}`);
  t.comment(`"redis connection restored" log lines: ${restored.join(', ')}`);
});

t.test('CLIENT KILL TYPE pubsub: the gateways re-subscribe, new turns reach every socket, turns in flight end', async (t) => {
  const stack = await startProcessStack(t, { gateways: 2, workers: 1, offline: { ttftMs: 50, tokensPerSecond: 60, answerTokens: 60 } });
  if (LOG_DIR) t.teardown(() => stack.dumpLogs(`${LOG_DIR}/pubsub-kill`));
  const conversations = await Promise.all(Array.from({ length: 4 }, (_, i) => openConversation(stack, i, 'pubsub')));
  const idle = await Promise.all(Array.from({ length: 2 }, (_, i) => openConversation(stack, 20 + i, 'idle')));
  t.teardown(() => [...conversations, ...idle].forEach((c) => c.sockets.forEach((s) => s.close())));
  const warm = await awaitTurnEnds(
    (await Promise.all(conversations.map((c) => sendTurn(c, 'warm', 20_000).then(() => c)))).flatMap((c) => c.sockets.map((socket, g) => ({ label: `warm ${c.index} gw${g}`, socket, messageId: c.turns[0]!.messageId }))),
    Date.now() + 10_000,
  );
  t.ok(warm.every((o) => o.outcome.state === 'complete'), 'before the kill every socket gets every turn');

  // Turns mid-stream on every conversation, then the subscriber connections are killed.
  const inFlight = conversations.map((c) => {
    void sendTurn(c, 'inflight', 60_000).catch(() => null);
    return c.turns.at(-1)!.messageId;
  });
  await eventually(() => conversations.every((c, i) => c.sockets[0]!.frames.some((f) => f.message_id === inFlight[i] && f.type === 'chunk')), Boolean, 10_000);
  const killed = Number(await stack.redisClient.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
  const killedAt = Date.now();
  t.ok(killed >= stack.gatewayPorts.length, `CLIENT KILL TYPE pubsub closed ${killed} subscriber connections (at least one per gateway)`);

  // A turn sent right after the kill, before the gateway can have re-subscribed.
  const immediate = idle[0]!;
  void sendTurn(immediate, 'immediate', 30_000).catch(() => null);

  // Turns in flight at the kill: every socket sees each end by the invariant.
  const inFlightOutcomes = await awaitTurnEnds(
    conversations.flatMap((c, i) => c.sockets.map((socket, g) => ({ label: `session ${c.index} turn ${inFlight[i]} on gateway ${g}`, socket, messageId: inFlight[i]! }))),
    killedAt + 20_000,
  );
  const broken = inFlightOutcomes.filter((o) => o.outcome.state === 'pending' || o.outcome.state === 'incoherent').map((o) => `${o.label}: ${o.outcome.state} ${o.outcome.detail}`);
  t.comment(`turns in flight at the kill: ${inFlightOutcomes.map((o) => `${o.label}: ${o.outcome.state} ${o.outcome.detail}`).join('; ')}`);
  t.same(broken, [], 'turns in flight when the subscriber connection died end on every socket with a complete equal to their chunks or one error');
  const immediateOutcome = await awaitTurnEnds(
    immediate.sockets.map((socket, g) => ({ label: `immediate turn on gateway ${g}`, socket, messageId: immediate.turns[0]!.messageId })),
    Date.now() + 15_000,
  );
  const immediateRefusal = immediate.turns[0]!.refused;
  const immediateBroken = immediateRefusal !== null && CATALOGUE.has(immediateRefusal) ? [] : immediateOutcome.filter((o) => o.outcome.state !== 'complete').map((o) => `${o.label}: ${o.outcome.state} ${o.outcome.detail}`);
  if (immediateRefusal !== null) t.comment(`the turn sent right after the kill was refused with ${immediateRefusal}`);
  t.comment(
    `turn sent right after the kill: ${immediateOutcome.map((o) => `${o.label}: ${o.outcome.state} ${o.outcome.detail}`).join('; ')}; ` +
      `frames on its sockets: ${immediate.sockets.map((s) => JSON.stringify(s.frames.map((f) => (f.type === 'error' ? `error:${String(f.code)}` : f.type)).slice(0, 8))).join(' / ')}`,
  );
  t.same(immediateBroken, [], 'a turn sent right after the kill completes on both gateways');

  // Once re-subscribed, every new turn reaches every socket on both gateways.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - killedAt))));
  const next = [...conversations, idle[1]!];
  await Promise.all(next.map((c) => sendTurn(c, 'after', 20_000).catch(() => null)));
  const afterOutcomes = await awaitTurnEnds(
    next.flatMap((c) => c.sockets.map((socket, g) => ({ label: `session ${c.index} turn ${c.turns.at(-1)!.messageId} on gateway ${g}`, socket, messageId: c.turns.at(-1)!.messageId }))),
    Date.now() + 15_000,
  );
  t.same(
    afterOutcomes.filter((o) => o.outcome.state !== 'complete').map((o) => `${o.label}: ${o.outcome.state} ${o.outcome.detail}`),
    [],
    `a second after the kill, new turns complete on every socket of both gateways (${afterOutcomes.length} socket-turns): subscriptions restored`,
  );
  // A turn that starts and ends while no gateway can hold a subscription (subscriber connections
  // killed again and again for 2.5 s, the turn posted over REST): it is in its turn log, and must
  // still reach every socket of its session once the gateways are back.
  const gap = await openConversation(stack, 30, 'gap');
  t.teardown(() => gap.sockets.forEach((s) => s.close()));
  let killing = true;
  const killer = (async () => {
    while (killing) {
      await stack.redisClient.call('CLIENT', 'KILL', 'TYPE', 'pubsub').catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const posted = await postJson<{ message_id: string }>(`${stack.httpUrl(0)}/chat/message`, { session_id: gap.sessionId, message: 'A question answered in the dark?', message_id: 'gap-turn-1' });
  t.equal(posted.status, 200, 'a turn posted over REST while the subscribers are down is accepted');
  await new Promise((resolve) => setTimeout(resolve, 2500));
  killing = false;
  await killer;
  const gapOutcome = await awaitTurnEnds(gap.sockets.map((socket, g) => ({ label: `gap turn on gateway ${g}`, socket, messageId: 'gap-turn-1' })), Date.now() + 15_000);
  const gapBroken = gapOutcome.filter((o) => o.outcome.state !== 'complete' && o.outcome.state !== 'error').map((o) => `${o.label}: ${o.outcome.state} ${o.outcome.detail}`);
  t.comment(`turn that began and ended while the subscribers were down: ${gapOutcome.map((o) => `${o.label}: ${o.outcome.state} ${o.outcome.detail}`).join('; ')}`);
  t.same(gapBroken, [], 'a turn that began and ended while the gateways were re-subscribing reaches every socket');

  for (const [g] of stack.gatewayPorts.entries()) {
    const health = await eventually(() => healthOf(stack.httpUrl(g)), (h) => h.status === 200, 10_000);
    t.equal(health.status, 200, `gateway ${g} is healthy`);
  }
  t.same(stack.exits(), [], 'no process exited');
  t.same(stack.crashLines(), [], 'no process logged an unhandled rejection, an uncaught exception or a fatal error');
});
