/**
 * The comparison tool against the original service: how it judges a turn, how it searches for
 * the largest session count, and a tiny run against this service alone (no Python needed), in
 * which the original side must be reported as not available.
 *
 *   test ──runVersus──▶ this service (LocalStack: redis, offline model, gateway, worker)
 *                          ▲
 *     ConversationPool ──fork──▶ conversation clients × 2 ──REST + ws (the original's protocol)──┘
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CapacitySearch } from '../src/versus/capacity-search.js';
import { runVersus } from '../src/versus/run-versus.js';
import { TurnJudge } from '../src/versus/turn-judge.js';
import { parseVersusArgs } from '../src/versus/versus-options.js';
import type { VersusReport } from '../src/versus/versus-report.js';

t.test('a turn of this service: streamed tokens that add up to the complete answer', async (t) => {
  const judge = new TurnJudge();
  judge.read({ type: 'user_message', content: 'Is my flight on time?' }, 1);
  judge.read({ type: 'chunk', content: '•' }, 400);
  judge.read({ type: 'chunk', content: ' Your flight' }, 420);
  judge.read({ type: 'chunk', content: ' is on time.\n• Check in' }, 440);
  t.equal(judge.verdict, null, 'no verdict before complete');
  judge.read({ type: 'complete', content: '• Your flight is on time.\n• Check in' }, 460);
  t.same(judge.verdict, { ok: true, firstTextAt: 400, completeAt: 460, fromCache: false, chars: 36 });
});

t.test("a turn of the original: its status chunk is not model text, and its re-spaced chunks still add up", async (t) => {
  const judge = new TurnJudge();
  judge.read({ type: 'chunk', content: '🤔 Thinking...' }, 90);
  judge.read({ type: 'chunk', content: '• You asked: ' }, 2500);
  judge.read({ type: 'chunk', content: '"Is my flight ' }, 2550);
  judge.read({ type: 'chunk', content: 'on time?". • For' }, 2600);
  judge.read({ type: 'complete', content: '• You asked: "Is my flight on time?".\n• For' }, 2650);
  t.same(judge.verdict, { ok: true, firstTextAt: 2500, completeAt: 2650, fromCache: false, chars: 43 });
});

t.test('a turn fails when its answer does not arrive whole', async (t) => {
  const missing = new TurnJudge();
  missing.read({ type: 'chunk', content: '• You asked: ' }, 1);
  missing.read({ type: 'complete', content: '• You asked: "Is my flight on time?".' }, 2);
  t.same(missing.verdict, { ok: false, failure: 'mismatch' }, 'a chunk was lost');

  const onlyStatus = new TurnJudge();
  onlyStatus.read({ type: 'chunk', content: '🤔 Thinking...' }, 1);
  onlyStatus.read({ type: 'complete', content: 'An answer' }, 2);
  t.same(onlyStatus.verdict, { ok: false, failure: 'mismatch' }, 'no model text was streamed');

  const noChunks = new TurnJudge();
  noChunks.read({ type: 'complete', content: 'An answer' }, 2);
  t.same(noChunks.verdict, { ok: false, failure: 'no_chunks' });

  const empty = new TurnJudge();
  empty.read({ type: 'chunk', content: ' ' }, 1);
  empty.read({ type: 'complete', content: '  ' }, 2);
  t.same(empty.verdict, { ok: false, failure: 'empty_answer' });

  const ours = new TurnJudge();
  ours.read({ type: 'error', code: 'rate_limited' }, 1);
  t.same(ours.verdict, { ok: false, failure: 'error:rate_limited' }, "this service's error names its code");
  const theirs = new TurnJudge();
  theirs.read({ type: 'error', content: 'Error generating response: boom' }, 1);
  t.same(theirs.verdict, { ok: false, failure: 'error:error' }, "the original's error has no code");

  const late = new TurnJudge();
  late.read({ type: 'chunk', content: 'An' }, 1);
  late.fail('timeout');
  late.read({ type: 'complete', content: 'An' }, 2);
  t.same(late.verdict, { ok: false, failure: 'timeout' }, 'a complete after the timeout does not count');
});

t.test('a cached answer (one complete, no chunks) and a retried turn (reset) are whole answers', async (t) => {
  const cached = new TurnJudge();
  cached.read({ type: 'complete', content: 'From the cache', from_cache: true }, 7);
  t.same(cached.verdict, { ok: true, firstTextAt: 7, completeAt: 7, fromCache: true, chars: 14 });

  const retried = new TurnJudge();
  retried.read({ type: 'chunk', content: 'Half an ans' }, 1);
  retried.read({ type: 'reset' }, 2);
  retried.read({ type: 'chunk', content: 'The answer' }, 3);
  retried.read({ type: 'complete', content: 'The answer' }, 4);
  t.same(retried.verdict, { ok: true, firstTextAt: 3, completeAt: 4, fromCache: false, chars: 10 });
});

/** Runs a search against a service that passes up to `capacity` sessions; returns the counts tried. */
function simulate(capacity: number, min = 50, max = 2000): { tried: number[]; search: CapacitySearch } {
  const search = new CapacitySearch({ min, max });
  const tried: number[] = [];
  for (let n = search.next(); n !== null; n = search.next()) {
    tried.push(n);
    search.record(n, n <= capacity);
  }
  return { tried, search };
}

t.test('the search doubles from min, then bisects to within 10 %', async (t) => {
  const { tried, search } = simulate(700);
  t.same(tried, [50, 100, 200, 400, 800, 600, 700, 750]);
  t.same(search.outcome(), { largestPassing: 700, smallestFailing: 750, endedBy: 'resolution' });

  const small = simulate(120);
  t.same(small.tried, [50, 100, 200, 150, 130, 120]);
  t.same(small.search.outcome(), { largestPassing: 120, smallestFailing: 130, endedBy: 'resolution' });
});

t.test('the search ends at max when max passes, and at min when min falls short', async (t) => {
  const all = simulate(5000);
  t.same(all.tried, [50, 100, 200, 400, 800, 1600, 2000]);
  t.same(all.search.outcome(), { largestPassing: 2000, smallestFailing: null, endedBy: 'max_passed' });

  const none = simulate(10);
  t.same(none.tried, [50]);
  t.same(none.search.outcome(), { largestPassing: null, smallestFailing: 50, endedBy: 'min_failed' });
  t.same(none.search.outcome(true).endedBy, 'time_cap');
  t.throws(() => new CapacitySearch({ min: 0, max: 10 }), RangeError);
});

t.test('options: the original comes from --original-dir or VERSUS_ORIGINAL_DIR, else none', async (t) => {
  t.equal(parseVersusArgs([], '/out', {}).originalDir, null);
  t.equal(parseVersusArgs([], '/out', { VERSUS_ORIGINAL_DIR: '/tmp/x' }).originalDir, '/tmp/x');
  const given = parseVersusArgs(['--original-dir', '/tmp/y', '--python-path', '/a:/b', '--sessions', '5,20', '--turn-timeout', '10'], '/out', {});
  t.match(given, { originalDir: '/tmp/y', pythonPath: ['/a', '/b'], sessions: [5, 20], turnTimeoutMs: 10_000, python: '/usr/bin/python3', sides: ['ours', 'original'] });
  t.throws(() => parseVersusArgs(['--sides', 'theirs'], '/out', {}), /unknown side/);
});

t.test('5 sessions × 3 turns against this service, with the original not available', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'versus-smoke-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const options = parseVersusArgs(['--sessions', '5', '--think-ms', '0', '--stagger-ms', '200', '--turn-timeout', '20', '--out', out], out, {});
  const lines: string[] = [];
  const outcome = await runVersus(options, 'versus-smoke', (line) => lines.push(line));

  t.same(outcome.unavailable, ['original'], 'the original side is reported as not run');
  t.match(lines.join('\n'), /ORIGINAL SERVICE NOT AVAILABLE: no --original-dir/, 'and said so plainly');
  const report = JSON.parse(readFileSync(outcome.reportPath, 'utf8')) as VersusReport;
  t.equal(report.sides.length, 2);
  const [ours, original] = report.sides;
  t.match(original, { side: 'original', available: false, reason: /no --original-dir/ });
  if (!ours?.available) throw new Error('our side did not run');
  const step = ours.steps[0]!;
  t.match(step, { sessions: 5, turns: 15, ok: 15, failed: 0, successPercent: 100, passed: true, sessionsOpened: 5, fromCache: 0 });
  t.same(step.failures, {});
  t.equal(step.firstTextMs.count, 15, 'every turn had its first model text timed');
  t.ok(step.firstTextMs.p50! >= 400, `no earlier than the model's 400 ms to its first token (${step.firstTextMs.p50} ms)`);
  t.ok(step.completeMs.p50! > step.firstTextMs.p50!, 'the answer completes after its first text');
  t.ok(step.cpuMsByRole.gateway! > 0 && step.cpuMsByRole.worker! > 0 && step.cpuMsByRole.redis !== undefined, 'CPU read per process of the service');
  t.ok(Math.abs(step.serviceCpuMs - (step.cpuMsByRole.gateway! + step.cpuMsByRole.worker! + step.cpuMsByRole.redis!)) <= 2, 'service CPU = gateway + worker + redis, the offline model left out');
  t.ok(report.reference.cpuLoop.opsPerSecond > 0, 'the CPU reference was measured in the same run');
  t.match(outcome.text, /ours\s+5\s+15\/15\s+100\.00/, 'the printed table has the step');
});
