/**
 * Which gateways are known dead, for freeing the socket slots they held. A SIGKILLed gateway's
 * slots would otherwise count against its sessions' socket limit until their lease
 * (SOCKET_LEASE_MS) runs out, and its clients, reconnecting elsewhere, would be refused for
 * that long.
 *
 * The custody roster (TurnCustody, `{w}` hash slot) already tells who is dead: a lease that
 * lapsed. The session's socket set lives in the session's own hash slot, so no one script can
 * read both (Redis Cluster); instead the admitting gateway asks the roster about the gateways
 * a full session names, and passes the dead ones to the slot claim. A dead verdict is final
 * (gateway ids are unique per process), so it is remembered here until the dead gateway's
 * slots would have expired anyway, and passed to every claim meanwhile.
 */
export interface GatewayRoster {
  /** The ids among `gatewayIds` whose custody lease lapsed or who are off the roster. */
  lapsedAmong(gatewayIds: readonly string[]): Promise<string[]>;
}

/** More dead gateways than this at once is a fleet-wide outage: the oldest are forgotten. */
const MAX_REMEMBERED = 64;

export class DeadGateways {
  /** Dead gateway id -> when to forget it (ms). */
  private readonly known = new Map<string, number>();

  constructor(
    private readonly roster: GatewayRoster,
    /** This gateway: alive by definition, never asked about. */
    private readonly selfId: string,
    /** How long a verdict is kept: the socket lease, after which the slots expire anyway (ms). */
    private readonly rememberMs: number,
  ) {}

  /** The gateways known dead now, for every claim (usually none). */
  remembered(now = Date.now()): string[] {
    for (const [id, forgetAt] of this.known) if (forgetAt <= now) this.known.delete(id);
    return [...this.known.keys()];
  }

  /**
   * The dead among the gateways holding a full session's slots: asks the roster about those not
   * already known dead. Returns only newly found ones (the remembered ones were already passed).
   */
  async newlyDeadAmong(holders: readonly string[], now = Date.now()): Promise<string[]> {
    const unknown = holders.filter((id) => id !== this.selfId && !this.known.has(id));
    if (unknown.length === 0) return [];
    const dead = await this.roster.lapsedAmong(unknown);
    for (const id of dead) {
      this.known.set(id, now + this.rememberMs);
      if (this.known.size > MAX_REMEMBERED) this.known.delete(this.known.keys().next().value as string);
    }
    return dead;
  }
}
