import { envelopeLength, type FrameKind } from '../protocol/envelope.js';
import type { AppendMode, AppendResult } from './append-result.js';
import { QueuedFrame, type FrameBatcher, type FrameTurn } from './frame-batcher.js';
import { bulkHeader, bulkString } from './pre-encoded-command.js';

export { appendResult, type AppendMode, type AppendResult } from './append-result.js';

/** The turn's keys and the arguments of the frame scripts that stay the same over a turn. */
export interface TurnFrameTarget {
  keys: { state: string; log: string; text: string };
  channel: string;
  messageId: string;
  epoch: number;
  maxFrames: number;
  ttlSeconds: number;
}

/**
 * The longest a turn's keys go without their lifetime renewed while its frames stream, ms (see
 * `append-frame-3.lua`): at most a quarter of the TTL, so they never come near expiring while the
 * turn is alive; every ending renews them, so after the turn the resume window is whole.
 */
const TTL_RENEWAL_MS = 1000;

const CRLF = '\r\n';

/**
 * Writes the frames of one attempt at a turn through the process's FrameBatcher, which sends
 * them (with other turns' frames of the same event-loop turn, on one Redis) in one call of
 * `append-frames-n.lua`. What stays the same over the turn (its three keys, the epoch, the
 * channel, the trim length) is encoded into bytes once, here; each frame adds its seq, mode,
 * lifetime, text and envelope, written straight into the call's buffer.
 *
 * On a Redis Cluster the same bytes go out, one frame a call: the command carries the frame's
 * keys, so the client routes it by their slot, follows MOVED and ASK with it and queues it through a
 * failover as any other; each node connection sends a loop turn's commands in one write.
 */
export class TurnFrameWriter implements FrameTurn {
  readonly keyBytes: Buffer;
  readonly turnArgBytes: Buffer;
  readonly keyList: readonly string[];
  readonly routing: string[];
  readonly turnArgs: readonly [number, string, number];
  readonly messageId: string;
  private readonly ttlArg: string;
  private readonly ttlRenewalMs: number;
  private lastRenewalAt = -Infinity;
  /** Frames appended whose outcome is not known yet. */
  private inFlight = 0;
  private whenSettled: Array<() => void> = [];

  constructor(
    private readonly batcher: FrameBatcher,
    target: TurnFrameTarget,
    /** Told of each frame's outcome, in the order appended (no promise per frame: see `settled`). */
    private readonly onOutcome: FrameOutcomeListener,
  ) {
    const { keys, channel, epoch, maxFrames, ttlSeconds } = target;
    this.keyList = [keys.state, keys.log, keys.text];
    this.keyBytes = Buffer.from(this.keyList.map(bulkString).join(''), 'utf8');
    this.routing = batcher.routingFor(this.keyList);
    this.turnArgs = [epoch, channel, maxFrames];
    this.turnArgBytes = Buffer.from([String(epoch), channel, String(maxFrames)].map(bulkString).join(''), 'utf8');
    this.messageId = target.messageId;
    this.ttlArg = String(ttlSeconds);
    this.ttlRenewalMs = Math.min(TTL_RENEWAL_MS, ttlSeconds * 250);
  }

  /**
   * Appends one frame (its JSON, sent inside an envelope of `kind`, `publishedAtMs`, `seq`) and
   * publishes it, if this attempt still owns the turn and `seq` is next. Its outcome goes to the
   * writer's listener.
   */
  append(kind: FrameKind, frameJson: string, publishedAtMs: number, seq: number, mode: AppendMode, text: string): void {
    const now = performance.now();
    // The first frame of an attempt (it may create the turn's log), endings and resets renew
    // the keys' lifetimes, and chunks once per renewal period (a new answer text gets its own).
    const renew = mode !== 'chunk' || now - this.lastRenewalAt >= this.ttlRenewalMs;
    if (renew) this.lastRenewalAt = now;
    const ttl = renew ? this.ttlArg : '0';
    const textBytes = Buffer.byteLength(text);
    const frameBytes = Buffer.byteLength(frameJson);
    const envelopeBytes = envelopeLength(this.messageId, frameBytes);
    const middle = `${bulkString(String(seq))}${bulkString(mode)}${bulkString(ttl)}${bulkHeader(textBytes)}`;
    const envelopeHead = `${CRLF}${bulkHeader(envelopeBytes)}`;
    this.inFlight++;
    this.batcher.add(new QueuedFrame(this, kind, frameJson, frameBytes, publishedAtMs, seq, mode, ttl, text, textBytes, envelopeBytes, middle, envelopeHead));
  }

  /** Resolves once every frame appended so far has its outcome (told to the listener first). */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenSettled.push(resolve));
  }

  /** For the batcher: one frame's outcome. */
  settle(result: AppendResult | null, error: unknown): void {
    this.inFlight--;
    try {
      this.onOutcome(result, error);
    } finally {
      if (this.inFlight === 0 && this.whenSettled.length > 0) {
        const waiting = this.whenSettled;
        this.whenSettled = [];
        for (const resolve of waiting) resolve();
      }
    }
  }
}

/** A frame's outcome: the script's verdict (`result`), or null and the error that failed its call. */
export type FrameOutcomeListener = (result: AppendResult | null, error: unknown) => void;
