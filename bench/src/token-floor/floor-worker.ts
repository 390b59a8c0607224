/**
 * The token floor's bare worker: each session asks the model for an answer as soon as its last
 * one ended, reads the SSE body as it streams (node:http with a keep-alive agent, as the
 * service's worker reads it; JSON.parse per event), holds each session's text and publishes it
 * with SPUBLISH on one tick for every session, an answer's first token at once (the service's
 * FlushClock). Over the service's own Redis connection (commands of a loop turn in one write).
 * Nothing else: no fencing, no turn log, no masking, no metrics.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { createRedisConnection } from '@chat/shared';
import { FLOOR_CHUNK_WINDOW_MS, floorChannel, type FloorCounts, type FloorFrame, type FloorRoleSettings } from './floor-protocol.js';

const QUESTION = JSON.stringify({
  model: 'offline-llm',
  messages: [{ role: 'user', content: 'What is the checked baggage allowance?' }],
  stream: true,
  max_tokens: 400,
});

interface ChunkEvent {
  choices?: Array<{ delta?: { content?: string | null } }>;
}

export async function runFloorWorker(settings: FloorRoleSettings): Promise<{ counts: FloorCounts }> {
  if (!settings.modelUrl) throw new Error('the floor worker needs --model-url');
  const redis = createRedisConnection(settings.redisUrl, { name: 'floor-worker' });
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', resolve);
    redis.once('end', () => reject(new Error(`floor worker: no Redis at ${settings.redisUrl}`)));
  });
  const counts = { tokens: 0, frames: 0, answers: 0 } satisfies FloorCounts;
  const held = new Map<number, FloorFrame>();
  const flush = (): void => {
    for (const frame of held.values()) {
      void redis.spublish(floorChannel(frame.session), JSON.stringify(frame));
      counts.frames++;
    }
    held.clear();
  };
  if (!settings.readOnly) setInterval(flush, FLOOR_CHUNK_WINDOW_MS);

  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const url = new URL('chat/completions', settings.modelUrl.endsWith('/') ? settings.modelUrl : `${settings.modelUrl}/`);
  const onToken = (session: number, seq: number, content: string, first: boolean): void => {
    counts.tokens++;
    if (settings.readOnly) return;
    const frame = held.get(session);
    if (frame) frame.content += content;
    else held.set(session, { session, seq, content });
    if (first) setImmediate(flush);
  };
  const readAnswer = (session: number, seq: number, response: IncomingMessage): void => {
    response.setEncoding('utf8');
    let buffered = '';
    let first = true;
    response.on('data', (text: string) => {
      buffered += text;
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
        const content = (JSON.parse(event.slice(6)) as ChunkEvent).choices?.[0]?.delta?.content;
        if (!content) continue;
        onToken(session, seq, content, first);
        first = false;
      }
    });
    response.on('end', () => {
      counts.answers++;
      ask(session, seq + 1);
    });
  };
  const ask = (session: number, seq: number): void => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(QUESTION) } }, (response) => {
      if (response.statusCode !== 200) fail(new Error(`the model answered ${response.statusCode}`));
      readAnswer(session, seq, response);
    });
    req.on('error', fail);
    req.end(QUESTION);
  };
  for (let session = 0; session < settings.sessions; session++) ask(session, 0);
  return { counts };
}

/** A floor that lost a stream would measure less than it claims: it stops instead. */
function fail(err: Error): never {
  process.stderr.write(`floor worker: ${err.message}\n`);
  process.exit(1);
}
