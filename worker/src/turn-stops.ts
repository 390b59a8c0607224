import type { Logger, RedisClient, RedisKeys } from '@chat/shared';

/** Why a turn was stopped from outside its own work: the reason its AbortController carries. */
export class TurnStopped extends Error {
  constructor(readonly code: 'cancelled' | 'timeout') {
    super(code === 'cancelled' ? 'the turn was cancelled' : 'the turn ran past its deadline');
    this.name = 'TurnStopped';
  }
}

export interface TurnStopsOptions {
  /**
   * How often the cancel markers of the turns running here are read, ms (0 = never; only after
   * a reconnect). See `start` for why a worker reads them at all.
   */
  recheckEveryMs: number;
}

/** Every few seconds: a lost cancel costs at most that much generation, for one small pipeline. */
export const DEFAULT_CANCEL_RECHECK_MS = 2000;

interface RunningTurn {
  sessionId: string;
  messageId: string;
  controller: AbortController;
}

/**
 * The turns this worker is running, by `<sessionId>/<messageId>`, and the control-channel
 * subscription that stops them: a cancel sent to any gateway reaches every worker here, and the
 * one running the turn aborts its LLM request, so the generation (and its cost) stops.
 *
 * Pub/sub is at-most-once, so the cancel marker (`RedisKeys.turnCancel`, set before the publish)
 * is the cancel's durable form: read at claim time (claim-turn), after every resubscribe, and
 * every `recheckEveryMs`.
 */
export class TurnStops {
  private readonly running = new Map<string, RunningTurn>();
  private timer: NodeJS.Timeout | null = null;
  private periodicSweep: Promise<void> | null = null;
  private closed = false;

  constructor(
    /** Subscriber-mode connection: only (un)subscribe commands may run on it. */
    private readonly subscriber: RedisClient,
    /** A command connection, for reading cancel markers. */
    private readonly reader: RedisClient,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
    private readonly options: TurnStopsOptions = { recheckEveryMs: DEFAULT_CANCEL_RECHECK_MS },
  ) {}

  /**
   * Subscribes to the control channel. A cancel published while the subscriber is reconnecting
   * reaches nobody, so on every 'ready' the markers of the running turns are read once the
   * subscription is back (`resync`). The periodic re-check covers what no reconnect reveals:
   * a cancel published on a node this subscriber does not hear (a failover it never noticed),
   * and one arriving between a turn's claim and its tracking.
   */
  async start(): Promise<void> {
    this.subscriber.on('message', this.onMessage);
    this.subscriber.on('ready', this.onReady);
    await this.subscriber.subscribe(this.keys.cancelChannel);
  }

  /**
   * Runs the periodic re-check while turns run here: a worker with nothing running does not wake
   * for it (each wake-up costs ~0.1 ms on a virtual machine; docs/performance.md, round 11).
   */
  private recheckWhileRunning(): void {
    if (this.timer !== null || this.closed || this.options.recheckEveryMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.running.size === 0) {
        if (this.timer) clearInterval(this.timer);
        this.timer = null;
        return;
      }
      this.periodicSweep ??= this.sweepLogged('periodic re-check').finally(() => {
        this.periodicSweep = null;
      });
    }, this.options.recheckEveryMs);
    this.timer.unref();
  }

  /**
   * Tracks a running turn: it is aborted with `TurnStopped('cancelled')` on a cancel, and with
   * `TurnStopped('timeout')` at `deadlineAt` (epoch ms). Returns the function that stops tracking.
   */
  track(sessionId: string, messageId: string, controller: AbortController, deadlineAt: number): () => void {
    const key = turnKey(sessionId, messageId);
    const turn: RunningTurn = { sessionId, messageId, controller };
    this.running.set(key, turn);
    this.recheckWhileRunning();
    const timer = setTimeout(() => controller.abort(new TurnStopped('timeout')), Math.max(0, deadlineAt - Date.now()));
    return () => {
      clearTimeout(timer);
      if (this.running.get(key) === turn) this.running.delete(key);
    };
  }

  /**
   * Reads the cancel marker of every turn running here, in one round trip (one key per command:
   * the markers of different sessions live in different cluster slots), and stops the
   * marked ones as a cancel message would. Returns how many it stopped.
   */
  async sweep(): Promise<number> {
    const turns = [...this.running.values()].filter((turn) => !turn.controller.signal.aborted);
    if (turns.length === 0) return 0;
    // One command per marker, sent together: ioredis writes them in one go, and on a cluster
    // routes each to the master of its session's slot (a pipeline must stay on one node).
    const marks = await Promise.all(turns.map((turn) => this.reader.exists(this.keys.turnCancel(turn.sessionId, turn.messageId))));
    let stopped = 0;
    marks.forEach((marked, i) => {
      if (marked === 1 && this.cancel(turns[i]!, 'cancel marker found')) stopped++;
    });
    return stopped;
  }

  async close(): Promise<void> {
    // Turns still running finish (or lapse to another worker); only the listening stops.
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.subscriber.off('message', this.onMessage);
    this.subscriber.off('ready', this.onReady);
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.keys.cancelChannel) return;
    const turn = this.running.get(message);
    if (turn) this.cancel(turn, 'cancel message');
  };

  private readonly onReady = (): void => {
    void this.resync();
  };

  /**
   * After a (re)connect: ioredis has resent the subscription; subscribing again (a no-op for
   * Redis) is how to know it is in effect. A cancel published from then on arrives as a message;
   * one published before has its marker set already, so reading the markers now misses none.
   */
  private async resync(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.keys.cancelChannel);
    } catch (err) {
      // The connection dropped again: its next 'ready' resyncs.
      this.logger.debug({ err: String(err) }, 'control channel resubscribe failed');
      return;
    }
    if (this.closed) return;
    await this.sweepLogged('control channel resubscribed');
  }

  private async sweepLogged(why: string): Promise<void> {
    try {
      const stopped = await this.sweep();
      if (stopped > 0) this.logger.warn({ stopped, why }, 'cancels missed on the control channel: turns stopped from their markers');
    } catch (err) {
      // Redis away: the periodic re-check (or the next resubscribe) reads them again.
      this.logger.warn({ err: String(err), why }, 'could not read cancel markers');
    }
  }

  /** Stops the turn as cancelled; false if it was stopped already. */
  private cancel(turn: RunningTurn, how: string): boolean {
    if (turn.controller.signal.aborted) return false;
    this.logger.info({ turn: turnKey(turn.sessionId, turn.messageId), how }, 'turn cancelled: aborting its generation');
    turn.controller.abort(new TurnStopped('cancelled'));
    return true;
  }
}

function turnKey(sessionId: string, messageId: string): string {
  return `${sessionId}/${messageId}`;
}
