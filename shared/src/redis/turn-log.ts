import type { RedisClient } from './connection.js';
import { FrameKind, NO_SEQ, encodeEnvelope, readEnvelopeHeader } from '../protocol/envelope.js';
import { LuaScript } from './lua-script.js';
import type { RedisKeys } from './redis-keys.js';
import { parseSessionForTurn, type SessionForTurn } from './session-store.js';
import { appendResult, type AppendMode, type AppendResult } from './append-result.js';
import { FrameBatcher } from './frame-batcher.js';
import { TurnFrameWriter, type FrameOutcomeListener } from './turn-frame-writer.js';

const claimTurn = new LuaScript('claim-turn-5.lua');
const beginTurn = new LuaScript('begin-turn-10.lua');
const appendFrame = new LuaScript('append-frame-3.lua');
const appendFrames = new LuaScript('append-frames-n.lua');

/**
 * Turns remembered per session in its recent-turns set (see RedisKeys.recentTurns): enough to
 * cover every turn that can begin and end within one subscriber reconnect.
 */
const RECENT_TURNS_KEPT = 16;

/** Who may write a turn's frames, and from which seq. */
export interface TurnClaim {
  /** The writer's epoch: every append carries it; an older epoch is refused. */
  epoch: number;
  /** Seq of the next frame (> 0 when an earlier attempt already sent frames: send a reset first). */
  nextSeq: number;
  /** open: write the turn; ended: it already ended (a duplicate run); cancelled: cancelled before it started. */
  status: 'open' | 'ended' | 'cancelled';
}

/**
 * What a worker's start of a turn found (see `TurnLog.begin`): another turn is its session's
 * head (nothing was claimed), or the turn is claimed, with the session and its recent history.
 */
export type TurnStart = { head: string } | { head: null; claim: TurnClaim; loaded: SessionForTurn | null };

export type { AppendMode, AppendResult } from './append-result.js';

/** One frame read back from a turn's log. */
export interface LoggedFrame {
  seq: number;
  /** The envelope exactly as it was published. */
  envelope: Buffer;
}

/** What a turn's log holds after a given seq. */
export interface TurnLogRead {
  /** False when the turn is unknown here (never accepted, or its log expired). */
  known: boolean;
  /** The turn has ended (its complete or error frame is in the log). */
  ended: boolean;
  /** Seq of the next frame to be written; the last written is nextSeq - 1. */
  nextSeq: number;
  /** Logged frames after the requested seq, in order. */
  frames: LoggedFrame[];
  /** True when `frames` covers every seq after the requested one with no gap (none trimmed). */
  gapless: boolean;
  /** The answer so far (since the last reset), for a snapshot when the log has a gap. */
  text: string;
  /**
   * The turn's `user_message` frame as an envelope (the question, as accepted), or null when
   * the turn's state does not keep it: sent ahead of the frames to a socket that resumes the
   * turn from its start.
   */
  question: Buffer | null;
}

/** The `user_message` frame kept with a turn (see accept-turn-7.lua), as an envelope. */
function questionEnvelope(messageId: string, json: string | undefined): Buffer | null {
  if (!json) return null;
  return encodeEnvelope(FrameKind.userMessage, json, Date.now(), NO_SEQ, messageId);
}

/** The content of a kept `user_message` frame, or undefined. */
function questionText(json: string | undefined): string | undefined {
  if (!json) return undefined;
  try {
    const content = (JSON.parse(json) as { content?: unknown }).content;
    return typeof content === 'string' ? content : undefined;
  } catch {
    return undefined;
  }
}

export interface TurnLogOptions {
  /** Lifetime of a turn's keys after its last write, seconds: the resume window. */
  ttlSeconds: number;
  /** Frames kept per turn (approximate trim). */
  maxFrames: number;
}

/**
 * A turn's frames in Redis: the writer side (claim, then append-and-publish in one script) used
 * by workers, and the reader side used by gateways to replay what a socket missed. Pub/sub is
 * at-most-once; this log is what makes a turn's delivery recoverable.
 */
export class TurnLog {
  /** Every attempt's frames go through it (see FrameBatcher). */
  private readonly frames: FrameBatcher;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly options: TurnLogOptions,
  ) {
    this.frames = new FrameBatcher(redis, appendFrames, appendFrame);
  }

  /** Loads the scripts into Redis's cache (see LuaScript.load); call once at start. */
  async preload(): Promise<void> {
    await Promise.all([claimTurn, beginTurn, appendFrame, appendFrames].map((script) => script.load(this.redis)));
  }

  /** `minNextSeq`: continue after this many frames at least (a takeover after Redis lost the state). */
  async claim(sessionId: string, messageId: string, minNextSeq = 0): Promise<TurnClaim> {
    const k = this.keys.turnLog(sessionId, messageId);
    const reply = (await claimTurn.run(
      this.redis,
      [k.state, k.log, k.text, this.keys.turnCancel(sessionId, messageId), this.keys.recentTurns(sessionId)],
      [this.options.ttlSeconds, minNextSeq, messageId, Date.now(), RECENT_TURNS_KEPT],
    )) as [number, number, number];
    const status = reply[2] === 1 ? 'ended' : reply[2] === 2 ? 'cancelled' : 'open';
    return { epoch: Number(reply[0]), nextSeq: Number(reply[1]), status };
  }

  /**
   * A worker's start of a turn, in one round trip (`shared/lua/begin-turn-10.lua`): the head check
   * of the session's order, then, if this turn is the head (or in no list at all), the claim of
   * its frames (as `claim`) and the session with its last `historyTurns` turns (its prompt list's
   * `PastTurn`s; from history when that list does not hold them yet). A turn
   * behind another is marked parked in the same step (the caller parks its job), so that whoever
   * finishes the turn ahead knows to wake it (`SessionScripts.finishAnswer`, `finishTurn`), and
   * finishing a turn with none parked behind it asks BullMQ nothing.
   */
  async begin(sessionId: string, messageId: string, historyTurns: number): Promise<TurnStart> {
    const k = this.keys.turnLog(sessionId, messageId);
    const reply = (await beginTurn.run(
      this.redis,
      [
        this.keys.session(sessionId, 'turns'),
        this.keys.session(sessionId, 'session'),
        this.keys.session(sessionId, 'history'),
        k.state,
        k.log,
        k.text,
        this.keys.turnCancel(sessionId, messageId),
        this.keys.recentTurns(sessionId),
        this.keys.session(sessionId, 'parked'),
        this.keys.session(sessionId, 'prompt'),
      ],
      [messageId, historyTurns, this.options.ttlSeconds, Date.now(), RECENT_TURNS_KEPT],
    )) as [0, string] | [1, number, number, number, string | null, string[], number];
    if (reply[0] === 0) return { head: reply[1] };
    const [, epoch, nextSeq, status, rawSession, rawTurns, form] = reply;
    return {
      head: null,
      claim: { epoch: Number(epoch), nextSeq: Number(nextSeq), status: status === 1 ? 'ended' : status === 2 ? 'cancelled' : 'open' },
      loaded: parseSessionForTurn(rawSession, rawTurns, Number(form) === 1),
    };
  }

  /**
   * Appends one frame and publishes it, if `epoch` still owns the turn and `seq` is next. For a
   * single frame (a gateway ending a turn); an attempt streaming a turn uses `writer`.
   */
  async append(sessionId: string, messageId: string, epoch: number, seq: number, envelope: Buffer, mode: AppendMode, text: string): Promise<AppendResult> {
    const k = this.keys.turnLog(sessionId, messageId);
    const reply = await appendFrame.run(
      this.redis,
      [k.state, k.log, k.text],
      [epoch, this.keys.sessionChannel(sessionId), this.options.maxFrames, seq, mode, this.options.ttlSeconds, text, envelope],
    );
    return appendResult(reply);
  }

  /** The writer of one attempt's frames (`epoch` from its claim), telling `onOutcome` of each: see TurnFrameWriter. */
  writer(sessionId: string, messageId: string, epoch: number, onOutcome: FrameOutcomeListener): TurnFrameWriter {
    return new TurnFrameWriter(
      this.frames,
      {
        keys: this.keys.turnLog(sessionId, messageId),
        channel: this.keys.sessionChannel(sessionId),
        messageId,
        epoch,
        maxFrames: this.options.maxFrames,
        ttlSeconds: this.options.ttlSeconds,
      },
      onOutcome,
    );
  }

  /** The turn's progress without its frames: for `GET /chat/session/:id`. */
  async peek(sessionId: string, messageId: string): Promise<{ known: boolean; ended: boolean; nextSeq: number; text: string; question?: string }> {
    const k = this.keys.turnLog(sessionId, messageId);
    const replies = await this.redis.multi().hgetall(k.state).get(k.text).exec();
    if (!replies) throw new Error('turn log read was aborted');
    for (const [err] of replies) if (err) throw err;
    const state = replies[0]![1] as Record<string, string>;
    const question = questionText(state.q);
    return {
      known: state.epoch !== undefined,
      ended: state.done !== undefined,
      nextSeq: Number(state.next ?? 0),
      text: (replies[1]![1] as string | null) ?? '',
      ...(question === undefined ? {} : { question }),
    };
  }

  /**
   * Message ids of the session's turns claimed (an attempt started, or a gateway ended it) at
   * or after `sinceMs` (the claimers' clocks), oldest claim first; at most the last few.
   */
  async recentTurns(sessionId: string, sinceMs: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.recentTurns(sessionId), Math.floor(sinceMs), '+inf');
  }

  /** Everything a socket that last saw `afterSeq` (-1: nothing) needs, read atomically. */
  async read(sessionId: string, messageId: string, afterSeq: number): Promise<TurnLogRead> {
    const k = this.keys.turnLog(sessionId, messageId);
    const replies = await this.redis
      .multi()
      .hgetall(k.state)
      .xrangeBuffer(k.log, `${afterSeq + 1}-0`, '+')
      .get(k.text)
      .lpos(this.keys.session(sessionId, 'turns'), messageId)
      .exec();
    if (!replies) throw new Error('turn log read was aborted');
    for (const [err] of replies) if (err) throw err;
    const state = replies[0]![1] as Record<string, string>;
    const entries = replies[1]![1] as Array<[Buffer, Buffer[]]>;
    const text = (replies[2]![1] as string | null) ?? '';
    // Accepted and still waiting for a worker: known, nothing written yet.
    const queued = replies[3]![1] !== null;
    const frames: LoggedFrame[] = [];
    for (const [id, fields] of entries) {
      const envelope = fields[1];
      if (!envelope || !readEnvelopeHeader(envelope)) continue;
      // Copied: ioredis may return views of a parser buffer that later replies overwrite.
      frames.push({ seq: Number.parseInt(id.toString('latin1'), 10), envelope: Buffer.from(envelope) });
    }
    const nextSeq = Number(state.next ?? 0);
    const wanted = nextSeq - (afterSeq + 1);
    const gapless = wanted <= 0 || (frames.length === wanted && frames[0]!.seq === afterSeq + 1);
    return { known: state.epoch !== undefined || queued, ended: state.done !== undefined, nextSeq, frames, gapless, text, question: questionEnvelope(messageId, state.q) };
  }
}
