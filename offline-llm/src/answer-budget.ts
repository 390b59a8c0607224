import type { FinishReason } from './chunk-encoder.js';
import type { PromptMessage } from './answer-composer.js';

/** The tokens one answer will send, and why it ends. */
export interface FittedAnswer {
  tokens: readonly string[];
  finishReason: FinishReason;
}

/**
 * Fits an answer to its two limits. `answerTokens` is the model's own length: the answer stops
 * "naturally" at the last whole sentence that fits (as a model would wrap up), finishing "stop".
 * The request's `max_tokens` is a hard cut mid-sentence, finishing "length", as OpenAI does.
 */
export function fitAnswer(tokens: readonly string[], answerTokens: number, maxTokens: number | undefined): FittedAnswer {
  let fitted = tokens;
  if (fitted.length > answerTokens) fitted = fitted.slice(0, sentenceCut(fitted, answerTokens));
  if (maxTokens !== undefined && fitted.length > maxTokens) {
    return { tokens: fitted.slice(0, maxTokens), finishReason: 'length' };
  }
  return { tokens: fitted, finishReason: 'stop' };
}

const SENTENCE_END = /[.!?]["')\]]*$/;

/**
 * The largest count ≤ budget that ends on a sentence end; the budget itself when the last
 * sentence end would throw away more than half of it (a long first sentence).
 */
function sentenceCut(tokens: readonly string[], budget: number): number {
  for (let count = budget; count > budget / 2; count--) {
    if (SENTENCE_END.test(tokens[count - 1]!)) return count;
  }
  return budget;
}

/** Tokens OpenAI adds around each message (role and separators), and to prime the reply. */
const TOKENS_PER_MESSAGE = 3;
const REPLY_PRIMING_TOKENS = 3;

/** Prompt tokens as OpenAI would roughly count them: about four characters per token. */
export function estimatePromptTokens(messages: readonly PromptMessage[]): number {
  let tokens = REPLY_PRIMING_TOKENS;
  for (const message of messages) tokens += TOKENS_PER_MESSAGE + Math.ceil(message.content.length / 4);
  return tokens;
}
