/** Session tokens: what is signed, and every way a token is refused. */
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import t from 'tap';
import { ServiceError, type AuthKey } from '@chat/shared';
import { SessionTokens } from '../src/auth/session-tokens.js';

const key = (kid: string): AuthKey => ({ kid, secret: new Uint8Array(randomBytes(32)) });
const k1 = key('k1');
const k2 = key('k2');
const base = { issuer: 'svc', audience: 'chat', ttlSeconds: 600 };

/** The refusal's code and message, or a test failure if the token was accepted. */
async function refusal(tokens: SessionTokens, token: string): Promise<{ code: string; message: string }> {
  try {
    await tokens.verify(token);
  } catch (err) {
    if (err instanceof ServiceError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('the token was accepted');
}

t.test('a token carries sub, iss, aud, iat, exp and the kid, and verifies', async (t) => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const tokens = new SessionTokens({ ...base, keys: [k1, k2], now: () => now });
  const { token, expiresAt } = await tokens.issue('session-1');
  t.same(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT', kid: 'k1' }, 'signed with the first key');
  t.same(decodeJwt(token), { sub: 'session-1', iss: 'svc', aud: 'chat', iat: now / 1000, exp: now / 1000 + 600 });
  t.equal(expiresAt.toISOString(), '2026-01-01T12:10:00.000Z');
  t.same(await tokens.verify(token), { sessionId: 'session-1', expiresAt });
});

t.test('rotation: a token of a listed kid verifies, an unlisted kid is refused', async (t) => {
  const oldToken = (await new SessionTokens({ ...base, keys: [k1] }).issue('s')).token;
  const rotated = new SessionTokens({ ...base, keys: [k2, k1] });
  t.equal((await rotated.verify(oldToken)).sessionId, 's', 'old kid still listed');
  t.equal(decodeProtectedHeader((await rotated.issue('s')).token).kid, 'k2', 'the new key signs');
  const dropped = new SessionTokens({ ...base, keys: [k2] });
  t.same(await refusal(dropped, oldToken), { code: 'unauthorized', message: 'The session token was signed with a key this service no longer accepts.' });
});

t.test('expired, wrong issuer, wrong audience, bad signature, other algorithms, garbage: 401', async (t) => {
  const tokens = new SessionTokens({ ...base, keys: [k1] });
  const dayAgo = new SessionTokens({ ...base, keys: [k1], now: () => Date.now() - 86_400_000 });
  t.same(await refusal(tokens, (await dayAgo.issue('s')).token), { code: 'unauthorized', message: 'The session token has expired; create a new session.' });

  const otherIssuer = await new SessionTokens({ ...base, issuer: 'someone-else', keys: [k1] }).issue('s');
  t.same(await refusal(tokens, otherIssuer.token), { code: 'unauthorized', message: 'The session token is not valid here (iss).' });
  const otherAudience = await new SessionTokens({ ...base, audience: 'ops', keys: [k1] }).issue('s');
  t.same(await refusal(tokens, otherAudience.token), { code: 'unauthorized', message: 'The session token is not valid here (aud).' });

  const forged = await new SessionTokens({ ...base, keys: [{ kid: 'k1', secret: new Uint8Array(randomBytes(32)) }] }).issue('s');
  t.same(await refusal(tokens, forged.token), { code: 'unauthorized', message: 'The session token is invalid.' }, 'same kid, another secret');

  const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512', kid: 'k1' }).setSubject('s').setIssuer('svc').setAudience('chat').setIssuedAt().setExpirationTime('5m').sign(new Uint8Array(randomBytes(64)));
  t.same(await refusal(tokens, hs512), { code: 'unauthorized', message: 'The session token is invalid.' }, 'only HS256');

  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = { sub: 's', iss: 'svc', aud: 'chat', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 };
  t.same(await refusal(tokens, `${b64({ alg: 'none', kid: 'k1' })}.${b64(claims)}.`), { code: 'unauthorized', message: 'The session token is malformed.' }, 'alg none');
  t.same(await refusal(tokens, `${b64({ alg: 'none', kid: 'k1' })}.${b64(claims)}.x`), { code: 'unauthorized', message: 'The session token is invalid.' }, 'alg none, any signature');

  const noSub = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuer('svc').setAudience('chat').setIssuedAt().setExpirationTime('5m').sign(k1.secret);
  t.equal((await refusal(tokens, noSub)).code, 'unauthorized', 'no sub');
  const badSub = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('a:b{c}').setIssuer('svc').setAudience('chat').setIssuedAt().setExpirationTime('5m').sign(k1.secret);
  t.same(await refusal(tokens, badSub), { code: 'unauthorized', message: 'The session token names no valid session.' });
  const noKid = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('s').setIssuer('svc').setAudience('chat').setIssuedAt().setExpirationTime('5m').sign(k1.secret);
  t.equal((await refusal(tokens, noKid)).code, 'unauthorized', 'no kid');

  for (const garbage of ['', 'abc', 'a.b', 'a.b.c.d', `${'a'.repeat(5000)}.b.c`, 'a b.c.d']) {
    t.same(await refusal(tokens, garbage), { code: 'unauthorized', message: 'The session token is malformed.' }, JSON.stringify(garbage.slice(0, 20)));
  }
});
