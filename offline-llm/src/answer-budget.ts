import type { FinishReason } from './chunk-encoder.js';
import type { PromptMessage } from './answer-composer.js';
import { padTokens } from './answer-padding.js';

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

/**
 * `fillToAnswerTokens`: the answer is exactly `answerTokens` long, padded (or cut) to it, and
 * finishes "stop"; a smaller `max_tokens` cuts it and finishes "length". Only the tokens that
 * are sent are built.
 */
export function fillAnswer(tokens: readonly string[], answerTokens: number, maxTokens: number | undefined): FittedAnswer {
  const cut = maxTokens !== undefined && maxTokens < answerTokens;
  const length = cut ? maxTokens : answerTokens;
  const filled = tokens.length > length ? tokens.slice(0, length) : padTokens(tokens, length);
  return { tokens: filled, finishReason: cut ? 'length' : 'stop' };
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
