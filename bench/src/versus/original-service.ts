import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findFreePort, spawnRedisServer } from '@chat/shared/dev';
import { ManagedProcess } from '@chat/stack';
import { REPO_ROOT } from '../machine.js';
import { VERSUS_MODEL_ENV, type ServiceUnderTest } from './service-under-test.js';

/**
 * The original Python service (flightops `services/scalable-chatbot-svc`), run from a checkout
 * outside this repository on Debian's FastAPI, uvicorn and redis packages, as its Dockerfile
 * runs it (`uvicorn main:app`, one process), against its own redis-server and the same offline
 * model as this service. See docs/versus-original.md for how to bring it.
 */

/** What the original needs that the checkout alone may not give, with the reason it is missing. */
export type OriginalCheck =
  | { available: true; serviceDir: string; repoRoot: string; python: string; pythonPath: string[]; versions: Record<string, string>; sourceDigest: string }
  | { available: false; reason: string };

/** The modules the original imports (main.py, services/shared, chatbot_toolkit) that a Python must have. */
const REQUIRED_MODULES = ['fastapi', 'uvicorn', 'redis', 'httpx', 'pydantic', 'websockets', 'loguru', 'prometheus_client', 'requests', 'debugpy', 'openai'];

/** Checks a checkout and a Python before anything is started; never throws. */
export function checkOriginal(originalDir: string | null, python: string, extraPythonPath: string[]): OriginalCheck {
  if (!originalDir) {
    return { available: false, reason: 'no --original-dir (or VERSUS_ORIGINAL_DIR) given: the original service is not available to this run' };
  }
  const serviceDir = resolve(originalDir);
  if (!existsSync(join(serviceDir, 'main.py'))) return { available: false, reason: `${serviceDir} has no main.py: give the scalable-chatbot-svc folder of a flightops checkout` };
  // main.py imports `services.shared.*`: the checkout's root must be on PYTHONPATH.
  const repoRoot = resolve(serviceDir, '..', '..');
  if (!existsSync(join(repoRoot, 'services', 'shared', 'llm_client.py'))) return { available: false, reason: `${repoRoot}/services/shared is missing: the original needs the checkout's shared library beside it` };
  const redisManager = readFileSync(join(serviceDir, 'redis_manager.py'), 'utf8');
  if (!redisManager.includes('REDIS_URL')) {
    return {
      available: false,
      reason: `${serviceDir}/redis_manager.py connects to redis://redis:6379 only; apply the one-line REDIS_URL adaptation of docs/versus-original.md so it can use a Redis on a free port`,
    };
  }
  const pythonPath = [...extraPythonPath, repoRoot];
  const probe = spawnSync(
    python,
    ['-c', `import importlib, json\nout = {}\nfor name in ${JSON.stringify(REQUIRED_MODULES)}:\n    m = importlib.import_module(name)\n    out[name] = str(getattr(m, '__version__', getattr(m, 'VERSION', '?')))\nimport sys\nout['python'] = sys.version.split()[0]\nprint(json.dumps(out))`],
    { encoding: 'utf8', env: { PATH: process.env.PATH, PYTHONPATH: pythonPath.join(':') }, cwd: serviceDir },
  );
  if (probe.error || probe.status !== 0) {
    const missing = /No module named '([^']+)'/.exec(probe.stderr ?? '')?.[1];
    return {
      available: false,
      reason: probe.error
        ? `${python} could not run: ${probe.error.message}`
        : `${python} cannot import ${missing ?? 'what the original needs'}${missing === 'openai' ? ' (Debian 12 has no python3-openai: put the stand-in of docs/versus-original.md on --python-path)' : ' (apt-get install the python3-… packages listed in docs/versus-original.md)'}`,
    };
  }
  return { available: true, serviceDir, repoRoot, python, pythonPath, versions: JSON.parse(probe.stdout.trim()) as Record<string, string>, sourceDigest: sourceDigest(serviceDir, join(repoRoot, 'services', 'shared')) };
}

/** sha256 over the Python files that run (the service and services/shared), to name the version measured. */
function sourceDigest(...dirs: string[]): string {
  const hash = createHash('sha256');
  for (const dir of dirs) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.py')).sort()) {
      hash.update(`${file}\0`);
      hash.update(readFileSync(join(dir, file)));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** Starts the original, its Redis and the offline model; stops whatever started if a part fails. */
export async function startOriginalService(check: Extract<OriginalCheck, { available: true }>): Promise<ServiceUnderTest> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    stops.length = 0;
  };
  try {
    const redis = await spawnRedisServer();
    stops.push(() => redis.stop());
    const modelPort = await findFreePort();
    const model = new ManagedProcess({
      name: 'offline-llm',
      command: process.execPath,
      args: [join(REPO_ROOT, 'offline-llm', 'dist', 'main.js')],
      env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', OFFLINE_LLM_HOST: '127.0.0.1', OFFLINE_LLM_PORT: String(modelPort), ...VERSUS_MODEL_ENV },
      forwardOutput: false,
    });
    stops.push(() => model.stop(5000));
    await model.ready;
    // Nothing listens on this port: the knowledge engine, db router and LLM-tracking gateway the
    // original calls per turn are other flightops services, absent here; their calls are refused
    // at once and the original answers from its own fallback text, as it does when they are down.
    const absentServices = `http://127.0.0.1:${await findFreePort()}`;
    const env: Record<string, string> = {
      PYTHONPATH: check.pythonPath.join(':'),
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
      REDIS_URL: redis.url,
      OPENAI_API_KEY: 'offline-llm',
      OPENAI_BASE_URL: `http://127.0.0.1:${modelPort}/v1`,
      KNOWLEDGE_SERVICE_URL: absentServices,
      DB_ROUTER_URL: absentServices,
      GATEWAY_URL: absentServices,
    };
    const uvicorn = await startUvicorn(check, env);
    stops.push(() => uvicorn.stop());
    return {
      httpUrl: `http://127.0.0.1:${uvicorn.port}`,
      wsUrl: `ws://127.0.0.1:${uvicorn.port}`,
      processes: [
        { role: 'uvicorn', pid: uvicorn.pid, service: true },
        { role: 'redis', pid: redis.process.pid ?? 0, service: true },
        { role: 'offline-llm', pid: model.child.pid ?? 0, service: false },
      ],
      config: { command: uvicorn.command, cwd: check.serviceDir, ...env, ...Object.fromEntries(Object.entries(VERSUS_MODEL_ENV).map(([k, v]) => [`offline model ${k}`, v])) },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

interface RunningUvicorn {
  pid: number;
  port: number;
  command: string;
  stop(): Promise<void>;
}

/**
 * `python -m uvicorn main:app` as the Dockerfile's CMD, on loopback and a free port, with
 * uvicorn's own log at warning (no access line per request, like this service at LOG_LEVEL=warn;
 * the app's INFO lines stay: its logging level is fixed in code). Output goes to a file, so
 * reading it costs the bench nothing; the file's tail explains a start that failed.
 */
async function startUvicorn(check: Extract<OriginalCheck, { available: true }>, env: Record<string, string>): Promise<RunningUvicorn> {
  for (let attempt = 1; ; attempt++) {
    const logDir = mkdtempSync(join(tmpdir(), 'versus-original-'));
    const port = await findFreePort();
    const args = ['-m', 'uvicorn', 'main:app', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning'];
    const logFile = join(logDir, `uvicorn-${port}.log`);
    const out = openSync(logFile, 'w');
    const child = spawn(check.python, args, { cwd: check.serviceDir, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', out, out] });
    closeSync(out);
    let exited = false;
    const gone = new Promise<void>((done) => child.once('exit', () => ((exited = true), done())));
    const stop = async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(logDir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 30_000;
    while (!exited && Date.now() < deadline) {
      try {
        const health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
        if (health.status === 200) return { pid: child.pid ?? 0, port, command: `${check.python} ${args.join(' ')}`, stop };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-12).join('\n');
    await stop();
    // A port taken between the pick and the bind is worth another try; anything else is not.
    if (attempt < 3 && /address already in use/i.test(tail)) continue;
    throw new Error(`the original did not answer /health within 30 s${exited ? ' (it exited)' : ''}; its last output:\n${tail}`);
  }
}
