import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { flightNotFoundText, flightPassageText, flightPassageTitle } from '../context/flight-passage.js';
import { extractDate, extractFlightNumbers } from '../context/flight-reference.js';
import { routePassageText, type ScheduleSearch } from '../context/schedule-search.js';
import type { FlightSource, PolicySource } from '../context/types.js';
import { neutraliseTitle, neutraliseUntrustedText } from '../context/untrusted-text.js';

/**
 * The tools the model is offered (OpenAI function tools) and their bodies: the same sources the
 * context layer reads. Every tool is a read: no tool changes a booking, so the only cost of
 * running one twice is time; the turn's tool log (`tool-log.ts`) still keeps results so a
 * retried turn answers from what the tool returned the first time.
 *
 * A result is passage lines, `[n] Title: text`, numbered after the prompt's own passages, so
 * the model cites tool results as it cites passages. Texts are neutralised like every passage.
 */

export const TOOL_DEFINITIONS: readonly ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_flight_status',
      description: 'Status, times, gate and check-in cut-off of one Aotearoa Air flight on a date (or its next departure).',
      parameters: {
        type: 'object',
        properties: {
          flight_no: { type: 'string', description: 'Flight number, e.g. NZ123' },
          date: { type: 'string', description: 'Local departure date, YYYY-MM-DD, or a word like "today" or "tomorrow"; omit for the next departure' },
        },
        required: ['flight_no'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'search_schedule',
      description: 'Aotearoa Air flights between two places on a date, or the next departures.',
      parameters: {
        type: 'object',
        properties: {
          origin: { type: 'string', description: 'City or airport code; default Auckland' },
          destination: { type: 'string', description: 'City or airport code' },
          date: { type: 'string', description: 'YYYY-MM-DD or "tomorrow"; omit for the next departures' },
        },
        required: ['destination'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'search_policies',
      description: "Search the airline's policy documents (baggage, check-in, changes, refunds, delays, pets, assistance, contact options).",
      parameters: {
        type: 'object',
        properties: { query: { type: 'string', description: 'What to look for, in the customer\u2019s words' } },
        required: ['query'],
        additionalProperties: false,
      },
    },
  },
];

export interface AssistantToolsOptions {
  policy: PolicySource;
  flight: FlightSource;
  /** The timetable by route; without it `search_schedule` says it is unavailable. */
  schedule?: ScheduleSearch | undefined;
  /** The airline's date, YYYY-MM-DD, for "today" / "tomorrow". */
  today: () => string;
  airline?: string;
  /** Policy passages per search; default 3. */
  k?: number;
}

/** One tool result as passages. */
export interface ToolPassage {
  title: string;
  text: string;
}

export class AssistantTools {
  constructor(private readonly options: AssistantToolsOptions) {}

  /** Runs one call; never throws for bad arguments or a failed source (the result says so). */
  async run(name: string, argumentsJson: string, signal?: AbortSignal): Promise<ToolPassage[]> {
    let args: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(argumentsJson || '{}');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      args = parsed as Record<string, unknown>;
    } catch {
      return [{ title: 'Tool error', text: `The arguments of ${neutraliseTitle(name)} were not a JSON object.` }];
    }
    const text = (key: string) => (typeof args[key] === 'string' ? (args[key] as string).slice(0, 500) : undefined);
    const airline = this.options.airline ?? 'Aotearoa Air';
    try {
      switch (name) {
        case 'get_flight_status': {
          const flightNo = extractFlightNumbers(text('flight_no') ?? '')[0];
          if (!flightNo) return [{ title: 'Flight status', text: 'No valid flight number was given.' }];
          const date = this.date(text('date'));
          const query = date ? { flight_no: flightNo, date } : { flight_no: flightNo };
          const flight = await this.options.flight.getFlightContext(query, signal);
          return [{ title: flightPassageTitle(flightNo), text: flight ? flightPassageText(flight) : flightNotFoundText(query, airline) }];
        }
        case 'search_schedule': {
          const schedule = this.options.schedule;
          if (!schedule) return [{ title: 'Flight schedule', text: 'The timetable cannot be searched here; please check the timetable on our website.' }];
          const destination = schedule.airportsIn(text('destination') ?? '')[0];
          const origin = schedule.airportsIn(text('origin') ?? 'Auckland')[0] ?? schedule.schedule.airport('AKL');
          if (!destination) return [{ title: 'Flight schedule', text: `No ${airline} airport matches "${neutraliseUntrustedText(text('destination') ?? '', 80).text}".` }];
          const found = schedule.search(origin, destination, this.date(text('date')) ?? null);
          return [{ title: `Flights from ${found.origin.city} to ${found.destination.city}`, text: routePassageText(found, airline) }];
        }
        case 'search_policies': {
          const hits = await this.options.policy.search(text('query') ?? '', this.options.k ?? 3, signal);
          if (hits.length === 0) return [{ title: 'Policy search', text: 'No policy section matches the query.' }];
          return hits.map((h) => ({ title: h.title, text: h.snippet }));
        }
        default:
          return [{ title: 'Tool error', text: `There is no tool named ${neutraliseTitle(name).slice(0, 60)}.` }];
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      return [{ title: 'Tool error', text: `The ${name} lookup failed just now; do not guess what it would have returned.` }];
    }
  }

  private date(raw: string | undefined): string | undefined {
    if (!raw) return undefined;
    if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) return raw;
    return extractDate(raw, this.options.today()) ?? undefined;
  }
}

/** Tool passages as prompt lines, numbered from `first`. */
export function toolResultText(passages: readonly ToolPassage[], first: number): string {
  return passages
    .map((p, i) => `[${first + i}] ${neutraliseTitle(p.title) || 'Result'}: ${neutraliseUntrustedText(p.text, 1500).text || '(empty)'}`)
    .join('\n');
}
