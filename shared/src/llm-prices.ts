/**
 * What LLM tokens cost, for the cost metrics and the `complete` frame's `cost_usd`. Prices are
 * USD per million tokens, prompt (input) and completion (output), as the provider lists them;
 * they change, so LLM_PRICES (`model=prompt/completion,...`) overrides or adds entries. The
 * bundled offline model costs nothing.
 */
export interface ModelPrice {
  /** USD per million prompt tokens. */
  prompt: number;
  /** USD per million completion tokens. */
  completion: number;
}

/** Defaults for common OpenAI models (USD per 1M tokens, standard tier, no cached-input discount). */
export const DEFAULT_MODEL_PRICES: Readonly<Record<string, ModelPrice>> = Object.freeze({
  'gpt-4o-mini': { prompt: 0.15, completion: 0.6 },
  'gpt-4o': { prompt: 2.5, completion: 10 },
  'gpt-4.1-nano': { prompt: 0.1, completion: 0.4 },
  'gpt-4.1-mini': { prompt: 0.4, completion: 1.6 },
  'gpt-4.1': { prompt: 2, completion: 8 },
  'gpt-4-turbo': { prompt: 10, completion: 30 },
  'gpt-3.5-turbo': { prompt: 0.5, completion: 1.5 },
  'o4-mini': { prompt: 1.1, completion: 4.4 },
  'o3-mini': { prompt: 1.1, completion: 4.4 },
  o3: { prompt: 2, completion: 8 },
});

/** The model label of answers from the bundled offline model. */
export const OFFLINE_MODEL_LABEL = 'offline';
/** The model label of models in no price table entry (keeps the label set bounded). */
export const OTHER_MODEL_LABEL = 'other';

/** Parses LLM_PRICES: `model=prompt/completion` entries, comma-separated. Throws naming the bad entry. */
export function parseModelPrices(text: string): Record<string, ModelPrice> {
  const out: Record<string, ModelPrice> = {};
  for (const [index, raw] of text.split(',').entries()) {
    const entry = raw.trim();
    if (entry === '') continue;
    const match = /^([A-Za-z0-9._:-]{1,64})=(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(entry);
    if (!match) throw new Error(`LLM_PRICES entry ${index + 1} must be model=prompt/completion (USD per million tokens), got ${JSON.stringify(entry)}`);
    out[match[1]!] = { prompt: Number(match[2]), completion: Number(match[3]) };
  }
  return out;
}

/** One answer's token counts, priced. */
export interface PricedUsage {
  /** Bounded metric label: a price table entry, `offline` or `other`. */
  model: string;
  promptUsd: number;
  completionUsd: number;
}

/**
 * Prices answers by model. A provider reports dated names (`gpt-4o-mini-2024-07-18`): the longest
 * table entry that the name starts with wins, so `gpt-4o-mini-…` is not priced as `gpt-4o`.
 */
export class PriceTable {
  private readonly entries: Array<[string, ModelPrice]>;

  constructor(
    overrides: Record<string, ModelPrice> = {},
    private readonly offline = false,
  ) {
    this.entries = Object.entries({ ...DEFAULT_MODEL_PRICES, ...overrides }).sort(([a], [b]) => b.length - a.length);
  }

  /** The table entry a reported model name falls under, if any. */
  entryFor(model: string): [string, ModelPrice] | undefined {
    const name = model.toLowerCase();
    return this.entries.find(([key]) => name === key || name.startsWith(`${key}-`));
  }

  price(model: string, promptTokens: number, completionTokens: number): PricedUsage {
    if (this.offline) return { model: OFFLINE_MODEL_LABEL, promptUsd: 0, completionUsd: 0 };
    const entry = this.entryFor(model);
    if (!entry) return { model: OTHER_MODEL_LABEL, promptUsd: 0, completionUsd: 0 };
    const [key, price] = entry;
    return { model: key, promptUsd: (promptTokens * price.prompt) / 1e6, completionUsd: (completionTokens * price.completion) / 1e6 };
  }
}
