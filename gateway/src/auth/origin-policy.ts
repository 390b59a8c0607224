import { parseAllowedOrigins } from '@chat/shared';

/**
 * The Origin allow-list of browser sockets (ALLOWED_ORIGINS). Browsers send `Origin` on every
 * WebSocket upgrade and let any page open a socket to any host, so without this list a page on
 * another site could open sockets in a visitor's name (cross-site WebSocket hijacking). Clients
 * that are not browsers send no Origin and are let through: they prove who they are with the
 * session token. An empty list allows every origin.
 */
export class OriginPolicy {
  private readonly allowed: ReadonlySet<string> | null;

  constructor(allowedOrigins: string) {
    const list = parseAllowedOrigins(allowedOrigins);
    this.allowed = list.length > 0 ? new Set(list) : null;
  }

  /** Whether every origin is allowed (the list is empty). */
  get open(): boolean {
    return this.allowed === null;
  }

  /** `origin` is the upgrade's Origin header, '' when absent. */
  allows(origin: string): boolean {
    if (this.allowed === null || origin === '') return true;
    return this.allowed.has(origin.trim().toLowerCase().replace(/\/+$/, ''));
  }
}
