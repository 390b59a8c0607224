/** The price table: which entry a reported model name falls under, what it costs, LLM_PRICES. */
import t from 'tap';
import { DEFAULT_MODEL_PRICES, PriceTable, parseModelPrices } from '../src/llm-prices.js';
import { loadConfig } from '../src/config.js';

t.test('dated model names are priced by the longest matching entry', async (t) => {
  const table = new PriceTable();
  t.equal(table.entryFor('gpt-4o-mini-2024-07-18')?.[0], 'gpt-4o-mini', 'not gpt-4o');
  t.equal(table.entryFor('gpt-4o-2024-08-06')?.[0], 'gpt-4o');
  t.equal(table.entryFor('GPT-4.1-mini')?.[0], 'gpt-4.1-mini', 'case-insensitive');
  t.equal(table.entryFor('gpt-4omni'), undefined, 'a prefix must end at a dash');
  t.same(table.price('gpt-4o-mini', 1_000_000, 2_000_000), { model: 'gpt-4o-mini', promptUsd: 0.15, completionUsd: 1.2 });
  t.same(table.price('some-local-model', 1000, 1000), { model: 'other', promptUsd: 0, completionUsd: 0 }, 'unknown models: one bounded label, no guessed price');
  t.same(new PriceTable({}, true).price('gpt-4o', 1000, 1000), { model: 'offline', promptUsd: 0, completionUsd: 0 }, 'the offline model is free');
  for (const [model, price] of Object.entries(DEFAULT_MODEL_PRICES)) t.ok(price.prompt > 0 && price.completion >= price.prompt, `${model}: sane default`);
});

t.test('LLM_PRICES adds and overrides entries', async (t) => {
  const prices = parseModelPrices(' gpt-4o-mini=1/2, my-model=0.5/1.25 ,');
  t.same(prices, { 'gpt-4o-mini': { prompt: 1, completion: 2 }, 'my-model': { prompt: 0.5, completion: 1.25 } });
  const table = new PriceTable(prices);
  t.same(table.price('my-model-v2', 2_000_000, 0), { model: 'my-model', promptUsd: 1, completionUsd: 0 });
  t.same(table.price('gpt-4o-mini', 1_000_000, 0).promptUsd, 1, 'override wins');
  t.throws(() => parseModelPrices('gpt-4o=cheap'), /entry 1 must be model=prompt\/completion/);
  t.equal(loadConfig({ LLM_PRICES: 'a=1/2,b=3/4' }).llm.prices, 'a=1/2,b=3/4');
  t.throws(() => loadConfig({ LLM_PRICES: 'a=1' }), /LLM_PRICES \(llm\.prices\)/);
  t.equal(loadConfig({ SESSION_TOKEN_BUDGET: '5000' }).session.tokenBudget, 5000);
  t.equal(loadConfig({}).session.tokenBudget, 0, 'no budget by default');
});
