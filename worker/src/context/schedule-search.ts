import type { FlightSchedule, ScheduleAirport, ScheduledFlight, ServiceKind } from './flight-schedule.js';
import { flightOnDate } from './flight-status.js';
import { longDate } from './flight-passage.js';
import type { FlightContext } from './types.js';
import { addDays, daysBetween, wallClock } from './zoned-time.js';

/**
 * The bundled timetable read by route rather than by flight number: which airports a message
 * names ("from Auckland to Wellington", "flights to Sydney", "AKL-CHC"), the flights between
 * two of them on a date (or the next ones), and the route class of a destination or a flight in
 * the words of the policy tables ("Tasman and Pacific", "Domestic New Zealand"), so a question
 * about "a flight to Sydney" reads the right column of a fee or allowance table.
 */

export interface RouteMention {
  origin: ScheduleAirport | null;
  destination: ScheduleAirport | null;
}

export interface RouteSearchResult {
  origin: ScheduleAirport;
  destination: ScheduleAirport;
  /** The date asked for; null = the next departures from now. */
  date: string | null;
  flights: FlightContext[];
  /** The last date the schedule has data for, when the date asked for is after it. */
  beyondWindow: string | null;
}

/** Place names customers use for an airport that is not its city name. */
const ALIASES: Readonly<Record<string, string>> = {
  bali: 'DPS', denpasar: 'DPS', fiji: 'NAN', nadi: 'NAN', samoa: 'APW', tonga: 'TBU', nukualofa: 'TBU', 'cook islands': 'RAR',
  tahiti: 'PPT', 'new caledonia': 'NOU', vanuatu: 'VLI', 'los angeles': 'LAX', 'san francisco': 'SFO', 'new york': 'JFK',
  'hong kong': 'HKG', tokyo: 'NRT', japan: 'NRT', korea: 'ICN', taiwan: 'TPE', china: 'PVG', hawaii: 'HNL', 'gold coast': 'OOL',
  'norfolk island': 'NLK', 'palmerston north': 'PMR', 'new plymouth': 'NPL', whangarei: 'WRE', queenstown: 'ZQN',
};

/** Countries and regions: enough for a route class, not for a schedule search. */
const REGIONS: ReadonlyArray<[RegExp, ServiceKind]> = [
  [/\b(?:australia|australian|aussie|across the tasman|trans-?tasman|tasman)\b/i, 'tasman'],
  [/\b(?:pacific islands?|the islands|rarotonga|fiji|samoa|tonga|tahiti)\b/i, 'pacific'],
  [/\b(?:asia|america|americas|usa|united states|the states|us|canada|japan|china|singapore|korea|long[\s-]?haul)\b/i, 'long_haul'],
  [/\b(?:domestic|within new zealand|in new zealand|inside new zealand)\b/i, 'domestic'],
];

/** How the policy tables name each kind of service. */
const ROUTE_CLASS: Readonly<Record<ServiceKind, string>> = {
  domestic: 'Domestic New Zealand flights (domestic)',
  regional: 'Domestic New Zealand flights (domestic)',
  tasman: 'Tasman and Pacific flights (international)',
  pacific: 'Tasman and Pacific flights (international)',
  long_haul: 'Asia and the Americas flights (international, long-haul)',
};

const TURBOPROPS = /\b(?:ATR|Dash)\b/i;

function fold(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').replace(/[ʻ'’]/g, '').toLowerCase();
}

export class ScheduleSearch {
  /** Folded place name → airport, longest names first so "new york" wins over "york". */
  private readonly names: ReadonlyArray<{ name: string; pattern: RegExp; airport: ScheduleAirport }>;
  private readonly serviceTo = new Map<string, ServiceKind>();

  constructor(
    readonly schedule: FlightSchedule,
    private readonly now: () => Date = () => new Date(),
  ) {
    const names = new Map<string, ScheduleAirport>();
    for (const airport of Object.values(schedule.file.airports)) {
      const city = fold(airport.city).replace(/\s*\(.*\)$/, '');
      if (!names.has(city)) names.set(city, airport);
    }
    for (const [name, iata] of Object.entries(ALIASES)) {
      const airport = schedule.file.airports[iata];
      if (airport) names.set(name, airport);
    }
    this.names = [...names.entries()]
      .sort((a, b) => b[0].length - a[0].length)
      .map(([name, airport]) => ({ name, airport, pattern: new RegExp(`(?<![\\p{L}])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}])`, 'gu') }));
    for (const flight of schedule.flights()) {
      for (const iata of [flight.origin, flight.destination]) {
        if (iata === 'AKL') continue;
        const known = this.serviceTo.get(iata);
        // A city served by jets and turboprops is a jet destination for the tables' purposes.
        if (!known || known === 'regional') this.serviceTo.set(iata, flight.service);
      }
    }
  }

  /** Airports named in the text, in order of appearance (city names, aliases, upper-case IATA codes). */
  airportsIn(text: string): ScheduleAirport[] {
    const folded = fold(text);
    const found: Array<{ index: number; end: number; airport: ScheduleAirport }> = [];
    const taken = (index: number, end: number) => found.some((f) => index < f.end && end > f.index);
    for (const { pattern, airport } of this.names) {
      pattern.lastIndex = 0;
      for (const m of folded.matchAll(pattern)) {
        const end = m.index + m[0].length;
        if (!taken(m.index, end)) found.push({ index: m.index, end, airport });
      }
    }
    for (const m of text.matchAll(/\b([A-Z]{3})\b/g)) {
      const airport = this.schedule.file.airports[m[1]!];
      if (airport && !taken(m.index, m.index + 3)) found.push({ index: m.index, end: m.index + 3, airport });
    }
    found.sort((a, b) => a.index - b.index);
    const out: ScheduleAirport[] = [];
    for (const f of found) if (!out.some((a) => a.iata === f.airport.iata)) out.push(f.airport);
    return out;
  }

  /**
   * Origin and destination written in the text: "from X to Y", "to Y from X", "X to Y",
   * "between X and Y", "X-Y"; a single place after "to" / "for" is a destination, after "from"
   * an origin.
   */
  routeIn(text: string): RouteMention {
    const folded = fold(text);
    const airports = this.airportsIn(text);
    if (airports.length === 0) return { origin: null, destination: null };
    const roleOf = (airport: ScheduleAirport): 'origin' | 'destination' | null => {
      const names = [fold(airport.city).replace(/\s*\(.*\)$/, ''), airport.iata.toLowerCase(), ...Object.entries(ALIASES).filter(([, i]) => i === airport.iata).map(([n]) => n)];
      for (const name of names) {
        const at = folded.indexOf(name);
        if (at === -1) continue;
        const before = folded.slice(Math.max(0, at - 14), at);
        if (/\b(?:from|leaving|out of|departing)\s+$/.test(before)) return 'origin';
        if (/(?:\bto|\bfor|\binto|\btowards|\breach|\bget to|\bfly to|-|–|>)\s*$/.test(before)) return 'destination';
      }
      return null;
    };
    let origin: ScheduleAirport | null = null;
    let destination: ScheduleAirport | null = null;
    for (const airport of airports) {
      const role = roleOf(airport);
      if (role === 'origin' && !origin) origin = airport;
      else if (role === 'destination' && !destination) destination = airport;
    }
    const rest = airports.filter((a) => a !== origin && a !== destination);
    if (!origin && !destination && rest.length >= 2) return { origin: rest[0]!, destination: rest[1]! };
    if (!destination && rest.length > 0 && origin) destination = rest[0]!;
    if (!origin && rest.length > 0 && destination) origin = rest[0]!;
    if (!origin && !destination && rest.length === 1) destination = rest[0]!;
    return { origin, destination };
  }

  /** The route class of a destination (or region) named in the text, in the tables' words; null when none. */
  routeClassIn(text: string): string | null {
    const { origin, destination } = this.routeIn(text);
    const place = destination && destination.iata !== 'AKL' ? destination : origin && origin.iata !== 'AKL' ? origin : destination;
    if (place) return `Flights to ${place.city} (${place.iata}) are ${ROUTE_CLASS[this.serviceOf(place)]}`;
    for (const [pattern, service] of REGIONS) if (pattern.test(text)) return `These are ${ROUTE_CLASS[service]}`;
    return null;
  }

  /** A New Zealand airport is domestic whatever else flies there (Queenstown has Tasman flights too). */
  private serviceOf(airport: ScheduleAirport): ServiceKind {
    if (airport.country === 'New Zealand') return 'domestic';
    return this.serviceTo.get(airport.iata) ?? 'long_haul';
  }

  /** The route class and aircraft kind of one flight, in the tables' words; null for an unknown flight. */
  flightClass(flightNo: string): string | null {
    const flight = this.schedule.flight(flightNo);
    if (!flight) return null;
    const to = this.schedule.airport(flight.destination).city;
    const from = this.schedule.airport(flight.origin).city;
    const domestic = flight.service === 'domestic' || flight.service === 'regional';
    const kind = !domestic
      ? ROUTE_CLASS[flight.service]
      : TURBOPROPS.test(flight.aircraft)
        ? `${ROUTE_CLASS.regional}, on a domestic regional turboprop`
        : `${ROUTE_CLASS.domestic}, on a domestic jet`;
    return `Flight ${flight.flight_no} (${from} to ${to}) is one of our ${kind}, operated by ${/^[aeiou]/i.test(flight.aircraft) ? 'an' : 'a'} ${flight.aircraft}`;
  }

  /**
   * Flights from `origin` to `destination` (every airport of each city): on `date`, or the next
   * departures from now (up to `limit`) when `date` is null.
   */
  search(origin: ScheduleAirport, destination: ScheduleAirport, date: string | null, limit = 3): RouteSearchResult {
    const now = this.now();
    const model = this.schedule.statusModel;
    const today = wallClock(now, model.home_time_zone).date;
    const result: RouteSearchResult = { origin, destination, date, flights: [], beyondWindow: null };
    const lastDate = addDays(today, model.window_days.future);
    if (date && daysBetween(today, date) > model.window_days.future) {
      result.beyondWindow = lastDate;
      return result;
    }
    const legs = [...this.schedule.flights()].filter((f) => this.sameCity(f.origin, origin) && this.sameCity(f.destination, destination));
    const onDate = (d: string) =>
      legs
        .map((f) => flightOnDate(this.schedule, f, d, now))
        .filter((f): f is FlightContext => f !== null)
        .sort((a, b) => Date.parse(a.scheduled_departure) - Date.parse(b.scheduled_departure));
    if (date) {
      result.flights = onDate(date);
      return result;
    }
    for (let d = 0; d <= 7 && result.flights.length < limit; d++) {
      for (const f of onDate(addDays(today, d))) {
        const leaves = Date.parse(f.estimated_departure ?? f.scheduled_departure);
        if (leaves > now.getTime() && f.status !== 'cancelled') result.flights.push(f);
        if (result.flights.length >= limit) break;
      }
    }
    return result;
  }

  /** The airports of the schedule that serve a city. */
  private sameCity(iata: string, airport: ScheduleAirport): boolean {
    return iata === airport.iata || this.schedule.airport(iata).city === airport.city;
  }

  /** Unused legs are fine: a route with no direct flight answers with none. */
  hasRoute(origin: ScheduleAirport, destination: ScheduleAirport): boolean {
    return [...this.schedule.flights()].some((f: ScheduledFlight) => this.sameCity(f.origin, origin) && this.sameCity(f.destination, destination));
  }
}

/** The passage for a route search: each flight on one line-free sentence, local times. */
export function routePassageText(result: RouteSearchResult, airline: string): string {
  const route = `from ${result.origin.city} (${result.origin.iata}) to ${result.destination.city} (${result.destination.iata})`;
  if (result.beyondWindow) {
    return (
      `The ${airline} schedule can only be searched up to ${longDate(result.beyondWindow)}, so flights ${route} on ${longDate(result.date!)} ` +
      'cannot be listed yet. Please search again closer to the date, or check the timetable on our website.'
    );
  }
  if (result.flights.length === 0) {
    return result.date
      ? `There is no direct ${airline} flight ${route} on ${longDate(result.date)}. Flights on other days, or connections through Auckland, may be available.`
      : `There is no direct ${airline} flight ${route} in the schedule. Connections through Auckland may be available.`;
  }
  const describe = (f: FlightContext) => {
    const dep = (f.estimated_departure ?? f.scheduled_departure).slice(11, 16);
    const arr = (f.estimated_arrival ?? f.scheduled_arrival).slice(11, 16);
    const state = f.status === 'delayed' ? `, delayed by ${f.delay_minutes} minutes` : f.status === 'cancelled' ? ', cancelled' : f.status === 'on_time' ? ', on time' : '';
    return `${f.flight_no} departing ${result.date ? '' : `${longDate(f.date)} `}at ${dep} and arriving at ${arr} local time${state}`;
  };
  const [first, ...others] = result.flights;
  if (result.date) {
    return `${airline} flights ${route} on ${longDate(result.date)}: ${result.flights.map(describe).join('; ')}.`;
  }
  const more = others.length > 0 ? ` After that: ${others.map(describe).join('; ')}.` : '';
  return `The next ${airline} flight ${route} is ${describe(first!)}.${more}`;
}
