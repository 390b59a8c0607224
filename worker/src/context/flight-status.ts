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
  const model = schedule.statusModel;
  const origin = schedule.airport(flight.origin);
  const destination = schedule.airport(flight.destination);
  const today = wallClock(now, model.home_time_zone).date;
  const offset = daysBetween(today, date);
  if (offset < -model.window_days.past || offset > model.window_days.future) return null;
  if (!flight.days.includes(isoWeekdayOf(date))) return null;

  const std = zonedToInstant(date, flight.departure_time, origin.timezone);
  const sta = new Date(std.getTime() + flight.duration_minutes * 60_000);
  const disruption = offset <= model.disruption_horizon_days ? disruptionOf(schedule, flight, date, origin, destination) : null;
  const delay = disruption?.kind === 'delayed' ? disruption.minutes : 0;
  const etd = new Date(std.getTime() + delay * 60_000);
  const eta = new Date(sta.getTime() + delay * 60_000);

  let status: FlightStatus;
  if (disruption?.kind === 'cancelled') status = 'cancelled';
  else if (now >= eta) status = 'landed';
  else if (now >= etd) status = 'departed';
  else if (now.getTime() >= etd.getTime() - model.boarding_minutes[flight.service] * 60_000) status = 'boarding';
  else if (offset > model.disruption_horizon_days) status = 'scheduled';
  else status = delay > 0 ? 'delayed' : 'on_time';

  const estimated = status !== 'cancelled' && status !== 'scheduled';
  const gateShown = status !== 'cancelled' && now.getTime() >= std.getTime() - model.gate_shown_hours_before * 3_600_000;
  return {
    flight_no: flight.flight_no,
    airline: schedule.airline.name,
    date,
    origin: airportInfo(origin),
    destination: airportInfo(destination),
    status,
    scheduled_departure: isoInZone(std, origin.timezone),
    scheduled_arrival: isoInZone(sta, destination.timezone),
    estimated_departure: estimated ? isoInZone(etd, origin.timezone) : null,
    estimated_arrival: estimated ? isoInZone(eta, destination.timezone) : null,
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

/**
 * The occurrence a customer most likely means when they give no date: the first one, from
 * yesterday on (at the origin), that has not landed more than an hour ago (or, if cancelled,
 * was not due to land more than an hour ago). Looks a week ahead.
 */
export function currentOrNextFlight(schedule: FlightSchedule, flight: ScheduledFlight, now: Date): FlightContext | null {
  const originToday = wallClock(now, schedule.airport(flight.origin).timezone).date;
  for (let d = -1; d <= 8; d++) {
    const context = flightOnDate(schedule, flight, addDays(originToday, d), now);
    if (!context) continue;
    const arrival = Date.parse(context.estimated_arrival ?? context.scheduled_arrival);
    if (arrival + 3_600_000 > now.getTime()) return context;
  }
  return null;
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
