import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';

import {
  PiiVault,
  PriceTable,
  type Tracing,
  hasMaskedPii,
  lazyChild,
  maskPii,
  preciseNow,
  stamp,
  type TurnTimings,
  type TurnClaim,
  type SessionForTurn,
  type PastTurn,
  pastTurnOf,
  detectLanguage,
  type TurnLog,
  SessionStore,
  type CompleteMetadata,
  type ErrorCode,
  type HistoryEntry,
  type Logger,
  type RedisRateLimit,
  type TurnJobData,
  type TurnQueues,
  type TurnSpend,
  type WorkerMetrics,
} from '@chat/shared';
import { composeGroundedAnswer } from '@chat/offline-llm';
import { FlushClock } from './chunk-coalescer.js';
import { AnswerStreamer, type ProducedAnswer, type ToolLoop } from './answer-streamer.js';
import { formatContextBlock, passageSources, type AssembledContext, type ContextAssembler, type ContextRequest } from './context/index.js';
import { EarlyContext } from './early-context.js';
import { deliveredAnswer } from './delivered-answer.js';
import { TOOL_DEFINITIONS, toolResultText, type AssistantTools, type ToolPassage } from './tools/assistant-tools.js';
import type { ToolLog } from './tools/tool-log.js';
import type { LlmToolCall } from './llm-client.js';
import { HANDOFF_NOTE, type HandoffEvents, type HandoffReason } from './handoff-events.js';
import { classifyLlmError, type LlmClient } from './llm-client.js';
import { LostHeadTurns } from './lost-head-turn.js';
import { CUSTOMER_MESSAGE_PREFIX, PROMPT_VERSION, composePrompt, type ChatMessage, type HistoryBudget } from './prompt-builder.js';
import { normaliseQuestion, type CacheKey, type ResponseCache } from './response-cache.js';
import { tokenCounterFor, tokenizerFor } from './token-counter.js';
import { TurnLostError, TurnPublisher } from './turn-publisher.js';
import { TurnStopped, type TurnStops } from './turn-stops.js';
import { TurnTrace, inPhase } from './turn-trace.js';

export interface TurnProcessorOptions {
  /** Past turns read for the prompt (then trimmed to the token budget). */
  promptHistoryTurns: number;
  /** Most tokens the past turns may take in the prompt, counted with the model's tokenizer. */
  promptHistoryTokens: number;
  /** Turns kept in a session's history. */
  historyMaxTurns: number;
  /** Session idle lifetime, seconds; refreshed when a turn is answered. */
  sessionTtlSeconds: number;
  /** Tokens after an answer's first chunk are flushed on one worker-wide tick of this period, ms (0: every token its own chunk). */
  chunkWindowMs: number;
  /** A turn behind another of its session is re-checked after this, ms (unless promoted sooner). */
  turnWaitRetryMs: number;
  /** Whether the LLM is the bundled offline model (reported in `complete.metadata`). */
  offlineModel: boolean;
  /** max_tokens of one answer: reserved from the token budget before each call. */
  maxTokens: number;
  /** Answer with the grounded extractive answer when the LLM fails for good. */
  fallback: boolean;
  /** Offer the model tools (flight status, schedule and policy search) and run its calls. */
  tools?: boolean;
  /** A turn still running this long after it was accepted is stopped with a `timeout` error, ms. */
  deadlineMs: number;
  /**
   * How long a turn waits behind its session's head turn whose job is gone before ending that
   * turn with an error, ms (see `lostTurnGraceMs`).
   */
  lostTurnGraceMs: number;
  /** Stamp the turn's steps into `complete.metadata.timings` (PIPELINE_TIMINGS, the bench's breakdown). Default: off. */
  pipelineTimings?: boolean;
}

/** What an answered turn spent, from its `complete` metadata: a cached answer spent nothing (its tokens were the computing turn's). */
function turnSpend(metadata: CompleteMetadata | undefined): TurnSpend {
  if (!metadata || metadata.from_cache === true) return { promptTokens: 0, completionTokens: 0, costUsd: 0 };
  return { promptTokens: metadata.prompt_tokens, completionTokens: metadata.completion_tokens, costUsd: metadata.cost_usd ?? 0 };
}

/** How a fallback answer introduces itself, so nobody mistakes it for the assistant's own words. */
export const FALLBACK_NOTICE = '(Our assistant is unavailable right now; this answer is taken directly from our documents and flight data.)';

export interface TurnProcessorDeps {
  store: SessionStore;
  queues: TurnQueues;
  llm: LlmClient;
  metrics: WorkerMetrics;
  logger: Logger;
  /**
   * The BullMQ workers of this process, one per queue shard it consumes: a provider 429 becomes
   * a rate-limit wait of every shard (each a queue of its own), not just the job's.
   */
  workers: () => ReadonlyArray<Worker<TurnJobData, void, 'turn'>>;
  /** LLM tokens per minute shared by all workers; null = no limit. */
  tokenBudget: RedisRateLimit | null;
  /** Policy passages and flight facts for the prompt. */
  context: ContextAssembler;
  cache: ResponseCache;
  /** Traces: the turn's spans in the trace its job carries. Default: off. */
  tracing?: Tracing;
  /** Prices tokens for the cost metrics and `complete.metadata.cost_usd`. Default: built-in prices (free for the offline model). */
  prices?: PriceTable;
  /** The turns' frame logs: claim ownership, append and publish. */
  turnLog: TurnLog;
  /** Cancels and deadlines of the turns running here. */
  stops: TurnStops;
  /** The tools' bodies and the turns' tool log; needed when `options.tools` is on. */
  tools?: { runner: AssistantTools; log: ToolLog };
  /** Where `handoff_requested` events go; default none (not emitted). */
  handoffs?: HandoffEvents;
}

/**
 * Answers one chat turn (one BullMQ job): waits its turn within the session, streams the LLM
 * answer as chunk frames on the session channel, publishes `complete`, writes history, and
 * hands the session to its next turn. Safe to run twice for one job (BullMQ is at-least-once):
 * history is written once per message id, and the session queue only ever loses this id.
 */
export class TurnProcessor {
  private readonly historyBudget: HistoryBudget;
  /** The configured model's tokenizer: past turns' counts are stored under its name. */
  private readonly tokenizer: string;
  private readonly lostHeads: LostHeadTurns;
  /** The step stamps of a job's run, while PIPELINE_TIMINGS is on (see shared/src/turn-timings.ts). */
  private readonly timings = new WeakMap<Job<TurnJobData, void, 'turn'>, TurnTimings>();

  private readonly prices: PriceTable;
  /** One flush tick for every stream this worker answers (see FlushClock). */
  private readonly flushClock: FlushClock;

  constructor(
    private readonly deps: TurnProcessorDeps,
    private readonly options: TurnProcessorOptions,
  ) {
    this.flushClock = new FlushClock(options.chunkWindowMs);
    this.tokenizer = tokenizerFor(deps.llm.model);
    this.historyBudget = { maxTokens: options.promptHistoryTokens, countTokens: tokenCounterFor(deps.llm.model), tokenizer: this.tokenizer };
    this.lostHeads = new LostHeadTurns(deps, options.lostTurnGraceMs);
    this.prices = deps.prices ?? new PriceTable({}, options.offlineModel);
  }

  readonly process = async (job: Job<TurnJobData, void, 'turn'>, token?: string): Promise<void> => {
    const data = job.data;
    if (this.options.pipelineTimings) {
      const timings: TurnTimings = { ...data.timings };
      stamp(timings, 'picked');
      this.timings.set(job, timings);
    }
    const { metrics, logger, turnLog } = this.deps;
    // Made when the turn first logs something (most log nothing at the levels enabled).
    const log = lazyChild(logger, { session_id: data.session_id, message_id: data.message_id, attempt: job.attemptsMade + 1 });
    const controller = new AbortController();
    // Tracked before the claim, so no cancel falls between the two: the claim reads the marker
    // of a cancel sent before it, and one sent from now on stops this controller. (A job that
    // turns out not to be its session's head is parked and untracked before anything runs.)
    const untrack = this.deps.stops.track(data.session_id, data.message_id, controller, data.accepted_at + this.options.deadlineMs);
    let asked: AskedQuestion | undefined;
    try {
      // Only the session's head runs; it takes ownership of the turn's frames in the same step
      // (any earlier attempt still writing is refused from now on), and the session and its
      // history come with it. A job behind another is parked (DelayedError).
      const claiming = this.claimAsHead(job, token);
      // Scrubbed, and the context started, after the head check is sent: off the check's way. A
      // throw here is the turn's failure, raised where the turn's failures are handled (below).
      let askFailure: unknown;
      try {
        asked = this.ask(data, controller.signal);
      } catch (err) {
        askFailure = err;
      }
      const { claim, loaded } = await claiming;
      const timings = this.timings.get(job);
      if (timings) stamp(timings, 'claimed');
      if (claim.status === 'ended') {
        // An earlier run (or the gateway, at the deadline) already ended it: its clients have
        // their ending. Only make sure the session moves on, with the answer in its history.
        log.info('turn already ended; nothing to answer');
        await this.releaseEndedTurn(data, claim.nextSeq, log);
        return;
      }
      const publisher = new TurnPublisher(turnLog, data.session_id, data.message_id, claim, (lost) => controller.abort(lost));
      const startedAt = Date.now();
      metrics.turnStarted(startedAt - data.accepted_at);
      const trace = TurnTrace.start(this.deps.tracing, data, startedAt, job.attemptsMade + 1);
      try {
        if (claim.status === 'cancelled') throw new TurnStopped('cancelled');
        if (!asked) throw askFailure;
        await this.answer(job, loaded, asked, publisher, controller.signal, startedAt, log, trace);
        metrics.turnEnded('completed');
        trace?.end('completed');
      } catch (err) {
        // A stop from outside explains the failure, unless the answer was out already.
        const cause = err instanceof AnswerNotFiled ? err : (stopReason(controller.signal) ?? err);
        const outcome = await this.handleFailure(job, publisher, cause, log);
        metrics.turnEnded(outcome === 'rate_limited' ? 'retried' : outcome);
        trace?.end(outcome);
        if (outcome === 'rate_limited') throw Worker.RateLimitError();
        // Delivered, cancelled, timed out or taken over: the turn is over for this job, and not a
        // failure an operator must look at (no dead letter, no retry).
        if (outcome === 'completed' || outcome === 'cancelled' || outcome === 'timeout' || outcome === 'superseded') return;
        // A retried turn rethrows as is (BullMQ backs off and tries again); a failed one has
        // already told its clients, so BullMQ must not retry it.
        throw outcome === 'retried' ? err : asUnrecoverable(err);
      }
    } finally {
      // A run that ended without using its early context (parked, ended, cancelled, failed)
      // stops it; one that used it has nothing left to stop.
      asked?.early?.cancel();
      untrack();
    }
  };

  /**
   * The question as the turn reads it: personal data replaced before it reaches the context
   * sources, the cache key, the LLM or a log line (placeholders are put back as masked forms,
   * `•••• 1111`: what is published rests in the turn log and the history; the gateway masked the
   * message already, this catches the rest), and its context started from the flight the job
   * carries (not for a follow-up: it is read with the previous question, which the check returns).
   */
  private ask(data: TurnJobData, signal: AbortSignal): AskedQuestion {
    const vault = new PiiVault('masked');
    const question = vault.scrub(data.message);
    const early = data.session_flight ? EarlyContext.start(this.deps.context, question, data.session_flight, signal) : null;
    return { vault, question, early };
  }

  private async answer(
    job: Job<TurnJobData, void, 'turn'>,
    loaded: SessionForTurn | null,
    asked: AskedQuestion,
    publisher: TurnPublisher,
    signal: AbortSignal,
    startedAt: number,
    log: Logger,
    trace: TurnTrace | null = null,
  ): Promise<void> {
    const data = job.data;
    const { metrics } = this.deps;
    if (!loaded) throw new TurnError('session_not_found', 'The session expired before the turn was answered.');

    const { vault, question } = asked;
    const session = loaded.session.context;
    const contextRequest = {
      message: question,
      session: { flight_no: session.flight_no, date: session.date },
      // Only the last question is read (follow-ups): scrubbing every past one was a PII scan
      // per past turn, per turn.
      ...(loaded.pastTurns.length > 0 ? { previous: vault.scrub(loaded.pastTurns.at(-1)!.user) } : {}),
    };
    let context = await inPhase(
      trace,
      'chat.context',
      () => this.gatherContext(contextRequest, asked.early, signal),
      (found) => ({ 'chat.query_type': found.queryType, 'chat.policy': found.sourcesStatus.policy ?? 'skipped', 'chat.flight': found.sourcesStatus.flight ?? 'skipped' }),
    );
    const timings = this.timings.get(job);
    if (timings) stamp(timings, 'context');
    signal.throwIfAborted();
    // Nothing to answer from, twice in a row: offer a person, with the contact options.
    const unanswered = isUnanswered(context, question);
    let handoff: HandoffReason | null = context.queryType === 'handoff' ? 'asked' : null;
    if (!handoff && unanswered && loaded.pastTurns.at(-1)?.unanswered) {
      handoff = 'unanswered';
      context = await this.deps.context.assemble({ ...contextRequest, handoff: true }, signal);
      signal.throwIfAborted();
    }
    const { messages, historyTokens } = composePrompt(session, loaded.pastTurns, data.message, vault, this.historyBudget, formatContextBlock(context), handoff ? [HANDOFF_NOTE] : []);
    const language = detectLanguage(question);
    const grounding: Pick<CompleteMetadata, 'query_type' | 'sources' | 'context_status' | 'unanswered' | 'handoff_requested' | 'language'> = {
      query_type: context.queryType,
      sources: passageSources(context),
      context_status: { ...context.sourcesStatus },
      ...(unanswered && !handoff ? { unanswered: true } : {}),
      ...(handoff ? { handoff_requested: handoff } : {}),
      ...(language.code !== 'en' ? { language: language.name } : {}),
    };

    const streamer = new AnswerStreamer(publisher, metrics, data.accepted_at, this.flushClock);
    const cacheKey = this.cacheKeyFor(question, vault, context, data.session_id);
    let produced: ProducedAnswer;
    let extra: Partial<CompleteMetadata> = {};
    if (!cacheKey) {
      metrics.cacheLookup('bypass');
      ({ produced, extra } = await inPhase(trace, 'chat.model', () => this.generate(job, streamer, messages, vault, signal, log, this.reserveTokens(messages, historyTokens, question)), describeModelCall));
    } else {
      // `acquire` returns a stored answer without taking the lock: no separate `get` first.
      // The LLM tokens a miss will spend are reserved while the lookup is in flight: two round
      // trips side by side rather than in a row, on the path to the first token. An answer from
      // the cache gives them back (off the path) and is served whether or not the budget had
      // room, as before (a hit never needed it).
      const reserved = this.reserveTokens(messages, historyTokens, question);
      // Settled before anyone awaits it, a refusal must not count as an unhandled rejection
      // (which ends the process): whoever awaits it later still gets it.
      reserved.catch(() => {});
      let joined = false;
      let claim: Awaited<ReturnType<ResponseCache['acquire']>>;
      try {
        claim = await this.deps.cache.acquire(cacheKey, signal, data.message_id, () => (joined = true));
        signal.throwIfAborted();
      } catch (err) {
        this.refundTokens(reserved, log);
        throw err;
      }
      if (claim !== 'compute') {
        this.refundTokens(reserved, log);
        metrics.cacheLookup(joined ? 'joined' : 'hit', claim.metadata.prompt_tokens + claim.metadata.completion_tokens);
        produced = streamer.fromText(claim.content, claim.metadata.model);
        extra = { from_cache: true };
      } else {
        metrics.cacheLookup('miss');
        try {
          ({ produced, extra } = await inPhase(trace, 'chat.model', () => this.generate(job, streamer, messages, vault, signal, log, reserved), describeModelCall));
          // Only whole, real answers are shared: never a fallback, a cut-off or a failed one.
          // Nor answers built on tool results: they may hold live data the cache key does not cover.
          if (!extra.fallback && !extra.tool_calls && produced.finishReason === 'stop' && publisher.text.length > 0 && vault.size === 0) {
            await this.deps.cache.set(cacheKey, {
              content: publisher.text,
              metadata: { model: produced.model, prompt_tokens: produced.promptTokens, completion_tokens: produced.completionTokens, ...grounding },
            });
          }
        } finally {
          await this.deps.cache.release(cacheKey);
        }
      }
    }

    const finishedAt = Date.now();
    // Tokens a cached answer reports were spent by the turn that computed it, not by this one.
    const priced = this.prices.price(produced.model, produced.promptTokens, produced.completionTokens);
    const spent = extra.from_cache === true ? { ...priced, promptUsd: 0, completionUsd: 0 } : priced;
    if (extra.from_cache !== true) metrics.llmUsage(priced.model, produced.promptTokens, produced.completionTokens, priced.promptUsd, priced.completionUsd);
    const metadata: CompleteMetadata = {
      model: produced.model,
      tokens_used: produced.promptTokens + produced.completionTokens,
      prompt_tokens: produced.promptTokens,
      completion_tokens: produced.completionTokens,
      ttft_ms: round(produced.ttftMs ?? 0),
      response_time_ms: finishedAt - data.accepted_at,
      queue_wait_ms: startedAt - data.accepted_at,
      chunks: publisher.chunkCount,
      offline_model: this.options.offlineModel,
      cost_usd: roundUsd(spent.promptUsd + spent.completionUsd),
      ...grounding,
      ...extra,
    };
    const traceparent = trace?.traceparent;
    if (traceparent) metadata.traceparent = traceparent;
    if (timings) metadata.timings = timings;
    await inPhase(trace, 'chat.publish', () => publisher.complete(metadata));
    metrics.turnCompleted(finishedAt - data.accepted_at, produced.promptTokens, produced.completionTokens);
    if (handoff) await this.requestHandoff(data, handoff, question, log);
    try {
      // The scrub returns the question itself exactly when it found no personal data in it.
      await this.fileAnswer(data, publisher.text, finishedAt, metadata, log, question === data.message);
    } catch (err) {
      throw new AnswerNotFiled(err);
    }
    log.debug({ chunks: publisher.chunkCount, tokens: produced.completionTokens, from_cache: extra.from_cache ?? false }, 'turn answered');
  }

  /**
   * The turn's context: the one gathered while the head check was in flight when it was gathered
   * for this session and reading of the question (see EarlyContext), else gathered now.
   */
  private async gatherContext(request: ContextRequest, early: EarlyContext | null, signal: AbortSignal): Promise<AssembledContext> {
    const { metrics } = this.deps;
    const gathered = await early?.usableFor(request.session);
    metrics.contextGathered(gathered ? 'early' : early ? 'again' : 'after_check');
    if (gathered) {
      metrics.markContext(gathered.ms);
      return gathered.context;
    }
    const startedAt = Date.now();
    const context = await this.deps.context.assemble(request, signal);
    metrics.markContext(Date.now() - startedAt);
    return context;
  }

  /**
   * Emits `handoff_requested` and counts it. After the answer went out: a failure here is logged,
   * never a reason to fail a delivered turn.
   */
  private async requestHandoff(data: TurnJobData, reason: HandoffReason, message: string, log: Logger): Promise<void> {
    this.deps.metrics.handoffRequested(reason);
    try {
      await this.deps.handoffs?.emit({ session_id: data.session_id, message_id: data.message_id, reason, at: new Date().toISOString(), message });
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'handoff_requested event not emitted');
    }
  }

  /** Writes the answered turn to history (once per message id) and hands the session on. */
  private async fileAnswer(data: TurnJobData, text: string, finishedAt: number, metadata: CompleteMetadata, log: Logger, messageClean: boolean): Promise<void> {
    // The step stamps are for the frame's reader (the bench), not for the history.
    const { timings: _timings, ...kept } = metadata;
    const entry: HistoryEntry = {
      message_id: data.message_id,
      client_id: data.client_id,
      // Masked again in case the job came from a gateway that did not mask it (an older one);
      // a message the turn's scrub found clean has nothing to mask (the same detector).
      user: messageClean ? data.message : maskPii(data.message),
      assistant: maskPii(text),
      timestamp: new Date(finishedAt).toISOString(),
      metadata: kept,
    };
    const appended = await this.finishAnswer(data, entry);
    if (!appended) log.warn('turn was already in history (job ran twice); kept the first');
  }

  /**
   * History write, the session's usage and session release (`releaseSession`) in one script
   * call; the done marker makes the first two once per message id. Returns whether this call
   * appended the entry.
   */
  private async finishAnswer(data: TurnJobData, entry: HistoryEntry): Promise<boolean> {
    const { appended, next } = await this.deps.store.scripts.finishAnswer(
      data.session_id,
      data.message_id,
      JSON.stringify(entry),
      turnSpend(entry.metadata),
      this.options.historyMaxTurns,
      this.options.sessionTtlSeconds,
      { turn: this.pastTurnWithCounts(entry), kept: this.options.promptHistoryTurns },
    );
    await this.wakeTurn(data.session_id, next);
    return appended;
  }

  /** The entry as the session's prompt list keeps it: its texts counted once, here, for every later prompt. */
  private pastTurnWithCounts(entry: HistoryEntry): PastTurn {
    const { countTokens } = this.historyBudget;
    return { ...pastTurnOf(entry), tokens: { tokenizer: this.tokenizer, user: countTokens(entry.user), assistant: countTokens(entry.assistant) } };
  }

  /**
   * Releases a turn that already ended. When it ended with a `complete` (an earlier attempt
   * delivered the answer, then could not write history: RedisClient blipped, or the worker died), the
   * answer is filed from the turn's log first, so it is in history and in later prompts; the
   * done marker keeps that to once, whoever gets there.
   */
  private async releaseEndedTurn(data: TurnJobData, nextSeq: number, log: Logger): Promise<void> {
    const entry = await deliveredAnswer(this.deps.turnLog, data, nextSeq);
    if (!entry) {
      await this.releaseSession(data);
      return;
    }
    if (await this.finishAnswer(data, entry)) log.warn('answer was delivered but not in history: filed it from the turn log');
  }

  /**
   * The answer from the LLM; when the LLM fails for good before anything was sent (and the
   * fallback is on), the grounded extractive answer from the same context instead, labelled.
   */
  private async generate(
    job: Job<TurnJobData, void, 'turn'>,
    streamer: AnswerStreamer,
    messages: ChatMessage[],
    vault: PiiVault,
    signal: AbortSignal,
    log: Logger,
    /** The LLM tokens this call may spend, being reserved (see `answer`). */
    reserved: Promise<number>,
  ): Promise<{ produced: ProducedAnswer; extra: Partial<CompleteMetadata> }> {
    await reserved;
    try {
      const tools = this.toolLoop(job.data, messages, log);
      const timings = this.timings.get(job);
      const requestAt = preciseNow();
      const produced = await streamer.fromLlm(this.deps.llm, messages, vault, signal, tools);
      if (timings) {
        stamp(timings, 'llm_request', requestAt);
        // The model's own time to its first token, as the LLM client measured it.
        if (produced.ttftMs !== null) stamp(timings, 'llm_first_token', requestAt + produced.ttftMs);
      }
      return { produced, extra: produced.toolCalls ? { tool_calls: produced.toolCalls } : {} };
    } catch (err) {
      // A stop from outside (cancel, deadline, a newer attempt) is not an LLM failure to cover.
      if (signal.aborted || !this.options.fallback || this.willRetry(job, err) || streamer.sentAnything) throw err;
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'LLM failed; answering with the grounded fallback');
      this.deps.metrics.fallbackAnswer();
      const text = `${FALLBACK_NOTICE} ${vault.restore(composeGroundedAnswer(messages))}`;
      return { produced: streamer.fromText(text, 'grounded-fallback'), extra: { fallback: true } };
    }
  }

  /**
   * The turn's tool loop, or undefined when tools are off. A round's calls run in parallel; each
   * result is looked up in the turn's tool log first (a retried or resumed attempt reuses it) and
   * recorded there before the model sees it. Results are numbered after the prompt's passages, in
   * call order, so citations stay unique across rounds.
   */
  private toolLoop(data: TurnJobData, messages: readonly ChatMessage[], log: Logger): ToolLoop | undefined {
    const tools = this.deps.tools;
    if (!this.options.tools || !tools) return undefined;
    let next = 1 + Math.max(0, ...messages.flatMap((m) => [...m.content.matchAll(/^\[(\d{1,4})\] /gm)].map((x) => Number(x[1]))));
    return {
      definitions: TOOL_DEFINITIONS,
      maxRounds: 3,
      run: async (calls: readonly LlmToolCall[], signal: AbortSignal): Promise<ChatMessage[]> => {
        const results = await Promise.all(
          calls.map(async (call): Promise<ToolPassage[]> => {
            const recorded = await tools.log.get(data.session_id, data.message_id, call.name, call.arguments);
            if (recorded !== null) return JSON.parse(recorded) as ToolPassage[];
            const passages = await tools.runner.run(call.name, call.arguments, signal);
            await tools.log.record(data.session_id, data.message_id, call.name, call.arguments, JSON.stringify(passages));
            return passages;
          }),
        );
        log.debug({ tools: calls.map((c) => c.name) }, 'tool calls answered');
        return calls.map((call, i) => {
          const passages = results[i]!;
          const content = toolResultText(passages, next);
          next += passages.length;
          return { role: 'tool' as const, tool_call_id: call.id, content };
        });
      },
    };
  }

  /** Whether BullMQ will try this turn again (a wait or a transient error with attempts left). */
  private willRetry(job: Job<TurnJobData, void, 'turn'>, err: unknown): boolean {
    if (err instanceof BudgetWait) return true;
    const kind = classifyLlmError(err);
    if (kind.kind === 'rate_limited') return this.deps.workers().length > 0;
    return kind.kind === 'transient' && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
  }

  /**
   * The cache key of this answer, or null when it must not be cached: a degraded context (the
   * answer says a source was missing). Answers shared by every session only when they used no
   * personal data and no flight record; otherwise they are kept for this session alone.
   */
  private cacheKeyFor(question: string, vault: PiiVault, context: AssembledContext, sessionId: string): CacheKey | null {
    if (context.sourcesStatus.policy === 'degraded' || context.sourcesStatus.flight === 'degraded') return null;
    const dataVersions: Record<string, string> = {};
    if (context.dataVersions.policy) dataVersions.policy = context.dataVersions.policy;
    if (context.dataVersions.flight) dataVersions.flight = context.dataVersions.flight;
    // Shared when the model saw no flight passage: a policy question of a session that has a
    // flight on file is answered from the documents alone, like anyone's (`flightQuery` names the
    // session's flight even when no lookup was made, so it cannot decide this).
    const usedFlight = context.flight !== null || context.passages.some((p) => p.kind === 'flight');
    const shared = vault.size === 0 && !hasMaskedPii(question) && !usedFlight;
    return this.deps.cache.key({
      question: normaliseQuestion(question),
      model: this.deps.llm.model,
      promptVersion: PROMPT_VERSION,
      dataVersions,
      sessionId: shared ? null : sessionId,
    });
  }

  /**
   * Takes the call's tokens (prompt + max_tokens) from the shared budget; resolves to the points
   * taken (0: no budget). When it is spent this rejects with BudgetWait: the whole queue pauses
   * until the window turns, and this turn goes back to wait (`handleFailure`, which counts the
   * wait), so a burst queues instead of being refused by the provider.
   */
  /**
   * Reserves what the call may spend: the prompt's tokens and max_tokens. The past turns' tokens
   * were counted while the prompt chose them (`historyTokens`, from their stored counts mostly);
   * the system message and the customer's message are counted here. The customer's message is
   * counted as its label plus the scrubbed question (`question`, what follows the label): the
   * tokenizer splits at the label's newline, so the sum is the message's count (or one more, for
   * a question starting with a symbol o200k's pre-tokenizer joins to that newline, such as `/`:
   * the reservation errs high), and the question's count is the one the history entry needs later
   * (memoised: one BPE of it a turn, not two).
   */
  private async reserveTokens(messages: ChatMessage[], historyTokens: number, question: string): Promise<number> {
    const budget = this.deps.tokenBudget;
    if (!budget) return 0;
    const { countTokens } = this.historyBudget;
    const needed = countTokens(messages[0]!.content) + historyTokens + countTokens(CUSTOMER_MESSAGE_PREFIX) + countTokens(question) + this.options.maxTokens;
    const points = Math.min(needed, budget.points);
    const verdict = await budget.consume('all', points);
    if (verdict.allowed) return points;
    throw new BudgetWait(verdict.retryAfterMs);
  }

  /** Gives back a reservation that no LLM call will use, once it is settled; a refused or failed one has nothing to give back. */
  private refundTokens(reserved: Promise<number>, log: Logger): void {
    const budget = this.deps.tokenBudget;
    if (!budget) return;
    reserved
      .then((points) => (points > 0 ? budget.refund('all', points) : undefined))
      .catch((err: unknown) => {
        if (err instanceof BudgetWait) return;
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'LLM token reservation not given back');
      });
  }

  /**
   * Decides what a failure means for the turn. Returns the outcome; when the turn ends here,
   * the session's clients get exactly one error frame and the session moves to its next turn.
   */
  private async handleFailure(
    job: Job<TurnJobData, void, 'turn'>,
    publisher: TurnPublisher,
    err: unknown,
    log: Logger,
  ): Promise<'completed' | 'failed' | 'retried' | 'rate_limited' | 'cancelled' | 'timeout' | 'superseded'> {
    const data = job.data;
    const attemptsLeft = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    let code: ErrorCode;
    let retry = false;
    if (err instanceof AnswerNotFiled) {
      // Its clients have the answer (the `complete` is in the log), so this is no turn error and
      // there is no error frame to send: the retry finds the turn ended and files the answer from
      // its log (`releaseEndedTurn`). With no attempt left the job completes (it is no dead
      // letter: a replay would answer twice) and the next turn's head check files it.
      log.warn({ err: String(err.cause) }, 'answer delivered, but writing it to history failed');
      return attemptsLeft ? 'retried' : 'completed';
    }
    if (err instanceof TurnLostError && (err.reason === 'superseded' || err.reason === 'ended')) {
      // A newer attempt owns the turn (this worker was paused past its lock, or the gateway
      // ended the turn at its deadline): it speaks for the turn now, this one stops quietly.
      log.warn({ reason: err.reason }, 'turn taken over by a newer attempt; this attempt stops');
      return 'superseded';
    } else if (err instanceof TurnStopped) {
      code = err.code;
    } else if (err instanceof BudgetWait) {
      // Counted here, where the turn does wait: a refused reservation beside a cache hit is not a wait.
      this.deps.metrics.limiterWait('tokens');
      if (await this.rateLimitEveryShard(err.retryAfterMs)) return 'rate_limited';
      code = 'llm_unavailable';
    } else if (err instanceof TurnError) {
      code = err.code;
    } else if (err instanceof TurnLostError) {
      // The turn's log state is gone or out of step (Redis restarted mid-turn): a new attempt
      // claims it afresh and starts with a reset frame.
      code = 'llm_stream_interrupted';
      retry = attemptsLeft;
    } else {
      const kind = classifyLlmError(err);
      code = publisher.chunkCount > 0 ? 'llm_stream_interrupted' : 'llm_unavailable';
      if (kind.kind === 'rate_limited' && publisher.chunkCount === 0) {
        // The whole queue waits, not just this job: every worker would hit the same limit.
        if (await this.rateLimitEveryShard(kind.retryAfterMs)) {
          this.deps.metrics.limiterWait('provider');
          log.warn({ retry_after_ms: kind.retryAfterMs }, 'LLM provider rate limit: queue paused');
          return 'rate_limited';
        }
      }
      // A stream cut part-way is retried too: the next attempt's reset frame tells clients to
      // drop the partial text, so they still see one coherent answer.
      retry = kind.kind !== 'permanent' && attemptsLeft;
    }
    this.deps.metrics.error(code);
    const errMessage = err instanceof Error ? err.message : String(err);
    if (retry) {
      log.warn({ err: errMessage, code }, 'turn failed; will retry');
      return 'retried';
    }
    if (code === 'cancelled' || code === 'timeout') log.info({ code }, 'turn stopped');
    else log.error({ err: errMessage, code }, 'turn failed');
    try {
      await publisher.error(code, err instanceof TurnError ? err.message : undefined);
    } catch (publishErr) {
      if (publishErr instanceof TurnLostError && (publishErr.reason === 'superseded' || publishErr.reason === 'ended')) return 'superseded';
      throw publishErr;
    } finally {
      await this.releaseSession(data);
    }
    return code === 'cancelled' || code === 'timeout' ? code : 'failed';
  }

  /**
   * Claims the job's turn if it may run now: only the oldest unanswered turn of a session runs
   * (one not queued at all, because the list expired with the session or this is a replay of a
   * turn already answered, runs too; history is written once per message id). The head check,
   * the claim and the session read are one script call (`TurnLog.begin`). A job behind another
   * is parked as delayed and re-checked after `turnWaitRetryMs` (DelayedError); the turn ahead
   * promotes it the moment it finishes, so the usual wait is the previous answer, not the timer.
   */
  private async claimAsHead(job: Job<TurnJobData, void, 'turn'>, token: string | undefined): Promise<{ claim: TurnClaim; loaded: SessionForTurn | null }> {
    const { session_id: sessionId, message_id: messageId } = job.data;
    const queue = this.deps.queues.forSession(sessionId);
    let lostHead = false;
    for (let checks = 0; checks < 5; checks++) {
      const start = await this.deps.turnLog.begin(sessionId, messageId, this.options.promptHistoryTurns);
      if (start.head === null) return { claim: start.claim, loaded: start.loaded };
      const head = start.head;
      const state = await queue.getJobState(head);
      if (state === 'completed' || state === 'failed') {
        // The turn ahead is over without having released the session (its worker died at the
        // wrong moment, or its last attempt could not write history): release it here so the
        // session is not stuck, filing its answer if it delivered one.
        await this.releaseFinishedTurn(sessionId, head);
        continue;
      }
      if (state === 'unknown') {
        // Its job is gone: ended and trimmed, lost in a failover, or not enqueued yet.
        if ((await this.lostHeads.settle(job, sessionId, head)) === 'released') continue;
        lostHead = true;
      }
      break;
    }
    if (!lostHead) await this.lostHeads.forget(job);
    this.deps.metrics.turnDeferred();
    await job.moveToDelayed(Date.now() + this.options.turnWaitRetryMs, token);
    throw new DelayedError();
  }

  /** A turn whose job is over: released, with its delivered answer filed if history lacks it. */
  private async releaseFinishedTurn(sessionId: string, messageId: string): Promise<void> {
    const { store, turnLog, logger } = this.deps;
    const [finished, progress] = await Promise.all([this.deps.queues.forSession(sessionId).getJob(messageId), turnLog.peek(sessionId, messageId)]);
    if (finished && progress.ended) {
      await this.releaseEndedTurn(finished.data, progress.nextSeq, logger.child({ session_id: sessionId, message_id: messageId }));
    } else {
      await store.scripts.finishTurn(sessionId, messageId);
    }
  }

  /** Makes every queue shard this process consumes wait `ms`; false when no worker runs (tests). */
  private async rateLimitEveryShard(ms: number): Promise<boolean> {
    const workers = this.deps.workers();
    if (workers.length === 0) return false;
    await Promise.all(workers.map((worker) => worker.rateLimit(ms)));
    return true;
  }

  /** Removes the turn from its session's queue and wakes the next turn's job, if parked. */
  private async releaseSession(data: TurnJobData): Promise<void> {
    await this.wakeTurn(data.session_id, await this.deps.store.scripts.finishTurn(data.session_id, data.message_id));
  }

  /**
   * Promotes the session's next turn, which the finish script names only when a worker parked it
   * (`next` is null otherwise: the usual next turn is waiting in the queue, and asking BullMQ for
   * its job and a promote it refuses was two round trips and an error per answered turn). BullMQ's
   * promote moves a job only out of the delayed set and refuses any other (not parked yet, or
   * running): no state read first, the refusal is the answer (then the retry timer wakes it).
   */
  private async wakeTurn(sessionId: string, next: string | null): Promise<void> {
    if (next === null) return;
    const job = await this.deps.queues.forSession(sessionId).getJob(next);
    if (!job) return;
    try {
      await job.promote();
    } catch {
      // Not delayed: it is waiting, running or about to.
    }
  }
}

/** Small talk that needs no document: not counted as a turn the assistant could not answer. */
const SMALL_TALK = /^\s*(?:hi|hello|hey|kia ora|good (?:morning|afternoon|evening)|thanks?|thank you|cheers|ok(?:ay)?|bye|goodbye)\b/i;

/** No document or flight record grounds the answer (trip details alone do not). */
function isUnanswered(context: AssembledContext, question: string): boolean {
  if (context.queryType === 'handoff' || SMALL_TALK.test(question)) return false;
  return !context.passages.some((p) => p.kind !== 'trip');
}


/** The shared token budget is spent: the turn waits in the queue until the window turns. */
class BudgetWait extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`LLM token budget spent; waiting ${retryAfterMs} ms`);
    this.name = 'BudgetWait';
  }
}

/** The answer went out (its `complete` frame is published), then filing it in history (or waking the next turn) failed. */
class AnswerNotFiled extends Error {
  constructor(cause: unknown) {
    super(`answer delivered but not filed in history: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'AnswerNotFiled';
  }
}

/** The turn's question, scrubbed, with the vault that holds what it replaced, and its early context if one is being gathered. */
interface AskedQuestion {
  vault: PiiVault;
  question: string;
  early: EarlyContext | null;
}

/** A failure with a catalogue code, ending the turn without retry. */
export class TurnError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TurnError';
  }
}

/** The reason the turn's signal was aborted with, when it was stopped from outside. */
function stopReason(signal: AbortSignal): TurnStopped | TurnLostError | null {
  const reason: unknown = signal.aborted ? signal.reason : null;
  return reason instanceof TurnStopped || reason instanceof TurnLostError ? reason : null;
}

function asUnrecoverable(err: unknown): Error {
  if (err instanceof UnrecoverableError) return err;
  return new UnrecoverableError(err instanceof Error ? err.message : String(err));
}

/** What a traced model call reports: model, tokens, first token; never the text. */
function describeModelCall({ produced, extra }: { produced: ProducedAnswer; extra: Partial<CompleteMetadata> }): Record<string, string | number | boolean> {
  return {
    'llm.model': produced.model,
    'llm.prompt_tokens': produced.promptTokens,
    'llm.completion_tokens': produced.completionTokens,
    'llm.first_token_ms': Math.round(produced.ttftMs ?? 0),
    'llm.fallback': extra.fallback === true,
  };
}

/** USD to a millionth of a cent: enough for one turn, and no float noise in the frame. */
function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
