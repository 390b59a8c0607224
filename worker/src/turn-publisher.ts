import {
  ChunkFrameEncoder,
  FrameKind,
  completeFrame,
  encodeEnvelope,
  errorFrame,
  type CompleteMetadata,
  type ErrorCode,
  type Redis,
} from '@chat/shared';

/**
 * Publishes the frames of one turn on its session's channel, in order. Chunk publishes are not
 * awaited one by one (ioredis keeps a connection's commands in order and pipelines them); the
 * turn awaits the last one before it reports completion, and a failed publish fails the turn.
 */
export class TurnPublisher {
  private readonly encoder: ChunkFrameEncoder;
  private seq = 0;
  private content = '';
  private lastPublish: Promise<unknown> = Promise.resolve();
  private publishError: unknown = null;

  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
    private readonly sessionId: string,
    private readonly messageId: string,
  ) {
    this.encoder = new ChunkFrameEncoder(sessionId, messageId);
  }

  /** Number of chunks published so far. */
  get chunkCount(): number {
    return this.seq;
  }

  /** Everything published so far, concatenated. */
  get text(): string {
    return this.content;
  }

  chunk(text: string): void {
    const now = Date.now();
    this.content += text;
    this.send(encodeEnvelope(FrameKind.chunk, this.encoder.encode(text, this.seq++, now), now));
  }

  async complete(metadata: CompleteMetadata): Promise<void> {
    const frame = completeFrame(this.sessionId, this.messageId, this.content, metadata);
    this.send(encodeEnvelope(FrameKind.complete, JSON.stringify(frame)));
    await this.flushed();
  }

  async error(code: ErrorCode, content?: string): Promise<void> {
    const frame = errorFrame(code, this.sessionId, content === undefined ? { messageId: this.messageId } : { messageId: this.messageId, content });
    this.send(encodeEnvelope(FrameKind.error, JSON.stringify(frame)));
    await this.flushed();
  }

  /** Resolves when every publish so far has reached Redis; rejects if one failed. */
  async flushed(): Promise<void> {
    await this.lastPublish;
    if (this.publishError !== null) throw this.publishError;
  }

  private send(payload: Buffer): void {
    this.lastPublish = this.redis.publish(this.channel, payload).catch((err: unknown) => {
      this.publishError ??= err;
    });
  }
}
