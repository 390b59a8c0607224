import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from './registry.js';

export type ConnectionResult =
  | 'accepted'
  | 'session_not_found'
  | 'too_many_connections'
  | 'bad_request'
  | 'rate_limited'
  | 'unauthorized'
  | 'forbidden'
  | 'unavailable';
export type InboundFrameKind = 'message' | 'ping' | 'cancel' | 'resume' | 'invalid' | 'rate_limited';
export type OutboundFrameKind = 'chunk' | 'complete' | 'error' | 'reset';

/** One turn-queue shard's job counts by BullMQ state. */
export interface QueueShardCounts {
  /** Logical queue name (`turns`), the same on every shard. */
  queue: string;
  /** Shard index as a string, "0" first. */
  shard: string;
  counts: Record<string, number>;
}

/** Turns waiting for a worker: waiting + prioritized (BullMQ 5 keeps prioritized jobs out of `wait`). */
export function queueDepthOf(counts: Record<string, number>): number {
  return (counts.waiting ?? 0) + (counts.prioritized ?? 0);
}

/**
 * The gateway's metrics behind domain methods, so call sites say what happened and never touch
 * prom-client. Per-frame methods do one counter increment and one histogram observation.
 */
export class GatewayMetrics {
  private readonly openSockets: Gauge;
  private readonly activeSessions: Gauge;
  private readonly subscriptions: Gauge;
  private readonly connections: Counter<'result'>;
  private readonly framesIn: Counter<'kind'>;
  private readonly framesOut: Counter<'kind'>;
  private readonly deliveryLag: Histogram;
  private readonly httpRequests: Counter<'route' | 'status'>;
  private readonly errors: Counter<'code'>;
  private readonly turnsAccepted: Counter<'via'>;
  private readonly socketCloses: Counter<'cause'>;
  private readonly framesOutByKind: Record<OutboundFrameKind, Counter.Internal>;
  private readonly turnFirstChunk: Histogram;
  private readonly turnResponse: Histogram;
  private readonly turnsEnded: Counter<'outcome'>;
  private readonly turnsFromCache: Counter;
  private readonly resumes: Counter<'outcome'>;
  private readonly ready: Gauge;
  private readySource: (() => boolean) | null = null;
  private readonly canaryRoundTrip: Histogram;
  private readonly slowMerges: Counter;
  private readonly turnsRequeued: Counter;
  private readonly duplicates: Counter;
  private readonly turnsTimedOut: Counter;
  private readonly turnsAdoptedCounter: Counter;
  private readonly subscriberReopenings: Counter;
  private readonly slowCutOffs: Counter;
  private watchedTurnsSource: (() => number) | null = null;
  private readonly framesRecovered: Counter<'why'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.openSockets = new Gauge({ name: 'chat_gateway_open_sockets', help: 'Client WebSockets open on this gateway', registers });
    this.activeSessions = new Gauge({ name: 'chat_gateway_active_sessions', help: 'Sessions with at least one socket on this gateway', registers });
    this.subscriptions = new Gauge({ name: 'chat_gateway_subscriptions', help: 'Session channels this gateway is subscribed to', registers });
    this.connections = new Counter({ name: 'chat_gateway_connections_total', help: 'WebSocket connection attempts by result', labelNames: ['result'], registers });
    this.framesIn = new Counter({ name: 'chat_gateway_frames_in_total', help: 'Frames received from clients by kind', labelNames: ['kind'], registers });
    this.framesOut = new Counter({ name: 'chat_gateway_frames_out_total', help: 'Turn frames relayed to sockets by kind (counted once per session, not per socket)', labelNames: ['kind'], registers });
    this.deliveryLag = new Histogram({ name: 'chat_gateway_delivery_lag_seconds', help: 'Worker publish to socket send', buckets: LATENCY_BUCKETS, registers });
    this.httpRequests = new Counter({ name: 'chat_gateway_http_requests_total', help: 'REST requests by route and status', labelNames: ['route', 'status'], registers });
    this.errors = new Counter({ name: 'chat_gateway_errors_total', help: 'Errors returned to clients by code', labelNames: ['code'], registers });
    this.turnsAccepted = new Counter({ name: 'chat_gateway_turns_accepted_total', help: 'Chat turns enqueued by transport', labelNames: ['via'], registers });
    this.socketCloses = new Counter({
      name: 'chat_gateway_socket_closes_total',
      help: 'Client sockets closed, by cause: normal, coded (a close frame with another code), or cut without a close frame: idle_timeout, frame_too_big, invalid_utf8, protocol_error, connection_lost',
      labelNames: ['cause'],
      registers,
    });
    this.turnFirstChunk = new Histogram({ name: 'chat_gateway_turn_ttft_seconds', help: 'Time to first token of turns relayed here, as the worker measured it (from complete.metadata)', buckets: LATENCY_BUCKETS, registers });
    this.turnResponse = new Histogram({ name: 'chat_gateway_turn_response_seconds', help: 'Accept to complete of turns relayed here (from complete.metadata)', buckets: LATENCY_BUCKETS, registers });
    this.turnsEnded = new Counter({ name: 'chat_gateway_turns_ended_total', help: 'Turns relayed here by how they ended (complete, or the error code)', labelNames: ['outcome'], registers });
    this.turnsFromCache = new Counter({
      name: 'chat_gateway_turns_from_cache_total',
      help: 'Completed turns relayed here that were answered from the response cache (complete.metadata.from_cache): with chat_gateway_turns_ended_total{outcome="complete"}, the hit rate customers see',
      registers,
    });
    this.resumes = new Counter({ name: 'chat_gateway_resumes_total', help: 'Socket resumes by outcome: replayed from the turn log, snapshot (log cut short), unavailable (log gone)', labelNames: ['outcome'], registers });
    this.framesRecovered = new Counter({ name: 'chat_gateway_frames_recovered_total', help: 'Frames read back from turn logs: for resuming sockets, or to fill a hole after the subscription connection dropped', labelNames: ['why'], registers });
    const readySource = () => this.readySource;
    this.ready = new Gauge({
      name: 'chat_gateway_ready',
      help: '1 while a readiness canary came back recently (enqueue → worker → channel → this gateway), else 0',
      registers,
      collect() {
        const source = readySource();
        if (source) this.set(source() ? 1 : 0);
      },
    });
    this.canaryRoundTrip = new Histogram({ name: 'chat_gateway_canary_round_trip_seconds', help: 'Round trip of readiness canaries', buckets: LATENCY_BUCKETS, registers });
    this.slowCutOffs = new Counter({
      name: 'chat_gateway_slow_clients_cut_off_total',
      help: 'Sockets closed with 4408 because what was buffered and held for them passed WS_MAX_BACKPRESSURE_BYTES (they may resume)',
      registers,
    });
    this.slowMerges = new Counter({ name: 'chat_gateway_slow_client_merged_chunks_total', help: 'Chunks merged into larger ones for sockets reading slower than the stream', registers });
    this.duplicates = new Counter({ name: 'chat_gateway_duplicate_frames_dropped_total', help: 'Turn frames dropped because this gateway had already relayed them (around a subscriber reconnect)', registers });
    this.turnsRequeued = new Counter({ name: 'chat_gateway_turns_requeued_total', help: 'Accepted turns whose job had vanished from the queue and was enqueued again', registers });
    this.turnsAdoptedCounter = new Counter({
      name: 'chat_gateway_turns_adopted_total',
      help: 'In-flight turns this gateway took over from a gateway whose custody lease lapsed (killed, paused) or that stopped',
      registers,
    });
    this.subscriberReopenings = new Counter({
      name: 'chat_gateway_subscriber_reopened_total',
      help: 'Times this gateway found its subscription deaf and reopened a subscriber connection: the readiness canary (canaries answered, none came back; every connection) or, on a cluster, the subscription probe (probes on a master not coming back; that connection)',
      registers,
    });
    this.turnsTimedOut = new Counter({ name: 'chat_gateway_turns_timed_out_total', help: 'Turns this gateway ended with timeout because nobody ended them by the deadline', registers });
    const watchedSource = () => this.watchedTurnsSource;
    new Gauge({
      name: 'chat_gateway_watched_turns',
      help: 'Turns accepted here and not yet ended (in flight); a number that only grows is a leak',
      registers,
      collect() {
        const source = watchedSource();
        if (source) this.set(source());
      },
    });
    this.framesOutByKind = {
      chunk: this.framesOut.labels('chunk'),
      complete: this.framesOut.labels('complete'),
      error: this.framesOut.labels('error'),
      reset: this.framesOut.labels('reset'),
    };
  }

  /**
   * Exposes the turn queue's job counts per shard, read at scrape time (one Redis round trip per
   * shard per scrape, none per turn):
   * - `chat_queue_jobs{queue,shard,state}`: every state BullMQ reports (waiting, paused,
   *   prioritized, active, delayed, failed);
   * - `chat_queue_depth{queue,shard}`: turns waiting for a worker = waiting + prioritized. BullMQ 5
   *   keeps jobs with a priority out of the `wait` list, so `wait` alone undercounts. `paused`
   *   is left out: that list only fills while an operator has paused the queue globally, when
   *   more workers would not take a single job (pause the worker autoscaler too).
   * Every gateway exports the same shared figures; dashboards and the autoscaler take
   * `max by (queue, shard)` and sum that, so N gateways do not count the backlog N times.
   */
  trackQueueDepth(read: () => Promise<QueueShardCounts[]>): void {
    let last: Promise<QueueShardCounts[]> | null = null;
    // Both gauges are collected in one scrape: share one read between them.
    const readOnce = () => {
      last ??= read().finally(() => setTimeout(() => (last = null), 0));
      return last;
    };
    new Gauge({
      name: 'chat_queue_jobs',
      help: 'Turn jobs in the queue by shard and state, at scrape time',
      labelNames: ['queue', 'shard', 'state'],
      registers: [this.registry],
      async collect() {
        try {
          for (const { queue, shard, counts } of await readOnce()) {
            for (const [state, count] of Object.entries(counts)) this.set({ queue, shard, state }, count);
          }
        } catch {
          // Redis away: keep the last values; /health and chat_redis_up say what is wrong.
        }
      },
    });
    new Gauge({
      name: 'chat_queue_depth',
      help: 'Turns waiting for a worker (waiting + prioritized) per queue shard, at scrape time; the worker autoscaler scales on its sum',
      labelNames: ['queue', 'shard'],
      registers: [this.registry],
      async collect() {
        try {
          for (const { queue, shard, counts } of await readOnce()) this.set({ queue, shard }, queueDepthOf(counts));
        } catch {
          // As above.
        }
      },
    });
  }

  socketOpened(): void {
    this.openSockets.inc();
  }
  socketClosed(): void {
    this.openSockets.dec();
  }
  setActiveSessions(count: number): void {
    this.activeSessions.set(count);
  }
  setSubscriptions(count: number): void {
    this.subscriptions.set(count);
  }
  connectionAttempt(result: ConnectionResult): void {
    this.connections.inc({ result });
  }
  frameIn(kind: InboundFrameKind): void {
    this.framesIn.inc({ kind });
  }
  /** One relayed frame: its kind and how long it took from the worker's publish to here. */
  frameRelayed(kind: OutboundFrameKind, lagMs: number): void {
    this.framesOutByKind[kind].inc();
    this.deliveryLag.observe(lagMs / 1000);
  }
  /** A turn relayed here completed; its timings come from the complete frame's metadata. */
  turnCompleted(ttftMs: number, responseMs: number, fromCache = false): void {
    this.turnsEnded.inc({ outcome: 'complete' });
    if (fromCache) this.turnsFromCache.inc();
    this.turnFirstChunk.observe(ttftMs / 1000);
    this.turnResponse.observe(responseMs / 1000);
  }
  /** A turn relayed here ended with an error frame. */
  turnFailed(code: string): void {
    this.turnsEnded.inc({ outcome: code });
  }
  httpRequest(route: string, status: number): void {
    this.httpRequests.inc({ route, status: String(status) });
  }
  errorReturned(code: string): void {
    this.errors.inc({ code });
  }
  turnAccepted(via: 'ws' | 'rest'): void {
    this.turnsAccepted.inc({ via });
  }
  /** Where `chat_gateway_ready` is read at scrape time. */
  trackReadiness(isReady: () => boolean): void {
    this.readySource = isReady;
  }
  trackWatchedTurns(count: () => number): void {
    this.watchedTurnsSource = count;
  }
  duplicateDropped(): void {
    this.duplicates.inc();
  }
  turnRequeued(): void {
    this.turnsRequeued.inc();
  }
  turnsAdopted(count: number): void {
    this.turnsAdoptedCounter.inc(count);
  }
  subscriberReopened(): void {
    this.subscriberReopenings.inc();
  }
  turnTimedOut(): void {
    this.turnsTimedOut.inc();
  }
  canaryReturned(roundTripMs: number): void {
    this.canaryRoundTrip.observe(roundTripMs / 1000);
  }
  slowClientCutOff(): void {
    this.slowCutOffs.inc();
  }
  slowClientMerged(chunks: number): void {
    this.slowMerges.inc(chunks);
  }
  resumed(outcome: 'replayed' | 'snapshot' | 'unavailable'): void {
    this.resumes.inc({ outcome });
  }
  framesRecoveredFromLog(why: 'resume' | 'resubscribe', count: number): void {
    if (count > 0) this.framesRecovered.inc({ why }, count);
  }
  socketClosedBy(cause: string): void {
    this.socketCloses.inc({ cause });
  }
}
