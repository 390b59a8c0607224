import type { RedisClient } from './connection.js';
import { FrameKind, envelopeLength, writeEnvelope } from '../protocol/envelope.js';
import type { LuaScript } from './lua-script.js';
import { PreEncodedCommand, bulkHeader, bulkString } from './pre-encoded-command.js';

/** How one frame is applied to the turn's answer text. */
export type AppendMode = 'chunk' | 'reset' | 'end';

/** written; superseded: a newer attempt owns the turn; ended: it already ended; out_of_order; missing: its state is gone. */
export type AppendResult = 'written' | 'superseded' | 'ended' | 'out_of_order' | 'missing';

const APPEND_RESULTS: Record<string, AppendResult> = { '1': 'written', '-1': 'superseded', '-2': 'ended', '-3': 'out_of_order', '-4': 'missing' };

/** The script's reply as an AppendResult. */
export function appendResult(reply: unknown): AppendResult {
  return APPEND_RESULTS[String(reply)] ?? 'missing';
}

/** The turn's keys and the arguments of `append-frame-3.lua` that stay the same over a turn. */
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
 * Writes the frames of one attempt at a turn (`append-frame-3.lua`, one call per frame), with
 * the call encoded here: the arguments that do not change over the turn (the script's SHA, the
 * three keys, the epoch, the channel, the trim length) are encoded into bytes once, and each
 * frame costs one buffer holding the whole command, the envelope written straight into it.
 *
 * Appends are issued in call order on one connection, so Redis runs them in that order; the
 * connection shares one socket write among the commands of a loop turn (`createRedisConnection`).
 *
 * On a Redis Cluster the same bytes go out: the command carries its keys (`routing`), so the
 * client routes it by their slot, follows MOVED and ASK with it and queues it through a failover
 * as any other; each node connection sends a loop turn's commands in one write (`coalesceWrites`
 * in connection.ts). (Until the cluster clients' auto-pipelining was turned off, which rebuilt
 * each command in a pipeline of its own, the cluster had to take ioredis's own encoding.)
 */
export class TurnFrameWriter {
  /** `*14`, EVALSHA, its SHA, 3, the keys, epoch, channel, trim: the bytes every call starts with. */
  private readonly head: Buffer;
  /** EVALSHA's leading arguments up to its keys (a client finds the keys' slot in them). */
  private readonly routing: string[];
  private readonly keyList: string[];
  private readonly ttlArg: string;
  private readonly ttlRenewalMs: number;
  private lastRenewalAt = -Infinity;

  constructor(
    private readonly redis: RedisClient,
    private readonly script: LuaScript,
    private readonly target: TurnFrameTarget,
  ) {
    const { keys, channel, epoch, maxFrames, ttlSeconds } = target;
    this.routing = [script.sha, '3', keys.state, keys.log, keys.text];
    this.keyList = [keys.state, keys.log, keys.text];
    const leading = ['EVALSHA', script.sha, '3', keys.state, keys.log, keys.text, String(epoch), channel, String(maxFrames)];
    // 14 arguments: EVALSHA, sha, numkeys, 3 keys, 8 script arguments.
    this.head = Buffer.from(`*14${CRLF}${leading.map(bulkString).join('')}`, 'utf8');
    this.ttlArg = String(ttlSeconds);
    this.ttlRenewalMs = Math.min(TTL_RENEWAL_MS, ttlSeconds * 250);
  }

  /**
   * Appends one frame (its JSON, sent inside an envelope of `kind`, `publishedAtMs`, `seq`) and
   * publishes it, if this attempt still owns the turn and `seq` is next.
   */
  append(kind: FrameKind, frameJson: string, publishedAtMs: number, seq: number, mode: AppendMode, text: string): Promise<AppendResult> {
    const now = performance.now();
    // The first frame of an attempt (it may create the turn's log), endings and resets renew
    // the keys' lifetimes, and chunks once per renewal period (a new answer text gets its own).
    const renew = mode !== 'chunk' || now - this.lastRenewalAt >= this.ttlRenewalMs;
    if (renew) this.lastRenewalAt = now;
    const seqArg = String(seq);
    const ttl = renew ? this.ttlArg : '0';
    const textBytes = Buffer.byteLength(text);
    const frameBytes = Buffer.byteLength(frameJson);
    const envelopeBytes = envelopeLength(this.target.messageId, frameBytes);
    const middle = `${bulkString(seqArg)}${bulkString(mode)}${bulkString(ttl)}${bulkHeader(textBytes)}`;
    const envelopeHead = `${CRLF}${bulkHeader(envelopeBytes)}`;
    const wire = Buffer.allocUnsafe(this.head.length + middle.length + textBytes + envelopeHead.length + envelopeBytes + 2);
    let at = this.head.copy(wire, 0);
    at += wire.write(middle, at, 'latin1');
    if (textBytes > 0) at += wire.write(text, at, textBytes, 'utf8');
    at += wire.write(envelopeHead, at, 'latin1');
    writeEnvelope(wire, at, kind, frameJson, frameBytes, publishedAtMs, seq, this.target.messageId);
    at += envelopeBytes;
    wire[at] = 13;
    wire[at + 1] = 10;
    const command = new PreEncodedCommand('evalsha', this.routing, wire);
    void this.redis.sendCommand(command);
    return command.promise.then(appendResult, (err: unknown) => {
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
      // The server lost its script cache (a restart, a failover to a replica that never loaded
      // it): this call again, with the script's source.
      const envelope = wire.subarray(at - envelopeBytes, at);
      return this.script.run(this.redis, this.keyList, [this.target.epoch, this.target.channel, this.target.maxFrames, seqArg, mode, ttl, text, envelope]).then(appendResult);
    });
  }
}
