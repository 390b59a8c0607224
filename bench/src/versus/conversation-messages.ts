/**
 * What the comparison's parent process and its conversation-client child processes say to each
 * other over IPC. A child holds its share of the sessions from opening to the last turn:
 *
 *   parent ──open──▶ child: create its sessions over REST, open one socket each
 *   parent ──talk──▶ child: every session sends its turns, one after the other
 *   parent ──close─▶ child: close every socket
 */

/** Opens `count` sessions the way the original's clients do: REST session, then one socket. */
export interface OpenCommand {
  type: 'open';
  /** http://host:port of the service. */
  httpUrl: string;
  /** ws://host:port of the service. */
  wsUrl: string;
  count: number;
  /** Distinguishes this child's sessions (customer names, client ids). */
  childIndex: number;
  /** Sessions being opened at once in this child (the original's load runner opens waves of 50). */
  concurrency: number;
  /** Give up on one session (REST and socket together) after this long, ms. */
  openTimeoutMs: number;
}

/** How every open session talks. */
export interface TalkCommand {
  type: 'talk';
  /** The questions, one per turn, in order; each is made unique per session and turn. */
  questions: string[];
  /** Each session's first question goes out at a random moment within this, ms. */
  staggerMs: number;
  /** Pause after a turn's answer before the next question, ms. */
  thinkMs: number;
  /** A turn with no `complete` or `error` this long after its question fails, ms. */
  turnTimeoutMs: number;
}

export interface CloseCommand {
  type: 'close';
}

export type ParentMessage = OpenCommand | TalkCommand | CloseCommand;

export interface OpenResult {
  opened: number;
  /** Why sessions failed to open, with counts. */
  failures: Record<string, number>;
}

/** The turns of one child's sessions. */
export interface TalkResult {
  /** Turns whose complete answer arrived. */
  ok: number;
  /** Turns that did not (the sessions that never opened are counted by the parent). */
  failed: number;
  failures: Record<string, number>;
  /** Of the turns that succeeded: question sent → first chunk of model text, ms. */
  firstTextMs: number[];
  /** The same by turn number (index 0: each session's first question), to tell a burst from a steady state. */
  firstTextMsByTurn: number[][];
  /** Of the turns that succeeded: question sent → `complete`, ms. */
  completeMs: number[];
  /** Turns answered from the service's response cache. */
  fromCache: number;
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'opened'; result: OpenResult }
  | { type: 'talked'; result: TalkResult }
  | { type: 'closed'; alreadyClosed: number }
  | { type: 'failed'; error: string };

export function emptyTalkResult(): TalkResult {
  return { ok: 0, failed: 0, failures: {}, firstTextMs: [], firstTextMsByTurn: [], completeMs: [], fromCache: 0 };
}

export function addCount(into: Record<string, number>, key: string, by = 1): void {
  into[key] = (into[key] ?? 0) + by;
}

export function mergeTalkResult(into: TalkResult, from: TalkResult): void {
  into.ok += from.ok;
  into.failed += from.failed;
  for (const [key, count] of Object.entries(from.failures)) addCount(into.failures, key, count);
  for (const value of from.firstTextMs) into.firstTextMs.push(value);
  for (const value of from.completeMs) into.completeMs.push(value);
  from.firstTextMsByTurn.forEach((values, turn) => {
    const list = (into.firstTextMsByTurn[turn] ??= []);
    for (const value of values) list.push(value);
  });
  into.fromCache += from.fromCache;
}
