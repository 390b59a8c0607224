/**
 * The gateway refuses the slow JavaScript shim of uWebSockets.js unless told to accept it.
 * The 20.30 package falls back to its shim when UWS_USE_FALLBACK=1, which stands in here for
 * a platform where no native build loads.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { ReadyMessage } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { loadUws } from '../src/uws-loader.js';

const gatewayMain = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const modernLoads = (() => {
  try {
    createRequire(import.meta.url)('uws-modern');
    return true;
  } catch {
    return false;
  }
})();

/**
 * Runs the gateway on port 0 (a port picked ahead and bound later can be taken meanwhile on a
 * busy machine), reads the port it bound from its ready message, polls its /health there until
 * it answers (start-up is slower under a loaded test run), then stops it.
 */
function runGateway(env: NodeJS.ProcessEnv, untilMs: number): Promise<{ code: number | null; output: string; health: unknown }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [gatewayMain], { env: { PATH: process.env.PATH, ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    let health: unknown = null;
    let timer: NodeJS.Timeout | undefined;
    // The limit only guards a hang: the poll below stops once the child is gone.
    const giveUp = setTimeout(() => child.kill('SIGTERM'), untilMs);
    child.on('message', (message: ReadyMessage) => {
      if (message.type !== 'ready' || !message.port) return;
      const poll = async (): Promise<void> => {
        try {
          health = await (await fetch(`http://127.0.0.1:${message.port}/health`)).json();
        } catch {
          if (child.exitCode === null) {
            timer = setTimeout(poll, 100);
            return;
          }
        }
        child.kill('SIGTERM');
      };
      void poll();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearTimeout(giveUp);
      resolve({ code, output, health });
    });
  });
}

t.test('this machine loads a native build', async (t) => {
  const build = loadUws({ allowShim: false });
  t.equal(build.native, true);
  t.equal(build.source, modernLoads ? 'uws-modern' : 'uWebSockets.js', modernLoads ? 'the newest build' : 'the 20.30 build (glibc too old for 20.57)');
});

t.test('the shim is refused by default and accepted (with a warning in /health) when allowed', { skip: modernLoads && 'the 20.57 build loads natively here, so no shim can be forced' }, async (t) => {
  const redis = await spawnRedisServer();
  t.teardown(() => redis.stop());
  // It exits by itself; the limit only guards a hang (start-up takes seconds on a loaded box).
  const refused = await runGateway({ UWS_USE_FALLBACK: '1', REDIS_URL: redis.url }, 60_000);
  t.equal(refused.code, 1, 'the gateway exits');
  t.match(refused.output, /Refusing to start/);
  t.match(refused.output, /ALLOW_UWS_SHIM=true/, 'and says how to accept the shim');

  const allowed = await runGateway({ UWS_USE_FALLBACK: '1', ALLOW_UWS_SHIM: 'true', REDIS_URL: redis.url, HOST: '127.0.0.1' }, 60_000);
  t.equal(allowed.code, 0, `it starts, serves, and stops cleanly on SIGTERM: ${allowed.output.slice(-600)}`);
  t.match(allowed.health, { uws: { native: false }, warnings: [/JavaScript shim/] });
  t.match(allowed.output, /JavaScript shim in use/);
});
