import { SignJWT, errors as joseErrors, jwtVerify, type JWTHeaderParameters } from 'jose';
import { ServiceError, isValidId, type AuthKey } from '@chat/shared';

export interface SessionTokensOptions {
  /** Keys in order: the first signs, every one verifies (rotation by key id). At least one. */
  keys: readonly AuthKey[];
  /** `iss` written and required. */
  issuer: string;
  /** `aud` written and required. */
  audience: string;
  /** Lifetime of an issued token, seconds. */
  ttlSeconds: number;
  /** Clock, epoch ms. Default: Date.now (tests set another to mint expired tokens). */
  now?: () => number;
}

/** A verified token: the session it opens and when it stops doing so. */
export interface SessionIdentity {
  sessionId: string;
  expiresAt: Date;
}

/** The only algorithm signed and accepted; a token naming another (`none`, RS256, ...) is refused. */
export const SESSION_TOKEN_ALGORITHM = 'HS256';

/** Longest token text looked at; anything longer is refused before any parsing. */
const MAX_TOKEN_LENGTH = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Session tokens: JWTs (HS256, `jose`) whose `sub` is the session id, with `iss`, `aud`, `iat`
 * and `exp`, and the signing key's id in the `kid` header. Verification checks the algorithm,
 * the key id against the configured keys, the signature, issuer, audience and expiry.
 * Tokens are bearer credentials: nothing here logs them.
 */
export class SessionTokens {
  private readonly signing: AuthKey;
  private readonly byKid: ReadonlyMap<string, Uint8Array>;
  private readonly now: () => number;

  constructor(private readonly options: SessionTokensOptions) {
    const [first] = options.keys;
    if (!first) throw new TypeError('SessionTokens needs at least one key');
    this.signing = first;
    this.byKid = new Map(options.keys.map((key) => [key.kid, key.secret]));
    this.now = options.now ?? Date.now;
  }

  /** A token for `sessionId`, signed with the first key. */
  async issue(sessionId: string): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = Math.floor(this.now() / 1000);
    const expiresAtSeconds = issuedAt + this.options.ttlSeconds;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: SESSION_TOKEN_ALGORITHM, typ: 'JWT', kid: this.signing.kid })
      .setSubject(sessionId)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAtSeconds)
      .sign(this.signing.secret);
    return { token, expiresAt: new Date(expiresAtSeconds * 1000) };
  }

  /** The session a token opens; throws ServiceError `unauthorized` saying why it is refused. */
  async verify(token: string): Promise<SessionIdentity> {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw invalid('The session token is malformed.');
    try {
      const { payload } = await jwtVerify(token, (header: JWTHeaderParameters) => this.keyFor(header.kid), {
        algorithms: [SESSION_TOKEN_ALGORITHM],
        issuer: this.options.issuer,
        audience: this.options.audience,
        requiredClaims: ['sub', 'iat', 'exp'],
        currentDate: new Date(this.now()),
      });
      if (!isValidId(payload.sub) || typeof payload.exp !== 'number') throw invalid('The session token names no valid session.');
      return { sessionId: payload.sub, expiresAt: new Date(payload.exp * 1000) };
    } catch (err) {
      if (err instanceof ServiceError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw invalid('The session token has expired; create a new session.');
      if (err instanceof joseErrors.JWTClaimValidationFailed) throw invalid(`The session token is not valid here (${err.claim}).`);
      throw invalid('The session token is invalid.');
    }
  }

  private keyFor(kid: string | undefined): Uint8Array {
    const secret = kid === undefined ? undefined : this.byKid.get(kid);
    // An unknown kid: the key was rotated out, or the token was never ours.
    if (!secret) throw invalid('The session token was signed with a key this service no longer accepts.');
    return secret;
  }
}

function invalid(message: string): ServiceError {
  return new ServiceError('unauthorized', message);
}
