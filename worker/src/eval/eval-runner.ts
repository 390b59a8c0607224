import { readFileSync } from 'node:fs';
import { PiiVault, type HistoryEntry, type SessionContext } from '@chat/shared';
import { composeAnswer } from '@chat/offline-llm';
import { ContextAssembler, createContextSources, formatContextBlock } from '../context/index.js';
import { buildPrompt } from '../prompt-builder.js';
import { tokenCounterFor } from '../token-counter.js';
import { checkAnswer, type EvalCase, type EvalSet } from './eval-case.js';

/**
 * Runs the evaluation set through the embedded default exactly as a turn runs it, in process:
 * the context assembler over the bundled documents and timetable (clock pinned to the set's
 * `now`), the prompt builder with the conversation so far, and the bundled offline model's
 * composer on that prompt. A conversation's earlier messages are answered the same way first,
 * so a follow-up sees the answers the customer saw.
 *
 *   before[0] ─▶ context ─▶ prompt ─▶ offline model ─▶ answer ─┐ (history)
 *   question  ─▶ context ─▶ prompt(history) ─▶ offline model ─▶ answer ─▶ must / mustNot
 */

export const DEFAULT_EVAL_SET = new URL('../../eval/assistant-eval.json', import.meta.url);

export interface CaseResult {
  id: string;
  category: string;
  question: string;
  passed: boolean;
  problems: string[];
  answer: string;
  query_type: string;
  sources: string[];
}

export interface EvalReport {
  now: string;
  total: number;
  passed: number;
  accuracy: number;
  byCategory: Record<string, { total: number; passed: number; accuracy: number }>;
  results: CaseResult[];
}

export function loadEvalSet(path: string | URL = DEFAULT_EVAL_SET): EvalSet {
  return JSON.parse(readFileSync(path, 'utf8')) as EvalSet;
}

export async function runEval(set: EvalSet): Promise<EvalReport> {
  const now = () => new Date(set.now);
  const sources = createContextSources({ now });
  const assembler = new ContextAssembler({
    policy: sources.policy,
    flight: sources.flight,
    ...(sources.schedule ? { schedule: sources.schedule } : {}),
    now,
  });
  const budget = { maxTokens: 2000, countTokens: tokenCounterFor('offline') };
  const results: CaseResult[] = [];
  for (const c of set.cases) results.push(await runCase(c, assembler, budget));
  const byCategory: EvalReport['byCategory'] = {};
  for (const r of results) {
    const entry = (byCategory[r.category] ??= { total: 0, passed: 0, accuracy: 0 });
    entry.total++;
    if (r.passed) entry.passed++;
  }
  for (const entry of Object.values(byCategory)) entry.accuracy = round(entry.passed / entry.total);
  const passed = results.filter((r) => r.passed).length;
  return { now: set.now, total: results.length, passed, accuracy: round(passed / Math.max(1, results.length)), byCategory, results };
}

async function runCase(c: EvalCase, assembler: ContextAssembler, budget: Parameters<typeof buildPrompt>[4]): Promise<CaseResult> {
  const session: SessionContext = {
    customer_name: 'Eval Customer',
    customer_email: 'eval@example.com',
    flight_no: c.session?.flight_no ?? null,
    date: c.session?.date ?? null,
    created_at: '2026-03-01T00:00:00.000Z',
  };
  const history: HistoryEntry[] = [];
  let last = { answer: '', queryType: '', sources: [] as string[] };
  for (const message of [...(c.before ?? []), c.question]) {
    const vault = new PiiVault();
    const scrubbed = vault.scrub(message);
    const context = await assembler.assemble({
      message: scrubbed,
      session: { flight_no: session.flight_no, date: session.date },
      ...(history.length > 0 ? { previous: vault.scrub(history.at(-1)!.user) } : {}),
    });
    const prompt = buildPrompt(session, history, message, vault, budget, formatContextBlock(context));
    const answer = vault.restore(composeAnswer(prompt));
    history.push({ message_id: `m${history.length}`, client_id: null, user: message, assistant: answer, timestamp: new Date(0).toISOString() });
    last = { answer, queryType: context.queryType, sources: context.passages.map((p) => `[${p.n}] ${p.source}`) };
  }
  const problems = checkAnswer(last.answer, c);
  return { id: c.id, category: c.category, question: c.question, passed: problems.length === 0, problems, answer: last.answer, query_type: last.queryType, sources: last.sources };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
