/**
 * Personal data never reaches the LLM or the logs, and the user still sees their own:
 *
 *   "my card 4111…" ─▶ gateway ─▶ worker: scrub → "[CARD_1]" ─▶ LLM (records what it got)
 *                                   ◀─ "…[CARD_1]…" restore for this user ◀─┘
 */
import t from 'tap';
import { createSession, getJson } from './helpers/http-client.js';
import { startScriptedLlm } from './helpers/scripted-llm.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

const SECRETS = ['ana.smith@example.co.nz', '021 555 0123', '4111 1111 1111 1111', 'LA1234567'];

t.test('the LLM and the logs see placeholders; the user sees their own data', async (t) => {
  const llm = await startScriptedLlm(t, ['echo']);
  const logLines: string[] = [];
  const stack = await startInProcessStack(t, { config: { llm: { baseUrl: llm.baseUrl }, log: { level: 'debug' } }, logLines });
  const sessionId = await createSession(stack.httpUrl(), { customer_name: 'Ana Smith', customer_email: 'ana.smith@example.co.nz' });
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  const message = `Please email ana.smith@example.co.nz or text 021 555 0123 — card 4111 1111 1111 1111, passport LA1234567.`;
  socket.send({ message });
  const { chunks, end } = await socket.turn(null);
  t.equal(end.type, 'complete');

  const sentToLlm = JSON.stringify(llm.bodies);
  for (const secret of SECRETS) t.notOk(sentToLlm.includes(secret), `the LLM never saw ${secret}`);
  t.notOk(sentToLlm.includes('Ana Smith'), "nor the customer's name from the session");
  const userMessage = llm.bodies[0]!.messages.at(-1)!.content;
  t.equal(userMessage, 'Customer message:\nPlease email [EMAIL_1] or text [PHONE_1] — card [CARD_1], passport [PASSPORT_1].');

  t.equal(end.content, message, 'the echoed placeholders were restored for the user');
  t.equal(chunks.map((c) => c.content).join(''), end.content);

  const logs = logLines.join('\n');
  t.ok(logLines.length > 0, 'the parts did log');
  for (const secret of SECRETS) t.notOk(logs.includes(secret), `the logs never carry ${secret}`);

  const { body } = await getJson<{ history: Array<{ user: string; assistant: string }> }>(`${stack.httpUrl()}/chat/session/${sessionId}`);
  t.equal(body.history[0]!.user, message, "the user's own history keeps what they wrote");
});

t.test("data the user did not write is removed from the answer before it reaches Redis", async (t) => {
  const llm = await startScriptedLlm(t, ['leak']);
  const stack = await startInProcessStack(t, { config: { llm: { baseUrl: llm.baseUrl } } });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  const subscriber = stack.redisClient.duplicate();
  t.teardown(() => subscriber.disconnect());
  const published: string[] = [];
  await subscriber.subscribe(`${stack.config.redis.prefix}:{s:${sessionId}}:events`);
  subscriber.on('messageBuffer', (_channel: Buffer, payload: Buffer) => published.push(payload.subarray(9).toString()));
  socket.send({ message: 'Who can I talk to?' });
  const { end } = await socket.turn(null);
  t.equal(end.content, 'Contact our agent [email removed] or [phone removed].');
  t.ok(published.length > 2, 'frames went through Redis');
  const onTheWire = published.join('');
  // Number fragments are checked with their spacing: timestamps and timings carry digits too.
  for (const fragment of ['bob', 'jones', 'airline.example', '9 379', '379 1234', '+64']) t.notOk(onTheWire.includes(fragment), `Redis never carried "${fragment}"`);
});
