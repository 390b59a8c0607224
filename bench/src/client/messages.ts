/**
 * What the benchmark's parent process and its load-client child processes say to each other
 * over IPC. One child holds many sockets; the parent only sends plans and merges results.
 *
 *   parent ──open──▶ child: create N sessions over REST, open one socket each
 *   parent ──chat──▶ child: run turn loops on the first K sockets until a deadline
 *   parent ──close─▶ child: close every socket, then exit
 */

/** Sockets a child opens: one REST session and one socket per slot. */
export interface OpenCommand {
  type: 'open';
  /** http://host:port of the gateways. */
  httpUrl: string;
  /** ws://host:port of the gateways. */
  wsUrl: string;
  /** Sockets (and sessions) this child opens. */
  count: number;
  /** Source addresses the sockets bind to, round robin (ephemeral ports run out per address pair). */
  localAddresses: string[];
  /** Upgrades in flight at once in this child. */
  concurrency: number;
  /** Give up on one socket after this long, ms. */
  openTimeoutMs: number;
}

/** How the first `chatting` sockets of a child chat. */
export interface ChatPlan {
  /** Sockets of this child that chat (the first ones opened); the others stay idle. */
  chatting: number;
  /** The chat message every turn sends. */
  message: string;
  /** Each socket's first turn starts at a random moment within this many ms. */
  staggerMs: number;
  /** Pause between a turn's end and the next turn of the same socket, ms. */
  thinkMs: number;
  /** Least time between two sends of one socket, ms (stays under the gateway's frame rate limit). */
  minIntervalMs: number;
  /** Epoch ms: turns sent before this are warm-up and not measured; rates count from here. */
  measureFrom: number;
  /** Epoch ms: no turn starts after this; rates count up to here. */
  measureTo: number;
  /** A turn with no `complete` or `error` this long after it was sent counts as failed, ms. */
  turnTimeoutMs: number;
}

export interface ChatCommand {
  type: 'chat';
  plan: ChatPlan;
}

export interface CloseCommand {
  type: 'close';
}

export type ParentMessage = OpenCommand | ChatCommand | CloseCommand;

export interface OpenResult {
  opened: number;
  failed: number;
  /** Why sockets or sessions failed, with counts. */
  failures: Record<string, number>;
  /** Time to open them all, ms. */
  ms: number;
}

/** Per-turn figures of the turns measured, merged across children. */
export interface TurnSamples {
  /** Client time to first chunk minus the LLM's own time to first token (worker-measured), ms. */
  addedFirst: number[];
  /** Client time to `complete` minus the LLM stream time (worker-measured), ms. */
  addedTotal: number[];
  /** Client send to first chunk, ms. */
  firstChunk: number[];
  /** Client send to `complete`, ms. */
  turn: number[];
  /** The LLM's own time to first token as the worker saw it, ms. */
  modelFirst: number[];
  /** Gateway accept → worker start (`complete.metadata.queue_wait_ms`), ms. */
  queueWait: number[];
  /** The first chunk's publish time (its `timestamp`, set by the worker) → received, ms (ms resolution). */
  relayFirst: number[];
}

export interface ChatResult {
  /** Turns sent inside the measurement window. */
  sent: number;
  /** Of those: `complete` arrived and equalled the chunks in seq order. */
  ok: number;
  /** Of those: error frame, mismatch, timeout or socket closed. */
  failed: number;
  /** Failure reasons: error codes, `mismatch`, `timeout`, `socket_closed`. */
  failures: Record<string, number>;
  /** Turns (any) whose `complete` arrived inside the window. */
  completedInWindow: number;
  /** Chunk frames and their characters received inside the window. */
  chunkFramesInWindow: number;
  charsInWindow: number;
  /** Tokens and characters of measured successful turns (tokens per character). */
  tokensOk: number;
  charsOk: number;
  /** Measured turns the worker answered from its response cache (should be 0: questions are unique). */
  fromCache: number;
  /** Measured turns that went through a reset frame (retried by a new attempt, then judged whole). */
  resets: number;
  /** Turns of every phase, warm-up included. */
  totalTurns: number;
  /** Failures of turns outside the window (warm-up), by reason: reported, never hidden. */
  unmeasuredFailures: Record<string, number>;
  samples: TurnSamples;
  /**
   * The time added to the first token, per step, ms (bench/src/first-token-breakdown.ts), by
   * segment name; only from stacks that stamp their steps (PIPELINE_TIMINGS).
   */
  steps: Record<string, number[]>;
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'opened'; result: OpenResult }
  | { type: 'chatted'; result: ChatResult }
  | { type: 'closed'; alreadyClosed: number; codes: Record<string, number> }
  | { type: 'failed'; error: string };

export function emptySamples(): TurnSamples {
  return { addedFirst: [], addedTotal: [], firstChunk: [], turn: [], modelFirst: [], queueWait: [], relayFirst: [] };
}

export function emptyChatResult(): ChatResult {
  return {
    sent: 0,
    ok: 0,
    failed: 0,
    failures: {},
    completedInWindow: 0,
    chunkFramesInWindow: 0,
    charsInWindow: 0,
    tokensOk: 0,
    charsOk: 0,
    fromCache: 0,
    resets: 0,
    totalTurns: 0,
    unmeasuredFailures: {},
    samples: emptySamples(),
    steps: {},
  };
}

/** Adds `from` into `into` (counts summed, samples concatenated). */
export function mergeChatResult(into: ChatResult, from: ChatResult): ChatResult {
  into.sent += from.sent;
  into.ok += from.ok;
  into.failed += from.failed;
  mergeCounts(into.failures, from.failures);
  into.completedInWindow += from.completedInWindow;
  into.chunkFramesInWindow += from.chunkFramesInWindow;
  into.charsInWindow += from.charsInWindow;
  into.tokensOk += from.tokensOk;
  into.charsOk += from.charsOk;
  into.fromCache += from.fromCache;
  into.resets += from.resets;
  into.totalTurns += from.totalTurns;
  mergeCounts(into.unmeasuredFailures, from.unmeasuredFailures);
  for (const key of Object.keys(into.samples) as Array<keyof TurnSamples>) {
    for (const value of from.samples[key]) into.samples[key].push(value);
  }
  for (const [segment, values] of Object.entries(from.steps)) (into.steps[segment] ??= []).push(...values);
  return into;
}

export function mergeCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}
