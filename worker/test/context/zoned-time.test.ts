/** Local airport times ↔ instants across DST changes and the date line. */
import t from 'tap';
import { addDays, daysBetween, isCalendarDate, isoInZone, isoWeekdayOf, wallClock, zonedToInstant } from '../../src/context/index.js';

t.test('local time → instant → ISO with the local offset', async (t) => {
  const cases: Array<[string, string, string, string, string]> = [
    ['2026-03-05', '19:30', 'Pacific/Auckland', '2026-03-05T06:30:00.000Z', '2026-03-05T19:30:00+13:00'],
    ['2026-07-01', '07:00', 'Pacific/Auckland', '2026-06-30T19:00:00.000Z', '2026-07-01T07:00:00+12:00'],
    ['2026-03-05', '12:05', 'Pacific/Rarotonga', '2026-03-05T22:05:00.000Z', '2026-03-05T12:05:00-10:00'],
    ['2026-03-05', '09:00', 'Asia/Kolkata', '2026-03-05T03:30:00.000Z', '2026-03-05T09:00:00+05:30'],
    // New Zealand summer time ends 5 April 2026 03:00 → 02:00: 02:30 happens twice, the first is taken.
    ['2026-04-05', '02:30', 'Pacific/Auckland', '2026-04-04T13:30:00.000Z', '2026-04-05T02:30:00+13:00'],
    // …and starts 27 September 2026 02:00 → 03:00: 02:30 does not exist, it becomes 03:30.
    ['2026-09-27', '02:30', 'Pacific/Auckland', '2026-09-26T14:30:00.000Z', '2026-09-27T03:30:00+13:00'],
    ['2026-03-08', '02:30', 'America/Los_Angeles', '2026-03-08T10:30:00.000Z', '2026-03-08T03:30:00-07:00'],
    ['2026-11-01', '01:30', 'America/New_York', '2026-11-01T05:30:00.000Z', '2026-11-01T01:30:00-04:00'],
  ];
  for (const [date, time, zone, utc, local] of cases) {
    const instant = zonedToInstant(date, time, zone);
    t.strictSame([instant.toISOString(), isoInZone(instant, zone)], [utc, local], `${date} ${time} ${zone}`);
  }
});

t.test('wall clock, weekdays and date arithmetic', async (t) => {
  t.strictSame(wallClock(new Date('2026-03-05T11:30:00Z'), 'Pacific/Auckland'), { date: '2026-03-06', time: '00:30', isoWeekday: 5, offsetMinutes: 780 });
  t.equal(isoWeekdayOf('2026-03-05'), 4);
  t.equal(isoWeekdayOf('2026-03-08'), 7);
  t.equal(addDays('2026-02-27', 2), '2026-03-01');
  t.equal(addDays('2026-01-01', -1), '2025-12-31');
  t.equal(daysBetween('2026-03-05', '2026-03-12'), 7);
  t.equal(daysBetween('2026-03-29', '2026-03-28'), -1);
  t.strictSame(['2026-02-28', '2028-02-29', '2026-02-29', '2026-13-01', '26-01-01'].map(isCalendarDate), [true, true, false, false, false]);
});

t.test('the cached wall clock agrees with ICU, across DST changes and odd offsets', async (t) => {
  const { icuWallClock } = await import('../../src/context/zoned-time.js');
  const zones = ['Pacific/Auckland', 'Pacific/Chatham', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/New_York', 'Europe/London', 'Pacific/Rarotonga'];
  // Every 7 minutes and 13 seconds through the weeks around the 2026 transitions of these zones.
  const spans = [
    ['2026-03-06T00:00:00Z', '2026-04-07T00:00:00Z'],
    ['2026-09-25T00:00:00Z', '2026-11-03T00:00:00Z'],
  ];
  let mismatches = 0;
  let checked = 0;
  for (const [from, to] of spans) {
    for (let ms = Date.parse(from!); ms < Date.parse(to!); ms += 433_000) {
      for (const zone of zones) {
        const instant = new Date(ms);
        checked++;
        if (JSON.stringify(wallClock(instant, zone)) !== JSON.stringify(icuWallClock(instant, zone))) mismatches++;
      }
    }
  }
  t.equal(mismatches, 0, `all ${checked} readings agree`);
});
