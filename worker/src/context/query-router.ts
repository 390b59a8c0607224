import { normaliseFlightNumber } from './embedded-flight-source.js';
import { extractDate, extractFlightNumbers } from './flight-reference.js';
import type { FlightQuery } from './types.js';
import { isCalendarDate } from './zoned-time.js';
import type { SessionFlight } from '@chat/shared';

/**
 * Decides which context a message needs:
 *
 * - `flight_status`: the state of a flight (on time? delayed? gate? when does it leave?);
 * - `policy`: the airline's rules (baggage, refunds, pets, …);
 * - `both`: a flight's state and a rule about it ("my flight was cancelled, can I get a refund?",
 *   "can I take my dog on NZ 5023?");
 * - `general`: neither (greetings, thanks, "can you help me?").
 *
 * Status words that are also everyday words ("when does … leave", "arrive", "terminal") count
 * only when the message is about a flight: it names one, or says "my flight" / "the plane".
 * A flight number alone ("NZ123?", "what about nz 456 tmrw") asks for its status.
 */

export type QueryType = 'policy' | 'flight_status' | 'both' | 'general';

/**
 * The session's flight number as given at session creation (any case) and its travel date as the
 * client gave it (YYYY-MM-DD best; see `sessionTravelDate`); each null when none.
 */
export type { SessionFlight };

export interface RoutedQuery {
  queryType: QueryType;
  /** What to look up, or null when no flight is known (in the message or the session). */
  flight: FlightQuery | null;
  /** Where the flight number came from. */
  flightFrom: 'message' | 'session' | null;
  /** Flight numbers written in the message, in order. */
  mentionedFlights: string[];
  /** The date written in the message, resolved; null when none. */
  mentionedDate: string | null;
}

/** Statuses and events that only a flight has. */
const STRONG_STATUS =
  /\b(?:status|on[\s-]?time|delay(?:ed|s)?|running\s+late|behind\s+schedule|cancell?ed|gate|boarding(?!\s+pass)|board(?:ed|s)?\s+(?:yet|now|at)|landed|departed|take[\s-]?off|taken\s+off|taking\s+off|eta|etd|still\s+(?:going|flying|on|operating|scheduled)|has\s+it\s+(?:left|landed|gone))\b/i;
/** Everyday words that ask about a flight's state when a flight is in view. */
const WEAK_STATUS =
  /\b(?:when|what\s+time|what\s+gate|which\s+gate|which\s+terminal|what\s+terminal|depart(?:s|ing|ure)?|leav(?:e|es|ing)|arriv(?:e|es|ed|ing|al)|land(?:s|ing)?|late|on\s+schedule|schedule[d]?|gone|running|where\s+is|is\s+it\s+(?:on|going))\b/i;
/** The message is about a flight. */
const FLIGHT_IN_VIEW = /\b(?:my|our|the|this|that|his|her|their|me)\s+(?:flight|flights|plane|connection|connecting\s+flight|trip\s+home)\b|\bflight\b.*\?/i;

/** Topics of the policy documents, in customers' words. */
const POLICY =
  /\b(?:baggage|bags?|luggage|suitcases?|carry[\s-]?on|cabin\s+bag|hand\s+luggage|kg|kgs|kilos?|weigh(?:t|s)?|overweight|allowance|excess|fees?|costs?|charges?|price|pay|how\s+much|refund(?:s|ed)?|money\s+back|credits?|vouchers?|compensat\w*|entitle\w*|claim\w*|reimburs\w*|owed|what\s+(?:do|can|will)\s+(?:i|we)\s+get|rebook\w*|chang(?:e|ing)\s+(?:my|our|the)?\s*(?:flight|booking|date|name|seat)|reschedul\w*|cancel(?:lation)?\s+(?:my|our|the|a)\s+(?:booking|ticket|flight|trip)|cancellation\s+policy|pets?|dogs?|cats?|puppy|kitten|animals?|assistance|wheelchair|mobility|disab\w*|blind|deaf|minors?|alone|unaccompanied|child(?:ren)?|kids?|son|daughter|infants?|bab(?:y|ies)|toddler|year[\s-]?old|pregnan\w*|medical|oxygen|surgery|dangerous|batter(?:y|ies)|lithium|power\s?banks?|vapes?|e[\s-]?cig\w*|lighters?|aerosols?|liquids?|alcohol|firearms?|guns?|loyalty|kea|points|tier|lounge|seats?|upgrades?|legroom|exit\s+row|lost|missing|damaged|broken|privacy|personal\s+(?:data|information)|passports?|visas?|esta|nzeta|documents?|check[\s-]?in|cut[\s-]?off|how\s+early|policy|policies|rules?|allowed|permitted|can\s+(?:i|we)\s+(?:bring|take|carry|fly|travel|pack)|sports?\s+equipment|surfboards?|skis?|bikes?|bicycles?|golf|instruments?|meals?|hotel|accommodation|missed\s+(?:my\s+)?(?:flight|connection)|left\s+(?:my|our|something|an?)\b|lost\s+property)\b/i;

/**
 * Routes a message. `today` is the airline's date (YYYY-MM-DD) for relative dates ("tomorrow").
 *
 * The flight to look up: the first flight number in the message, else the session's. The date:
 * the one in the message, else the session's when the flight is the session's flight, else none
 * (the flight's current or next occurrence).
 */
export function routeQuery(message: string, session: SessionFlight, today: string): RoutedQuery {
  const mentionedFlights = extractFlightNumbers(message);
  const mentionedDate = extractDate(message, today);
  const sessionFlight = session.flight_no ? normaliseFlightNumber(session.flight_no) : null;
  const sessionDate = session.date ? sessionTravelDate(session.date, today) : null;

  let flight: FlightQuery | null = null;
  let flightFrom: RoutedQuery['flightFrom'] = null;
  const named = mentionedFlights[0];
  if (named) {
    flightFrom = 'message';
    const date = mentionedDate ?? (named === sessionFlight ? sessionDate : null);
    flight = date ? { flight_no: named, date } : { flight_no: named };
  } else if (sessionFlight) {
    flightFrom = 'session';
    const date = mentionedDate ?? sessionDate;
    flight = date ? { flight_no: sessionFlight, date } : { flight_no: sessionFlight };
  }

  return { queryType: classifyQuery(message, mentionedFlights.length > 0), flight, flightFrom, mentionedFlights, mentionedDate };
}

/**
 * The session's date as YYYY-MM-DD, or null when it does not read as a date. The original service
 * took any string, so clients send `2025-01-17`, `2025-01-17T09:30:00Z`, `17/01/2025` or
 * `17 January 2025`: parse those; what does not parse stays in the session as given (the model
 * sees it among the session facts) but is not used for a lookup.
 */
export function sessionTravelDate(raw: string, today: string): string | null {
  const text = raw.trim();
  if (isCalendarDate(text)) return text;
  const isoPrefix = /^(\d{4}-\d{2}-\d{2})T/.exec(text);
  if (isoPrefix && isCalendarDate(isoPrefix[1]!)) return isoPrefix[1]!;
  return extractDate(text, today);
}

/** The query type from the words alone (see the module comment). */
export function classifyQuery(message: string, namesFlight: boolean): QueryType {
  const text = message.normalize('NFKC');
  const inView = namesFlight || FLIGHT_IN_VIEW.test(text);
  const status = STRONG_STATUS.test(text) || (inView && WEAK_STATUS.test(text));
  const policy = POLICY.test(text);
  if (status && policy) return 'both';
  if (status) return 'flight_status';
  if (policy) return namesFlight ? 'both' : 'policy';
  return namesFlight ? 'flight_status' : 'general';
}
