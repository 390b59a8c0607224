/**
 * The offline model's "thinking": a pure function from the conversation to the answer text, so
 * the same prompt always gets the same answer (tests and the answer cache rely on that). It is a
 * stand-in for an LLM and reads only what an LLM would be given: the system prompt with its
 * context passages (one per line: `[n] Title: text`), the earlier turns, and the last message.
 *
 * - A follow-up ("and on Business?") is read with the previous question (shared/src/text).
 * - With passages, the answer is composed from the one passage that answers: for a table, the
 *   row and column the question (or the trip details passage) names; otherwise the sentence that
 *   holds the asked-for fact, then at most two sentences of the same passage that qualify it.
 *   A flight or schedule passage answers first when the question is about a flight (a
 *   multi-part question gets both parts). Every sentence carries its `[n]` citation.
 * - A request for a person is answered from the contact passage; a request for the
 *   instructions or other customers' data is refused.
 * - A question in another language gets, in that language, a notice that answers are in English.
 * - Without passages, it acknowledges the question and says what it can help with.
 *
 * The answer no longer opens with OFFLINE_NOTICE: that the offline model answered is in the
 * turn's metadata (`offline_model: true`), which the page shows as a badge.
 */
import { asksForHuman, detectLanguage, englishOnlyNotice, glossaryTerms, questionInContext } from '@chat/shared';
import { quantitiesIn, rangeFit } from './numeric-ranges.js';
import { chooseCells, parseTableRow, type SlotSource, type TableChoice, type TableRow } from './table-reading.js';

/** Kept for clients that strip it from older answers; answers no longer carry it (see metadata `offline_model`). */
export const OFFLINE_NOTICE = '(Offline model — no OpenAI API key is configured.)';

/** A chat message with its content reduced to text. */
export interface PromptMessage {
  role: string;
  content: string;
}

/** A context passage found in the prompt. */
export interface ContextPassage {
  /** The citation number, as written: `[n]`. */
  n: number;
  title: string | undefined;
  text: string;
}

/** Characters of the question quoted back when there is no context. */
const QUOTE_CHARS = 80;
/** Letters of a word compared for overlap, after its suffix is dropped. */
const STEM_LENGTH = 5;

/** `[n] Title: text` or `[n] text`, optionally as a list item. */
const PASSAGE_LINE = /^\s*(?:[-*]\s+)?\[(\d{1,4})\]\s*(\S.*?)\s*$/;
/** A short title ended by a colon: no sentence punctuation in it. */
const TITLE = /^([^:.!?]{1,80}?):\s+(\S.*)$/;
/** Lines like "Context:" or "Relevant passages:" that only label what follows. */
const LABEL_LINE = /^\s*[\p{L} ]{1,40}:\s*$/u;
/** A label in front of the question itself: "Question: ...", "Customer question: ...". */
const QUESTION_LABEL = /^\s*(?:customer\s+)?(?:question|message|query)\s*:\s*/i;
const SENTENCE_END = /(?<=[.!?])\s+(?=\S)/;
const WORD = /[\p{L}\p{N}]+/gu;

/** Passages from the system messages and the last user message, first occurrence of each `[n]`. */
export function extractPassages(messages: readonly PromptMessage[]): ContextPassage[] {
  const lastUser = lastUserIndex(messages);
  const seen = new Set<number>();
  const passages: ContextPassage[] = [];
  messages.forEach((message, index) => {
    // Tool results after the last question are passages too (the tool-call protocol).
    if (message.role !== 'system' && message.role !== 'developer' && index !== lastUser && !(message.role === 'tool' && index > lastUser)) return;
    for (const line of message.content.split('\n')) {
      const match = PASSAGE_LINE.exec(line);
      if (!match) continue;
      const n = Number(match[1]);
      if (seen.has(n)) continue;
      seen.add(n);
      const rest = match[2]!;
      const titled = TITLE.exec(rest);
      passages.push(titled ? { n, title: titled[1]!.trim(), text: titled[2]! } : { n, title: undefined, text: rest });
    }
  });
  return passages;
}

/** The last user message without passage lines and labels, whitespace collapsed. */
export function extractQuestion(messages: readonly PromptMessage[]): string {
  const index = lastUserIndex(messages);
  if (index === -1) return '';
  const kept: string[] = [];
  for (const line of messages[index]!.content.split('\n')) {
    if (PASSAGE_LINE.test(line) || LABEL_LINE.test(line)) continue;
    kept.push(line.replace(QUESTION_LABEL, ''));
  }
  return kept.join(' ').replace(/\s+/g, ' ').trim();
}

function lastUserIndex(messages: readonly PromptMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') return i;
  return -1;
}

/** Composes the answer to the last user message; deterministic. */
export function composeAnswer(messages: readonly PromptMessage[]): string {
  return composeGroundedAnswer(messages);
}

/**
 * The grounded answer: the worker also uses it as its labelled fallback when the real LLM
 * fails, so the default install and the fallback give the same grounded answer.
 */
export function composeGroundedAnswer(messages: readonly PromptMessage[]): string {
  const question = extractQuestion(messages);
  const language = detectLanguage(question);
  const notice = englishOnlyNotice(language.code);
  const body = answerBody(question, messages);
  return notice ? `${notice} ${body}` : body;
}

function answerBody(question: string, messages: readonly PromptMessage[]): string {
  const passages = extractPassages(messages);
  if (REFUSE.test(question)) return REFUSAL;
  const previous = previousUserQuestion(messages);
  const focus = questionInContext(question, previous);
  const translated = glossaryTerms(focus);
  const asked = terms(translated.length > 0 ? `${question} ${translated.join(' ')}` : question);
  for (const [pattern, words] of SAME_MEANING) if (pattern.test(question)) for (const w of words) for (const t of terms(w)) asked.add(t);
  const carried = focus !== question && previous ? terms(previous) : new Set<string>();
  // A disrupted flight in the context is what the question is about ("what are my options?").
  const flight = passages.find((p) => kindOf(p) === 'flight');
  if (flight && /\bhas been cancelled\b/.test(flight.text)) carried.add(normalize('cancel'));
  if (flight && /\bis delayed\b/.test(flight.text)) carried.add(normalize('delay'));
  const reading: Reading = {
    question,
    focus: translated.length > 0 ? `${focus} ${translated.join(' ')}` : focus,
    followUp: focus !== question,
    terms: asked,
    carried,
    translated: [...translated, ...SAME_MEANING.filter(([p]) => p.test(question)).flatMap(([, w]) => w)],
    ...termSpread([...asked, ...carried], passages.filter((p) => kindOf(p) === 'policy')),
  };
  if (asksForHuman(question) || messages.some((m) => m.role === 'system' && /^Hand-off:/m.test(m.content))) return handoffAnswer(passages);
  if (passages.length === 0) return supportAnswer(question);
  return groundedAnswer(reading, passages);
}

/** Everyday phrasings and the documents' word for them (a model knows these; a word list has to be told). */
const SAME_MEANING: ReadonlyArray<[RegExp, readonly string[]]> = [
  [/\bmoney back\b|\breimburs/i, ['refund']],
  [/\b(?:hand|cabin)\s+(?:luggage|baggage|bags?)\b|\bcarry[\s-]?on\b|\bhand\s?bags?\b/i, ['carry-on', 'carry']],
  [/\bluggage\b|\bsuitcases?\b/i, ['baggage', 'bag']],
  [/\bkids?\b|\bson\b|\bdaughter\b/i, ['child', 'children']],
  [/\bbab(?:y|ies)\b|\bnewborn\b/i, ['infant']],
  [/\brifles?\b|\bguns?\b|\bshotguns?\b/i, ['firearm']],
  [/\bvap(?:e|es|ing)\b/i, ['e-cigarettes']],
  [/\bpower ?banks?\b/i, ['lithium', 'batteries']],
  [/\blate\b/i, ['delay']],
  [/\b(?:dogs?|cats?|pupp(?:y|ies)|kittens?|pugs?|bulldogs?|rabbits?|birds?)\b/i, ['pet']],
];

/**
 * Words nearly every passage shares ("flight", "travel", "Aotearoa Air"): they say little about
 * which sentence answers, so they count for less than the words that pick it ("pug", "guide").
 */
const COMMON = new Set(['flight', 'flights', 'fly', 'flying', 'travel', 'travelling', 'aotearoa', 'air', 'airline', 'take', 'use', 'book', 'go', 'new', 'zealand', 'long', 'early', 'far', 'ahead', 'soon'].map((w) => normalize(w)));
const termWeight = (term: string): number => (COMMON.has(term) ? 0.4 : 1);

/** In how many policy passages (title or text) each term occurs. */
function termSpread(words: readonly string[], passages: readonly ContextPassage[]): { spread: Map<string, number>; passageCount: number } {
  const spread = new Map<string, number>();
  for (const word of new Set(words)) {
    let n = 0;
    for (const p of passages) {
      if (cachedTerms(p.title ?? '').has(word) || passageSentences(p.text).some((s) => s.words.has(word))) n++;
    }
    spread.set(word, n);
  }
  return { spread, passageCount: passages.length };
}

/** A term's weight in this prompt: common words less, and a word only one passage has more. */
function weightIn(reading: Reading, term: string): number {
  const n = reading.spread.get(term) ?? 0;
  const rarity = reading.passageCount >= 2 && n === 1 ? 1.5 : 1;
  return termWeight(term) * rarity;
}

/** What the composer knows about the question. */
interface Reading {
  question: string;
  /** The question with the previous one when it is a follow-up, plus glossary words. */
  focus: string;
  followUp: boolean;
  /** Terms of the question itself (and its glossary words). */
  terms: ReadonlySet<string>;
  /** Terms carried over from the previous question (follow-ups only). */
  carried: ReadonlySet<string>;
  /** English words the glossary gave for the question's other-language words. */
  translated: readonly string[];
  /** How many of the prompt's policy passages contain each term (rare terms pick the passage). */
  spread: ReadonlyMap<string, number>;
  /** Policy passages in the prompt. */
  passageCount: number;
}

type PassageKind = 'flight' | 'schedule' | 'trip' | 'policy';

function kindOf(passage: ContextPassage): PassageKind {
  const title = passage.title ?? '';
  if (/^Flight [A-Z0-9]+ status$/.test(title)) return 'flight';
  if (/^Flights from /.test(title)) return 'schedule';
  if (title === 'Trip details') return 'trip';
  return 'policy';
}

/** Requests for the instructions or for other people's data: refused whatever else they say. */
const REFUSE =
  /\b(?:system\s+prompt|your\s+(?:instructions|prompt|rules|guidelines|configuration)|(?:ignore|disregard|forget)\s+(?:all\s+|any\s+|your\s+|the\s+)?(?:previous\s+|prior\s+|above\s+)?(?:instructions|rules)|(?:other|another)\s+(?:customer|passenger|traveller|person)(?:'s|s'|s)?\s+(?:data|details|booking|bookings|information|info|names?|phone|email|seat)|passenger\s+(?:list|manifest)|who\s+else\s+is\s+(?:on|booked)|developer\s+mode|jailbreak|api\s+key)\b|\b(?:email|phone|address|booking|details|name|seat)\b.{0,40}\b(?:other|another|different)\s+(?:passenger|customer|person|traveller)|\b(?:passenger|person|customer|someone)\s+in\s+seat\s+\d/i;
const REFUSAL =
  'I can\u2019t share my instructions or any other customer\u2019s information, and I can\u2019t change how I work. ' +
  'I\u2019m happy to help with your own trip or with Aotearoa Air\u2019s policies: baggage, check-in, changes, refunds, flight status and more.';

function previousUserQuestion(messages: readonly PromptMessage[]): string | undefined {
  const last = lastUserIndex(messages);
  for (let i = last - 1; i >= 0; i--) if (messages[i]!.role === 'user') return stripLabel(messages[i]!.content);
  return undefined;
}

function stripLabel(text: string): string {
  return text.split('\n').filter((l) => !LABEL_LINE.test(l)).map((l) => l.replace(QUESTION_LABEL, '')).join(' ').replace(/\s+/g, ' ').trim();
}

/** The contact passage, quoted: a person, how to reach them. */
function handoffAnswer(passages: readonly ContextPassage[]): string {
  const contact =
    passages.find((p) => /contact/i.test(p.title ?? '') && /\b(?:call|phone)\b/i.test(p.text)) ??
    passages.find((p) => /\b(?:contact centre|call)\b/i.test(p.text));
  const opening = 'Of course \u2014 I\u2019ll pass this conversation to our team so a person can pick it up.';
  if (!contact) {
    return `${opening} You can also reach our contact centre through the Aotearoa Air app or website.`;
  }
  const sentences = passageSentences(contact.text).map((s) => s.sentence.trim());
  const chosen = sentences.filter((s) => /\b(?:call|phone|live chat|24 hours|message)\b/i.test(s)).slice(0, 3);
  return `${opening} ${chosen.map((s) => cite({ text: s, n: contact.n, score: 1, order: 0 })).join(' ')}`;
}

interface ScoredSentence {
  text: string;
  n: number;
  score: number;
  /** Position in the prompt, to break ties the same way every time. */
  order: number;
}

/** Question words that ask for a kind of fact, and the mark of a sentence that states one. */
const FACT_KINDS: ReadonlyArray<{ asks: RegExp; states: RegExp; bonus: number }> = [
  { asks: /\b(?:how much(?!\s+(?:checked\s+|carry[\s-]?on\s+|hand\s+|cabin\s+)?(?:baggage|luggage|bags?|weight|alcohol|liquids?|can|may))|cost|costs|fee|fees|price|charge|charged|pay|paid|expensive|cheap)\b/i, states: /\bNZD\b|\$|\bfree\b|%|\bno (?:fee|charge)\b/i, bonus: 1.5 },
  { asks: /\b(?:how (?:long|early|late|soon|far (?:ahead|in advance))|in advance|ahead of time|when|what time|deadline|by when|until when|within)\b/i, states: /\d+\s*(?:minutes?|hours?|days?|weeks?|months?|years?|working days)\b|\b(?:before|after|until|from)\s+\d/i, bonus: 1.5 },
  { asks: /\b(?:how (?:many|heavy|big|old)|how much\s+(?:checked\s+|carry[\s-]?on\s+|hand\s+|cabin\s+)?(?:baggage|luggage|bags?|weight|alcohol|liquids?|can|may)|limit|maximum|minimum|max|min|allowance)\b/i, states: /\d/, bonus: 1 },
  { asks: /\b(?:options?|alternatives?|choices?|what (?:can|should|do) (?:i|we) do|what now|rights)\b/i, states: /\b(?:choose|instead|option|either)\b/i, bonus: 2 },
  { asks: /^(?:can|may|is|are|do|does|am|will|could)\b|\b(?:allowed|permitted|possible)\b/i, states: /\b(?:can|cannot|may|must|not|allowed|only|never|no)\b/i, bonus: 0.5 },
];

function groundedAnswer(reading: Reading, passages: readonly ContextPassage[]): string {
  const byKind = (kind: PassageKind) => passages.filter((p) => kindOf(p) === kind);
  const trip = byKind('trip')[0];
  const parts: string[] = [];
  const schedule = byKind('schedule')[0];
  if (schedule) parts.push(scheduleAnswer(schedule));
  const flight = byKind('flight')[0];
  const policies = byKind('policy');
  if (flight) parts.push(flightAnswer(flight, reading, policies.length > 0));
  const policy = bestPolicyAnswer(reading, policies, trip);
  if (policy) parts.push(policy);
  if (parts.length > 0) return parts.join(' ');
  const first = passages[0]!;
  return (
    `I could not find ${reading.question ? `an answer to "${quote(reading.question)}"` : 'an answer'} in the information I was given. ` +
    `The closest source I have says: ${cite({ text: passageSentences(first.text)[0]!.sentence.trim(), n: first.n, score: 0, order: 0 })} ` +
    'You can ask me to pass this to a person from our contact centre.'
  );
}

/** The schedule passage says it all in order: the next flight (or the day's), then the others. */
function scheduleAnswer(passage: ContextPassage): string {
  return passageSentences(passage.text)
    .slice(0, 2)
    .map((s) => cite({ text: s.sentence.trim(), n: passage.n, score: 1, order: 0 }))
    .join(' ');
}

/** Status sentences a flight question asks for: the headline, and the sentence with the detail asked. */
const FLIGHT_DETAILS: ReadonlyArray<[RegExp, RegExp]> = [
  [/\bgate\b|\bterminal\b|\bwhere\b/i, /\bgate\b|\bterminal\b/i],
  [/\bcheck[\s-]?in\b|\bbag drop\b/i, /\bcheck-in\b/i],
  [/\baircraft\b|\bplane\b|\btype\b/i, /\baircraft\b/i],
  [/\barriv\w*|\bland\w*|\bget (?:in|there)\b/i, /\barriv\w*/i],
  [/\b(?:depart\w*|leav\w*|take[\s-]?off|what time|when)\b/i, /\bdepart\w*/i],
];

function flightAnswer(passage: ContextPassage, reading: Reading, alsoPolicy: boolean): string {
  const sentences = passageSentences(passage.text).map((s) => s.sentence.trim());
  const chosen = new Set<number>([0]);
  for (const [asks, states] of FLIGHT_DETAILS) {
    if (!asks.test(reading.question)) continue;
    const at = sentences.findIndex((s, i) => i > 0 && states.test(s));
    if (at > 0) chosen.add(at);
    break;
  }
  // Without a particular detail, the headline and its times.
  if (chosen.size === 1 && sentences.length > 1 && !alsoPolicy) chosen.add(1);
  return [...chosen]
    .sort((a, b) => a - b)
    .slice(0, 2)
    .map((i) => cite({ text: sentences[i]!, n: passage.n, score: 1, order: i }))
    .join(' ');
}

/**
 * The answer from the policy passage that answers best: each passage's own best answer (a table
 * cell or a sentence) is scored by how much of the question it covers, plus its heading's words,
 * less a little for a lower search rank. Only one passage answers: never a sentence of another
 * section because it shares words.
 */
/** `OFFLINE_LLM_DEBUG=1`: print each passage's candidate answer and score to stderr (tuning the composer). Read once. */
const DEBUG = process.env.OFFLINE_LLM_DEBUG === '1';

const PROCEDURE = /^\s*(?:how (?:do|can|should) (?:i|we)|what (?:do|should) (?:i|we) (?:need|do)|do (?:i|we) need|what happens|what is the process|how does .* work)\b/i;

function bestPolicyAnswer(reading: Reading, passages: readonly ContextPassage[], trip: ContextPassage | undefined): string | null {
  let best: { text: string; score: number } | undefined;
  passages.forEach((passage, rank) => {
    const candidate = policyAnswer(passage, reading, trip);
    if (!candidate) return;
    const heading = cachedTerms(passage.title ?? '');
    let titleHits = 0;
    for (const term of reading.terms) if (heading.has(term)) titleHits += weightIn(reading, term);
    for (const term of reading.carried) if (heading.has(term)) titleHits += 0.5 * weightIn(reading, term);
    // The heading names the section's topic: a word of the question there weighs more than in a sentence.
    const score = candidate.score + 1.5 * titleHits - 0.3 * rank;
    if (DEBUG) console.error(`[${passage.n}] ${passage.title} score=${score.toFixed(2)} (${candidate.score.toFixed(2)} + ${titleHits}) ${candidate.text.slice(0, 120)}`);
    if (!best || score > best.score) best = { text: candidate.text, score };
  });
  return best && best.score > 0.5 ? best.text : null;
}

function policyAnswer(passage: ContextPassage, reading: Reading, trip: ContextPassage | undefined): { text: string; score: number } | null {
  const sentences = passageSentences(passage.text);
  const quantities = quantitiesIn(reading.question);
  const kinds = FACT_KINDS.filter((k) => k.asks.test(reading.question) || (reading.followUp && k.asks.test(reading.focus)));
  const rows = sentences.map((s, i) => parseTableRow(s.sentence, i));
  const scored = sentences.map(({ sentence, words }, i) => {
    let score = 0;
    // A table row's words are mostly its headers: it is scored as a table below.
    const weight = rows[i] ? 0.5 : 1;
    for (const term of reading.terms) if (words.has(term)) score += weight * weightIn(reading, term);
    for (const term of reading.carried) if (words.has(term)) score += 0.5 * weight * weightIn(reading, term);
    for (const kind of kinds) if (kind.states.test(sentence)) score += kind.bonus;
    score += 2.5 * rangeFit(sentence, quantities);
    return { text: sentence.trim(), n: passage.n, score, order: i };
  });
  const tableRows = rows.filter((r): r is TableRow => r !== null);
  const ranked = [...scored].sort((a, b) => b.score - a.score || a.order - b.order);
  const best = ranked[0];
  if (!best) return null;
  const tripTerms = trip ? terms(trip.text) : EMPTY_TERMS;
  let table: { text: string; score: number } | null = null;
  if (tableRows.length > 0) {
    // Labels are matched on whole words, not stems: "lighters" must not pick the "Light" fare.
    const sources: SlotSource[] = [
      { terms: labelWords(reading.question, reading.translated), weight: 3 },
      { terms: reading.followUp ? labelWords(reading.focus.slice(reading.question.length)) : EMPTY_TERMS, weight: 1 },
      { terms: trip ? labelWords(trip.text) : EMPTY_TERMS, weight: 1.5 },
    ];
    const choice = chooseCells(tableRows, sources, (text) => labelWords(text));
    const named = (choice.rowChosen ? 1 : 0) + (choice.headerChosen ? 1 : 0);
    const askedWords = new Set([...sources[0]!.terms, ...sources[1]!.terms]);
    const fromQuestion = (labels: string[]) => labels.some((l) => [...labelWords(l)].some((w) => askedWords.has(w)));
    const asked = (choice.rowChosen && fromQuestion(choice.rows.map((r) => r.label)) ? 1 : 0) + (choice.headerChosen && fromQuestion(choice.headers) ? 1 : 0);
    if (named > 0) {
      // The cells hold the kind of fact asked (an amount, a time) or they are not the answer.
      const cellsState = kinds.some((k) => tableRows.some((r) => k.states.test(r.cells.map((c) => c.value).join(' '))));
      const kindBonus = cellsState ? 1 : kinds.length > 0 ? -1 : 0;
      table = { text: tableAnswer(passage, choice, trip, scored, rows), score: 1.5 * asked + named + 1.5 * kindBonus + best.score * 0.3 };
    }
  }
  const prose = ranked.filter((s) => !rows[s.order]);
  const lead = prose[0];
  let proseAnswer: { text: string; score: number } | null = null;
  if (lead && lead.score > 0) {
    const chosen = [lead];
    for (const s of prose.slice(1)) {
      if (chosen.length >= 3) break;
      if (s.score >= Math.max(1, lead.score * 0.5)) chosen.push(s);
    }
    // "How do I …" asks for the steps: the sentences that follow the lead, in order.
    if (PROCEDURE.test(reading.question)) {
      for (const s of scored) {
        if (chosen.length >= 3) break;
        if (s.order > lead.order && !rows[s.order] && !chosen.includes(s)) chosen.push(s);
      }
    }
    const first = narrow(lead, reading, tripTerms);
    proseAnswer = { text: [first, ...chosen.slice(1).sort((a, b) => a.order - b.order)].map(cite).join(' '), score: lead.score };
  }
  if (DEBUG) console.error(`  [${passage.n}] table=${table?.score.toFixed(2)} prose=${proseAnswer?.score.toFixed(2)}`);
  if (table && (!proseAnswer || table.score >= proseAnswer.score)) return table;
  return proseAnswer;
}

/**
 * In a sentence that lists prices or amounts by case ("… an overweight fee of NZD 30 on domestic
 * flights, NZD 80 on Tasman and Pacific flights and NZD 125 on flights to Asia and the Americas"),
 * the one case the question or the trip names, after the sentence's lead-in.
 */
function narrow(sentence: ScoredSentence, reading: Reading, tripTerms: ReadonlySet<string>): ScoredSentence {
  const text = sentence.text.replace(/[.]$/, '');
  const parts = text.split(/(?:,\s+(?:and\s+)?|;\s+|\s+and\s+)(?=NZD\s?\d)/);
  if (parts.length < 2) return sentence;
  const firstValue = parts[0]!.search(/NZD\s?\d/);
  if (firstValue <= 0) return sentence;
  const lead = parts[0]!.slice(0, firstValue);
  const values = [parts[0]!.slice(firstValue), ...parts.slice(1)];
  const scores = values.map((v) => {
    const words = terms(v);
    let score = 0;
    for (const term of reading.terms) if (words.has(term)) score += 3;
    for (const term of reading.carried) if (words.has(term)) score += 1;
    for (const term of tripTerms) if (words.has(term)) score += 1.5;
    return score;
  });
  const top = Math.max(...scores);
  const picked = values.filter((_, i) => scores[i] === top);
  if (top <= 0 || picked.length !== 1) return sentence;
  return { ...sentence, text: `${lead}${picked[0]!.trim()}.` };
}

function tableAnswer(
  passage: ContextPassage,
  choice: TableChoice,
  trip: ContextPassage | undefined,
  scored: readonly ScoredSentence[],
  rows: ReadonlyArray<TableRow | null>,
): string {
  const out: string[] = [];
  const cell = (row: TableRow, header: string) => row.cells.find((c) => c.header === header)?.value ?? '';
  if (choice.rowChosen && choice.headerChosen) {
    for (const row of choice.rows) {
      for (const header of choice.headers) out.push(cite({ text: `${row.label}, ${header}: ${cell(row, header)}.`, n: passage.n, score: 1, order: row.index }));
    }
  } else if (choice.rowChosen) {
    for (const row of choice.rows) {
      out.push(cite({ text: `${row.label} \u2014 ${row.cells.map((c) => `${c.header}: ${c.value}`).join('; ')}.`, n: passage.n, score: 1, order: row.index }));
    }
  } else {
    for (const header of choice.headers) {
      out.push(cite({ text: `${header} \u2014 ${choice.rows.map((r) => `${r.label}: ${cell(r, header)}`).join('; ')}.`, n: passage.n, score: 1, order: 0 }));
    }
  }
  // Say which column applied when it came from the trip, not from the question.
  if (trip && choice.headerChosen) {
    const tripTerms = terms(trip.text);
    if (choice.headers.some((h) => [...terms(h)].some((w) => tripTerms.has(w)))) {
      out.push(cite({ text: passageSentences(trip.text)[0]!.sentence.trim(), n: trip.n, score: 1, order: 0 }));
    }
  }
  // At most one condition from the same passage: the best prose sentence that shares the question's words.
  const condition = [...scored].filter((s) => !rows[s.order] && s.score >= 2).sort((a, b) => b.score - a.score || a.order - b.order)[0];
  if (condition) out.push(cite(condition));
  return out.join(' ');
}

/** The sentence with its citation before the final punctuation: "… two bags [1]." */
function cite(sentence: ScoredSentence): string {
  const match = /[.!?]+$/.exec(sentence.text);
  const stem = match ? sentence.text.slice(0, match.index) : sentence.text;
  return `${stem} [${sentence.n}]${match ? match[0] : '.'}`;
}

/** Topic lines for the no-context answer, first match wins; keywords are compared as terms. */
const TOPICS: ReadonlyArray<{ keywords: readonly string[]; line: string }> = [
  {
    keywords: ['bag', 'baggage', 'luggage', 'suitcase', 'carry', 'overweight', 'weight', 'kg'],
    line: 'For baggage, I can explain carry-on and checked allowances, fees for extra or overweight bags, and what to do about delayed or damaged luggage.',
  },
  {
    keywords: ['cancel', 'cancellation', 'refund', 'money', 'compensation', 'voucher', 'credit'],
    line: 'For cancellations and refunds, I can explain the usual options: a refund to the original payment, a travel credit, or rebooking, depending on the fare.',
  },
  {
    keywords: ['change', 'rebook', 'reschedule', 'date', 'name', 'upgrade'],
    line: 'For changes, I can explain how rebooking works and which fees or fare differences may apply.',
  },
  {
    keywords: ['delay', 'late', 'status', 'departure', 'arrival', 'gate', 'miss', 'connection', 'time'],
    line: 'For delays and flight status, I can explain what to expect and what you are entitled to, but I cannot see live flight data in offline mode.',
  },
  {
    keywords: ['check', 'checkin', 'boarding', 'pass', 'passport', 'visa', 'document'],
    line: 'For check-in and boarding, I can explain when check-in opens, how to get a boarding pass and which documents to bring.',
  },
  {
    keywords: ['seat', 'legroom', 'window', 'aisle', 'meal', 'food'],
    line: 'For seats and meals, I can explain how to choose or change a seat and what is served on board.',
  },
  {
    keywords: ['wheelchair', 'assistance', 'pet', 'dog', 'cat', 'infant', 'child', 'baby', 'pregnant'],
    line: 'For special assistance, pets or travelling with children, I can explain what to arrange before you fly.',
  },
].map((topic) => ({ keywords: topic.keywords.map(normalize), line: topic.line }));

const GREETING = /^(?:hi|hello|hey|good (?:morning|afternoon|evening))\b/i;

function supportAnswer(question: string): string {
  if (!question) {
    return `I did not receive a question. ${CAPABILITIES} ${CLOSING}`;
  }
  const asked = terms(question);
  const topic = TOPICS.find((t) => t.keywords.some((k) => asked.has(k)));
  const opening = GREETING.test(question) ? 'Hello! ' : '';
  const topicLine = topic ? ` ${topic.line}` : '';
  const quoted = quote(question);
  const stop = /[.!?…]$/.test(quoted) ? '' : '.';
  return `${opening}You asked: "${quoted}"${stop}${topicLine} ${CAPABILITIES} ${CLOSING}`;
}

const CAPABILITIES =
  'I can help with bookings and changes, cancellations and refunds, baggage, check-in and boarding, seats, and flight status.';
const CLOSING =
  'In offline mode I cannot look up your booking or live flight data, so please confirm details in the airline app or with an agent.';

/** The question shortened at a word boundary, for quoting back. */
function quote(question: string): string {
  if (question.length <= QUOTE_CHARS) return question.replace(/"/g, "'");
  const cut = question.slice(0, QUOTE_CHARS);
  const space = cut.lastIndexOf(' ');
  return `${(space > QUOTE_CHARS / 2 ? cut.slice(0, space) : cut).replace(/"/g, "'")}…`;
}

/** Words that carry no topic; dropped before comparing. */
const STOPWORDS = new Set(
  (
    'a an the and or but if of to in on at for from by with about as is are was were be been being do does did ' +
    'have has had i me my we our you your it its this that these those what which who whom how when where why ' +
    'can could would should will shall may might must please there their they them he she his her so than then ' +
    'too very just not no yes any some all also more most much many into onto over under up down out off again ' +
    'am get got hi hello hey thanks thank want need know tell'
  ).split(' '),
);

/**
 * Passages repeat from prompt to prompt (the same policy documents, the same flight record),
 * questions do not: a passage's sentences and their terms are kept, so a request only analyses
 * its question. Under load this analysis was most of the offline model's own CPU per request.
 * Bounded; dropped whole when full.
 */
const ANALYSED_TEXTS_MAX = 2048;
const analysedPassages = new Map<string, ReadonlyArray<{ sentence: string; words: ReadonlySet<string> }>>();
const analysedTitles = new Map<string, ReadonlySet<string>>();
const EMPTY_TERMS: ReadonlySet<string> = new Set();

function passageSentences(text: string): ReadonlyArray<{ sentence: string; words: ReadonlySet<string> }> {
  let sentences = analysedPassages.get(text);
  if (!sentences) {
    sentences = text.split(SENTENCE_END).map((sentence) => ({ sentence, words: terms(sentence) }));
    if (analysedPassages.size >= ANALYSED_TEXTS_MAX) analysedPassages.clear();
    analysedPassages.set(text, sentences);
  }
  return sentences;
}

function cachedTerms(title: string): ReadonlySet<string> {
  let words = analysedTitles.get(title);
  if (!words) {
    words = terms(title);
    if (analysedTitles.size >= ANALYSED_TEXTS_MAX) analysedTitles.clear();
    analysedTitles.set(title, words);
  }
  return words;
}

/** Whole words of a text for matching table labels: lower-case, stop words dropped, a plural "s" dropped. */
function labelWords(text: string, extra: readonly string[] = []): Set<string> {
  const out = new Set<string>();
  for (const match of `${text} ${extra.join(' ')}`.toLowerCase().matchAll(WORD)) {
    const word = match[0];
    if (STOPWORDS.has(word) || (word.length < 2 && !/\d/.test(word))) continue;
    out.add(word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word);
  }
  return out;
}

/** Content words of a text, normalized, as a set. */
export function terms(text: string): Set<string> {
  const out = new Set<string>();
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const word = match[0];
    if (STOPWORDS.has(word)) continue;
    if (word.length < 2 && !/\d/.test(word)) continue;
    out.add(normalize(word));
  }
  return out;
}

/**
 * A crude stemmer, enough for word overlap: drop a plural or verb suffix, then keep the first
 * five letters, so "cancelled", "cancellation" and "cancel" meet, as do "bags" and "bag".
 */
function normalize(word: string): string {
  let w = word.toLowerCase();
  if (w.length > 5 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 5 && /(?:ch|sh|ss|x)es$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 5 && /(?:ations?|ings?|ed)$/.test(w)) w = w.replace(/(?:ations?|ings?|ed)$/, '');
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
  if (w === 'children' || w === 'childs') w = 'child';
  return w.length > STEM_LENGTH ? w.slice(0, STEM_LENGTH) : w;
}
