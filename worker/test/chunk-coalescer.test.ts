/**
 * Coalescing: an answer's first chunk goes at once; the tokens after it wait for the worker's
 * flush tick, which every stream shares; nothing is lost or reordered.
 */
import t from 'tap';
import { ChunkCoalescer, FlushClock } from '../src/chunk-coalescer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds (polled), failing the test after `ms`. */
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await sleep(2);
  }
}

t.test('the first chunk is flushed at once, the next tokens together at the tick', async (t) => {
  const flushed: string[] = [];
  const coalescer = new ChunkCoalescer(new FlushClock(40), (text) => flushed.push(text) > 0);
  coalescer.push('Hello');
  t.same(flushed, ['Hello'], 'first token: no wait');
  coalescer.push(' there');
  coalescer.push(',');
  coalescer.push(' traveller');
  t.same(flushed, ['Hello'], 'later tokens wait for the tick');
  await until(() => flushed.length === 2);
  t.same(flushed, ['Hello', ' there, traveller'], 'then go as one chunk');
  coalescer.push('!');
  coalescer.end();
  t.same(flushed, ['Hello', ' there, traveller', '!'], 'end flushes what is pending');
  t.equal(flushed.join(''), 'Hello there, traveller!');
  await sleep(60);
  t.equal(flushed.length, 3, 'the tick that was due flushes nothing twice');
});

t.test('a first chunk that came to nothing leaves the next one first, sent at once too', async (t) => {
  const sent: string[] = [];
  // As the answer streamer's flush: a chunk the PII scrubber empties sends nothing.
  const coalescer = new ChunkCoalescer(new FlushClock(40), (text) => {
    if (text === 'removed') return false;
    sent.push(text);
    return true;
  });
  coalescer.push('removed');
  coalescer.push('Hello');
  t.same(sent, ['Hello'], 'the first visible text did not wait for the tick');
  coalescer.push(' again');
  t.same(sent, ['Hello'], 'the next one does');
  coalescer.end();
  t.same(sent, ['Hello', ' again']);
});

t.test('window 0 sends every token as its own chunk; empty tokens are ignored', async (t) => {
  const flushed: string[] = [];
  const coalescer = new ChunkCoalescer(new FlushClock(0), (text) => flushed.push(text) > 0);
  for (const token of ['a', '', 'b', 'c']) coalescer.push(token);
  coalescer.end();
  t.same(flushed, ['a', 'b', 'c']);
});

t.test('discard drops what is pending and takes it off the tick', async (t) => {
  const flushed: string[] = [];
  const clock = new FlushClock(20);
  const coalescer = new ChunkCoalescer(clock, (text) => flushed.push(text) > 0);
  coalescer.push('one');
  coalescer.push('two');
  coalescer.discard();
  await sleep(40);
  t.same(flushed, ['one']);
});

t.test('the streams of a worker flush on one tick, all in the same run of the event loop', async (t) => {
  // A window far longer than the few loop turns the pushes below take, even on a loaded machine:
  // every stream's second token is held when the tick comes.
  const clock = new FlushClock(500);
  const streams = 50;
  const flushed: string[][] = Array.from({ length: streams }, () => []);
  // Which run of the event loop each held chunk was flushed in: a microtask queued by the first
  // flush of a run ends that run.
  let run = 0;
  let runOpen = false;
  const runs: number[] = [];
  const coalescers = flushed.map(
    (chunks, i) =>
      new ChunkCoalescer(clock, (text) => {
        chunks.push(text);
        if (chunks.length === 1) return true; // the first chunk, sent at once
        if (!runOpen) {
          runOpen = true;
          run++;
          queueMicrotask(() => (runOpen = false));
        }
        runs[i] = run;
        return true;
      }),
  );
  // Every stream's first token, then a second token per stream spread over a few loop turns.
  coalescers.forEach((c, i) => c.push(`first${i}`));
  for (const [i, c] of coalescers.entries()) {
    c.push(` second${i}`);
    if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
  }
  t.ok(flushed.every((chunks) => chunks.length === 1), 'every second token is held until the tick');
  await until(() => flushed.every((chunks) => chunks.length === 2));
  t.equal(new Set(runs).size, 1, `${streams} streams' held tokens flushed in ${new Set(runs).size} run(s)`);
  t.ok(flushed.every((chunks, i) => chunks.join('') === `first${i} second${i}`), 'each stream got its own text, in order');
});

t.test('a steady token stream yields far fewer chunks than tokens, in order', async (t) => {
  const flushed: string[] = [];
  const coalescer = new ChunkCoalescer(new FlushClock(15), (text) => flushed.push(text) > 0);
  const tokens = Array.from({ length: 200 }, (_, i) => ` t${i}`);
  for (const [i, token] of tokens.entries()) {
    coalescer.push(token);
    if (i % 20 === 19) await sleep(5);
  }
  coalescer.end();
  t.equal(flushed.join(''), tokens.join(''), 'nothing lost or reordered');
  t.ok(flushed.length < tokens.length / 4, `${tokens.length} tokens → ${flushed.length} chunks`);
});
