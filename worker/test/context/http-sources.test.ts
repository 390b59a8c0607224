/**
 * The HTTP context sources against small real HTTP servers on loopback, behind the resilience
 * layer (timeout + circuit breaker), including servers that misbehave on purpose:
 *
 *   test ──▶ SourceGuard (breaker ─▶ timeout) ──▶ Http*Source ──POST──▶ 127.0.0.1:<port>
 *                                                                     (hangs / 500 / bad JSON)
 *
 * A failing source never throws: it resolves to `degraded` with a reason.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import t, { type Test } from 'tap';
import {
  ContextAssembler,
  EmbeddedPolicySource,
  HttpFlightSource,
  HttpPolicySource,
  SourceGuard,
  type BreakerState,
  type FlightContext,
} from '../../src/context/index.js';

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: unknown;
}

interface Served {
  url: string;
  received: Received[];
  /** Requests whose connection the client closed before an answer. */
  aborted: () => number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: unknown) => void;

async function serve(t: Test, handler: Handler): Promise<Served> {
  const received: Received[] = [];
  let aborted = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body: unknown = text ? JSON.parse(text) : undefined;
      received.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body });
      res.on('close', () => {
        if (!res.writableFinished) aborted++;
      });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/ctx`, received, aborted: () => aborted };
}

const json = (res: ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof value === 'string' ? value : JSON.stringify(value));
};

const FLIGHT: FlightContext = {
  flight_no: 'NZ123',
  airline: 'Aotearoa Air',
  date: '2026-03-05',
  origin: { iata: 'AKL', name: 'Auckland Airport', city: 'Auckland', country: 'New Zealand', timezone: 'Pacific/Auckland' },
  destination: { iata: 'SYD', name: 'Sydney Kingsford Smith Airport', city: 'Sydney', country: 'Australia', timezone: 'Australia/Sydney' },
  status: 'delayed',
  scheduled_departure: '2026-03-05T19:30:00+13:00',
  scheduled_arrival: '2026-03-05T20:55:00+11:00',
  estimated_departure: '2026-03-05T20:15:00+13:00',
  estimated_arrival: '2026-03-05T21:40:00+11:00',
  delay_minutes: 45,
  delay_reason: 'crew availability',
  cancellation_reason: null,
  departure_terminal: 'International Terminal',
  departure_gate: '3',
  arrival_terminal: 'Terminal 1 (International)',
  aircraft: 'Airbus A320neo',
  duration_minutes: 205,
  check_in_closes_minutes: 60,
};

t.test('policy search: POST {RETRIEVAL_URL}/search {q, k} → validated hits, best first', async (t) => {
  const server = await serve(t, (_req, res) =>
    json(res, 200, {
      results: [
        { title: 'Pets — In the cabin', snippet: 'No pets in the cabin.', source: 'pets.md', score: 2.5, extra: 'ignored' },
        { title: 'Baggage — Allowance', snippet: 'One bag of 23 kg.', source: 'bags.md', category: 'baggage', score: 7.25 },
      ],
    }),
  );
  const hits = await new HttpPolicySource({ baseUrl: server.url, headers: { authorization: 'Bearer test' } }).search('how much can I check in', 4);
  t.strictSame(server.received, [{ method: 'POST', url: '/ctx/search', contentType: 'application/json', body: { q: 'how much can I check in', k: 4 } }]);
  t.strictSame(hits, [
    { title: 'Baggage — Allowance', snippet: 'One bag of 23 kg.', source: 'bags.md', category: 'baggage', score: 7.25 },
    { title: 'Pets — In the cabin', snippet: 'No pets in the cabin.', source: 'pets.md', category: 'general', score: 2.5 },
  ]);
});

t.test('flight lookup: POST {AGENT_URL}/get_flight_context → the record, copied field by field; 404 and null → null', async (t) => {
  const server = await serve(t, (_req, res, body) => {
    const { flight_no } = body as { flight_no: string };
    if (flight_no === 'NZ123') return json(res, 200, { flight: { ...FLIGHT, internal_note: 'drop me' }, served_by: 'agent-2' });
    if (flight_no === 'NZ998') return json(res, 200, { flight: null });
    return json(res, 404, { error: 'no such flight' });
  });
  const source = new HttpFlightSource({ baseUrl: `${server.url}/` });
  t.strictSame(await source.getFlightContext({ flight_no: 'NZ123', date: '2026-03-05' }), FLIGHT, 'unknown fields dropped');
  t.equal(await source.getFlightContext({ flight_no: 'NZ998' }), null);
  t.equal(await source.getFlightContext({ flight_no: 'NZ999' }), null);
  t.strictSame(
    server.received.map((r) => [r.url, r.body]),
    [
      ['/ctx/get_flight_context', { flight_no: 'NZ123', date: '2026-03-05' }],
      ['/ctx/get_flight_context', { flight_no: 'NZ998' }],
      ['/ctx/get_flight_context', { flight_no: 'NZ999' }],
    ],
    'no date key when the date is unknown',
  );
});

t.test('a server that hangs → degraded "timeout" within the timeout, and the request is aborted', async (t) => {
  const server = await serve(t, () => {
    /* never answers */
  });
  const guard = new SourceGuard({ name: 'flight', timeoutMs: 250 });
  const source = new HttpFlightSource({ baseUrl: server.url });
  const started = performance.now();
  const result = await guard.run((signal) => source.getFlightContext({ flight_no: 'NZ123' }, signal));
  const elapsed = performance.now() - started;
  t.strictSame({ ...result, ms: 0 }, { status: 'degraded', reason: 'timeout', detail: 'flight: no answer within 250 ms', ms: 0 });
  t.ok(elapsed >= 240 && elapsed < 2000, `settled after ${Math.round(elapsed)} ms (the server never answers)`);
  await waitFor(() => server.aborted() === 1, 'the server sees the request abandoned');
});

t.test('repeated failures open the breaker: then degraded at once, without a request; it closes again after a good trial', async (t) => {
  let healthy = false;
  const server = await serve(t, (_req, res) => (healthy ? json(res, 200, { results: [] }) : json(res, 503, { error: 'down' })));
  const states: BreakerState[] = [];
  const guard = new SourceGuard({ name: 'policy', timeoutMs: 1000, breakerThreshold: 3, halfOpenAfterMs: 300, onBreakerStateChange: (_n, s) => states.push(s) });
  const source = new HttpPolicySource({ baseUrl: server.url });
  const search = () => guard.run((signal) => source.search('bags', 3, signal));

  for (let i = 0; i < 3; i++) {
    const r = await search();
    t.strictSame([r.status, r.status === 'degraded' ? r.reason : null], ['degraded', 'unavailable'], `failure ${i + 1}: HTTP 503`);
  }
  t.equal(guard.state, 'open');
  t.equal(server.received.length, 3);

  const fast = await search();
  t.strictSame([fast.status, fast.status === 'degraded' ? fast.reason : null], ['degraded', 'circuit_open']);
  // Far below the 1 s timeout (the bound leaves room for a loaded machine); no request is the point.
  t.ok(fast.ms < 500, `answered in ${fast.ms} ms, without waiting for the 1 s timeout`);
  t.equal(server.received.length, 3, 'no request was made');

  healthy = true;
  await sleep(350);
  const trial = await search();
  t.strictSame(trial, { status: 'ok', value: [], ms: trial.ms }, 'the half-open trial succeeds');
  t.equal(guard.state, 'closed');
  t.equal(server.received.length, 4);
  t.strictSame(states, ['open', 'half_open', 'closed']);
});

t.test('malformed answers → degraded "bad_response"', async (t) => {
  const answers: Array<[string, (res: ServerResponse) => void, string]> = [
    ['not JSON', (res) => json(res, 200, '<html>oops</html>'), 'policy: /ctx/search: the response is not JSON'],
    ['wrong shape', (res) => json(res, 200, { results: 'none' }), 'policy: /search answered an invalid body: results must be array'],
    [
      'a hit without its snippet',
      (res) => json(res, 200, { results: [{ title: 'T', source: 's.md', score: 1 }] }),
      'policy: /search answered an invalid body: results.0.snippet is required',
    ],
    ['too large', (res) => json(res, 200, { results: [{ title: 'T', snippet: 'x'.repeat(5000), source: 's', score: 1 }] }), 'policy: the response is larger than 1000 bytes'],
    [
      'too large, in chunks with no length announced',
      (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < 10; i++) res.write(`{"results":[${' '.repeat(300)}`);
        res.end(']}');
      },
      'policy: the response is larger than 1000 bytes',
    ],
  ];
  for (const [name, answer, detail] of answers) {
    const server = await serve(t, (_req, res) => answer(res));
    const guard = new SourceGuard({ name: 'policy', timeoutMs: 1000 });
    const source = new HttpPolicySource({ baseUrl: server.url, maxResponseBytes: 1000 });
    const result = await guard.run((signal) => source.search('bags', 3, signal));
    t.strictSame({ ...result, ms: 0 }, { status: 'degraded', reason: 'bad_response', detail, ms: 0 }, name);
  }

  const flightServer = await serve(t, (_req, res) => json(res, 200, { flight: { ...FLIGHT, status: 'teleported', delay_minutes: -5 } }));
  const result = await new SourceGuard({ name: 'flight' }).run((signal) =>
    new HttpFlightSource({ baseUrl: flightServer.url }).getFlightContext({ flight_no: 'NZ123' }, signal),
  );
  t.equal(result.status === 'degraded' && result.reason, 'bad_response', 'a flight record that breaks the contract');
});

t.test('a redirect is not followed: degraded "unavailable", the other address never asked', async (t) => {
  const elsewhere = await serve(t, (_req, res) => json(res, 200, { results: [] }));
  const redirecting = await serve(t, (_req, res) => {
    res.writeHead(302, { location: `${elsewhere.url}/search` });
    res.end();
  });
  const result = await new SourceGuard({ name: 'policy' }).run((signal) => new HttpPolicySource({ baseUrl: redirecting.url }).search('bags', 3, signal));
  t.equal(result.status === 'degraded' && result.reason, 'unavailable');
  t.equal(elsewhere.received.length, 0, 'the redirect target was not asked');
});

t.test('a kept-alive connection the service closed as the next request went out: sent once more, on a new connection', async (t) => {
  // The service answers the first request of each connection and drops the connection at the
  // second, as a service does whose keep-alive timeout struck just as the request came.
  const sockets = new Set<unknown>();
  const server = await serve(t, (req, res) => {
    if (sockets.has(req.socket)) {
      req.socket.destroy();
      return;
    }
    sockets.add(req.socket);
    json(res, 200, { results: [{ title: 'Bags', snippet: 'One bag.', source: 'bags.md', score: 1 }] });
  });
  const source = new HttpPolicySource({ baseUrl: server.url });
  t.equal((await source.search('bags', 3)).length, 1, 'the first answer');
  const again = await new SourceGuard({ name: 'policy' }).run((signal) => source.search('bags', 3, signal));
  t.equal(again.status, 'ok', 'the second lookup is answered, not degraded');
  t.equal(server.received.length, 3, 'the dropped request, then its repeat');
  t.equal(sockets.size, 2, 'the repeat on a new connection');
});

t.test('nothing listening → degraded "error"; the caller’s abort → "aborted" and not held against the source', async (t) => {
  const closed = await serve(t, () => undefined);
  const dead = closed.url.replace(/:\d+\//, ':1/');
  const refused = await new SourceGuard({ name: 'policy' }).run((signal) => new HttpPolicySource({ baseUrl: dead }).search('bags', 3, signal));
  t.equal(refused.status === 'degraded' && refused.reason, 'error');

  const hanging = await serve(t, () => undefined);
  const guard = new SourceGuard({ name: 'flight', timeoutMs: 5000, breakerThreshold: 1 });
  const turn = new AbortController();
  setTimeout(() => turn.abort(new Error('turn cancelled')), 50);
  const result = await guard.run((signal) => new HttpFlightSource({ baseUrl: hanging.url }).getFlightContext({ flight_no: 'NZ123' }, signal), turn.signal);
  t.strictSame({ ...result, ms: 0 }, { status: 'degraded', reason: 'aborted', detail: 'flight: aborted by the caller', ms: 0 });
  t.equal(guard.state, 'closed', 'a threshold of 1 and still closed');
});

t.test('the assembler with a hanging flight agent: the turn gets policy passages and a plain "cannot confirm" within the timeout', async (t) => {
  const agent = await serve(t, () => undefined);
  const assembler = new ContextAssembler({
    policy: new EmbeddedPolicySource(),
    flight: new HttpFlightSource({ baseUrl: agent.url }),
    flightTimeoutMs: 300,
    now: () => new Date('2026-03-05T06:00:00Z'),
  });
  const started = performance.now();
  const context = await assembler.assemble({ message: 'my flight was delayed 4 hours what do I get', session: { flight_no: 'NZ123', date: '2026-03-05' } });
  const elapsed = performance.now() - started;
  t.ok(elapsed < 2000, `assembled in ${Math.round(elapsed)} ms (timeout 300 ms; the server never answers)`);
  t.equal(context.queryType, 'both');
  t.strictSame(context.sourcesStatus, { policy: 'ok', flight: 'degraded' });
  t.strictSame(context.degraded, { flight: { reason: 'timeout', detail: 'flight: no answer within 300 ms' } });
  t.equal(context.flight, null);
  t.equal(context.dataVersions.flight, null);
  t.strictSame(context.passages[0], {
    n: 1,
    kind: 'flight',
    title: 'Flight NZ123 status',
    text:
      'The live status of flight NZ123 on Thursday 5 March 2026 could not be retrieved right now. ' +
      'Its departure time, gate and any delay cannot be confirmed here; please check the Aotearoa Air app or the airport screens.',
    source: 'flight-status/NZ123/2026-03-05',
    score: 0,
    category: 'flight-status',
  });
  t.strictSame(
    context.passages.slice(1).map((p) => [p.n, p.source, p.title]),
    [
      [2, 'delays-and-compensation.md', 'Flight delays and compensation — Delays of 4 hours or more'],
      [3, 'delays-and-compensation.md', 'Flight delays and compensation — Compensation for long delays within our control'],
      [4, 'cancellations.md', 'Flight cancellations — Compensation for late cancellations'],
    ],
  );
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await sleep(10);
  }
}
