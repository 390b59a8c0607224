/**
 * Decides whether one chat turn got its complete answer, from the frames of the original
 * service's client protocol, which both services speak: `chunk` frames with text, then one
 * `complete` with the whole answer (or an `error`).
 *
 * The two services stream differently, so "first model text" and "complete" are judged on the
 * text, not on frame counts:
 * - the original sends a status chunk ("🤔 Thinking...") before it calls the model, then the
 *   finished answer in three-word chunks (whitespace collapsed to single spaces);
 * - this service streams the model's tokens as they come, each chunk a slice of the answer.
 * A chunk is model text from the first one whose text begins the answer on; chunks before it
 * are status placeholders. The turn succeeds only when the model text streamed equals the
 * `complete` answer (whitespace-insensitive) and that answer is not empty.
 */

/** The fields of an outbound frame the judge reads (both services' frames carry these). */
export interface TurnFrame {
  type?: string;
  content?: unknown;
  /** This service's error frames name a code; the original's carry only `content`. */
  code?: string;
  from_cache?: boolean;
}

export type TurnVerdict =
  | { ok: true; firstTextAt: number; completeAt: number; fromCache: boolean; chars: number }
  | { ok: false; failure: string };

/** Collapses runs of whitespace to one space and trims: the original re-spaces the answer. */
export function normaliseSpace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Reads the frames of one turn in order; `verdict` is set once the turn has ended. */
export class TurnJudge {
  private readonly chunks: Array<{ text: string; at: number }> = [];
  verdict: TurnVerdict | null = null;

  /** Feeds one frame received at `at` (ms, any monotonic clock). Frames after the verdict are ignored. */
  read(frame: TurnFrame, at: number): void {
    if (this.verdict) return;
    switch (frame.type) {
      case 'chunk':
        this.chunks.push({ text: typeof frame.content === 'string' ? frame.content : '', at });
        return;
      case 'reset':
        // This service retried the turn (a worker stalled or died): its text starts again.
        this.chunks.length = 0;
        return;
      case 'complete':
        this.verdict = this.judgeComplete(typeof frame.content === 'string' ? frame.content : '', at, frame.from_cache === true);
        return;
      case 'error':
        this.verdict = { ok: false, failure: `error:${frame.code ?? 'error'}` };
        return;
      default:
        // user_message echoes, pongs, session notices: not part of the answer.
        return;
    }
  }

  /** Ends the turn without a `complete` (a timeout, a closed socket). */
  fail(failure: string): void {
    this.verdict ??= { ok: false, failure };
  }

  private judgeComplete(content: string, at: number, fromCache: boolean): TurnVerdict {
    const answer = normaliseSpace(content);
    if (answer.length === 0) return { ok: false, failure: 'empty_answer' };
    // A cached answer arrives as one `complete` with no chunks (the original does that): it is
    // whole, and its first text is the complete frame itself.
    if (this.chunks.length === 0) return fromCache ? { ok: true, firstTextAt: at, completeAt: at, fromCache, chars: content.length } : { ok: false, failure: 'no_chunks' };
    const first = this.chunks.findIndex((chunk) => {
      const text = normaliseSpace(chunk.text);
      return text.length > 0 && answer.startsWith(text);
    });
    if (first < 0) return { ok: false, failure: 'mismatch' };
    const streamed = normaliseSpace(this.chunks.slice(first).map((chunk) => chunk.text).join(''));
    if (streamed !== answer) return { ok: false, failure: 'mismatch' };
    return { ok: true, firstTextAt: this.chunks[first]!.at, completeAt: at, fromCache, chars: content.length };
  }
}
