import { contentHash } from './content-hash.js';
import { flightNotFoundText, flightPassageText, flightPassageTitle, flightUnavailableText } from './flight-passage.js';
import { routeQuery, type QueryType, type SessionFlight } from './query-router.js';
import { SourceGuard, type BreakerState, type DegradedReason, type Guarded } from './source-guard.js';
import type { FlightContext, FlightQuery, FlightSource, PolicyHit, PolicySource } from './types.js';
import { neutraliseTitle, neutraliseUntrustedText } from './untrusted-text.js';
import { wallClock } from './zoned-time.js';

/**
 * Gathers the context for one turn: routes the message, asks the sources it needs in parallel
 * (each behind its own timeout and circuit breaker), and returns numbered passages ready for the
 * prompt, the flight record, what each source did, and data versions for the answer cache.
 *
 *   message + session flight ──▶ routeQuery ──┬──▶ policy.search(message, k)      ─┐  (parallel,
 *                                             └──▶ flight.getFlightContext(query) ─┘   guarded)
 *                                                        │
 *              passages [1] flight facts, [2..] policy sections (neutralised) ◀┘
 *
 * Never throws because of a source: a failed or slow source is `degraded` (with its reason),
 * and for a flight question the passage then says plainly that the status cannot be confirmed.
 */

export type SourceStatus = 'ok' | 'degraded' | 'skipped';

/** One numbered passage for the prompt (`[n] Title: text`). */
export interface ContextPassage {
  /** Citation number, from 1. */
  n: number;
  kind: 'flight' | 'policy';
  /** Safe for the `[n] Title: text` line: no `:` `.` `!` `?`, at most 80 characters. */
  title: string;
  /** Neutralised text, one line. */
  text: string;
  /** Policy: the document's file name; flight: `flight-status/NZ123/2026-03-05` (`/next` without a date). */
  source: string;
  /** Policy: the search score; flight: 1 for a found flight, 0 for "not found" or "unavailable". */
  score: number;
  /** Policy: the document's category; flight: `flight-status`. */
  category: string;
}

export interface AssembledContext {
  queryType: QueryType;
  passages: ContextPassage[];
  /** The flight record used, or null (not asked, not found, or the source failed). */
  flight: FlightContext | null;
  /** The lookup made (or that would have been made), or null when no flight is known. */
  flightQuery: FlightQuery | null;
  sourcesStatus: { policy: SourceStatus; flight: SourceStatus };
  /** Why a source is degraded. */
  degraded: { policy?: { reason: DegradedReason; detail: string }; flight?: { reason: DegradedReason; detail: string } };
  /**
   * Versions of the data used, for the answer cache key: a hash of exactly the passages (or the
   * flight record) given to the model, stable across processes. Null when the source was
   * skipped or degraded (such answers should not be cached across sessions).
   */
  dataVersions: { policy: string | null; flight: string | null };
  /** Time each source took, ms; null when skipped. */
  timingsMs: { policy: number | null; flight: number | null };
}

export interface ContextRequest {
  /** The customer's message (already scrubbed of personal data by the caller). */
  message: string;
  /** The session's flight number and date, used when the message names none. */
  session: SessionFlight;
}

export interface ContextAssemblerOptions {
  /** Policy documents: `EmbeddedPolicySource` or `HttpPolicySource` (RETRIEVAL_URL). */
  policy: PolicySource;
  /** Flight status: `EmbeddedFlightSource` or `HttpFlightSource` (AGENT_URL). */
  flight: FlightSource;
  /** Policy passages requested per question (the `k` of the search); default 3. */
  k?: number;
  /** Policy hits scoring below this fraction of the best hit are dropped; default 0.35. */
  minRelativeScore?: number;
  /** Timeout of one policy search, ms; default 1500. */
  policyTimeoutMs?: number;
  /** Timeout of one flight lookup, ms; default 1500. */
  flightTimeoutMs?: number;
  /** Consecutive failures that open a source's circuit breaker; default 5. */
  breakerThreshold?: number;
  /** How long an open breaker waits before one trial call, ms; default 10000. */
  halfOpenAfterMs?: number;
  /** Longest passage text, characters; default 1200. */
  maxPassageChars?: number;
  /** Airline name used in generated flight passages; default `Aotearoa Air`. */
  airline?: string;
  /** Time zone of the airline's "today" (for "tomorrow" in messages); default `Pacific/Auckland`. */
  timeZone?: string;
  /** Clock; default `() => new Date()`. */
  now?: () => Date;
  /** Called when a source's breaker changes state (`policy` or `flight`); default none. */
  onBreakerStateChange?: (source: string, state: BreakerState) => void;
}

export class ContextAssembler {
  readonly policyGuard: SourceGuard;
  readonly flightGuard: SourceGuard;
  private readonly k: number;
  private readonly minRelativeScore: number;
  private readonly maxPassageChars: number;
  private readonly airline: string;
  private readonly timeZone: string;
  private readonly now: () => Date;

  constructor(private readonly options: ContextAssemblerOptions) {
    this.k = options.k ?? 3;
    this.minRelativeScore = options.minRelativeScore ?? 0.35;
    this.maxPassageChars = options.maxPassageChars ?? 1200;
    this.airline = options.airline ?? 'Aotearoa Air';
    this.timeZone = options.timeZone ?? 'Pacific/Auckland';
    this.now = options.now ?? (() => new Date());
    const breaker = {
      ...(options.breakerThreshold !== undefined ? { breakerThreshold: options.breakerThreshold } : {}),
      ...(options.halfOpenAfterMs !== undefined ? { halfOpenAfterMs: options.halfOpenAfterMs } : {}),
      ...(options.onBreakerStateChange ? { onBreakerStateChange: options.onBreakerStateChange } : {}),
    };
    this.policyGuard = new SourceGuard({ name: 'policy', timeoutMs: options.policyTimeoutMs ?? 1500, ...breaker });
    this.flightGuard = new SourceGuard({ name: 'flight', timeoutMs: options.flightTimeoutMs ?? 1500, ...breaker });
  }

  /** The context for one message; `signal` is the turn's (its abort stops both lookups). */
  async assemble(request: ContextRequest, signal?: AbortSignal): Promise<AssembledContext> {
    const today = wallClock(this.now(), this.timeZone).date;
    const route = routeQuery(request.message, request.session, today);
    const wantsPolicy = route.queryType === 'policy' || route.queryType === 'both';
    const wantsFlight = (route.queryType === 'flight_status' || route.queryType === 'both') && route.flight !== null;

    const [policy, flight] = await Promise.all([
      wantsPolicy ? this.policyGuard.run((s) => this.options.policy.search(request.message, this.k, s), signal) : null,
      wantsFlight && route.flight ? this.flightGuard.run((s) => this.options.flight.getFlightContext(route.flight!, s), signal) : null,
    ]);

    const passages: ContextPassage[] = [];
    const result: AssembledContext = {
      queryType: route.queryType,
      passages,
      flight: null,
      flightQuery: route.flight,
      sourcesStatus: { policy: status(policy), flight: status(flight) },
      degraded: {},
      dataVersions: { policy: null, flight: null },
      timingsMs: { policy: policy?.ms ?? null, flight: flight?.ms ?? null },
    };

    if (flight && route.flight) {
      const query = route.flight;
      const source = `flight-status/${query.flight_no}/${query.date ?? 'next'}`;
      if (flight.status === 'ok') {
        result.flight = flight.value;
        result.dataVersions.flight = contentHash({ query, flight: flight.value });
        const text = flight.value ? flightPassageText(flight.value) : flightNotFoundText(query, this.airline);
        passages.push(this.passage(passages.length + 1, 'flight', flightPassageTitle(query.flight_no), text, source, flight.value ? 1 : 0, 'flight-status'));
      } else {
        result.degraded.flight = { reason: flight.reason, detail: flight.detail };
        passages.push(
          this.passage(passages.length + 1, 'flight', flightPassageTitle(query.flight_no), flightUnavailableText(query, this.airline), source, 0, 'flight-status'),
        );
      }
    }

    if (policy) {
      if (policy.status === 'ok') {
        const hits = this.relevant(policy.value);
        for (const hit of hits) {
          passages.push(this.passage(passages.length + 1, 'policy', hit.title, hit.snippet, hit.source, hit.score, hit.category));
        }
        const used = passages.filter((p) => p.kind === 'policy').map((p) => [p.source, p.title, p.text]);
        result.dataVersions.policy = contentHash(used);
      } else {
        result.degraded.policy = { reason: policy.reason, detail: policy.detail };
      }
    }
    return result;
  }

  /** The best `k` hits, without those far weaker than the best one. */
  private relevant(hits: readonly PolicyHit[]): PolicyHit[] {
    const sorted = [...hits].sort((a, b) => b.score - a.score).slice(0, this.k);
    const best = sorted[0]?.score ?? 0;
    return best > 0 ? sorted.filter((h) => h.score >= best * this.minRelativeScore) : sorted;
  }

  private passage(n: number, kind: ContextPassage['kind'], title: string, text: string, source: string, score: number, category: string): ContextPassage {
    return {
      n,
      kind,
      title: neutraliseTitle(title),
      text: neutraliseUntrustedText(text, this.maxPassageChars).text,
      source: neutraliseUntrustedText(source, 200).text,
      score,
      category,
    };
  }
}

function status(result: Guarded<unknown> | null): SourceStatus {
  if (!result) return 'skipped';
  return result.status;
}
