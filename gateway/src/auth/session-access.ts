import { ConfigError, ServiceError, gatewayAuthProblems, parseAuthSecrets, type Config, type RedisClient, type RedisKeys } from '@chat/shared';
import { OriginPolicy } from './origin-policy.js';
import { SessionTokens, type SessionIdentity } from './session-tokens.js';
import { SocketTickets } from './socket-tickets.js';

/** What a socket upgrade presents, copied out of `req` before any await. */
export interface SocketCredentials {
  /** The Origin header; '' when absent (not a browser). */
  origin: string;
  /** The Authorization header; '' when absent. */
  authorization: string;
  /** The `ticket` query parameter; null when absent. */
  ticket: string | null;
}

export interface SessionAccessOptions {
  /** AUTH_REQUIRED: sockets and session REST routes need a token (or, for sockets, a ticket). */
  required: boolean;
  /** Null when no AUTH_SECRETS are configured: no token is issued and none can be checked. */
  tokens: SessionTokens | null;
  /** Null with `tokens`: a ticket is obtained with a token. */
  tickets: SocketTickets | null;
  origins: OriginPolicy;
}

/**
 * Who may open a session's socket or read and write it over REST. A token opens exactly one
 * session (its `sub`); presenting it for another session is `forbidden` (403 / close 4403), a
 * missing, invalid or expired one `unauthorized` (401 / close 4401). With AUTH_REQUIRED off the
 * credentials are not looked at (the Origin allow-list still applies to sockets), so a laptop
 * and the existing clients work as before.
 */
export class SessionAccess {
  constructor(private readonly options: SessionAccessOptions) {}

  /**
   * From the config. Tokens are issued only when AUTH_SECRETS is set: a random per-process
   * secret would make a token from one gateway fail on the next (they share one port and a load
   * balancer), which is worse than no token. Throws ConfigError when AUTH_REQUIRED has no secret.
   */
  static fromConfig(config: Readonly<Config>, redis: RedisClient, keys: RedisKeys): SessionAccess {
    SessionAccess.assertConfig(config);
    const authKeys = parseAuthSecrets(config.auth.secrets);
    const { issuer, audience, tokenTtlSeconds, ticketTtlSeconds } = config.auth;
    const tokens = authKeys.length > 0 ? new SessionTokens({ keys: authKeys, issuer, audience, ttlSeconds: tokenTtlSeconds }) : null;
    return new SessionAccess({
      required: config.auth.required,
      tokens,
      tickets: tokens ? new SocketTickets(redis, keys, ticketTtlSeconds) : null,
      origins: new OriginPolicy(config.auth.allowedOrigins),
    });
  }

  /** Throws ConfigError when the gateway cannot enforce what the config asks (AUTH_REQUIRED without AUTH_SECRETS). */
  static assertConfig(config: Readonly<Config>): void {
    const problems = gatewayAuthProblems(config);
    if (problems.length > 0) throw new ConfigError(problems);
  }

  get required(): boolean {
    return this.options.required;
  }

  /** A token for a new session; null when tokens are not configured. */
  issueToken(sessionId: string): Promise<{ token: string; expiresAt: Date }> | null {
    return this.options.tokens ? this.options.tokens.issue(sessionId) : null;
  }

  /** `POST /chat/ticket`: a single-use socket ticket for the session of the bearer token. */
  async issueTicket(authorization: string): Promise<{ ticket: string; expiresIn: number }> {
    const { tickets } = this.options;
    if (!tickets) throw new ServiceError('not_found', 'Tickets are not available: this deployment issues no tokens (AUTH_SECRETS is unset).');
    const identity = await this.bearer(authorization);
    return { ticket: await tickets.issue(identity.sessionId), expiresIn: tickets.ttlSeconds };
  }

  /** REST routes of one session: throws unless access is open or the bearer token is this session's. */
  async checkRest(authorization: string, sessionId: string): Promise<void> {
    if (!this.options.required) return;
    const identity = await this.bearer(authorization);
    if (identity.sessionId !== sessionId) throw new ServiceError('forbidden', 'This token is for another session.');
  }

  /**
   * The socket upgrade: the Origin against the allow-list, then (AUTH_REQUIRED) the ticket if the
   * URL has one, else the bearer token. A ticket is consumed even when it is for another session.
   */
  async checkSocket(sessionId: string, credentials: SocketCredentials): Promise<void> {
    if (!this.options.origins.allows(credentials.origin)) throw new ServiceError('forbidden', 'Sockets from this origin are not allowed.');
    if (!this.options.required) return;
    if (credentials.ticket !== null) {
      const ticketSession = this.options.tickets ? await this.options.tickets.redeem(credentials.ticket) : null;
      if (ticketSession === null) throw new ServiceError('unauthorized', 'The ticket is unknown, expired or already used; get a new one from POST /chat/ticket.');
      if (ticketSession !== sessionId) throw new ServiceError('forbidden', 'This ticket is for another session.');
      return;
    }
    const identity = await this.bearer(credentials.authorization);
    if (identity.sessionId !== sessionId) throw new ServiceError('forbidden', 'This token is for another session.');
  }

  private async bearer(authorization: string): Promise<SessionIdentity> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    if (!token) {
      throw new ServiceError('unauthorized', 'This needs the session token: Authorization: Bearer <token> (sockets: or ?ticket= from POST /chat/ticket).');
    }
    if (!this.options.tokens) throw new ServiceError('unauthorized', 'This deployment issues no tokens (AUTH_SECRETS is unset).');
    return this.options.tokens.verify(token);
  }
}
