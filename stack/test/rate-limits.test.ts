/**
 * Rate limits counted in Redis, so they hold across gateways:
 *
 *   socket on gateway A ─┐
 *                        ├─▶ Redis counter per session (30 turns/min) ─▶ the 31st is refused
 *   REST on gateway B ───┘
 */
import t from 'tap';
import { CloseCode } from '@chat/shared';
import { createSession, postJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

t.test('the 31st turn in a minute is refused with retry_after_ms, counted across two gateways', async (t) => {
  const stack = await startInProcessStack(t, { gateways: 2, offline: { answerTokens: 5 } });
  const sessionId = await createSession(stack.httpUrl(0));
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'a', 0));
  t.teardown(() => socket.close());
  for (let i = 0; i < 15; i++) {
    const sent = await postJson(`${stack.httpUrl(1)}/chat/message`, { session_id: sessionId, message: `rest ${i}` });
    t.equal(sent.status, 200, `REST turn ${i + 1} on gateway B accepted`);
  }
  for (let i = 0; i < 15; i++) socket.send({ message: `socket ${i}` });
  socket.send({ message: 'one too many' });
  const error = await socket.waitFor((f) => f.type === 'error' && f.code === 'rate_limited', 'rate_limited frame', 15_000);
  t.ok(Number(error.retry_after_ms) > 0 && Number(error.retry_after_ms) <= 60_000, `retry_after_ms = ${error.retry_after_ms}`);
  t.match(String(error.content), /30 messages per minute/);

  const refusedOnRest = await postJson<{ error: { code: string; retry_after_ms: number } }>(`${stack.httpUrl(1)}/chat/message`, { session_id: sessionId, message: 'and another' });
  t.equal(refusedOnRest.status, 429);
  t.equal(refusedOnRest.body.error.code, 'rate_limited');
  t.ok(refusedOnRest.body.error.retry_after_ms > 0);
  t.ok(Number(refusedOnRest.headers.get('retry-after')) >= 1, 'Retry-After header in seconds');

  const completes = async () => socket.frames.filter((f) => f.type === 'complete').length;
  for (let i = 0; i < 300 && (await completes()) < 30; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(await completes(), 30, 'exactly the 30 accepted turns were answered');

  const otherSession = await createSession(stack.httpUrl(0));
  const other = await postJson(`${stack.httpUrl(0)}/chat/message`, { session_id: otherSession, message: 'hello' });
  t.equal(other.status, 200, 'another session has its own budget');
});

t.test('session creation and connection attempts are limited per client address', async (t) => {
  const stack = await startInProcessStack(t, { config: { limits: { sessionsPerMinutePerAddress: 3, connectsPerMinutePerAddress: 3 } } });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push(await createSession(stack.httpUrl()));
  const fourth = await postJson<{ error: { code: string } }>(`${stack.httpUrl()}/chat/session`, { customer_name: 'X', customer_email: 'x@example.com' });
  t.equal(fourth.status, 429);
  t.equal(fourth.body.error.code, 'rate_limited');
  t.ok(Number(fourth.headers.get('retry-after')) >= 1);

  const sockets: TestSocket[] = [];
  for (let i = 0; i < 3; i++) sockets.push(await TestSocket.open(stack.wsUrl(ids[0]!, `c${i}`)));
  t.teardown(() => sockets.forEach((s) => s.close()));
  const refused = await TestSocket.open(stack.wsUrl(ids[0]!, 'c4'));
  const frame = await refused.waitFor((f) => f.type === 'error', 'error frame');
  t.equal(frame.code, 'rate_limited');
  t.equal((await refused.waitForClose()).code, CloseCode.tryAgainLater);
});

t.test('behind a trusted proxy (TRUST_PROXY_HOPS=1), limits key on the client the proxy names, not on the proxy', async (t) => {
  const stack = await startInProcessStack(t, { config: { limits: { sessionsPerMinutePerAddress: 2 }, gateway: { trustProxyHops: 1 } } });
  const create = (forwardedFor: string) =>
    fetch(`${stack.httpUrl()}/chat/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ customer_name: 'X', customer_email: 'x@example.com' }),
    }).then((r) => r.status);
  t.same([await create('203.0.113.1'), await create('203.0.113.1'), await create('203.0.113.1')], [200, 200, 429], 'one client: its own budget');
  t.equal(await create('203.0.113.2'), 200, 'another client behind the same proxy is not refused for it');
  t.equal(await create('198.51.100.9, 203.0.113.1'), 429, 'a forged address written before the proxy\'s does not buy a new budget');
});
