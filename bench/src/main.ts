/**
 * `pnpm bench`: the lean benchmark. Never imported. See `HELP` in bench-options.ts and
 * docs/performance.md.
 */
import { join } from 'node:path';
import { RedisBinaryMissingError } from '@chat/shared/dev';
import { DEFAULT_OUT_DIR, parseBenchArgs, UsageError } from './bench-options.js';
import { REPO_ROOT } from './machine.js';
import { runBench } from './run-bench.js';
import { stopEverything } from './run-context.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2).filter((arg) => arg !== '--');
  let options;
  try {
    options = parseBenchArgs(argv, join(REPO_ROOT, ...DEFAULT_OUT_DIR));
  } catch (err) {
    if (err instanceof UsageError || (err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`${err.message}\n`);
      process.exit(err instanceof UsageError && err.message.startsWith('pnpm bench') ? 0 : 2);
    }
    throw err;
  }
  // Ctrl-C stops the stack and the load clients it started, not just this process.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping the stack and the load clients…\n`);
    void stopEverything().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const outcome = await runBench(options, `pnpm bench ${argv.join(' ')}`.trim(), log);
  if (outcome.report.profiles) for (const p of outcome.report.profiles) log([`profile ${p.role} (${p.file}):`, ...p.summary, ''].join('\n'));
  log(`report: ${outcome.reportPath}${outcome.chartPath ? `\nchart:  ${outcome.chartPath}` : ''}`);
  log(`done in ${Math.round((Date.now() - started) / 1000)} s`);
}

main().catch((err: unknown) => {
  if (err instanceof RedisBinaryMissingError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
