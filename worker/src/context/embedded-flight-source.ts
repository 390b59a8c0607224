import { FlightSchedule } from './flight-schedule.js';
import { currentOrNextFlight, flightOnDate } from './flight-status.js';
import type { FlightContext, FlightQuery, FlightSource } from './types.js';
import { isCalendarDate } from './zoned-time.js';

export interface EmbeddedFlightSourceOptions {
  /** The timetable; default: `FlightSchedule.load()` (worker/data/flights/schedule.json). */
  schedule?: FlightSchedule;
  /** The clock statuses are derived against; default: `() => new Date()`. Tests pin it. */
  now?: () => Date;
}

/**
 * Flight status from the bundled timetable, in process: the default when `AGENT_URL` is unset.
 * Flight numbers are matched after normalisation (`nz0123` → `NZ123`); an unknown flight, a date
 * the flight does not operate on, or a date outside the data window gives null.
 */
export class EmbeddedFlightSource implements FlightSource {
  /** The bundled data, searched on this thread. */
  readonly inProcess = true;
  readonly schedule: FlightSchedule;
  private readonly now: () => Date;

  constructor(options: EmbeddedFlightSourceOptions = {}) {
    this.schedule = options.schedule ?? FlightSchedule.load();
    this.now = options.now ?? (() => new Date());
  }

  /** Data version of the timetable (a content hash). */
  get version(): string {
    return this.schedule.version;
  }

  async getFlightContext(query: FlightQuery, signal?: AbortSignal): Promise<FlightContext | null> {
    signal?.throwIfAborted();
    const flight = this.schedule.flight(normaliseFlightNumber(query.flight_no));
    if (!flight) return null;
    const now = this.now();
    if (query.date === undefined || query.date === null) return currentOrNextFlight(this.schedule, flight, now);
    if (!isCalendarDate(query.date)) return null;
    return flightOnDate(this.schedule, flight, query.date, now);
  }
}

/** `nz 0123`, `NZ-123`, `Nz123` → `NZ123`; anything else is upper-cased and stripped of spaces. */
export function normaliseFlightNumber(raw: string): string {
  const compact = raw.toUpperCase().replace(/[\s-]+/g, '');
  const match = /^([A-Z0-9]{2})0*([1-9][0-9]{0,3}[A-Z]?)$/.exec(compact);
  return match ? `${match[1]}${match[2]}` : compact;
}
