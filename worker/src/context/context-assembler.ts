import { contentHash } from './content-hash.js';
import { flightNotFoundText, flightPassageText, flightPassageTitle, flightUnavailableText } from './flight-passage.js';
import { asksForHuman, glossaryTerms, questionInContext } from '@chat/shared';
import { routeQuery, type QueryType, type SessionFlight } from './query-router.js';
import { routePassageText, type ScheduleSearch } from './schedule-search.js';
import { SourceGuard, type BreakerState, type DegradedReason, type Guarded } from './source-guard.js';
import type { FlightContext, FlightQuery, FlightSource, PolicyHit, PolicySource } from './types.js';
import { neutraliseTitle, neutraliseUntrustedText } from './untrusted-text.js';
import { wallClock } from './zoned-time.js';
import { LruMap } from '../lru-map.js';

/** A flight record's data version and passage text (see `ContextAssembler.flightFacts`). */
interface FlightFacts {
  version: string;
  text: string;
}

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
  kind: 'flight' | 'policy' | 'schedule' | 'trip';
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
  /** The router's type, or `schedule` (a route search) or `handoff` (the customer asked for a person). */
  queryType: QueryType | 'schedule' | 'handoff';
  /** The question the context was gathered for: the message, read with the previous question when it is a follow-up. */
  focus: string;
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
  /** The customer's message before this one in the session (scrubbed), to read a follow-up with. */
  previous?: string;
  /** The turn is handed to a person whatever the message says: gather the contact options. */
  handoff?: boolean;
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
  /**
   * The bundled timetable by route: route questions ("next flight from Auckland to Wellington")
   * and the route class of a destination for the policy tables. Default none (with AGENT_URL
   * there is no timetable to search in process).
   */
  schedule?: ScheduleSearch;
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
  /** See `flightFacts`: a few hundred flights a day at most, so a small map holds them. */
  private readonly flightFactsByContent = new LruMap<string, FlightFacts>(2_000);

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
    this.policyGuard = new SourceGuard({ name: 'policy', timeoutMs: options.policyTimeoutMs ?? 1500, inProcess: options.policy.inProcess === true, ...breaker });
    this.flightGuard = new SourceGuard({ name: 'flight', timeoutMs: options.flightTimeoutMs ?? 1500, inProcess: options.flight.inProcess === true, ...breaker });
  }

  /** The context for one message; `signal` is the turn's (its abort stops both lookups). */
  async assemble(request: ContextRequest, signal?: AbortSignal): Promise<AssembledContext> {
    const today = wallClock(this.now(), this.timeZone).date;
    // A follow-up ("and on Business?") is read with the question before it; words in another
    // language the glossary knows are searched in English too.
    const focus = questionInContext(request.message, request.previous);
    const translated = glossaryTerms(focus);
    const searchText = translated.length > 0 ? `${focus} ${translated.join(' ')}` : focus;
    const handoff = request.handoff === true || asksForHuman(request.message);
    const route = routeQuery(searchText, request.session, today);
    const schedule = this.options.schedule;
    const routeMention = schedule && route.mentionedFlights.length === 0 ? schedule.routeIn(searchText) : null;
    const scheduleSearch =
      !handoff && routeMention?.destination && SCHEDULE_QUESTION.test(searchText) && !RULE_TOPIC.test(searchText)
        ? { origin: routeMention.origin ?? defaultOrigin(schedule!, routeMention.destination), destination: routeMention.destination }
        : null;
    const queryType: AssembledContext['queryType'] = handoff ? 'handoff' : scheduleSearch ? 'schedule' : route.queryType;
    // Policy is searched unless the question is only a flight's status or the timetable: a
    // question the router cannot place ("what are my options if you cancel?") may still be
    // answered by a document, and the model says so when none fits.
    const statusOnly = route.queryType === 'flight_status' && route.flight !== null && !ASKS_BEYOND_STATUS.test(searchText);
    // A word or two the router cannot place ("one", "ok") is not a question for the documents.
    const substantive = route.queryType !== 'general' || (request.message.match(/[\p{L}\p{N}]+/gu) ?? []).length >= 3;
    const wantsPolicy = handoff || (!scheduleSearch && !statusOnly && substantive);
    const wantsFlight = !handoff && !scheduleSearch && (route.queryType === 'flight_status' || route.queryType === 'both') && route.flight !== null;
    const policyQuery = handoff ? HANDOFF_QUERY : searchText;

    const [policy, flight] = await Promise.all([
      wantsPolicy ? this.policyGuard.run((s) => this.options.policy.search(policyQuery, this.k, s), signal) : null,
      wantsFlight && route.flight ? this.flightGuard.run((s) => this.options.flight.getFlightContext(route.flight!, s), signal) : null,
    ]);

    const passages: ContextPassage[] = [];
    const result: AssembledContext = {
      queryType,
      focus,
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
        const facts = this.flightFacts(query, flight.value);
        result.dataVersions.flight = facts.version;
        passages.push(this.passage(passages.length + 1, 'flight', flightPassageTitle(query.flight_no), facts.text, source, flight.value ? 1 : 0, 'flight-status'));
      } else {
        result.degraded.flight = { reason: flight.reason, detail: flight.detail };
        passages.push(
          this.passage(passages.length + 1, 'flight', flightPassageTitle(query.flight_no), flightUnavailableText(query, this.airline), source, 0, 'flight-status'),
        );
      }
    }

    if (scheduleSearch && schedule) {
      const found = schedule.search(scheduleSearch.origin, scheduleSearch.destination, route.mentionedDate);
      const title = `Flights from ${found.origin.city} to ${found.destination.city}`;
      const source = `flight-schedule/${found.origin.iata}-${found.destination.iata}/${found.date ?? 'next'}`;
      result.dataVersions.flight = contentHash({ source, found });
      passages.push(this.passage(passages.length + 1, 'schedule', title, routePassageText(found, this.airline), source, found.flights.length > 0 ? 1 : 0, 'flight-schedule'));
    }

    if (policy) {
      if (policy.status === 'ok') {
        const hits = this.relevant(policy.value);
        for (const hit of hits) {
          passages.push(this.passage(passages.length + 1, 'policy', hit.title, hit.snippet, hit.source, hit.score, hit.category));
        }
        const used = passages.filter((p) => p.kind === 'policy').map((p) => [p.source, p.title, p.text]);
        // Arrays of strings: their JSON is already canonical (no keys to sort), and hashing it
        // directly gives the hash contentHash(used) gives, without the sorted copy.
        result.dataVersions.policy = contentHash(JSON.stringify(used));
      } else {
        result.degraded.policy = { reason: policy.reason, detail: policy.detail };
      }
      // Which column of a fee or allowance table applies: the route class of the flight or the
      // place the question names, from the timetable.
      // The follow-up's own place ("and for a domestic flight?") wins over the one carried over.
      const trip = schedule ? (schedule.routeClassIn(request.message) ?? this.tripFacts(schedule, searchText, route)) : null;
      if (trip) passages.push(this.passage(passages.length + 1, 'trip', 'Trip details', `${trip}.`, trip.startsWith('Flight') && route.flight ? `flight-schedule/${route.flight.flight_no}` : 'flight-schedule/route-class', 1, 'trip-details'));
    }
    return result;
  }

  /** A place named in the question wins over the flight on file (the question may be about another trip). */
  private tripFacts(schedule: ScheduleSearch, text: string, route: ReturnType<typeof routeQuery>): string | null {
    if (route.flightFrom === 'message' && route.flight) return schedule.flightClass(route.flight.flight_no);
    return schedule.routeClassIn(text) ?? (route.flight ? schedule.flightClass(route.flight.flight_no) : null);
  }

  /** The best `k` hits, without those far weaker than the best one. */
  private relevant(hits: readonly PolicyHit[]): PolicyHit[] {
    const sorted = [...hits].sort((a, b) => b.score - a.score).slice(0, this.k);
    const best = sorted[0]?.score ?? 0;
    return best > 0 ? sorted.filter((h) => h.score >= best * this.minRelativeScore) : sorted;
  }

  /**
   * A flight record's data version (`contentHash` of the lookup and the record: stable across
   * processes, for the answer cache) and its passage text, remembered by the record's content:
   * most turns ask about a flight whose record has not changed since the turn before, and the
   * canonical JSON, its hash and the dates in words were each turn's work. The key is the whole
   * record, so a record that changed (a new status, a delay) is a new key: never a stale entry.
   */
  private flightFacts(query: FlightQuery, record: FlightContext | null): FlightFacts {
    const key = JSON.stringify([query, record]);
    let facts = this.flightFactsByContent.get(key);
    if (!facts) {
      facts = {
        version: contentHash({ query, flight: record }),
        text: record ? flightPassageText(record) : flightNotFoundText(query, this.airline),
      };
      this.flightFactsByContent.set(key, facts);
    }
    return facts;
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

/** Words that ask for the timetable of a route rather than a rule about it. */
const SCHEDULE_QUESTION =
  /\b(?:next|first|last|earliest|latest|morning|evening|afternoon|direct)\s+(?:\w+\s+)?flights?\b|\bflights?\s+(?:times?|schedule)\b|\bwhat\s+(?:flights|time)\b|\bwhen\s+(?:is|are|does|do|can)\s+(?:the\s+|a\s+|i\s+)?(?:next\s+)?(?:flights?|fly|it\s+leave)\b|\btimetable\b|\bschedule\b|\bany\s+flights\b|\bhow\s+(?:often|many\s+flights)\b|\bare\s+there\s+(?:any\s+)?flights\b|\bflights?\s+(?:from|between|to)\b|\b(?:vuelos?|vol|vols|flug|flüge|voo|voos)\b.*\b(?:a|à|nach|para|to)\b/i;

/** A flight question that also asks what the customer can do or get. */
const ASKS_BEYOND_STATUS =
  /\b(?:options?|alternatives?|what (?:can|should|do) (?:i|we) do|rights?|entitled|refund\w*|money|compensat\w*|vouchers?|meals?|hotel|rebook\w*|claim|check[\s-]?in|bags?|baggage)\b|\b(?:do|can|will|would)\s+(?:i|we)\s+(?:get|be|have)\b/i;

/** Topics of a rule rather than the timetable: "what time should I be at the gate for my flight to Fiji?" */
const RULE_TOPIC = /\b(?:gate|check[\s-]?in|bag\s?drop|board\w*|bags?|baggage|luggage|fees?|cost\w*|price|allow\w*|pets?|dogs?|cats?|seats?|refund\w*|visa|passport|compensat\w*)\b/i;

/** What a hand-off searches for: the contact options in the documents. */
const HANDOFF_QUERY = 'contact centre talk to a person phone live chat';

/** A destination without an origin: from Auckland, the hub, unless the destination is Auckland. */
function defaultOrigin(schedule: ScheduleSearch, destination: { iata: string }): NonNullable<ReturnType<ScheduleSearch['routeIn']>['origin']> {
  const hub = schedule.schedule.airport('AKL');
  return destination.iata === 'AKL' ? schedule.schedule.airport('WLG') : hub;
}

function status(result: Guarded<unknown> | null): SourceStatus {
  if (!result) return 'skipped';
  return result.status;
}
