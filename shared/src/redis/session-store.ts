import { isCluster, type RedisClient } from './connection.js';
import type { HistoryEntry, SessionContext } from '../protocol/schemas.js';
import type { RedisKeys } from './redis-keys.js';
import { SessionScripts } from './scripts.js';

/** The session record as stored in Redis. */
export interface SessionRecord {
  session_id: string;
  context: SessionContext;
}

/** LLM tokens and cost a session's answered turns spent (cache hits spend no tokens). */
export interface SessionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  /** prompt_tokens + completion_tokens: what SESSION_TOKEN_BUDGET counts. */
  tokens_used: number;
  cost_usd: number;
  /** Answered turns counted. */
  turns: number;
}

/** A session record and its recent history, parsed (the storage format is this module's). */
export interface SessionWithHistory {
  session: SessionRecord;
  history: HistoryEntry[];
}

/**
 * A past turn as the next prompt needs it, kept in the session's prompt list beside its history
 * (`finish-answer-7.lua`): the two texts as history has them, whether the assistant could not
 * answer it, and the texts' token counts by the tokenizer that counted them. Small, and counted
 * once when filed: a worker reads the last ten of these on every turn.
 */
export interface PastTurn {
  user: string;
  assistant: string;
  unanswered?: true;
  tokens?: { tokenizer: string; user: number; assistant: number };
}

/** A session record and its last turns, as a worker starts a turn with them (`TurnLog.begin`). */
export interface SessionForTurn {
  session: SessionRecord;
  /** Oldest first. */
  pastTurns: PastTurn[];
}

/** A history entry as a past turn (a session whose turns were filed before the prompt list existed). */
export function pastTurnOf(entry: HistoryEntry): PastTurn {
  return { user: entry.user, assistant: entry.assistant, ...(entry.metadata?.unanswered ? { unanswered: true as const } : {}) };
}

/**
 * Parses what `begin-turn-10.lua` read: the session record and its last turns, from the prompt
 * list (`compact`) or from whole history entries. Null when the record is gone.
 */
export function parseSessionForTurn(rawSession: string | null, rawTurns: readonly string[], compact: boolean): SessionForTurn | null {
  if (rawSession === null) return null;
  const pastTurns = compact ? rawTurns.map((turn) => JSON.parse(turn) as PastTurn) : rawTurns.map((entry) => pastTurnOf(JSON.parse(entry) as HistoryEntry));
  return { session: JSON.parse(rawSession) as SessionRecord, pastTurns };
}

/**
 * Sessions, their history and their queue of unanswered turns, as both gateways and workers
 * read and write them. One class owns the storage format so the two sides cannot drift.
 */
export class SessionStore {
  readonly scripts: SessionScripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
  ) {
    this.scripts = new SessionScripts(redis, keys);
  }

  /** Creates a session; returns false, changing nothing, if one with this id exists. */
  async create(record: SessionRecord): Promise<boolean> {
    const ok = await this.redis.set(this.keys.session(record.session_id, 'session'), JSON.stringify(record), 'EX', this.ttlSeconds, 'NX');
    return ok === 'OK';
  }

  /** What the session has spent so far (zeros for a session with no answered turn). */
  async usage(sessionId: string): Promise<SessionUsage> {
    const raw = await this.redis.hgetall(this.keys.session(sessionId, 'usage'));
    const prompt = Number(raw.prompt_tokens ?? 0);
    const completion = Number(raw.completion_tokens ?? 0);
    return {
      prompt_tokens: prompt,
      completion_tokens: completion,
      tokens_used: prompt + completion,
      cost_usd: Math.round(Number(raw.cost_usd ?? 0) * 1e8) / 1e8,
      turns: Number(raw.turns ?? 0),
    };
  }

  async get(sessionId: string): Promise<SessionRecord | null> {
    const raw = await this.redis.get(this.keys.session(sessionId, 'session'));
    return raw === null ? null : (JSON.parse(raw) as SessionRecord);
  }

  /** The session and its last `turns` history entries (oldest first), in one round trip. */
  async getWithHistory(sessionId: string, turns: number): Promise<SessionWithHistory | null> {
    const multi = this.redis.multi().get(this.keys.session(sessionId, 'session'));
    if (turns > 0) multi.lrange(this.keys.session(sessionId, 'history'), -turns, -1);
    const results = await multi.exec();
    if (!results) throw new Error('session read was aborted');
    const [sessionErr, rawSession] = results[0]!;
    if (sessionErr) throw sessionErr;
    if (rawSession === null) return null;
    let history: HistoryEntry[] = [];
    if (turns > 0) {
      const [historyErr, rawHistory] = results[1]!;
      if (historyErr) throw historyErr;
      history = (rawHistory as string[]).map((entry) => JSON.parse(entry) as HistoryEntry);
    }
    return { session: JSON.parse(rawSession as string) as SessionRecord, history };
  }

  /** Message id of the turn the session answers next, or null when none is waiting. */
  async headTurn(sessionId: string): Promise<string | null> {
    return this.redis.lindex(this.keys.session(sessionId, 'turns'), 0);
  }

  /** Message ids of the session's unanswered turns, oldest first. */
  async unansweredTurns(sessionId: string): Promise<string[]> {
    return this.redis.lrange(this.keys.session(sessionId, 'turns'), 0, -1);
  }

  /** Ends a socket's claim on a session slot. */
  async releaseSocket(sessionId: string, member: string): Promise<void> {
    await this.redis.zrem(this.keys.session(sessionId, 'sockets'), member);
  }

  /** Renews the leases of live sockets, in one pipeline. Only members still present are renewed. */
  async renewSocketLeases(sockets: Iterable<{ sessionId: string; member: string }>, leaseMs: number): Promise<void> {
    const expiry = Date.now() + leaseMs;
    if (isCluster(this.redis)) {
      // The sessions live on different masters and a cluster pipeline must stay on one node:
      // separate commands, which each node connection sends in one write per loop turn.
      const cluster = this.redis;
      await Promise.all([...sockets].map(({ sessionId, member }) => cluster.zadd(this.keys.session(sessionId, 'sockets'), 'XX', expiry, member)));
      return;
    }
    const pipeline = this.redis.pipeline();
    let count = 0;
    for (const { sessionId, member } of sockets) {
      pipeline.zadd(this.keys.session(sessionId, 'sockets'), 'XX', expiry, member);
      count++;
    }
    if (count > 0) await pipeline.exec();
  }
}
