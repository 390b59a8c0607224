/** Routing messages to the context they need, and the flight to look up; "today" is 5 March 2026. */
import t from 'tap';
import { routeQuery, type RoutedQuery, type SessionFlight } from '../../src/context/index.js';

const TODAY = '2026-03-05';
const NO_FLIGHT: SessionFlight = { flight_no: null, date: null };
const route = (message: string, session: SessionFlight = NO_FLIGHT) => routeQuery(message, session, TODAY);
const brief = (r: RoutedQuery) => ({ queryType: r.queryType, flight: r.flight, flightFrom: r.flightFrom });

t.test('the question of the service this one replaces', async (t) => {
  t.strictSame(brief(route('Is flight NZ123 from Auckland to Sydney on time?')), {
    queryType: 'flight_status',
    flight: { flight_no: 'NZ123' },
    flightFrom: 'message',
  });
});

t.test('flight status questions, messy', async (t) => {
  const cases: Array<[string, SessionFlight, ReturnType<typeof brief>]> = [
    ['hiii is nz 123 delayed tmrw??', NO_FLIGHT, { queryType: 'flight_status', flight: { flight_no: 'NZ123', date: '2026-03-06' }, flightFrom: 'message' }],
    ['FLT123 status pls', NO_FLIGHT, { queryType: 'flight_status', flight: { flight_no: 'NZ123' }, flightFrom: 'message' }],
    ['whats the gate for NZ0123 on 5/3', NO_FLIGHT, { queryType: 'flight_status', flight: { flight_no: 'NZ123', date: '2026-03-05' }, flightFrom: 'message' }],
    ['my flight nz123 2026-03-06 still on time?', NO_FLIGHT, { queryType: 'flight_status', flight: { flight_no: 'NZ123', date: '2026-03-06' }, flightFrom: 'message' }],
    ['was my flight canceled', { flight_no: 'nz421', date: '2026-03-05' }, { queryType: 'flight_status', flight: { flight_no: 'NZ421', date: '2026-03-05' }, flightFrom: 'session' }],
    ['When does my flight leave?', { flight_no: 'NZ307', date: '2026-03-06' }, { queryType: 'flight_status', flight: { flight_no: 'NZ307', date: '2026-03-06' }, flightFrom: 'session' }],
    ['Where is my flight?', { flight_no: 'NZ1', date: null }, { queryType: 'flight_status', flight: { flight_no: 'NZ1' }, flightFrom: 'session' }],
    ['flying NZ 8005 the day after tomorrow - is it going', NO_FLIGHT, { queryType: 'flight_status', flight: { flight_no: 'NZ8005', date: '2026-03-07' }, flightFrom: 'message' }],
    ['what gate does nz１２３ leave from', NO_FLIGHT, { queryType: 'flight_status', flight: { flight_no: 'NZ123' }, flightFrom: 'message' }],
    ['Is my flight QF25 delayed', NO_FLIGHT, { queryType: 'flight_status', flight: { flight_no: 'QF25' }, flightFrom: 'message' }],
  ];
  for (const [message, session, expected] of cases) t.strictSame(brief(route(message, session)), expected, message);
});

t.test('the session flight and date fill in what the message leaves out', async (t) => {
  const session = { flight_no: 'NZ123', date: '2026-03-05' };
  t.strictSame(route('is it on time?', session).flight, { flight_no: 'NZ123', date: '2026-03-05' }, 'both from the session');
  t.strictSame(route('is my flight on time tomorrow?', session).flight, { flight_no: 'NZ123', date: '2026-03-06' }, 'the message date wins');
  t.strictSame(route('is NZ123 delayed?', session).flight, { flight_no: 'NZ123', date: '2026-03-05' }, 'same flight: session date');
  t.strictSame(route('what about NZ 456?', session).flight, { flight_no: 'NZ456' }, "another flight: not the session's date");
  t.strictSame(route('what about NZ 456 tomorrow', session).flight, { flight_no: 'NZ456', date: '2026-03-06' });
  t.strictSame(route('is it on time?', { flight_no: 'NZ123', date: 'not-a-date' }).flight, { flight_no: 'NZ123' }, 'a bad session date is ignored');
  t.equal(route('is my flight delayed?').flight, null, 'no flight anywhere');
});

t.test('policy questions', async (t) => {
  for (const message of [
    'how much can I check in',
    'can my dog fly in the cabin',
    'my 10 year old is flying alone',
    'What time does check-in close for international flights?',
    'I have 2 bags of 23kg, flight takes 3 hours',
    'NZ$150 for an extra bag?? that is a lot',
    'can i bring a vape',
    'I left my phone on the plane',
    'My flight is in 3 days, what is the baggage allowance?',
  ]) {
    t.equal(route(message, { flight_no: 'NZ123', date: null }).queryType, 'policy', message);
  }
});

t.test('questions that need both a flight and a policy', async (t) => {
  const cases: Array<[string, SessionFlight]> = [
    ['my flight was delayed 4 hours what do I get', { flight_no: 'NZ137', date: '2026-03-06' }],
    ['My flight got cancelled, can I get a refund?', { flight_no: 'NZ119', date: null }],
    ['can I take my dog on NZ5023 on friday', NO_FLIGHT],
    ["I'm on NZ123 tomorrow, how much can I check in?", NO_FLIGHT],
    ['NZ421 is 2 hrs late, do I get a meal voucher', NO_FLIGHT],
  ];
  for (const [message, session] of cases) t.equal(route(message, session).queryType, 'both', message);
  t.strictSame(route('can I take my dog on NZ5023 on friday').flight, { flight_no: 'NZ5023', date: '2026-03-06' });
});

t.test('general messages', async (t) => {
  for (const message of ['Can you help me with my booking?', 'thanks!!', 'hello', 'who am I talking to?', 'I need help 24/7', '']) {
    t.equal(route(message, { flight_no: 'NZ123', date: null }).queryType, 'general', JSON.stringify(message));
  }
});

t.test("a session's date in another format is parsed; one that does not parse is not looked up", async (t) => {
  const ask = 'When does my flight leave?';
  const cases: Array<[string, string | undefined]> = [
    ['2026-03-06', '2026-03-06'],
    ['2026-03-06T09:30:00Z', '2026-03-06'],
    ['06/03/2026', '2026-03-06'],
    ['6 March 2026', '2026-03-06'],
    ['March 6, 2026', '2026-03-06'],
    ['tomorrow', '2026-03-06'],
    ['sometime soon', undefined],
    ['13/13/2026', undefined],
  ];
  for (const [date, expected] of cases) {
    const flight = route(ask, { flight_no: 'NZ307', date }).flight;
    t.strictSame(flight, expected ? { flight_no: 'NZ307', date: expected } : { flight_no: 'NZ307' }, JSON.stringify(date));
  }
});

t.test('an odd flight number of the session is looked up as given (the lookup says it is not in the schedule)', async (t) => {
  t.strictSame(route('Where is my flight?', { flight_no: 'DEBUG001', date: '2025-01-17' }).flight, { flight_no: 'DEBUG001', date: '2025-01-17' });
});
