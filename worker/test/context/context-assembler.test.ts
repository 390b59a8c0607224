/**
 * Assembling a turn's context: routing, parallel guarded lookups, numbered passages (flight
 * facts first), source statuses, and data versions that are stable hashes of what was used.
 * The clock is pinned to Thursday 5 March 2026, 19:00 in Auckland.
 */
import t from 'tap';
import {
  ContextAssembler,
  EmbeddedFlightSource,
  EmbeddedPolicySource,
  type FlightContext,
  type FlightSource,
  type PolicyHit,
  type PolicySource,
} from '../../src/context/index.js';
import { contentHash } from '../../src/context/content-hash.js';

const NOW = () => new Date('2026-03-05T06:00:00Z');
const policy = new EmbeddedPolicySource();
const flights = new EmbeddedFlightSource({ now: NOW });
const assembler = (overrides: Partial<ConstructorParameters<typeof ContextAssembler>[0]> = {}) =>
  new ContextAssembler({ policy, flight: flights, now: NOW, ...overrides });
const NO_FLIGHT = { flight_no: null, date: null };
const HASH = /^[0-9a-f]{16}$/;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

t.test('a flight status question: one flight passage, policy skipped', async (t) => {
  const context = await assembler().assemble({ message: 'Is flight NZ123 from Auckland to Sydney on time?', session: NO_FLIGHT });
  t.equal(context.queryType, 'flight_status');
  t.strictSame(context.sourcesStatus, { policy: 'skipped', flight: 'ok' });
  t.strictSame(context.flightQuery, { flight_no: 'NZ123' });
  t.equal(context.flight?.status, 'boarding');
  t.strictSame(context.passages, [
    {
      n: 1,
      kind: 'flight',
      title: 'Flight NZ123 status',
      text:
        'Aotearoa Air flight NZ123 from Auckland (AKL) to Sydney (SYD) on Thursday 5 March 2026 is boarding now at gate 3. ' +
        'It is expected to depart Auckland at 19:30 local time and arrive in Sydney at 20:55 local time. ' +
        'It departs from the International Terminal. The aircraft is an Airbus A320neo.',
      source: 'flight-status/NZ123/next',
      score: 1,
      category: 'flight-status',
    },
  ]);
  t.equal(context.dataVersions.policy, null);
  t.match(context.dataVersions.flight, HASH);
  t.strictSame(context.degraded, {});
  t.equal(context.timingsMs.policy, null);
});

t.test('a cancelled flight and a refund question: flight facts [1], then the policies', async (t) => {
  const context = await assembler().assemble({ message: 'My flight got cancelled, can I get a refund?', session: { flight_no: 'nz119', date: '2026-03-05' } });
  t.equal(context.queryType, 'both');
  t.strictSame(context.sourcesStatus, { policy: 'ok', flight: 'ok' });
  t.equal(
    context.passages[0]!.text,
    'Aotearoa Air flight NZ119 from Auckland (AKL) to Sydney (SYD) on Thursday 5 March 2026 has been cancelled because of air traffic control restrictions at Sydney. ' +
      'It was scheduled to depart Auckland at 13:05 local time and arrive in Sydney at 14:30 local time. The aircraft is an Airbus A321neo.',
  );
  t.strictSame(
    context.passages.map((p) => [p.n, p.kind, p.source]),
    [
      [1, 'flight', 'flight-status/NZ119/2026-03-05'],
      [2, 'policy', 'cancellations.md'],
      [3, 'policy', 'refunds-and-travel-credits.md'],
      [4, 'policy', 'refunds-and-travel-credits.md'],
    ],
  );
  t.match(context.dataVersions, { policy: HASH, flight: HASH });
});

t.test('a policy question: no flight lookup even with a session flight', async (t) => {
  const context = await assembler().assemble({ message: 'can my dog fly in the cabin', session: { flight_no: 'NZ123', date: null } });
  t.equal(context.queryType, 'policy');
  t.strictSame(context.sourcesStatus, { policy: 'ok', flight: 'skipped' });
  t.strictSame(
    context.passages.map((p) => [p.n, p.title, p.source]),
    [
      [1, 'Travelling with pets — Can pets travel in the cabin', 'travelling-with-pets.md'],
      [2, 'Special assistance — Assistance dogs', 'special-assistance.md'],
      [3, 'Travelling with pets', 'travelling-with-pets.md'],
    ],
  );
  t.equal(context.flight, null);
  t.strictSame(context.dataVersions.flight, null);
});

t.test('a general message looks up no flight, but the documents are searched (one may still answer)', async (t) => {
  let flightCalls = 0;
  let policyCalls = 0;
  const counting: PolicySource & FlightSource = {
    search: async () => (policyCalls++, []),
    getFlightContext: async () => (flightCalls++, null),
  };
  const context = await assembler({ policy: counting, flight: counting }).assemble({ message: 'Can you help me with my booking?', session: { flight_no: 'NZ123', date: null } });
  t.strictSame(
    { queryType: context.queryType, passages: context.passages, sourcesStatus: context.sourcesStatus, flight: context.dataVersions.flight },
    { queryType: 'general', passages: [], sourcesStatus: { policy: 'ok', flight: 'skipped' }, flight: null },
  );
  t.equal(flightCalls, 0);
  t.equal(policyCalls, 1);
});

t.test('an unknown flight: the source answered, so a "not found" passage, and a version', async (t) => {
  const context = await assembler().assemble({ message: 'what gate is nz0999 tmrw', session: NO_FLIGHT });
  t.strictSame(context.sourcesStatus, { policy: 'skipped', flight: 'ok' });
  t.equal(context.flight, null);
  t.equal(
    context.passages[0]!.text,
    'No Aotearoa Air flight NZ999 was found in the schedule on Friday 6 March 2026. The flight number or the date may be wrong, or the flight may be operated by another airline.',
  );
  t.equal(context.passages[0]!.score, 0);
  t.match(context.dataVersions.flight, HASH);
});

t.test('data versions: stable across processes, equal for equal content, different for different content', async (t) => {
  const fresh = () =>
    new ContextAssembler({ policy: new EmbeddedPolicySource(), flight: new EmbeddedFlightSource({ now: NOW }), now: NOW });
  const message = 'my flight was delayed 4 hours what do I get';
  const session = { flight_no: 'NZ421', date: '2026-03-05' };
  const a = await fresh().assemble({ message, session });
  const b = await fresh().assemble({ message, session });
  t.strictSame(a.dataVersions, b.dataVersions, 'two independent assemblers agree');
  t.strictSame(a.passages, b.passages);
  // The policy version hashes [source, title, text] of each policy passage given to the model,
  // as canonical JSON (what `contentHash` of those arrays gives): the same hash as before it was
  // computed from their JSON directly, so answers cached before a deploy still hit.
  const used = a.passages.filter((p) => p.kind === 'policy').map((p) => [p.source, p.title, p.text]);
  t.ok(used.length > 0, 'policy passages were used');
  t.equal(a.dataVersions.policy, contentHash(used), 'the policy version is the content hash of the policy passages used');

  const rephrased = await fresh().assemble({ message: 'My flight was DELAYED 4 hours!! what do i get?', session });
  t.strictSame(rephrased.dataVersions, a.dataVersions, 'same passages used, same versions');

  const otherTopic = await fresh().assemble({ message: 'my flight is delayed, can I bring my power bank?', session });
  t.not(otherTopic.dataVersions.policy, a.dataVersions.policy, 'other passages, other policy version');
  t.equal(otherTopic.dataVersions.flight, a.dataVersions.flight, 'same flight record, same flight version');

  const later = await new ContextAssembler({ policy, flight: new EmbeddedFlightSource({ now: () => new Date('2026-03-05T09:00:00Z') }), now: NOW }).assemble({ message, session });
  t.equal(later.flight?.status, 'departed');
  t.not(later.dataVersions.flight, a.dataVersions.flight, 'the flight moved on: a new flight version');
});

t.test("one assembler whose clock moves: the flight's version and passage follow the record, never a remembered one", async (t) => {
  let now = new Date('2026-03-05T06:00:00Z');
  const clock = () => now;
  const moving = new ContextAssembler({ policy, flight: new EmbeddedFlightSource({ now: clock }), now: clock });
  const request = { message: 'is my flight on time?', session: { flight_no: 'NZ421', date: '2026-03-05' } };
  const first = await moving.assemble(request);
  const again = await moving.assemble(request);
  t.equal(again.dataVersions.flight, first.dataVersions.flight, 'the same record: the same version');
  t.equal(again.passages[0]!.text, first.passages[0]!.text, 'and the same passage');
  t.equal(first.dataVersions.flight, contentHash({ query: first.flightQuery, flight: first.flight }), 'the version is the content hash of the lookup and the record');

  now = new Date('2026-03-05T09:00:00Z');
  const later = await moving.assemble(request);
  t.equal(later.flight?.status, 'departed', 'the record moved on');
  t.not(later.dataVersions.flight, first.dataVersions.flight, 'a new version');
  t.equal(later.dataVersions.flight, contentHash({ query: later.flightQuery, flight: later.flight }), "the new record's own hash");
  t.not(later.passages[0]!.text, first.passages[0]!.text, 'and a passage that says so');
  t.match(later.passages[0]!.text, /departed/i);

  now = new Date('2026-03-05T06:00:00Z');
  const back = await moving.assemble(request);
  t.equal(back.dataVersions.flight, first.dataVersions.flight, 'the first record again: its version again');

  const unknown = await moving.assemble({ message: 'where is NZ9999?', session: NO_FLIGHT });
  t.equal(unknown.flight, null, 'a flight the timetable lacks');
  t.equal(unknown.dataVersions.flight, contentHash({ query: unknown.flightQuery, flight: null }), 'its "not found" version as before');
  t.match(unknown.passages[0]!.text, /NZ9999/);
});

t.test('sources run in parallel, each with its own timeout', async (t) => {
  // 600 ms each: one after the other would take 1 200; the bound below leaves 500 ms for a loaded machine.
  const slowPolicy: PolicySource = { search: async (_q, _k, signal) => (await sleep(600, signal), []) };
  const slowFlight: FlightSource = { getFlightContext: async (_q, signal) => (await sleep(600, signal), null) };
  const started = performance.now();
  const context = await assembler({ policy: slowPolicy, flight: slowFlight, policyTimeoutMs: 2000, flightTimeoutMs: 2000 }).assemble({ message: 'NZ123 was cancelled, refund?', session: NO_FLIGHT });
  const elapsed = performance.now() - started;
  t.strictSame(context.sourcesStatus, { policy: 'ok', flight: 'ok' });
  t.ok(elapsed < 1100, `each took 600 ms, together ${Math.round(elapsed)} ms`);

  const stuck: FlightSource = { getFlightContext: () => new Promise<FlightContext | null>(() => undefined) };
  const started2 = performance.now();
  const degraded = await assembler({ flight: stuck, flightTimeoutMs: 150 }).assemble({ message: 'is NZ123 on time', session: NO_FLIGHT });
  t.ok(performance.now() - started2 < 1000, 'a source that ignores its signal still settles at the timeout');
  t.strictSame(degraded.degraded, { flight: { reason: 'timeout', detail: 'flight: no answer within 150 ms' } });
});

t.test('a source that throws degrades; the turn’s abort degrades both; assemble never rejects', async (t) => {
  const broken: PolicySource = {
    search: () => {
      throw new TypeError('index not built');
    },
  };
  const context = await assembler({ policy: broken }).assemble({ message: 'how much can I check in', session: NO_FLIGHT });
  t.strictSame(context.sourcesStatus, { policy: 'degraded', flight: 'skipped' });
  t.strictSame(context.degraded, { policy: { reason: 'error', detail: 'policy: index not built' } });
  t.strictSame(context.passages, []);
  t.equal(context.dataVersions.policy, null);

  const turn = new AbortController();
  turn.abort(new Error('cancelled'));
  const aborted = await assembler().assemble({ message: 'NZ123 was cancelled, refund?', session: NO_FLIGHT }, turn.signal);
  t.strictSame(aborted.sourcesStatus, { policy: 'degraded', flight: 'degraded' });
  t.equal(aborted.degraded.policy?.reason, 'aborted');
  t.equal(aborted.degraded.flight?.reason, 'aborted');
});

t.test('an in-process source runs without timer or breaker: a throw still degrades, every call still runs', async (t) => {
  t.equal(policy.inProcess, true, 'the bundled policy search runs in process');
  t.equal(flights.inProcess, true, 'and the bundled timetable');
  let calls = 0;
  const broken: PolicySource = {
    inProcess: true,
    search: async () => {
      calls++;
      throw new TypeError('index not built');
    },
  };
  const guarded = assembler({ policy: broken, breakerThreshold: 2 });
  for (let i = 0; i < 5; i++) {
    const context = await guarded.assemble({ message: 'how much can I check in', session: NO_FLIGHT });
    t.strictSame(context.degraded, { policy: { reason: 'error', detail: 'policy: index not built' } }, `call ${i + 1} degraded with its own error`);
  }
  t.equal(calls, 5, 'no breaker opened: in-process code is called every time (a remote is spared after 2 failures)');
  t.equal(guarded.policyGuard.state, 'closed');

  const remote: PolicySource = { search: async () => ((calls++, Promise.reject(new TypeError('down'))) as Promise<PolicyHit[]>) };
  const spared = assembler({ policy: remote, breakerThreshold: 2 });
  calls = 0;
  for (let i = 0; i < 5; i++) await spared.assemble({ message: 'how much can I check in', session: NO_FLIGHT });
  t.equal(calls, 2, 'a source not in process is spared by its breaker after 2 failures');
});

t.test('weak policy hits are dropped, k is honoured', async (t) => {
  const hit = (title: string, score: number): PolicyHit => ({ title, snippet: `${title} text.`, source: `${title}.md`, category: 'c', score });
  const fixed: PolicySource = { search: async () => [hit('b', 5), hit('a', 10), hit('c', 3), hit('d', 9)] };
  const context = await assembler({ policy: fixed, k: 3 }).assemble({ message: 'baggage fees', session: NO_FLIGHT });
  t.strictSame(
    context.passages.map((p) => [p.n, p.title, p.score]),
    [
      [1, 'a', 10],
      [2, 'd', 9],
      [3, 'b', 5],
    ],
    'best 3 by score; 3 is below 35% of 10 anyway',
  );
  const strict = await assembler({ policy: fixed, k: 4, minRelativeScore: 0.6 }).assemble({ message: 'baggage fees', session: NO_FLIGHT });
  t.strictSame(strict.passages.map((p) => p.title), ['a', 'd']);
});

t.test('a follow-up is read with the question before it; a question of its own is not', async (t) => {
  const previous = 'Is flight NZ421 on time?';
  const followUp = await assembler().assemble({ message: 'and what about tomorrow?', session: NO_FLIGHT, previous });
  t.equal(followUp.queryType, 'flight_status', 'the follow-up carries the previous question over');
  t.equal(followUp.flightQuery?.flight_no, 'NZ421', "with that question's flight");
  const alone = await assembler().assemble({ message: 'and what about tomorrow?', session: NO_FLIGHT });
  t.not(alone.flightQuery?.flight_no, 'NZ421', 'without the previous question nothing carries over');
  const ownTopic = await assembler().assemble({ message: 'Can I bring my dog in the cabin?', session: NO_FLIGHT, previous });
  t.not(ownTopic.queryType, 'flight_status', 'a question with a topic of its own is read alone');
});
