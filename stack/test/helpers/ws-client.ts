import WebSocket from 'ws';

/** A frame as the tests see it: parsed JSON with the fields the protocol defines. */
export interface Frame {
  type: string;
  [key: string]: unknown;
}

export interface TurnFrames {
  chunks: Frame[];
  end: Frame;
}

/**
 * A real WebSocket client (the `ws` package) that records every frame, so a test can wait for
 * a frame by predicate — with a timeout that fails the test with a message instead of hanging.
 */
export class TestSocket {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly waiters = new Set<() => void>();

  /** How the socket closed, once it has (for failure messages). */
  private closedWith: string | null = null;

  private constructor(readonly ws: WebSocket) {
    // A client-side protocol error (bad frame from the server) ends the socket with 1006: say why.
    ws.on('error', (err) => {
      this.closedWith ??= `error: ${err.message}`;
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closedWith = `${code} ${reason.toString()}${this.closedWith ? ` after ${this.closedWith}` : ''}`.trim();
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      this.frames.push(JSON.parse(text) as Frame);
      this.wake();
    });
  }

  /** `options.headers` sets upgrade headers (Authorization, Origin). */
  static open(url: string, timeoutMs = 5000, options: WebSocket.ClientOptions = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const socket = new TestSocket(ws);
      const timer = setTimeout(() => reject(new Error(`socket ${url} did not open within ${timeoutMs} ms`)), timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /**
   * Opens a socket and waits until the gateway has admitted it. The `101` comes at once; the
   * admission checks (connection rate, credentials, the session's socket slot in Redis) finish
   * after it, and frames sent meanwhile wait for them. So a `pong` means the slot is held. A test
   * that counts slots must open this way: sockets opened one after another can otherwise have
   * their checks finish in another order.
   */
  static async openAdmitted(url: string, timeoutMs = 5000): Promise<TestSocket> {
    const socket = await TestSocket.open(url, timeoutMs);
    const from = socket.frames.length;
    socket.send({ type: 'ping' });
    await socket.waitFor((f) => f.type === 'pong', 'the pong of an admitted socket', timeoutMs, from);
    return socket;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** The first frame (from index `from`) matching `predicate`, waiting up to `timeoutMs`. */
  async waitFor(predicate: (frame: Frame) => boolean, description: string, timeoutMs = 10_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(predicate);
      if (found) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        const why = this.closedWith === null ? 'timed out' : `socket closed (${this.closedWith})`;
        throw new Error(`${why} waiting for ${description}; frames so far: ${JSON.stringify(this.frames.map((f) => f.type))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        this.waiters.add(wake);
      });
    }
  }

  /** Waits for the end (`complete` or `error`) of a turn and returns its chunks in arrival order. */
  async turn(messageId: string | null, timeoutMs = 15_000): Promise<TurnFrames> {
    // Error frames about a refused frame carry no message_id; a turn's frames always do.
    const matches = (frame: Frame) => (messageId === null ? typeof frame.message_id === 'string' : frame.message_id === messageId);
    const end = await this.waitFor((f) => (f.type === 'complete' || f.type === 'error') && matches(f), `end of turn ${messageId ?? '(any)'}`, timeoutMs);
    const id = end.message_id;
    return { chunks: this.frames.filter((f) => f.type === 'chunk' && f.message_id === id), end };
  }

  async waitForClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket did not close within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
