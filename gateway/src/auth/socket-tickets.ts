import { randomBytes } from 'node:crypto';
import { isValidId, type RedisClient, type RedisKeys } from '@chat/shared';

/**
 * Single-use tickets for the socket URL (`/ws/:sessionId/:clientId?ticket=...`): browsers cannot
 * set an Authorization header on a WebSocket, and a long-lived token in a URL ends up in proxy
 * and browser logs. A ticket is 32 random bytes (base64url, 43 characters), stored in Redis with
 * the session id it opens and a short TTL, and consumed by GETDEL: it opens one socket at most,
 * on any gateway. Tickets are credentials: nothing here logs them.
 */
export class SocketTickets {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    /** Lifetime of a ticket, seconds. */
    readonly ttlSeconds: number,
  ) {}

  /** A new ticket for `sessionId`, valid for `ttlSeconds`. */
  async issue(sessionId: string): Promise<string> {
    const ticket = randomBytes(32).toString('base64url');
    await this.redis.set(this.keys.socketTicket(ticket), sessionId, 'EX', this.ttlSeconds, 'NX');
    // Listed with the session (its own slot, a second command), so that erasing the session
    // revokes its live tickets; the list lives as long as the newest ticket.
    const issued = this.keys.session(sessionId, 'tickets');
    await this.redis.multi().sadd(issued, ticket).expire(issued, this.ttlSeconds).exec();
    return ticket;
  }

  /** The session the ticket opens, consuming it; null when unknown, expired or already used. */
  async redeem(ticket: string): Promise<string | null> {
    if (!isValidId(ticket)) return null;
    return this.redis.getdel(this.keys.socketTicket(ticket));
  }
}
