import type { Redis, RedisKeys } from '@chat/shared';

/**
 * Cuts every pub/sub connection and, in the same pipeline, cancels a turn as the gateway's
 * TurnCanceller does (marker, then control message): the message reaches no worker, so only a
 * re-check of the marker can stop the turn. Returns how many pub/sub connections were cut and
 * how many subscribers the cancel message reached (0 when the cut came first, as it must).
 */
export async function cancelWhileControlIsCut(redis: Redis, keys: RedisKeys, sessionId: string, messageId: string): Promise<{ cut: number; reached: number }> {
  const replies = await redis
    .pipeline()
    .client('KILL', 'TYPE', 'pubsub')
    .set(keys.turnCancel(sessionId, messageId), '1', 'EX', 3600)
    .publish(keys.cancelChannel, `${sessionId}/${messageId}`)
    .exec();
  return { cut: Number(replies?.[0]?.[1]), reached: Number(replies?.[2]?.[1]) };
}
