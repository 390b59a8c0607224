/**
 * The token floor's clients: one `ws` socket per session on the bare gateway, each counting the
 * frames it receives and checking that they are its session's. Ready when every session's
 * channel is subscribed (each socket got `subscribed`).
 */
import WebSocket from 'ws';
import type { FloorCounts, FloorFrame, FloorRoleSettings } from './floor-protocol.js';

export async function runFloorClients(settings: FloorRoleSettings): Promise<{ counts: FloorCounts }> {
  if (settings.gatewayPort === undefined) throw new Error('the floor clients need --gateway-port');
  const counts = { received: 0, misrouted: 0 } satisfies FloorCounts;
  let subscribed = 0;
  await new Promise<void>((resolve, reject) => {
    for (let session = 0; session < settings.sessions; session++) {
      const ws = new WebSocket(`ws://127.0.0.1:${settings.gatewayPort}/?s=${session}`);
      ws.on('message', (data: Buffer) => {
        const text = data.toString('utf8');
        if (text === 'subscribed') {
          if (++subscribed === settings.sessions) resolve();
          return;
        }
        counts.received++;
        if ((JSON.parse(text) as FloorFrame).session !== session) counts.misrouted++;
      });
      ws.on('error', reject);
      ws.on('close', (code) => reject(new Error(`session ${session}'s socket closed (${code})`)));
    }
  });
  return { counts };
}
