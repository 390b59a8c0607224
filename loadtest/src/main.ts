/**
 * `pnpm loadtest <tier> [--target URL] [--gateways N] [--workers N]`: runs one Artillery campaign
 * (campaigns/chat.yml, environment <tier>) and writes Artillery's JSON report and a readable
 * summary under reports/loadtest/. Without --target it starts the local stack for the run
 * (Redis, the offline model at realistic pacing, N gateways, M workers) and stops it after.
 * Exits with Artillery's code: non-zero when an `ensure` check failed. Never imported.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalTarget, type LocalTarget } from './local-target.js';
import { renderSummary, type ArtilleryReport } from './summary.js';
import { TIERS, findTier } from './tiers.js';

const PACKAGE_DIR = fileURLToPath(new URL('../', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CAMPAIGN = join(PACKAGE_DIR, 'campaigns', 'chat.yml');
const ARTILLERY = join(PACKAGE_DIR, 'node_modules', '.bin', 'artillery');

const USAGE = `pnpm loadtest <tier> [--target URL] [--gateways N] [--workers N] [--out DIR]

  tier        ${TIERS.map((t) => `${t.name} (${t.users} users, ${t.holdSeconds} s)`).join(', ')}
  --target    run against this URL (http://host:port of a gateway) instead of a local stack
  --gateways  local stack: gateway processes (default 1)
  --workers   local stack: worker processes (default 1)
  --out       where reports go (default reports/loadtest)
  --fresh-answers  make every question unique, so the response cache answers none of them
`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      gateways: { type: 'string', default: '1' },
      workers: { type: 'string', default: '1' },
      out: { type: 'string', default: join(REPO_ROOT, 'reports', 'loadtest') },
      'fresh-answers': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const tier = findTier(positionals[0] ?? '');
  if (values.help || !tier || positionals.length !== 1) {
    process.stderr.write(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const gateways = Number(values.gateways);
  const workers = Number(values.workers);
  if (!Number.isInteger(gateways) || gateways < 1 || !Number.isInteger(workers) || workers < 1) {
    process.stderr.write('--gateways and --workers take whole numbers ≥ 1\n');
    process.exit(2);
  }
  if (!existsSync(ARTILLERY)) {
    process.stderr.write('artillery is not installed: run `pnpm install` first\n');
    process.exit(1);
  }

  let local: LocalTarget | null = null;
  let targetUrl = values.target ?? '';
  if (!values.target) {
    process.stdout.write(`starting the local stack (${gateways} gateway(s), ${workers} worker(s), offline model at 400 ms / 60 tokens/s)…\n`);
    local = await startLocalTarget({ gateways, workers, users: tier.users });
    targetUrl = local.url;
  }
  const stop = async () => {
    await local?.stop();
  };
  process.on('SIGINT', () => void stop().then(() => process.exit(130)));

  mkdirSync(values.out, { recursive: true });
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const base = join(values.out, `${tier.name}-${stamp}`);
  const args = ['run', '--environment', tier.name, '--target', targetUrl, '--output', `${base}.json`];
  if (values['fresh-answers']) args.push('--variables', JSON.stringify({ freshAnswers: true }));
  args.push(CAMPAIGN);
  const command = `pnpm loadtest ${tier.name}${values.target ? ` --target ${values.target}` : ''}${gateways !== 1 ? ` --gateways ${gateways}` : ''}${workers !== 1 ? ` --workers ${workers}` : ''}${values['fresh-answers'] ? ' --fresh-answers' : ''}`;
  process.stdout.write(`${command}\n  → artillery ${args.join(' ')}\n`);

  let exitCode = 1;
  let output = '';
  try {
    ({ exitCode, output } = await runArtillery(args));
  } finally {
    await stop();
  }
  writeFileSync(`${base}.log`, output);
  const report = existsSync(`${base}.json`) ? (JSON.parse(readFileSync(`${base}.json`, 'utf8')) as ArtilleryReport) : null;
  const checks = output
    .split('\n')
    .map((line) => line.replace(/\u001b\[[0-9;]*m/g, '').trim())
    .filter((line) => /^(ok|fail): /.test(line));
  const summary = renderSummary({
    tier: tier.name,
    target: targetUrl,
    stack: local ? `local stack: ${gateways} gateway(s), ${workers} worker(s), offline model 400 ms TTFT, 60 tokens/s` : null,
    command,
    startedAt,
    finishedAt: new Date(),
    exitCode,
    checks,
    report,
  });
  writeFileSync(`${base}.summary.md`, summary);
  process.stdout.write(`\n${summary}\nreport:  ${base}.json\nsummary: ${base}.summary.md\n`);
  process.exit(exitCode);
}

/** Runs Artillery (telemetry off), echoing its output; resolves with its exit code and output. */
function runArtillery(args: string[]): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ARTILLERY, args, {
      env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const echo = (part: Buffer, to: NodeJS.WriteStream) => {
      output += part.toString();
      to.write(part);
    };
    child.stdout.on('data', (part: Buffer) => echo(part, process.stdout));
    child.stderr.on('data', (part: Buffer) => echo(part, process.stderr));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ exitCode: code ?? 1, output }));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`loadtest failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
