/**
 * The floor (bench/src/floor): real processes — a spawned Redis, the offline model, the bare
 * gateway, worker and clients — and the figures it reports. A floor is only a floor if its bare
 * path does the whole job: every question answered, every frame on its own session's socket.
 */
import t from 'tap';
import { runFloor } from '../src/floor/floor.js';

// Quicker answers than the overhead scenario's (400 ms, 60 tokens/s): a short window sees many.
const FAST_MODEL = { OFFLINE_LLM_TTFT_MS: '20', OFFLINE_LLM_TOKENS_PER_SECOND: '200', OFFLINE_LLM_ANSWER_TOKENS: '30', OFFLINE_LLM_FILL: 'true' };

t.test('turns: each client question is answered on its own socket, the time added to its first token and each process priced', async (t) => {
  const floor = await runFloor({ sessions: 6, warmupMs: 500, measureMs: 2500, modelEnv: FAST_MODEL });
  // 6 sessions, each answer ~20 ms to its first token + 30 tokens at 200/s: ~35 turns/s in all.
  t.ok(floor.turnsPerSecond > 10, `answers came back whole, and the next question went (${floor.turnsPerSecond} turns/s)`);
  t.ok(floor.tokensPerSecond > 100, `tokens read (${floor.tokensPerSecond}/s)`);
  t.ok(floor.framesPerToken > 0 && floor.framesPerToken <= 1, `tokens held into frames (${floor.framesPerToken} per token)`);
  // Frames in flight at the window's two edges (a few a session) are all that may differ.
  t.ok(floor.receivedPerFrame !== null && floor.receivedPerFrame >= 0.95 && floor.receivedPerFrame <= 1.05, `the clients received the frames published (${floor.receivedPerFrame} per frame)`);
  t.equal(floor.misrouted, 0, 'no frame reached another session, or another turn');
  const first = floor.addedFirstMs!;
  t.ok(first.count >= 10 && first.p50! > 0 && first.p50! < 20, `time added to the first token, the model's own time taken out (${JSON.stringify(first)})`);
  const c = floor.cpuPerTokenUs;
  t.ok(c.worker > 0 && c.redis > 0 && c.gateway > 0, `gateway, worker and Redis CPU per token measured (${JSON.stringify(c)})`);
  t.equal(c.floor, Math.round((c.worker + c.gateway + c.redis) * 100) / 100, 'the floor is gateway + worker + Redis');
  t.ok(floor.cpuPerTurnMs!.floor > 0, `and per turn (${floor.cpuPerTurnMs!.floor} ms)`);
});

t.test('read only: the bare worker reads the streams and nothing is asked or published', async (t) => {
  const floor = await runFloor({ sessions: 3, warmupMs: 300, measureMs: 1500, modelEnv: FAST_MODEL, mode: 'read-only' });
  t.ok(floor.tokensPerSecond > 50, `tokens read (${floor.tokensPerSecond}/s)`);
  t.equal(floor.framesPerToken, 0, 'no frame published');
  t.equal(floor.receivedPerFrame, null, 'nothing to receive');
  t.equal(floor.turnsPerSecond, 0, 'no client turn');
  t.equal(floor.addedFirstMs, null, 'no first-token time');
  t.ok(floor.cpuPerTokenUs.worker > 0, `the read's CPU per token (${floor.cpuPerTokenUs.worker} µs)`);
});
