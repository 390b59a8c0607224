import type { SocketData } from './socket-data.js';

export type BudgetVerdict = { allowed: true } | { allowed: false; retryAfterMs: number; disconnect: boolean };

/**
 * A token bucket per socket for inbound frames: `perSecond` sustained, bursts of twice that.
 * Refused frames run up a debt; a client that keeps sending into a refusal (a flood) reaches
 * `-4 × burst` and is disconnected, so it cannot keep the gateway busy answering it.
 */
export class InboundBudget {
  private readonly burst: number;

  constructor(private readonly perSecond: number) {
    this.burst = perSecond * 2;
  }

  initial(now: number): Pick<SocketData, 'tokens' | 'tokensAt'> {
    return { tokens: this.burst, tokensAt: now };
  }

  take(data: SocketData, now: number): BudgetVerdict {
    const refill = ((now - data.tokensAt) / 1000) * this.perSecond;
    data.tokens = Math.min(this.burst, data.tokens + refill);
    data.tokensAt = now;
    if (data.tokens >= 1) {
      data.tokens -= 1;
      return { allowed: true };
    }
    data.tokens -= 1;
    const retryAfterMs = Math.ceil(((1 - data.tokens) / this.perSecond) * 1000);
    return { allowed: false, retryAfterMs, disconnect: data.tokens <= -4 * this.burst };
  }
}
