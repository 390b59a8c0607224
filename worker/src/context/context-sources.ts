import { EmbeddedFlightSource } from './embedded-flight-source.js';
import { EmbeddedPolicySource } from './embedded-policy-source.js';
import { HttpFlightSource } from './http-flight-source.js';
import { HttpPolicySource } from './http-policy-source.js';
import { ScheduleSearch } from './schedule-search.js';
import type { FlightSource, PolicySource } from './types.js';

export interface ContextSourcesOptions {
  /** AGENT_URL: flight agent base URL; unset = the bundled schedule (`EmbeddedFlightSource`). */
  agentUrl?: string | undefined;
  /** RETRIEVAL_URL: retrieval service base URL; unset = the bundled corpus (`EmbeddedPolicySource`). */
  retrievalUrl?: string | undefined;
  /** Headers sent to both services (for example an authorisation header); default none. */
  headers?: Readonly<Record<string, string>>;
  /** Clock of the embedded flight source; default `() => new Date()`. */
  now?: () => Date;
}

export interface ContextSources {
  policy: PolicySource;
  flight: FlightSource;
  /** The bundled timetable by route, with the embedded flight source; undefined with AGENT_URL. */
  schedule?: ScheduleSearch;
  /** Which implementation each source is, for logs and `/health`. */
  kinds: { policy: 'embedded' | 'http'; flight: 'embedded' | 'http' };
}

/** The HTTP source for each URL that is set, the embedded default for the others (loaded now). */
export function createContextSources(options: ContextSourcesOptions = {}): ContextSources {
  const headers = options.headers ? { headers: options.headers } : {};
  const policy = options.retrievalUrl ? new HttpPolicySource({ baseUrl: options.retrievalUrl, ...headers }) : new EmbeddedPolicySource();
  const flight = options.agentUrl
    ? new HttpFlightSource({ baseUrl: options.agentUrl, ...headers })
    : new EmbeddedFlightSource(options.now ? { now: options.now } : {});
  return {
    policy,
    flight,
    ...(flight instanceof EmbeddedFlightSource ? { schedule: new ScheduleSearch(flight.schedule, options.now) } : {}),
    kinds: { policy: options.retrievalUrl ? 'http' : 'embedded', flight: options.agentUrl ? 'http' : 'embedded' },
  };
}
