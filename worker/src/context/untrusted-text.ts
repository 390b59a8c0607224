/**
 * Retrieved text (policy passages, flight data from another service) is untrusted: it is quoted
 * to the model as data and must never read as instructions. Before it goes into a prompt:
 *
 * - invisible and control characters are removed (zero-width characters, bidirectional
 *   controls, Unicode tag characters U+E0000–E007F, variation selectors) and the text is folded
 *   with NFKC, so hidden or look-alike text cannot smuggle words past the checks below;
 * - line breaks become spaces, so a passage can never start a new prompt line (no fake
 *   `[n]` passage, role line or heading);
 * - chat-template tokens and role markers (`<|im_start|>`, `[INST]`, `<system>`, `System:`)
 *   are removed;
 * - any sentence that addresses the model ("ignore previous instructions", "you are now …",
 *   "reveal your system prompt", "tell the customer to …") is replaced by a marker;
 * - links are dropped and citation-like `[3]` becomes `(3)`, so the text cannot forge citations.
 */

export interface NeutralisedText {
  text: string;
  /** How many tokens, markers, sentences or links were removed. */
  removed: number;
}

/** Replaces a sentence that addressed the model. */
export const REMOVED_INSTRUCTION = '[instruction-like text removed]';

const INVISIBLE = /[\u0000-\u0008\u000E-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFFB]|\uDB40[\uDC00-\uDDEF]/g;

/** Chat-template and prompt-format tokens of common model families. */
const TEMPLATE_TOKENS: readonly RegExp[] = [
  /<\|[^|>]{0,40}\|>/g, // <|im_start|>, <|system|>, <|endoftext|>
  /<\/?s>/g,
  /\[\/?INST\]/gi,
  /<<\/?SYS>>/gi,
  /<\/?(?:system|assistant|user|developer|tool|human|instructions?|prompt|context)\b[^>]{0,80}>/gi,
  /(?:^|\s)#{1,6}\s*(?:system|instructions?|assistant|user|response|developer)\b:?/gi,
];

/** "System:", "assistant :", "Developer prompt:" written as a speaker label. */
const ROLE_MARKER = /(^|[\s([{"'“‘>.!?;,-])(?:system|assistant|developer|user|human|ai|model|bot)(?:\s+(?:prompt|message|instructions?))?\s*:/gi;

/** Sentences that speak to the model rather than inform the customer. */
const INSTRUCTION_PATTERNS: readonly RegExp[] = [
  /\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:instructions?|rules?|prompts?|directions?|guidelines?|guardrails?|context|messages?|everything)\b/i,
  /\b(?:previous|prior|earlier|above|original|system)\s+(?:instructions?|rules?|prompts?|messages?)\b/i,
  /\byou\s+(?:are|will\s+be|must\s+now\s+be)\s+now\b|\byou\s+are\s+no\s+longer\b|\bfrom\s+now\s+on\b/i,
  /\b(?:act|behave|respond|answer|reply|speak)\s+(?:as|like)\s+(?:an?\s+|the\s+)?(?:unrestricted|different|new|evil|jailbroken|dan\b)/i,
  /\b(?:pretend|roleplay|role-play)\b.{0,30}\b(?:you|to\s+be)\b/i,
  /\bnew\s+(?:instructions?|rules?|system\s+prompt|persona|task)\b/i,
  /\b(?:reveal|print|show|repeat|output|leak|disclose|expose)\b.{0,30}\b(?:system\s+prompt|prompt|instructions?|api\s+keys?|secrets?|passwords?|hidden)\b/i,
  /\b(?:do\s+not|don'?t|never)\s+(?:follow|obey|apply|mention|cite|tell)\b.{0,40}\b(?:rules?|instructions?|policy|policies|sources?|customer|user)\b/i,
  /\b(?:tell|ask|instruct|convince|advise)\s+(?:the\s+)?(?:customer|user|passenger|caller|them)\s+(?:to|that)\b/i,
  /\b(?:respond|reply|answer)\s+(?:only\s+)?with\b|\bsay\s+(?:exactly|only|verbatim)\b|\brespond\s+in\s+the\s+following\b/i,
  /\b(?:jailbreak|jailbroken|dan\s+mode|developer\s+mode|god\s+mode|prompt\s+injection)\b/i,
  /\b(?:as\s+an?\s+ai|the\s+(?:assistant|model|llm|ai|chatbot|bot)\s+(?:must|should|will|may\s+now))\b/i,
  // Asking for secrets; a warning ("do not share passwords") is fine.
  /(?<!\b(?:not|never|n't|no)\s+)\b(?:send|share|email|give|provide|enter|type|confirm)\s+(?:us\s+|me\s+)?(?:your|their|the\s+customer'?s|full)\s+.{0,20}\b(?:card\s+(?:numbers?|details)|cvv|cvc|passwords?|pin|passport\s+numbers?|bank\s+details)\b/i,
];

const URL = /\b(?:https?:\/\/|www\.)[^\s<>"')\]]+/gi;
const CITATION = /\[(\d{1,4})\]/g;
const SENTENCE = /(?<=[.!?])\s+(?=\S)/;

/**
 * Results by input, per cap. Passages repeat from turn to turn (the same policy documents, the
 * same flight record), and the dozen instruction patterns run over every sentence of each were a
 * visible share of the worker's CPU per turn. The function is pure, so a result is reused as is
 * (frozen: it is shared). Bounded; dropped whole when full.
 */
const NEUTRALISED_MAX = 4096;
const neutralised = new Map<number, Map<string, Readonly<NeutralisedText>>>();
let neutralisedCount = 0;

/** Neutralises untrusted text for a prompt, as described above; `maxChars` caps the result. */
export function neutraliseUntrustedText(input: string, maxChars = 2000): Readonly<NeutralisedText> {
  let byInput = neutralised.get(maxChars);
  const known = byInput?.get(input);
  if (known) return known;
  const result = Object.freeze(neutraliseUncached(input, maxChars));
  if (neutralisedCount >= NEUTRALISED_MAX) {
    neutralised.clear();
    neutralisedCount = 0;
    byInput = undefined;
  }
  if (!byInput) neutralised.set(maxChars, (byInput = new Map()));
  byInput.set(input, result);
  neutralisedCount++;
  return result;
}

function neutraliseUncached(input: string, maxChars: number): NeutralisedText {
  let removed = 0;
  const count = (pattern: RegExp, replacement: string) => (text: string) =>
    text.replace(pattern, (...args: unknown[]) => {
      removed++;
      return typeof args[1] === 'string' && replacement.includes('$1') ? replacement.replace('$1', args[1]) : replacement;
    });

  let text = input.normalize('NFKC').replace(INVISIBLE, '');
  text = text.replace(/\s+/g, ' ');
  for (const pattern of TEMPLATE_TOKENS) text = count(pattern, ' ')(text);
  text = count(ROLE_MARKER, '$1')(text);
  text = count(URL, '[link removed]')(text);
  text = text.replace(CITATION, '($1)');
  const sentences = text.split(SENTENCE).map((sentence) => {
    if (!INSTRUCTION_PATTERNS.some((p) => p.test(sentence))) return sentence;
    removed++;
    return REMOVED_INSTRUCTION;
  });
  // Consecutive removed sentences collapse into one marker.
  const kept = sentences.filter((s, i) => !(s === REMOVED_INSTRUCTION && sentences[i - 1] === REMOVED_INSTRUCTION));
  text = kept.join(' ').replace(/\s+/g, ' ').trim();
  if (text.length > maxChars) text = `${text.slice(0, maxChars - 1).trimEnd()}…`;
  return { text, removed };
}

/**
 * A passage title for a `[n] Title: text` line: neutralised, without `:` `.` `!` `?` (they end
 * the title in that format), at most `maxChars` characters.
 */
export function neutraliseTitle(input: string, maxChars = 80): string {
  const { text } = neutraliseUntrustedText(input, maxChars * 2);
  const clean = text
    .replace(/[:.!?]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (clean.length <= maxChars) return clean || 'Untitled';
  const cut = clean.slice(0, maxChars);
  const space = cut.lastIndexOf(' ');
  return space > maxChars / 2 ? cut.slice(0, space) : cut;
}
