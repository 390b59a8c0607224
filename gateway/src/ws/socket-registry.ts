import { CloseCode, type GatewayMetrics, type Logger, type SessionStore } from '@chat/shared';
import type { ChatSocket, SocketData } from './socket-data.js';

const NO_SOCKETS: ReadonlySet<ChatSocket> = new Set();

/**
 * The sockets this gateway holds, by session: counts for /health and metrics, lease renewal of
 * their slots in Redis, and closing them all on shutdown.
 */
export class SocketRegistry {
  private readonly bySession = new Map<string, Set<ChatSocket>>();
  private socketCount = 0;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly pendingReleases = new Set<Promise<void>>();
  /**
   * Sockets open but still being admitted, with their data: uWS forbids any call on a closed
   * socket, getUserData() included, so closeAll() reads `closed` from the data kept here.
   */
  private readonly admitting = new Map<ChatSocket, SocketData>();

  constructor(
    private readonly store: SessionStore,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly leaseMs: number,
  ) {}

  get openSockets(): number {
    return this.socketCount;
  }

  get activeSessions(): number {
    return this.bySession.size;
  }

  /** The open sockets of one session (the slow-client check looks at those that were sent frames). */
  ofSession(sessionId: string): Iterable<ChatSocket> {
    return this.bySession.get(sessionId) ?? NO_SOCKETS;
  }

  /** A socket opened and its admission checks are running: shutdown must close it too. */
  admissionStarted(ws: ChatSocket, data: SocketData): void {
    this.admitting.set(ws, data);
  }

  /** Its admission is decided (admitted, refused, or the socket left meanwhile). */
  admissionEnded(ws: ChatSocket): void {
    this.admitting.delete(ws);
  }

  /** Closes every socket of the session on this gateway (the session was erased). */
  endSession(sessionId: string, code: number, reason: string): void {
    for (const ws of [...(this.bySession.get(sessionId) ?? [])]) {
      const data = ws.getUserData();
      if (data.closed) continue;
      ws.end(code, reason);
    }
  }

  /** Returns true when this is the session's first socket on this gateway. */
  add(ws: ChatSocket): boolean {
    const { sessionId } = ws.getUserData();
    let sockets = this.bySession.get(sessionId);
    const first = sockets === undefined;
    if (!sockets) {
      sockets = new Set();
      this.bySession.set(sessionId, sockets);
    }
    sockets.add(ws);
    this.socketCount++;
    this.metrics.socketOpened();
    this.metrics.setActiveSessions(this.bySession.size);
    return first;
  }

  /** Forgets a closed socket and frees its slot in Redis. Returns true when it was the session's last. */
  remove(ws: ChatSocket): boolean {
    const { sessionId, member } = ws.getUserData();
    const sockets = this.bySession.get(sessionId);
    if (!sockets?.delete(ws)) return false;
    this.socketCount--;
    this.metrics.socketClosed();
    const last = sockets.size === 0;
    if (last) this.bySession.delete(sessionId);
    this.metrics.setActiveSessions(this.bySession.size);
    this.releaseSlot(sessionId, member);
    return last;
  }

  /** Frees a slot claimed in Redis (also used for upgrades aborted before the socket opened). */
  releaseSlot(sessionId: string, member: string): void {
    const release = this.store
      .releaseSocket(sessionId, member)
      .catch((err: unknown) => this.logger.warn({ err: String(err), session_id: sessionId }, 'could not release socket slot; its lease will expire'))
      .finally(() => this.pendingReleases.delete(release));
    this.pendingReleases.add(release);
  }

  /** Renews the Redis leases of every socket every third of the lease time. */
  startLeaseRenewal(): void {
    const interval = Math.max(1000, Math.floor(this.leaseMs / 3));
    this.renewTimer = setInterval(() => {
      this.store.renewSocketLeases(this.leaseHolders(), this.leaseMs).catch((err: unknown) => {
        this.logger.warn({ err: String(err) }, 'socket lease renewal failed');
      });
    }, interval);
    this.renewTimer.unref();
  }

  private *leaseHolders(): Generator<{ sessionId: string; member: string }> {
    for (const [sessionId, sockets] of this.bySession) {
      for (const ws of sockets) yield { sessionId, member: ws.getUserData().member };
    }
  }

  /**
   * Closes every socket with 1001 and a reconnect hint, admitted or still being admitted (left
   * open, the app's close would cut those with 1006), then waits for their slots to be freed.
   */
  async closeAll(reason: string): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    const admitted = [...this.bySession.values()].flatMap((set) => [...set].map((ws) => [ws, ws.getUserData()] as const));
    const admitting = [...this.admitting];
    for (const [ws, data] of [...admitted, ...admitting]) {
      if (!data.closed) ws.end(CloseCode.goingAway, reason);
    }
    // uWS runs close handlers as the sockets close; give them a moment. Admissions still running
    // free the slots their checks claimed once they see the socket closed.
    const deadline = Date.now() + 2000;
    while ((this.socketCount > 0 || this.admitting.size > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.allSettled([...this.pendingReleases]);
  }
}
