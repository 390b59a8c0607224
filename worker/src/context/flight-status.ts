import { unitHash } from './content-hash.js';
import type { FlightSchedule, ScheduleAirport, ScheduledFlight } from './flight-schedule.js';
import type { FlightAirport, FlightContext, FlightStatus } from './types.js';
import { addDays, daysBetween, isoInZone, isoWeekdayOf, wallClock, zonedToInstant } from './zoned-time.js';

/**
 * Derives the status of one scheduled flight on one date at one moment, deterministically:
 *
 * - Whether the flight is cancelled or delayed (and by how long, and why) comes from a hash of
 *   the status model's seed, the flight number and the date, so every worker and every restart
 *   tells the same story. Only dates up to `disruption_horizon_days` after the airline's today
 *   have disruptions; later dates are plainly "scheduled".
 * - The phase (on time or delayed → boarding → departed → landed) comes from `now` against the
 *   estimated times.
 * - Dates outside the data window (`window_days` around today) have no data: null.
 */
export function flightOnDate(schedule: FlightSchedule, flight: ScheduledFlight, date: string, now: Date): FlightContext | null {
  return statusOf(schedule, occurrenceOf(schedule, flight, date), airlineToday(schedule, now), now);
}

/**
 * The occurrence a customer most likely means when they give no date: the first one, from
 * yesterday on (at the origin), that has not landed more than an hour ago (or, if cancelled,
 * was not due to land more than an hour ago). Looks a week ahead.
 */
export function currentOrNextFlight(schedule: FlightSchedule, flight: ScheduledFlight, now: Date): FlightContext | null {
  const originToday = wallClock(now, schedule.airport(flight.origin).timezone).date;
  const today = airlineToday(schedule, now);
  for (let d = -1; d <= 8; d++) {
    const occurrence = occurrenceOf(schedule, flight, addDays(originToday, d));
    const context = statusOf(schedule, occurrence, today, now);
    if (!context || occurrence === null) continue;
    const arrivalMs = context.delay_minutes > 0 ? occurrence.etaMs : occurrence.staMs;
    if (arrivalMs + 3_600_000 > now.getTime()) return context;
  }
  return null;
}

/**
 * What a flight's occurrence on a date is whatever the time: its instants, their local forms and
 * its disruption. Deriving them (time-zone arithmetic for ten candidate days, three hashes per
 * day) was most of a flight lookup, and every turn that names a flight looks up to ten days.
 */
interface Occurrence {
  flight: ScheduledFlight;
  date: string;
  origin: Readonly<FlightAirport>;
  destination: Readonly<FlightAirport>;
  stdMs: number;
  staMs: number;
  etdMs: number;
  etaMs: number;
  scheduledDeparture: string;
  scheduledArrival: string;
  estimatedDeparture: string;
  estimatedArrival: string;
  /** Applies only to dates within the disruption horizon of the day asked on. */
  disruption: Disruption | null;
}

/** Occurrences remembered per timetable; dropped whole past this many (a lookup window is ~40 days × 348 flights). */
const OCCURRENCES_MAX = 50_000;
const occurrences = new WeakMap<FlightSchedule, Map<string, Occurrence | null>>();

/** The flight's occurrence on `date`, or null when it does not operate on that weekday. */
function occurrenceOf(schedule: FlightSchedule, flight: ScheduledFlight, date: string): Occurrence | null {
  let known = occurrences.get(schedule);
  if (!known) occurrences.set(schedule, (known = new Map()));
  const key = `${flight.flight_no}|${date}`;
  let occurrence = known.get(key);
  if (occurrence === undefined) {
    occurrence = deriveOccurrence(schedule, flight, date);
    if (known.size >= OCCURRENCES_MAX) known.clear();
    known.set(key, occurrence);
  }
  return occurrence;
}

function deriveOccurrence(schedule: FlightSchedule, flight: ScheduledFlight, date: string): Occurrence | null {
  if (!flight.days.includes(isoWeekdayOf(date))) return null;
  const origin = schedule.airport(flight.origin);
  const destination = schedule.airport(flight.destination);
  const std = zonedToInstant(date, flight.departure_time, origin.timezone);
  const stdMs = std.getTime();
  const staMs = stdMs + flight.duration_minutes * 60_000;
  const disruption = disruptionOf(schedule, flight, date, origin, destination);
  const delayMs = disruption?.kind === 'delayed' ? disruption.minutes * 60_000 : 0;
  return {
    flight,
    date,
    origin: Object.freeze(airportInfo(origin)),
    destination: Object.freeze(airportInfo(destination)),
    stdMs,
    staMs,
    etdMs: stdMs + delayMs,
    etaMs: staMs + delayMs,
    scheduledDeparture: isoInZone(std, origin.timezone),
    scheduledArrival: isoInZone(new Date(staMs), destination.timezone),
    estimatedDeparture: isoInZone(new Date(stdMs + delayMs), origin.timezone),
    estimatedArrival: isoInZone(new Date(staMs + delayMs), destination.timezone),
    disruption,
  };
}

/** The airline's date at `now` (its home time zone): the data window and the disruption horizon count from it. */
function airlineToday(schedule: FlightSchedule, now: Date): string {
  return wallClock(now, schedule.statusModel.home_time_zone).date;
}

/** The occurrence's status at `now`, or null outside the data window. */
function statusOf(schedule: FlightSchedule, occurrence: Occurrence | null, today: string, now: Date): FlightContext | null {
  if (occurrence === null) return null;
  const model = schedule.statusModel;
  const { flight, date } = occurrence;
  const offset = daysBetween(today, date);
  if (offset < -model.window_days.past || offset > model.window_days.future) return null;
  const disruption = offset <= model.disruption_horizon_days ? occurrence.disruption : null;
  const delay = disruption?.kind === 'delayed' ? disruption.minutes : 0;
  const etdMs = delay > 0 ? occurrence.etdMs : occurrence.stdMs;
  const etaMs = delay > 0 ? occurrence.etaMs : occurrence.staMs;
  const nowMs = now.getTime();

  let status: FlightStatus;
  if (disruption?.kind === 'cancelled') status = 'cancelled';
  else if (nowMs >= etaMs) status = 'landed';
  else if (nowMs >= etdMs) status = 'departed';
  else if (nowMs >= etdMs - model.boarding_minutes[flight.service] * 60_000) status = 'boarding';
  else if (offset > model.disruption_horizon_days) status = 'scheduled';
  else status = delay > 0 ? 'delayed' : 'on_time';

  const estimated = status !== 'cancelled' && status !== 'scheduled';
  const gateShown = status !== 'cancelled' && nowMs >= occurrence.stdMs - model.gate_shown_hours_before * 3_600_000;
  return {
    flight_no: flight.flight_no,
    airline: schedule.airline.name,
    date,
    origin: occurrence.origin,
    destination: occurrence.destination,
    status,
    scheduled_departure: occurrence.scheduledDeparture,
    scheduled_arrival: occurrence.scheduledArrival,
    estimated_departure: estimated ? (delay > 0 ? occurrence.estimatedDeparture : occurrence.scheduledDeparture) : null,
    estimated_arrival: estimated ? (delay > 0 ? occurrence.estimatedArrival : occurrence.scheduledArrival) : null,
    delay_minutes: delay,
    delay_reason: disruption?.kind === 'delayed' ? disruption.reason : null,
    cancellation_reason: disruption?.kind === 'cancelled' ? disruption.reason : null,
    departure_terminal: flight.departure_terminal,
    departure_gate: gateShown ? flight.gate : null,
    arrival_terminal: flight.arrival_terminal,
    aircraft: flight.aircraft,
    duration_minutes: flight.duration_minutes,
    check_in_closes_minutes: model.check_in_closes_minutes[flight.service],
  };
}

type Disruption = { kind: 'delayed'; minutes: number; reason: string } | { kind: 'cancelled'; reason: string };

function disruptionOf(
  schedule: FlightSchedule,
  flight: ScheduledFlight,
  date: string,
  origin: ScheduleAirport,
  destination: ScheduleAirport,
): Disruption | null {
  const model = schedule.statusModel;
  const key = [model.seed, flight.flight_no, date] as const;
  const roll = unitHash(...key, 'disruption');
  const fill = (template: string) => template.replaceAll('{origin_city}', origin.city).replaceAll('{destination_city}', destination.city);
  const pick = (list: readonly string[]) => fill(list[Math.floor(unitHash(...key, 'reason') * list.length)]!);
  if (roll < model.cancel_rate) return { kind: 'cancelled', reason: pick(model.cancellation_reasons) };
  if (roll < model.cancel_rate + model.delay_rate) return { kind: 'delayed', minutes: delayMinutes(unitHash(...key, 'minutes')), reason: pick(model.delay_reasons) };
  return null;
}

/** Most delays are short; a few run to hours. Multiples of 5 minutes, 15 to 330. */
function delayMinutes(u: number): number {
  const band = (from: number, to: number, v: number) => from + Math.round((v * (to - from)) / 5) * 5;
  if (u < 0.45) return band(15, 40, u / 0.45);
  if (u < 0.75) return band(45, 90, (u - 0.45) / 0.3);
  if (u < 0.93) return band(100, 180, (u - 0.75) / 0.18);
  return band(200, 330, (u - 0.93) / 0.07);
}

function airportInfo(airport: ScheduleAirport): FlightAirport {
  return { iata: airport.iata, name: airport.name, city: airport.city, country: airport.country, timezone: airport.timezone };
}
