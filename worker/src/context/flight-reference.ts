import { addDays, isCalendarDate, isoWeekdayOf } from './zoned-time.js';

/**
 * Finds the flight number and the travel date a customer wrote, in messy text: "NZ 123",
 * "nz0123", "flight 123", "flt#123", "2026-03-05", "5/3", "5th of March", "March 5", "tmrw",
 * "on Friday", "in 3 days". The airline's own flights may be written without the code
 * ("flight 123" → NZ123); another airline's number is kept only after the word "flight".
 */

/** Text folded for matching: NFKC (full-width digits and letters), invisible characters removed. */
function fold(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u00AD\u200B-\u200F\u2060-\u2064\uFEFF]/g, '')
    .replace(/[\u2010-\u2015\u2212]/g, '-');
}

/** Words after a number that mean it is not a flight number. */
const NOT_A_FLIGHT_AFTER =
  /^\s*(?:kg|kgs|kilos?|g|lbs?|pounds?|hours?|hrs?|h\b|mins?|minutes?|days?|weeks?|months?|years?|yrs?|am\b|pm\b|%|nzd|aud|usd|dollars?|bags?|people|passengers?|pax|seats?|[:.,]\d|\/\d|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)/i;

/** NZ123, NZ 123, nz-0123, ANZ123 (the ICAO code): the airline's own. */
const OWN_CODE = /(?<![A-Za-z0-9])A?NZ\s?[-#]?\s?0*([1-9]\d{0,3})(?![\d])/gi;
/** "flight 123", "flt no. 123", "flight #123", "flight number: 0123". */
const FLIGHT_WORD_NUMBER = /\b(?:flight|flt|fl)\.?\s*(?:(?:no|num|number)\.?\s*)?[#:]?\s*0*([1-9]\d{0,3})(?![\d])/gi;
/** "flight QF25", "Flight JQ 201": another airline's code, upper-case, right after the word "flight". */
const FLIGHT_WORD_OTHER_CODE = /\b[Ff](?:LIGHT|light)\s+([A-Z][A-Z0-9]|[0-9][A-Z])\s?-?([1-9]\d{0,3})(?![\d])/g;
/** Upper-case words that look like airline codes after "flight" ("FLIGHT AT 10"). */
const NOT_A_CODE = new Set('AT ON TO IN IS OF NO OR IT MY BY UP AN AM PM AS IF SO WE US HE ME BE DO GO ID OK'.split(' '));

/** The airline's own code. */
const AIRLINE_CODE = 'NZ';

/** Flight numbers in the order they appear, normalised (`NZ123`), without repeats. */
export function extractFlightNumbers(text: string): string[] {
  const folded = fold(text);
  const found: Array<{ index: number; flightNo: string }> = [];
  const accept = (index: number, end: number, flightNo: string) => {
    if (NOT_A_FLIGHT_AFTER.test(folded.slice(end, end + 12))) return;
    found.push({ index, flightNo });
  };
  for (const m of folded.matchAll(OWN_CODE)) accept(m.index, m.index + m[0].length, `${AIRLINE_CODE}${m[1]}`);
  for (const m of folded.matchAll(FLIGHT_WORD_NUMBER)) accept(m.index, m.index + m[0].length, `${AIRLINE_CODE}${m[1]}`);
  for (const m of folded.matchAll(FLIGHT_WORD_OTHER_CODE)) {
    const code = m[1]!.toUpperCase();
    if (code === AIRLINE_CODE || NOT_A_CODE.has(code)) continue;
    accept(m.index, m.index + m[0].length, `${code}${m[2]}`);
  }
  found.sort((a, b) => a.index - b.index);
  return [...new Set(found.map((f) => f.flightNo))];
}

const MONTHS: Record<string, number> = {
  jan: 1, january: 1, feb: 2, february: 2, mar: 3, march: 3, apr: 4, april: 4, may: 5, jun: 6, june: 6,
  jul: 7, july: 7, aug: 8, august: 8, sep: 9, sept: 9, september: 9, oct: 10, october: 10, nov: 11, november: 11,
  dec: 12, december: 12,
};
const MONTH = '(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)';
const WEEKDAYS: Record<string, number> = {
  monday: 1, mon: 1, tuesday: 2, tues: 2, tue: 2, wednesday: 3, weds: 3, thursday: 4, thurs: 4, thur: 4,
  friday: 5, fri: 5, saturday: 6, sat: 6, sunday: 7, sun: 7,
};

interface DateRule {
  pattern: RegExp;
  resolve: (m: RegExpExecArray, today: string) => string | null;
}

const DATE_RULES: readonly DateRule[] = [
  // 2026-03-05, 2026/3/5
  { pattern: /\b(20\d{2})[-/.](\d{1,2})[-/.](\d{1,2})\b/gi, resolve: (m) => ymd(+m[1]!, +m[2]!, +m[3]!) },
  // 5/3/2026, 05.03.26 — New Zealand order, day first
  { pattern: /\b(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})\b/gi, resolve: (m) => ymd(fullYear(m[3]!), +m[2]!, +m[1]!) },
  // 5/3 after a word that introduces a date ("on 5/3", "for 12/4"); a bare "24/7" is not a date
  { pattern: /\b(?:on|for|from|until|date|dated|the)\s+(\d{1,2})\/(\d{1,2})\b(?![/.]\d)/gi, resolve: (m, t) => nearest(+m[2]!, +m[1]!, t) },
  // 5 March, 5th of March 2026, 5-Mar
  {
    pattern: new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?(?:\\s+of)?[\\s-]+${MONTH}\\.?(?:,?[\\s-]+(\\d{4}))?\\b`, 'gi'),
    resolve: (m, t) => withYear(+m[1]!, MONTHS[m[2]!.toLowerCase()]!, m[3], t),
  },
  // March 5, Mar 5th, 2026
  {
    pattern: new RegExp(`\\b${MONTH}\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?!\\s*(?:kg|am|pm|:|hours?|mins?))(?:,?\\s+(\\d{4}))?`, 'gi'),
    resolve: (m, t) => withYear(+m[2]!, MONTHS[m[1]!.toLowerCase()]!, m[3], t),
  },
  { pattern: /\b(?:the\s+)?day\s+after\s+(?:tomorrow|tmrw|tmr)\b/gi, resolve: (_m, t) => addDays(t, 2) },
  { pattern: /\b(?:tomorrow|tomorow|tmrw|tmr|tmw|2moro|2morrow)\b/gi, resolve: (_m, t) => addDays(t, 1) },
  { pattern: /\b(?:today|tonight|tonite|this\s+(?:morning|afternoon|evening))\b/gi, resolve: (_m, t) => t },
  { pattern: /\byesterday\b/gi, resolve: (_m, t) => addDays(t, -1) },
  { pattern: /\bin\s+(\d{1,2}|a|one|two|three|four|five|six|seven)\s+days?\b/gi, resolve: (m, t) => addDays(t, smallNumber(m[1]!)) },
  // on Friday, this fri, next Tuesday (the first one after today), Saturday
  {
    pattern: /\b(?:(next|this|on|coming)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday|tues|weds|thurs|fri)\b/gi,
    resolve: (m, t) => {
      const wanted = WEEKDAYS[m[2]!.toLowerCase()]!;
      const ahead = (wanted - isoWeekdayOf(t) + 7) % 7;
      return addDays(t, ahead === 0 && m[1]?.toLowerCase() === 'next' ? 7 : ahead);
    },
  },
];

/** The first date written in the text (YYYY-MM-DD), relative to `today` (YYYY-MM-DD); null when none. */
export function extractDate(text: string, today: string): string | null {
  const folded = fold(text);
  let best: { index: number; date: string } | null = null;
  for (const rule of DATE_RULES) {
    rule.pattern.lastIndex = 0;
    for (let m = rule.pattern.exec(folded); m; m = rule.pattern.exec(folded)) {
      const date = rule.resolve(m, today);
      if (date && (!best || m.index < best.index)) best = { index: m.index, date };
    }
  }
  return best?.date ?? null;
}

function ymd(y: number, m: number, d: number): string | null {
  const date = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  return isCalendarDate(date) ? date : null;
}

function fullYear(y: string): number {
  return y.length === 2 ? 2000 + Number(y) : Number(y);
}

function withYear(day: number, month: number, year: string | undefined, today: string): string | null {
  return year ? ymd(Number(year), month, day) : nearest(month, day, today);
}

/**
 * A day and month without a year: the first such date from 30 days ago on, so "5 March" is this
 * year's when it is near, and next year's once it is well past.
 */
function nearest(month: number, day: number, today: string): string | null {
  const year = Number(today.slice(0, 4));
  const earliest = addDays(today, -30);
  for (const y of [year - 1, year, year + 1]) {
    const date = ymd(y, month, day);
    if (date && date >= earliest) return date;
  }
  return null;
}

function smallNumber(word: string): number {
  const words: Record<string, number> = { a: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7 };
  return words[word.toLowerCase()] ?? Number(word);
}
