/** Flight numbers and dates pulled out of messy customer text; "today" is Thursday 5 March 2026. */
import t from 'tap';
import { extractDate, extractFlightNumbers } from '../../src/context/index.js';

const TODAY = '2026-03-05';

t.test('flight numbers in the ways customers write them', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['flight NZ123 from Auckland to Sydney', ['NZ123']],
    ['hiii is nz 123 delayed tmrw??', ['NZ123']],
    ['NZ-0123 pls', ['NZ123']],
    ['whats the gate for NZ0123 on 5/3', ['NZ123']],
    ['FLT123 status pls', ['NZ123']],
    ['flight 123 on 5 March', ['NZ123']],
    ['Flight no. 5023 to Napier', ['NZ5023']],
    ['flight #8005', ['NZ8005']],
    ['flight number: 0421', ['NZ421']],
    ['ANZ123 is the callsign', ['NZ123']],
    ['what gate does nz１２３ leave from', ['NZ123'], ], // full-width digits
    ['NZ\u200B123 with a zero-width space', ['NZ123']],
    ['I am on NZ123 then NZ 5001 and back on nz124', ['NZ123', 'NZ5001', 'NZ124']],
    ['nz123 ... I said NZ 123', ['NZ123']],
    ['Is my flight QF25 delayed', ['QF25']],
    ['my connecting Flight JQ 201', ['JQ201']],
  ];
  for (const [text, expected] of cases) t.strictSame(extractFlightNumbers(text), expected, text);
});

t.test('numbers that are not flight numbers', async (t) => {
  const cases = [
    'I have 2 bags of 23kg, flight takes 3 hours',
    'NZ$150 for an extra bag?? that is a lot',
    'it costs NZD 150',
    'we are in NZ 3 days',
    'the flight 2 hours late',
    'flight at 10 tomorrow',
    'FLIGHT AT 10 TOMORROW',
    'flight on 12/3',
    'my flight 5 March',
    'I need help 24/7',
    'seat 23A please',
  ];
  for (const text of cases) t.strictSame(extractFlightNumbers(text), [], text);
});

t.test('dates: absolute, New Zealand day-first, month names, relative words', async (t) => {
  const cases: Array<[string, string | null]> = [
    ['nz123 on 2026-03-06', '2026-03-06'],
    ['2026/3/9 please', '2026-03-09'],
    ['NZ 123 on the 12/03/2026', '2026-03-12'],
    ['on 05.04.26', '2026-04-05'],
    ['whats the gate for NZ0123 on 5/3', '2026-03-05'],
    ['flight 123 on 5 March', '2026-03-05'],
    ['the 7th of march', '2026-03-07'],
    ['flight 123 on March 7th', '2026-03-07'],
    ['Mar 20, 2027', '2027-03-20'],
    ['5-Apr', '2026-04-05'],
    ['I fly on 28 Feb', '2026-02-28'],
    ['arriving 10 jan', '2027-01-10'],
    ['today', TODAY],
    ['is it on tonight', TODAY],
    ['hiii is nz 123 delayed tmrw??', '2026-03-06'],
    ['tomorrow morning', '2026-03-06'],
    ['the day after tomorrow', '2026-03-07'],
    ['yesterday', '2026-03-04'],
    ['in 3 days', '2026-03-08'],
    ['on friday', '2026-03-06'],
    ['this Thursday', TODAY],
    ['next thursday', '2026-03-12'],
    ['next tuesday', '2026-03-10'],
    ['Sunday', '2026-03-08'],
    ['flight on 31 February', null],
    ['I need help 24/7', null],
    ['a 1/2 price upgrade', null],
    ['no date here', null],
  ];
  for (const [text, expected] of cases) t.equal(extractDate(text, TODAY), expected, text);
});

t.test('the first date in the text wins', async (t) => {
  t.equal(extractDate('tomorrow, or else on 9 March', TODAY), '2026-03-06');
  t.equal(extractDate('on 9 March, not tomorrow', TODAY), '2026-03-09');
});
