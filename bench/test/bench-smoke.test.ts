/**
 * The lean benchmark end to end at a tiny size: it starts the real stack (Redis, offline model,
 * gateway and worker processes from their built dist/), drives it from load-client child
 * processes, and writes a JSON report and the chart that parse and hold what a reader needs.
 *
 *   test ──runBench──▶ LocalStack (redis, offline-llm, gateway, worker)
 *                          ▲
 *     ClientPool ──fork──▶ client-main × 2 ──REST + ws──┘
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CHART_FILE, parseBenchArgs, runBench, type BenchReport } from '../src/index.js';

t.test('pnpm bench at tiny size: overhead and relay run and write a valid report and chart', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const options = parseBenchArgs(
    ['--scenario', 'overhead,relay', '--sessions', '2', '--streams', '2', '--relay-tokens', '50', '--duration', '3', '--warmup', '0.5', '--floor', '--out', out],
    out,
  );
  const lines: string[] = [];
  const outcome = await runBench(options, 'bench-smoke', (line) => lines.push(line));

  const report = JSON.parse(readFileSync(outcome.reportPath, 'utf8')) as BenchReport;
  t.equal(outcome.reportPath, join(out, 'bench-overhead+relay.json'));
  t.equal(report.tool, '@chat/bench');
  t.ok(report.machine.cores >= 1, `the machine's cores are reported (${report.machine.cores})`);
  t.equal(report.versions.node, process.version);
  t.ok(report.versions.packages.bullmq, 'the versions on the hot path are reported');
  t.same(
    report.scenarios.map((s) => s.scenario),
    ['overhead', 'relay'],
  );
  for (const scenario of report.scenarios) {
    t.ok(scenario.stacks.length >= 1 && scenario.stacks[0]!.env.OFFLINE_LLM_TTFT_MS !== undefined, `${scenario.scenario}: its stack config is reported`);
    t.ok(scenario.table.rows.length >= 1, `${scenario.scenario}: a table row`);
    for (const step of scenario.steps) {
      const figures = step as { sent?: number; failed?: number; figures?: { sent: number; failed: number } };
      const { sent, failed } = figures.figures ?? { sent: figures.sent ?? 0, failed: figures.failed ?? 0 };
      t.ok(sent > 0, `${scenario.scenario}: turns were measured (${sent})`);
      t.equal(failed, 0, `${scenario.scenario}: every measured turn succeeded`);
    }
  }
  const overhead = report.scenarios[0]!.steps[0] as { sessions: number; addedFirstMs: { count: number; p50: number } };
  t.equal(overhead.sessions, 2);
  t.ok(overhead.addedFirstMs.count > 0 && overhead.addedFirstMs.p50 > 0, `time added to the first token measured (p50 ${overhead.addedFirstMs.p50} ms)`);
  // --floor: the floor at the step's sessions, beside the service's figures.
  const floor = (report.scenarios[0]!.steps[0] as { floor?: { turns: { sessions: number; addedFirstMs: { count: number }; cpuPerTokenUs: { floor: number } }; readOnly: { framesPerToken: number } } }).floor;
  t.ok(
    floor && floor.turns.sessions === 2 && floor.turns.addedFirstMs.count > 0 && floor.turns.cpuPerTokenUs.floor > 0 && floor.readOnly.framesPerToken === 0,
    `the floor beside the step (${JSON.stringify(floor?.turns.cpuPerTokenUs)})`,
  );
  t.match(report.scenarios[0]!.notes.join('\n'), /2 sessions, the floor .*the service [\d.]+× the floor/, 'the note compares the service with its floor');
  // Whether the floor itself meets each target it has a figure for: judged on the floor's own figure.
  const perToken = report.scenarios[0]!.targets.find((target) => target.name.startsWith('service CPU per streamed token'))!;
  t.equal(perToken.floorMet, floor!.turns.cpuPerTokenUs.floor <= 15, `the per-token target says whether the floor meets it (${perToken.floorMet})`);
  const unjudged = report.scenarios[0]!.targets.filter((target) => target.met === null);
  t.ok(unjudged.length > 0 && unjudged.every((target) => target.floorMet === undefined), 'a target with no step of its size says nothing of the floor');
  const relay = report.scenarios[1]!.steps[0] as { figures: { tokensPerSecond: number }; reference: { opsPerSecond: number } };
  t.ok(relay.figures.tokensPerSecond > 0 && relay.reference.opsPerSecond > 0, 'relay tokens/s and the redis-benchmark reference measured');

  const svg = readFileSync(join(out, CHART_FILE), 'utf8');
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, /<polyline points="[\d., ]+"/, 'the chart has its percentile lines');
  t.match(outcome.text, /time added to first token/, 'the printed table carries the verdicts');

  // Figures that travel between boxes: the run's references, and CPU per unit of work.
  t.ok(report.references.cpuLoop.start.opsPerSecond > 0 && (report.references.cpuLoop.end?.opsPerSecond ?? 0) > 0, 'the CPU-loop reference, at the start and the end');
  const perTurn = (report.scenarios[0]!.steps[0] as { cpuPerTurnMs: Record<string, number> }).cpuPerTurnMs;
  t.ok((perTurn.service ?? 0) > 0 && perTurn.service! >= (perTurn.worker ?? 0), `service CPU per turn, the worker's part in it (${JSON.stringify(perTurn)})`);
  // The runtime probe: each Node role's GC pauses and event-loop delay over the window.
  const runtime = (report.scenarios[0]!.steps[0] as { runtime: Record<string, { gcPauses: number; loopDelayP99Ms: number | null }> | null }).runtime;
  for (const role of ['gateway', 'worker', 'offline-llm']) {
    t.ok(runtime?.[role] && runtime[role]!.gcPauses >= 0 && typeof runtime[role]!.loopDelayP99Ms === 'number', `${role}: GC pauses and loop delay over the window (${JSON.stringify(runtime?.[role])})`);
  }
});

t.test('pnpm bench idle at tiny size, context over HTTP: CPU and Redis commands while nothing is connected, then ten sessions', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-idle-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  // The context sources over HTTP here (the other test keeps them in process): RETRIEVAL_URL and AGENT_URL of a child process.
  const options = parseBenchArgs(['--scenario', 'idle', '--duration', '3', '--warmup', '0.5', '--context-sources', 'http', '--out', out], out);
  const outcome = await runBench(options, 'bench-smoke-idle', () => {});
  const [idle, chatting] = outcome.report.scenarios[0]!.steps as Array<{ cpuMsPerSecond: Record<string, number>; redisCommandsPerSecond: { total: number }; chat?: { sent: number; failed: number } }>;
  t.ok(idle && chatting, 'two steps');
  t.ok(idle!.cpuMsPerSecond.service !== undefined && idle!.redisCommandsPerSecond.total >= 0, 'idle CPU and Redis command rate reported');
  t.ok((chatting!.chat?.sent ?? 0) > 0 && chatting!.chat?.failed === 0, 'the ten sessions chatted, every turn ok');
  t.ok(chatting!.redisCommandsPerSecond.total > idle!.redisCommandsPerSecond.total, 'chatting costs Redis commands idle does not');
  const env = outcome.report.scenarios[0]!.stacks[0]!.env;
  t.match(env.RETRIEVAL_URL, /^http:\/\/127\.0\.0\.1:\d+$/, 'the stack got the served sources');
  t.equal(env.AGENT_URL, env.RETRIEVAL_URL);
  // Reported as a role of its own. Not asserted > 0: CPU is read from /proc in 10 ms ticks, and ten
  // sessions' context requests in a 3 s window can stay under one tick (they did in CI once the
  // child no longer carried tap's loader). The HTTP sources' behaviour has its own tests
  // (worker/test/context/http-sources.test.ts, stack/test/grounded-answers.test.ts).
  const sourcesCpu = chatting!.cpuMsPerSecond['context-sources'];
  t.ok(typeof sourcesCpu === 'number' && sourcesCpu >= 0, `the sources' CPU is reported (${sourcesCpu} ms/s)`);
});

t.test('pnpm bench turn-rate at tiny size with --floor: the rate and CPU per turn beside the floor at the same concurrency', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-turn-rate-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const options = parseBenchArgs(['--scenario', 'turn-rate', '--turn-rate-workers', '1', '--concurrency', '4', '--duration', '2', '--warmup', '0.5', '--floor', '--out', out], out);
  const outcome = await runBench(options, 'bench-smoke-turn-rate', () => {});
  const scenario = outcome.report.scenarios[0]!;
  const step = scenario.steps[0] as { concurrency: number; turnsPerSecond: number; failed: number; cpuPerTurnMs: { service?: number } };
  t.ok(step.concurrency === 4 && step.turnsPerSecond > 0 && step.failed === 0, `turns answered at concurrency 4 (${step.turnsPerSecond}/s)`);
  const floor = scenario.floor;
  t.ok(floor && floor.sessions === 4 && floor.mode === 'turns' && floor.turnsPerSecond > 0 && floor.misrouted === 0, `the floor at the same concurrency (${floor?.turnsPerSecond} turns/s)`);
  t.ok((floor?.cpuPerTurnMs?.floor ?? 0) > 0, `the floor's CPU per turn (${floor?.cpuPerTurnMs?.floor} ms)`);
  t.match(scenario.targets[0]!.measured, /the floor at concurrency 4: [\d.]+ turns\/s at [\d.]+ ms CPU per turn .*the service [\d.]+× the floor's CPU per turn/, 'the verdict reads the service against its floor');
  t.match(scenario.notes.join('\n'), /the floor \(one bare gateway/, 'and a note says what the floor is');
  t.equal(scenario.targets[0]!.floorMet, floor!.turnsPerSecond >= 2000, `whether the floor reaches the rate itself (${scenario.targets[0]!.floorMet})`);
  // What 2 000 turns/s leaves the service here, from this step's model and client CPU per turn.
  const budget = scenario.serviceBudget!;
  const perTurn = step.cpuPerTurnMs as Record<string, number>;
  t.ok(budget && budget.turnsPerSecond === 2000 && budget.cores === cpus().length, `the budget is for 2000 turns/s on this box's ${cpus().length} cores`);
  t.ok(Math.abs(budget.othersMsPerTurn - ((perTurn['offline-llm'] ?? 0) + (perTurn['load clients'] ?? 0))) <= 0.011, `the model's and clients' CPU per turn come off first (${budget.othersMsPerTurn} ms)`);
  t.match(scenario.targets[0]!.measured, /at 2000 turns\/s this box's \d+ cores give [\d.]+ ms of CPU per turn/, 'the verdict says what the target leaves the service');
  // And at the model's and clients' cost per turn in the floor's (faster) run: the other bound.
  const atFloor = scenario.serviceBudgetAtFloorCosts!;
  t.ok(atFloor && Math.abs(atFloor.othersMsPerTurn - (floor!.cpuPerTurnMs!['offline-llm'] + floor!.cpuPerTurnMs!.clients)) <= 0.011, `the floor's model and client CPU per turn (${atFloor?.othersMsPerTurn} ms)`);
});
