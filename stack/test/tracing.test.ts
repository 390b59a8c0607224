/**
 * OpenTelemetry traces: one turn's spans form one trace, from the gateway's accept through the
 * job into the worker and back on the frames' path to the relaying gateway. The context crosses
 * Redis twice (the job's `traceparent`, the complete frame's `metadata.traceparent`), exactly as
 * between separate processes; the parts here share one in-memory exporter to be inspected.
 *
 *   socket ─▶ gateway: chat.accept ──job{traceparent}──▶ worker: chat.queue_wait
 *                                                                chat.turn ─ chat.context
 *                                                                          ─ chat.model
 *                                                                          ─ chat.publish
 *   socket ◀─ gateway: chat.relay ◀──complete{metadata.traceparent}──┘
 */
import t from 'tap';
import { InMemorySpanExporter, Tracing, type ReadableSpan } from '@chat/shared';
import { createSession, postJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { eventually } from './helpers/eventually.js';
import { TestSocket } from './helpers/ws-client.js';

const MESSAGE = 'My name is Ada Traveller, email ada@example.com: what is the baggage allowance on NZ123?';

t.test('one turn, one trace across gateway and worker; no message text or PII in spans', async (t) => {
  const exporter = new InMemorySpanExporter();
  const stack = await startInProcessStack(t, { tracing: (role) => Tracing.withExporter(`chat-${role}`, exporter) });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'traced'));
  t.teardown(() => socket.close());
  socket.send({ message: MESSAGE });
  const { end } = await socket.turn(null);
  t.equal(end.type, 'complete');
  const messageId = String(end.message_id);
  t.match(String((end.metadata as { traceparent?: string }).traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'the complete frame carries the turn span');

  const names = ['chat.accept', 'chat.queue_wait', 'chat.turn', 'chat.context', 'chat.model', 'chat.publish', 'chat.relay'];
  const spans = await eventually(
    () => exporter.getFinishedSpans(),
    (found) => names.every((name) => found.some((s) => s.name === name)),
  );
  const byName = new Map<string, ReadableSpan>(spans.map((s) => [s.name, s]));
  for (const name of names) t.ok(byName.has(name), `span ${name}`);
  const traceIds = new Set(spans.map((s) => s.spanContext().traceId));
  t.equal(traceIds.size, 1, 'every span in one trace');
  const idOf = (name: string) => byName.get(name)!.spanContext().spanId;
  const parentOf = (name: string) => byName.get(name)!.parentSpanContext?.spanId;
  t.equal(parentOf('chat.accept'), undefined, 'accept is the root');
  t.equal(parentOf('chat.queue_wait'), idOf('chat.accept'));
  t.equal(parentOf('chat.turn'), idOf('chat.accept'), 'the worker continues the gateway trace (through the job)');
  for (const phase of ['chat.context', 'chat.model', 'chat.publish']) t.equal(parentOf(phase), idOf('chat.turn'), `${phase} inside the turn`);
  t.equal(parentOf('chat.relay'), idOf('chat.turn'), 'the relaying gateway joins it (through the frame)');
  t.same(
    [...new Set(spans.map((s) => `${s.name}@${String(s.resource.attributes['service.name'])}`))].sort(),
    names.map((n) => `${n}@${['chat.accept', 'chat.relay'].includes(n) ? 'chat-gateway' : 'chat-worker'}`).sort(),
    'gateway spans from the gateway, worker spans from the worker',
  );
  const model = byName.get('chat.model')!.attributes;
  t.ok(Number(model['llm.completion_tokens']) > 0, 'model span: completion tokens');
  t.ok(Number(model['llm.first_token_ms']) >= 0, 'model span: first token');
  t.equal(byName.get('chat.turn')!.attributes['chat.message_id'], messageId);
  t.equal(byName.get('chat.turn')!.attributes['chat.outcome'], 'completed');

  // Nothing the user wrote, nor the session's customer data, in any span or attribute.
  const everything = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
  for (const secret of ['Ada', 'ada@example.com', 'baggage', 'allowance', sessionId]) t.notOk(everything.includes(secret), `no "${secret}" in spans`);
});

t.test('REST turns are traced too; tracing off adds nothing to jobs or frames', async (t) => {
  const exporter = new InMemorySpanExporter();
  const traced = await startInProcessStack(t, { tracing: (role) => Tracing.withExporter(`chat-${role}`, exporter) });
  const sessionId = await createSession(traced.httpUrl());
  const posted = await postJson<{ status: string; metadata?: { traceparent?: string } }>(`${traced.httpUrl()}/chat/message?wait=1`, { session_id: sessionId, message: 'Hello there!' });
  t.equal(posted.status, 200);
  const spans = await eventually(() => exporter.getFinishedSpans(), (found) => found.some((s) => s.name === 'chat.turn'));
  const accept = spans.find((s) => s.name === 'chat.accept');
  t.equal(accept?.attributes['chat.via'], 'rest');
  t.equal(spans.find((s) => s.name === 'chat.turn')?.parentSpanContext?.spanId, accept?.spanContext().spanId);

  const plain = await startInProcessStack(t);
  const plainSession = await createSession(plain.httpUrl());
  const socket = await TestSocket.open(plain.wsUrl(plainSession, 'plain'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello there!' });
  const { end } = await socket.turn(null);
  t.equal(end.type, 'complete');
  t.notOk('traceparent' in (end.metadata as object), 'no traceparent in frames while tracing is off');
});
