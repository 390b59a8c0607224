/**
 * Tracing with an OTLP endpoint loads its exporter on demand (not when the module is imported):
 * until `ready()` resolves the tracer is the API's proxy; from then on spans record, carry a
 * `traceparent`, and `flush()` posts them to `<endpoint>/v1/traces`. A collector on loopback
 * stands in for the real one.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { Tracing, TRACEPARENT_PATTERN } from '../src/tracing.js';

interface Export {
  path: string | undefined;
  body: string;
}

async function startCollector(t: Test): Promise<{ endpoint: string; exports: Export[] }> {
  const exports: Export[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      exports.push({ path: req.url, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, exports };
}

t.test('an OTLP endpoint: spans record once ready() resolves, and flush() exports them', async (t) => {
  const { endpoint, exports } = await startCollector(t);
  const tracing = Tracing.fromEndpoint('chat-test', endpoint);
  t.teardown(() => tracing.close());
  t.equal(tracing.enabled, true);

  await tracing.ready();
  const span = tracing.startSpan('turn', { attributes: { 'chat.turn': 1 } });
  t.ok(span.isRecording(), 'a span started after ready() records');
  t.match(tracing.traceparentOf(span) ?? '', new RegExp(TRACEPARENT_PATTERN), 'and carries a traceparent');
  const child = tracing.startSpan('model call', { parent: tracing.contextOf(span) });
  child.end();
  span.end();

  await tracing.flush();
  t.equal(exports.length, 1, 'one export request');
  t.equal(exports[0]!.path, '/v1/traces', 'to <endpoint>/v1/traces (the trailing slash dropped)');
  t.match(exports[0]!.body, /"name":"turn"/);
  t.match(exports[0]!.body, /"name":"model call"/);
  t.match(exports[0]!.body, /"chat-test"/, 'with the service name as its resource');
});

t.test('no endpoint: off, ready at once, nothing recorded or propagated', async (t) => {
  const tracing = Tracing.fromEndpoint('chat-test', undefined);
  t.equal(tracing.enabled, false);
  await tracing.ready();
  const span = tracing.startSpan('turn');
  t.notOk(span.isRecording());
  t.equal(tracing.traceparentOf(span), undefined);
  await tracing.close();
});
