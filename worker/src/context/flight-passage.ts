import type { FlightContext, FlightQuery } from './types.js';

/**
 * A flight's facts as a passage of short, self-contained sentences: the model (and the offline
 * model's extractive composer, which quotes whole sentences) can cite any one of them alone.
 * Times are the airports' local times, as printed on boarding passes.
 */

/** `Flight NZ123 status`: the passage title (no `:` `.` `!` `?`, per the `[n] Title: text` format). */
export function flightPassageTitle(flightNo: string): string {
  return `Flight ${flightNo.replace(/[^A-Za-z0-9]/g, '')} status`;
}

export function flightPassageText(f: FlightContext): string {
  const from = f.origin.city;
  const to = f.destination.city;
  const name = `${f.airline} flight ${f.flight_no} from ${from} (${f.origin.iata}) to ${to} (${f.destination.iata}) on ${longDate(f.date)}`;
  const std = localTime(f.scheduled_departure);
  const sta = localTime(f.scheduled_arrival);
  const etd = f.estimated_departure ? localTime(f.estimated_departure) : null;
  const eta = f.estimated_arrival ? localTime(f.estimated_arrival) : null;
  const arrivalDay = (iso: string) => (iso.slice(0, 10) === f.date ? '' : ` on ${longDate(iso.slice(0, 10))}`);
  const late = f.delay_minutes > 0 ? ` (${duration(f.delay_minutes)} late${f.delay_reason ? `, because of ${f.delay_reason}` : ''})` : '';
  const s: string[] = [];

  switch (f.status) {
    case 'cancelled':
      s.push(`${name} has been cancelled${f.cancellation_reason ? ` because of ${f.cancellation_reason}` : ''}.`);
      s.push(`It was scheduled to depart ${from} at ${std} local time and arrive in ${to} at ${sta} local time${arrivalDay(f.scheduled_arrival)}.`);
      break;
    case 'delayed':
      s.push(`${name} is delayed by ${duration(f.delay_minutes)}${f.delay_reason ? ` because of ${f.delay_reason}` : ''}.`);
      s.push(`It was scheduled to depart ${from} at ${std} local time and is now expected to depart at ${etd ?? std} local time.`);
      s.push(`The new estimated arrival time in ${to} is ${eta ?? sta} local time${arrivalDay(f.estimated_arrival ?? f.scheduled_arrival)}, instead of ${sta}.`);
      break;
    case 'on_time':
      s.push(`${name} is on time.`);
      s.push(`It is scheduled to depart ${from} at ${std} local time and arrive in ${to} at ${sta} local time${arrivalDay(f.scheduled_arrival)}.`);
      break;
    case 'scheduled':
      s.push(`${name} is scheduled to depart ${from} at ${std} local time and arrive in ${to} at ${sta} local time${arrivalDay(f.scheduled_arrival)}.`);
      s.push('No delay or cancellation has been announced for it; live status is available from the day before departure.');
      break;
    case 'boarding':
      s.push(`${name} is boarding now${f.departure_gate ? ` at gate ${f.departure_gate}` : ''}.`);
      s.push(`It is expected to depart ${from} at ${etd ?? std} local time${late} and arrive in ${to} at ${eta ?? sta} local time${arrivalDay(f.estimated_arrival ?? f.scheduled_arrival)}.`);
      break;
    case 'departed':
      s.push(`${name} has departed.`);
      s.push(`It left ${from} at ${etd ?? std} local time${late} and is expected to arrive in ${to} at ${eta ?? sta} local time${arrivalDay(f.estimated_arrival ?? f.scheduled_arrival)}.`);
      break;
    case 'landed':
      s.push(`${name} has landed.`);
      s.push(`It arrived in ${to} at ${eta ?? sta} local time${arrivalDay(f.estimated_arrival ?? f.scheduled_arrival)}${late}, after departing ${from} at ${etd ?? std} local time.`);
      break;
  }

  if (f.status !== 'cancelled' && f.status !== 'departed' && f.status !== 'landed') {
    const where = [f.departure_terminal ? `the ${f.departure_terminal}` : null, f.departure_gate ? `gate ${f.departure_gate}` : null].filter(Boolean);
    if (where.length > 0 && f.status !== 'boarding') s.push(`It departs from ${where.join(', ')}.`);
    else if (f.status === 'boarding' && f.departure_terminal) s.push(`It departs from the ${f.departure_terminal}.`);
    if (!f.departure_gate) s.push('The departure gate has not been assigned yet.');
    if (f.check_in_closes_minutes !== null && f.status !== 'boarding') {
      s.push(`Check-in and bag drop for this flight close ${f.check_in_closes_minutes} minutes before departure.`);
    }
  }
  if (f.status === 'landed' || f.status === 'departed') {
    if (f.arrival_terminal) s.push(`It arrives at the ${f.arrival_terminal} in ${to}.`);
  }
  if (f.aircraft) s.push(`The aircraft is ${/^[aeiou]/i.test(f.aircraft) ? 'an' : 'a'} ${f.aircraft}.`);
  return s.join(' ');
}

/** The passage when the source answered but has no such flight. */
export function flightNotFoundText(query: FlightQuery, airline: string): string {
  const when = query.date ? ` on ${longDate(query.date)}` : ' in the next few days';
  return (
    `No ${airline} flight ${query.flight_no} was found in the schedule${when}. ` +
    'The flight number or the date may be wrong, or the flight may be operated by another airline.'
  );
}

/** The passage when the source could not be asked (timeout, outage): say so, never guess. */
export function flightUnavailableText(query: FlightQuery, airline: string): string {
  return (
    `The live status of flight ${query.flight_no}${query.date ? ` on ${longDate(query.date)}` : ''} could not be retrieved right now. ` +
    `Its departure time, gate and any delay cannot be confirmed here; please check the ${airline} app or the airport screens.`
  );
}

/** `19:30` from `2026-03-05T19:30:00+13:00` (the airport's own wall clock). */
function localTime(iso: string): string {
  return iso.slice(11, 16);
}

const DATE_FORMAT = new Intl.DateTimeFormat('en-NZ', { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

/** `Thursday 5 March 2026` from `2026-03-05`. */
export function longDate(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return DATE_FORMAT.format(new Date(Date.UTC(y, m - 1, d))).replace(',', '');
}

/** `45 minutes`, `1 hour`, `2 hours 5 minutes`. */
function duration(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const hours = h === 0 ? '' : h === 1 ? '1 hour' : `${h} hours`;
  const mins = m === 0 ? '' : m === 1 ? '1 minute' : `${m} minutes`;
  return [hours, mins].filter(Boolean).join(' ') || '0 minutes';
}
