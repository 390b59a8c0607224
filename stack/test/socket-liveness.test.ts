/**
 * Protocol-level pings: uWS pings idle sockets, so a live client that answers stays connected
 * past the idle timeout, while a dead one (it never answers) is dropped and its slot freed.
 */
import t from 'tap';
import WebSocket from 'ws';
import { createSession, getJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';

t.test('a silent client that answers pings stays; one that does not is dropped', async (t) => {
  const stack = await startInProcessStack(t, { config: { gateway: { idleTimeoutSeconds: 8 } } });
  const sessionId = await createSession(stack.httpUrl());
  const open = (clientId: string, autoPong: boolean) =>
    new Promise<{ ws: WebSocket; closed: Promise<number>; pings: () => number }>((resolve, reject) => {
      const ws = new WebSocket(stack.wsUrl(sessionId, clientId), { autoPong });
      let pings = 0;
      ws.on('ping', () => pings++);
      const closed = new Promise<number>((done) => ws.on('close', (code) => done(code)));
      ws.once('open', () => resolve({ ws, closed, pings: () => pings }));
      ws.once('error', reject);
    });
  const alive = await open('alive', true);
  const dead = await open('dead', false);
  t.teardown(() => alive.ws.close());

  let timer: NodeJS.Timeout | undefined;
  const deadClose = await Promise.race([dead.closed, new Promise<number>((resolve) => (timer = setTimeout(() => resolve(-1), 25_000)))]);
  clearTimeout(timer);
  t.not(deadClose, -1, `the client that never answers pings is dropped (close ${deadClose})`);
  t.ok(dead.pings() >= 1, 'it was pinged first');
  t.equal(alive.ws.readyState, WebSocket.OPEN, 'the live client, just as silent, is still connected');
  t.ok(alive.pings() >= 1, 'because it answered the pings');
  const { body } = await getJson<{ active_connections: number }>(`${stack.httpUrl()}/health`);
  t.equal(body.active_connections, 1);
  const metrics = await (await fetch(`${stack.httpUrl()}/metrics`)).text();
  t.match(metrics, /chat_gateway_socket_closes_total\{[^}]*cause="idle_timeout"[^}]*\} 1\n/, 'the drop is counted as an idle timeout');
});
