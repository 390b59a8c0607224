import { stemmer } from 'stemmer';

/**
 * Terms for the BM25 index and for questions: words are folded (case, accents), stop words
 * dropped and the rest stemmed (Porter), so "delayed", "delays" and "delay" meet. Questions are
 * also expanded with the corpus's own words for what customers say differently ("luggage" →
 * baggage, "my 10 year old … alone" → unaccompanied minor).
 */

const STOPWORDS = new Set(
  (
    'a an the and or but if of to in on at for from by with about as is are was were be been being do does did done ' +
    'have has had having i im me my mine we our ours us you your yours it its itll this that these those what which who whom ' +
    'how when where why can could would should will shall may might must there their theirs they them he she his her hers ' +
    'so than then too very just not no yes any some all also into onto over under up out off again am get got getting ' +
    'hi hello hey thanks thank please pls want wanted need needs know tell let lets ok okay dont cant wont isnt arent ' +
    'doesnt didnt ill ive id youre theyre thats whats wheres hows s t much many take takes taking took bring brings bringing brought'
  ).split(' '),
);

/** Letters and digits, Unicode-aware; everything else separates words. */
const WORD = /[\p{L}\p{N}]+/gu;

/** Words of a text, folded to lower-case ASCII where possible ("Whangārei" → "whangarei"). */
export function tokenize(text: string): string[] {
  const folded = text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/['’]/g, '');
  return folded.match(WORD) ?? [];
}

/** One word as indexed: null for a stop word, else its stem. */
export function indexTerm(word: string): string | null {
  if (STOPWORDS.has(word)) return null;
  if (word.length === 1 && !/\d/.test(word)) return null;
  return stemmer(word);
}

/**
 * Customer words → corpus words. Keys are raw (folded) words; values are added to the query
 * (they are stemmed like every other word).
 */
const SYNONYMS: Record<string, readonly string[]> = {
  luggage: ['baggage'],
  suitcase: ['baggage', 'bag'],
  suitcases: ['baggage', 'bag'],
  bags: ['baggage'],
  bag: ['baggage'],
  dog: ['pet'],
  dogs: ['pets'],
  puppy: ['pet', 'dog'],
  cat: ['pet'],
  cats: ['pets'],
  kitten: ['pet', 'cat'],
  animal: ['pet'],
  animals: ['pets'],
  kid: ['child'],
  kids: ['children'],
  son: ['child'],
  daughter: ['child'],
  alone: ['unaccompanied', 'minor'],
  solo: ['unaccompanied', 'minor'],
  unaccompanied: ['minor'],
  teenager: ['minor'],
  teen: ['minor'],
  baby: ['infant'],
  babies: ['infants'],
  newborn: ['infant'],
  toddler: ['infant', 'child'],
  late: ['delay'],
  canceled: ['cancelled'],
  reimburse: ['refund'],
  reimbursement: ['refund'],
  compensate: ['compensation'],
  entitled: ['compensation'],
  entitlement: ['compensation'],
  owed: ['compensation'],
  wheelchair: ['assistance', 'mobility'],
  pregnant: ['pregnancy'],
  oxygen: ['medical'],
  missing: ['lost'],
  broken: ['damaged'],
  damage: ['damaged'],
  powerbank: ['power', 'bank', 'lithium'],
  battery: ['lithium'],
  batteries: ['lithium'],
  vape: ['cigarettes', 'vapes'],
  vaping: ['cigarettes', 'vapes'],
  gun: ['firearm'],
  guns: ['firearms'],
  rifle: ['firearm'],
  miles: ['kea', 'points'],
  frequent: ['loyalty'],
  legroom: ['stretch', 'seat'],
  visa: ['documents'],
  overweight: ['weight'],
  heavy: ['overweight', 'weight'],
  kilos: ['kg'],
  kgs: ['kg'],
  rebook: ['change'],
  reschedule: ['change'],
  skis: ['ski'],
  snowboard: ['ski'],
  surfboard: ['surfboards'],
  bike: ['bicycle'],
  carryon: ['carry'],
  cost: ['fee'],
  costs: ['fees'],
  price: ['fee'],
  charge: ['fee'],
  usa: ['united', 'states'],
  online: ['manage', 'app'],
  pay: ['fare'],
  pays: ['fare'],
  america: ['americas', 'united', 'states'],
  american: ['americas', 'united', 'states'],
};

/** Phrases that name a topic in other words; each adds corpus words to the query. */
const PHRASES: ReadonlyArray<{ pattern: RegExp; add: readonly string[] }> = [
  // "how much can I check in / bring / take" asks about the allowance, not check-in times.
  { pattern: /\bhow (?:much|many)\b.*\b(?:check(?:ed)?[\s-]?in|bring|take|carry|pack)\b/, add: ['checked', 'baggage', 'allowance'] },
  { pattern: /\bhow (?:heavy|big)\b/, add: ['weight', 'size', 'limits'] },
  // A bag that did not come out on the belt.
  {
    pattern: /\b(?:never|didnt|did not|hasnt|has not|havent|have not|wasnt|was not)\s+(?:show(?:ed|n)? up|turn(?:ed)? up|arrive[ds]?|c[oa]me out|c[oa]me through)\b|\bcarousel\b|\bbaggage belt\b/,
    add: ['delayed', 'lost', 'baggage', 'report'],
  },
  { pattern: /\bwhat (?:do|can|should|will) (?:i|we) get\b|\bwhat am i owed\b|\bam i entitled\b/, add: ['compensation'] },
  { pattern: /\bmoney back\b/, add: ['refund'] },
  { pattern: /\b(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven)[\s-]*(?:year|yr)s?[\s-]*old\b/, add: ['child'] },
  {
    pattern: /\b(?:by (?:him|her|them)sel(?:f|ves)|on (?:his|her|their) own|without (?:me|us|an adult|a parent|parents))\b/,
    add: ['unaccompanied', 'minor'],
  },
  { pattern: /\bin the cabin\b|\bon my lap\b|\bwith me on board\b/, add: ['cabin'] },
  { pattern: /\b(?:hand|cabin) (?:luggage|baggage|bags?)\b|\bhandbags?\b/, add: ['carry', 'on', 'baggage'] },
  { pattern: /\bpower ?banks?\b|\bportable chargers?\b/, add: ['lithium', 'batteries'] },
  { pattern: /\bfrequent flyer\b|\bloyalty\b|\bstatus points?\b/, add: ['kea', 'rewards'] },
  { pattern: /\bpersonal (?:data|information|details)\b|\bmy data\b/, add: ['privacy'] },
  { pattern: /\b(?:to|in|for|visit(?:ing)?) the (?:us|states)\b|\bu s a?\b/, add: ['united', 'states'] },
  { pattern: /\b(?:pick|choose|select|reserve|book)(?:ing)? (?:a |my |our |the )?seats?\b/, add: ['seat', 'selection'] },
  { pattern: /\b(?:silver|gold|platinum)\b/, add: ['tier', 'membership'] },
  { pattern: /\bcut[\s-]?off\b|\bhow early\b|\bwhen (?:does|do) check[\s-]?in (?:close|open)\b/, add: ['check', 'closes'] },
];

/** The question's raw words plus the corpus words its phrasing and synonyms point to. */
export function expandQuery(question: string): string[] {
  const words = tokenize(question);
  const folded = words.join(' ');
  const out = [...words];
  for (const word of words) {
    const extra = SYNONYMS[word];
    if (extra) out.push(...extra);
  }
  for (const phrase of PHRASES) if (phrase.pattern.test(folded)) out.push(...phrase.add);
  return out;
}
