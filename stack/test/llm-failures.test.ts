/**
 * What clients see when the LLM misbehaves: transient errors are retried out of sight, a turn
 * that fails for good ends with exactly one error frame, and the session moves on.
 *
 *   socket ─▶ gateway ─▶ worker ─▶ scripted LLM (500 / 400 / 429 / cut mid-stream / ok)
 */
import t from 'tap';
import { createSession } from './helpers/http-client.js';
import { startScriptedLlm } from './helpers/scripted-llm.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

t.test('a transient 500 is retried; the client sees one clean answer', async (t) => {
  const llm = await startScriptedLlm(t, ['status-500', 'ok']);
  const stack = await startInProcessStack(t, { config: { llm: { baseUrl: llm.baseUrl }, worker: { jobAttempts: 3 } } });
  const socket = await TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello there!' });
  const { chunks, end } = await socket.turn(null);
  t.equal(end.type, 'complete');
  t.equal(end.content, llm.answer);
  t.equal(chunks.map((c) => c.content).join(''), llm.answer);
  t.equal(llm.requests, 2, 'one failure, one success');
  t.equal(socket.frames.filter((f) => f.type === 'error').length, 0, 'no error reached the client');
});

t.test('a 500 that persists is answered with the labelled grounded fallback after all attempts', async (t) => {
  const llm = await startScriptedLlm(t, ['status-500']);
  const stack = await startInProcessStack(t, { config: { llm: { baseUrl: llm.baseUrl }, worker: { jobAttempts: 2 } } });
  const socket = await TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'How much checked baggage can I take in economy?' });
  const { chunks, end } = await socket.turn(null);
  t.equal(end.type, 'complete', 'the customer still gets an answer');
  const metadata = end.metadata as { fallback?: boolean; model: string; sources?: Array<{ source: string }> };
  t.equal(metadata.fallback, true);
  t.equal(metadata.model, 'grounded-fallback');
  t.match(String(end.content), /^\(Our assistant is unavailable right now; this answer is taken directly from our documents/);
  t.match(String(end.content), /\[\d\]/, 'it cites the passages it quotes');
  t.ok(metadata.sources?.some((s) => s.source.includes('baggage')), 'grounded on the baggage policy');
  t.equal(chunks.map((c) => c.content).join(''), end.content);
  t.equal(llm.requests, 2, 'both attempts were made first');
});

t.test('with the fallback off, a 500 that persists ends the turn with one llm_unavailable error; the next turn still runs', async (t) => {
  const llm = await startScriptedLlm(t, ['status-500', 'status-500', 'ok']);
  const stack = await startInProcessStack(t, { config: { llm: { baseUrl: llm.baseUrl, fallback: false }, worker: { jobAttempts: 2 } } });
  const socket = await TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'first' });
  const first = await socket.turn(null);
  t.equal(first.end.type, 'error');
  t.equal(first.end.code, 'llm_unavailable');
  t.same(first.chunks, [], 'no partial answer');
  t.equal(llm.requests, 2, 'both attempts were made');
  socket.send({ message: 'second' });
  const second = await socket.waitFor((f) => f.type === 'complete', 'the second turn completes');
  t.equal(second.content, llm.answer, 'the session is not stuck behind the failed turn');
  await settle();
  t.equal(socket.frames.filter((f) => f.type === 'error').length, 1, 'exactly one error frame in all');
});

t.test('a 400 is not retried', async (t) => {
  const llm = await startScriptedLlm(t, ['status-400']);
  const stack = await startInProcessStack(t, { config: { llm: { baseUrl: llm.baseUrl, fallback: false }, worker: { jobAttempts: 3 } } });
  const socket = await TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello' });
  const { end } = await socket.turn(null);
  t.equal(end.code, 'llm_unavailable');
  await settle();
  t.equal(llm.requests, 1, 'one request only');
});

t.test('a provider 429 waits and retries without using up attempts', async (t) => {
  const llm = await startScriptedLlm(t, ['status-429', 'status-429', 'ok']);
  const stack = await startInProcessStack(t, { config: { llm: { baseUrl: llm.baseUrl }, worker: { jobAttempts: 1 } } });
  const socket = await TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello' });
  const { end } = await socket.turn(null);
  t.equal(end.type, 'complete', 'answered even with a single attempt allowed');
  t.equal(llm.requests, 3);
});

t.test('a stream cut mid-answer is retried: a reset frame, then one whole answer', async (t) => {
  const llm = await startScriptedLlm(t, ['drop-mid-stream', 'ok']);
  const stack = await startInProcessStack(t, { config: { llm: { baseUrl: llm.baseUrl }, worker: { jobAttempts: 3, backoffMs: 50 } } });
  const socket = await TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello' });
  const { end } = await socket.turn(null);
  t.equal(end.type, 'complete', 'the second attempt answered');
  // The answer's frames (the question's `user_message` frame is not one of them).
  const frames = socket.frames.filter((f) => f.message_id === end.message_id && f.type !== 'user_message');
  const resetAt = frames.findIndex((f) => f.type === 'reset');
  t.ok(resetAt > 0, 'a reset frame came after the first attempt\'s chunks');
  const partial = frames.slice(0, resetAt).filter((f) => f.type === 'chunk').map((f) => f.content).join('');
  // The last word may still sit in the PII scrubber's hold-back when the stream breaks.
  t.ok(partial.length > 0 && 'The scripted model'.startsWith(partial), `the partial answer came first, in order ("${partial}")`);
  const after = frames.slice(resetAt + 1).filter((f) => f.type === 'chunk');
  t.equal(after.map((c) => c.content).join(''), end.content, 'the chunks after the reset are the whole answer');
  const seqs = frames.filter((f) => f.type !== 'complete').map((f) => f.seq);
  t.same(seqs, seqs.map((_, i) => i), 'seq runs on across attempts with no gap and no duplicate');
  t.equal(end.seq, frames.length - 1, 'complete carries the next seq');
  t.equal(llm.requests, 2);
  t.equal(frames.filter((f) => f.type === 'complete' || f.type === 'error').length, 1, 'exactly one ending');
});

t.test('a stream cut mid-answer with no attempt left ends with llm_stream_interrupted after the chunks sent', async (t) => {
  const llm = await startScriptedLlm(t, ['drop-mid-stream', 'ok']);
  const stack = await startInProcessStack(t, { config: { llm: { baseUrl: llm.baseUrl }, worker: { jobAttempts: 1 } } });
  const socket = await TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello' });
  const { chunks, end } = await socket.turn(null);
  t.equal(end.type, 'error');
  t.equal(end.code, 'llm_stream_interrupted');
  const partial = chunks.map((c) => c.content).join('');
  t.ok(partial.length > 0 && 'The scripted model'.startsWith(partial), `the partial answer came first, in order ("${partial}")`);
  await settle();
  t.equal(llm.requests, 1, 'no attempt left: not retried');
});
