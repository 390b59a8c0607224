/**
 * What the floor's parent and its bare roles say to each other (over the IPC channel of each
 * role's process) and the settings every role reads from its command line.
 */

/** The roles, each a process of its own so that each one's CPU is read apart. */
export const FLOOR_ROLES = ['worker', 'gateway', 'clients'] as const;
export type FloorRole = (typeof FLOOR_ROLES)[number];

/**
 * `turns`: each client sends a question as its last answer ends; the gateway queues it, the
 * worker streams the model's answer back as frames (the overhead and turn-rate scenarios' shape).
 * `read-only`: the worker reads the model's answers back to back and publishes nothing; the
 * floor of the read alone.
 */
export const FLOOR_MODES = ['turns', 'read-only'] as const;
export type FloorMode = (typeof FLOOR_MODES)[number];

/** What every role is started with (as `--name value` arguments). */
export interface FloorRoleSettings {
  role: FloorRole;
  mode: FloorMode;
  sessions: number;
  redisUrl: string;
  /** worker: the offline model's base URL. */
  modelUrl?: string;
  /** clients: the bare gateway's port. */
  gatewayPort?: number;
}

/** The service's flush tick (CHUNK_WINDOW_MS): held tokens of every session leave together this often. */
export const FLOOR_CHUNK_WINDOW_MS = 10;

/** The list the bare gateway pushes questions onto and the bare worker pops (one Redis only). */
export const FLOOR_QUEUE_KEY = 'floor:questions';

/** The sharded channel of a session (its own hash tag, as the service's session channels have). */
export function floorChannel(session: number): string {
  return `floor:{${session}}`;
}

/** A question on the queue: whose, and which of its turns. */
export interface FloorQuestion {
  session: number;
  seq: number;
}

/**
 * A frame on a session's channel: the text held since the session's last frame; the first of
 * an answer carries the model's time to its first token, the last says the answer ended.
 */
export interface FloorFrame {
  session: number;
  seq: number;
  content?: string;
  /** First frame of an answer: request sent → first content token, ms (the model's own time). */
  modelFirstMs?: number;
  end?: true;
}

/** Parent → role. */
export type FloorRequest = { type: 'count' } | { type: 'stop' };

/** Role → parent: ready (with the gateway's port), and each answer to `count`. */
export type FloorReply = { type: 'ready'; port?: number } | { type: 'counts'; counts: FloorCounts };

/** Running totals a role keeps; a role fills in its own. */
export interface FloorCounts {
  /** worker: content tokens read from the model. */
  tokens?: number;
  /** worker: frames published. */
  frames?: number;
  /** worker: answers read to their end. */
  answers?: number;
  /** clients: frames received. */
  received?: number;
  /** clients: frames that came on another session's socket (must stay 0). */
  misrouted?: number;
  /** clients: answers received whole (their end frame). */
  turns?: number;
  /** clients: per answer since the last count, ms from the question's send to its first frame, less the model's own time. */
  addedFirstMs?: number[];
}

export function settingsToArgs(settings: FloorRoleSettings): string[] {
  const args = ['--role', settings.role, '--mode', settings.mode, '--sessions', String(settings.sessions), '--redis-url', settings.redisUrl];
  if (settings.modelUrl) args.push('--model-url', settings.modelUrl);
  if (settings.gatewayPort !== undefined) args.push('--gateway-port', String(settings.gatewayPort));
  return args;
}
