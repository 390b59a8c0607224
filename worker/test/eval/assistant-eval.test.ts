/**
 * The assistant's evaluation set (worker/eval/assistant-eval.json) on the embedded default:
 * context assembly over the bundled documents and timetable, the prompt, and the bundled
 * offline model's answer, each checked for the facts it must and must not contain. The floor
 * sits a little below the accuracy measured when the set was written (see docs/assistant.md);
 * a drop below it is a regression in retrieval, routing or composition.
 */
import t from 'tap';
import { loadEvalSet, runEval } from '../../src/eval/eval-runner.js';

const FLOOR = 0.92;
const CATEGORY_FLOOR = 0.8;

t.test('the evaluation set scores above its floor, overall and in every category', async (t) => {
  const set = loadEvalSet();
  t.ok(set.cases.length >= 80, `at least 80 questions (${set.cases.length})`);
  const report = await runEval(set);
  const failures = report.results.filter((r) => !r.passed).map((r) => `${r.id}: ${r.problems.join('; ')}`);
  t.ok(report.accuracy >= FLOOR, `accuracy ${(report.accuracy * 100).toFixed(1)} % ≥ ${FLOOR * 100} %\n${failures.join('\n')}`);
  for (const [category, r] of Object.entries(report.byCategory)) {
    t.ok(r.accuracy >= CATEGORY_FLOOR, `${category}: ${r.passed}/${r.total}`);
  }
});

t.test('the scorer: substrings, /regex/ facts, alternatives and forbidden facts', async (t) => {
  const { checkAnswer } = await import('../../src/eval/eval-case.js');
  const c = { id: 'x', category: 'table', question: 'q', must: ['23 kg', '/NZ\\d+/'], any: [['free', 'no fee']], mustNot: ['32 kg'] };
  t.strictSame(checkAnswer('1 bag up to 23 kg on NZ123, no fee', c), []);
  t.strictSame(checkAnswer('2 bags up to 32 kg', c), ['missing "23 kg"', 'missing "/NZ\\d+/"', 'missing one of ["free","no fee"]', 'must not say "32 kg"']);
});
