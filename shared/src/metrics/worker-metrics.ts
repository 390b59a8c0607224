import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from './registry.js';

export type TurnOutcome = 'completed' | 'failed' | 'retried' | 'deferred' | 'cancelled' | 'timeout' | 'superseded';

/** The worker's metrics behind domain methods. */
export class WorkerMetrics {
  private readonly activeTurns: Gauge;
  private readonly turns: Counter<'outcome'>;
  private readonly queueWait: Histogram;
  private readonly llmTtft: Histogram;
  private readonly firstChunk: Histogram;
  private readonly chunkGap: Histogram;
  private readonly turnDuration: Histogram;
  private readonly tokens: Counter<'kind'>;
  private readonly chunks: Counter;
  private readonly errors: Counter<'code'>;
  private readonly limiterWaits: Counter<'limit'>;
  private readonly cacheLookups: Counter<'result'>;
  private readonly cacheTokensSaved: Counter;
  private readonly fallbacks: Counter;
  private readonly contextRetrieval: Histogram;
  private readonly contextGatherings: Counter<'when'>;
  private readonly modelTokens: Counter<'model' | 'kind'>;
  private readonly costUsd: Counter<'model' | 'kind'>;
  private readonly handoffs: Counter<'reason'>;
  private readonly concurrency: Gauge;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.activeTurns = new Gauge({ name: 'chat_worker_active_turns', help: 'Turns this worker is streaming now', registers });
    this.concurrency = new Gauge({ name: 'chat_worker_concurrency', help: 'Turns this worker may stream at once (WORKER_CONCURRENCY, or derived from what a stream costs)', registers });
    this.turns = new Counter({ name: 'chat_worker_turns_total', help: 'Turns by outcome', labelNames: ['outcome'], registers });
    this.queueWait = new Histogram({ name: 'chat_queue_wait_seconds', help: 'Gateway accept to worker start', buckets: LATENCY_BUCKETS, registers });
    this.llmTtft = new Histogram({ name: 'chat_llm_ttft_seconds', help: 'LLM request to its first token', buckets: LATENCY_BUCKETS, registers });
    this.firstChunk = new Histogram({ name: 'chat_turn_first_chunk_seconds', help: 'Gateway accept to first chunk published', buckets: LATENCY_BUCKETS, registers });
    this.chunkGap = new Histogram({ name: 'chat_chunk_gap_seconds', help: 'Time between two published chunks of a turn', buckets: LATENCY_BUCKETS, registers });
    this.turnDuration = new Histogram({ name: 'chat_turn_duration_seconds', help: 'Gateway accept to complete published', buckets: LATENCY_BUCKETS, registers });
    this.tokens = new Counter({ name: 'chat_llm_tokens_total', help: 'LLM tokens by kind', labelNames: ['kind'], registers });
    this.chunks = new Counter({ name: 'chat_chunks_published_total', help: 'Chunk frames published', registers });
    this.errors = new Counter({ name: 'chat_worker_errors_total', help: 'Turn errors by code', labelNames: ['code'], registers });
    this.handoffs = new Counter({ name: 'chat_handoffs_requested_total', help: 'Turns handed to a person: asked (the customer asked) or unanswered (two turns in a row)', labelNames: ['reason'], registers });
    this.cacheLookups = new Counter({
      name: 'chat_cache_lookups_total',
      help: 'Response cache lookups: hit, joined (a hit that waited for another turn computing the same answer: single flight), miss, or bypass (not cacheable)',
      labelNames: ['result'],
      registers,
    });
    this.contextRetrieval = new Histogram({ name: 'chat_context_seconds', help: 'Context retrieval (policy search, flight lookup) of a turn', buckets: LATENCY_BUCKETS, registers });
    this.contextGatherings = new Counter({
      name: 'chat_context_gathered_total',
      help: "When a turn's context was gathered: early (while its head check was in flight, and used), again (started early but not usable: a flight the check did not confirm, or the early gathering failed; gathered again after the check), after_check (a follow-up, read with the previous question the check returns; or a job with no session flight, from an older gateway)",
      labelNames: ['when'],
      registers,
    });
    // `model` is a price table entry, `offline` or `other` (PriceTable): bounded by the table.
    this.modelTokens = new Counter({ name: 'chat_llm_model_tokens_total', help: 'LLM tokens spent by model and kind (prompt, completion); cache hits spend none', labelNames: ['model', 'kind'], registers });
    this.costUsd = new Counter({ name: 'chat_llm_cost_usd_total', help: 'LLM cost in USD by model and kind, from the price table (LLM_PRICES)', labelNames: ['model', 'kind'], registers });
    this.cacheTokensSaved = new Counter({ name: 'chat_cache_tokens_saved_total', help: 'LLM tokens not spent thanks to cache hits', registers });
    this.fallbacks = new Counter({ name: 'chat_llm_fallback_answers_total', help: 'Turns answered with the grounded fallback because the LLM failed', registers });
    this.limiterWaits = new Counter({ name: 'chat_llm_limiter_waits_total', help: 'Turns sent back to wait by a global LLM budget or a provider 429', labelNames: ['limit'], registers });
  }

  /** How many turns this worker may stream at once, set at start (busy ÷ this = how full it is). */
  setConcurrency(turns: number): void {
    this.concurrency.set(turns);
  }

  turnStarted(queueWaitMs: number): void {
    this.activeTurns.inc();
    this.queueWait.observe(queueWaitMs / 1000);
  }
  turnEnded(outcome: TurnOutcome): void {
    this.activeTurns.dec();
    this.turns.inc({ outcome });
  }
  /** A turn that was not started because an earlier turn of its session is still running. */
  turnDeferred(): void {
    this.turns.inc({ outcome: 'deferred' });
  }
  markLlmFirstToken(ms: number): void {
    this.llmTtft.observe(ms / 1000);
  }
  markFirstChunk(sinceAcceptMs: number): void {
    this.firstChunk.observe(sinceAcceptMs / 1000);
  }
  chunkPublished(gapMs: number | null): void {
    this.chunks.inc();
    if (gapMs !== null) this.chunkGap.observe(gapMs / 1000);
  }
  turnCompleted(sinceAcceptMs: number, promptTokens: number, completionTokens: number): void {
    this.turnDuration.observe(sinceAcceptMs / 1000);
    this.tokens.inc({ kind: 'prompt' }, promptTokens);
    this.tokens.inc({ kind: 'completion' }, completionTokens);
  }
  markContext(ms: number): void {
    this.contextRetrieval.observe(ms / 1000);
  }
  contextGathered(when: 'early' | 'again' | 'after_check'): void {
    this.contextGatherings.inc({ when });
  }
  /** Tokens one LLM call spent and their cost; `model` is a bounded label (see PriceTable). */
  llmUsage(model: string, promptTokens: number, completionTokens: number, promptUsd: number, completionUsd: number): void {
    this.modelTokens.inc({ model, kind: 'prompt' }, promptTokens);
    this.modelTokens.inc({ model, kind: 'completion' }, completionTokens);
    this.costUsd.inc({ model, kind: 'prompt' }, promptUsd);
    this.costUsd.inc({ model, kind: 'completion' }, completionUsd);
  }
  cacheLookup(result: 'hit' | 'joined' | 'miss' | 'bypass', tokensSaved = 0): void {
    this.cacheLookups.inc({ result });
    if (tokensSaved > 0) this.cacheTokensSaved.inc(tokensSaved);
  }
  handoffRequested(reason: 'asked' | 'unanswered'): void {
    this.handoffs.inc({ reason });
  }
  fallbackAnswer(): void {
    this.fallbacks.inc();
  }
  limiterWait(limit: 'tokens' | 'provider'): void {
    this.limiterWaits.inc({ limit });
  }
  error(code: string): void {
    this.errors.inc({ code });
  }
}
