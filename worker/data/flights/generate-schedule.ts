/**
 * Generates `schedule.json`: Aotearoa Air's (fictional) timetable — several hundred flight
 * numbers between real airports — from the route table below and a seeded PRNG, so the output
 * is the same on every run. Statuses (delays, cancellations, boarding, landed) are not stored:
 * the worker derives them per flight and date from `status_model` (worker/src/context/flight-status.ts).
 *
 *   cd /work/main && npx tsx worker/data/flights/generate-schedule.ts   # rewrites schedule.json
 *   npx tsx worker/data/flights/generate-schedule.ts /tmp/check.json     # writes elsewhere (the test compares)
 *
 * Edit the tables, re-run, commit both files. Flight numbers are allocated per route: the
 * flight leaving the first airport of a route gets an odd number, its return the next even one.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SEED = 0x4e5a_0123; // "NZ" 0123
const OUTPUT = process.argv[2] ?? fileURLToPath(new URL('./schedule.json', import.meta.url));

type Service = 'domestic' | 'regional' | 'tasman' | 'pacific' | 'long_haul';

interface Airport {
  iata: string;
  name: string;
  city: string;
  country: string;
  timezone: string;
  /** Terminal used by each kind of service; `international` also for arrivals from abroad. */
  terminals: { domestic?: string; international?: string };
  /** Gates the airline uses here, by kind of departure. */
  gates: { jet?: string[]; regional?: string[]; international?: string[] };
}

const range = (from: number, to: number, prefix = ''): string[] => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

const NZ = 'New Zealand';
const AU = 'Australia';
const regionalPort = (iata: string, name: string, city: string, gates = range(1, 4)): Airport => ({
  iata,
  name,
  city,
  country: NZ,
  timezone: 'Pacific/Auckland',
  terminals: { domestic: 'Main Terminal' },
  gates: { regional: gates, jet: gates },
});
const foreignPort = (iata: string, name: string, city: string, country: string, timezone: string, terminal: string, gates: string[]): Airport => ({
  iata,
  name,
  city,
  country,
  timezone,
  terminals: { international: terminal },
  gates: { international: gates },
});

const AIRPORTS: Airport[] = [
  {
    iata: 'AKL', name: 'Auckland Airport', city: 'Auckland', country: NZ, timezone: 'Pacific/Auckland',
    terminals: { domestic: 'Domestic Terminal', international: 'International Terminal' },
    gates: { jet: range(20, 33), regional: range(40, 58), international: [...range(1, 10), ...range(15, 18)] },
  },
  {
    iata: 'WLG', name: 'Wellington Airport', city: 'Wellington', country: NZ, timezone: 'Pacific/Auckland',
    terminals: { domestic: 'Main Terminal', international: 'Main Terminal' },
    gates: { jet: range(14, 22), regional: range(1, 9), international: range(23, 27) },
  },
  {
    iata: 'CHC', name: 'Christchurch Airport', city: 'Christchurch', country: NZ, timezone: 'Pacific/Auckland',
    terminals: { domestic: 'Main Terminal', international: 'Main Terminal' },
    gates: { jet: range(21, 30), regional: range(1, 11), international: range(31, 39) },
  },
  {
    iata: 'ZQN', name: 'Queenstown Airport', city: 'Queenstown', country: NZ, timezone: 'Pacific/Auckland',
    terminals: { domestic: 'Main Terminal', international: 'Main Terminal' },
    gates: { jet: range(1, 4), regional: range(1, 4), international: range(5, 8) },
  },
  {
    iata: 'DUD', name: 'Dunedin Airport', city: 'Dunedin', country: NZ, timezone: 'Pacific/Auckland',
    terminals: { domestic: 'Main Terminal', international: 'Main Terminal' },
    gates: { jet: range(1, 4), regional: range(5, 6), international: range(1, 2) },
  },
  regionalPort('NSN', 'Nelson Airport', 'Nelson', range(1, 5)),
  regionalPort('NPE', 'Hawke\u2019s Bay Airport', 'Napier'),
  regionalPort('NPL', 'New Plymouth Airport', 'New Plymouth'),
  regionalPort('PMR', 'Palmerston North Airport', 'Palmerston North'),
  regionalPort('TRG', 'Tauranga Airport', 'Tauranga'),
  regionalPort('ROT', 'Rotorua Airport', 'Rotorua'),
  regionalPort('HLZ', 'Hamilton Airport', 'Hamilton'),
  regionalPort('IVC', 'Invercargill Airport', 'Invercargill'),
  regionalPort('BHE', 'Marlborough Airport', 'Blenheim', range(1, 2)),
  regionalPort('GIS', 'Gisborne Airport', 'Gisborne', range(1, 2)),
  regionalPort('KKE', 'Bay of Islands Airport', 'Kerikeri', range(1, 2)),
  regionalPort('WRE', 'Whang\u0101rei Airport', 'Whang\u0101rei', range(1, 2)),
  regionalPort('HKK', 'Hokitika Airport', 'Hokitika', range(1, 2)),
  regionalPort('TIU', 'Richard Pearse Airport', 'Timaru', range(1, 2)),
  foreignPort('SYD', 'Sydney Kingsford Smith Airport', 'Sydney', AU, 'Australia/Sydney', 'Terminal 1 (International)', range(50, 63)),
  foreignPort('MEL', 'Melbourne Airport', 'Melbourne', AU, 'Australia/Melbourne', 'Terminal 2 (International)', range(6, 18)),
  foreignPort('BNE', 'Brisbane Airport', 'Brisbane', AU, 'Australia/Brisbane', 'International Terminal', range(75, 82)),
  foreignPort('OOL', 'Gold Coast Airport', 'Gold Coast', AU, 'Australia/Brisbane', 'Main Terminal', range(1, 8)),
  foreignPort('CNS', 'Cairns Airport', 'Cairns', AU, 'Australia/Brisbane', 'International Terminal', range(1, 6)),
  foreignPort('PER', 'Perth Airport', 'Perth', AU, 'Australia/Perth', 'Terminal 1', range(51, 59)),
  foreignPort('ADL', 'Adelaide Airport', 'Adelaide', AU, 'Australia/Adelaide', 'Main Terminal', range(14, 18)),
  foreignPort('HBA', 'Hobart Airport', 'Hobart', AU, 'Australia/Hobart', 'Main Terminal', range(1, 6)),
  foreignPort('NAN', 'Nadi International Airport', 'Nadi', 'Fiji', 'Pacific/Fiji', 'International Terminal', range(1, 8)),
  foreignPort('RAR', 'Rarotonga International Airport', 'Rarotonga', 'Cook Islands', 'Pacific/Rarotonga', 'Main Terminal', range(1, 2)),
  foreignPort('APW', 'Faleolo International Airport', 'Apia', 'Samoa', 'Pacific/Apia', 'Main Terminal', range(1, 3)),
  foreignPort('TBU', 'Fua\u02bbamotu International Airport', 'Nuku\u02bbalofa', 'Tonga', 'Pacific/Tongatapu', 'Main Terminal', range(1, 2)),
  foreignPort('NOU', 'La Tontouta International Airport', 'Noum\u00e9a', 'New Caledonia', 'Pacific/Noumea', 'Main Terminal', range(1, 4)),
  foreignPort('VLI', 'Bauerfield International Airport', 'Port Vila', 'Vanuatu', 'Pacific/Efate', 'Main Terminal', range(1, 2)),
  foreignPort('NLK', 'Norfolk Island Airport', 'Norfolk Island', AU, 'Pacific/Norfolk', 'Main Terminal', ['1']),
  foreignPort('PPT', 'Fa\u02bba\u02bb International Airport', 'Papeete', 'French Polynesia', 'Pacific/Tahiti', 'Main Terminal', range(1, 6)),
  foreignPort('HNL', 'Daniel K. Inouye International Airport', 'Honolulu', 'United States', 'Pacific/Honolulu', 'Terminal 2', range(20, 34, 'E')),
  foreignPort('LAX', 'Los Angeles International Airport', 'Los Angeles', 'United States', 'America/Los_Angeles', 'Tom Bradley International Terminal', range(130, 159)),
  foreignPort('SFO', 'San Francisco International Airport', 'San Francisco', 'United States', 'America/Los_Angeles', 'International Terminal G', range(91, 102, 'G')),
  foreignPort('IAH', 'George Bush Intercontinental Airport', 'Houston', 'United States', 'America/Chicago', 'Terminal D', range(1, 12, 'D')),
  foreignPort('ORD', "O'Hare International Airport", 'Chicago', 'United States', 'America/Chicago', 'Terminal 5', range(1, 21, 'M')),
  foreignPort('JFK', 'John F. Kennedy International Airport', 'New York', 'United States', 'America/New_York', 'Terminal 1', range(1, 11)),
  foreignPort('YVR', 'Vancouver International Airport', 'Vancouver', 'Canada', 'America/Vancouver', 'International Terminal', range(51, 70, 'D')),
  foreignPort('NRT', 'Narita International Airport', 'Tokyo', 'Japan', 'Asia/Tokyo', 'Terminal 1', range(41, 58)),
  foreignPort('HND', 'Haneda Airport', 'Tokyo', 'Japan', 'Asia/Tokyo', 'Terminal 3', range(104, 114)),
  foreignPort('SIN', 'Singapore Changi Airport', 'Singapore', 'Singapore', 'Asia/Singapore', 'Terminal 2', range(1, 22, 'F')),
  foreignPort('HKG', 'Hong Kong International Airport', 'Hong Kong', 'Hong Kong', 'Asia/Hong_Kong', 'Terminal 1', range(1, 80)),
  foreignPort('PVG', 'Shanghai Pudong International Airport', 'Shanghai', 'China', 'Asia/Shanghai', 'Terminal 2', range(60, 75)),
  foreignPort('ICN', 'Incheon International Airport', 'Seoul', 'South Korea', 'Asia/Seoul', 'Terminal 1', range(10, 50)),
  foreignPort('TPE', 'Taoyuan International Airport', 'Taipei', 'Taiwan', 'Asia/Taipei', 'Terminal 2', range(1, 10, 'D')),
  foreignPort('DPS', 'I Gusti Ngurah Rai International Airport', 'Denpasar (Bali)', 'Indonesia', 'Asia/Makassar', 'International Terminal', range(1, 9)),
];

const ATR = 'ATR 72-600';
const Q300 = 'De Havilland Canada Dash 8-300';
const A320 = 'Airbus A320neo';
const A321 = 'Airbus A321neo';
const B789 = 'Boeing 787-9';
const B77W = 'Boeing 777-300ER';
const DAILY = [1, 2, 3, 4, 5, 6, 7];

interface Route {
  from: string;
  to: string;
  service: Service;
  /** Block time from → to, and back, minutes (westbound Tasman and Pacific legs are longer). */
  minutes: [number, number];
  /** Flights a day each way. */
  perDay: number;
  /** First (odd) flight number; the return of `n` is `n + 1`. */
  first: number;
  aircraft: string | string[];
  days?: number[];
  /** Departure windows when they differ from the service's (see WINDOWS). */
  window?: { out: [number, number]; back: [number, number] };
}

/** Flights to the Americas leave Auckland in the evening and come back overnight. */
const AMERICAS = { out: [18 * 60 + 30, 22 * 60] as [number, number], back: [18 * 60, 23 * 60 + 30] as [number, number] };

const ROUTES: Route[] = [
  // Domestic jets, NZ401-NZ699.
  { from: 'AKL', to: 'WLG', service: 'domestic', minutes: [65, 65], perDay: 12, first: 401, aircraft: [A320, A321] },
  { from: 'AKL', to: 'CHC', service: 'domestic', minutes: [85, 80], perDay: 10, first: 501, aircraft: [A320, A321] },
  { from: 'WLG', to: 'CHC', service: 'domestic', minutes: [55, 60], perDay: 8, first: 551, aircraft: A320 },
  { from: 'AKL', to: 'ZQN', service: 'domestic', minutes: [110, 105], perDay: 5, first: 601, aircraft: [A320, A321] },
  { from: 'WLG', to: 'ZQN', service: 'domestic', minutes: [85, 80], perDay: 2, first: 631, aircraft: A320 },
  { from: 'AKL', to: 'DUD', service: 'domestic', minutes: [115, 110], perDay: 3, first: 641, aircraft: A320 },
  { from: 'WLG', to: 'DUD', service: 'domestic', minutes: [75, 75], perDay: 2, first: 651, aircraft: A320 },
  { from: 'AKL', to: 'IVC', service: 'domestic', minutes: [120, 115], perDay: 1, first: 661, aircraft: A320 },
  // Regional turboprops: ATR NZ5001-NZ5299, Dash 8 NZ8001-NZ8199.
  { from: 'AKL', to: 'NSN', service: 'regional', minutes: [75, 75], perDay: 5, first: 5001, aircraft: ATR },
  { from: 'AKL', to: 'NPE', service: 'regional', minutes: [60, 60], perDay: 5, first: 5021, aircraft: ATR },
  { from: 'AKL', to: 'NPL', service: 'regional', minutes: [55, 55], perDay: 5, first: 5041, aircraft: ATR },
  { from: 'AKL', to: 'PMR', service: 'regional', minutes: [65, 65], perDay: 4, first: 5061, aircraft: ATR },
  { from: 'AKL', to: 'ROT', service: 'regional', minutes: [45, 45], perDay: 3, first: 5081, aircraft: ATR },
  { from: 'AKL', to: 'BHE', service: 'regional', minutes: [80, 80], perDay: 2, first: 5101, aircraft: ATR },
  { from: 'WLG', to: 'ROT', service: 'regional', minutes: [65, 65], perDay: 2, first: 5121, aircraft: ATR },
  { from: 'WLG', to: 'TRG', service: 'regional', minutes: [70, 70], perDay: 2, first: 5141, aircraft: ATR },
  { from: 'CHC', to: 'NSN', service: 'regional', minutes: [50, 50], perDay: 4, first: 5161, aircraft: ATR },
  { from: 'CHC', to: 'IVC', service: 'regional', minutes: [65, 65], perDay: 3, first: 5181, aircraft: ATR },
  { from: 'CHC', to: 'PMR', service: 'regional', minutes: [70, 70], perDay: 2, first: 5201, aircraft: ATR },
  { from: 'CHC', to: 'HLZ', service: 'regional', minutes: [85, 85], perDay: 2, first: 5221, aircraft: ATR },
  { from: 'CHC', to: 'TRG', service: 'regional', minutes: [90, 90], perDay: 2, first: 5241, aircraft: ATR },
  { from: 'CHC', to: 'ZQN', service: 'regional', minutes: [55, 55], perDay: 2, first: 5261, aircraft: ATR },
  { from: 'CHC', to: 'DUD', service: 'regional', minutes: [60, 60], perDay: 3, first: 5281, aircraft: ATR },
  { from: 'AKL', to: 'TRG', service: 'regional', minutes: [40, 40], perDay: 4, first: 8001, aircraft: Q300 },
  { from: 'AKL', to: 'KKE', service: 'regional', minutes: [45, 45], perDay: 3, first: 8021, aircraft: Q300 },
  { from: 'AKL', to: 'WRE', service: 'regional', minutes: [40, 40], perDay: 3, first: 8041, aircraft: Q300 },
  { from: 'AKL', to: 'GIS', service: 'regional', minutes: [60, 60], perDay: 3, first: 8061, aircraft: Q300 },
  { from: 'WLG', to: 'NSN', service: 'regional', minutes: [35, 35], perDay: 6, first: 8101, aircraft: Q300 },
  { from: 'WLG', to: 'NPE', service: 'regional', minutes: [55, 55], perDay: 3, first: 8121, aircraft: Q300 },
  { from: 'WLG', to: 'BHE', service: 'regional', minutes: [25, 25], perDay: 3, first: 8141, aircraft: Q300 },
  { from: 'CHC', to: 'HKK', service: 'regional', minutes: [40, 40], perDay: 2, first: 8161, aircraft: Q300 },
  { from: 'CHC', to: 'TIU', service: 'regional', minutes: [35, 35], perDay: 2, first: 8181, aircraft: Q300 },
  // Tasman, NZ101-NZ199 (NZ123 is the evening Auckland → Sydney flight).
  { from: 'AKL', to: 'SYD', service: 'tasman', minutes: [205, 185], perDay: 5, first: 115, aircraft: [A321, A320] },
  { from: 'AKL', to: 'MEL', service: 'tasman', minutes: [235, 215], perDay: 4, first: 125, aircraft: [A321, A320] },
  { from: 'AKL', to: 'BNE', service: 'tasman', minutes: [205, 185], perDay: 4, first: 133, aircraft: [A321, A320] },
  { from: 'AKL', to: 'OOL', service: 'tasman', minutes: [200, 180], perDay: 1, first: 141, aircraft: A320 },
  { from: 'AKL', to: 'CNS', service: 'tasman', minutes: [240, 220], perDay: 1, first: 143, aircraft: A320, days: [1, 3, 5, 7] },
  { from: 'AKL', to: 'ADL', service: 'tasman', minutes: [260, 235], perDay: 1, first: 145, aircraft: A321, days: [1, 3, 5, 6] },
  { from: 'AKL', to: 'HBA', service: 'tasman', minutes: [215, 195], perDay: 1, first: 147, aircraft: A320, days: [2, 4, 6] },
  { from: 'WLG', to: 'SYD', service: 'tasman', minutes: [210, 190], perDay: 2, first: 151, aircraft: A320 },
  { from: 'WLG', to: 'MEL', service: 'tasman', minutes: [235, 220], perDay: 1, first: 155, aircraft: A320 },
  { from: 'WLG', to: 'BNE', service: 'tasman', minutes: [220, 200], perDay: 1, first: 157, aircraft: A320 },
  { from: 'CHC', to: 'SYD', service: 'tasman', minutes: [200, 180], perDay: 2, first: 161, aircraft: [A321, A320] },
  { from: 'CHC', to: 'MEL', service: 'tasman', minutes: [230, 210], perDay: 1, first: 165, aircraft: A320 },
  { from: 'CHC', to: 'BNE', service: 'tasman', minutes: [225, 205], perDay: 1, first: 167, aircraft: A320 },
  { from: 'ZQN', to: 'SYD', service: 'tasman', minutes: [200, 185], perDay: 1, first: 171, aircraft: A320 },
  { from: 'ZQN', to: 'MEL', service: 'tasman', minutes: [215, 205], perDay: 1, first: 173, aircraft: A320, days: [1, 3, 5, 7] },
  { from: 'AKL', to: 'PER', service: 'tasman', minutes: [445, 375], perDay: 1, first: 175, aircraft: B789, days: [2, 4, 6, 7] },
  { from: 'ZQN', to: 'BNE', service: 'tasman', minutes: [210, 200], perDay: 1, first: 177, aircraft: A320, days: [2, 4, 6] },
  // Pacific islands, NZ301-NZ399.
  { from: 'AKL', to: 'NAN', service: 'pacific', minutes: [190, 175], perDay: 2, first: 301, aircraft: [A321, A320] },
  { from: 'CHC', to: 'NAN', service: 'pacific', minutes: [220, 205], perDay: 1, first: 305, aircraft: A320, days: [2, 6] },
  { from: 'AKL', to: 'RAR', service: 'pacific', minutes: [235, 225], perDay: 1, first: 307, aircraft: A321 },
  { from: 'AKL', to: 'APW', service: 'pacific', minutes: [230, 220], perDay: 1, first: 309, aircraft: A321, days: [1, 3, 5, 6] },
  { from: 'AKL', to: 'TBU', service: 'pacific', minutes: [180, 170], perDay: 1, first: 311, aircraft: A320, days: [2, 4, 6, 7] },
  { from: 'AKL', to: 'NOU', service: 'pacific', minutes: [165, 155], perDay: 1, first: 313, aircraft: A320, days: [1, 4, 6] },
  { from: 'AKL', to: 'VLI', service: 'pacific', minutes: [185, 175], perDay: 1, first: 315, aircraft: A320, days: [2, 5, 7] },
  { from: 'AKL', to: 'NLK', service: 'pacific', minutes: [125, 115], perDay: 1, first: 317, aircraft: A320, days: [1, 5] },
  { from: 'AKL', to: 'PPT', service: 'pacific', minutes: [300, 330], perDay: 1, first: 319, aircraft: B789, days: [3, 7] },
  { from: 'WLG', to: 'NAN', service: 'pacific', minutes: [210, 195], perDay: 1, first: 321, aircraft: A320, days: [3, 7] },
  // Long haul, NZ1-NZ99.
  { from: 'AKL', to: 'LAX', service: 'long_haul', minutes: [730, 790], perDay: 1, first: 1, aircraft: B77W, window: AMERICAS },
  { from: 'AKL', to: 'JFK', service: 'long_haul', minutes: [975, 1050], perDay: 1, first: 3, aircraft: B789, days: [1, 3, 5, 7], window: AMERICAS },
  { from: 'AKL', to: 'SFO', service: 'long_haul', minutes: [710, 780], perDay: 1, first: 7, aircraft: B789, window: AMERICAS },
  { from: 'AKL', to: 'HNL', service: 'long_haul', minutes: [525, 555], perDay: 1, first: 9, aircraft: B789, days: [1, 3, 5, 7], window: AMERICAS },
  { from: 'AKL', to: 'YVR', service: 'long_haul', minutes: [780, 840], perDay: 1, first: 23, aircraft: B789, days: [2, 4, 7], window: AMERICAS },
  { from: 'AKL', to: 'ORD', service: 'long_haul', minutes: [920, 990], perDay: 1, first: 25, aircraft: B789, days: [2, 4, 6], window: AMERICAS },
  { from: 'AKL', to: 'IAH', service: 'long_haul', minutes: [800, 850], perDay: 1, first: 27, aircraft: B789, days: [1, 3, 5, 6, 7], window: AMERICAS },
  { from: 'AKL', to: 'DPS', service: 'long_haul', minutes: [570, 520], perDay: 1, first: 71, aircraft: B789 },
  { from: 'AKL', to: 'ICN', service: 'long_haul', minutes: [715, 660], perDay: 1, first: 75, aircraft: B789, days: [2, 4, 6, 7] },
  { from: 'AKL', to: 'TPE', service: 'long_haul', minutes: [670, 620], perDay: 1, first: 77, aircraft: B789, days: [1, 4, 6] },
  { from: 'AKL', to: 'SIN', service: 'long_haul', minutes: [640, 610], perDay: 1, first: 81, aircraft: B789 },
  { from: 'CHC', to: 'SIN', service: 'long_haul', minutes: [675, 640], perDay: 1, first: 83, aircraft: B789, days: [1, 3, 5, 7] },
  { from: 'AKL', to: 'HKG', service: 'long_haul', minutes: [690, 640], perDay: 1, first: 87, aircraft: B77W },
  { from: 'AKL', to: 'PVG', service: 'long_haul', minutes: [720, 665], perDay: 1, first: 89, aircraft: B789, days: [1, 3, 5, 6] },
  { from: 'AKL', to: 'NRT', service: 'long_haul', minutes: [680, 630], perDay: 1, first: 91, aircraft: B789 },
  { from: 'AKL', to: 'HND', service: 'long_haul', minutes: [700, 650], perDay: 1, first: 93, aircraft: B77W, days: [2, 4, 6] },
];

/** Departure windows (local time, minutes after midnight) of each service, out and back. */
const WINDOWS: Record<Service, { out: [number, number]; back: [number, number] }> = {
  domestic: { out: [6 * 60, 21 * 60], back: [6 * 60 + 30, 21 * 60 + 30] },
  regional: { out: [6 * 60 + 15, 19 * 60 + 30], back: [6 * 60 + 30, 20 * 60] },
  tasman: { out: [6 * 60 + 30, 19 * 60 + 30], back: [8 * 60, 21 * 60] },
  pacific: { out: [7 * 60 + 30, 15 * 60], back: [11 * 60, 19 * 60] },
  long_haul: { out: [9 * 60, 22 * 60 + 30], back: [17 * 60 + 30, 23 * 60 + 30] },
};

/** mulberry32: a tiny seeded PRNG, plenty for a timetable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const hhmm = (minutes: number): string => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** `count` departure times spread over the window, jittered, on 5-minute marks, ascending. */
function departures(count: number, [start, end]: [number, number]): string[] {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const base = count === 1 ? start + random() * (end - start) : start + (i * (end - start)) / (count - 1);
    const jitter = count === 1 ? 0 : (random() - 0.5) * Math.min(40, (end - start) / count);
    times.push(Math.round(Math.min(end, Math.max(start, base + jitter)) / 5) * 5);
  }
  return times.sort((a, b) => a - b).map(hhmm);
}

const airports = new Map(AIRPORTS.map((a) => [a.iata, a]));

function terminal(airport: Airport, international: boolean): string {
  const t = international ? airport.terminals.international : airport.terminals.domestic;
  if (!t) throw new Error(`${airport.iata} has no ${international ? 'international' : 'domestic'} terminal`);
  return t;
}

function gatePool(airport: Airport, service: Service): string[] {
  const pool = service === 'regional' ? airport.gates.regional : service === 'domestic' ? airport.gates.jet : airport.gates.international;
  if (!pool || pool.length === 0) throw new Error(`${airport.iata} has no gates for ${service}`);
  return pool;
}

interface ScheduledFlight {
  flight_no: string;
  origin: string;
  destination: string;
  service: Service;
  departure_time: string;
  duration_minutes: number;
  days: number[];
  aircraft: string;
  departure_terminal: string;
  arrival_terminal: string;
  gate: string;
}

const flights: ScheduledFlight[] = [];
const numbers = new Set<string>();
for (const route of ROUTES) {
  const legs: Array<{ from: string; to: string; minutes: number; first: number; window: [number, number] }> = [
    { from: route.from, to: route.to, minutes: route.minutes[0], first: route.first, window: (route.window ?? WINDOWS[route.service]).out },
    { from: route.to, to: route.from, minutes: route.minutes[1], first: route.first + 1, window: (route.window ?? WINDOWS[route.service]).back },
  ];
  for (const leg of legs) {
    const origin = airports.get(leg.from);
    const destination = airports.get(leg.to);
    if (!origin || !destination) throw new Error(`unknown airport on ${leg.from}-${leg.to}`);
    const international = route.service !== 'domestic' && route.service !== 'regional';
    departures(route.perDay, leg.window).forEach((time, i) => {
      const flightNo = `NZ${leg.first + 2 * i}`;
      if (numbers.has(flightNo)) throw new Error(`duplicate flight number ${flightNo}`);
      numbers.add(flightNo);
      flights.push({
        flight_no: flightNo,
        origin: leg.from,
        destination: leg.to,
        service: route.service,
        departure_time: time,
        duration_minutes: leg.minutes,
        days: route.days ?? DAILY,
        aircraft: Array.isArray(route.aircraft) ? pick(route.aircraft) : route.aircraft,
        departure_terminal: terminal(origin, international),
        arrival_terminal: terminal(destination, international),
        gate: pick(gatePool(origin, route.service)),
      });
    });
  }
}
flights.sort((a, b) => Number(a.flight_no.slice(2)) - Number(b.flight_no.slice(2)));

const schedule = {
  $comment: 'Generated by generate-schedule.ts (seeded); do not edit by hand. Fictional airline, real airports.',
  airline: { name: 'Aotearoa Air', code: 'NZ' },
  generator: { script: 'generate-schedule.ts', seed: SEED },
  /**
   * How statuses are derived per flight and date (worker/src/context/flight-status.ts): a hash of
   * seed, flight number and date picks cancellations and delays; only days up to
   * `disruption_horizon_days` after the airline's today have them (later days are "scheduled").
   */
  status_model: {
    seed: 'aotearoa-air-ops-1',
    home_time_zone: 'Pacific/Auckland',
    cancel_rate: 0.03,
    delay_rate: 0.18,
    disruption_horizon_days: 1,
    window_days: { past: 7, future: 60 },
    boarding_minutes: { domestic: 30, regional: 20, tasman: 45, pacific: 45, long_haul: 60 },
    /** As in policies/check-in-and-boarding.md. */
    check_in_closes_minutes: { domestic: 30, regional: 20, tasman: 60, pacific: 60, long_haul: 60 },
    gate_shown_hours_before: 24,
    delay_reasons: [
      'late arrival of the incoming aircraft',
      'late arrival of the incoming aircraft',
      'air traffic control restrictions at {origin_city}',
      'weather at {destination_city}',
      'strong winds at {origin_city}',
      'an unscheduled engineering check',
      'crew availability',
      'baggage loading taking longer than planned',
      'fog at {origin_city}',
    ],
    cancellation_reasons: [
      'an engineering issue with the aircraft',
      'severe weather at {destination_city}',
      'crew availability',
      'air traffic control restrictions at {destination_city}',
    ],
  },
  airports: Object.fromEntries(AIRPORTS.map(({ gates: _gates, terminals: _terminals, ...a }) => [a.iata, a])),
  flights,
};

/** Pretty JSON, but one airport or flight per line: small, and a diff shows what changed. */
function formatSchedule(value: typeof schedule): string {
  const { airports: ports, flights: list, ...head } = value;
  const headJson = JSON.stringify(head, null, 2).replace(/\n}$/, '');
  const portLines = Object.entries(ports).map(([code, a]) => `    ${JSON.stringify(code)}: ${JSON.stringify(a)}`);
  const flightLines = list.map((f) => `    ${JSON.stringify(f)}`);
  return `${headJson},\n  "airports": {\n${portLines.join(',\n')}\n  },\n  "flights": [\n${flightLines.join(',\n')}\n  ]\n}`;
}

writeFileSync(OUTPUT, `${formatSchedule(schedule)}\n`);
console.log(`${flights.length} flights, ${AIRPORTS.length} airports → ${OUTPUT}`);
