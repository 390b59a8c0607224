/**
 * The Artillery processor's per-turn rule (campaigns/turn-check.cjs): a turn succeeds only when
 * its `complete` arrives and equals its chunks concatenated in seq order.
 */
import { createRequire } from 'node:module';
import t from 'tap';

interface TurnOutcome {
  ok: boolean;
  code: string | null;
  firstChunkMs: number | null;
  totalMs: number;
  chunks: number;
  characters: number;
  fromCache: boolean;
  resets: number;
}
interface TurnTracker {
  onFrame(frame: Record<string, unknown>, now: number): TurnOutcome | null;
  fail(code: string, now: number): TurnOutcome;
}
const require = createRequire(import.meta.url);
const { TurnTracker } = require('../campaigns/turn-check.cjs') as { TurnTracker: new (messageId: string, sentAt: number) => TurnTracker };

const chunk = (seq: number, content: string, messageId = 'm1') => ({ type: 'chunk', content, seq, message_id: messageId, session_id: 's' });
const complete = (content: string, messageId = 'm1') => ({ type: 'complete', content, message_id: messageId, session_id: 's' });

t.test('chunks in seq order that equal complete: a success with its figures', async (t) => {
  const turn = new TurnTracker('m1', 1000);
  t.equal(turn.onFrame(chunk(0, 'Hello'), 1400), null);
  t.equal(turn.onFrame(chunk(0, 'other turn', 'm0'), 1410), null, "another turn's frames are ignored");
  t.equal(turn.onFrame(chunk(1, ' there'), 1450), null);
  t.same(turn.onFrame(complete('Hello there'), 1500), { ok: true, code: null, firstChunkMs: 400, totalMs: 500, chunks: 2, characters: 11, fromCache: false, resets: 0 });
});

t.test('an answer from the response cache is marked', async (t) => {
  const turn = new TurnTracker('m1', 0);
  turn.onFrame(chunk(0, 'Hi'), 1);
  t.match(turn.onFrame({ ...complete('Hi'), metadata: { from_cache: true } }, 2), { ok: true, fromCache: true });
});

t.test('a complete that differs from the chunks is a mismatch', async (t) => {
  const turn = new TurnTracker('m1', 0);
  turn.onFrame(chunk(0, 'Hello'), 10);
  t.match(turn.onFrame(complete('Hello there'), 20), { ok: false, code: 'mismatch' });
});

t.test('a gap in seq is a mismatch at once', async (t) => {
  const turn = new TurnTracker('m1', 0);
  turn.onFrame(chunk(0, 'a'), 10);
  t.match(turn.onFrame(chunk(2, 'c'), 20), { ok: false, code: 'mismatch', chunks: 1 });
});

t.test('a reset drops the partial text of a retried turn; seq runs on across it', async (t) => {
  const turn = new TurnTracker('m1', 0);
  turn.onFrame(chunk(0, 'Hel'), 10);
  turn.onFrame(chunk(1, 'lo th'), 20);
  t.equal(turn.onFrame({ type: 'reset', seq: 2, message_id: 'm1', session_id: 's' }, 30), null);
  turn.onFrame(chunk(3, 'Hello'), 40);
  turn.onFrame(chunk(4, ' there'), 50);
  t.same(turn.onFrame(complete('Hello there'), 60), { ok: true, code: null, firstChunkMs: 10, totalMs: 60, chunks: 2, characters: 11, fromCache: false, resets: 1 });
  const kept = new TurnTracker('m1', 0);
  kept.onFrame(chunk(0, 'Hel'), 10);
  kept.onFrame({ type: 'reset', seq: 1, message_id: 'm1', session_id: 's' }, 20);
  kept.onFrame(chunk(2, 'Hello'), 30);
  t.match(kept.onFrame(complete('HelHello'), 40), { ok: false, code: 'mismatch' }, 'text from before the reset is not part of the answer');
  const gap = new TurnTracker('m1', 0);
  gap.onFrame(chunk(0, 'a'), 10);
  t.match(gap.onFrame({ type: 'reset', seq: 3, message_id: 'm1', session_id: 's' }, 20), { ok: false, code: 'mismatch' }, 'a reset after a gap is still a gap');
});

t.test("a slow reader's merged chunk covers first_seq..seq", async (t) => {
  const turn = new TurnTracker('m1', 0);
  turn.onFrame(chunk(0, 'a'), 10);
  turn.onFrame({ ...chunk(3, 'bcd'), first_seq: 1 }, 20);
  turn.onFrame(chunk(4, 'e'), 30);
  t.match(turn.onFrame(complete('abcde'), 40), { ok: true, chunks: 3 });
  const gap = new TurnTracker('m1', 0);
  gap.onFrame(chunk(0, 'a'), 10);
  t.match(gap.onFrame({ ...chunk(3, 'cd'), first_seq: 2 }, 20), { ok: false, code: 'mismatch' });
});

t.test('a complete with no chunk at all is not a success', async (t) => {
  const turn = new TurnTracker('m1', 0);
  t.match(turn.onFrame(complete(''), 5), { ok: false, code: 'mismatch' });
});

t.test('an error frame ends the turn with its code; one without a message id too', async (t) => {
  t.match(new TurnTracker('m1', 0).onFrame({ type: 'error', code: 'llm_unavailable', message_id: 'm1' }, 5), { ok: false, code: 'llm_unavailable' });
  t.match(new TurnTracker('m1', 0).onFrame({ type: 'error', code: 'rate_limited' }, 5), { ok: false, code: 'rate_limited' });
  t.equal(new TurnTracker('m1', 0).onFrame({ type: 'error', code: 'timeout', message_id: 'm0' }, 5), null, "another turn's error is not this one's");
});

t.test('fail() ends a turn from outside, once', async (t) => {
  const turn = new TurnTracker('m1', 0);
  t.match(turn.fail('timeout', 60_000), { ok: false, code: 'timeout', totalMs: 60_000 });
  t.match(turn.onFrame(complete('late'), 61_000), { code: 'timeout' }, 'a late frame does not change the outcome');
});
