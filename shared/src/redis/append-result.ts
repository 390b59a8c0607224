/** How one frame is applied to the turn's answer text. */
export type AppendMode = 'chunk' | 'reset' | 'end';

/** written; superseded: a newer attempt owns the turn; ended: it already ended; out_of_order; missing: its state is gone. */
export type AppendResult = 'written' | 'superseded' | 'ended' | 'out_of_order' | 'missing';

const APPEND_RESULTS: Record<string, AppendResult> = { '1': 'written', '-1': 'superseded', '-2': 'ended', '-3': 'out_of_order', '-4': 'missing' };

/** A frame script's code for one frame (`append-frame-3.lua`, `append-frames-n.lua`) as an AppendResult. */
export function appendResult(reply: unknown): AppendResult {
  return APPEND_RESULTS[String(reply)] ?? 'missing';
}
