import type { RedisClient } from './connection.js';
import { LuaScript } from './lua-script.js';
import type { RedisKeys } from './redis-keys.js';
import type { PastTurn } from './session-store.js';
import type { SessionFlight } from '../protocol/schemas.js';

/**
 * Typed callers of the Lua scripts in `shared/lua/`: each orders its keys and arguments in one
 * place, so no caller can get them wrong.
 */
const openSocket = new LuaScript('open-socket-2.lua');
const acceptTurn = new LuaScript('accept-turn-7.lua');
const finishTurn = new LuaScript('finish-turn-2.lua');
const appendTurn = new LuaScript('append-turn-3.lua');
const finishAnswer = new LuaScript('finish-answer-7.lua');
const acquireAnswer = new LuaScript('acquire-answer-2.lua');
const storeAnswer = new LuaScript('store-answer-n.lua');

export type OpenSocketResult =
  | { ok: true; openSockets: number }
  | { ok: false; reason: 'session_not_found' }
  /** `holders`: the gateways whose sockets fill the session's slots (to check for dead ones). */
  | { ok: false; reason: 'too_many_connections'; holders: string[] };
/** What the response cache's single-flight step found: the answer, the lock, or another holder. */
export type AcquireAnswerResult = { kind: 'cached'; answer: string } | { kind: 'locked' } | { kind: 'held'; holder: string | null };

/**
 * One round trip of the response cache's single flight (`shared/lua/acquire-answer-2.lua`): the
 * cached answer if there is one, else the lock when it is free, else who holds it. The two keys
 * must share a hash slot (`RedisKeys.cachedAnswer` gives them the same hash tag).
 */
export async function acquireCachedAnswer(redis: RedisClient, answerKey: string, lockKey: string, owner: string, lockMs: number): Promise<AcquireAnswerResult> {
  const reply = (await acquireAnswer.run(redis, [answerKey, lockKey], [owner, lockMs])) as [number, string | null | undefined];
  if (reply[0] === 1) return { kind: 'cached', answer: reply[1] as string };
  if (reply[0] === 2) return { kind: 'locked' };
  return { kind: 'held', holder: typeof reply[1] === 'string' ? reply[1] : null };
}

/**
 * Stores a computed answer and drops its single-flight lock in one call
 * (`shared/lua/store-answer-n.lua`); `tracking`, for an answer kept for one session, also records
 * its hash in that session's set (what erasing the session reads). All keys share one hash slot.
 */
export async function storeCachedAnswer(
  redis: RedisClient,
  answerKey: string,
  lockKey: string,
  answer: string,
  ttlSeconds: number,
  tracking?: { set: string; hash: string },
): Promise<void> {
  if (tracking) await storeAnswer.run(redis, [answerKey, lockKey, tracking.set], [answer, ttlSeconds, tracking.hash]);
  else await storeAnswer.run(redis, [answerKey, lockKey], [answer, ttlSeconds]);
}

/** What one answered turn spent, added to its session's usage once (`finishAnswer`). */
export interface TurnSpend {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export type AcceptTurnResult = 'queued' | 'already_queued' | 'already_answered' | 'already_ended' | 'session_not_found';

/** The limits the accept step enforces in the same round trip (see accept-turn-7.lua); 0 = none. */
export interface TurnAdmission {
  /** Turns one session may send per window. */
  turnsPerWindow: number;
  windowSeconds: number;
  /** LLM tokens one session may spend (SESSION_TOKEN_BUDGET). */
  tokenBudget: number;
}

/**
 * What the accept step decided: the turn's place, or why it was refused. A newly queued turn
 * comes with its session's flight (null if the record could not be read as one).
 */
export type AdmitTurnResult =
  | { outcome: Exclude<AcceptTurnResult, 'queued'> }
  | { outcome: 'queued'; sessionFlight: SessionFlight | null }
  | { outcome: 'rate_limited'; retryAfterMs: number }
  | { outcome: 'token_budget_exhausted'; tokensUsed: number };

/** The flight and date of a session record (JSON, as SessionStore writes it), or null. */
function sessionFlightOf(record: unknown): SessionFlight | null {
  if (typeof record !== 'string') return null;
  try {
    const context = (JSON.parse(record) as { context?: { flight_no?: unknown; date?: unknown } }).context;
    const flightNo = context?.flight_no;
    const date = context?.date;
    if ((typeof flightNo !== 'string' && flightNo !== null) || (typeof date !== 'string' && date !== null)) return null;
    return { flight_no: flightNo, date };
  } catch {
    return null;
  }
}

const NO_ADMISSION_LIMITS: TurnAdmission = { turnsPerWindow: 0, windowSeconds: 60, tokenBudget: 0 };
const ACCEPT_OUTCOMES: Record<number, Exclude<AcceptTurnResult, 'queued'>> = { [-1]: 'session_not_found', 0: 'already_queued', 2: 'already_answered', 3: 'already_ended' };

export class SessionScripts {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Claims a socket slot (member `<gatewayId>/<connectionId>`). The slots of `deadGateways`
   * (gateways whose custody lease lapsed, see TurnCustody.lapsedAmong) are freed first.
   */
  async openSocket(sessionId: string, member: string, leaseMs: number, max: number, ttlSeconds: number, deadGateways: readonly string[] = []): Promise<OpenSocketResult> {
    const now = Date.now();
    const reply = (await openSocket.run(
      this.redis,
      [this.keys.session(sessionId, 'session'), this.keys.session(sessionId, 'sockets')],
      [member, now, now + leaseMs, max, ttlSeconds, ...deadGateways],
    )) as number | [number, ...string[]];
    if (Array.isArray(reply)) return { ok: false, reason: 'too_many_connections', holders: reply.slice(1) as string[] };
    const result = Number(reply);
    if (result === -1) return { ok: false, reason: 'session_not_found' };
    return { ok: true, openSockets: result };
  }

  /** Queues a turn once per message id, with no limit checked (see `admitTurn`). */
  async acceptTurn(sessionId: string, messageId: string, ttlSeconds: number, userMessage?: { json: string; envelope: Buffer }): Promise<AcceptTurnResult> {
    const admitted = await this.admitTurn(sessionId, messageId, ttlSeconds, NO_ADMISSION_LIMITS, userMessage);
    if (admitted.outcome === 'rate_limited' || admitted.outcome === 'token_budget_exhausted') throw new Error(`unexpected ${admitted.outcome} without limits`);
    return admitted.outcome;
  }

  /**
   * The gateway's whole intake in one round trip (`shared/lua/accept-turn-7.lua`): the session's
   * token budget and turn rate limit are checked, then the turn is queued once per message id and
   * its id recorded for erasure. With `userMessage` (the `user_message` frame's JSON and
   * envelope), a newly queued turn's message is also kept with the turn and published on the
   * session channel in the same step, ahead of any frame of its answer.
   */
  async admitTurn(
    sessionId: string,
    messageId: string,
    ttlSeconds: number,
    limits: TurnAdmission,
    userMessage?: { json: string; envelope: Buffer },
  ): Promise<AdmitTurnResult> {
    const args: Array<string | number | Buffer> = [messageId, ttlSeconds, limits.turnsPerWindow, limits.windowSeconds, limits.tokenBudget];
    if (userMessage) args.push(userMessage.json, userMessage.envelope, this.keys.sessionChannel(sessionId));
    const reply = (await acceptTurn.run(
      this.redis,
      [
        this.keys.session(sessionId, 'session'),
        this.keys.session(sessionId, 'turns'),
        this.keys.turnDone(sessionId, messageId),
        this.keys.turnLog(sessionId, messageId).state,
        this.keys.session(sessionId, 'turn-rate'),
        this.keys.session(sessionId, 'usage'),
        this.keys.session(sessionId, 'messages'),
      ],
      args,
    )) as [number, (number | string)?];
    const code = Number(reply[0]);
    if (code === 1) return { outcome: 'queued', sessionFlight: sessionFlightOf(reply[1]) };
    if (code === -5) return { outcome: 'rate_limited', retryAfterMs: Math.max(1, Number(reply[1])) };
    if (code === -4) return { outcome: 'token_budget_exhausted', tokensUsed: Number(reply[1]) };
    const outcome = ACCEPT_OUTCOMES[code];
    if (!outcome) throw new Error(`accept-turn answered ${code}`);
    return { outcome };
  }

  /**
   * Removes a turn from the session's queue. Returns the next turn's message id when that turn
   * is parked behind this one (its job waits as delayed; see `TurnLog.begin`): the caller wakes
   * it. Null when no turn is next, or when the next one's job is waiting or running already.
   */
  async finishTurn(sessionId: string, messageId: string): Promise<string | null> {
    const next = await finishTurn.run(this.redis, [this.keys.session(sessionId, 'turns'), this.keys.session(sessionId, 'parked')], [messageId]);
    return typeof next === 'string' ? next : null;
  }

  /** Appends a finished turn to history once per message id; false if it was already there. */
  async appendTurn(sessionId: string, messageId: string, entryJson: string, maxTurns: number, ttlSeconds: number): Promise<boolean> {
    const result = await appendTurn.run(
      this.redis,
      [this.keys.session(sessionId, 'history'), this.keys.turnDone(sessionId, messageId), this.keys.session(sessionId, 'session')],
      [entryJson, maxTurns, ttlSeconds],
    );
    return Number(result) === 1;
  }

  /**
   * `appendTurn` then `finishTurn`, in one round trip: appends the finished turn to history once
   * per message id (`appended` false if it was already there) and, in the same once-only step,
   * adds what it `spent` to the session's usage (`SessionStore.usage`); refreshes the session
   * TTL, and removes the turn from the session's queue; `next` is the message id now at its head
   * when that turn is parked and must be woken (as `finishTurn`), else null. `prompt`: the turn
   * as the session's prompt list keeps it (`PastTurn`, see `TurnLog.begin`), and how many
   * entries that list keeps; without it only history is written.
   */
  async finishAnswer(
    sessionId: string,
    messageId: string,
    entryJson: string,
    spent: TurnSpend,
    maxTurns: number,
    ttlSeconds: number,
    prompt?: { turn: PastTurn; kept: number },
  ): Promise<{ appended: boolean; next: string | null }> {
    const reply = (await finishAnswer.run(
      this.redis,
      [
        this.keys.session(sessionId, 'history'),
        this.keys.turnDone(sessionId, messageId),
        this.keys.session(sessionId, 'session'),
        this.keys.session(sessionId, 'turns'),
        this.keys.session(sessionId, 'usage'),
        this.keys.session(sessionId, 'parked'),
        this.keys.session(sessionId, 'prompt'),
      ],
      [
        entryJson,
        maxTurns,
        ttlSeconds,
        messageId,
        spent.promptTokens,
        spent.completionTokens,
        spent.costUsd,
        prompt ? JSON.stringify(prompt.turn) : '',
        prompt?.kept ?? 0,
      ],
    )) as [number, string | null | undefined];
    return { appended: Number(reply[0]) === 1, next: typeof reply[1] === 'string' ? reply[1] : null };
  }
}
