/**
 * A SIGKILLed gateway cannot free the socket slots it held; its sessions must not stay locked
 * out until those slots' leases (SOCKET_LEASE_MS, 60 s) run out. Once its custody lease lapses,
 * the gateway admitting a socket into a full session finds its slots held by a dead gateway
 * and frees them (issue 16).
 *
 *   client x3 ──▶ gateway-0 ──SIGKILL──✗       (3 of 3 slots, leases good for 60 s)
 *   client    ──▶ gateway-1 ── 4429 + retry_after_ms (custody lease) ──▶ back off, jittered
 *                    │  roster: gateway-0's custody lease lapsed → its slots go
 *                    └──▶ admitted, far within the socket lease
 */
import t from 'tap';
import { CloseCode, RedisKeys } from '@chat/shared';
import { openWithBackoff } from './helpers/backoff-client.js';
import { createSession } from './helpers/http-client.js';
import { startProcessStack } from './helpers/process-stack.js';
import { TestSocket } from './helpers/ws-client.js';

const CUSTODY_LEASE_MS = 2000;
const SOCKET_LEASE_MS = 60_000;
/** Well under the socket lease: the custody lease, plus generous room for a loaded test box. */
const ADMITTED_WITHIN_MS = 20_000;

t.test('the sockets of a SIGKILLed gateway stop counting against its sessions once its custody lease lapses', async (t) => {
  const stack = await startProcessStack(t, {
    gateways: 2,
    workers: 0,
    env: { MAX_CONNECTIONS_PER_SESSION: '3', TURN_CUSTODY_LEASE_MS: String(CUSTODY_LEASE_MS), SOCKET_LEASE_MS: String(SOCKET_LEASE_MS) },
  });
  const sessionId = await createSession(stack.httpUrl(0));
  const held = [
    await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'a', 0)),
    await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'b', 0)),
    await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'c', 0)),
  ];
  t.teardown(() => held.forEach((socket) => socket.close()));

  // Full, with every holder alive: refused, with a hint to come back in about a custody lease.
  const refusedWhileAlive = await TestSocket.open(stack.wsUrl(sessionId, 'd', 1));
  const error = await refusedWhileAlive.waitFor((f) => f.type === 'error', 'the refusal');
  t.equal(error.code, 'too_many_connections');
  t.equal(error.retry_after_ms, CUSTODY_LEASE_MS, 'the refusal says when to retry');
  t.equal((await refusedWhileAlive.waitForClose()).code, CloseCode.tooManyConnections);

  const victim = stack.gateways[0]!.process;
  victim.child.kill('SIGKILL');
  await victim.exited;
  const killedAt = Date.now();
  await Promise.all(held.map((socket) => socket.waitForClose()));

  // The clients come back on the other gateway, backing off as the refusal said.
  const { socket, refused } = await openWithBackoff(stack.wsUrl(sessionId, 'a', 1), { deadlineMs: ADMITTED_WITHIN_MS });
  t.teardown(() => socket.close());
  const admittedAfterMs = Date.now() - killedAt;
  t.ok(admittedAfterMs < ADMITTED_WITHIN_MS, `admitted ${admittedAfterMs} ms after the kill (socket lease ${SOCKET_LEASE_MS} ms)`);
  for (const refusal of refused) t.same(refusal, { code: 'too_many_connections', closeCode: CloseCode.tooManyConnections, retryAfterMs: CUSTODY_LEASE_MS });
  const others = await Promise.all(['b', 'c'].map((client) => openWithBackoff(stack.wsUrl(sessionId, client, 1), { deadlineMs: ADMITTED_WITHIN_MS })));
  t.teardown(() => others.forEach((other) => other.socket.close()));
  t.same(
    others.map((other) => other.refused),
    [[], []],
    'the dead gateway\'s other slots went with the first: the rest are admitted at once',
  );

  // The freed slots count again: the limit still holds.
  const fourth = await TestSocket.open(stack.wsUrl(sessionId, 'd', 1));
  t.equal((await fourth.waitFor((f) => f.type === 'error', 'the refusal of a fourth socket')).code, 'too_many_connections');
  t.equal(await stack.redisClient.zcard(new RedisKeys(stack.prefix).session(sessionId, 'sockets')), 3, 'three slots held, all on the live gateway');
  t.same(stack.crashLines(), []);
});
