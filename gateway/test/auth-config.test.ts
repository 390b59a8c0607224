/**
 * Auth configuration: AUTH_SECRETS parsing (never echoing a secret), ALLOWED_ORIGINS, the
 * gateway refusing AUTH_REQUIRED without secrets, and the codes the README documents.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { CloseCode, ConfigError, ERRORS, loadConfig, parseAuthSecrets } from '@chat/shared';
import { ChatGateway } from '../src/chat-gateway.js';

const secret = () => randomBytes(32).toString('base64');

t.test('defaults: auth off, no secrets, tokens for a day, tickets for 30 s, any origin', async (t) => {
  const config = loadConfig({});
  t.same(config.auth, { required: false, issuer: 'scalable-chatbot-svc', audience: 'chat', tokenTtlSeconds: 86_400, ticketTtlSeconds: 30, allowedOrigins: '' });
  t.same(parseAuthSecrets(undefined), []);
});

t.test('AUTH_SECRETS: kid:secret pairs in order, base64 or base64url', async (t) => {
  const a = randomBytes(32);
  const b = randomBytes(40);
  const config = loadConfig({ AUTH_REQUIRED: 'yes', AUTH_SECRETS: `new:${a.toString('base64')}, old:${b.toString('base64url')}` });
  t.equal(config.auth.required, true);
  const keys = parseAuthSecrets(config.auth.secrets);
  t.same(keys.map((k) => k.kid), ['new', 'old']);
  t.same(Buffer.from(keys[0]!.secret), a);
  t.same(Buffer.from(keys[1]!.secret), b);
});

t.test('bad AUTH_SECRETS entries are named by position and kid, never by secret', async (t) => {
  const short = randomBytes(16).toString('base64');
  const good = secret();
  const err = t.throws(() => loadConfig({ AUTH_SECRETS: `a:${short},nocolon,a:${good},b:${good.slice(0, 20)}!!!${good.slice(20)}` })) as ConfigError;
  t.type(err, ConfigError);
  t.same(err.problems, [
    'AUTH_SECRETS (auth.secrets): entry 1 (a): the secret must decode to at least 32 bytes (e.g. openssl rand -base64 32)',
    'AUTH_SECRETS (auth.secrets): entry 2: must be kid:base64secret, the kid of 1-64 of A-Za-z0-9_.-',
    'AUTH_SECRETS (auth.secrets): entry 3: key id "a" is listed twice',
    'AUTH_SECRETS (auth.secrets): entry 4 (b): the secret must be base64 or base64url',
  ]);
  t.notMatch(err.message, short);
  t.notMatch(err.message, good.slice(0, 20));
});

t.test('ALLOWED_ORIGINS entries must be origins', async (t) => {
  t.equal(loadConfig({ ALLOWED_ORIGINS: 'https://a.example, http://localhost:8088' }).auth.allowedOrigins, 'https://a.example, http://localhost:8088');
  const err = t.throws(() => loadConfig({ ALLOWED_ORIGINS: 'https://a.example/chat,a.example' })) as ConfigError;
  t.same(err.problems, [
    'ALLOWED_ORIGINS (auth.allowedOrigins): "https://a.example/chat" is not an origin (scheme://host[:port])',
    'ALLOWED_ORIGINS (auth.allowedOrigins): "a.example" is not an origin (scheme://host[:port])',
  ]);
});

t.test('ttl bounds', async (t) => {
  t.throws(() => loadConfig({ AUTH_TICKET_TTL_SECONDS: '0' }), /AUTH_TICKET_TTL_SECONDS \(auth\.ticketTtlSeconds\): must be >= 1/);
  t.throws(() => loadConfig({ AUTH_TICKET_TTL_SECONDS: '601' }), /must be <= 600/);
  t.throws(() => loadConfig({ AUTH_TOKEN_TTL_SECONDS: 'soon' }), /AUTH_TOKEN_TTL_SECONDS \(auth\.tokenTtlSeconds\): must be integer/);
});

t.test('a gateway with AUTH_REQUIRED and no AUTH_SECRETS refuses to start, before opening anything', async (t) => {
  const config = loadConfig({ AUTH_REQUIRED: 'true', REDIS_URL: 'redis://127.0.0.1:1' });
  const err = t.throws(() => new ChatGateway({ config })) as ConfigError;
  t.type(err, ConfigError);
  t.match(err.message, /AUTH_SECRETS \(auth\.secrets\): must be set when AUTH_REQUIRED=true/);
});

t.test('401/403 and their close codes', async (t) => {
  t.equal(ERRORS.unauthorized.status, 401);
  t.equal(ERRORS.forbidden.status, 403);
  t.equal(CloseCode.unauthorized - 4000, ERRORS.unauthorized.status);
  t.equal(CloseCode.forbidden - 4000, ERRORS.forbidden.status);
});
