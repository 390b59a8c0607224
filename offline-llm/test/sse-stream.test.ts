import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import t from 'tap';
import { ChunkEncoder, SSE_DONE, usageOf } from '../src/chunk-encoder.js';
import { FAST_BATCH_TOKENS, SseStream, type StreamPlan } from '../src/sse-stream.js';
import { TimerWheel } from '../src/timer-wheel.js';
import { waitUntil } from './helpers.js';

/** Just enough of a ServerResponse to watch what a stream writes, with a switchable backpressure. */
class FakeResponse extends EventEmitter {
  readonly writes: string[] = [];
  ended: string | undefined;
  status = 0;
  /** What the next write() returns; false = the socket is full. */
  accept = true;
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  write(data: string): boolean {
    this.writes.push(data);
    return this.accept;
  }
  end(data: string): this {
    this.ended = data;
    this.emit('close');
    return this;
  }
  disconnect(): void {
    this.emit('close');
  }
  /** Content chunks in each write, role chunk excluded. */
  batches(): number[] {
    return this.writes.slice(1).map((w) => w.split('\n\n').length - 1);
  }
}

const encoder = new ChunkEncoder({ id: 'chatcmpl-t', created: 1, model: 'm' }, true);

function run(plan: Partial<StreamPlan> & { tokens: number }) {
  const res = new FakeResponse();
  const wheel = new TimerWheel(2, (err) => {
    throw err;
  });
  const events = { tokens: 0, ended: [] as boolean[] };
  const tokenJson = Array.from({ length: plan.tokens }, (_, i) => JSON.stringify(` t${i}`));
  const stream = new SseStream(
    res as unknown as ServerResponse,
    encoder,
    { tokenJson, finishReason: 'stop', usage: usageOf(1, plan.tokens), ttftMs: 0, tokensPerSecond: 0, ...plan },
    wheel,
    { tokensWritten: (n) => (events.tokens += n), ended: (aborted) => events.ended.push(aborted) },
  );
  stream.start();
  return { res, wheel, events };
}

t.test('a paced stream writes role, every due token, then finish + usage + [DONE] in one end()', async (t) => {
  const { res, events, wheel } = run({ tokens: 5, tokensPerSecond: 200 });
  t.equal(res.status, 200);
  t.equal(res.writes[0], encoder.roleChunk());
  await waitUntil(() => res.ended !== undefined, 'the stream ended');
  t.equal(res.writes.slice(1).join(''), [0, 1, 2, 3, 4].map((i) => encoder.contentChunk(JSON.stringify(` t${i}`))).join(''));
  t.equal(res.ended, encoder.finishChunk('stop') + encoder.usageChunk(usageOf(1, 5)) + SSE_DONE);
  t.strictSame(events, { tokens: 5, ended: [false] }, "ended once, although 'close' followed end()");
  t.equal(wheel.size, 0);
});

t.test('a paced stream behind a full socket waits for drain, then catches up in one write', async (t) => {
  const { res, events } = run({ tokens: 50, tokensPerSecond: 1000 });
  t.strictSame(res.batches(), [1], 'the first token went out with the role chunk (ttft 0)');
  res.accept = false; // from the next write on, the socket reports full
  await waitUntil(() => res.writes.length === 3, 'the write that fills the socket');
  await new Promise((resolve) => setTimeout(resolve, 30)); // ~30 tokens fall due meanwhile
  t.equal(res.writes.length, 3, 'nothing written while the socket is full');
  res.accept = true;
  res.emit('drain');
  t.equal(res.writes.length, 4, 'drain writes at once');
  // About 30 tokens fall due in those 30 ms on an idle machine; a loaded one ticks the wheel less
  // often. What matters is that the backlog goes out as one write, not one write per token.
  t.ok(res.batches()[2]! >= 2, `the catch-up write carries ${res.batches()[2]} tokens`);
  await waitUntil(() => res.ended !== undefined, 'the stream ended');
  t.equal(events.tokens, 50);
});

t.test('unpaced: batches of FAST_BATCH_TOKENS, one per event-loop turn, pausing on backpressure', async (t) => {
  const { res, events } = run({ tokens: 200 });
  t.strictSame(res.batches(), [FAST_BATCH_TOKENS], 'one batch written synchronously, the rest on later turns');
  res.accept = false;
  await waitUntil(() => res.writes.length === 3, 'the second batch');
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(res.writes.length, 3, 'paused while the socket is full');
  res.accept = true;
  res.emit('drain');
  await waitUntil(() => res.ended !== undefined, 'the stream ended');
  t.strictSame(res.batches(), [64, 64, 64, 8]);
  t.equal(events.tokens, 200);
});

t.test('a disconnect stops the stream: no more writes, nothing left in the wheel', async (t) => {
  const { res, events, wheel } = run({ tokens: 100, tokensPerSecond: 100 });
  await waitUntil(() => events.tokens >= 2, 'two tokens');
  res.disconnect();
  const written = res.writes.length;
  t.strictSame(events.ended, [true]);
  t.equal(wheel.size, 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(res.writes.length, written);
  t.equal(res.ended, undefined);
});

t.test('a disconnect while waiting for drain or for the next batch also stops it', async (t) => {
  const paced = run({ tokens: 100, tokensPerSecond: 1000 });
  paced.res.accept = false;
  await waitUntil(() => paced.res.writes.length >= 2, 'a content write');
  paced.res.disconnect();
  t.equal(paced.res.listenerCount('drain'), 0, 'the drain listener is removed');
  t.strictSame(paced.events.ended, [true]);

  const fast = run({ tokens: 1000 });
  fast.res.disconnect(); // a setImmediate for the next batch is pending
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.strictSame(fast.res.batches(), [FAST_BATCH_TOKENS]);
  t.strictSame(fast.events, { tokens: FAST_BATCH_TOKENS, ended: [true] });
});
