import type { Socket } from 'node:net';
import { callEach } from '../call-each.js';
import type { RedisClient } from './connection.js';

/**
 * Sends the commands a connection gets during one turn of the event loop in one socket write.
 *
 * ioredis writes each command to the socket as it is issued: one `write` system call per
 * command. A worker streaming hundreds of answers issues one append per token, each from its own
 * socket read, so that was one system call per token (the largest item in the worker's profile
 * at 1 000 streams). `hold()` corks the connection's socket on the first command of a loop turn
 * and uncorks it at `setImmediate`, after the turn's I/O callbacks have run: everything issued
 * meanwhile goes out in one `writev`, in issue order.
 *
 * Unlike ioredis's auto-pipelining this never waits for earlier replies: a batch leaves as soon
 * as the loop turn that made it is over, whatever is still in flight.
 */
export class WriteCoalescer {
  private corked: Socket | null = null;
  private releaseScheduled = false;
  private beforeReleaseHooks: Array<() => void> = [];

  constructor(private readonly redis: RedisClient) {}

  /** Call right before issuing a command that may share a write with others of this loop turn. */
  hold(): void {
    if (this.corked !== null) return;
    // Only a connected socket: while ioredis is (re)connecting it queues commands itself.
    const stream = (this.redis as unknown as { stream?: Socket }).stream;
    if (this.redis.status !== 'ready' || stream === undefined || stream.destroyed) return;
    stream.cork();
    this.corked = stream;
    this.scheduleRelease();
  }

  /**
   * Runs `hook` at the end of this loop turn, just before the held commands are written: a
   * command it issues joins the same write, after every command of the loop turn. For a caller
   * that gathers a loop turn's work into one command (FrameBatcher). Runs whether or not the
   * connection is ready (its commands then wait in ioredis's offline queue).
   */
  beforeRelease(hook: () => void): void {
    this.beforeReleaseHooks.push(hook);
    this.hold();
    this.scheduleRelease();
  }

  private scheduleRelease(): void {
    if (this.releaseScheduled) return;
    this.releaseScheduled = true;
    setImmediate(this.release);
  }

  private readonly release = (): void => {
    this.releaseScheduled = false;
    try {
      if (this.beforeReleaseHooks.length > 0) {
        const hooks = this.beforeReleaseHooks;
        this.beforeReleaseHooks = [];
        // Every hook runs whatever one throws (the first error is thrown after, see callEach) ...
        callEach(hooks, (hook) => hook());
      }
    } finally {
      // ... and the write goes either way. A socket that closed meanwhile has nothing left to
      // send; uncork is harmless on it.
      const stream = this.corked;
      this.corked = null;
      stream?.uncork();
    }
  };
}
