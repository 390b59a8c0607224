import { Type, type Static } from '@sinclair/typebox';

/**
 * The boundaries of the context layer: what a policy search and a flight lookup return, and
 * the two interfaces each source (embedded or HTTP) implements. The shapes that also cross the
 * wire (from RETRIEVAL_URL and AGENT_URL) are JSON Schemas with their types beside them; the
 * HTTP sources validate answers against them.
 */

// ---------------------------------------------------------------- policy documents

export const PolicyHitSchema = Type.Object({
  /** Human title of the passage: `Document title — Section`. */
  title: Type.String({ minLength: 1, maxLength: 300 }),
  /** The passage text. Untrusted: formatted as quoted data, never as instructions. */
  snippet: Type.String({ minLength: 1, maxLength: 20_000 }),
  /** Where it comes from: the Markdown file name (`baggage-allowance.md`) or the service's document id. */
  source: Type.String({ minLength: 1, maxLength: 300 }),
  /** Topic of the document (`baggage`, `disruption`, …). */
  category: Type.String({ maxLength: 100 }),
  /** Relevance, higher is better; comparable only within one search. */
  score: Type.Number(),
});
/** One policy passage found for a question. */
export type PolicyHit = Static<typeof PolicyHitSchema>;

/** Full-text search over the airline's policy documents. */
export interface PolicySource {
  /** The `k` best passages for `q`, best first; `[]` when nothing matches. */
  search(q: string, k: number, signal?: AbortSignal): Promise<PolicyHit[]>;
  /** Runs on this thread with no I/O (the bundled data): see `SourceGuardOptions.inProcess`. Default false. */
  readonly inProcess?: boolean;
}

// ---------------------------------------------------------------- flights

/** What a flight lookup asks for. */
export interface FlightQuery {
  /** Normalised flight number, `NZ123`. */
  flight_no: string;
  /** Local departure date at the origin, YYYY-MM-DD; omitted = the flight's current or next occurrence. */
  date?: string | undefined;
}

const DATE = '^\\d{4}-\\d{2}-\\d{2}$';
/** ISO 8601 date-time with an offset: `2026-03-05T19:30:00+13:00`. */
const DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:Z|[+-]\\d{2}:\\d{2})$';
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const FlightStatusSchema = Type.Union([
  Type.Literal('scheduled'),
  Type.Literal('on_time'),
  Type.Literal('delayed'),
  Type.Literal('boarding'),
  Type.Literal('departed'),
  Type.Literal('landed'),
  Type.Literal('cancelled'),
]);
export type FlightStatus = Static<typeof FlightStatusSchema>;

export const FlightAirportSchema = Type.Object({
  iata: Type.String({ pattern: '^[A-Z]{3}$' }),
  name: Type.String({ maxLength: 200 }),
  city: Type.String({ maxLength: 200 }),
  country: Type.String({ maxLength: 200 }),
  /** IANA time zone; every local time of the flight is given in its airport's zone. */
  timezone: Type.String({ maxLength: 100 }),
});
export type FlightAirport = Static<typeof FlightAirportSchema>;

export const FlightContextSchema = Type.Object({
  flight_no: Type.String({ pattern: '^[A-Z0-9]{2}[0-9]{1,4}[A-Z]?$' }),
  airline: Type.String({ maxLength: 200 }),
  /** Local departure date at the origin. */
  date: Type.String({ pattern: DATE }),
  origin: FlightAirportSchema,
  destination: FlightAirportSchema,
  status: FlightStatusSchema,
  /** ISO 8601 with the airport's UTC offset. */
  scheduled_departure: Type.String({ pattern: DATE_TIME }),
  scheduled_arrival: Type.String({ pattern: DATE_TIME }),
  /** Latest estimates (actual times once departed or landed); null when cancelled, or when the
   *  flight is too far ahead for an estimate (status `scheduled`). */
  estimated_departure: Nullable(Type.String({ pattern: DATE_TIME })),
  estimated_arrival: Nullable(Type.String({ pattern: DATE_TIME })),
  /** Minutes late at departure (0 when on time or cancelled). */
  delay_minutes: Type.Integer({ minimum: 0, maximum: 10_000 }),
  delay_reason: Nullable(Type.String({ maxLength: 500 })),
  cancellation_reason: Nullable(Type.String({ maxLength: 500 })),
  departure_terminal: Nullable(Type.String({ maxLength: 200 })),
  /** Null when not yet assigned. */
  departure_gate: Nullable(Type.String({ maxLength: 20 })),
  arrival_terminal: Nullable(Type.String({ maxLength: 200 })),
  aircraft: Nullable(Type.String({ maxLength: 200 })),
  duration_minutes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  /** Minutes before departure that check-in and bag drop close for this kind of flight. */
  check_in_closes_minutes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
});
/** One flight on one date, as the support assistant may state it. */
export type FlightContext = Static<typeof FlightContextSchema>;

/** Flight schedule and status lookup. */
export interface FlightSource {
  /** The flight on that date (or its current or next occurrence), or null when there is none. */
  getFlightContext(query: FlightQuery, signal?: AbortSignal): Promise<FlightContext | null>;
  /** Runs on this thread with no I/O (the bundled data): see `SourceGuardOptions.inProcess`. Default false. */
  readonly inProcess?: boolean;
}
