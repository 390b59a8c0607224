/**
 * `--context-sources http`: the bundled data served over HTTP answers the worker's own HTTP
 * sources (the RETRIEVAL_URL and AGENT_URL contracts, validated by them) with what the embedded
 * sources answer in process, and the bench's options take the flag and its latency.
 */
import t from 'tap';
import { EmbeddedFlightSource, EmbeddedPolicySource, HttpFlightSource, HttpPolicySource } from '@chat/worker';
import { parseBenchArgs, UsageError } from '../src/bench-options.js';
import { startContextSourceServer } from '../src/context-source-server.js';

t.test("the worker's HTTP sources read the served data as the embedded sources give it", async (t) => {
  const server = await startContextSourceServer(0);
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${server.port}`;
  const policy = new HttpPolicySource({ baseUrl: url });
  const flights = new HttpFlightSource({ baseUrl: url });

  const hits = await policy.search('baggage allowance on a Tasman flight', 3);
  t.ok(hits.length > 0, 'a policy question finds passages');
  t.same(
    hits.map((h) => h.source),
    (await new EmbeddedPolicySource().search('baggage allowance on a Tasman flight', 3)).map((h) => h.source),
    'the same passages, in the same order, as in process',
  );
  const flight = await flights.getFlightContext({ flight_no: 'NZ123' });
  t.equal(flight?.flight_no, 'NZ123', 'a flight of the bundled schedule is found');
  t.same(flight, await new EmbeddedFlightSource().getFlightContext({ flight_no: 'NZ123' }), 'the same record as in process');
  t.equal(await flights.getFlightContext({ flight_no: 'ZZ999' }), null, 'an unknown flight is none');

  const bad = await fetch(`${url}/search`, { method: 'POST', body: 'not json' });
  t.equal(bad.status, 400, 'a body that is not JSON is refused');
  t.equal((await fetch(`${url}/elsewhere`, { method: 'POST', body: '{}' })).status, 404);
});

t.test('the latency is added to every answer', async (t) => {
  const server = await startContextSourceServer(40);
  t.teardown(() => server.close());
  const startedAt = performance.now();
  await new HttpPolicySource({ baseUrl: `http://127.0.0.1:${server.port}` }).search('pets', 1);
  t.ok(performance.now() - startedAt >= 39, 'an answer takes at least the latency');
});

t.test('--context-sources and --context-latency-ms', async (t) => {
  t.same(parseBenchArgs([], '/tmp').contextSources, { kind: 'embedded' }, 'in process by default');
  t.same(parseBenchArgs(['--context-sources', 'http'], '/tmp').contextSources, { kind: 'http', latencyMs: 0 });
  t.same(parseBenchArgs(['--context-sources', 'http', '--context-latency-ms', '2.5'], '/tmp').contextSources, { kind: 'http', latencyMs: 2.5 });
  const usage = (argv: string[]): unknown => {
    try {
      parseBenchArgs(argv, '/tmp');
    } catch (err) {
      return err instanceof UsageError ? err.message : err;
    }
    return 'accepted';
  };
  t.match(usage(['--context-latency-ms', '3']), /--context-latency-ms goes with --context-sources http/, 'a latency needs the http sources');
  t.match(usage(['--context-sources', 'ftp']), /--context-sources takes embedded or http/);
  t.match(usage(['--context-sources', 'http', '--context-latency-ms=-1']), /--context-latency-ms takes a number from 0/, 'not a negative latency');
});
