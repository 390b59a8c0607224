import { callEach } from '../call-each.js';
import { beforeLoopTurnWrite, isCluster, type RedisClient } from './connection.js';
import type { FrameKind } from '../protocol/envelope.js';
import { writeEnvelope } from '../protocol/envelope.js';
import type { LuaScript } from './lua-script.js';
import { PreEncodedCommand, bulkString } from './pre-encoded-command.js';
import { appendResult, type AppendMode, type AppendResult } from './append-result.js';

/**
 * Frames per script call, at most. A call runs in Redis as one step (~5–8 µs a frame), so this
 * bounds how long one batch holds the server: about a millisecond.
 */
export const MAX_FRAMES_PER_CALL = 128;

/** What a frame's writer keeps constant over its attempt, encoded once (see TurnFrameWriter). */
export interface FrameTurn {
  /** The turn's three keys (state, log, text) as RESP bulk strings. */
  readonly keyBytes: Buffer;
  /** The script arguments constant over the attempt (epoch, channel, trim length) as RESP bulk strings. */
  readonly turnArgBytes: Buffer;
  /** The three keys, for a call ioredis encodes (the script-cache fallback). */
  readonly keyList: readonly string[];
  /** A call's routing arguments when this turn's frame leads it (`FrameBatcher.routingFor`), made once. */
  readonly routing: string[];
  /** epoch, channel, trim length, as the script-cache fallback passes them. */
  readonly turnArgs: readonly [number, string, number];
  readonly messageId: string;
  /** Told of the frame's outcome: the script's verdict, or the error that failed its call. */
  settle(result: AppendResult | null, error: unknown): void;
}

/** One frame waiting for its batch's call. */
export class QueuedFrame {
  constructor(
    readonly turn: FrameTurn,
    readonly kind: FrameKind,
    readonly frameJson: string,
    readonly frameBytes: number,
    readonly publishedAtMs: number,
    readonly seq: number,
    readonly mode: AppendMode,
    readonly ttl: string,
    readonly text: string,
    readonly textBytes: number,
    readonly envelopeBytes: number,
    /** seq, mode and TTL as RESP bulk strings, then the text's bulk header: ASCII. */
    readonly middle: string,
    /** CRLF after the text, then the envelope's bulk header: ASCII. */
    readonly envelopeHead: string,
  ) {}

  resolve(result: AppendResult): void {
    this.turn.settle(result, null);
  }

  reject(err: unknown): void {
    this.turn.settle(null, err);
  }

  /** Its bytes in the arguments part of a call. */
  get argumentBytes(): number {
    return this.turn.turnArgBytes.length + this.middle.length + this.textBytes + this.envelopeHead.length + this.envelopeBytes + 2;
  }
}

const CRLF = '\r\n';

/**
 * Sends the frames of many turns in as few script calls as it may (`append-frames-n.lua`): on
 * one Redis, every frame written during an event-loop turn goes in one call (up to
 * MAX_FRAMES_PER_CALL), issued as the loop turn ends, just before the connection's write of that
 * loop turn (`beforeLoopTurnWrite`): the frames leave when they did one call each, but as one
 * command object, one script run and one reply. A streaming worker writes a frame per coalesced
 * chunk of each of its streams, and at load a loop turn holds dozens of them.
 *
 * On a Redis Cluster a call may only touch one hash slot, and the sessions of one worker are
 * spread over 16 384 of them: each frame is its own call, sent at once, as before.
 *
 * Frames keep their order: one turn's frames go in the order written, in one call or in calls
 * issued in that order on one connection (Redis runs them in that order).
 */
export class FrameBatcher {
  private queued: QueuedFrame[] = [];
  private readonly cluster: boolean;
  /**
   * The script every call of this client runs: on one Redis the batch script, single frames
   * included (one script, so one script-cache state: a call of one script can never overtake a
   * call of the other after the cache was lost); on a cluster the single-frame script, whose
   * arguments are laid out as a batch of one (three keys, then eight arguments).
   */
  private readonly script: LuaScript;
  /** The start of a call of one frame (`*14`, EVALSHA, the SHA, 3): the most common call. */
  private readonly oneFrameHead: Buffer;

  constructor(
    private readonly redis: RedisClient,
    /** `append-frames-n.lua`. */
    batchScript: LuaScript,
    /** `append-frame-3.lua`. */
    singleScript: LuaScript,
  ) {
    this.cluster = isCluster(redis);
    this.script = this.cluster ? singleScript : batchScript;
    this.oneFrameHead = Buffer.from(callHead(this.script, 1), 'latin1');
  }

  /**
   * EVALSHA's leading arguments up to a turn's keys, for a call its frame leads: a cluster client
   * routes the call by them, and on a cluster every call is one frame, so they are exact there.
   * On one Redis nothing is routed (the bytes on the wire are the encoded call, any length).
   */
  routingFor(keyList: readonly string[]): string[] {
    return [this.script.sha, '3', ...keyList];
  }

  add(frame: QueuedFrame): void {
    if (this.cluster) {
      this.send([frame]);
      return;
    }
    this.queued.push(frame);
    if (this.queued.length > 1) return;
    if (!beforeLoopTurnWrite(this.redis, this.flush)) setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    const frames = this.queued;
    this.queued = [];
    for (let from = 0; from < frames.length; from += MAX_FRAMES_PER_CALL) {
      this.send(from === 0 && frames.length <= MAX_FRAMES_PER_CALL ? frames : frames.slice(from, from + MAX_FRAMES_PER_CALL));
    }
  };

  private send(frames: QueuedFrame[]): void {
    let wire: Buffer;
    let envelopeAt: number[];
    try {
      ({ wire, envelopeAt } = this.encode(frames));
    } catch (err) {
      rejectAll(frames, err);
      return;
    }
    // ioredis copies the arguments it is given (`args.flat()`): one array per turn serves every call.
    const command = new PreEncodedCommand('evalsha', frames[0]!.turn.routing, wire);
    void this.redis.sendCommand(command);
    command.promise.then(
      (reply) => this.settle(frames, reply),
      (err: unknown) => {
        if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) {
          rejectAll(frames, err);
          return;
        }
        // The server lost its script cache (a restart, a failover to a replica that never
        // loaded it): the same call again at once, with the script's source (EVAL, no second
        // EVALSHA first). Calls sent before this reply met the same empty cache and come back
        // the same way, in order; the one window left is a call sent between this EVAL and the
        // NOSCRIPT reply of an earlier one (Redis runs it first). Its turn's frame is then
        // refused as out of order and the attempt retried, with a reset frame: nothing is lost.
        this.sendWithSource(frames, frames.map((frame, i) => wire.subarray(envelopeAt[i], envelopeAt[i]! + frame.envelopeBytes)));
      },
    );
  }

  private sendWithSource(frames: QueuedFrame[], envelopes: Buffer[]): void {
    const keys: string[] = [];
    const args: Array<string | number | Buffer> = [];
    frames.forEach((frame, i) => {
      keys.push(...frame.turn.keyList);
      args.push(...frame.turn.turnArgs, String(frame.seq), frame.mode, frame.ttl, frame.text, envelopes[i]!);
    });
    this.script.evalWithSource(this.redis, keys, args).then(
      (reply) => this.settle(frames, reply),
      (err: unknown) => rejectAll(frames, err),
    );
  }

  /** Each frame's outcome from the reply: the script's code, or the error of its commands. */
  private settle(frames: QueuedFrame[], reply: unknown): void {
    // The single-frame script answers with the code itself.
    const codes: unknown[] = this.cluster ? [reply] : Array.isArray(reply) ? reply : [];
    // Every frame is told, whatever one of their writers' listeners throws: the frames belong to
    // many turns, and one left unsettled would never resolve its writer's `settled()`.
    callEach(frames, (frame, i) => {
      const code = codes[i];
      if (code instanceof Error) frame.reject(code);
      else frame.resolve(appendResult(code));
    });
  }

  /**
   * The whole EVALSHA in one buffer: the keys of every frame, then the arguments of every frame
   * (the turn's constant part, then the frame's own), each envelope written straight into it.
   * `envelopeAt`: where each frame's envelope starts (the script-cache fallback sends them again).
   */
  private encode(frames: QueuedFrame[]): { wire: Buffer; envelopeAt: number[] } {
    const head = frames.length === 1 ? this.oneFrameHead : callHead(this.script, frames.length);
    let size = head.length;
    for (const frame of frames) size += frame.turn.keyBytes.length + frame.argumentBytes;
    const wire = Buffer.allocUnsafe(size);
    let at = typeof head === 'string' ? wire.write(head, 0, 'latin1') : head.copy(wire, 0);
    for (const frame of frames) at += frame.turn.keyBytes.copy(wire, at);
    const envelopeAt: number[] = [];
    for (const frame of frames) {
      at += frame.turn.turnArgBytes.copy(wire, at);
      at += wire.write(frame.middle, at, 'latin1');
      if (frame.textBytes > 0) at += wire.write(frame.text, at, frame.textBytes, 'utf8');
      at += wire.write(frame.envelopeHead, at, 'latin1');
      envelopeAt.push(at);
      writeEnvelope(wire, at, frame.kind, frame.frameJson, frame.frameBytes, frame.publishedAtMs, frame.seq, frame.turn.messageId);
      at += frame.envelopeBytes;
      wire[at] = 13;
      wire[at + 1] = 10;
      at += 2;
    }
    return { wire, envelopeAt };
  }
}

/** A call's bytes up to its keys: the argument count, EVALSHA, the script's SHA, the number of keys (ASCII). */
function callHead(script: LuaScript, frames: number): string {
  return `*${3 + frames * 11}${CRLF}${bulkString('EVALSHA')}${bulkString(script.sha)}${bulkString(String(frames * 3))}`;
}

/** Every frame of a failed call gets its error (each told, see `settle`). */
function rejectAll(frames: QueuedFrame[], err: unknown): void {
  callEach(frames, (frame) => frame.reject(err));
}
