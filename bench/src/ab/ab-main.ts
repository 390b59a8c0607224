/**
 * An A/B run of the benchmark: the same bench command on a base commit and on this checkout, in
 * alternating runs, so that a change is measured against the commit before it on the same box
 * in the same hour (a box's speed drifts by more than most changes are worth).
 *
 *   pnpm bench:ab --base <commit> [--pairs 6] [--out reports/bench/ab] -- <bench options>
 *   pnpm bench:ab --base HEAD~1 -- --scenario turn-rate --turn-rate-workers 1 --concurrency 200 --duration 15
 *
 * The base is checked out into a temporary git worktree, installed from the store (offline when
 * it can) and built; then the pairs run one after the other, the order swapped every other pair
 * (base–head, head–base, …) so a drift through the session favours neither side. Each run's JSON
 * report is kept under `--out` (`base-<n>/`, `head-<n>/`), and the summary — each figure's median
 * and range on each side, and in how many pairs the checkout did better — is printed and written
 * to `<out>/ab-summary.json`. The worktree is removed at the end, or on Ctrl-C (`--keep-base`
 * keeps it).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchReport } from '../report.js';
import { formatSummary, runFigures, summarise, type RunFigures } from './ab-figures.js';

const USAGE = 'usage: pnpm bench:ab --base <commit> [--pairs N] [--out DIR] [--keep-base] -- <bench options>';

async function main(): Promise<void> {
  const dashDash = process.argv.indexOf('--', 2);
  const own = process.argv.slice(2, dashDash === -1 ? undefined : dashDash);
  const benchArgs = dashDash === -1 ? [] : process.argv.slice(dashDash + 1);
  const { values } = parseArgs({
    args: own,
    options: {
      base: { type: 'string' },
      pairs: { type: 'string', default: '6' },
      out: { type: 'string', default: 'reports/bench/ab' },
      'keep-base': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.base) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const pairs = Number(values.pairs);
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 50) throw new Error(`--pairs takes 1 to 50, got ${values.pairs}`);
  if (benchArgs.some((arg) => arg === '--out' || arg.startsWith('--out='))) throw new Error('give --out before `--` (each run gets its own folder under it)');

  const head = git(['rev-parse', '--show-toplevel']);
  const baseCommit = git(['rev-parse', '--verify', `${values.base}^{commit}`]);
  const headCommit = git(['rev-parse', 'HEAD']);
  const dirty = git(['status', '--porcelain']).length > 0;
  const headLabel = `${headCommit.slice(0, 7)}${dirty ? ' + uncommitted changes' : ''}`;
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });

  // A folder of this run's own: two runs never share (or remove) one worktree. Worktrees whose
  // folders are gone (a run stopped by a kill) are forgotten first, or git refuses new ones.
  git(['worktree', 'prune']);
  const worktree = join(mkdtempSync(join(tmpdir(), 'chat-bench-ab-')), baseCommit.slice(0, 12));
  console.log(`base ${baseCommit.slice(0, 7)}: checking out into ${worktree}…`);
  git(['worktree', 'add', '--detach', worktree, baseCommit]);
  let removed = false;
  const removeWorktree = (): void => {
    // Once: an interrupt and the run's own `finally` may both get here.
    if (removed) return;
    removed = true;
    if (values['keep-base']) {
      console.log(`the base's worktree stays in ${worktree} (--keep-base)`);
      return;
    }
    try {
      git(['worktree', 'remove', '--force', worktree]);
      rmSync(dirname(worktree), { recursive: true, force: true });
    } catch (err) {
      console.error(`could not remove the worktree ${worktree}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  // Ctrl-C (or SIGINT to this process alone): the running bench is stopped (it stops its stack
  // on SIGINT), then the worktree goes.
  const onInterrupt = (): void => {
    void stopCurrentBench().finally(() => {
      removeWorktree();
      process.exit(130);
    });
  };
  process.once('SIGINT', onInterrupt);
  try {
    console.log('base: installing and building…');
    installAndBuild(worktree);
    const base: RunFigures[] = [];
    const checkout: RunFigures[] = [];
    for (let i = 1; i <= pairs; i++) {
      // Base first in odd pairs, head first in even ones: a drift favours neither side.
      const order: Array<'base' | 'head'> = i % 2 === 1 ? ['base', 'head'] : ['head', 'base'];
      for (const side of order) {
        const dir = join(out, `${side}-${i}`);
        console.log(`pair ${i}/${pairs}: ${side}…`);
        const report = await runBench(side === 'base' ? worktree : head, benchArgs, dir);
        (side === 'base' ? base : checkout).push(runFigures(report));
      }
    }
    const summary = summarise(base, checkout);
    const text = formatSummary(summary, baseCommit.slice(0, 7), headLabel);
    console.log(`\n${text}`);
    writeFileSync(
      join(out, 'ab-summary.json'),
      `${JSON.stringify({ command: `pnpm bench:ab ${process.argv.slice(2).join(' ')}`, base: baseCommit, head: headCommit, dirty, benchArgs, summary }, null, 2)}\n`,
    );
    console.log(`\nsummary: ${join(out, 'ab-summary.json')}`);
  } finally {
    process.off('SIGINT', onInterrupt);
    removeWorktree();
  }
}

function git(args: string[]): string {
  return execFileSync('git', args, { encoding: 'utf8' }).trim();
}

/**
 * The base's dependencies from the store (no download when the lockfile is unchanged), then its
 * build. With the pnpm that runs this script (`npx -y pnpm@10 bench:ab` puts none on the PATH).
 */
function installAndBuild(dir: string): void {
  const cli = process.env.npm_execpath;
  // A JavaScript entry (npx, npm-installed pnpm) runs under this node; a standalone pnpm binary
  // is on the PATH as `pnpm`.
  const pnpm = (args: string[]) =>
    cli && /pnpm/.test(cli) && /\.[cm]?js$/.test(cli)
      ? execFileSync(process.execPath, [cli, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] })
      : execFileSync('pnpm', args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    pnpm(['install', '--frozen-lockfile', '--offline']);
  } catch {
    pnpm(['install', '--frozen-lockfile']);
  }
  pnpm(['exec', 'tsc', '-b']);
}

/** The bench run in progress, if any (see `stopCurrentBench`). */
let currentBench: ChildProcess | null = null;

/** Stops the running bench, if any: SIGINT (it stops its stack), SIGKILL after 30 s. */
function stopCurrentBench(): Promise<void> {
  const child = currentBench;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
    child.kill('SIGINT');
  });
}

/** One bench run of `checkout`'s build; resolves its report. */
function runBench(checkout: string, args: readonly string[], out: string): Promise<BenchReport> {
  // An empty folder per run: a report left by an earlier A/B of other scenarios is never read.
  rmSync(out, { recursive: true, force: true });
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(checkout, 'bench/dist/main.js'), ...args, '--out', out], { cwd: checkout, stdio: ['ignore', 'ignore', 'inherit'] });
    currentBench = child;
    child.once('error', reject);
    child.once('exit', (code) => {
      currentBench = null;
      try {
        if (code !== 0) throw new Error(`the bench in ${checkout} exited with code ${code}`);
        const file = existsSync(out) ? readdirSync(out).find((name) => name.startsWith('bench-') && name.endsWith('.json')) : undefined;
        if (!file) throw new Error(`the bench in ${checkout} wrote no report in ${out}`);
        resolvePromise(JSON.parse(readFileSync(join(out, file), 'utf8')) as BenchReport);
      } catch (err) {
        reject(err);
      }
    });
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
