/**
 * What the token floor's parent and its bare roles say to each other (over the IPC channel of
 * `fork`) and the settings every role reads from its command line.
 */

/** The roles, each a process of its own so that each one's CPU is read apart. */
export const FLOOR_ROLES = ['worker', 'gateway', 'clients'] as const;
export type FloorRole = (typeof FLOOR_ROLES)[number];

/** What every role is started with (as `--name value` arguments). */
export interface FloorRoleSettings {
  role: FloorRole;
  sessions: number;
  redisUrl: string;
  /** worker: the offline model's base URL. */
  modelUrl?: string;
  /** clients: the bare gateway's port. */
  gatewayPort?: number;
  /** worker: read the model's streams and publish nothing (the read's own floor). */
  readOnly?: boolean;
}

/** The service's flush tick (CHUNK_WINDOW_MS): held tokens of every session leave together this often. */
export const FLOOR_CHUNK_WINDOW_MS = 10;

/** The sharded channel of a session (its own hash tag, as the service's session channels have). */
export function floorChannel(session: number): string {
  return `floor:{${session}}`;
}

/** A relayed frame: the text held for a session since its last frame. */
export interface FloorFrame {
  session: number;
  seq: number;
  content: string;
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
}

export function settingsToArgs(settings: FloorRoleSettings): string[] {
  const args = ['--role', settings.role, '--sessions', String(settings.sessions), '--redis-url', settings.redisUrl];
  if (settings.modelUrl) args.push('--model-url', settings.modelUrl);
  if (settings.gatewayPort !== undefined) args.push('--gateway-port', String(settings.gatewayPort));
  if (settings.readOnly) args.push('--read-only');
  return args;
}
