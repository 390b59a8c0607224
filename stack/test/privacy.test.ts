/**
 * Issue 14, personal data at rest: a turn with a card, an e-mail, a phone and a passport number
 * leaves none of them in Redis as written; `DELETE /chat/session/:id` erases the session
 * everywhere (keys, jobs, tickets, sockets) and leaves other sessions alone;
 * `GET /chat/session/:id/transcript` exports it.
 *
 *   client ─"card 4111.1111…"─▶ gateway: mask → job "•••• 1111" ─▶ worker ─▶ LLM (echo)
 *                                                 │                   │
 *                                    Redis: job hash, turn log, history, custody … (scanned)
 *   client ─DELETE─▶ gateway: cancel turns, DEL {s:<id>} keys, remove jobs, DEL tickets,
 *                    publish "session_erased" ─▶ every gateway closes the sockets (4410)
 */
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { CloseCode, masterNodes, type AuthKey, type RedisClient } from '@chat/shared';
import { createSession, getJson, postJson } from './helpers/http-client.js';
import { startScriptedLlm } from './helpers/scripted-llm.js';
import { startInProcessStack, type InProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

/** What the customer types, and every form of it that must not rest anywhere. */
const MESSAGE = 'Card 4111.1111.1111.1111, mail mary＠example.com or ana.smith@example.co.nz, ring (415) 555-2671 or 021 555 0123, passport LA1234567.';
const RAW_FORMS = [
  '4111.1111.1111.1111',
  '4111111111111111',
  '4111 1111 1111 1111',
  'mary＠example.com',
  'mary@example.com',
  'ana.smith@example.co.nz',
  'ana.smith',
  '(415) 555-2671',
  '4155552671',
  '555-2671',
  '021 555 0123',
  '0215550123',
  'LA1234567',
  '1234567',
];

interface KeyDump {
  key: string;
  type: string;
  text: string;
}

/**
 * Every key in the test's own Redis (a SCAN is fine here: the Redis is this test's; on a cluster,
 * every master is scanned), with its content as text, whatever its type.
 */
async function dumpRedis(redis: RedisClient, prefix: string): Promise<KeyDump[]> {
  const keys: string[] = [];
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'COUNT', 1000);
      // This stack's keys only: on a cluster, other stacks of the file share the nodes.
      keys.push(...batch.filter((key) => key.startsWith(`${prefix}:`) || key.startsWith(`{${prefix}-bull`)));
      cursor = next;
    } while (cursor !== '0');
  }
  const dumps: KeyDump[] = [];
  for (const key of keys.sort()) {
    const type = await redis.type(key);
    let content: unknown;
    if (type === 'string') content = await redis.get(key);
    else if (type === 'hash') content = await redis.hgetall(key);
    else if (type === 'list') content = await redis.lrange(key, 0, -1);
    else if (type === 'set') content = await redis.smembers(key);
    else if (type === 'zset') content = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else if (type === 'stream') content = await redis.xrange(key, '-', '+');
    else if (type === 'none') continue; // expired meanwhile
    else throw new Error(`a key of a type the scan does not read: ${key} (${type})`);
    dumps.push({ key, type, text: JSON.stringify(content) });
  }
  return dumps;
}

/** Turn-log envelopes carry a binary header; their text is still UTF-8 JSON: read as such. */
function holding(dumps: KeyDump[], needle: string): string[] {
  return dumps.filter((d) => d.key.includes(needle) || d.text.includes(needle) || d.text.includes(JSON.stringify(needle).slice(1, -1))).map((d) => `${d.key} (${d.type})`);
}

async function startStack(t: Test, config: Record<string, unknown> = {}, gateways = 1): Promise<InProcessStack> {
  const llm = await startScriptedLlm(t, ['echo']);
  return startInProcessStack(t, { gateways, config: { llm: { baseUrl: llm.baseUrl }, ...config } });
}

t.test('a turn with personal data leaves none of it in Redis as written, in any key of any type', async (t) => {
  const stack = await startStack(t);
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: MESSAGE });
  const { end } = await socket.turn(null);
  t.equal(end.type, 'complete');
  // The second turn goes through REST and waits for the answer, as the original's clients do.
  const rest = await postJson<{ response?: string }>(`${stack.httpUrl()}/chat/message?wait=1`, { session_id: sessionId, message: 'again: 4111-1111-1111-1111 and mary@example.com' });
  t.equal(rest.status, 200);

  const masked = 'Card •••• 1111, mail m•••@example.com or a•••@example.co.nz, ring •••• 2671 or •••• 0123, passport •••• 4567.';
  t.equal(end.content, `${masked}`, 'the echoed answer shows the masked forms');

  const dumps = await dumpRedis(stack.redisClient, stack.config.redis.prefix);
  t.ok(dumps.some((d) => d.type === 'hash' && d.text.includes('•••• 1111')), 'the BullMQ job hash was scanned (it holds the masked message)');
  t.ok(dumps.some((d) => d.type === 'stream' && d.key.includes(sessionId)), "the turn's frame log was scanned");
  t.ok(dumps.some((d) => d.type === 'list' && d.key.endsWith(':history')), 'the history was scanned');
  for (const raw of RAW_FORMS) t.same(holding(dumps, raw), [], `no key holds ${JSON.stringify(raw)}`);

  const { body } = await getJson<{ history: Array<{ user: string; assistant: string }> }>(`${stack.httpUrl()}/chat/session/${sessionId}`);
  t.equal(body.history[0]!.user, masked, 'GET /chat/session/:id serves the masked message');
  t.equal(body.history[0]!.assistant, masked);
  t.equal(body.history[1]!.user, 'again: •••• 1111 and m•••@example.com');
});

t.test('DELETE /chat/session/:id erases the session everywhere and ends its sockets on every gateway; another session is untouched', async (t) => {
  // Two gateways: the erasure arrives at one, the sockets are on both.
  const stack = await startStack(t, {}, 2);
  const url = stack.httpUrl();
  const erased = await createSession(url);
  const kept = await createSession(url);
  for (const sessionId of [erased, kept]) {
    const answered = await postJson(`${url}/chat/message?wait=1`, { session_id: sessionId, message: `my card is 4111 1111 1111 1111 (${sessionId})` });
    t.equal(answered.status, 200);
  }
  const socket = await TestSocket.openAdmitted(stack.wsUrl(erased, 'c', 1));
  const local = await TestSocket.openAdmitted(stack.wsUrl(erased, 'd', 0));
  const bystander = await TestSocket.openAdmitted(stack.wsUrl(kept, 'c', 1));
  t.teardown(() => {
    socket.close();
    local.close();
    bystander.close();
  });
  const keptBefore = (await dumpRedis(stack.redisClient, stack.config.redis.prefix)).filter((d) => d.key.includes(`{s:${kept}}`));
  t.ok(keptBefore.length >= 5, `the other session has keys (${keptBefore.length})`);

  const response = await fetch(`${url}/chat/session/${erased}`, { method: 'DELETE' });
  t.equal(response.status, 204);
  t.equal(await response.text(), '');

  for (const [name, client] of [['the other gateway', socket], ['this gateway', local]] as const) {
    const ending = await client.waitFor((f) => f.type === 'error', 'the erasure frame');
    t.equal(ending.code, 'session_erased', `a socket on ${name} is told`);
    t.same(await client.waitForClose(), { code: CloseCode.sessionErased, reason: 'session erased' }, `and closed with 4410 (${name})`);
  }
  bystander.send({ type: 'ping' });
  await bystander.waitFor((f) => f.type === 'pong', "the other session's socket stays open");

  const after = await dumpRedis(stack.redisClient, stack.config.redis.prefix);
  t.same(holding(after, erased), [], 'no key name or value anywhere names the erased session (jobs, turn logs, history, tracking sets, limits)');
  const keptAfter = after.filter((d) => d.key.includes(`{s:${kept}}`));
  // Socket leases are renewed meanwhile: their scores move; every other value must be as it was.
  const content = (d: KeyDump) => [d.key, d.key.endsWith(':sockets') ? d.type : d.text];
  t.same(keptAfter.map(content), keptBefore.map(content), "the other session's keys are as they were");
  t.equal((await getJson(`${url}/chat/session/${kept}`)).status, 200);
  t.equal((await getJson(`${url}/chat/session/${erased}`)).status, 404);
  t.equal((await getJson(`${url}/chat/session/${erased}/transcript`)).status, 404);
  const again = await fetch(`${url}/chat/session/${erased}`, { method: 'DELETE' });
  t.equal(again.status, 404, 'erasing twice: the second finds nothing');
  t.equal(((await again.json()) as { error: { code: string } }).error.code, 'session_not_found');
  const reopened = await TestSocket.open(stack.wsUrl(erased, 'c'));
  t.equal((await reopened.waitForClose()).code, CloseCode.sessionNotFound, 'the erased session cannot be reopened');
});

t.test('DELETE while a turn is queued or streaming: the turns stop and nothing of them remains', async (t) => {
  // A slow model: the first turn is still streaming, the second still queued, when the erasure comes.
  const stack = await startInProcessStack(t, { offline: { ttftMs: 50, tokensPerSecond: 20, answerTokens: 400 } });
  const url = stack.httpUrl();
  const sessionId = await createSession(url);
  const socket = await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'first: my phone is 021 555 0123' });
  socket.send({ message: 'second: card 4111 1111 1111 1111' });
  await socket.waitFor((f) => f.type === 'chunk', 'the first answer streaming');
  const response = await fetch(`${url}/chat/session/${sessionId}`, { method: 'DELETE' });
  t.equal(response.status, 204);
  t.equal((await socket.waitForClose()).code, CloseCode.sessionErased);
  // The worker lets go of the cancelled turn; the erasure's last pass then removes its job.
  const deadline = Date.now() + 20_000;
  let left: string[] = [];
  for (;;) {
    left = holding(await dumpRedis(stack.redisClient, stack.config.redis.prefix), sessionId);
    if (left.length === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.same(left, [], 'nothing names the session once its turns have stopped');
  const dumps = await dumpRedis(stack.redisClient, stack.config.redis.prefix);
  for (const fragment of ['•••• 0123', '•••• 1111', 'first: my', 'second: card']) t.same(holding(dumps, fragment), [], `nothing of the turns remains (${fragment})`);
});

t.test('GET /chat/session/:id/transcript: JSON by default, plain text on request', async (t) => {
  const stack = await startStack(t);
  const url = stack.httpUrl();
  const sessionId = await createSession(url, { flight_no: 'NZ123', date: '2026-12-01' });
  await postJson(`${url}/chat/message?wait=1`, { session_id: sessionId, message: 'Hello, my email is mary@example.com' });
  await postJson(`${url}/chat/message?wait=1`, { session_id: sessionId, message: 'How many bags?' });

  const json = await getJson<{ session_id: string; turns: Array<{ user: string; assistant: string; message_id: string; timestamp: string }>; context: { flight_no: string } }>(`${url}/chat/session/${sessionId}/transcript`);
  t.equal(json.status, 200);
  t.equal(json.headers.get('cache-control'), 'no-store');
  t.equal(json.body.session_id, sessionId);
  t.equal(json.body.context.flight_no, 'NZ123');
  t.same(
    json.body.turns.map((turn) => turn.user),
    ['Hello, my email is m•••@example.com', 'How many bags?'],
  );
  t.equal(json.body.turns[1]!.assistant, 'How many bags?', 'the echo model answered with the question');

  for (const [query, headers] of [
    ['?format=text', {}],
    ['', { accept: 'text/plain' }],
  ] as const) {
    const response = await fetch(`${url}/chat/session/${sessionId}/transcript${query}`, { headers });
    t.equal(response.status, 200);
    t.match(response.headers.get('content-type'), /^text\/plain; charset=utf-8/);
    const text = await response.text();
    t.match(text, new RegExp(`^Conversation ${sessionId}\\n`));
    t.match(text, /Flight NZ123 on 2026-12-01\./);
    t.match(text, /Customer: Hello, my email is m•••@example\.com\nAssistant: Hello, my email is m•••@example\.com\n/);
    t.match(text, /Customer: How many bags\?\nAssistant: How many bags\?\n/);
    t.notMatch(text, /mary@/);
  }
  t.equal((await getJson(`${url}/chat/session/nope-not-here/transcript`)).status, 404);
});

t.test('with AUTH_REQUIRED, erasing and exporting need the session token (401 / 403), and erasure revokes its tickets', async (t) => {
  const secret = randomBytes(32);
  const key: AuthKey & { env: string } = { kid: 'k1', secret: new Uint8Array(secret), env: `k1:${secret.toString('base64')}` };
  const stack = await startStack(t, { auth: { required: true, secrets: key.env } });
  const url = stack.httpUrl();
  const create = async () => {
    const created = await postJson<{ session_id: string; token: string }>(`${url}/chat/session`, { customer_name: 'Ada Traveller', customer_email: 'ada@example.com' });
    return created.body;
  };
  const mine = await create();
  const other = await create();
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  for (const [path, method] of [
    [`/chat/session/${mine.session_id}`, 'DELETE'],
    [`/chat/session/${mine.session_id}/transcript`, 'GET'],
  ] as const) {
    const anonymous = await fetch(`${url}${path}`, { method });
    t.equal(anonymous.status, 401, `${method} ${path} without a token`);
    const foreign = await fetch(`${url}${path}`, { method, headers: bearer(other.token) });
    t.equal(foreign.status, 403, `${method} ${path} with another session's token`);
  }
  t.equal((await fetch(`${url}/chat/session/${mine.session_id}/transcript`, { headers: bearer(mine.token) })).status, 200);

  const ticket = await postJson<{ ticket: string }>(`${url}/chat/ticket`, {}, bearer(mine.token));
  t.equal(ticket.status, 200);
  t.ok((await dumpRedis(stack.redisClient, stack.config.redis.prefix)).some((d) => d.key.includes(ticket.body.ticket)), 'the ticket rests in Redis');
  t.equal((await fetch(`${url}/chat/session/${mine.session_id}`, { method: 'DELETE', headers: bearer(mine.token) })).status, 204);
  const after = await dumpRedis(stack.redisClient, stack.config.redis.prefix);
  t.same(holding(after, ticket.body.ticket), [], 'the ticket is gone');
  t.same(holding(after, mine.session_id), [], 'and nothing names the session');
  t.equal((await fetch(`${url}/chat/session/${other.session_id}/transcript`, { headers: bearer(other.token) })).status, 200, 'the other session stays');
});
