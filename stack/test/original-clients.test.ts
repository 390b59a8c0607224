/**
 * The original service's clients keep working: what they send at session creation, the status
 * they check on `POST /chat/message`, and where they look for a cached answer. Each case is one
 * those clients (its smoke, load and REST tests) relied on.
 *
 *   original's client ──REST / socket──▶ gateway ──▶ worker ──▶ offline model
 *                                                      └─ response cache (shared for policy answers)
 */
import t from 'tap';
import { createSession, postJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket, type Frame } from './helpers/ws-client.js';

type Stack = Awaited<ReturnType<typeof startInProcessStack>>;

async function ask(stack: Stack, sessionId: string, message: string): Promise<Frame> {
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'original-client'));
  try {
    socket.send({ message });
    return (await socket.turn(null, 20_000)).end;
  } finally {
    socket.close();
  }
}

t.test("the original's smoke test session: any printable flight number and date are accepted", async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 200 } });
  const created = await postJson<{ session_id: string; context: Record<string, unknown> }>(`${stack.httpUrl()}/chat/session`, {
    customer_name: 'Smoke Test',
    customer_email: 'smoke@example.com',
    flight_no: 'DEBUG001',
    date: '17 January 2025, morning',
  });
  t.equal(created.status, 200, JSON.stringify(created.body));
  t.match(created.body.context, { flight_no: 'DEBUG001', date: '17 January 2025, morning' }, 'kept as given');

  const end = await ask(stack, created.body.session_id, 'What is the status of my flight?');
  t.equal(end.type, 'complete');
  const metadata = end.metadata as { context_status: Record<string, string>; sources: Array<{ title: string; source: string }> };
  t.equal(metadata.context_status.flight, 'ok', 'the flight was looked up');
  t.match(metadata.sources[0]!.source, 'flight-status/DEBUG001/2025-01-17', 'for the date parsed from the odd format');
  t.match(String(end.content), /No .*flight DEBUG001 was found in the schedule/, 'the unknown flight shows in the context, not as a refusal');
});

t.test('a policy question is answered from the shared cache whatever flight the session has', async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 200 } });
  const first = await ask(stack, await createSession(stack.httpUrl(), { flight_no: 'NZ123', date: '2026-12-24' }), 'How much checked baggage can I take?');
  t.equal(stack.offline.stats().requests, 1);
  const second = await ask(stack, await createSession(stack.httpUrl(), { flight_no: 'NZ421' }), 'How much checked baggage can I take?');
  t.equal(stack.offline.stats().requests, 1, 'no second LLM call: the answer used the documents alone');
  t.equal(second.content, first.content);
  t.equal(second.from_cache, true, 'from_cache on the frame itself, where the original puts it');
  t.equal((second.metadata as { from_cache?: boolean }).from_cache, true, 'and in metadata');
  t.notOk('from_cache' in first, 'a fresh answer has no from_cache');

  const flightQuestion = 'Is my flight delayed?';
  await ask(stack, await createSession(stack.httpUrl(), { flight_no: 'NZ123' }), flightQuestion);
  await ask(stack, await createSession(stack.httpUrl(), { flight_no: 'NZ421' }), flightQuestion);
  t.equal(stack.offline.stats().requests, 3, 'answers that used a flight record stay with their session');
});

t.test('POST /chat/message answers 200 with the same body, as the original did', async (t) => {
  const stack = await startInProcessStack(t);
  const sessionId = await createSession(stack.httpUrl(), { flight_no: 'NZ123', date: '2025-01-17' });
  const sent = await postJson<Record<string, unknown>>(`${stack.httpUrl()}/chat/message`, { session_id: sessionId, message: 'Hello', client_id: 'rest' });
  t.equal(sent.status, 200);
  t.match(sent.body, { status: 'message_sent', session_id: sessionId, message_id: String });
});

t.test("the original's load runner: 1000 users from one address get their sessions and sockets on the default limits", async (t) => {
  const stack = await startInProcessStack(t);
  const users = 1000;
  const statuses = new Map<number, number>();
  const sessionIds: string[] = [];
  // In waves of 50, as its asyncio client opens them: sessions first, then a socket each.
  for (let start = 0; start < users; start += 50) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(50, users - start) }, (_, i) =>
        postJson<{ session_id: string }>(`${stack.httpUrl()}/chat/session`, {
          customer_name: `Load User ${start + i}`,
          customer_email: `user${start + i}@example.com`,
          flight_no: `NZ${(start + i) % 100}`,
          date: '2025-01-17',
        }),
      ),
    );
    for (const response of wave) {
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === 200) sessionIds.push(response.body.session_id);
    }
  }
  t.same(Object.fromEntries(statuses), { 200: users }, 'every session created');
  let opened = 0;
  for (let start = 0; start < sessionIds.length; start += 50) {
    // A pong proves the socket was admitted, not just upgraded (a refused one gets an error frame).
    const sockets = await Promise.all(sessionIds.slice(start, start + 50).map((id) => TestSocket.openAdmitted(stack.wsUrl(id, 'load'))));
    opened += sockets.length;
    for (const socket of sockets) socket.close();
  }
  t.equal(opened, users, 'every socket admitted');
});
