import { createRequire } from 'node:module';
import { LruMap } from './lru-map.js';

export type TokenCounter = (text: string) => number;

type Tokenizer = 'o200k_base' | 'cl100k_base';

/**
 * Each encoding is a rank table of megabytes of JavaScript (o200k 2.4 MB, cl100k 1.2 MB) that
 * costs ~150 ms of CPU to load; a worker needs the one of its model. So the module is loaded
 * when a counter is made (the worker's construction, never a turn), not when this file is
 * imported, and only that one: synchronously, through the package's CommonJS build.
 */
const requireEncoding = createRequire(import.meta.url);
const ENCODING_MODULES: Record<Tokenizer, string> = {
  o200k_base: 'gpt-tokenizer/cjs/encoding/o200k_base',
  cl100k_base: 'gpt-tokenizer/cjs/encoding/cl100k_base',
};

function loadCounter(tokenizer: Tokenizer): TokenCounter {
  return (requireEncoding(ENCODING_MODULES[tokenizer]) as typeof import('gpt-tokenizer/encoding/o200k_base')).countTokens;
}

/**
 * Texts whose count is remembered. A turn counts its whole prompt (the token budget) and each
 * past turn it considers (the history budget); most of those texts were counted for the turn
 * before: the system prompt of the same flight, the same past turns. BPE costs tens of
 * microseconds per hundred characters, a Map lookup a hash of the string.
 */
const MEMO_ENTRIES = 10_000;

/**
 * The tokenizer of the configured model (the real BPE, not a characters-per-token guess), so
 * the history budget means the same thing the provider bills. GPT-4o, 4.1, 5 and the o-series
 * use o200k_base; older chat models use cl100k_base, which is also the fallback for unknown
 * (e.g. self-hosted OpenAI-compatible) models. Counts are memoised per text (see MEMO_ENTRIES).
 */
export function tokenCounterFor(model: string): TokenCounter {
  return memoised(loadCounter(tokenizerFor(model)), MEMO_ENTRIES);
}

/** The name of the tokenizer `tokenCounterFor(model)` counts with (stored beside counts made with it). */
export function tokenizerFor(model: string): Tokenizer {
  return /^(gpt-4o|gpt-4\.1|gpt-5|o\d)/.test(model) ? 'o200k_base' : 'cl100k_base';
}

/** `count` with its last `entries` results remembered, least recently used dropped first. */
export function memoised(count: TokenCounter, entries: number): TokenCounter {
  const memo = new LruMap<string, number>(entries);
  return (text) => {
    let tokens = memo.get(text);
    if (tokens === undefined) {
      tokens = count(text);
      memo.set(text, tokens);
    }
    return tokens;
  };
}
