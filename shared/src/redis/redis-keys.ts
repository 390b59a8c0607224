/// <reference path="../types/cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot';
import { assertValidId } from '../ids.js';

/**
 * Every Redis key and pub/sub channel the service uses is built here, and nowhere else.
 *
 * Layout: `<prefix>:{s:<sessionId>}:<suffix>`. The `{s:<sessionId>}` part is a Redis Cluster hash
 * tag: all keys of one session, and its channel, hash to the same slot, so multi-key Lua scripts
 * stay legal on a cluster and the channel can move to sharded pub/sub (SPUBLISH/SSUBSCRIBE),
 * which routes by the same slot.
 *
 * Session suffixes:
 * - `session`  string: the session record (JSON: context, created_at).
 * - `history`  list: finished turns, newest last (JSON entries), capped.
 * - `prompt`   list: the last finished turns as a worker's prompt needs them (`PastTurn`: the
 *              texts, the unanswered mark, their token counts), newest last, capped at the
 *              worker's PROMPT_HISTORY_TURNS; written with history, in the same script.
 * - `turns`    list: message ids accepted and not yet answered, oldest first. Workers answer
 *              only the head, which keeps one session's turns in order and one at a time.
 * - `parked`   set: turns a worker found behind the head and parked (their jobs wait as delayed);
 *              whoever finishes the turn ahead takes the next one out and wakes it.
 * - `sockets`  sorted set: one member per open socket (`<gatewayId>/<connectionId>`), scored by
 *              the lease expiry (ms). Enforces the per-session socket limit across gateways.
 * - `done:<messageId>` string: marks a turn written to history (makes the write idempotent).
 * - `turn:<messageId>:state` hash: the turn's owner epoch (the attempt allowed to write), the
 *              next seq, and `done` once it ended. `turn:<messageId>:log` stream: every frame
 *              of the turn, id `<seq>-1`, for resume. `turn:<messageId>:tools` hash: the turn's
 *              tool calls and results (see `turnTools`). `turn:<messageId>:text` string: the answer
 *              so far (snapshots). All three expire after the resume window.
 * - `recent`   sorted set: the session's last turns claimed (message id → claim time, ms), so a
 *              gateway can replay a turn that began and ended while its subscription was down.
 * - `events`   pub/sub channel: the frames of every turn of the session.
 * - `usage`    hash: LLM tokens and cost the session's answered turns spent (prompt_tokens,
 *              completion_tokens, cost_usd, turns), for GET /chat/session/:id and
 *              SESSION_TOKEN_BUDGET; expires with the session.
 * - `messages` set: every message id the session accepted (expires with the session), so that
 *              erasing it (DELETE /chat/session/:id) finds each turn's keys and BullMQ job.
 * - `cached`   set: hashes of the cache entries kept for this session alone (`cache:<hash>:*`).
 * - `tickets`  set: the socket tickets issued for the session while they live, to erase them.
 * - `turn-rate` string: the session's turn count in the current rate-limit window (TURNS_PER_MINUTE),
 *              expiring with the window; counted by the accept script, in the session's slot.
 * - `cache:<hash>:answer|lock` the session's own cached answers (see cachedAnswer).
 *
 * Other keys:
 * - `ticket:{t:<ticket>}` string: a single-use socket ticket (the session id it opens), with a
 *              short TTL; read and deleted in one GETDEL. Hash-tagged on the ticket itself.
 * - `{w}:gateways` sorted set: every gateway that watches turns, scored by its lease expiry (ms);
 *              `{w}:held:<gatewayId>` hash: the turns that gateway watches (message id → job
 *              data). One hash tag for all, so a lapsed gateway's turns move to another in one
 *              script (see TurnCustody).
 *
 * - `{h}:handoffs` stream: `handoff_requested` events (session id, message id, reason), capped,
 *              for an operator's desk or another service (XREAD / XREADGROUP). One key, one slot.
 *
 * BullMQ keys live under their own prefix (`<prefix>-bull`), wrapped in a hash tag so that
 * one queue's keys share a slot, as BullMQ requires on a cluster; each turn-queue shard has its
 * own tag (`bullShardPrefix`), so the shards spread over the cluster's masters.
 */
export type SessionKeySuffix = 'session' | 'history' | 'prompt' | 'turns' | 'parked' | 'sockets' | 'events' | 'usage' | 'messages' | 'cached' | 'tickets' | 'turn-rate';

export class RedisKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    if (!/^[A-Za-z0-9_.-]{1,32}$/.test(prefix)) throw new TypeError(`invalid Redis key prefix: ${prefix}`);
    this.prefix = prefix;
  }

  /** The one function that builds a session-scoped key. */
  session(sessionId: string, suffix: SessionKeySuffix): string {
    return `${this.sessionTag(sessionId)}:${suffix}`;
  }

  /** Marker that a turn's answer has been appended to history. */
  turnDone(sessionId: string, messageId: string): string {
    return `${this.sessionTag(sessionId)}:done:${assertValidId(messageId, 'message id')}`;
  }

  private sessionTag(sessionId: string): string {
    return `${this.prefix}:{s:${assertValidId(sessionId, 'session id')}}`;
  }

  /** The keys of one turn's frame log (see the layout above), in the order the scripts take them. */
  turnLog(sessionId: string, messageId: string): { state: string; log: string; text: string } {
    const base = `${this.sessionTag(sessionId)}:turn:${assertValidId(messageId, 'message id')}`;
    return { state: `${base}:state`, log: `${base}:log`, text: `${base}:text` };
  }

  /**
   * A turn's tool calls and their results (hash: call key → result JSON), kept for the resume
   * window so a retried or resumed turn reuses what a tool returned instead of calling it again.
   */
  turnTools(sessionId: string, messageId: string): string {
    return `${this.sessionTag(sessionId)}:turn:${assertValidId(messageId, 'message id')}:tools`;
  }

  /** The session's recently claimed turns (see the layout above). */
  recentTurns(sessionId: string): string {
    return `${this.sessionTag(sessionId)}:recent`;
  }

  /** Marks a turn as cancelled: a worker that has not started it yet skips it. */
  turnCancel(sessionId: string, messageId: string): string {
    return `${this.sessionTag(sessionId)}:cancel:${assertValidId(messageId, 'message id')}`;
  }

  /**
   * The one control channel every worker listens on: cancel requests, as `<sessionId>/<messageId>`.
   * Low volume (one message per cancel), so a single channel beats one per turn.
   */
  get cancelChannel(): string {
    return `${this.prefix}:control:cancel`;
  }

  /** Pub/sub channel on which workers answer one gateway's readiness canaries. */
  canaryChannel(gatewayId: string): string {
    return `${this.prefix}:canary:{g:${assertValidGatewayId(gatewayId)}}`;
  }

  /**
   * Pub/sub channel on which a gateway on a cluster probes its own subscription to one master
   * (SubscriptionProbe): `n` picks the hash slot, and so the master.
   */
  subscriptionProbeChannel(gatewayId: string, n: number): string {
    return `${this.prefix}:canary:{g:${assertValidGatewayId(gatewayId)}:p${n}}`;
  }

  /** The fleet-wide record of which gateway watches which turns (see the layout above). */
  turnCustody(gatewayId: string): { gateways: string; held: string } {
    const base = `${this.prefix}:{w}`;
    return { gateways: `${base}:gateways`, held: `${base}:held:${assertValidGatewayId(gatewayId)}` };
  }

  /** The stream of `handoff_requested` events (see the layout above). */
  get handoffStream(): string {
    return `${this.prefix}:{h}:handoffs`;
  }

  /** Pub/sub channel carrying every frame of one session. */
  sessionChannel(sessionId: string): string {
    return this.session(sessionId, 'events');
  }

  /** BullMQ's own prefix, separate from the service's keys: that of queue shard 0 and of the canary queue. */
  get bullPrefix(): string {
    return `{${this.prefix}-bull}`;
  }

  /**
   * The BullMQ prefix of one turn-queue shard. BullMQ keeps all keys of a queue in one hash slot,
   * so each shard has its own hash tag: shard 0 keeps the single-queue prefix (a deployment that
   * goes from one shard to several keeps its queued turns), shard i > 0 is `{<prefix>-bull:q<i>}`
   * (`:` is outside the prefix alphabet, so no other deployment's prefix can produce it).
   */
  bullShardPrefix(shard: number): string {
    if (!Number.isInteger(shard) || shard < 0) throw new TypeError(`invalid queue shard: ${shard}`);
    return shard === 0 ? this.bullPrefix : `{${this.prefix}-bull:q${shard}}`;
  }

  /**
   * A cached answer and its single-flight lock. Global answers (policy questions, no personal
   * data) hash-tag on the answer key itself; session-scoped ones live with the session.
   */
  cachedAnswer(hash: string, sessionId: string | null): { answer: string; lock: string } {
    if (!/^[a-f0-9]{16,64}$/.test(hash)) throw new TypeError(`invalid cache hash: ${hash}`);
    const base = sessionId === null ? `${this.prefix}:cache:{c:${hash}}` : `${this.sessionTag(sessionId)}:cache:${hash}`;
    return { answer: `${base}:answer`, lock: `${base}:lock` };
  }

  /** A single-use socket ticket (see `POST /chat/ticket`). Tickets have the id alphabet. */
  socketTicket(ticket: string): string {
    return `${this.prefix}:ticket:{t:${assertValidId(ticket, 'ticket')}}`;
  }

  /**
   * Prefix of one rate limiter's keys (`<prefix>:rl:<name>:<subject>`); rate-limiter-flexible
   * appends the subject (a session id, a client address).
   */
  rateLimitPrefix(name: 'connects' | 'sessions' | 'llm-tokens'): string {
    return `${this.prefix}:rl:${name}`;
  }

  /** Pattern matching every key of this deployment (used by tests to clean up). */
  get allKeysPattern(): string {
    return `${this.prefix}:*`;
  }
}

/** Gateway ids name keys and channels: a safe alphabet, bounded length. */
function assertValidGatewayId(gatewayId: string): string {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(gatewayId)) throw new TypeError(`invalid gateway id: ${gatewayId}`);
  return gatewayId;
}

/** Name of the BullMQ queue that carries chat turns. */
export const TURN_QUEUE_NAME = 'turns';

/** The Redis Cluster hash slot (0..16383) of a key or channel, honouring its `{hash tag}`. */
export function clusterSlotOf(key: string): number {
  return calculateSlot(key);
}
