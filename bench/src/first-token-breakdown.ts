/**
 * Where the time added to a turn's first token goes, per step (PIPELINE_TIMINGS): the client's
 * send and first-chunk times (epoch ms, sub-ms, same machine) around the stamps the gateway and
 * the worker put in `complete.metadata.timings` (shared/src/turn-timings.ts). Each segment is
 * the time between two neighbouring stamps; all but `model` add up to the time added.
 */
import { round2 } from './stats.js';

/** The segments, in path order: name, from which stamp, to which stamp. */
export const FIRST_TOKEN_SEGMENTS = [
  /** socket write → gateway intake starts (the WebSocket hop, frame validation, the relay's subscription check) */
  { name: 'client→gateway', from: 'sent', to: 'received' },
  /** rate limit, token budget, accept script (the turn's place in its session's order, its user_message published) */
  { name: 'accept', from: 'received', to: 'accepted' },
  /** BullMQ add → the worker's fetch hands the job over */
  { name: 'enqueue+fetch', from: 'accepted', to: 'picked' },
  /** head check, session and history read, claim of the turn's frames */
  { name: 'head+claim', from: 'picked', to: 'claimed' },
  /** context assembly (policy search, flight facts) */
  { name: 'context', from: 'claimed', to: 'context' },
  /** prompt, response cache lookup, token budget, up to the LLM request */
  { name: 'cache', from: 'context', to: 'llm_request' },
  /** the model's own time to first token (not added by the pipeline) */
  { name: 'model', from: 'llm_request', to: 'llm_first_token' },
  /** first token → coalescer → append-frame script → relay → the client's socket */
  { name: 'first frame→client', from: 'llm_first_token', to: 'first_chunk' },
] as const;

export type SegmentName = (typeof FIRST_TOKEN_SEGMENTS)[number]['name'];

/**
 * The segments of one turn, ms; empty when the turn carries no timings (PIPELINE_TIMINGS off,
 * or a stack that does not stamp them). A segment whose stamps are missing is left out.
 */
export function firstTokenSegments(sentAt: number, firstChunkAt: number, timings: Record<string, number> | undefined): Partial<Record<SegmentName, number>> {
  if (!timings) return {};
  const at: Record<string, number> = { ...timings, sent: sentAt, first_chunk: firstChunkAt };
  const out: Partial<Record<SegmentName, number>> = {};
  for (const { name, from, to } of FIRST_TOKEN_SEGMENTS) {
    const start = at[from];
    const end = at[to];
    if (typeof start === 'number' && typeof end === 'number') out[name] = end - start;
  }
  return out;
}

/** p50 / p99 / mean of one segment, ms with two decimals (the steps are sub-millisecond). */
export interface SegmentFigures {
  count: number;
  p50: number;
  p99: number;
  mean: number;
}

export function segmentFigures(values: readonly number[]): SegmentFigures | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => round2(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!);
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), mean: round2(mean) };
}

/** Every segment's figures, in path order (segments no turn had are left out). */
export function breakdownFigures(samples: Record<string, number[]>): Array<{ segment: string } & SegmentFigures> {
  return FIRST_TOKEN_SEGMENTS.flatMap(({ name }) => {
    const figures = segmentFigures(samples[name] ?? []);
    return figures ? [{ segment: name, ...figures }] : [];
  });
}

/** `accept 0.31 / 0.90 · head+claim ...`: one line per step of the report. */
export function formatBreakdown(rows: ReturnType<typeof breakdownFigures>): string {
  return rows.map((r) => `${r.segment} ${r.p50} / ${r.p99}`).join(' · ');
}
