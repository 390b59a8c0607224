import WebSocket, { type RawData } from 'ws';
import { addCount, type TalkCommand, type TalkResult } from './conversation-messages.js';
import { TurnJudge, type TurnFrame } from './turn-judge.js';

/** The session body the original's load runner sends (tests/test_load_testing.py), numbered per user. */
export function sessionBody(user: number): Record<string, string> {
  return {
    customer_name: `Load Test User ${user}`,
    customer_email: `loadtest${user}@example.com`,
    flight_no: `NZ${String(user % 1000).padStart(3, '0')}`,
    date: '2025-01-17',
  };
}

/**
 * One session as the original's clients hold it: created over REST, then one socket at
 * `/ws/:sessionId/:clientId`. Opening rejects with a short reason (what the report counts).
 */
export async function openConversation(httpUrl: string, wsUrl: string, user: number, tag: string, timeoutMs: number): Promise<Conversation> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(`${httpUrl}/chat/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sessionBody(user)),
      signal: deadline,
    });
  } catch (err) {
    throw new Error(deadline.aborted ? 'session: timeout' : `session: ${errorCode(err)}`);
  }
  if (response.status !== 200) throw new Error(`session: HTTP ${response.status}`);
  const { session_id: sessionId } = (await response.json()) as { session_id?: string };
  if (!sessionId) throw new Error('session: no session_id');
  const ws = new WebSocket(`${wsUrl}/ws/${encodeURIComponent(sessionId)}/${tag}`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('socket: timeout'));
    }, left);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`socket: ${errorCode(err)}`));
    });
  });
  return new Conversation(ws, tag);
}

function errorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: string } })?.cause;
  return cause?.code ?? (err as { code?: string })?.code ?? (err instanceof Error ? err.message.slice(0, 60) : 'error');
}

/**
 * A conversation on one open socket: its questions one at a time, each judged by a TurnJudge,
 * the next sent a think time after the last answer. A timed-out turn ends the conversation
 * (the socket is closed and the remaining turns fail): with no message ids in the original's
 * frames, a late answer could otherwise be taken for the next question's.
 */
export class Conversation {
  private judge: TurnJudge | null = null;
  private onVerdict: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly tag: string,
  ) {
    ws.on('message', (data: RawData) => this.read(data));
    ws.on('close', () => {
      this.closed = true;
      this.judge?.fail('socket_closed');
      this.onVerdict?.();
    });
    ws.on('error', () => {
      // The close event follows and ends the turn in flight.
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async talk(command: TalkCommand, result: TalkResult): Promise<void> {
    await sleep(Math.random() * command.staggerMs);
    for (let turn = 0; turn < command.questions.length; turn++) {
      if (this.closed) {
        const left = command.questions.length - turn;
        result.failed += left;
        addCount(result.failures, 'socket_closed', left);
        return;
      }
      const verdict = await this.ask(`${command.questions[turn]} (ref ${this.tag}-${turn + 1})`, command.turnTimeoutMs);
      if (verdict.ok) {
        result.ok++;
        result.firstTextMs.push(verdict.firstTextMs);
        (result.firstTextMsByTurn[turn] ??= []).push(verdict.firstTextMs);
        result.completeMs.push(verdict.completeMs);
        if (verdict.fromCache) result.fromCache++;
      } else {
        result.failed++;
        addCount(result.failures, verdict.failure);
        if (verdict.failure === 'timeout') {
          const left = command.questions.length - turn - 1;
          if (left > 0) {
            result.failed += left;
            addCount(result.failures, 'not_sent_after_timeout', left);
          }
          this.close();
          return;
        }
      }
      if (turn + 1 < command.questions.length) await sleep(command.thinkMs);
    }
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000, 'done');
  }

  private ask(question: string, timeoutMs: number): Promise<{ ok: true; firstTextMs: number; completeMs: number; fromCache: boolean } | { ok: false; failure: string }> {
    const judge = new TurnJudge();
    this.judge = judge;
    const sentAt = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        judge.fail('timeout');
        finish();
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.judge = null;
        this.onVerdict = null;
        const verdict = judge.verdict!;
        resolve(verdict.ok ? { ok: true, firstTextMs: verdict.firstTextAt - sentAt, completeMs: verdict.completeAt - sentAt, fromCache: verdict.fromCache } : verdict);
      };
      this.onVerdict = finish;
      this.ws.send(JSON.stringify({ message: question }));
    });
  }

  private read(data: RawData): void {
    const judge = this.judge;
    if (!judge) return; // between turns: nothing is expected (a pong, a notice)
    let frame: TurnFrame;
    try {
      frame = JSON.parse(data.toString()) as TurnFrame;
    } catch {
      judge.fail('unparsable_frame');
      this.onVerdict?.();
      return;
    }
    judge.read(frame, performance.now());
    if (judge.verdict) this.onVerdict?.();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
