/**
 * The boundaries of the context layer: what a policy search and a flight lookup return, and
 * the two interfaces each source (embedded or HTTP) implements.
 */

/** One policy passage found for a question. */
export interface PolicyHit {
  /** Human title of the passage: `Document title — Section`. */
  title: string;
  /** The passage text, plain, on one line. Untrusted: formatted as quoted data, never as instructions. */
  snippet: string;
  /** Where it comes from: the Markdown file name (`baggage-allowance.md`) or the retrieval service's id. */
  source: string;
  /** Topic of the document (`baggage`, `disruption`, …). */
  category: string;
  /** Relevance, higher is better; comparable only within one search. */
  score: number;
}

/** Full-text search over the airline's policy documents. */
export interface PolicySource {
  /** The `k` best passages for `q`, best first; `[]` when nothing matches. */
  search(q: string, k: number, signal?: AbortSignal): Promise<PolicyHit[]>;
}

/** What a flight lookup asks for. */
export interface FlightQuery {
  /** Normalised flight number, `NZ123`. */
  flight_no: string;
  /** Local departure date, YYYY-MM-DD; omitted = the flight's current or next occurrence. */
  date?: string | undefined;
}

export type FlightStatus = 'scheduled' | 'on_time' | 'delayed' | 'boarding' | 'departed' | 'landed' | 'cancelled';

export interface FlightAirport {
  iata: string;
  name: string;
  city: string;
  country: string;
  /** IANA time zone of the airport; every local time of the flight is given in its airport's zone. */
  timezone: string;
}

/** One flight on one date, as the support assistant may state it. */
export interface FlightContext {
  flight_no: string;
  airline: string;
  /** Local departure date at the origin, YYYY-MM-DD. */
  date: string;
  origin: FlightAirport;
  destination: FlightAirport;
  status: FlightStatus;
  /** ISO 8601 with the airport's UTC offset. */
  scheduled_departure: string;
  scheduled_arrival: string;
  /** Estimated times when they differ from the schedule or the flight has left; null when cancelled. */
  estimated_departure: string | null;
  estimated_arrival: string | null;
  /** Minutes late at departure (0 when on time or cancelled). */
  delay_minutes: number;
  delay_reason: string | null;
  cancellation_reason: string | null;
  departure_terminal: string | null;
  /** Null when not yet assigned. */
  departure_gate: string | null;
  arrival_terminal: string | null;
  aircraft: string | null;
  duration_minutes: number | null;
  /** Minutes before departure that check-in and bag drop close for this kind of flight. */
  check_in_closes_minutes: number | null;
}

/** Flight schedule and status lookup. */
export interface FlightSource {
  /** The flight on that date (or its current or next occurrence), or null when there is none. */
  getFlightContext(query: FlightQuery, signal?: AbortSignal): Promise<FlightContext | null>;
}
