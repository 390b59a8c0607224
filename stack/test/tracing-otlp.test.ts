/**
 * Traces across real processes over OTLP: a gateway and a worker process, each exporting with
 * OTEL_EXPORTER_OTLP_ENDPOINT pointed at a collector this test runs on loopback (OTLP/HTTP
 * JSON). One turn's spans arrive from both processes and form one trace.
 *
 *   gateway process ──POST /v1/traces──┐
 *   worker process  ──POST /v1/traces──┴─▶ test collector (node:http) ─▶ spans by service
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createSession } from './helpers/http-client.js';
import { startProcessStack } from './helpers/process-stack.js';
import { eventually } from './helpers/eventually.js';
import { TestSocket } from './helpers/ws-client.js';

interface OtlpSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

/** Flattens an OTLP/HTTP JSON export request into its spans. */
function spansOf(body: unknown): OtlpSpan[] {
  const request = body as {
    resourceSpans?: Array<{
      resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
      scopeSpans?: Array<{ spans?: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string }> }>;
    }>;
  };
  return (request.resourceSpans ?? []).flatMap((rs) => {
    const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
    return (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((s) => ({ service, name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '' })));
  });
}

t.test('gateway and worker processes export one turn as one trace over OTLP/HTTP', async (t) => {
  const received: OtlpSpan[] = [];
  const collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces' && String(req.headers['content-type']).includes('json')) received.push(...spansOf(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => collector.close(() => resolve())));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

  const stack = await startProcessStack(t, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'otlp'));
  t.teardown(() => socket.close());
  socket.send({ message: 'What is the baggage allowance?' });
  const { end } = await socket.turn(null);
  t.equal(end.type, 'complete');
  const traceId = String((end.metadata as { traceparent?: string }).traceparent).split('-')[1];

  // The batch processors export every few seconds: wait for both processes' spans of this trace.
  const wanted = ['chat.accept', 'chat.queue_wait', 'chat.turn', 'chat.context', 'chat.model', 'chat.publish', 'chat.relay'];
  const spans = await eventually(
    () => received.filter((s) => s.traceId === traceId),
    (found) => wanted.every((name) => found.some((s) => s.name === name)),
    20_000,
  );
  t.same([...new Set(spans.map((s) => s.name))].sort(), [...wanted].sort(), 'every span of the turn, in its trace');
  const accept = spans.find((s) => s.name === 'chat.accept')!;
  const turn = spans.find((s) => s.name === 'chat.turn')!;
  t.equal(accept.service, 'chat-gateway');
  t.equal(turn.service, 'chat-worker');
  t.equal(turn.parentSpanId, accept.spanId, 'the worker process continues the gateway process trace');
  t.equal(spans.find((s) => s.name === 'chat.relay')!.parentSpanId, turn.spanId, 'and the gateway process joins it again on relay');
});
