import type { Test } from 'tap';
import { createSession } from './http-client.js';
import { TestSocket, type Frame } from './ws-client.js';

export interface BystanderReport {
  sessionId: string;
  /** Turns sent. */
  turns: number;
  /** Turns that ended with a `complete` equal to their chunks, seq 0..n-1. */
  completed: number;
  /** Every way a turn went wrong, in words, with its message id. */
  problems: string[];
  latenciesMs: number[];
  maxLatencyMs: number;
  medianLatencyMs: number;
}

export interface BystanderOptions {
  /** Pause between the end of one turn and the next. Default 50 ms. */
  pauseMs?: number;
  /** A turn that has not ended after this is a problem. Default 15 s. */
  turnTimeoutMs?: number;
  clientId?: string;
}

/**
 * An ordinary user on the same gateway as whatever a test throws at it: its own session and
 * socket, chatting turn after turn until stopped, and checking each turn the way a client
 * would (ends with a `complete` whose content is the chunks concatenated, seq 0, 1, 2, … with
 * no gap or duplicate, only frames of its own session). "Hostile input never harms another
 * user" is checked by its report.
 */
export class Bystander {
  private stopped = false;
  private readonly report: BystanderReport;
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    readonly socket: TestSocket,
    sessionId: string,
    private readonly options: Required<BystanderOptions>,
  ) {
    this.report = { sessionId, turns: 0, completed: 0, problems: [], latenciesMs: [], maxLatencyMs: 0, medianLatencyMs: 0 };
  }

  static async start(t: Test, httpUrl: string, wsUrl: (sessionId: string, clientId: string) => string, options: BystanderOptions = {}): Promise<Bystander> {
    const resolved: Required<BystanderOptions> = { pauseMs: 50, turnTimeoutMs: 15_000, clientId: 'bystander', ...options };
    const sessionId = await createSession(httpUrl, { customer_name: 'Calm Bystander', customer_email: 'calm@example.com' });
    const socket = await TestSocket.open(wsUrl(sessionId, resolved.clientId));
    const bystander = new Bystander(socket, sessionId, resolved);
    t.teardown(() => {
      bystander.stopped = true;
      socket.close();
    });
    bystander.loop = bystander.run();
    return bystander;
  }

  get sessionId(): string {
    return this.report.sessionId;
  }

  /** Turns ended so far (for waiting until the bystander has chatted through a phase). */
  get turnsEnded(): number {
    return this.report.latenciesMs.length + this.report.problems.length;
  }

  /** Lets the turn in flight end, stops, and reports. */
  async stop(): Promise<BystanderReport> {
    this.stopped = true;
    await this.loop;
    const sorted = [...this.report.latenciesMs].sort((a, b) => a - b);
    this.report.maxLatencyMs = sorted[sorted.length - 1] ?? 0;
    this.report.medianLatencyMs = sorted[Math.floor(sorted.length / 2)] ?? 0;
    const foreign = this.socket.frames.filter((f) => f.session_id !== undefined && f.session_id !== this.report.sessionId);
    if (foreign.length > 0) this.report.problems.push(`${foreign.length} frames of another session reached the bystander: ${JSON.stringify(foreign[0]).slice(0, 200)}`);
    this.socket.close();
    return this.report;
  }

  private async run(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const messageId = `bystander-${n}-${Date.now().toString(36)}`;
      this.report.turns++;
      const from = this.socket.frames.length;
      const started = Date.now();
      this.socket.send({ message: `Question ${n}: how much checked baggage may I bring?`, message_id: messageId });
      try {
        const end = await this.socket.waitFor(
          (f) => ((f.type === 'complete' || f.type === 'error') && f.message_id === messageId) || (f.type === 'error' && f.message_id === undefined),
          `end of bystander turn ${messageId}`,
          this.options.turnTimeoutMs,
          from,
        );
        const latency = Date.now() - started;
        const problem = checkTurn(this.socket.frames.slice(from), messageId, end);
        if (problem) this.report.problems.push(`${messageId}: ${problem}`);
        else {
          this.report.completed++;
          this.report.latenciesMs.push(latency);
        }
      } catch (err) {
        this.report.problems.push(`${messageId}: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`);
        if (this.socket.ws.readyState !== this.socket.ws.OPEN) return;
      }
      if (this.options.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.pauseMs));
    }
  }
}

/** Null when the frames show one coherent turn, else what is wrong with it. */
export function checkTurn(frames: Frame[], messageId: string, end: Frame): string | null {
  if (end.type !== 'complete') return `ended with ${end.type} ${String(end.code)}: ${String(end.content)}`;
  const chunks = frames.filter((f) => f.type === 'chunk' && f.message_id === messageId);
  const seqs = chunks.map((c) => c.seq);
  if (seqs.some((seq, i) => seq !== i)) return `chunk seq not 0..n-1 in order: ${JSON.stringify(seqs).slice(0, 200)}`;
  const joined = chunks.map((c) => c.content).join('');
  if (joined !== end.content) return `complete.content (${String(end.content).length} chars) is not its ${chunks.length} chunks concatenated (${joined.length} chars)`;
  const ends = frames.filter((f) => (f.type === 'complete' || f.type === 'error') && f.message_id === messageId);
  if (ends.length !== 1) return `${ends.length} end frames`;
  return null;
}

/** The assertions every hostile-input case makes about its bystander. */
export function assertUnharmed(t: Test, report: BystanderReport, minTurns: number, label: string): void {
  t.same(report.problems, [], `${label}: every bystander turn completed coherently (${report.completed}/${report.turns}; median ${report.medianLatencyMs} ms, max ${report.maxLatencyMs} ms)`);
  t.ok(report.completed >= minTurns, `${label}: the bystander kept chatting throughout (${report.completed} turns, at least ${minTurns})`);
}
