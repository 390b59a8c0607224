/**
 * Wall-clock times in IANA time zones, with Node's built-in ICU (no date library): flight times
 * are local to their airport, and "today" is the airline's home date.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock of an instant in a time zone. */
export interface WallClock {
  /** YYYY-MM-DD */
  date: string;
  /** HH:MM */
  time: string;
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  isoWeekday: number;
  /** Offset from UTC in minutes (+780 for NZDT). */
  offsetMinutes: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/**
 * A zone's UTC offset only changes at its transitions, and those fall on whole quarter hours of
 * UTC (every offset in use is a multiple of 15 minutes, and transitions happen on a local whole
 * or half hour). So the offset read once for a quarter hour of UTC holds for all of it, and the
 * wall clock is then plain arithmetic. This matters: one flight lookup reads the wall clock
 * dozens of times (ten days of candidates, four zone conversions each), and ICU's
 * `formatToParts` was the worker's most expensive context step under load.
 */
const OFFSET_BUCKET_MS = 15 * 60_000;
/** Offsets kept; the cache is dropped whole when full (a few hundred are in use at a time). */
const OFFSET_CACHE_MAX = 4096;
const offsets = new Map<string, number>();

/** Offset from UTC in minutes of `timeZone` at `ms`, through the quarter-hour cache. */
function offsetMinutesAt(ms: number, timeZone: string): number {
  const key = `${timeZone}|${Math.floor(ms / OFFSET_BUCKET_MS)}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    offset = icuWallClock(new Date(ms), timeZone).offsetMinutes;
    if (offsets.size >= OFFSET_CACHE_MAX) offsets.clear();
    offsets.set(key, offset);
  }
  return offset;
}

export function wallClock(instant: Date, timeZone: string): WallClock {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) return icuWallClock(instant, timeZone); // let ICU report the bad date as before
  const offsetMinutes = offsetMinutesAt(ms, timeZone);
  // The wall clock is the instant shifted by the offset, read as UTC (seconds truncated, as ICU does).
  const local = new Date(Math.floor(ms / 1000) * 1000 + offsetMinutes * 60_000);
  const day = local.getUTCDay();
  return {
    date: `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`,
    time: `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`,
    isoWeekday: day === 0 ? 7 : day,
    offsetMinutes,
  };
}

/** The wall clock as ICU reads it: the reference the cached path is built on. */
export function icuWallClock(instant: Date, timeZone: string): WallClock {
  const parts: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) parts[part.type] = part.value;
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const wholeSeconds = Math.floor(instant.getTime() / 1000) * 1000;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}`,
    isoWeekday: WEEKDAYS[parts.weekday ?? ''] ?? 0,
    offsetMinutes: Math.round((asUtc - wholeSeconds) / 60_000),
  };
}

/**
 * The instant at which the wall clock in `timeZone` reads `date` `time`. In a spring-forward gap
 * the time is moved forward by the gap; in a fall-back overlap the earlier instant is chosen.
 */
export function zonedToInstant(date: string, time: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const [hh, mm] = time.split(':').map(Number) as [number, number];
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  // The offsets a day before and a day after cover both sides of any transition that day.
  const before = wall - wallClock(new Date(wall - 86_400_000), timeZone).offsetMinutes * 60_000;
  const after = wall - wallClock(new Date(wall + 86_400_000), timeZone).offsetMinutes * 60_000;
  const matching = [before, after].filter((ms) => wallClockMatches(ms, date, time, timeZone));
  // Overlap: both match, take the earlier. Gap: neither does; the offset from before the gap
  // lands the same distance past it (02:30 in a 02:00→03:00 gap is 03:30).
  return new Date(matching.length > 0 ? Math.min(...matching) : before);
}

function wallClockMatches(ms: number, date: string, time: string, timeZone: string): boolean {
  const clock = wallClock(new Date(ms), timeZone);
  return clock.date === date && clock.time === time;
}

/** ISO 8601 with the zone's offset, minute precision: `2026-03-05T09:30:00+13:00`. */
export function isoInZone(instant: Date, timeZone: string): string {
  const clock = wallClock(instant, timeZone);
  const sign = clock.offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(clock.offsetMinutes);
  const offset = `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return `${clock.date}T${clock.time}:00${offset}`;
}

/** YYYY-MM-DD plus `days` (calendar arithmetic, no time zone involved). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (both YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  const parse = (s: string) => {
    const [y, m, d] = s.split('-').map(Number) as [number, number, number];
    return Date.UTC(y, m - 1, d);
  };
  return Math.round((parse(to) - parse(from)) / 86_400_000);
}

/** ISO weekday (1 = Monday) of a calendar date. */
export function isoWeekdayOf(date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return day === 0 ? 7 : day;
}

/** Whether `date` is a real calendar date in YYYY-MM-DD form. */
export function isCalendarDate(date: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return false;
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const parsed = new Date(Date.UTC(y, m - 1, d));
  return parsed.getUTCFullYear() === y && parsed.getUTCMonth() === m - 1 && parsed.getUTCDate() === d;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
