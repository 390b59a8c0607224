/**
 * Slow readers (issue 5): a socket that reads slower than the stream first gets fewer, larger
 * chunks (merged while its send buffer is high) instead of being cut off, and the other sockets
 * of the session do not wait for it. Only past the hard bound is it closed (and it can resume).
 */
import t from 'tap';
import type { Socket } from 'node:net';
import { createSession } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { readTurn } from './helpers/turn-transcript.js';
import { TestSocket } from './helpers/ws-client.js';

t.test('a paused reader gets merged chunks and the whole answer; its neighbour is not held up', async (t) => {
  const stack = await startInProcessStack(t, {
    offline: { ttftMs: 0, tokensPerSecond: 0, answerTokens: 40_000, fillToAnswerTokens: true },
    config: {
      gateway: { slowClientBytes: 16 * 1024, maxBackpressureBytes: 256 * 1024 * 1024 },
      llm: { maxTokens: 40_000 },
      turn: { logMaxFrames: 100_000 },
    },
  });
  const sessionId = await createSession(stack.httpUrl());
  const fast = await TestSocket.open(stack.wsUrl(sessionId, 'fast'));
  const slow = await TestSocket.open(stack.wsUrl(sessionId, 'slow'));
  t.teardown(() => [fast, slow].forEach((s) => s.close()));
  // Stop reading: the kernel buffers fill, then the gateway's buffer for this socket grows.
  const raw = (slow.ws as unknown as { _socket: Socket })._socket;
  raw.pause();
  fast.send({ message: 'Tell me everything', message_id: 'long-answer' });
  const fastTurn = await fast.turn('long-answer', 60_000);
  t.equal(fastTurn.end.type, 'complete', 'the fast reader got its answer while the slow one read nothing');
  raw.resume();
  await slow.turn('long-answer', 60_000);
  const transcript = readTurn(slow.frames, 'long-answer');
  t.same(transcript.problems, [], 'the slow reader\'s frames cover every seq, in order');
  t.equal(transcript.text, fastTurn.end.content, 'and make the whole answer');
  const merged = slow.frames.filter((f) => f.type === 'chunk' && f.first_seq !== undefined);
  t.ok(merged.length > 0, `it got merged chunks (${merged.length}) instead of being cut off`);
  t.ok(slow.frames.length < fast.frames.length, `fewer frames for the slow reader (${slow.frames.length} vs ${fast.frames.length})`);
  const metrics = await (await fetch(`${stack.httpUrl()}/metrics`)).text();
  t.match(metrics, /chat_gateway_slow_client_merged_chunks_total\{[^}]*\} [1-9]/);
});
