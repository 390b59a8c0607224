import { StreamScrubber, type PiiVault, type WorkerMetrics } from '@chat/shared';
import { ChunkCoalescer, type FlushClock } from './chunk-coalescer.js';
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import type { LlmClient, LlmToolCall, StreamResult } from './llm-client.js';
import type { ChatMessage } from './prompt-builder.js';
import type { TurnPublisher } from './turn-publisher.js';

/** What producing an answer reports, whichever way it was produced. */
export interface ProducedAnswer {
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** Start of production to the first chunk, ms; null when the answer was empty. */
  ttftMs: number | null;
  /** 'stop' for a whole answer; 'length' when max_tokens cut it (such answers are not cached). */
  finishReason: string | null;
  /** Tool calls made on the way to the answer (0 without tools). */
  toolCalls?: number;
}

/**
 * The model's tools for one turn: offered on every round until `maxRounds`, then the model must
 * answer in text. `run` executes one round's calls (in parallel) and returns their tool messages
 * in call order.
 */
export interface ToolLoop {
  definitions: readonly ChatCompletionTool[];
  maxRounds: number;
  run(calls: readonly LlmToolCall[], signal: AbortSignal): Promise<ChatMessage[]>;
}

/** Words per chunk when an answer that already exists (cache, fallback) is streamed. */
const REPLAY_WORDS_PER_CHUNK = 6;

/**
 * Turns an answer into chunk frames on the turn's publisher: live from the LLM (through the PII
 * scrubber and the chunk coalescer), or replayed from text that already exists (a cached or a
 * fallback answer), so clients handle every answer the same way.
 */
export class AnswerStreamer {
  private lastChunkAt: number | null = null;

  /** Whether any chunk has gone out (a retry or a fallback would then contradict it). */
  get sentAnything(): boolean {
    return this.lastChunkAt !== null;
  }

  constructor(
    private readonly publisher: TurnPublisher,
    private readonly metrics: WorkerMetrics,
    private readonly acceptedAt: number,
    /** The worker's flush tick, shared by all its streams. */
    private readonly flushClock: FlushClock,
  ) {}

  async fromLlm(llm: LlmClient, messages: ChatMessage[], vault: PiiVault, signal: AbortSignal, tools?: ToolLoop): Promise<ProducedAnswer> {
    // Restores the user's own data in the answer and removes anyone else's, before publishing.
    // The scrubber's hold-back runs per token (what it releases, and so when the coalescer
    // flushes, is what it always was); the cleaning runs once per coalesced chunk, on the pieces
    // the chunk joins, instead of once per piece.
    const scrubber = new StreamScrubber(vault);
    const coalescer = new ChunkCoalescer(this.flushClock, (released) => {
      const text = scrubber.clean(released);
      if (text.length === 0) return false;
      this.publish(text);
      return true;
    });
    const started = performance.now();
    const onToken = (token: string) => coalescer.push(scrubber.release(token));
    let result: StreamResult;
    let promptTokens = 0;
    let completionTokens = 0;
    let ttftMs: number | null = null;
    let toolCalls = 0;
    let conversation = messages;
    try {
      // The tool loop: while the model calls tools (and rounds are left), run them and ask again
      // with their results; the text it streams on any round goes out as it comes.
      for (let round = 0; ; round++) {
        const roundStart = performance.now() - started;
        const offered = tools && round < tools.maxRounds ? tools.definitions : undefined;
        result = await llm.stream(conversation, signal, onToken, offered);
        promptTokens += result.promptTokens;
        completionTokens += result.completionTokens;
        if (ttftMs === null && result.ttftMs !== null) ttftMs = roundStart + result.ttftMs;
        if (!tools || !offered || result.toolCalls.length === 0) break;
        toolCalls += result.toolCalls.length;
        const results = await tools.run(result.toolCalls, signal);
        conversation = [
          ...conversation,
          {
            role: 'assistant',
            content: '',
            tool_calls: result.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
          },
          ...results,
        ];
      }
    } catch (err) {
      coalescer.discard();
      throw err;
    }
    coalescer.push(scrubber.releaseRest());
    coalescer.end();
    if (ttftMs !== null) this.metrics.markLlmFirstToken(ttftMs);
    return { model: result.model, promptTokens, completionTokens, ttftMs, finishReason: result.finishReason, ...(tools ? { toolCalls } : {}) };
  }

  /** Streams existing text as a quick run of chunks of a few words each. */
  fromText(text: string, model: string): ProducedAnswer {
    const started = performance.now();
    const pieces = text.match(new RegExp(`(?:\\S+\\s*){1,${REPLAY_WORDS_PER_CHUNK}}|\\s+`, 'g')) ?? [];
    for (const piece of pieces) this.publish(piece);
    return { model, promptTokens: 0, completionTokens: 0, ttftMs: pieces.length > 0 ? performance.now() - started : null, finishReason: 'stop' };
  }

  private readonly publish = (text: string): void => {
    const now = performance.now();
    if (this.lastChunkAt === null) this.metrics.markFirstChunk(Date.now() - this.acceptedAt);
    this.metrics.chunkPublished(this.lastChunkAt === null ? null : now - this.lastChunkAt);
    this.lastChunkAt = now;
    this.publisher.chunk(text);
  };
}
