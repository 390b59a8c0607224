/**
 * The start command as a newcomer meets it: `--help` prints the usage (no stack trace), the
 * banner names the chat page and the operator view, a second start on a port already served is
 * refused, and Ctrl-C (SIGINT to the whole foreground process group, as a terminal sends it)
 * stops everything with exit code 0 and no `ELIFECYCLE Command failed` from pnpm.
 *
 *   terminal ─SIGINT─▶ [pnpm ─▶ node stack/dist/main.js ─▶ gateway, worker, offline model] (one group)
 *                                                      └──▶ redis-server (its own group, stopped last)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SERVICE_NODE_FLAGS } from '@chat/shared';
import { createServer } from 'node:net';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const pnpmMissing = spawnSync('pnpm', ['--version'], { encoding: 'utf8' }).status === 0 ? false : 'pnpm is not on PATH';

/**
 * The environment of a fresh shell: nothing that points the stack elsewhere, and none of tap's
 * NODE_OPTIONS (its loaders would run in every part and slow each start-up to a crawl).
 */
function cleanEnv(port: number): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), WORKER_METRICS_PORT: '0', LOG_LEVEL: 'warn' };
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Run {
  // detached: its own process group, so the test can signal the group as a terminal would.
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => text, exited };
}

/**
 * A free port below the ephemeral range: the stack takes a while to start on a busy box, and a
 * port the OS handed out (port 0) can meanwhile go to another process's outgoing connection.
 */
async function freeFixedPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function waitForOutput(running: Run, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(running.output())) {
    if (Date.now() > deadline || running.child.exitCode !== null) throw new Error(`no ${pattern} in the output:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('--help prints the usage and exits 0; a bad option says what is wrong and exits 2', async (t) => {
  const help = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  t.match(help.stdout, /^Usage: pnpm start \[options\]/);
  t.match(help.stdout, /--gateways N/);
  t.equal(help.stderr, '', 'no stack trace');
  const bad = spawnSync(process.execPath, [MAIN, '--gatways', '2'], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /Unknown option '--gatways'/);
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});

t.test('pnpm start: banner with the chat page and /ops, a second start refused, Ctrl-C exits 0 without ELIFECYCLE', { skip: pnpmMissing }, async (t) => {
  const port = await freeFixedPort();
  const first = run('pnpm', ['start'], cleanEnv(port));
  // After a failure midway: Ctrl-C first, so the stack stops its Redis (spawned out of the
  // terminal's group, it outlives a SIGKILL of the group: one was left running after a failed
  // run), and SIGKILL only if that does not end it within 20 s.
  t.teardown(async () => {
    if (first.child.exitCode !== null || first.child.signalCode !== null) return;
    process.kill(-first.child.pid!, 'SIGINT');
    const timer = setTimeout(() => process.kill(-first.child.pid!, 'SIGKILL'), 20_000);
    await first.exited;
    clearTimeout(timer);
  });
  await waitForOutput(first, /Press Ctrl-C/, 120_000);
  // The gateway and the worker run with the service's Node flags (the images' CMD has the same).
  const commands = spawnSync('ps', ['-o', 'args=', '-g', String(first.child.pid)], { encoding: 'utf8' }).stdout.split('\n');
  for (const part of ['gateway', 'worker']) {
    const command = commands.find((line) => line.includes(`${part}/dist/main.js`));
    t.ok(command && SERVICE_NODE_FLAGS.every((flag) => command.includes(` ${flag} `)), `the ${part} runs with ${SERVICE_NODE_FLAGS.join(' ')} (${command})`);
  }
  t.match(first.output(), new RegExp(`Chat page  http://127\\.0\\.0\\.1:${port}/\\n`));
  t.match(first.output(), new RegExp(`Operator   http://127\\.0\\.0\\.1:${port}/ops`));
  // The offline model binds a free port itself (port 0) and the banner names the one it bound.
  const model = /offline model at (http:\/\/127\.0\.0\.1:(\d+)\/v1)/.exec(first.output());
  t.ok(model && Number(model[2]) > 0, `the banner names the offline model's port (${model?.[1]})`);
  t.equal((await fetch(`${model![1]}/models`)).status, 200, 'and the model answers there');

  const second = run(process.execPath, [MAIN], cleanEnv(port));
  const refused = await second.exited;
  t.equal(refused.code, 1, 'the second start refuses');
  t.match(second.output(), new RegExp(`port ${port} is already served by a gateway of this service`));
  t.notMatch(second.output(), /spawned for this run/, 'before it started anything');

  process.kill(-first.child.pid!, 'SIGINT');
  const ended = await first.exited;
  t.same(ended, { code: 0, signal: null }, 'exit code 0');
  t.match(first.output(), /stopped\.\n/);
  t.notMatch(first.output(), /ELIFECYCLE|Command failed/);
});
