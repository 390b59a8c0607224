/**
 * Flight lookups over the bundled schedule, against a pinned clock: Thursday 5 March 2026,
 * 19:00 in Auckland (06:00 UTC). Statuses are derived deterministically from the status model,
 * so the delayed and cancelled flights below are the same on every run and every machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { EmbeddedFlightSource, FlightSchedule, normaliseFlightNumber, type FlightContext } from '../../src/context/index.js';

const NOW = new Date('2026-03-05T06:00:00Z');
const source = new EmbeddedFlightSource({ now: () => NOW });
const at = (iso: string) => new EmbeddedFlightSource({ schedule: source.schedule, now: () => new Date(iso) });

const AKL = { iata: 'AKL', name: 'Auckland Airport', city: 'Auckland', country: 'New Zealand', timezone: 'Pacific/Auckland' };
const SYD = { iata: 'SYD', name: 'Sydney Kingsford Smith Airport', city: 'Sydney', country: 'Australia', timezone: 'Australia/Sydney' };
const WLG = { iata: 'WLG', name: 'Wellington Airport', city: 'Wellington', country: 'New Zealand', timezone: 'Pacific/Auckland' };

t.test('NZ123 is the evening Auckland → Sydney flight; boarding at 19:00 on 5 March', async (t) => {
  const flight = await source.getFlightContext({ flight_no: 'NZ123', date: '2026-03-05' });
  t.strictSame(flight, {
    flight_no: 'NZ123',
    airline: 'Aotearoa Air',
    date: '2026-03-05',
    origin: AKL,
    destination: SYD,
    status: 'boarding',
    scheduled_departure: '2026-03-05T19:30:00+13:00',
    scheduled_arrival: '2026-03-05T20:55:00+11:00',
    estimated_departure: '2026-03-05T19:30:00+13:00',
    estimated_arrival: '2026-03-05T20:55:00+11:00',
    delay_minutes: 0,
    delay_reason: null,
    cancellation_reason: null,
    departure_terminal: 'International Terminal',
    departure_gate: '3',
    arrival_terminal: 'Terminal 1 (International)',
    aircraft: 'Airbus A320neo',
    duration_minutes: 205,
    check_in_closes_minutes: 60,
  } satisfies FlightContext);
});

t.test('the same flight through the day: on time → boarding → departed → landed', async (t) => {
  const statusAt = async (iso: string) => (await at(iso).getFlightContext({ flight_no: 'NZ123', date: '2026-03-05' }))?.status;
  t.equal(await statusAt('2026-03-05T00:00:00Z'), 'on_time', '13:00 in Auckland');
  t.equal(await statusAt('2026-03-05T05:45:00Z'), 'boarding', '18:45, 45 minutes before a Tasman departure');
  t.equal(await statusAt('2026-03-05T07:00:00Z'), 'departed', '20:00');
  t.equal(await statusAt('2026-03-05T09:55:00Z'), 'landed', '20:55 in Sydney');
  const next = await source.getFlightContext({ flight_no: 'NZ123', date: '2026-03-06' });
  t.equal(next?.status, 'on_time');
  t.equal(next?.departure_gate, null, 'no gate more than 24 hours ahead');
  const later = await source.getFlightContext({ flight_no: 'NZ123', date: '2026-03-20' });
  t.strictSame(
    { status: later?.status, estimated_departure: later?.estimated_departure, delay_minutes: later?.delay_minutes },
    { status: 'scheduled', estimated_departure: null, delay_minutes: 0 },
    'beyond tomorrow: scheduled, no estimate',
  );
});

t.test('a delayed flight: NZ421 Auckland → Wellington, 115 minutes late', async (t) => {
  const flight = await source.getFlightContext({ flight_no: 'NZ421', date: '2026-03-05' });
  t.strictSame(
    {
      route: `${flight?.origin.iata}-${flight?.destination.iata}`,
      destination: flight?.destination,
      status: flight?.status,
      delay_minutes: flight?.delay_minutes,
      delay_reason: flight?.delay_reason,
      scheduled_departure: flight?.scheduled_departure,
      estimated_departure: flight?.estimated_departure,
      estimated_arrival: flight?.estimated_arrival,
      departure_terminal: flight?.departure_terminal,
      departure_gate: flight?.departure_gate,
      check_in_closes_minutes: flight?.check_in_closes_minutes,
    },
    {
      route: 'AKL-WLG',
      destination: WLG,
      status: 'delayed',
      delay_minutes: 115,
      delay_reason: 'late arrival of the incoming aircraft',
      scheduled_departure: '2026-03-05T19:35:00+13:00',
      estimated_departure: '2026-03-05T21:30:00+13:00',
      estimated_arrival: '2026-03-05T22:35:00+13:00',
      departure_terminal: 'Domestic Terminal',
      departure_gate: '32',
      check_in_closes_minutes: 30,
    },
  );
});

t.test('a cancelled flight: NZ119 Auckland → Sydney', async (t) => {
  const flight = await source.getFlightContext({ flight_no: 'NZ119', date: '2026-03-05' });
  t.strictSame(
    {
      status: flight?.status,
      cancellation_reason: flight?.cancellation_reason,
      delay_minutes: flight?.delay_minutes,
      scheduled_departure: flight?.scheduled_departure,
      scheduled_arrival: flight?.scheduled_arrival,
      estimated_departure: flight?.estimated_departure,
      estimated_arrival: flight?.estimated_arrival,
      departure_gate: flight?.departure_gate,
    },
    {
      status: 'cancelled',
      cancellation_reason: 'air traffic control restrictions at Sydney',
      delay_minutes: 0,
      scheduled_departure: '2026-03-05T13:05:00+13:00',
      scheduled_arrival: '2026-03-05T14:30:00+11:00',
      estimated_departure: null,
      estimated_arrival: null,
      departure_gate: null,
    },
  );
});

t.test('across the date line: NZ307 lands in Rarotonga the day before it left', async (t) => {
  const flight = await source.getFlightContext({ flight_no: 'NZ307', date: '2026-03-06' });
  t.equal(flight?.scheduled_departure, '2026-03-06T12:05:00+13:00');
  t.equal(flight?.scheduled_arrival, '2026-03-05T17:00:00-10:00');
});

t.test('without a date: the current occurrence until an hour after landing, then the next', async (t) => {
  t.equal((await at('2026-03-05T10:00:00Z').getFlightContext({ flight_no: 'NZ123' }))?.date, '2026-03-05', 'landed 22:55 NZ time, now 23:00');
  t.equal((await at('2026-03-05T11:30:00Z').getFlightContext({ flight_no: 'NZ123' }))?.date, '2026-03-06', 'more than an hour after landing');
  const weekly = await source.getFlightContext({ flight_no: 'NZ143' }); // Auckland → Cairns, Mon Wed Fri Sun
  t.equal(weekly?.date, '2026-03-06', 'the next day it operates');
});

t.test('no data: unknown flight, a day it does not fly, outside the window, a bad date', async (t) => {
  t.equal(await source.getFlightContext({ flight_no: 'NZ999', date: '2026-03-05' }), null);
  t.equal(await source.getFlightContext({ flight_no: 'QF25' }), null);
  t.equal(await source.getFlightContext({ flight_no: 'NZ143', date: '2026-03-05' }), null, 'a Thursday');
  t.equal(await source.getFlightContext({ flight_no: 'NZ123', date: '2026-02-20' }), null, '13 days ago');
  t.equal(await source.getFlightContext({ flight_no: 'NZ123', date: '2026-06-30' }), null, 'four months ahead');
  t.equal(await source.getFlightContext({ flight_no: 'NZ123', date: '2026-02-30' }), null);
});

t.test('flight numbers are normalised', async (t) => {
  t.strictSame(['nz123', 'NZ 0123', 'nz-123', 'Nz0123'].map(normaliseFlightNumber), ['NZ123', 'NZ123', 'NZ123', 'NZ123']);
  t.equal((await source.getFlightContext({ flight_no: 'nz 0123', date: '2026-03-05' }))?.flight_no, 'NZ123');
});

t.test('the schedule: several hundred flights between real airports, every number once', async (t) => {
  const schedule = source.schedule;
  const flights = [...schedule.flights()];
  t.equal(flights.length, 348);
  const counts: Record<string, number> = {};
  for (const f of flights) counts[f.service] = (counts[f.service] ?? 0) + 1;
  t.strictSame(counts, { long_haul: 32, tasman: 58, pacific: 22, domestic: 86, regional: 150 });
  t.equal(new Set(flights.map((f) => f.flight_no)).size, flights.length);
  const badZones = Object.values(schedule.file.airports).filter((a) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: a.timezone });
      return false;
    } catch {
      return true;
    }
  });
  t.strictSame(badZones, [], 'every airport has a real IANA time zone');
  t.equal(Object.keys(schedule.file.airports).length, 50);
  t.strictSame(
    flights.filter((f) => f.origin === 'AKL' && f.destination === 'SYD').map((f) => `${f.flight_no} ${f.departure_time}`),
    ['NZ115 06:30', 'NZ117 10:00', 'NZ119 13:05', 'NZ121 16:15', 'NZ123 19:30'],
  );
  t.match(schedule.version, /^[0-9a-f]{16}$/);
  t.equal(FlightSchedule.load().version, schedule.version, 'the version is a stable content hash');
});

t.test('the committed schedule is exactly what the seeded generator makes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'schedule-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = fileURLToPath(new URL('../../data/flights/generate-schedule.ts', import.meta.url));
  const committed = fileURLToPath(new URL('../../data/flights/schedule.json', import.meta.url));
  const out = join(dir, 'schedule.json');
  execFileSync(process.execPath, ['--import', 'tsx', script, out], { stdio: 'pipe' });
  t.equal(readFileSync(out, 'utf8'), readFileSync(committed, 'utf8'));
});

t.test('occurrences are remembered per flight and date, never their status: each clock sees its own', async (t) => {
  // One timetable (one memory of occurrences) asked at several moments, in both orders: a
  // remembered occurrence must not carry the phase, the horizon or the window of the clock
  // that first derived it.
  const onDate = async (iso: string, flight_no: string, date: string) => at(iso).getFlightContext({ flight_no, date });
  const fromAfar = await onDate('2026-03-01T06:00:00Z', 'NZ421', '2026-03-05');
  t.strictSame(
    { status: fromAfar?.status, delay: fromAfar?.delay_minutes, estimated: fromAfar?.estimated_departure, gate: fromAfar?.departure_gate },
    { status: 'scheduled', delay: 0, estimated: null, gate: null },
    'four days ahead, beyond the disruption horizon: plainly scheduled',
  );
  const onTheDay = await onDate('2026-03-05T06:00:00Z', 'NZ421', '2026-03-05');
  t.strictSame({ status: onTheDay?.status, delay: onTheDay?.delay_minutes }, { status: 'delayed', delay: 115 }, 'on the day: the delay shows');
  const landed = await onDate('2026-03-05T10:00:00Z', 'NZ421', '2026-03-05');
  t.equal(landed?.status, 'landed', 'the delayed flight landed at 22:35 NZ time');
  const againFromAfar = await onDate('2026-03-01T06:00:00Z', 'NZ421', '2026-03-05');
  t.strictSame(againFromAfar, fromAfar, 'asked again from afar: the same answer as the first time');
  t.equal(await onDate('2026-03-20T06:00:00Z', 'NZ421', '2026-03-05'), null, 'past the window (seven days back): no data');

  // Without a date, a delayed occurrence counts from its delayed landing: NZ421 lands 22:35 on
  // the 5th, so at 23:00 it is still the current one (it would not be by its scheduled 20:40).
  const current = await at('2026-03-05T10:00:00Z').getFlightContext({ flight_no: 'NZ421' });
  t.equal(current?.date, '2026-03-05', 'within an hour of the delayed landing');
  const next = await at('2026-03-05T10:40:00Z').getFlightContext({ flight_no: 'NZ421' });
  t.equal(next?.date === '2026-03-05', false, 'more than an hour after it: the next occurrence');

  const shared = await onDate('2026-03-05T06:00:00Z', 'NZ421', '2026-03-05');
  t.throws(() => {
    (shared!.destination as { city: string }).city = 'Elsewhere';
  }, 'the airports an occurrence shares between answers cannot be changed through one of them');
});
