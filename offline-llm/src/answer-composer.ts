/**
 * The offline model's "thinking": a pure function from the conversation to the answer text, so
 * the same prompt always gets the same answer (tests and the answer cache rely on that).
 *
 * - With context passages in the system or last user message (one per line: `[n] Title: text`),
 *   the answer is extractive: the sentences that share the most words with the question, each
 *   followed by its `[n]` citation.
 * - Without passages, it acknowledges the question (quoted briefly) and says what an airline
 *   support assistant can help with, picking a topic line from the question's words.
 *
 * Every answer opens with OFFLINE_NOTICE so no one mistakes it for a real model's.
 */

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

/** Sentences quoted in an extractive answer, at most. */
const MAX_SENTENCES = 3;
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

/** Composes the answer to the last user message; deterministic. */
export function composeAnswer(messages: readonly PromptMessage[]): string {
  return `${OFFLINE_NOTICE} ${composeGroundedAnswer(messages)}`;
}

/**
 * The answer without the offline notice: the worker also uses it as its labelled fallback when
 * the real LLM fails, so the default install and the fallback give the same grounded answer.
 */
export function composeGroundedAnswer(messages: readonly PromptMessage[]): string {
  const question = extractQuestion(messages);
  const passages = extractPassages(messages);
  return passages.length > 0 ? extractiveAnswer(question, passages) : supportAnswer(question);
}

/** Passages from the system messages and the last user message, first occurrence of each `[n]`. */
export function extractPassages(messages: readonly PromptMessage[]): ContextPassage[] {
  const lastUser = lastUserIndex(messages);
  const seen = new Set<number>();
  const passages: ContextPassage[] = [];
  messages.forEach((message, index) => {
    if (message.role !== 'system' && message.role !== 'developer' && index !== lastUser) return;
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

interface ScoredSentence {
  text: string;
  n: number;
  score: number;
  /** Position in the prompt, to break ties the same way every time. */
  order: number;
}

function extractiveAnswer(question: string, passages: readonly ContextPassage[]): string {
  const asked = terms(question);
  const scored: ScoredSentence[] = [];
  let order = 0;
  for (const passage of passages) {
    const titleTerms = passage.title ? cachedTerms(passage.title) : EMPTY_TERMS;
    for (const { sentence, words } of passageSentences(passage.text)) {
      let score = 0;
      for (const term of asked) {
        // A word of the title counts half: it says the passage is on topic, not this sentence.
        if (words.has(term)) score += 1;
        else if (titleTerms.has(term)) score += 0.5;
      }
      scored.push({ text: sentence.trim(), n: passage.n, score, order: order++ });
    }
  }
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  const best = scored[0]!; // passages are never empty here, and neither is a passage's text
  if (best.score === 0) {
    const first = scored.reduce((a, b) => (b.order < a.order ? b : a));
    return (
      `I could not find ${question ? `an answer to "${quote(question)}"` : 'an answer'} in the information I was given. ` +
      `The closest source I have says: ${cite(first)} Please check with an agent before relying on it.`
    );
  }
  // Keep the sentences nearly as relevant as the best one, not every weak match, and quote
  // them in the order the sources give them, which reads better than the order of their scores.
  const chosen = scored.filter((s) => s.score > 0 && s.score >= best.score / 2).slice(0, MAX_SENTENCES);
  chosen.sort((a, b) => a.order - b.order);
  return `Based on the information provided: ${chosen.map(cite).join(' ')}`;
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
  return w.length > STEM_LENGTH ? w.slice(0, STEM_LENGTH) : w;
}
