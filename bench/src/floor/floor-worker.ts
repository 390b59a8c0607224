/**
 * The floor's bare worker. `turns`: pops each question the bare gateway queued (BLPOP when the
 * queue is empty, LPOP of up to 128 when it is not), asks the model (node:http with a keep-alive
 * agent, as the service's worker does), reads the SSE body as it streams with the service's own
 * reader (`completionEventReader`: a content token's event without JSON.parse, the cheapest read we have),
 * publishes the answer's first token at once, holds the later ones and publishes every session's
 * held text together on one tick at most 10 ms after the first was held (the service's
 * FlushClock), then an end frame.
 * `read-only`: every session reads answers back to back and nothing is published. Over the
 * service's own Redis connection (the commands of a loop turn in one write); nothing else: no
 * fencing, no turn log, no masking, no metrics.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { createRedisConnection, type Redis } from '@chat/shared';
import { completionEventReader } from '@chat/worker';
import { FLOOR_CHUNK_WINDOW_MS, FLOOR_QUEUE_KEY, floorChannel, type FloorCounts, type FloorFrame, type FloorQuestion, type FloorRoleSettings } from './floor-protocol.js';

const QUESTION = JSON.stringify({
  model: 'offline-llm',
  messages: [{ role: 'user', content: 'What is the checked baggage allowance?' }],
  stream: true,
  max_tokens: 400,
});

/** Questions taken at once when the queue is not empty. */
const POP_BATCH = 128;

export async function runFloorWorker(settings: FloorRoleSettings): Promise<{ counts: FloorCounts }> {
  if (!settings.modelUrl) throw new Error('the floor worker needs --model-url');
  const redis = await connected(createRedisConnection(settings.redisUrl, { name: 'floor-worker' }), settings.redisUrl);
  const counts = { tokens: 0, frames: 0, answers: 0 } satisfies FloorCounts;
  const held = new Map<number, FloorFrame>();
  const publish = (frame: FloorFrame): void => {
    void redis.spublish(floorChannel(frame.session), JSON.stringify(frame));
    counts.frames++;
  };
  const flush = (): void => {
    tick = null;
    for (const frame of held.values()) publish(frame);
    held.clear();
  };
  // Armed by the first token held since the last flush, as the service's FlushClock is: a worker
  // with nothing held has no timer (an idle floor must not cost more than an idle service).
  let tick: NodeJS.Timeout | null = null;

  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const url = new URL('chat/completions', settings.modelUrl.endsWith('/') ? settings.modelUrl : `${settings.modelUrl}/`);
  /** One answer from the model, each content token to `onToken`, then `onEnd`. */
  const ask = (onToken: (content: string) => void, onEnd: () => void): void => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(QUESTION) } }, (response) => {
      if (response.statusCode !== 200) fail(new Error(`the model answered ${response.statusCode}`));
      readEvents(response, (content) => {
        counts.tokens++;
        onToken(content);
      });
      response.on('end', () => {
        counts.answers++;
        onEnd();
      });
    });
    req.on('error', fail);
    req.end(QUESTION);
  };

  if (settings.mode === 'read-only') {
    const readOn = (): void => ask(() => {}, readOn);
    for (let session = 0; session < settings.sessions; session++) readOn();
    return { counts };
  }

  const answer = ({ session, seq }: FloorQuestion): void => {
    const sentAt = performance.now();
    let first = true;
    ask(
      (content) => {
        if (first) {
          first = false;
          publish({ session, seq, content, modelFirstMs: performance.now() - sentAt });
          return;
        }
        const frame = held.get(session);
        if (frame) frame.content += content;
        else held.set(session, { session, seq, content });
        tick ??= setTimeout(flush, FLOOR_CHUNK_WINDOW_MS);
      },
      () => {
        const rest = held.get(session);
        if (rest) {
          held.delete(session);
          publish(rest);
        }
        publish({ session, seq, end: true });
      },
    );
  };
  // Its own connection: a BLPOP holds it until a question comes.
  const blocking = await connected(createRedisConnection(settings.redisUrl, { name: 'floor-worker-pop' }), settings.redisUrl);
  void (async () => {
    for (;;) {
      const batch = await redis.lpop(FLOOR_QUEUE_KEY, POP_BATCH);
      const questions = batch ?? [(await blocking.blpop(FLOOR_QUEUE_KEY, 0))![1]];
      for (const question of questions) answer(JSON.parse(question) as FloorQuestion);
    }
  })().catch(fail);
  return { counts };
}

/** Reads an SSE body with the service's reader, calling `onContent` with each event's content token. */
function readEvents(response: IncomingMessage, onContent: (content: string) => void): void {
  const reader = completionEventReader(
    new Headers(),
    (chunk) => {
      const content = chunk.choices[0]?.delta?.content;
      if (content) onContent(content);
    },
    (view) => {
      if (view.content) onContent(view.content);
    },
  );
  response.setEncoding('utf8');
  response.on('data', (text: string) => {
    try {
      reader.feed(text);
    } catch (err) {
      fail(err);
    }
  });
  // Before the caller's own 'end' listener: the last event is read before the answer counts as ended.
  response.on('end', () => reader.end());
}

function connected(redis: Redis, url: string): Promise<Redis> {
  return new Promise((resolve, reject) => {
    redis.once('ready', () => resolve(redis));
    redis.once('end', () => reject(new Error(`floor worker: no Redis at ${url}`)));
  });
}

/** A floor that lost a stream or a question would measure less than it claims: it stops instead. */
function fail(err: unknown): never {
  process.stderr.write(`floor worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
