import { ERRORS } from '@chat/shared';
import { readTurn } from './turn-transcript.js';
import type { TestSocket, Frame } from './ws-client.js';

export type TurnState = 'complete' | 'error' | 'pending' | 'incoherent';

export interface TurnOutcome {
  state: TurnState;
  detail: string;
}

/**
 * How one turn ended on one socket, judged by the issue's invariant: its chunks in order with no
 * gap and no duplicate, then exactly one `complete` equal to their concatenation, or exactly one
 * `error` with a catalogue code. A `reset` frame (a retried turn telling clients to drop the
 * partial text) restarts the answer text; seq runs on. An `error` ending is judged by its code
 * alone: after Redis lost a turn's state, the error that ends it may restart the seq.
 */
export function turnOutcome(frames: Frame[], messageId: string): TurnOutcome {
  const own = frames.filter((f) => f.message_id === messageId);
  const ends = own.filter((f) => f.type === 'complete' || f.type === 'error');
  const lastReset = own.map((f) => f.type).lastIndexOf('reset');
  const chunks = own.slice(lastReset + 1).filter((f) => f.type === 'chunk');
  if (ends.length === 0) return { state: 'pending', detail: `${chunks.length} chunks and no end` };
  if (ends.length > 1) return { state: 'incoherent', detail: `${ends.length} end frames: ${ends.map((f) => (f.type === 'error' ? `error:${String(f.code)}` : f.type)).join(', ')}` };
  const end = ends[0]!;
  if (end.type === 'error') {
    return String(end.code) in ERRORS ? { state: 'error', detail: String(end.code) } : { state: 'incoherent', detail: `error code ${String(end.code)} not in the catalogue` };
  }
  // Seq runs on across attempts (a reset takes the next one; a merged chunk covers first_seq..seq).
  const transcript = readTurn(own, messageId);
  if (transcript.problems.length > 0) return { state: 'incoherent', detail: transcript.problems.join('; ').slice(0, 160) };
  return { state: 'complete', detail: `${chunks.length} chunks` };
}

/** Waits until every (socket, turn) pair has ended or the deadline passes; returns the outcomes. */
export async function awaitTurnEnds(
  pairs: Array<{ label: string; socket: TestSocket; messageId: string }>,
  deadline: number,
): Promise<Array<{ label: string; messageId: string; outcome: TurnOutcome }>> {
  const judge = () => pairs.map((p) => ({ label: p.label, messageId: p.messageId, outcome: turnOutcome(p.socket.frames, p.messageId) }));
  let outcomes = judge();
  while (outcomes.some((o) => o.outcome.state === 'pending') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    outcomes = judge();
  }
  return outcomes;
}
