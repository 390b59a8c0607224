import { writeFileSync } from 'node:fs';
import { loadEvalSet, runEval } from './eval-runner.js';

/**
 * `pnpm eval [--set path] [--report path] [--verbose]`: runs the assistant's evaluation set on
 * the embedded default, prints accuracy per category (and each failure), writes the JSON report
 * (default `eval-report.json` in the working directory). Exits 1 below `--floor` (default 0).
 */
const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};

const set = loadEvalSet(option('--set') ?? undefined);
const report = await runEval(set);
const reportPath = option('--report') ?? 'eval-report.json';
writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
console.log(`Assistant evaluation (embedded default, clock ${report.now})`);
for (const [category, r] of Object.entries(report.byCategory).sort()) {
  console.log(`  ${category.padEnd(12)} ${String(r.passed).padStart(3)} / ${String(r.total).padEnd(3)} ${pct(r.accuracy)}`);
}
console.log(`  ${'all'.padEnd(12)} ${String(report.passed).padStart(3)} / ${String(report.total).padEnd(3)} ${pct(report.accuracy)}`);
for (const r of report.results.filter((x) => !x.passed || args.includes('--verbose'))) {
  console.log(`\n${r.passed ? 'PASS' : 'FAIL'} ${r.id} [${r.category}] ${r.question}\n  ${r.problems.join('; ')}\n  → ${r.answer}\n  (${r.query_type}: ${r.sources.join(', ')})`);
}
console.log(`\nreport: ${reportPath}`);
const floor = Number(option('--floor') ?? 0);
if (report.accuracy < floor) process.exitCode = 1;
