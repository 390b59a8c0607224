/**
 * Resumable streams (issue 5): a client that drops and reconnects, to any gateway, with the last
 * message id and seq it saw gets exactly the frames it missed and then the live rest; a log cut
 * short gives a snapshot instead of a gap; an unknown turn a clear error. Every check reads the
 * frames as a client must (helpers/turn-transcript.ts) and asserts the invariant.
 */
import t from 'tap';
import { createSession, getJson, postJson } from './helpers/http-client.js';
import { SeededRandom } from './helpers/seeded-random.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { readTurn } from './helpers/turn-transcript.js';
import { TestSocket, type Frame } from './helpers/ws-client.js';

const PACED = { ttftMs: 20, tokensPerSecond: 400, answerTokens: 60, fillToAnswerTokens: true };

t.test('drop mid-answer, reconnect to the other gateway with ?resume: exactly the missed frames, then live', async (t) => {
  const stack = await startInProcessStack(t, { gateways: 2, offline: PACED });
  const sessionId = await createSession(stack.httpUrl());
  const first = await TestSocket.open(stack.wsUrl(sessionId, 'phone', 0));
  first.send({ message: 'What is the checked baggage allowance?', message_id: 'resume-me' });
  await first.waitFor((f) => f.type === 'chunk' && Number(f.seq) >= 5, 'a few chunks');
  first.ws.terminate(); // the phone goes through a tunnel
  await first.closed;
  const before = readTurn(first.frames, 'resume-me');
  t.ok(before.end === null && before.lastSeq >= 5, `dropped mid-answer after seq ${before.lastSeq}`);

  // While it is away the answer goes on; GET /chat/session shows how far.
  const view = await getJson<{ in_progress: Array<{ message_id: string; state: string; seq: number; content: string }> }>(`${stack.httpUrl(1)}/chat/session/${sessionId}`);
  const progress = view.body.in_progress.find((p) => p.message_id === 'resume-me');
  if (progress) {
    t.equal(progress.state, 'streaming');
    t.ok(progress.seq >= before.lastSeq, 'the session view shows the turn in progress');
  } else t.pass('the turn finished before the session view was read');

  const again = await TestSocket.open(`${stack.wsUrl(sessionId, 'phone', 1)}?resume=resume-me&seq=${before.lastSeq}`);
  t.teardown(() => again.close());
  await again.turn('resume-me');
  const missed = again.frames.filter((f) => f.message_id === 'resume-me');
  t.equal(Number(missed[0]!.seq), before.lastSeq + 1, 'the first frame after the resume is the next seq');
  const whole = readTurn([...first.frames, ...again.frames], 'resume-me');
  t.same(whole.problems, [], 'no gap, no duplicate, one ending equal to the chunks');
  t.equal(whole.end?.type, 'complete');
});

t.test('a resume frame on an open socket, a turn that already ended, and an unknown turn', async (t) => {
  const stack = await startInProcessStack(t, {});
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello there!', message_id: 'done-turn' });
  const { end } = await socket.turn('done-turn');
  const seen = readTurn(socket.frames, 'done-turn');
  t.same(seen.problems, []);

  // A client that saw only the first three frames asks again, after the turn ended.
  const late = await TestSocket.open(stack.wsUrl(sessionId, 'late'));
  t.teardown(() => late.close());
  late.send({ type: 'resume', message_id: 'done-turn', seq: 2 });
  await late.turn('done-turn');
  const replay = late.frames.filter((f) => f.message_id === 'done-turn');
  t.same(replay.map((f) => f.seq), socket.frames.filter((f) => f.message_id === 'done-turn' && Number(f.seq) > 2).map((f) => f.seq), 'exactly the frames after seq 2');
  t.equal(replay.at(-1)!.content, end.content);

  late.send({ type: 'resume', message_id: 'never-sent', seq: -1 });
  const unavailable = await late.waitFor((f) => f.type === 'error' && f.message_id === 'never-sent', 'the resume error');
  t.equal(unavailable.code, 'resume_unavailable');
  late.send({ type: 'resume', message_id: 'done-turn', seq: 'two' });
  const invalid = await late.waitFor((f) => f.type === 'error' && f.code === 'validation_failed', 'a validation error');
  t.match(String(invalid.content), /seq/);

  // After all that the socket is live on the session again.
  socket.send({ message: 'Thanks for the info!', message_id: 'after-resumes' });
  const live = await late.turn('after-resumes');
  t.equal(live.end.type, 'complete', 'the resumed socket gets live turns');
});

t.test('a resume from further back than the log keeps gets a snapshot, never a gap', async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 300, fillToAnswerTokens: true }, config: { turn: { logMaxFrames: 20 } } });
  // Small stream nodes so that the approximate MAXLEN trim really trims at this size.
  await stack.redisClient.config('SET', 'stream-node-max-entries', '5');
  const sessionId = await createSession(stack.httpUrl());
  // The whole answer, over REST (no socket at all while it streams).
  const answered = await postJson<{ content: string }>(`${stack.httpUrl()}/chat/message?wait=1`, { session_id: sessionId, message: 'Tell me about refunds', message_id: 'long-turn' });
  t.equal(answered.status, 200);
  const end = { content: answered.body.content };

  const late = await TestSocket.open(`${stack.wsUrl(sessionId, 'late')}?resume=long-turn&seq=3`);
  t.teardown(() => late.close());
  const { end: lateEnd } = await late.turn('long-turn');
  t.ok(Number(lateEnd.seq) > 100, `a long turn (${String(lateEnd.seq)} frames)`);
  const frames = late.frames.filter((f) => f.message_id === 'long-turn');
  t.equal(frames[0]!.type, 'snapshot', 'the client gets the answer so far first');
  t.ok(Number(frames[0]!.seq) > 3, 'covering what the log no longer keeps');
  const transcript = readTurn(frames, 'long-turn');
  t.same(transcript.problems, []);
  t.equal(transcript.text, end.content, 'snapshot plus the frames after it make the whole answer');
});

t.test('drop and resume at random points across many turns: the invariant holds for every one', async (t) => {
  const seed = Number(process.env.RESUME_FUZZ_SEED ?? 20261130);
  const turns = Number(process.env.RESUME_FUZZ_TURNS ?? 200);
  t.comment(`seed ${seed} (RESUME_FUZZ_SEED), ${turns} turns (RESUME_FUZZ_TURNS)`);
  const random = new SeededRandom(seed);
  const logLines: string[] = [];
  t.teardown(() => {
    if (process.env.RESUME_FUZZ_DEBUG) for (const line of logLines.filter((l) => l.includes(process.env.RESUME_FUZZ_DEBUG ?? "-"))) t.comment(line.slice(0, 400));
  });
  const stack = await startInProcessStack(t, {
    gateways: 2,
    logLines,
    offline: { ttftMs: 5, tokensPerSecond: 3000, answerTokens: 40, fillToAnswerTokens: true },
    config: { limits: { turnsPerMinute: 10_000, connectsPerMinutePerAddress: 100_000 }, ...(process.env.RESUME_FUZZ_DEBUG ? { log: { level: 'debug' as const } } : {}) },
  });
  const sessionId = await createSession(stack.httpUrl());
  let midAnswer = 0;
  let lostBeforeAccepted = 0;
  let redrops = 0;
  for (let i = 0; i < turns; i++) {
    const messageId = `fuzz-${i}`;
    const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c', i % 2));
    socket.send({ message: `Question ${i} about baggage`, message_id: messageId });
    // 0 to 44 frames (an answer is about 40): before, during or after the answer.
    const dropAfter = Math.floor(random.next() * 45);
    if (dropAfter > 0) {
      const reached = (f: Frame) => f.message_id === messageId && (Number(f.seq) >= dropAfter - 1 || f.type === 'complete' || f.type === 'error');
      // Should a fresh socket be dropped before its first frame (counted: it must not happen),
      // the client is where it would be after any drop, and resumes.
      await socket.waitFor(reached, `frame ${dropAfter - 1}`, 10_000).catch((err: Error) => {
        if (socket.ws.readyState !== socket.ws.CLOSED) throw err;
        redrops++;
        t.comment(`turn ${i}: first socket dropped (${err.message.slice(0, 80)})`);
      });
    }
    socket.ws.terminate();
    await socket.closed;
    const before = readTurn(socket.frames, messageId);
    if (process.env.RESUME_FUZZ_DEBUG) t.comment(`turn ${i}: drop after ${dropAfter}, saw up to seq ${before.lastSeq}`);
    let frames: Frame[] = socket.frames;
    if (!before.end) {
      // Not seen to its end: reconnect to the other gateway and resume from the last seq seen.
      midAnswer++;
      frames = [...socket.frames];
      // A client resumes until it has the turn's end, reconnecting if the new socket drops too
      // (it should not: fresh sockets were once dropped by an async upgrade; see chat-socket-handler).
      for (let attempt = 0; attempt < 3; attempt++) {
        const lastSeq = readTurn(frames, messageId).lastSeq;
        const again = await TestSocket.open(`${stack.wsUrl(sessionId, 'c', (i + attempt + 1) % 2)}?resume=${messageId}&seq=${lastSeq}`);
        const ended = await again.turn(messageId, 20_000).then(
          () => true,
          (err: Error) => {
            t.comment(`turn ${i}: resumed socket dropped (${err.message.slice(0, 80)}); resuming again`);
            return false;
          },
        );
        again.close();
        frames.push(...again.frames);
        if (ended) break;
        redrops++;
      }
    }
    const whole = readTurn(frames, messageId);
    const unavailable = frames.some((f) => f.type === 'error' && f.code === 'resume_unavailable' && f.message_id === messageId);
    if (unavailable && before.lastSeq === -1) {
      // Dropped so fast that the message was never accepted (it had not reached the gateway, or
      // the socket closed before its admission finished): the client is told so by the resume
      // (it sends again). Prove it was never accepted.
      lostBeforeAccepted++;
      const view = await getJson<{ history: Array<{ message_id: string }>; in_progress: Array<{ message_id: string }> }>(`${stack.httpUrl()}/chat/session/${sessionId}`);
      t.notOk([...view.body.history, ...view.body.in_progress].some((h) => h.message_id === messageId), `turn ${i}: resume_unavailable only for a message never accepted`);
      continue;
    }
    if (whole.problems.length > 0 || whole.end?.type !== 'complete') {
      t.fail(`turn ${i} (dropped after seq ${before.lastSeq}): ${whole.problems.join('; ') || `ended with ${whole.end?.type ?? 'nothing'}`}`);
      const seqs = (frames: readonly Frame[]) => frames.filter((f) => f.message_id === messageId).map((f) => `${f.type[0]}${String(f.seq)}`).join(' ');
      t.comment(`first socket: ${seqs(socket.frames)}`);
      t.comment(`after resume: ${seqs(frames.slice(socket.frames.length))}`);
      for (const line of logLines.filter((l) => l.includes(`"${messageId}"`) || l.includes('restored'))) t.comment(line.slice(0, 400));
    }
  }
  t.pass(`${turns} turns dropped and resumed (${midAnswer} before their end, ${lostBeforeAccepted} before the message was accepted) with no gap, no duplicate, one ending each`);
  t.ok(midAnswer >= turns / 4, `enough of the drops were mid-answer (${midAnswer})`);
  t.equal(redrops, 0, 'no resumed socket dropped again (it would be resumed once more, as a client does)');
});

t.test('a client that lost everything recovers from GET /chat/session/:id: the answer so far and the seq to resume from', async (t) => {
  // About 5 s per answer: the session is read mid-answer for certain.
  const stack = await startInProcessStack(t, { offline: { ttftMs: 20, tokensPerSecond: 40, answerTokens: 200, fillToAnswerTokens: true } });
  const sessionId = await createSession(stack.httpUrl());
  const sender = await TestSocket.open(stack.wsUrl(sessionId, 'old-phone'));
  sender.send({ message: 'What is the checked baggage allowance?', message_id: 'recover-me' });
  sender.send({ message: 'And for infants?', message_id: 'queued-behind' });
  await sender.waitFor((f) => f.type === 'chunk' && Number(f.seq) >= 3, 'a few chunks');
  sender.ws.terminate(); // the phone is lost with everything it held

  type Progress = { message_id: string; state: string; seq: number; content: string };
  const view = await getJson<{ in_progress: Progress[] }>(`${stack.httpUrl()}/chat/session/${sessionId}`);
  t.same(
    view.body.in_progress.map((p) => [p.message_id, p.state]),
    [
      ['recover-me', 'streaming'],
      ['queued-behind', 'queued'],
    ],
    'both turns, oldest first, one streaming and one waiting its turn',
  );
  const progress = view.body.in_progress[0]!;
  t.ok(progress.seq >= 3 && progress.content.length > 0, `the answer so far (${progress.content.length} characters, up to seq ${progress.seq})`);

  const fresh = await TestSocket.open(`${stack.wsUrl(sessionId, 'new-phone')}?resume=recover-me&seq=${progress.seq}`);
  t.teardown(() => fresh.close());
  const { chunks, end } = await fresh.turn('recover-me', 20_000);
  t.equal(Number(chunks[0]?.seq ?? end.seq), progress.seq + 1, 'the resume starts right after what the view showed');
  t.equal(progress.content + chunks.map((c) => String(c.content)).join(''), end.content, 'the view\'s text plus the resumed chunks make the whole answer');
  const second = await fresh.turn('queued-behind', 20_000);
  t.equal(second.end.type, 'complete', 'and the queued turn streams live to the new socket');
});
