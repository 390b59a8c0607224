// What one LLM request costs the worker's process, and which layer costs what: the worker's
// client (`LlmClient.stream`) of two checkouts, beside three references built from the checkout's
// parts, each a layer less:
//   sdk    the `openai` client's request over the worker's fetch, the body read by the worker's
//          SSE reader (what `LlmClient` adds on top: its abort link, idle timer, result)
//   fetch  the worker's `node:http` fetch with the SDK's headers and JSON body, no SDK
//   bare   one `node:http` request with two headers and the same reader: what any client does
// The model is the checkout's offline model in a child process (its CPU is not counted),
// answering at once with 20-token answers as in the turn-rate scenario; the prompt is a bench
// turn's size (a system message of ~1 600 characters, ten past turns).
//
// Two measures:
//   (default)        CPU time (process.cpuUsage): 24 rounds (LLM_MICRO_ROUNDS) of one window
//                    of 1 500 requests (100 in flight) per kind, the order rotating; the change
//                    is read round by round (checkout / base), since a shared box drifts.
//   --instructions   instructions counted by valgrind's callgrind (Debian's valgrind), each kind
//                    in a child process with V8's threads off (`--single-threaded`: its compiler
//                    and collector counted on the main thread), 20 requests in flight: a run of
//                    500 warm-up requests and one of 500 + 1 000 (LLM_MICRO_REQUESTS), the
//                    difference per request, so start-up and warm-up fall out. Repeatable to
//                    ~1 % whatever else the box does, where its CPU time swings by a third; not
//                    the kernel's share (system calls), and not time. LLM_MICRO_SIDES=base,checkout
//                    measures only those.
// Usage (after pnpm build in both): node bench/micro/llm-request.mjs <base checkout> [checkout] [--instructions]
import { fork, spawnSync } from 'node:child_process';
import http from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const load = (root, path) => import(pathToFileURL(resolve(root, path)).href);

/** The offline model in a child process; resolves to its base URL. */
async function startModel(root) {
  const model = fork(resolve(root, 'offline-llm/dist/main.js'), [], {
    execArgv: [],
    env: { ...process.env, OFFLINE_LLM_HOST: '127.0.0.1', OFFLINE_LLM_PORT: '0', OFFLINE_LLM_TTFT_MS: '0', OFFLINE_LLM_TOKENS_PER_SECOND: '0', OFFLINE_LLM_ANSWER_TOKENS: '20', OFFLINE_LLM_FILL: 'true', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise((ready, fail) => {
    model.on('message', (m) => m?.type === 'ready' && ready(m.port));
    model.once('exit', (code) => fail(new Error(`offline model exited (${code})`)));
  });
  return { baseUrl: `http://127.0.0.1:${port}/v1`, stop: () => model.kill('SIGTERM') };
}

// A bench turn's prompt: the system message with its context, ten past turns, the question.
const system = `You are the customer support agent of the airline. ${'Policy passage about baggage allowances, changes and refunds. '.repeat(24)}`;
const messages = [{ role: 'system', content: system }];
for (let i = 0; i < 10; i++) {
  messages.push({ role: 'user', content: `Customer message: I need information about flight NZ123 from Auckland, question ${i}` });
  messages.push({ role: 'assistant', content: 'Aotearoa Air flight NZ123 from Auckland (AKL) to Wellington departs at 09:00 and is on time today.' });
}
messages.push({ role: 'user', content: 'Customer message: and what about tomorrow?' });
const MODEL = 'gpt-4o-mini';
const API_KEY = 'offline-model-needs-no-key';
const params = () => ({ model: MODEL, messages, stream: true, stream_options: { include_usage: true }, max_tokens: 300, temperature: 0.2 });

/** One request of each kind, as a function returning a promise, built from `root`'s build. */
async function requestKinds(root, baseUrl) {
  const { LlmClient, completionEventReader } = await load(root, 'worker/dist/llm-client.js');
  const { createNodeHttpFetch, takeNodeBody } = await load(root, 'worker/dist/node-http-fetch.js');
  const { default: OpenAI } = await load(root, 'worker/node_modules/openai/index.mjs');
  const llm = new LlmClient({ apiKey: API_KEY, baseUrl, model: MODEL, requestTimeoutMs: 30_000, idleTimeoutMs: 30_000, maxTokens: 300, temperature: 0.2 });
  const fetch = createNodeHttpFetch();
  const sdk = new OpenAI({ apiKey: API_KEY, baseURL: baseUrl, maxRetries: 0, timeout: 30_000, fetch });
  const url = `${baseUrl}/chat/completions`;
  // The headers the SDK sends (platform, retry count, timeout, auth), for the fetch reference.
  const sdkHeaders = { accept: 'application/json', 'content-type': 'application/json', 'user-agent': 'OpenAI/JS 6.49.0', 'x-stainless-arch': 'x64', 'x-stainless-lang': 'js', 'x-stainless-os': 'Linux', 'x-stainless-package-version': '6.49.0', 'x-stainless-retry-count': '0', 'x-stainless-runtime': 'node', 'x-stainless-runtime-version': process.version, 'x-stainless-timeout': '30', authorization: `Bearer ${API_KEY}` };
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' });
  const read = (body) =>
    new Promise((done, fail) => {
      let tokens = 0;
      const reader = completionEventReader(new Headers(), () => {}, (view) => view.content && tokens++);
      body.setEncoding('utf8');
      body.on('data', (text) => reader.feed(text));
      body.on('end', () => (tokens > 0 ? done() : fail(new Error('no tokens'))));
      body.on('error', fail);
    });
  return {
    // A signal per request, as each turn has its own.
    client: () => llm.stream(messages, new AbortController().signal, () => {}),
    sdk: async () => read(takeNodeBody(await sdk.chat.completions.create(params(), { signal: new AbortController().signal }).asResponse())),
    fetch: async () => read(takeNodeBody(await fetch(url, { method: 'POST', headers: sdkHeaders, body: JSON.stringify(params()), signal: new AbortController().signal }))),
    bare: () =>
      new Promise((done, fail) => {
        const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` } }, (res) => read(res).then(done, fail));
        request.on('error', fail);
        request.end(JSON.stringify(params()));
      }),
  };
}

/** Runs `call` `requests` times, `inFlight` at a time. */
async function run(call, requests, inFlight) {
  let left = requests;
  const lane = async () => {
    while (left-- > 0) await call();
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

/** µs of this process's CPU per request over one window. */
async function window(call, requests = 1_500, inFlight = 100) {
  const before = process.cpuUsage();
  await run(call, requests, inFlight);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / requests;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// A child of --instructions: one kind, a number of requests, then exit.
if (process.env.LLM_MICRO_CHILD) {
  const { root, modelRoot, kind, requests } = JSON.parse(process.env.LLM_MICRO_CHILD);
  const model = await startModel(modelRoot);
  const kinds = await requestKinds(root, model.baseUrl);
  await run(kinds[kind], requests, 20);
  model.stop();
  process.exit(0);
}

const args = process.argv.slice(2).filter((a) => a !== '--instructions');
if (!args[0]) {
  console.error('usage: node bench/micro/llm-request.mjs <base checkout> [checkout] [--instructions]');
  process.exit(2);
}
const roots = { base: resolve(args[0]), checkout: resolve(args[1] ?? '.') };

if (process.argv.includes('--instructions')) {
  const requests = Number(process.env.LLM_MICRO_REQUESTS ?? 1_000);
  const WARM_UP = 500;
  /** Instructions callgrind counted in a child running `requests` requests of `kind`. */
  const count = (root, kind, n) => {
    const child = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', fileURLToPath(import.meta.url)], {
      env: { ...process.env, LLM_MICRO_CHILD: JSON.stringify({ root, modelRoot: roots.checkout, kind, requests: n }) },
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // valgrind reports on stderr: "==pid== Collected : N"
    const collected = /Collected : (\d+)/.exec(child.stderr ?? '');
    if (child.status !== 0 || !collected) throw new Error(`no instruction count from valgrind (${child.error?.message ?? `exit ${child.status}`}):\n${child.stderr}`);
    return Number(collected[1]);
  };
  const sides = [
    ['base', roots.base, 'client'],
    ['checkout', roots.checkout, 'client'],
    ['sdk', roots.checkout, 'sdk'],
    ['fetch', roots.checkout, 'fetch'],
    ['bare', roots.checkout, 'bare'],
  ];
  // LLM_MICRO_SIDES=base,checkout: only those.
  const only = process.env.LLM_MICRO_SIDES?.split(',');
  for (const [name, root, kind] of sides.filter(([name]) => !only || only.includes(name))) {
    const perRequest = (count(root, kind, WARM_UP + requests) - count(root, kind, WARM_UP)) / requests;
    console.log(`${name}${kind === 'client' ? ` (${root})` : ''}: ${(perRequest / 1e6).toFixed(3)} M instructions per request`);
  }
  process.exit(0);
}

const model = await startModel(roots.checkout);
const base = await requestKinds(roots.base, model.baseUrl);
const checkout = await requestKinds(roots.checkout, model.baseUrl);
const calls = { base: base.client, checkout: checkout.client, sdk: checkout.sdk, fetch: checkout.fetch, bare: checkout.bare };

// Many short windows, every kind in turn (the order rotating), so that the box's drift, which
// is slower than a window, falls on all of them alike.
const ROUNDS = Number(process.env.LLM_MICRO_ROUNDS ?? 24);
for (const call of Object.values(calls)) await window(call, 1_000);
const kinds = Object.keys(calls);
const results = Object.fromEntries(kinds.map((kind) => [kind, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Each round starts one kind further on.
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[(round + i) % kinds.length];
    results[kind].push(await window(calls[kind]));
  }
}
for (const side of kinds) {
  const values = results[side];
  console.log(`${side}${roots[side] ? ` (${roots[side]})` : ''}: median ${median(values).toFixed(1)} µs CPU per request (min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)}, ${values.length} windows)`);
}
const ratios = results.checkout.map((value, i) => value / results.base[i]);
console.log(`checkout / base, per round: median ${median(ratios).toFixed(3)}; lower in ${ratios.filter((r) => r < 1).length} of ${ratios.length} rounds`);
model.stop();
process.exit(0);
