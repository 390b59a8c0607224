/**
 * Session tokens, socket tickets and the Origin allow-list, through the whole in-process stack:
 *
 *   client ──POST /chat/session──▶ gateway ─▶ {session_id, token}        (JWT, sub = session id)
 *   client ──POST /chat/ticket (Bearer token)──▶ gateway ─SET EX─▶ Redis  {ticket, expires_in}
 *   browser ──/ws/:session/:client?ticket=…──▶ gateway ─GETDEL─▶ Redis    (opens one socket, once)
 *   app ──/ws/:session/:client + Authorization: Bearer──▶ gateway         (verified in process)
 *
 * With AUTH_REQUIRED every refusal is a clear code: REST 401 `unauthorized` / 403 `forbidden`;
 * sockets one `error` frame, then close 4401 / 4403.
 */
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { SessionTokens } from '@chat/gateway';
import { CloseCode, RedisKeys, type AuthKey } from '@chat/shared';
import { createSession, getJson, postJson, type JsonResponse } from './helpers/http-client.js';
import { startInProcessStack, type InProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

const newKey = (kid: string): AuthKey & { env: string } => {
  const secret = randomBytes(32);
  return { kid, secret: new Uint8Array(secret), env: `${kid}:${secret.toString('base64')}` };
};

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

interface CreatedSession {
  session_id: string;
  status: string;
  token?: string;
  token_expires_at?: string;
}

async function newSession(stack: InProcessStack): Promise<JsonResponse<CreatedSession>> {
  const response = await postJson<CreatedSession>(`${stack.httpUrl()}/chat/session`, { customer_name: 'Ada Traveller', customer_email: 'ada@example.com' });
  if (response.status !== 200) throw new Error(`session create failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response;
}

/** A socket the gateway accepted: it answers a ping (a refused socket never does). */
async function expectAccepted(t: Test, socket: TestSocket, what: string): Promise<void> {
  socket.send({ type: 'ping' });
  const first = await socket.waitFor((f) => f.type === 'pong' || f.type === 'error', `pong or error (${what})`);
  t.equal(first.type, 'pong', `${what}: accepted`);
}

/** A socket the gateway refused: exactly one error frame with `code`, then `closeCode`. */
async function expectRefused(t: Test, socket: TestSocket, code: string, closeCode: number, what: string): Promise<string> {
  const closed = await socket.waitForClose();
  t.same(
    socket.frames.map((f) => [f.type, f.code]),
    [['error', code]],
    `${what}: one error frame, ${code}`,
  );
  t.same(closed, { code: closeCode, reason: code }, `${what}: close ${closeCode}`);
  return String(socket.frames[0]?.content);
}

t.test('AUTH_REQUIRED: tokens open their own session on REST and sockets, and no other', async (t) => {
  const key = newKey('k1');
  const logLines: string[] = [];
  const stack = await startInProcessStack(t, { config: { auth: { required: true, secrets: key.env }, log: { level: 'debug' } }, logLines });
  const url = stack.httpUrl();

  const created = await newSession(stack);
  const { session_id: sessionId, token } = created.body;
  t.type(token, 'string', 'the session answer carries a token');
  t.equal(created.headers.get('cache-control'), 'no-store');
  const claims = JSON.parse(Buffer.from(token!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  t.same(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'iss', 'sub']);
  t.match(claims, { sub: sessionId, iss: 'scalable-chatbot-svc', aud: 'chat' });
  t.equal(claims.exp, Number(claims.iat) + 86_400);
  t.equal(created.body.token_expires_at, new Date(Number(claims.exp) * 1000).toISOString());
  const other = (await newSession(stack)).body;

  // REST: GET /chat/session/:id.
  const readUrl = `${url}/chat/session/${sessionId}`;
  const missing = await getJson<Record<string, any>>(readUrl);
  t.equal(missing.status, 401);
  t.equal(missing.body.error.code, 'unauthorized');
  t.equal(missing.headers.get('www-authenticate'), 'Bearer realm="chat"');
  t.match(missing.body.error.message, /Authorization: Bearer <token>/);
  const garbage = await getJson<Record<string, any>>(readUrl, bearer('not-a-token'));
  t.same([garbage.status, garbage.body.error.code, garbage.body.error.message], [401, 'unauthorized', 'The session token is malformed.']);
  const tampered = `${token!.split('.').slice(0, 2).join('.')}.${Buffer.alloc(32).toString('base64url')}`;
  t.same((await getJson<Record<string, any>>(readUrl, bearer(tampered))).body.error, { code: 'unauthorized', message: 'The session token is invalid.', status: 401 });
  const foreign = await getJson<Record<string, any>>(readUrl, bearer(other.token!));
  t.same(foreign.body, { error: { code: 'forbidden', message: 'This token is for another session.', status: 403 }, detail: 'This token is for another session.' });
  t.equal(foreign.status, 403);
  const own = await getJson<Record<string, any>>(readUrl, bearer(token!));
  t.equal(own.status, 200);
  t.equal(own.body.session_id, sessionId);

  // An expired token (signed with the right key a day and a bit ago).
  const expired = (await new SessionTokens({ keys: [key], issuer: 'scalable-chatbot-svc', audience: 'chat', ttlSeconds: 86_400, now: () => Date.now() - 86_500_000 }).issue(sessionId)).token;
  const late = await getJson<Record<string, any>>(readUrl, bearer(expired));
  t.same([late.status, late.body.error.code, late.body.error.message], [401, 'unauthorized', 'The session token has expired; create a new session.']);

  // REST: POST /chat/message, the body's session against the token's.
  const messageUrl = `${url}/chat/message`;
  const body = { session_id: sessionId, message: 'Is my flight on time?' };
  t.equal((await postJson<Record<string, any>>(messageUrl, body)).body.error.code, 'unauthorized');
  t.equal((await postJson<Record<string, any>>(messageUrl, body, bearer(expired))).status, 401);
  const wrongSession = await postJson<Record<string, any>>(messageUrl, body, bearer(other.token!));
  t.same([wrongSession.status, wrongSession.body.error.code], [403, 'forbidden']);
  const sse = await postJson<Record<string, any>>(messageUrl, body, { accept: 'text/event-stream' });
  t.same([sse.status, sse.body.error.code], [401, 'unauthorized'], 'SSE delivery is guarded too');
  const invalidBody = await postJson<Record<string, any>>(messageUrl, { session_id: sessionId }, bearer(token!));
  t.equal(invalidBody.body.error.code, 'validation_failed', 'the body is validated first');
  const answered = await postJson<Record<string, any>>(`${messageUrl}?wait=1`, body, bearer(token!));
  t.equal(answered.status, 200);
  t.equal(answered.body.status, 'completed');

  // Sockets with the Authorization header.
  const noCredentials = await TestSocket.open(stack.wsUrl(sessionId, 'anon'));
  const content = await expectRefused(t, noCredentials, 'unauthorized', CloseCode.unauthorized, 'no token');
  t.match(content, /\?ticket=/, 'the refusal says how to authenticate a browser socket');
  await expectRefused(t, await TestSocket.open(stack.wsUrl(sessionId, 'bad'), 5000, { headers: bearer(tampered) }), 'unauthorized', CloseCode.unauthorized, 'bad signature');
  await expectRefused(t, await TestSocket.open(stack.wsUrl(sessionId, 'late'), 5000, { headers: bearer(expired) }), 'unauthorized', CloseCode.unauthorized, 'expired');
  const hijack = await TestSocket.open(stack.wsUrl(sessionId, 'thief'), 5000, { headers: bearer(other.token!) });
  t.equal(await expectRefused(t, hijack, 'forbidden', CloseCode.forbidden, "another session's token"), 'This token is for another session.');

  const app = await TestSocket.open(stack.wsUrl(sessionId, 'app'), 5000, { headers: bearer(token!) });
  t.teardown(() => app.close());
  await expectAccepted(t, app, 'own token in the header');
  app.send({ message: 'Can I change my seat?' });
  t.equal((await app.turn(null)).end.type, 'complete', 'and it chats');

  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /chat_gateway_connections_total\{result="unauthorized",role="gateway"\} 3/);
  t.match(metrics, /chat_gateway_connections_total\{result="forbidden",role="gateway"\} 1/);

  const logs = logLines.join('\n');
  t.ok(logLines.length > 0, 'the parts did log');
  for (const secret of [token!, other.token!, expired, tampered, key.env.split(':')[1]!]) t.notOk(logs.includes(secret), 'no token or secret in the logs');
});

t.test('AUTH_REQUIRED: a ticket opens its session once, on any gateway; then it is refused', async (t) => {
  const key = newKey('k1');
  const logLines: string[] = [];
  const stack = await startInProcessStack(t, { gateways: 2, config: { auth: { required: true, secrets: key.env, ticketTtlSeconds: 20 }, log: { level: 'debug' } }, logLines });
  const keys = new RedisKeys(stack.config.redis.prefix);
  const { session_id: sessionId, token } = (await newSession(stack)).body;
  const other = (await newSession(stack)).body;

  const ticketUrl = `${stack.httpUrl()}/chat/ticket`;
  const anonymous = await postJson<Record<string, any>>(ticketUrl, {});
  t.same([anonymous.status, anonymous.body.error.code], [401, 'unauthorized'], 'a ticket needs the token');
  const issued = await postJson<{ ticket: string; expires_in: number }>(ticketUrl, {}, bearer(token!));
  t.equal(issued.status, 200);
  t.same(Object.keys(issued.body).sort(), ['expires_in', 'ticket']);
  t.equal(issued.body.expires_in, 20);
  t.match(issued.body.ticket, /^[A-Za-z0-9_-]{43}$/);
  t.equal(issued.headers.get('cache-control'), 'no-store');
  const ticketKey = keys.socketTicket(issued.body.ticket);
  t.equal(await stack.redisClient.get(ticketKey), sessionId, 'stored with the session it opens');
  const ttl = await stack.redisClient.ttl(ticketKey);
  t.ok(ttl > 0 && ttl <= 20, `with a short TTL (${ttl} s)`);

  // Issued through gateway 0, used on gateway 1.
  const browser = await TestSocket.open(`${stack.wsUrl(sessionId, 'browser', 1)}?ticket=${issued.body.ticket}`);
  t.teardown(() => browser.close());
  await expectAccepted(t, browser, 'ticket');
  t.equal(await stack.redisClient.exists(ticketKey), 0, 'deleted on use');
  browser.send({ message: 'What can I bring on board?' });
  t.equal((await browser.turn(null)).end.type, 'complete', 'the ticket socket chats');

  const replay = await TestSocket.open(`${stack.wsUrl(sessionId, 'replay', 0)}?ticket=${issued.body.ticket}`);
  t.match(await expectRefused(t, replay, 'unauthorized', CloseCode.unauthorized, 'the same ticket again'), /already used/);

  // A ticket of one session on another session's URL is refused, and burnt.
  const otherTicket = (await postJson<{ ticket: string }>(ticketUrl, {}, bearer(other.token!))).body.ticket;
  await expectRefused(t, await TestSocket.open(`${stack.wsUrl(sessionId, 'thief')}?ticket=${otherTicket}`), 'forbidden', CloseCode.forbidden, "another session's ticket");
  await expectRefused(t, await TestSocket.open(`${stack.wsUrl(other.session_id, 'owner')}?ticket=${otherTicket}`), 'unauthorized', CloseCode.unauthorized, 'a ticket tried elsewhere is gone');

  for (const bad of ['', 'nope', 'x'.repeat(200), '%7Bt%3Aa%7D']) {
    await expectRefused(t, await TestSocket.open(`${stack.wsUrl(sessionId, 'guess')}?ticket=${bad}`), 'unauthorized', CloseCode.unauthorized, `ticket ${JSON.stringify(bad.slice(0, 12))}`);
  }

  // When both are sent the ticket decides; a valid header still works alone.
  const both = await TestSocket.open(`${stack.wsUrl(sessionId, 'both')}?ticket=${issued.body.ticket}`, 5000, { headers: bearer(token!) });
  await expectRefused(t, both, 'unauthorized', CloseCode.unauthorized, 'a used ticket next to a valid header');
  const headerOnly = await TestSocket.open(stack.wsUrl(sessionId, 'header', 1), 5000, { headers: bearer(token!) });
  t.teardown(() => headerOnly.close());
  await expectAccepted(t, headerOnly, 'header after tickets');

  const logs = logLines.join('\n');
  for (const secret of [issued.body.ticket, otherTicket, token!]) t.notOk(logs.includes(secret), 'no ticket or token in the logs');
});

t.test('key rotation: tokens of every listed kid verify; a dropped kid is refused', async (t) => {
  const oldKey = newKey('2025-01');
  const newKeyPair = newKey('2026-01');
  const mint = (keys: AuthKey[], sessionId: string) =>
    new SessionTokens({ keys, issuer: 'scalable-chatbot-svc', audience: 'chat', ttlSeconds: 600 }).issue(sessionId).then((issued) => issued.token);

  // Mid-rotation: the new key signs, the old one still verifies.
  const rotating = await startInProcessStack(t, { config: { auth: { required: true, secrets: `${newKeyPair.env},${oldKey.env}` } } });
  const created = (await newSession(rotating)).body;
  t.equal(JSON.parse(Buffer.from(created.token!.split('.')[0]!, 'base64url').toString()).kid, '2026-01', 'new tokens carry the new kid');
  const oldToken = await mint([oldKey], created.session_id);
  t.equal((await getJson(`${rotating.httpUrl()}/chat/session/${created.session_id}`, bearer(oldToken))).status, 200, 'an old-kid token verifies while listed');
  t.equal((await getJson(`${rotating.httpUrl()}/chat/session/${created.session_id}`, bearer(created.token!))).status, 200, 'a new-kid token verifies');
  const oldSocket = await TestSocket.open(rotating.wsUrl(created.session_id, 'old'), 5000, { headers: bearer(oldToken) });
  t.teardown(() => oldSocket.close());
  await expectAccepted(t, oldSocket, 'old-kid token on a socket');

  // Rotation finished: the old key is gone.
  const rotated = await startInProcessStack(t, { config: { auth: { required: true, secrets: newKeyPair.env } } });
  const sessionId = await createSession(rotated.httpUrl());
  const staleToken = await mint([oldKey], sessionId);
  const refused = await getJson<Record<string, any>>(`${rotated.httpUrl()}/chat/session/${sessionId}`, bearer(staleToken));
  t.same([refused.status, refused.body.error.code, refused.body.error.message], [401, 'unauthorized', 'The session token was signed with a key this service no longer accepts.']);
  await expectRefused(t, await TestSocket.open(rotated.wsUrl(sessionId, 'stale'), 5000, { headers: bearer(staleToken) }), 'unauthorized', CloseCode.unauthorized, 'dropped kid on a socket');
  t.equal((await getJson(`${rotated.httpUrl()}/chat/session/${sessionId}`, bearer(await mint([newKeyPair], sessionId)))).status, 200, 'the current key still works');
});

t.test('ALLOWED_ORIGINS: a browser socket from another origin gets forbidden and 4403, with or without AUTH_REQUIRED', async (t) => {
  const key = newKey('k1');
  for (const required of [false, true]) {
    const stack = await startInProcessStack(t, { config: { auth: { required, secrets: key.env, allowedOrigins: 'https://www.example-air.com, http://localhost:8088' } } });
    const { session_id: sessionId, token } = (await newSession(stack)).body;
    const credentials = required ? bearer(token!) : {};
    const label = required ? 'auth on' : 'auth off';

    const evil = await TestSocket.open(stack.wsUrl(sessionId, 'evil'), 5000, { headers: { ...credentials, origin: 'https://evil.example' } });
    t.equal(await expectRefused(t, evil, 'forbidden', CloseCode.forbidden, `${label}: disallowed origin`), 'Sockets from this origin are not allowed.');
    const lookalike = await TestSocket.open(stack.wsUrl(sessionId, 'lookalike'), 5000, { headers: { ...credentials, origin: 'https://www.example-air.com.evil.example' } });
    await expectRefused(t, lookalike, 'forbidden', CloseCode.forbidden, `${label}: look-alike origin`);

    const page = await TestSocket.open(stack.wsUrl(sessionId, 'page'), 5000, { headers: { ...credentials, origin: 'https://www.example-air.com' } });
    const local = await TestSocket.open(stack.wsUrl(sessionId, 'local'), 5000, { headers: { ...credentials, origin: 'http://localhost:8088' } });
    const native = await TestSocket.open(stack.wsUrl(sessionId, 'native'), 5000, { headers: credentials });
    t.teardown(() => [page, local, native].forEach((s) => s.close()));
    await expectAccepted(t, page, `${label}: allowed origin`);
    await expectAccepted(t, local, `${label}: second allowed origin`);
    await expectAccepted(t, native, `${label}: no Origin (not a browser)`);
  }
});

t.test('auth off with secrets: tokens and tickets are issued, nothing asks for them', async (t) => {
  const key = newKey('k1');
  const stack = await startInProcessStack(t, { config: { auth: { secrets: key.env } } });
  const { session_id: sessionId, token } = (await newSession(stack)).body;
  t.type(token, 'string');
  t.equal((await getJson(`${stack.httpUrl()}/chat/session/${sessionId}`)).status, 200);
  t.equal((await getJson(`${stack.httpUrl()}/chat/session/${sessionId}`, bearer('junk'))).status, 200, 'a presented token is not looked at');
  t.equal((await postJson(`${stack.httpUrl()}/chat/message`, { session_id: sessionId, message: 'Hello' })).status, 200);
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  await expectAccepted(t, socket, 'no credentials');
  const ticket = await postJson<{ ticket: string; expires_in: number }>(`${stack.httpUrl()}/chat/ticket`, {}, bearer(token!));
  t.same([ticket.status, ticket.body.expires_in], [200, 30]);
});

t.test('auth off without secrets: the session answer is as before, and there are no tickets', async (t) => {
  const stack = await startInProcessStack(t);
  const created = await newSession(stack);
  t.same(Object.keys(created.body).sort(), ['context', 'limits', 'session_id', 'status'], 'no token fields');
  t.equal(created.headers.get('cache-control'), null);
  const ticket = await postJson<Record<string, any>>(`${stack.httpUrl()}/chat/ticket`, {});
  t.same([ticket.status, ticket.body.error.code], [404, 'not_found']);
  t.match(ticket.body.error.message, /AUTH_SECRETS is unset/);
  const wrongMethod = await getJson<Record<string, any>>(`${stack.httpUrl()}/chat/ticket`);
  t.same([wrongMethod.status, wrongMethod.body.error.code], [405, 'method_not_allowed']);
});

t.test('the per-address connection limit still counts sockets refused for their credentials', async (t) => {
  const key = newKey('k1');
  const stack = await startInProcessStack(t, { config: { auth: { required: true, secrets: key.env }, limits: { connectsPerMinutePerAddress: 3 } } });
  const { session_id: sessionId } = (await newSession(stack)).body;
  for (let i = 0; i < 3; i++) {
    await expectRefused(t, await TestSocket.open(stack.wsUrl(sessionId, `guess-${i}`)), 'unauthorized', CloseCode.unauthorized, `attempt ${i + 1}`);
  }
  const fourth = await TestSocket.open(stack.wsUrl(sessionId, 'guess-4'));
  await expectRefused(t, fourth, 'rate_limited', CloseCode.tryAgainLater, 'attempt 4: over the limit, before any credential check');
});

t.test('AUTH_REQUIRED: operator data (/stats, /ops/dead-letters, /ops) needs the ops token, and is off without one', async (t) => {
  const key = newKey('main');
  const off = await startInProcessStack(t, { workers: 0, config: { auth: { required: true, secrets: key.env } } });
  for (const path of ['/stats', '/ops/dead-letters', '/ops']) {
    const refused = await getJson<{ error: { code: string; message: string } }>(`${off.httpUrl()}${path}`);
    t.equal(refused.status, 404, `no OPS_TOKEN: ${path} is off`);
    t.equal(refused.body.error.code, 'not_found');
  }
  t.match((await getJson<{ error: { message: string } }>(`${off.httpUrl()}/stats`)).body.error.message, /AUTH_REQUIRED=true and no OPS_TOKEN/);
  t.equal((await fetch(`${off.httpUrl()}/metrics`)).status, 200, 'Prometheus still scrapes');

  const token = 'ops-token-for-this-test-0123456789';
  const guarded = await startInProcessStack(t, { workers: 0, config: { auth: { required: true, secrets: key.env }, ops: { token } } });
  for (const path of ['/stats', '/ops/dead-letters']) {
    t.equal((await fetch(`${guarded.httpUrl()}${path}`)).status, 401, `${path} without the token: 401`);
    // A session token is no operator token.
    const session = await postJson<CreatedSession>(`${guarded.httpUrl()}/chat/session`, { customer_name: 'Ana', customer_email: 'ana@example.com' });
    t.equal((await fetch(`${guarded.httpUrl()}${path}`, { headers: bearer(session.body.token!) })).status, 401, `${path} with a session token: 401`);
    t.equal((await fetch(`${guarded.httpUrl()}${path}`, { headers: bearer(token) })).status, 200, `${path} with the ops token: 200`);
  }
});
