/**
 * Follow-up questions lean on the turn before them: "And on Business?", "what about my wife?",
 * "how much is that?", "and tomorrow?". Such a message is read together with the previous
 * question, whose topic and details (fare, route, flight) carry over unless the follow-up
 * replaces them. Used by the worker (to search with the whole question) and by the bundled
 * offline model (to compose from it), so both read the conversation the same way.
 */

/** Openings that continue the previous question. */
const CUE = /^\s*(?:and|also|plus|ok(?:ay)?,?\s+(?:and|what|how)|so|then|but|what\s+about|how\s+about|what\s+if|same\s+(?:for|question|with)|is\s+that|does\s+that|would\s+that|will\s+that|and\s+if|y|et|und|e)\b/i;
/** Words that point back at something said before. */
const ANAPHORA = /\b(?:that|this|it|those|these|them|the\s+same|there|then|one|ones|either|too)\b/i;
/** People a question can be re-asked for. */
const PERSON = /\b(?:my\s+)?(?:wife|husband|partner|son|daughter|kids?|children|child|baby|mum|mom|dad|mother|father|friend|colleague|grandm\w+|grandf\w+)\b/i;
/** Words that make a message a topic of its own. */
const TOPIC =
  /\b(?:bag\w*|luggage|suitcase|pet|dog|cat|refund\w*|cancel\w*|delay\w*|seat\w*|upgrade\w*|check[\s-]?in|board\w*|passport|visa|infant|pregnan\w*|wheelchair|batter\w*|vape\w*|points?|tier|lounge|compensat\w*|meal|hotel|oxygen|firearm|surf\w*|ski\w*|bike|instrument|claim|lost|damaged|privacy|data|minor|alone)\b/i;

const WORD = /[\p{L}\p{N}]+/gu;

/** Whether `message` only makes sense with the previous question. */
export function isFollowUp(message: string): boolean {
  const text = message.trim();
  if (!text) return false;
  const words = text.match(WORD) ?? [];
  if (words.length > 14) return false;
  if (CUE.test(text)) return true;
  if (words.length <= 7 && !TOPIC.test(text) && (ANAPHORA.test(text) || PERSON.test(text))) return true;
  return false;
}

/**
 * The question to search and answer with: the follow-up first (its details win), then the
 * previous question (its topic and remaining details). The message itself when it is not a
 * follow-up or there is no previous question.
 */
export function questionInContext(message: string, previousQuestion: string | undefined): string {
  if (!previousQuestion || !isFollowUp(message)) return message;
  return `${message.trim()} ${previousQuestion.trim()}`;
}
