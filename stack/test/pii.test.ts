/**
 * Personal data never reaches the LLM, the logs or Redis as written. The gateway masks it when
 * it accepts the turn (see docs/privacy.md); the worker's placeholders catch whatever else
 * reaches it, and its answers show the user's own data masked, as it is stored:
 *
 *   "my card 4111…" ─▶ gateway: mask → "•••• 1111" ─▶ worker: scrub ─▶ LLM (records what it got)
 *                        user sees "•••• 1111" ◀─ restore as masked ◀─┘
 */
import t from 'tap';
import { createSession, getJson } from './helpers/http-client.js';
import { startScriptedLlm } from './helpers/scripted-llm.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

const SECRETS = ['ana.smith@example.co.nz', '021 555 0123', '4111 1111 1111 1111', 'LA1234567'];

t.test('the LLM, the logs and the history see masked forms; the user recognises their own data', async (t) => {
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
  const masked = 'Please email a•••@example.co.nz or text •••• 0123 — card •••• 1111, passport •••• 4567.';
  const userMessage = llm.bodies[0]!.messages.at(-1)!.content;
  t.equal(userMessage, `Customer message:\n${masked}`);

  t.equal(end.content, masked, 'the echo shows the masked forms');
  t.equal(chunks.map((c) => c.content).join(''), end.content);

  const logs = logLines.join('\n');
  t.ok(logLines.length > 0, 'the parts did log');
  for (const secret of SECRETS) t.notOk(logs.includes(secret), `the logs never carry ${secret}`);

  const { body } = await getJson<{ history: Array<{ user: string; assistant: string }> }>(`${stack.httpUrl()}/chat/session/${sessionId}`);
  t.equal(body.history[0]!.user, masked, 'the history keeps the masked message');
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
  // Session channels are sharded pub/sub (SPUBLISH / SSUBSCRIBE).
  await subscriber.ssubscribe(`${stack.config.redis.prefix}:{s:${sessionId}}:events`);
  subscriber.on('smessageBuffer', (_channel: Buffer, payload: Buffer) => published.push(payload.subarray(9).toString()));
  socket.send({ message: 'Who can I talk to?' });
  const { end } = await socket.turn(null);
  t.equal(end.content, 'Contact our agent [email removed] or [phone removed].');
  t.ok(published.length > 2, 'frames went through Redis');
  const onTheWire = published.join('');
  // Number fragments are checked with their spacing: timestamps and timings carry digits too.
  for (const fragment of ['bob', 'jones', 'airline.example', '9 379', '379 1234', '+64']) t.notOk(onTheWire.includes(fragment), `Redis never carried "${fragment}"`);
});
