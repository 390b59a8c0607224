/**
 * Every way a socket ends is counted by cause (`chat_gateway_socket_closes_total{cause}`), and a
 * connection the gateway cuts without a close frame (uWS's own 1006 closes) is logged with
 * uWS's reason: the client sees only 1006, so this is where an operator learns why.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { createSession } from './helpers/http-client.js';
import { eventually } from './helpers/eventually.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

async function closesByCause(httpUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^chat_gateway_socket_closes_total\{[^}]*cause="([a-z0-9_]+)"[^}]*\} (\d+)/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

t.test('closes are counted by cause, and cut connections are logged with the reason', async (t) => {
  const logLines: string[] = [];
  const stack = await startInProcessStack(t, { logLines, config: { gateway: { maxFrameBytes: 1024 }, log: { level: 'info' } } });
  const sessionId = await createSession(stack.httpUrl());
  const open = (clientId: string) => TestSocket.open(stack.wsUrl(sessionId, clientId));

  const leaving = await open('leaving');
  leaving.close();
  t.equal((await leaving.closed).code, 1005, 'a client that closes without a code');

  const tooBig = await open('too-big');
  tooBig.ws.send('x'.repeat(4096));
  t.equal((await tooBig.closed).code, 1006, 'a frame past twice the limit is cut by uWS unread');

  const notUtf8 = await open('not-utf8');
  notUtf8.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  t.equal((await notUtf8.closed).code, 1006, 'a text frame that is not UTF-8 is cut by uWS');

  const vanishing = await open('vanishing');
  (vanishing.ws as unknown as { _socket: Socket })._socket.destroy();

  const refused = await TestSocket.open(stack.wsUrl(randomUUID(), 'refused'));
  t.equal((await refused.closed).code, 4404, 'an unknown session is refused with its code');

  const counts = await eventually(() => closesByCause(stack.httpUrl()), (now) => Object.values(now).reduce((a, b) => a + b, 0) >= 5, 5000);
  t.same(counts, { normal: 1, coded: 1, frame_too_big: 1, invalid_utf8: 1, connection_lost: 1 }, `counted by cause: ${JSON.stringify(counts)}`);

  const cutLines = logLines.filter((line) => line.includes('socket cut by the gateway')).map((line) => JSON.parse(line) as { cause: string; reason: string; client_id: string; open_ms: number });
  t.same(
    cutLines.map((l) => [l.client_id, l.cause, l.reason]).sort(),
    [
      ['not-utf8', 'invalid_utf8', 'Received invalid UTF-8'],
      ['too-big', 'frame_too_big', 'Received too big message'],
    ],
    "the two cuts are logged with uWS's reason; a client that vanished is not logged as a cut",
  );
  t.ok(cutLines.every((l) => l.open_ms >= 0), 'with how long the socket was open');
});
