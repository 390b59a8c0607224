import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base';
import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base';

export type TokenCounter = (text: string) => number;

/**
 * The tokenizer of the configured model (the real BPE, not a characters-per-token guess), so
 * the history budget means the same thing the provider bills. GPT-4o, 4.1, 5 and the o-series
 * use o200k_base; older chat models use cl100k_base, which is also the fallback for unknown
 * (e.g. self-hosted OpenAI-compatible) models.
 */
export function tokenCounterFor(model: string): TokenCounter {
  return /^(gpt-4o|gpt-4\.1|gpt-5|o\d)/.test(model) ? countO200k : countCl100k;
}
