/**
 * Where a turn's time to its first token goes, step by step (PIPELINE_TIMINGS): each step of the
 * path stamps the moment it finished, and the bench subtracts neighbours. Off by default; on, a
 * turn carries its stamps in its job (gateway steps) and its `complete.metadata.timings` (all).
 *
 * Stamps are epoch milliseconds with sub-millisecond precision (`performance.timeOrigin +
 * performance.now()`): every process of one machine reads the same wall clock, so stamps from
 * the client, the gateway and the worker can be subtracted. Across machines they carry the
 * clocks' skew.
 */

/** The steps stamped, in path order. A step missing from a turn's timings did not run (or ran elsewhere). */
export const TURN_TIMING_STEPS = [
  /** gateway: the message frame read and validated, the turn's intake begins */
  'received',
  /** gateway: the turn is in its session's order (rate limit and accept script answered) */
  'accepted',
  /** worker: BullMQ handed the job to the processor */
  'picked',
  /** worker: the turn is its session's head and owned by this attempt (head check and claim answered) */
  'claimed',
  /** worker: the prompt's context assembled (policy passages, flight facts) */
  'context',
  /** worker: the response cache consulted (and the token budget reserved, if set); the LLM request starts */
  'llm_request',
  /** worker: the LLM's first token arrived (llm_request + the model's own time to first token) */
  'llm_first_token',
] as const;

export type TurnTimingStep = (typeof TURN_TIMING_STEPS)[number];

/** The stamps of one turn, by step. */
export type TurnTimings = Partial<Record<TurnTimingStep, number>>;

/** Now, as a stamp: epoch ms with sub-millisecond precision. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Rounded to the microsecond: enough for the steps measured, and no float noise in a frame. */
export function stamp(timings: TurnTimings, step: TurnTimingStep, at: number = preciseNow()): void {
  timings[step] = Math.round(at * 1000) / 1000;
}
