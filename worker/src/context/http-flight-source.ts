import { Type } from '@sinclair/typebox';
import { compileValidator } from '@chat/shared';
import { endpoint, postJson, SourceResponseError } from './http-json.js';
import { FlightContextSchema, type FlightAirport, type FlightContext, type FlightQuery, type FlightSource } from './types.js';

export interface HttpFlightSourceOptions {
  /** AGENT_URL: the flight agent's base URL; the lookup is `POST {baseUrl}/get_flight_context`. */
  baseUrl: string;
  /** Extra request headers, for example `authorization`; default none. */
  headers?: Readonly<Record<string, string>>;
  /** Largest response accepted, bytes; default 256 KiB. */
  maxResponseBytes?: number;
}

/** `{flight: FlightContext | null}`; extra fields are ignored. */
const FlightResponse = Type.Object({ flight: Type.Union([FlightContextSchema, Type.Null()]) });
const validateFlightResponse = compileValidator(FlightResponse);

/**
 * Flight status through the flight agent: `POST {AGENT_URL}/get_flight_context {flight_no, date?}`
 * → 200 `{flight: FlightContext | null}` (null, or HTTP 404, = no such flight). The body is
 * validated and copied field by field, so nothing the contract does not name reaches the prompt.
 * Throws on any failure; the resilience layer turns that into a degraded answer.
 */
export class HttpFlightSource implements FlightSource {
  private readonly url: URL;
  private readonly maxResponseBytes: number;

  constructor(private readonly options: HttpFlightSourceOptions) {
    this.url = endpoint(options.baseUrl, 'get_flight_context');
    this.maxResponseBytes = options.maxResponseBytes ?? 256 * 1024;
  }

  async getFlightContext(query: FlightQuery, signal?: AbortSignal): Promise<FlightContext | null> {
    const payload = query.date ? { flight_no: query.flight_no, date: query.date } : { flight_no: query.flight_no };
    const { status, body } = await postJson(this.url, payload, signal ?? new AbortController().signal, {
      maxResponseBytes: this.maxResponseBytes,
      acceptStatuses: [404],
      ...(this.options.headers ? { headers: this.options.headers } : {}),
    });
    if (status === 404) return null;
    const checked = validateFlightResponse(body);
    if (!checked.ok) {
      throw new SourceResponseError(
        `/get_flight_context answered an invalid body: ${checked.fields.map((f) => `${f.field} ${f.message}`).join('; ')}`,
      );
    }
    return checked.value.flight ? copyFlight(checked.value.flight) : null;
  }
}

function copyAirport(a: FlightAirport): FlightAirport {
  return { iata: a.iata, name: a.name, city: a.city, country: a.country, timezone: a.timezone };
}

function copyFlight(f: FlightContext): FlightContext {
  return {
    flight_no: f.flight_no,
    airline: f.airline,
    date: f.date,
    origin: copyAirport(f.origin),
    destination: copyAirport(f.destination),
    status: f.status,
    scheduled_departure: f.scheduled_departure,
    scheduled_arrival: f.scheduled_arrival,
    estimated_departure: f.estimated_departure,
    estimated_arrival: f.estimated_arrival,
    delay_minutes: f.delay_minutes,
    delay_reason: f.delay_reason,
    cancellation_reason: f.cancellation_reason,
    departure_terminal: f.departure_terminal,
    departure_gate: f.departure_gate,
    arrival_terminal: f.arrival_terminal,
    aircraft: f.aircraft,
    duration_minutes: f.duration_minutes,
    check_in_closes_minutes: f.check_in_closes_minutes,
  };
}
