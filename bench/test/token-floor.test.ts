/**
 * The token floor (bench/src/token-floor): real processes — a spawned Redis, the offline model,
 * the bare worker, gateway and clients — and the figures it reports. The floor is only a floor
 * if its bare relay delivers what it reads: every frame reaches its own session's socket.
 */
import t from 'tap';
import { runTokenFloor } from '../src/token-floor/token-floor.js';

// Quicker answers than the scenario's (400 ms, 60 tokens/s): a short window sees many of them.
const FAST_MODEL = { OFFLINE_LLM_TTFT_MS: '20', OFFLINE_LLM_TOKENS_PER_SECOND: '200', OFFLINE_LLM_ANSWER_TOKENS: '30', OFFLINE_LLM_FILL: 'true' };

t.test('relayed: every frame the bare worker publishes reaches its session socket, and each process is priced per token', async (t) => {
  const floor = await runTokenFloor({ sessions: 6, warmupMs: 500, measureMs: 2500, modelEnv: FAST_MODEL });
  t.ok(floor.tokensPerSecond > 100, `tokens read (${floor.tokensPerSecond}/s)`);
  t.ok(floor.answersPerSecond > 1, `answers read to their end, then asked again (${floor.answersPerSecond}/s)`);
  t.ok(floor.framesPerToken > 0 && floor.framesPerToken <= 1, `tokens held into frames (${floor.framesPerToken} per token)`);
  // Frames in flight at the window's two edges (at most one a session) are all that may differ.
  t.ok(floor.receivedPerFrame !== null && floor.receivedPerFrame >= 0.95 && floor.receivedPerFrame <= 1.05, `the clients received the frames published (${floor.receivedPerFrame} per frame)`);
  t.equal(floor.misrouted, 0, 'no frame reached another session');
  const c = floor.cpuPerTokenUs;
  t.ok(c.worker > 0 && c.redis > 0, `worker and Redis CPU per token measured (${JSON.stringify(c)})`);
  t.equal(c.floor, Math.round((c.worker + c.gateway + c.redis) * 100) / 100, 'the floor is worker + gateway + Redis');
});

t.test('read only: the bare worker reads the streams and publishes nothing', async (t) => {
  const floor = await runTokenFloor({ sessions: 3, warmupMs: 300, measureMs: 1500, modelEnv: FAST_MODEL, readOnly: true });
  t.ok(floor.tokensPerSecond > 50, `tokens read (${floor.tokensPerSecond}/s)`);
  t.equal(floor.framesPerToken, 0, 'no frame published');
  t.equal(floor.receivedPerFrame, null, 'nothing to receive');
  t.ok(floor.cpuPerTokenUs.worker > 0, `the read's CPU per token (${floor.cpuPerTokenUs.worker} µs)`);
});
