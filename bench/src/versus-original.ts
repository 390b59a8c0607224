/**
 * `node bench/dist/versus-original.js`: this service against the original Python service, with
 * one load client in the original's protocol. Never imported. See `HELP` in
 * versus/versus-options.ts and docs/versus-original.md.
 *
 *   conversation clients (child processes) ──REST + ws──▶ this service: gateway, worker, redis ─┐
 *                                          └──REST + ws──▶ the original: uvicorn, redis ────────┴▶ offline model
 */
import { join } from 'node:path';
import { RedisBinaryMissingError } from '@chat/shared/dev';
import { REPO_ROOT } from './machine.js';
import { runVersus, stopVersus } from './versus/run-versus.js';
import { parseVersusArgs, UsageError } from './versus/versus-options.js';

/** Exit code when a side asked for could not run (the original without a checkout). */
const EXIT_SIDE_UNAVAILABLE = 3;

async function main(): Promise<void> {
  const argv = process.argv.slice(2).filter((arg) => arg !== '--');
  let options;
  try {
    options = parseVersusArgs(argv, join(REPO_ROOT, 'reports', 'bench'));
  } catch (err) {
    if (err instanceof UsageError || (err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`${err.message}\n`);
      process.exit(err instanceof UsageError && err.message.startsWith('node bench') ? 0 : 2);
    }
    throw err;
  }
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping the load clients and the service under test…\n`);
    void stopVersus().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const outcome = await runVersus(options, `node bench/dist/versus-original.js ${argv.join(' ')}`.trim(), log);
  log(`\n${outcome.text}\n`);
  log(`report: ${outcome.reportPath}`);
  log(`done in ${Math.round((Date.now() - started) / 1000)} s`);
  if (outcome.unavailable.length > 0) {
    process.stderr.write(`not run: ${outcome.unavailable.join(', ')} (see the reason above); exit code ${EXIT_SIDE_UNAVAILABLE}\n`);
    process.exit(EXIT_SIDE_UNAVAILABLE);
  }
}

main().catch((err: unknown) => {
  if (err instanceof RedisBinaryMissingError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`versus-original failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
