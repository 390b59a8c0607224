import type { Frame } from './ws-client.js';

/** What a client that follows the protocol makes of one turn's frames. */
export interface TurnTranscript {
  /** The answer text as the client would show it. */
  text: string;
  /** The turn's ending frame (complete or error), if it came. */
  end: Frame | null;
  /** The last seq seen (-1 for none): where a resume picks up. */
  lastSeq: number;
  /** Every breach of the invariant: a gap, a duplicate, a second ending, complete ≠ chunks. */
  problems: string[];
}

/**
 * Applies a turn's frames the way a client must (chunk appends, reset clears, snapshot
 * replaces, seq runs on by one) and records every breach of the invariant: chunks in
 * order with no gap and no duplicate, then exactly one ending, a `complete` equal to the text.
 */
export function readTurn(frames: readonly Frame[], messageId: string): TurnTranscript {
  const out: TurnTranscript = { text: '', end: null, lastSeq: -1, problems: [] };
  for (const frame of frames) {
    if (frame.message_id !== messageId) continue;
    // Not part of the answer's sequence: the question, sent to every socket of the session.
    if (frame.type === 'cancel_ack' || frame.type === 'user_message') continue;
    if (frame.type === 'error' && frame.seq === undefined) {
      out.problems.push(`an error frame outside the turn's sequence: ${String(frame.code)}`);
      continue;
    }
    const seq = Number(frame.seq);
    if (frame.type === 'snapshot') {
      if (seq < out.lastSeq) out.problems.push(`snapshot at seq ${seq} behind ${out.lastSeq}`);
      out.text = String(frame.content);
      out.lastSeq = seq;
      continue;
    }
    if (out.end) out.problems.push(`a ${frame.type} frame (seq ${seq}) after the ending`);
    // A merged chunk (slow reader) covers first_seq..seq.
    const first = frame.type === 'chunk' && frame.first_seq !== undefined ? Number(frame.first_seq) : seq;
    if (first !== out.lastSeq + 1) out.problems.push(first <= out.lastSeq ? `duplicate seq ${first}` : `gap: seq ${first} after ${out.lastSeq}`);
    out.lastSeq = Math.max(out.lastSeq, seq);
    if (frame.type === 'chunk') out.text += String(frame.content);
    else if (frame.type === 'reset') out.text = '';
    else if (frame.type === 'complete' || frame.type === 'error') {
      out.end = frame;
      if (frame.type === 'complete' && frame.content !== out.text) out.problems.push('complete.content differs from the text the chunks built');
    }
  }
  return out;
}
