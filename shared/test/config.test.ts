/** Config: defaults, coercion from strings, one message per bad variable, frozen, documented. */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ConfigError, ENV_TABLE, llmBaseUrl, loadConfig, queueRedisUrl, cacheRedisUrl, usesOfflineModel } from '../src/config.js';

t.test('defaults apply with an empty environment', async (t) => {
  const config = loadConfig({});
  t.equal(config.gateway.port, 8088);
  t.equal(config.llm.model, 'gpt-4o-mini');
  t.equal(config.session.ttlSeconds, 3600);
  t.equal(config.session.cacheTtlSeconds, 1800);
  t.equal(config.gateway.maxConnectionsPerSession, 10);
  t.equal(config.offlineLlm.ttftMs, 400);
  t.equal(config.offlineLlm.tokensPerSecond, 60);
  t.ok(usesOfflineModel(config), 'no key: the offline model');
  t.equal(llmBaseUrl(config), 'http://127.0.0.1:8099/v1');
  t.equal(queueRedisUrl(config), 'redis://127.0.0.1:6379');
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.gateway), 'frozen all the way down');
});

t.test('environment strings are coerced to the schema types', async (t) => {
  const config = loadConfig({ PORT: '9000', ALLOW_UWS_SHIM: 'true', LLM_TEMPERATURE: '0.7', OPENAI_API_KEY: 'sk-test', CACHE_REDIS_URL: 'redis://cache:6379' });
  t.equal(config.gateway.port, 9000);
  t.equal(config.gateway.allowUwsShim, true);
  t.equal(config.llm.temperature, 0.7);
  t.notOk(usesOfflineModel(config));
  t.equal(llmBaseUrl(config), undefined, 'a key and no base URL: OpenAI itself');
  t.equal(cacheRedisUrl(config), 'redis://cache:6379');
  t.equal(queueRedisUrl(config), 'redis://127.0.0.1:6379', 'the queue stays on REDIS_URL');
});

t.test('flags accept 1/0, yes/no, on/off as well as true/false', async (t) => {
  t.equal(loadConfig({ ALLOW_UWS_SHIM: '1' }).gateway.allowUwsShim, true);
  t.equal(loadConfig({ OFFLINE_LLM_FILL: 'yes' }).offlineLlm.fillToAnswerTokens, true);
  t.equal(loadConfig({ OFFLINE_LLM_ALLOW_OVERRIDES: 'off' }).offlineLlm.allowRequestOverrides, false);
  t.throws(() => loadConfig({ ALLOW_UWS_SHIM: 'maybe' }), /ALLOW_UWS_SHIM \(gateway\.allowUwsShim\): must be boolean/);
});

t.test('every bad value is reported at once, by variable name', async (t) => {
  const err = t.throws(() => loadConfig({ PORT: 'eighty', WORKER_CONCURRENCY: '-1', LOG_LEVEL: 'loud', REDIS_URL: 'http://x' })) as ConfigError;
  t.type(err, ConfigError);
  const text = err.problems.join('\n');
  t.match(text, /PORT \(gateway\.port\): must be integer \(got "eighty"\)/);
  t.match(text, /WORKER_CONCURRENCY \(worker\.concurrency\): must be >= 0/);
  t.match(text, /LOG_LEVEL \(log\.level\)/);
  t.match(text, /REDIS_URL \(redis\.url\): must match pattern/);
});

t.test('unknown keys in overrides are refused', async (t) => {
  t.throws(() => loadConfig({}, { gateway: { colour: 'blue' } as never }), /gateway\.colour/);
});

t.test('the configuration table of docs/configuration.md mirrors ENV_TABLE', async (t) => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Variables'), doc.indexOf('## Rate limits'));
  const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| `([a-zA-Z.]+)` \|/gm)].map((m) => [m[1], m[2]]);
  t.same(rows, ENV_TABLE.map(([env, path]) => [env, path]));
});

t.test('PUBLIC_WS_ORIGINS: plain ws/wss origins only (they go into the CSP header)', async (t) => {
  t.equal(loadConfig({}).gateway.publicWsOrigins, '');
  t.equal(loadConfig({ PUBLIC_WS_ORIGINS: 'wss://chat.example-air.com, ws://[::1]:8088' }).gateway.publicWsOrigins, 'wss://chat.example-air.com, ws://[::1]:8088');
  for (const bad of ['https://chat.example-air.com', "wss://x.example;script-src 'unsafe-inline'", 'wss://x.example/path', 'wss://*.example.com']) {
    t.throws(() => loadConfig({ PUBLIC_WS_ORIGINS: bad }), /PUBLIC_WS_ORIGINS \(gateway\.publicWsOrigins\): .* is not a ws:\/\/ or wss:\/\/ origin/, bad);
  }
});
