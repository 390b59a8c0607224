import type { RedisClient } from './connection.js';
import type { TurnJobData } from '../protocol/schemas.js';
import { validators } from '../protocol/validators.js';
import { LuaScript } from './lua-script.js';
import type { RedisKeys } from './redis-keys.js';

const adoptTurns = new LuaScript('adopt-turns-3.lua');
const renewCustody = new LuaScript('renew-custody-2.lua');
const lapsedGateways = new LuaScript('lapsed-gateways-1.lua');

/**
 * A held-turns hash no gateway renews (every gateway gone for this long) expires: whatever it
 * held ended or timed out long before.
 */
const HELD_RECORD_TTL_MS = 24 * 3600 * 1000;

/** What one lease renewal found. */
export interface CustodyRenewal {
  /**
   * This gateway was not on the roster: it just started, Redis lost the roster (restarted
   * empty), or its lease lapsed (a long pause) and another gateway may have adopted its turns.
   * Either way its own record is gone or stale, and the caller must hold its turns again.
   */
  rejoined: boolean;
  /** Gateways whose lease has lapsed: their turns are waiting to be adopted. */
  lapsed: string[];
}

/**
 * Which gateway watches which accepted turns, recorded in Redis so that turns outlive the
 * gateway that accepted them. Each gateway renews a lease on a shared roster and records the
 * turns it watches; when a gateway's lease lapses (killed, partitioned, paused), the next
 * gateway to renew its own lease adopts its turns in one script, and from then on sees that
 * they end. A gateway that stops cleanly gives its lease up, so its turns move at once.
 *
 * The record is a safety net for the gateway's own in-memory watch list, not its source of
 * truth: if Redis loses it (restarted empty), the gateway's list still holds its turns and
 * writes them back at the next renewal. Two gateways watching one turn (a paused gateway that
 * comes back after its turns were adopted) is harmless: every action a watcher takes is a
 * claim-guarded script or an enqueue under the turn's own job id.
 *
 * Leases are stamped and judged by the Redis server's clock (scripts read TIME), so gateways
 * whose clocks disagree do not take each other for dead. Tests may pass their own `now`.
 */
export class TurnCustody {
  private readonly gatewaysKey: string;
  private readonly heldKey: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly gatewayId: string,
  ) {
    const custody = keys.turnCustody(gatewayId);
    this.gatewaysKey = custody.gateways;
    this.heldKey = custody.held;
  }

  /** Records turns as watched by this gateway. */
  async hold(turns: readonly TurnJobData[]): Promise<void> {
    if (turns.length === 0) return;
    const fields: string[] = [];
    for (const turn of turns) fields.push(turn.message_id, JSON.stringify(turn));
    await this.redis.hset(this.heldKey, ...fields);
  }

  /** Drops turns that ended from this gateway's record. */
  async release(messageIds: readonly string[]): Promise<void> {
    if (messageIds.length === 0) return;
    await this.redis.hdel(this.heldKey, ...messageIds);
  }

  /**
   * Renews this gateway's lease for `leaseMs` (and its record's lifetime) and lists the
   * gateways whose lease lapsed. `now` (ms): the Redis server's clock unless given.
   */
  async renew(leaseMs: number, now?: number): Promise<CustodyRenewal> {
    const reply = (await renewCustody.run(
      this.redis,
      [this.gatewaysKey, this.heldKey],
      [this.gatewayId, leaseMs, 16, HELD_RECORD_TTL_MS, ...(now === undefined ? [] : [now])],
    )) as [number, ...string[]];
    const [added, ...lapsed] = reply;
    return { rejoined: Number(added) === 1, lapsed };
  }

  /**
   * Moves a lapsed gateway's turns to this gateway and returns them; none if its lease was
   * renewed meanwhile or another gateway adopted them first. Records that fail validation
   * (written by an incompatible version) are dropped rather than watched half-understood.
   */
  async adopt(lapsedGatewayId: string, now?: number): Promise<TurnJobData[]> {
    const theirs = this.keys.turnCustody(lapsedGatewayId).held;
    const flat = (await adoptTurns.run(this.redis, [this.gatewaysKey, theirs, this.heldKey], [lapsedGatewayId, ...(now === undefined ? [] : [now])])) as string[];
    const turns: TurnJobData[] = [];
    const invalid: string[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const parsed = parseTurn(flat[i + 1]!);
      if (parsed) turns.push(parsed);
      else invalid.push(flat[i]!);
    }
    if (invalid.length > 0) await this.release(invalid);
    return turns;
  }

  /**
   * Which of `gatewayIds` are known dead: lease lapsed, or off the roster (taken off once their
   * turns were adopted). Judged by the Redis server's clock, as renew() judges. A gateway that
   * was only paused past its lease is taken for dead too, as custody takes it.
   */
  async lapsedAmong(gatewayIds: readonly string[]): Promise<string[]> {
    if (gatewayIds.length === 0) return [];
    return (await lapsedGateways.run(this.redis, [this.gatewaysKey], gatewayIds)) as string[];
  }

  /** Gives the lease up (a clean stop): the next gateway to renew adopts this one's turns. */
  async resign(): Promise<void> {
    await this.redis.zadd(this.gatewaysKey, 0, this.gatewayId);
  }

  /**
   * Records turns for the other gateways to adopt, after this one resigned (a turn accepted
   * while it stops): with the lease given up in the same transaction, so the record is on the
   * roster as lapsed even if a peer adopted this gateway's earlier record (and took it off).
   */
  async passOn(turns: readonly TurnJobData[]): Promise<void> {
    if (turns.length === 0) return;
    const fields: string[] = [];
    for (const turn of turns) fields.push(turn.message_id, JSON.stringify(turn));
    const replies = await this.redis.multi().hset(this.heldKey, ...fields).zadd(this.gatewaysKey, 0, this.gatewayId).exec();
    if (!replies) throw new Error('custody hand-over was discarded');
    for (const [err] of replies) if (err) throw err;
  }
}

function parseTurn(json: string): TurnJobData | null {
  try {
    const checked = validators.turnJob(JSON.parse(json));
    return checked.ok ? checked.value : null;
  } catch {
    return null;
  }
}
