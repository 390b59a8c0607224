import {
  FrameKind,
  envelopeBody,
  readEnvelopeHeader,
  type CompleteFrame,
  type HistoryEntry,
  type TurnJobData,
  type TurnLog,
} from '@chat/shared';

/**
 * The history entry of a turn whose log ends with a `complete` frame: the answer its clients
 * received, as they received it (text, metadata, time). Null when it ended otherwise (an error)
 * or its log no longer holds its ending.
 *
 * For a turn an earlier attempt answered but could not file: the `complete` frame went out, then
 * the history write failed. The frame carries everything the entry needs but the question, which
 * is the job's.
 */
export async function deliveredAnswer(turnLog: TurnLog, data: TurnJobData, nextSeq: number): Promise<HistoryEntry | null> {
  const endingSeq = nextSeq - 1;
  if (endingSeq < 0) return null;
  const { frames } = await turnLog.read(data.session_id, data.message_id, endingSeq - 1);
  const ending = frames.find((frame) => frame.seq === endingSeq);
  if (!ending) return null;
  const header = readEnvelopeHeader(ending.envelope);
  if (header?.kind !== FrameKind.complete) return null;
  const frame = JSON.parse(envelopeBody(ending.envelope, header).toString('utf8')) as CompleteFrame;
  return {
    message_id: data.message_id,
    client_id: data.client_id,
    user: data.message,
    assistant: frame.content,
    timestamp: frame.timestamp,
    metadata: frame.metadata,
  };
}
