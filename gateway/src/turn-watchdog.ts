import {
  FrameKind,
  encodeEnvelope,
  errorFrame,
  type GatewayMetrics,
  type Logger,
  type SessionStore,
  type TurnJobData,
  type TurnCustody,
  type TurnLog,
  type TurnQueues,
} from '@chat/shared';

export interface TurnWatchdogOptions {
  /** A turn not ended this long after it was accepted is ended here with `timeout`, ms. */
  deadlineMs: number;
  /** How often each watched turn is looked at, ms. */
  checkEveryMs: number;
  /**
   * How long this gateway's custody lease lasts, ms; renewed five times per lease. A gateway
   * silent this long is taken for dead and its turns are adopted by the others.
   */
  custodyLeaseMs: number;
}

interface WatchedTurn {
  data: TurnJobData;
  nextCheckAt: number;
  /** Recorded in the fleet-wide custody record (TurnCustody) as watched here. */
  held: boolean;
  /** When it was first seen off its session's unanswered list with no ending (see checkTurn). */
  strayedAt?: number | undefined;
}

/**
 * Makes sure no turn this gateway accepted is left hanging. Per watched turn, every few
 * seconds: ended → forgotten; its job gone from the queue (lost in a Redis failover) → enqueued
 * again under the same job id; past the deadline (plus a grace that lets the worker's own
 * deadline speak first) → the gateway takes the turn over (a claim: any worker still writing is
 * refused from then on), ends it with one `timeout` error and hands the session to its next turn.
 *
 * The watch list is also recorded in Redis (TurnCustody): when a gateway dies, or stops and
 * hands its turns over, another gateway adopts its list within one lease and watches those
 * turns to their end. Gauged as `chat_gateway_watched_turns`; adoptions are counted.
 */
export class TurnWatchdog {
  private readonly watched = new Map<string, WatchedTurn>();
  /** Accepted turns waiting for the next batched custody write (see watch). */
  private readonly toHold: WatchedTurn[] = [];
  /** Ended turns whose removal from the custody record failed (Redis away): retried. */
  private readonly unreleased = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private custodyTimer: NodeJS.Timeout | null = null;
  private checking = false;
  private renewing = false;
  private resigned = false;
  private readonly graceMs: number;

  constructor(
    private readonly queues: TurnQueues,
    private readonly custody: TurnCustody,
    private readonly store: SessionStore,
    private readonly turnLog: TurnLog,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly options: TurnWatchdogOptions,
    /** What this gateway relayed of the turn (SessionRelay remembers): its ending, its last seq. */
    private readonly relayed: { endedHere(messageId: string): boolean; lastSeq(sessionId: string, messageId: string): number | null } = {
      endedHere: () => false,
      lastSeq: () => null,
    },
  ) {
    this.graceMs = Math.min(5000, options.deadlineMs / 2);
    metrics.trackWatchedTurns(() => this.watched.size);
  }

  /** Starts checking turns and keeping custody; resolves once this gateway is on the roster. */
  async start(): Promise<void> {
    // Its own timer: a long pass over thousands of turns must not let the lease lapse.
    this.custodyTimer = setInterval(() => void this.keepCustody(), Math.max(50, Math.floor(this.options.custodyLeaseMs / 5)));
    this.custodyTimer.unref();
    await this.keepCustody();
  }

  /**
   * Stops watching every turn of an erased session and drops them from this gateway's custody
   * record: a watched turn whose state is gone would otherwise be ended here, writing its log
   * again after the erasure. Returns how many turns were forgotten.
   */
  async forgetSession(sessionId: string): Promise<number> {
    const forgotten: string[] = [];
    for (const [messageId, turn] of this.watched) {
      if (turn.data.session_id !== sessionId) continue;
      this.watched.delete(messageId);
      forgotten.push(messageId);
    }
    await this.custody.release(forgotten);
    return forgotten.length;
  }

  watch(data: TurnJobData): void {
    if (this.resigned) {
      // Accepted while this gateway stops (a request already in flight): the others watch it.
      this.custody.passOn([data]).catch((err: unknown) => {
        this.logger.warn({ err: String(err), message_id: data.message_id }, 'a turn accepted while stopping could not be handed over');
      });
      return;
    }
    const turn: WatchedTurn = { data, nextCheckAt: Date.now() + this.options.checkEveryMs, held: false };
    this.watched.set(data.message_id, turn);
    this.checkWhileWatching();
    // Recorded in batches, one write for the turns accepted in one tick. On the next tick, not
    // the next event-loop turn: the intake calls this just before it enqueues the job, whose
    // write takes several promise hops, so the record is sent no later than the job. Sent
    // after it (the job's reply first read, then one more loop turn, as this once was), a
    // gateway killed in between on a busy box left a queued turn no other gateway could adopt.
    this.toHold.push(turn);
    if (this.toHold.length === 1) process.nextTick(this.holdAccepted);
  }

  /** A turn watch() was told of and then not enqueued after all (the queue refused it). */
  unwatch(messageId: string): void {
    const turn = this.watched.get(messageId);
    if (!turn) return;
    this.watched.delete(messageId);
    const pending = this.toHold.indexOf(turn);
    if (pending >= 0) this.toHold.splice(pending, 1);
    // Recorded, or about to be: removed from the record too (retried with the next renewal).
    this.custody.release([messageId]).catch(() => this.unreleased.add(messageId));
  }

  /** Records the turns accepted since the last batch in the custody record. */
  private readonly holdAccepted = (): void => {
    const batch = this.toHold.splice(0);
    if (batch.length === 0) return;
    if (this.resigned) {
      // Stopped before they were recorded: the other gateways watch them.
      this.custody.passOn(batch.map((turn) => turn.data)).catch((err: unknown) => {
        this.logger.warn({ err: String(err), turns: batch.length }, 'turns accepted while stopping could not be handed over');
      });
      return;
    }
    this.custody.hold(batch.map((turn) => turn.data)).then(
      () => {
        for (const turn of batch) turn.held = true;
      },
      // Not recorded yet: the next renewal records them.
      () => {},
    );
  };

  /**
   * A clean stop: gives the custody lease up, so the other gateways adopt this one's turns at
   * their next renewal instead of after a lease; then stops as close() does.
   */
  async handOver(): Promise<void> {
    this.resigned = true;
    this.close();
    await this.custody.resign();
  }

  close(): void {
    this.resigned = true;
    if (this.timer) clearInterval(this.timer);
    if (this.custodyTimer) clearInterval(this.custodyTimer);
    this.timer = null;
    this.custodyTimer = null;
    this.watched.clear();
  }

  /** Renews the lease, records turns not yet recorded, and adopts the turns of lapsed gateways. */
  private async keepCustody(): Promise<void> {
    if (this.renewing || this.resigned) return;
    this.renewing = true;
    try {
      const { rejoined, lapsed } = await this.custody.renew(this.options.custodyLeaseMs);
      if (this.unreleased.size > 0) {
        const retried = [...this.unreleased];
        await this.custody.release(retried);
        for (const id of retried) this.unreleased.delete(id);
      }
      const unrecorded = [...this.watched.values()].filter((turn) => rejoined || !turn.held);
      if (unrecorded.length > 0) {
        await this.custody.hold(unrecorded.map((turn) => turn.data));
        for (const turn of unrecorded) turn.held = true;
      }
      for (const gatewayId of lapsed) {
        const adopted = await this.custody.adopt(gatewayId);
        if (this.resigned) {
          // Stopped meanwhile: pass them on rather than drop them.
          await this.custody.passOn(adopted);
          continue;
        }
        for (const data of adopted) {
          if (!this.watched.has(data.message_id)) this.watched.set(data.message_id, { data, nextCheckAt: Date.now(), held: true });
        }
        this.checkWhileWatching();
        if (adopted.length > 0) {
          this.metrics.turnsAdopted(adopted.length);
          this.logger.warn({ from_gateway: gatewayId, turns: adopted.length }, 'adopted the turns of a gateway whose lease lapsed');
        }
      }
    } catch (err) {
      // Redis away: the lease is renewed at the next attempt (a lapse only means shared watching).
      this.logger.debug({ err: String(err) }, 'turn custody renewal failed');
    } finally {
      this.renewing = false;
    }
  }

  /**
   * Runs the check timer while there is a turn to watch. An idle gateway then wakes only for
   * its custody lease: every timer wake-up costs a process ~0.1 ms on a virtual machine
   * (docs/performance.md, round 11), and a check of nothing is all wake-up.
   */
  private checkWhileWatching(): void {
    if (this.timer !== null || this.resigned || this.watched.size === 0) return;
    this.timer = setInterval(() => void this.check(), Math.min(1000, this.options.checkEveryMs));
    this.timer.unref();
  }

  private async check(): Promise<void> {
    if (this.watched.size === 0) {
      // Nothing left to watch (the last turn ended at the previous check): the timer stops until
      // the next turn is accepted or adopted.
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    if (this.checking) return;
    this.checking = true;
    const ended: string[] = [];
    try {
      const now = Date.now();
      for (const [messageId, turn] of this.watched) {
        if (turn.nextCheckAt > now) continue;
        turn.nextCheckAt = now + this.options.checkEveryMs;
        try {
          if (await this.checkTurn(turn, now)) {
            this.watched.delete(messageId);
            ended.push(messageId);
          }
        } catch (err) {
          // Redis away: try again at the next check.
          this.logger.debug({ err: String(err), message_id: messageId }, 'turn check failed');
        }
      }
      // On failure, retried at the next renewal (left behind, a record would outlive its turn).
      await this.custody.release(ended).catch(() => {
        for (const id of ended) this.unreleased.add(id);
      });
    } finally {
      this.checking = false;
    }
  }

  /** Returns true when the turn needs no more watching. */
  private async checkTurn(turn: WatchedTurn, now: number): Promise<boolean> {
    const { data } = turn;
    const { session_id: sessionId, message_id: messageId } = data;
    // Most turns end on a socket of this gateway, and it relayed their ending: no Redis read for
    // those (a peek per turn was ~7 % of a gateway's CPU at the turn-rate bench).
    if (this.relayed.endedHere(messageId)) return true;
    const progress = await this.turnLog.peek(sessionId, messageId);
    if (progress.ended) return true;
    if (!(await this.store.unansweredTurns(sessionId)).includes(messageId)) {
      // No longer among the session's unanswered turns, yet no ending.
      if (!progress.known) {
        // Its state is gone. Redis lost everything (restarted empty) when the session went with
        // it: the sockets still waiting are told why the turn will not come. Otherwise the state
        // expired after the turn ended long ago (an adopted record, a late check): an ending now
        // would be a second one, under a new seq.
        if ((await this.store.get(sessionId)) === null) await this.endWith(sessionId, messageId, 'session_not_found');
        return true;
      }
      // Begun, not ended, off the list. A worker finishing it removes it from the list just
      // before or after writing its ending; seen twice, checks apart, it strayed: its last
      // attempt could not write its ending (Redis away). Nobody else will end it.
      if (turn.strayedAt === undefined) {
        turn.strayedAt = now;
        return false;
      }
      if ((await this.queues.forSession(sessionId).getJobState(messageId)) === 'completed') return true;
      await this.endWith(sessionId, messageId, 'llm_stream_interrupted');
      return true;
    }
    turn.strayedAt = undefined;
    if (now > data.accepted_at + this.options.deadlineMs + this.graceMs) {
      await this.endWith(sessionId, messageId, 'timeout');
      return true;
    }
    const state = await this.queues.forSession(sessionId).getJobState(messageId);
    if (state === 'unknown') {
      // Lost (a failover dropped it). The same job id keeps it idempotent with any copy left.
      await this.queues.forSession(sessionId).add('turn', data, { jobId: messageId });
      this.metrics.turnRequeued();
      this.logger.warn({ session_id: sessionId, message_id: messageId }, 'turn job was gone from the queue: enqueued again');
    } else if (state === 'failed' || state === 'completed') {
      // Its job is over and will write nothing more (failed for good without an ending: BullMQ
      // fails a job that stalled too often without running any of its code).
      await this.endWith(sessionId, messageId, 'llm_stream_interrupted');
      return true;
    }
    return false;
  }

  /**
   * A cancel for a turn no worker has taken yet: its job is removed from the queue (refused
   * when a worker holds it: that worker then sees the cancel) and the turn ended here with
   * `cancelled` at once, rather than when a worker reaches it in a backed-up queue — or never,
   * with no worker running. Returns whether it was ended here.
   */
  async cancelQueued(sessionId: string, messageId: string): Promise<boolean> {
    // Job ids are message ids, which clients choose: only a job of this session may be touched.
    const job = await this.queues.forSession(sessionId).getJob(messageId);
    if (!job || job.data.session_id !== sessionId) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    if ((await this.queues.forSession(sessionId).remove(messageId)) !== 1) return false;
    await this.endWith(sessionId, messageId, 'cancelled');
    return true;
  }

  /** Takes the turn over (a claim: any worker still writing is refused) and ends it with `code`. */
  private async endWith(sessionId: string, messageId: string, code: 'timeout' | 'session_not_found' | 'llm_stream_interrupted' | 'cancelled'): Promise<void> {
    // Continue the sequence the sockets here saw, even if Redis lost the turn's state.
    const claim = await this.turnLog.claim(sessionId, messageId, (this.relayed.lastSeq(sessionId, messageId) ?? -1) + 1);
    if (claim.status !== 'ended') {
      const frame = errorFrame(code, sessionId, { messageId, seq: claim.nextSeq });
      const envelope = encodeEnvelope(FrameKind.error, JSON.stringify(frame), Date.now(), claim.nextSeq, messageId);
      const written = await this.turnLog.append(sessionId, messageId, claim.epoch, claim.nextSeq, envelope, 'end', '');
      if (written === 'written') {
        if (code === 'timeout') this.metrics.turnTimedOut();
        this.logger.warn({ session_id: sessionId, message_id: messageId, code }, 'turn had no ending and nobody left to give it one: ended here');
      }
    }
    // A failed job stays: it is a dead letter an operator may inspect and replay.
    if ((await this.queues.forSession(sessionId).getJobState(messageId)) !== 'failed') await this.queues.forSession(sessionId).remove(messageId).catch(() => 0);
    const next = await this.store.scripts.finishTurn(sessionId, messageId);
    if (next !== null) {
      const job = await this.queues.forSession(sessionId).getJob(next);
      if (job && (await job.getState()) === 'delayed') await job.promote().catch(() => {});
    }
  }
}
