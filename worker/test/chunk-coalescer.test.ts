/** Coalescing: the first token goes at once; tokens within the window share a chunk; nothing is lost. */
import t from 'tap';
import { ChunkCoalescer } from '../src/chunk-coalescer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('the first token is flushed at once, the next ones within the window together', async (t) => {
  const flushed: string[] = [];
  const coalescer = new ChunkCoalescer(40, (text) => flushed.push(text));
  coalescer.push('Hello');
  t.same(flushed, ['Hello'], 'first token: no wait');
  coalescer.push(' there');
  coalescer.push(',');
  coalescer.push(' traveller');
  t.same(flushed, ['Hello'], 'later tokens wait for the window');
  await sleep(70);
  t.same(flushed, ['Hello', ' there, traveller'], 'then go as one chunk');
  coalescer.push('!');
  coalescer.end();
  t.same(flushed, ['Hello', ' there, traveller', '!'], 'end flushes what is pending');
  t.equal(flushed.join(''), 'Hello there, traveller!');
});

t.test('window 0 sends every token as its own chunk; empty tokens are ignored', async (t) => {
  const flushed: string[] = [];
  const coalescer = new ChunkCoalescer(0, (text) => flushed.push(text));
  for (const token of ['a', '', 'b', 'c']) coalescer.push(token);
  coalescer.end();
  t.same(flushed, ['a', 'b', 'c']);
});

t.test('discard drops what is pending and cancels the timer', async (t) => {
  const flushed: string[] = [];
  const coalescer = new ChunkCoalescer(20, (text) => flushed.push(text));
  coalescer.push('one');
  coalescer.push('two');
  coalescer.discard();
  await sleep(40);
  t.same(flushed, ['one']);
});

t.test('a steady token stream yields far fewer chunks than tokens, in order', async (t) => {
  const flushed: string[] = [];
  const coalescer = new ChunkCoalescer(15, (text) => flushed.push(text));
  const tokens = Array.from({ length: 200 }, (_, i) => ` t${i}`);
  for (const [i, token] of tokens.entries()) {
    coalescer.push(token);
    if (i % 20 === 19) await sleep(5);
  }
  coalescer.end();
  t.equal(flushed.join(''), tokens.join(''), 'nothing lost or reordered');
  t.ok(flushed.length < tokens.length / 4, `${tokens.length} tokens → ${flushed.length} chunks`);
});
