import { Worker } from 'bullmq';
import { CANARY_QUEUE_NAME, type CanaryJobData, type Logger, type RedisClient, type RedisKeys } from '@chat/shared';

/** A canary older than this is not answered: the gateway that sent it has long moved on. */
const STALE_AFTER_MS = 60_000;

/**
 * Answers gateways' readiness canaries: takes each from the canary queue and publishes its nonce
 * on the sending gateway's canary channel. A gateway that gets it back knows the whole path
 * works (enqueue → a live worker → publish → its own subscription), not just that Redis pings.
 */
export class CanaryResponder {
  private worker: Worker<CanaryJobData, void, 'canary'> | null = null;

  constructor(
    private readonly connection: RedisClient,
    private readonly publisher: RedisClient,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.worker = new Worker<CanaryJobData, void, 'canary'>(CANARY_QUEUE_NAME, this.answer, {
      connection: this.connection,
      prefix: this.keys.bullPrefix,
      concurrency: 4,
    });
    this.worker.on('error', (err) => this.logger.warn({ err: err.message }, 'canary worker error'));
    await this.worker.waitUntilReady();
  }

  /** Forced: a canary in hand is worthless, and waiting would wait for Redis if it is away. */
  async close(): Promise<void> {
    await this.worker?.close(true);
  }

  private readonly answer = async (job: { data: CanaryJobData }): Promise<void> => {
    const { gateway_id: gatewayId, nonce, sent_at: sentAt } = job.data;
    if (Date.now() - sentAt > STALE_AFTER_MS) return;
    await this.publisher.spublish(this.keys.canaryChannel(gatewayId), nonce);
  };
}
