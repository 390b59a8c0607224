/**
 * The slow-reader policy (SlowClients) on its own, against a socket double whose buffered amount
 * the test sets: on a real loopback socket the kernel absorbs megabytes before uWS buffers a
 * byte, which makes the moment a reader crosses a bound impossible to place. The integration
 * side (merged chunks reaching a real paused socket) is stack/test/slow-reader.test.ts.
 */
import t, { type Test } from 'tap';
import { CloseCode, FrameKind, GatewayMetrics, createMetricsRegistry } from '@chat/shared';
import { SLOW_CONSUMER_CLOSE_REASON, SlowClients } from '../src/ws/slow-clients.js';
import type { ChatSocket } from '../src/ws/socket-data.js';

const SOFT = 1000;
const HARD = 5000;

/** What SlowClients calls on a socket, recorded; `buffered` is what uWS would report. */
class SocketDouble {
  buffered = 0;
  sent: string[] = [];
  ended: { code: number; reason: string } | null = null;
  onTopic = true;
  private readonly data = { sessionId: 's1', closed: false, resuming: false };

  getUserData() {
    return this.data;
  }
  getBufferedAmount() {
    if (this.ended) throw new Error('used after close');
    return this.buffered;
  }
  send(frame: string | Buffer) {
    if (this.ended) throw new Error('used after close');
    this.sent.push(frame.toString());
    return 1;
  }
  end(code: number, reason: string) {
    this.ended = { code, reason };
    this.data.closed = true;
  }
  subscribe() {
    this.onTopic = true;
    return true;
  }
  unsubscribe() {
    this.onTopic = false;
    return true;
  }
}

function chunk(seq: number, content: string): Buffer {
  return Buffer.from(JSON.stringify({ type: 'chunk', content, session_id: 's1', message_id: 'm1', seq, timestamp: '2026-01-01T00:00:00.000Z' }));
}

function setup(t: Test, sweepEveryMs = 1_000_000) {
  const socket = new SocketDouble();
  const metrics = new GatewayMetrics(createMetricsRegistry('gateway-test', false));
  const lookups: string[] = [];
  const slow = new SlowClients(
    (sessionId) => {
      lookups.push(sessionId);
      return sessionId === 's1' ? [socket as unknown as ChatSocket] : [];
    },
    metrics,
    { softLimitBytes: SOFT, hardLimitBytes: HARD, sweepEveryMs },
  );
  t.teardown(() => slow.close());
  // The sweep, run by hand: it takes a socket past the soft limit off the topic.
  const sweep = () => (slow as unknown as { sweep: () => void }).sweep();
  // A frame the relay published to the session's topic (what fills a reader's buffer).
  const relay = (frame: Buffer = chunk(0, 'on the topic ')) => slow.relayed('s1', FrameKind.chunk, frame);
  return { socket, slow, sweep, relay, metrics, lookups };
}

t.test('a reader over the soft limit gets its chunks merged once it has room again', async (t) => {
  const { socket, slow, sweep, relay } = setup(t);
  relay();
  socket.buffered = SOFT + 1;
  sweep();
  t.equal(socket.onTopic, false, 'off the topic: its frames now come through SlowClients');
  for (let seq = 0; seq < 5; seq++) slow.relayed('s1', FrameKind.chunk, chunk(seq, `part${seq} `));
  t.same(socket.sent, [], 'nothing sent while its buffer is high');
  socket.buffered = 0;
  slow.onDrain(socket as unknown as ChatSocket);
  t.equal(socket.sent.length, 1, 'one merged frame');
  t.match(JSON.parse(socket.sent[0]!), { content: 'part0 part1 part2 part3 part4 ', seq: 4, first_seq: 0 });
  t.equal(socket.onTopic, true, 'caught up: back on the topic');
});

t.test('a reader that stops altogether is closed with 4408 once buffered plus held passes the hard bound', async (t) => {
  const { socket, slow, sweep, relay, metrics } = setup(t);
  relay();
  socket.buffered = SOFT * 2;
  sweep();
  const piece = 'x'.repeat(100);
  let seq = 0;
  // Buffered 2000 + held: 30 pieces of 100 = 3000 → exactly at 5000, not past it.
  for (; seq < 30; seq++) slow.relayed('s1', FrameKind.chunk, chunk(seq, piece));
  t.equal(socket.ended, null, 'not closed at the bound');
  slow.relayed('s1', FrameKind.chunk, chunk(seq++, piece));
  t.same(socket.ended, { code: CloseCode.slowConsumer, reason: SLOW_CONSUMER_CLOSE_REASON }, 'closed just past it, with 4408 and a resume hint');
  t.equal(CloseCode.slowConsumer, 4408);
  // Later frames of the session must not touch the closed socket (uWS forbids it).
  t.doesNotThrow(() => slow.relayed('s1', FrameKind.chunk, chunk(seq++, piece)));
  t.doesNotThrow(() => slow.relayed('s1', FrameKind.complete, Buffer.from('{"type":"complete"}')));
  t.equal(slow.hasSlow('s1'), false, 'and it is forgotten');
  t.match(await metrics.registry.metrics(), /chat_gateway_slow_clients_cut_off_total\S* 1\n/);
});

t.test('held text counts against the bound even while the send buffer stays just over the soft limit', async (t) => {
  const { socket, slow, sweep, relay } = setup(t);
  relay();
  socket.buffered = SOFT + 1;
  sweep();
  // Before the fix the held text grew without bound: a whole answer per stopped reader.
  for (let seq = 0; seq < 100 && !socket.ended; seq++) slow.relayed('s1', FrameKind.chunk, chunk(seq, 'y'.repeat(100)));
  t.ok(socket.ended, 'closed long before 100 pieces were held');
});

t.test('only the sessions handed a frame since the last sweep are looked at', async (t) => {
  const { socket, sweep, relay, lookups } = setup(t);
  socket.buffered = SOFT + 1;
  sweep();
  t.same(lookups, [], 'no frame, no look: a buffer grows only when something is sent');
  t.equal(socket.onTopic, true);
  relay();
  sweep();
  t.same(lookups, ['s1'], 'the session that got a frame');
  t.equal(socket.onTopic, false, 'and its reader, over the soft limit, is off the topic');
  lookups.length = 0;
  socket.buffered = 0;
  sweep();
  t.same(lookups, ['s1'], 'a slow reader is looked at until it has caught up, frames or not');
  t.equal(socket.onTopic, true, 'caught up: back on the topic');
  lookups.length = 0;
  sweep();
  t.same(lookups, [], 'then no longer');
});

t.test('the sweep runs on its own after a frame, and stops once nothing is left to look at', async (t) => {
  const { socket, relay, lookups } = setup(t, 10);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(lookups, [], 'an idle gateway (nothing relayed) never sweeps');
  socket.buffered = SOFT + 1;
  relay();
  while (socket.onTopic) await new Promise((resolve) => setTimeout(resolve, 5));
  t.pass('a reader past the soft limit taken off the topic by the scheduled sweep');
  socket.buffered = 0;
  while (!socket.onTopic) await new Promise((resolve) => setTimeout(resolve, 5));
  t.pass('and put back once its buffer drained, with no frame in between');
  const settled = lookups.length;
  // Absence over 20 sweep periods: on a slow box fewer sweeps would run, never more.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(lookups.length, settled, 'nothing slow and nothing relayed: no more sweeps');
});
