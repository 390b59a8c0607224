/**
 * One question of the assistant's evaluation set (worker/eval/assistant-eval.json) and what its
 * answer must and must not say. A fact is a case-insensitive substring, or a regular expression
 * written `/…/`; `any` lists alternatives of which one must appear.
 */
export interface EvalCase {
  id: string;
  /** policy, table, schedule, flight, follow-up, multi-part, language, off-topic, injection, handoff */
  category: string;
  /** Earlier customer messages of the conversation, answered in order before `question`. */
  before?: string[];
  question: string;
  /** The session's flight and date, as given at session creation. */
  session?: { flight_no: string | null; date: string | null };
  /** Facts that must all appear. */
  must?: string[];
  /** Groups of alternatives: one of each group must appear. */
  any?: string[][];
  /** Facts that must not appear. */
  mustNot?: string[];
}

export interface EvalSet {
  /** The clock the conversations run at (flight statuses depend on it). */
  now: string;
  cases: EvalCase[];
}

/** Whether a fact (substring or `/regex/flags`) is in the answer. */
export function factIn(answer: string, fact: string): boolean {
  const re = /^\/(.+)\/([a-z]*)$/s.exec(fact);
  if (re) return new RegExp(re[1]!, re[2]!.includes('i') ? re[2] : `${re[2]}i`).test(answer);
  return answer.toLowerCase().includes(fact.toLowerCase());
}

/** The facts an answer misses or wrongly states; empty when it passes. */
export function checkAnswer(answer: string, c: EvalCase): string[] {
  const problems: string[] = [];
  for (const fact of c.must ?? []) if (!factIn(answer, fact)) problems.push(`missing "${fact}"`);
  for (const group of c.any ?? []) if (!group.some((f) => factIn(answer, f))) problems.push(`missing one of ${JSON.stringify(group)}`);
  for (const fact of c.mustNot ?? []) if (factIn(answer, fact)) problems.push(`must not say "${fact}"`);
  return problems;
}
