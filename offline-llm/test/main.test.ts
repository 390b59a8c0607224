/**
 * The process entry, run as the stack runs it:
 *
 *   test ──spawn (env)──▶ node src/main.ts ──stdout: pino JSON──▶ test reads the URL
 *        ──GET /health──▶            ◀──SIGTERM── test; exit code 0 after 'offline model closed'
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { rawRequest, withTimeout } from './helpers.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Only what the process needs: the config is read from these, nothing from the test's own env. */
function start(env: Record<string, string>): { child: ChildProcess; lines: () => Array<Record<string, unknown>>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: packageDir,
    env: { PATH: process.env.PATH ?? '', OFFLINE_LLM_HOST: '127.0.0.1', OFFLINE_LLM_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const lines = () =>
    out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { child, lines, stderr: () => err };
}

async function exitCode(child: ChildProcess, message: string): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await withTimeout(once(child, 'exit'), message)) as [number | null];
  return code;
}

t.test('logs its URL, serves, and exits 0 on SIGTERM after closing', async (t) => {
  const { child, lines, stderr } = start({
    LOG_LEVEL: 'info',
    OFFLINE_LLM_ALLOW_OVERRIDES: 'true',
    OFFLINE_LLM_FILL: 'true',
    OFFLINE_LLM_TTFT_MS: '0',
    OFFLINE_LLM_TOKENS_PER_SECOND: '0',
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await withTimeout(
    (async () => {
      while (!lines().some((l) => l.msg === 'offline model listening')) {
        if (child.exitCode !== null) throw new Error(`exited early: ${stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })(),
    'the listening log line',
    20_000,
  );
  const listening = lines().find((l) => l.msg === 'offline model listening')!;
  t.match(listening, {
    level: 'info',
    role: 'offline-llm',
    url: /^http:\/\/127\.0\.0\.1:\d+\/v1$/,
    ttftMs: 0,
    tokensPerSecond: 0,
    answerTokens: 120,
    fillToAnswerTokens: true,
    allowRequestOverrides: true,
  });
  const port = Number(new URL(String(listening.url)).port);
  const health = await rawRequest(port, 'GET', '/health');
  t.strictSame(JSON.parse(health.body), { status: 'healthy' });
  const models = await rawRequest(port, 'GET', '/v1/models');
  t.equal((JSON.parse(models.body) as { data: Array<{ id: string }> }).data[0]!.id, 'gpt-4o-mini', 'lists the configured chat model');
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] });
  const usage = async (headers: Record<string, string> = {}) =>
    (JSON.parse((await rawRequest(port, 'POST', '/v1/chat/completions', body, headers)).body) as { usage: { completion_tokens: number } }).usage
      .completion_tokens;
  t.equal(await usage(), 120, 'OFFLINE_LLM_FILL: filled to answerTokens');
  t.equal(await usage({ 'x-offline-answer-tokens': '250' }), 250, 'OFFLINE_LLM_ALLOW_OVERRIDES: headers honoured');
  t.ok((await usage({ 'x-offline-fill': '0' })) < 120, 'x-offline-fill: 0');

  child.kill('SIGTERM');
  t.equal(await exitCode(child, 'exit after SIGTERM'), 0);
  t.ok(lines().some((l) => l.msg === 'offline model closed'));
});

t.test('refuses a bad config, naming the variable', async (t) => {
  const flag = start({ OFFLINE_LLM_ALLOW_OVERRIDES: 'maybe', OFFLINE_LLM_FILL: 'lots' });
  t.equal(await exitCode(flag.child, 'exit on bad flags'), 2, 'a config error exits 2, like the gateway and worker');
  t.match(flag.stderr(), /OFFLINE_LLM_ALLOW_OVERRIDES \(offlineLlm\.allowRequestOverrides\): must be boolean \(got "maybe"\)/);
  t.match(flag.stderr(), /OFFLINE_LLM_FILL \(offlineLlm\.fillToAnswerTokens\): must be boolean \(got "lots"\)/);

  const config = start({ OFFLINE_LLM_TTFT_MS: 'soon' });
  t.equal(await exitCode(config.child, 'exit on a bad config'), 2);
  t.match(config.stderr(), /OFFLINE_LLM_TTFT_MS \(offlineLlm\.ttftMs\)/);
});
