import { TestSocket, type Frame } from './ws-client.js';

/** One refused attempt, as a reconnecting client saw it. */
export interface RefusedAttempt {
  code: string;
  closeCode: number;
  retryAfterMs: number | null;
}

/**
 * How a well-behaved client reconnects: it opens a socket and waits for admission (a pong);
 * refused (`error` frame, then a 4xxx close), it waits what the error frame's `retry_after_ms`
 * says, jittered to ±25 % so the clients of a dead gateway do not all come back at once (with
 * no hint: its own exponential backoff from 100 ms), and tries again until `deadlineMs`.
 * `delayScale` shrinks the waits for a test that measures the service rather than the client.
 */
export async function openWithBackoff(
  url: string,
  options: { deadlineMs: number; delayScale?: number; random?: () => number },
): Promise<{ socket: TestSocket; refused: RefusedAttempt[] }> {
  const random = options.random ?? Math.random;
  const scale = options.delayScale ?? 1;
  const deadline = Date.now() + options.deadlineMs;
  const refused: RefusedAttempt[] = [];
  for (let attempt = 0; ; attempt++) {
    const socket = await TestSocket.open(url);
    socket.send({ type: 'ping' });
    const verdict = await socket.waitFor((f) => f.type === 'pong' || f.type === 'error', 'admission (pong) or refusal (error)', Math.max(1000, deadline - Date.now()));
    if (verdict.type === 'pong') return { socket, refused };
    const { code: closeCode } = await socket.waitForClose();
    const retryAfterMs = retryHint(verdict);
    refused.push({ code: String(verdict.code), closeCode, retryAfterMs });
    const base = retryAfterMs ?? Math.min(10_000, 100 * 2 ** attempt);
    const wait = base * scale * (0.75 + random() * 0.5);
    if (Date.now() + wait > deadline) throw new Error(`not admitted within ${options.deadlineMs} ms; refusals: ${JSON.stringify(refused)}`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

function retryHint(frame: Frame): number | null {
  return typeof frame.retry_after_ms === 'number' ? frame.retry_after_ms : null;
}
