import {
  ChunkFrameEncoder,
  FrameKind,
  completeFrame,
  errorFrame,
  resetFrame,
  type AppendMode,
  type AppendResult,
  type CompleteMetadata,
  type ErrorCode,
  type TurnClaim,
  type TurnFrameWriter,
  type TurnLog,
} from '@chat/shared';

/** This attempt no longer owns the turn: a newer attempt took over, or the turn already ended. */
export class TurnLostError extends Error {
  constructor(readonly reason: Exclude<AppendResult, 'written'>) {
    super(`the turn's frames were refused: ${reason}`);
    this.name = 'TurnLostError';
  }
}

/**
 * Writes the frames of one attempt at a turn: each is appended to the turn's log and published
 * on the session channel in one script call, with the next seq and this attempt's epoch, so an
 * attempt that lost ownership can never interleave with the one that replaced it.
 *
 * Appends are not awaited one by one (ioredis keeps a connection's commands in order and
 * pipelines them); the turn awaits the last one before it reports completion. The first refused
 * append calls `onLost` once (the caller aborts the LLM request) and fails `flushed()`.
 */
export class TurnPublisher {
  private readonly encoder: ChunkFrameEncoder;
  private readonly writer: TurnFrameWriter;
  private nextSeq: number;
  private chunks = 0;
  private content = '';
  private failure: unknown = null;

  constructor(
    log: TurnLog,
    private readonly sessionId: string,
    private readonly messageId: string,
    claim: TurnClaim,
    private readonly onLost: (err: TurnLostError) => void,
  ) {
    this.encoder = new ChunkFrameEncoder(sessionId, messageId);
    this.writer = log.writer(sessionId, messageId, claim.epoch, this.onOutcome);
    this.nextSeq = claim.nextSeq;
    // An earlier attempt already sent frames: clients drop its partial text before ours.
    if (claim.nextSeq > 0) this.send(FrameKind.reset, JSON.stringify(resetFrame(sessionId, messageId, this.nextSeq)), 'reset', '');
  }

  /** Chunks published by this attempt. */
  get chunkCount(): number {
    return this.chunks;
  }

  /** This attempt's answer so far, concatenated. */
  get text(): string {
    return this.content;
  }

  chunk(text: string): void {
    const now = Date.now();
    this.content += text;
    this.chunks++;
    this.send(FrameKind.chunk, this.encoder.encode(text, this.nextSeq, now), 'chunk', text, now);
  }

  async complete(metadata: CompleteMetadata): Promise<void> {
    this.send(FrameKind.complete, JSON.stringify(completeFrame(this.sessionId, this.messageId, this.content, metadata, this.nextSeq)), 'end', '');
    await this.flushed();
  }

  async error(code: ErrorCode, content?: string): Promise<void> {
    const frame = errorFrame(code, this.sessionId, { messageId: this.messageId, seq: this.nextSeq, ...(content === undefined ? {} : { content }) });
    this.send(FrameKind.error, JSON.stringify(frame), 'end', '');
    await this.flushed();
  }

  /** Resolves when every frame so far is in the log and published; rejects if one was not. */
  async flushed(): Promise<void> {
    await this.writer.settled();
    if (this.failure !== null) throw this.failure;
  }

  private send(kind: FrameKind, json: string, mode: AppendMode, text: string, now: number = Date.now()): void {
    this.writer.append(kind, json, now, this.nextSeq++, mode, text);
  }

  private readonly onOutcome = (result: AppendResult | null, error: unknown): void => {
    if (result === 'written' || this.failure !== null) return;
    if (result === null) {
      this.failure = error;
      return;
    }
    const lost = new TurnLostError(result);
    this.failure = lost;
    this.onLost(lost);
  };
}
