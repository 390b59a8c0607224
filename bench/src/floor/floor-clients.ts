/**
 * The floor's clients: one `ws` socket per session on the bare gateway, each checking that the
 * frames it receives are its session's. `turns`: each sends its first question once every
 * session is subscribed and the next as soon as an answer's end frame comes, and takes the time
 * from a question's send to its first frame, less the model's own time the frame carries.
 */
import WebSocket from 'ws';
import type { FloorCounts, FloorFrame, FloorQuestion, FloorRoleSettings } from './floor-protocol.js';

export async function runFloorClients(settings: FloorRoleSettings): Promise<{ counts: FloorCounts }> {
  if (settings.gatewayPort === undefined) throw new Error('the floor clients need --gateway-port');
  const counts = { received: 0, misrouted: 0, turns: 0, addedFirstMs: [] as number[] } satisfies FloorCounts;
  /** Each session's first question, sent once all are subscribed. */
  const firstQuestions: Array<() => void> = [];
  let subscribed = 0;
  await new Promise<void>((resolve, reject) => {
    for (let session = 0; session < settings.sessions; session++) {
      const ws = new WebSocket(`ws://127.0.0.1:${settings.gatewayPort}/?s=${session}`);
      let seq = 0;
      let sentAt = 0;
      let answered = false;
      const ask = () => {
        sentAt = performance.now();
        answered = false;
        ws.send(JSON.stringify({ seq } satisfies Pick<FloorQuestion, 'seq'>));
      };
      firstQuestions.push(ask);
      ws.on('message', (data: Buffer) => {
        const text = data.toString('utf8');
        if (text === 'subscribed') {
          if (++subscribed === settings.sessions) resolve();
          return;
        }
        counts.received++;
        const frame = JSON.parse(text) as FloorFrame;
        if (frame.session !== session || frame.seq !== seq) {
          counts.misrouted++;
          return;
        }
        if (!answered && frame.modelFirstMs !== undefined) {
          answered = true;
          counts.addedFirstMs.push(performance.now() - sentAt - frame.modelFirstMs);
        }
        if (frame.end) {
          counts.turns++;
          seq++;
          ask();
        }
      });
      ws.on('error', reject);
      ws.on('close', (code) => reject(new Error(`session ${session}'s socket closed (${code})`)));
    }
  });
  if (settings.mode === 'turns') for (const ask of firstQuestions) ask();
  return { counts };
}
