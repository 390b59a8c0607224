import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { compileValidator } from '@chat/shared';
import { contentHash } from './content-hash.js';

/**
 * The bundled timetable (`worker/data/flights/schedule.json`, made by the seeded
 * `generate-schedule.ts` beside it): airports, flights by number, and the parameters from which
 * statuses are derived. Loaded and validated once at start; a bad file stops the worker.
 */

const Service = Type.Union([
  Type.Literal('domestic'),
  Type.Literal('regional'),
  Type.Literal('tasman'),
  Type.Literal('pacific'),
  Type.Literal('long_haul'),
]);
const PerService = Type.Object({
  domestic: Type.Integer({ minimum: 0 }),
  regional: Type.Integer({ minimum: 0 }),
  tasman: Type.Integer({ minimum: 0 }),
  pacific: Type.Integer({ minimum: 0 }),
  long_haul: Type.Integer({ minimum: 0 }),
});
const Time = Type.String({ pattern: '^(?:[01][0-9]|2[0-3]):[0-5][0-9]$' });

export const ScheduleAirport = Type.Object({
  iata: Type.String({ pattern: '^[A-Z]{3}$' }),
  name: Type.String({ minLength: 1 }),
  city: Type.String({ minLength: 1 }),
  country: Type.String({ minLength: 1 }),
  timezone: Type.String({ minLength: 1 }),
});
export type ScheduleAirport = Static<typeof ScheduleAirport>;

export const ScheduledFlight = Type.Object({
  flight_no: Type.String({ pattern: '^NZ[1-9][0-9]{0,3}$' }),
  origin: Type.String({ pattern: '^[A-Z]{3}$' }),
  destination: Type.String({ pattern: '^[A-Z]{3}$' }),
  service: Service,
  /** Local time at the origin. */
  departure_time: Time,
  duration_minutes: Type.Integer({ minimum: 10, maximum: 1200 }),
  /** ISO weekdays it operates on (at the origin), 1 = Monday. */
  days: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7 }),
  aircraft: Type.String(),
  departure_terminal: Type.String(),
  arrival_terminal: Type.String(),
  gate: Type.String(),
});
export type ScheduledFlight = Static<typeof ScheduledFlight>;
export type ServiceKind = ScheduledFlight['service'];

export const StatusModel = Type.Object({
  seed: Type.String({ minLength: 1 }),
  home_time_zone: Type.String(),
  cancel_rate: Type.Number({ minimum: 0, maximum: 1 }),
  delay_rate: Type.Number({ minimum: 0, maximum: 1 }),
  disruption_horizon_days: Type.Integer({ minimum: 0 }),
  window_days: Type.Object({ past: Type.Integer({ minimum: 0 }), future: Type.Integer({ minimum: 0 }) }),
  boarding_minutes: PerService,
  check_in_closes_minutes: PerService,
  gate_shown_hours_before: Type.Number({ minimum: 0 }),
  delay_reasons: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  cancellation_reasons: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
});
export type StatusModel = Static<typeof StatusModel>;

export const ScheduleFile = Type.Object({
  airline: Type.Object({ name: Type.String(), code: Type.String({ pattern: '^[A-Z0-9]{2}$' }) }),
  status_model: StatusModel,
  airports: Type.Record(Type.String(), ScheduleAirport),
  flights: Type.Array(ScheduledFlight, { minItems: 1 }),
});
export type ScheduleFile = Static<typeof ScheduleFile>;

const validateSchedule = compileValidator(ScheduleFile);

/** The default timetable: `worker/data/flights/schedule.json` (same path from `src/` and `dist/`). */
export const DEFAULT_SCHEDULE_PATH = new URL('../../data/flights/schedule.json', import.meta.url);

/** A validated timetable, indexed by flight number. */
export class FlightSchedule {
  /** Hash of the file's content: changes whenever the timetable or status model does. */
  readonly version: string;
  private readonly byNumber: ReadonlyMap<string, ScheduledFlight>;

  constructor(
    readonly file: ScheduleFile,
    version?: string,
  ) {
    const byNumber = new Map<string, ScheduledFlight>();
    for (const flight of file.flights) {
      if (byNumber.has(flight.flight_no)) throw new Error(`schedule: duplicate flight ${flight.flight_no}`);
      for (const iata of [flight.origin, flight.destination]) {
        if (!file.airports[iata]) throw new Error(`schedule: ${flight.flight_no} uses unknown airport ${iata}`);
      }
      byNumber.set(flight.flight_no, flight);
    }
    this.byNumber = byNumber;
    this.version = version ?? contentHash(file);
  }

  /** Reads and validates a schedule file. */
  static load(path: string | URL = DEFAULT_SCHEDULE_PATH): FlightSchedule {
    const text = readFileSync(path, 'utf8');
    const parsed: unknown = JSON.parse(text);
    const result = validateSchedule(parsed);
    if (!result.ok) {
      throw new Error(`schedule ${String(path)} is invalid: ${result.fields.map((f) => `${f.field} ${f.message}`).join('; ')}`);
    }
    return new FlightSchedule(result.value, contentHash(text));
  }

  get airline(): ScheduleFile['airline'] {
    return this.file.airline;
  }

  get statusModel(): StatusModel {
    return this.file.status_model;
  }

  get size(): number {
    return this.byNumber.size;
  }

  flight(flightNo: string): ScheduledFlight | undefined {
    return this.byNumber.get(flightNo);
  }

  airport(iata: string): ScheduleAirport {
    const airport = this.file.airports[iata];
    if (!airport) throw new Error(`schedule: unknown airport ${iata}`);
    return airport;
  }

  flights(): Iterable<ScheduledFlight> {
    return this.byNumber.values();
  }
}
