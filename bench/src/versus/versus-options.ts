import { parseArgs } from 'node:util';
import { UsageError, int, num } from '../bench-options.js';

export const SIDES = ['ours', 'original'] as const;
export type Side = (typeof SIDES)[number];

/** Everything `node bench/dist/versus-original.js` can be told; each default is the documented run. */
export interface VersusOptions {
  /** Services to run, in order. Default: ours, then the original. */
  sides: Side[];
  /** The original's service folder (…/services/scalable-chatbot-svc of a flightops checkout). Default: $VERSUS_ORIGINAL_DIR, else none. */
  originalDir: string | null;
  /** The Python that runs the original. Default: $VERSUS_PYTHON, else /usr/bin/python3 (Debian's, where apt installs FastAPI). */
  python: string;
  /** Extra PYTHONPATH entries before the checkout's root (a stand-in module, say). Default: $VERSUS_PYTHONPATH, else none. */
  pythonPath: string[];
  /** Fixed session counts to run instead of the search, e.g. 5,20. Default: none (search). */
  sessions: number[] | null;
  /** Search range. Default: 50..2000. */
  min: number;
  max: number;
  /** Turns per session. Default: 3. */
  turns: number;
  /** A step passes at or above this success, %. Default: 99. */
  thresholdPercent: number;
  /** Pause between an answer and the next question, ms. Default: 1000. */
  thinkMs: number;
  /** First questions go out within this, ms. Default: 1000. */
  staggerMs: number;
  /** A turn with no complete answer after this fails, ms. Default: 30 000. */
  turnTimeoutMs: number;
  /** Wall time one side's search may start steps in, ms. Default: 150 000. */
  timeCapMs: number;
  /** Conversation-client processes. Default: 2. */
  clients: number;
  /** Where versus-original.json goes. Default: reports/bench (git-ignored). */
  outDir: string;
}

export const HELP = `node bench/dist/versus-original.js [options]    (build first: pnpm -s exec tsc -b)

Drives N concurrent sessions × 3 turns against this service and against the original Python
service, with one load client speaking the original's protocol, and finds the largest N each
serves at ≥ 99 %. See docs/versus-original.md for how to bring the original.

  --original-dir DIR     the original's service folder, e.g. /tmp/flightops/services/scalable-chatbot-svc
                         (default $VERSUS_ORIGINAL_DIR; without it the original side is reported
                         unavailable and the exit code is 3)
  --python PATH          Python with Debian's FastAPI, uvicorn, redis (default $VERSUS_PYTHON or /usr/bin/python3)
  --python-path LIST     extra PYTHONPATH entries, colon-separated (default $VERSUS_PYTHONPATH),
                         e.g. /tmp/flightops-shims for the openai stand-in
  --sides LIST           ours,original (default both, in that order)
  --sessions LIST        run these session counts instead of searching (e.g. 5,20)
  --min N --max N        search range (default 50 and 2000): doubling from min, then bisecting
  --turns N              turns per session (default 3)
  --threshold P          a step passes at ≥ P % of its turns answered whole (default 99)
  --think-ms MS          pause between an answer and the next question (default 1000)
  --stagger-ms MS        first questions go out within this (default 1000)
  --turn-timeout S       a turn without its complete answer after S seconds fails (default 30)
  --time-cap S           no new step starts after S seconds of one side's search (default 150)
  --clients N            conversation-client processes (default 2)
  --out DIR              report directory (default reports/bench, git-ignored)
  --help
`;

export { UsageError };

export function parseVersusArgs(argv: string[], defaultOutDir: string, env: NodeJS.ProcessEnv = process.env): VersusOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'original-dir': { type: 'string' },
      python: { type: 'string' },
      'python-path': { type: 'string' },
      sides: { type: 'string', default: SIDES.join(',') },
      sessions: { type: 'string' },
      min: { type: 'string', default: '50' },
      max: { type: 'string', default: '2000' },
      turns: { type: 'string', default: '3' },
      threshold: { type: 'string', default: '99' },
      'think-ms': { type: 'string', default: '1000' },
      'stagger-ms': { type: 'string', default: '1000' },
      'turn-timeout': { type: 'string', default: '30' },
      'time-cap': { type: 'string', default: '150' },
      clients: { type: 'string', default: '2' },
      out: { type: 'string', default: defaultOutDir },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new UsageError(HELP);
  const sides = values.sides.split(',').map((s) => s.trim());
  for (const side of sides) if (!(SIDES as readonly string[]).includes(side)) throw new UsageError(`unknown side "${side}"; pick from ${SIDES.join(', ')}`);
  const min = int('--min', values.min, 1);
  const max = int('--max', values.max, min);
  const pythonPath = values['python-path'] ?? env.VERSUS_PYTHONPATH ?? '';
  return {
    sides: sides as Side[],
    originalDir: values['original-dir'] ?? (env.VERSUS_ORIGINAL_DIR || null),
    python: values.python ?? (env.VERSUS_PYTHON || '/usr/bin/python3'),
    pythonPath: pythonPath.split(':').filter((p) => p.length > 0),
    sessions: values.sessions === undefined ? null : values.sessions.split(',').map((s) => int('--sessions', s.trim(), 1)),
    min,
    max,
    turns: int('--turns', values.turns, 1, 100),
    thresholdPercent: num('--threshold', values.threshold, 0, 100),
    thinkMs: int('--think-ms', values['think-ms'], 0),
    staggerMs: int('--stagger-ms', values['stagger-ms'], 0),
    turnTimeoutMs: num('--turn-timeout', values['turn-timeout'], 1, 3600) * 1000,
    timeCapMs: num('--time-cap', values['time-cap'], 1, 86_400) * 1000,
    clients: int('--clients', values.clients, 1, 32),
    outDir: values.out,
  };
}

