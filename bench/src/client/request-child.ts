import { fork, type ChildProcess, type SerializationType } from 'node:child_process';

/** What every load-client child may send: it is ready, it failed, or a reply of its own kind. */
export type ChildReply = { type: 'ready' } | { type: 'failed'; error: string } | { type: string };

/**
 * A forked load-client process that runs one command at a time: `request` sends a message and
 * resolves with the child's reply, rejects when the child reports a failure or exits. Shared by
 * the bench's socket pool and the versus-original conversation pool.
 */
export class RequestChild<Request, Reply extends ChildReply> {
  private waiting: { resolve: (m: Reply) => void; reject: (e: Error) => void } | null = null;
  readonly ready: Promise<void>;

  constructor(
    readonly process: ChildProcess,
    /** How errors name the child, e.g. `load client`. */
    private readonly label: string,
  ) {
    let onReady: () => void = () => {};
    this.ready = new Promise((resolve) => {
      onReady = resolve;
    });
    process.on('message', (message: Reply) => {
      if (message.type === 'ready') {
        onReady();
        return;
      }
      const waiting = this.waiting;
      this.waiting = null;
      if (!waiting) return;
      if (message.type === 'failed') waiting.reject(new Error(`${label} ${process.pid} failed: ${(message as { error?: string }).error ?? 'unknown error'}`));
      else waiting.resolve(message);
    });
    process.on('exit', (code) => {
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.reject(new Error(`${label} ${process.pid} exited (code ${code})`));
    });
  }

  /** Ends the child: disconnects its channel (it exits when idle), SIGKILL after 5 s. */
  stop(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        resolve();
        return;
      }
      this.process.once('exit', () => resolve());
      if (this.process.connected) this.process.disconnect();
      setTimeout(() => this.process.kill('SIGKILL'), 5000).unref();
    });
  }

  request(message: Request): Promise<Reply> {
    if (this.waiting) throw new Error(`a ${this.label} runs one command at a time`);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.process.send(message as object);
    });
  }
}

/**
 * Forks `count` children of `entry` (under tsx when it is a `.ts` file: the tests) and waits
 * until each says it is ready.
 */
export async function forkRequestChildren<Request, Reply extends ChildReply>(
  entry: string,
  count: number,
  label: string,
  serialization: SerializationType = 'json',
): Promise<Array<RequestChild<Request, Reply>>> {
  const execArgv = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const children = Array.from(
    { length: count },
    () => new RequestChild<Request, Reply>(fork(entry, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization }), label),
  );
  await Promise.all(children.map((child) => child.ready));
  return children;
}
