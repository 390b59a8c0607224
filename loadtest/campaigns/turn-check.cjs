'use strict';
/**
 * The per-turn bookkeeping of the Artillery processor, apart from Artillery so a test can run it:
 * feed it the frames of one socket, it tells when the turn it waits for has ended and how.
 *
 * A turn succeeds only when its `complete` arrives and its content equals the turn's chunks
 * concatenated in seq order (seq 0, 1, 2, … with no gap). An `error` frame ends it with its code.
 * A `reset` frame (the turn was retried by another attempt: drop the partial text) restarts the
 * text and takes the next seq; a merged chunk (a slow reader's) covers `first_seq`..`seq`.
 */

/**
 * @typedef {object} TurnOutcome
 * @property {boolean} ok
 * @property {string|null} code        why it failed: an error frame's code, `mismatch`, `timeout`, `socket_closed`
 * @property {number|null} firstChunkMs
 * @property {number} totalMs
 * @property {number} chunks
 * @property {number} characters
 * @property {boolean} fromCache   the worker answered from its response cache (complete.metadata.from_cache)
 * @property {number} resets       reset frames the turn went through (retried attempts)
 */

class TurnTracker {
  /**
   * @param {string} messageId the id the client sent with the message
   * @param {number} sentAt    performance.now() when it was sent
   */
  constructor(messageId, sentAt) {
    this.messageId = messageId;
    this.sentAt = sentAt;
    this.firstChunkAt = null;
    this.nextSeq = 0;
    this.text = '';
    /** Chunk frames since the last reset, and resets seen. */
    this.chunks = 0;
    this.resets = 0;
    /** @type {TurnOutcome|null} */
    this.outcome = null;
  }

  /**
   * Reads one frame (already parsed). Returns the outcome once the turn ends, else null.
   * Frames of other turns (another socket's message in the same session) are ignored.
   * @param {Record<string, unknown>} frame
   * @param {number} now performance.now()
   */
  onFrame(frame, now) {
    if (this.outcome) return this.outcome;
    if (frame.type === 'error') {
      // Errors without a message id (rate limits, bad frames) concern this socket's turn too.
      if (frame.message_id !== undefined && frame.message_id !== this.messageId) return null;
      return this.end(false, typeof frame.code === 'string' ? frame.code : 'error', now);
    }
    if (frame.message_id !== this.messageId) return null;
    if (frame.type === 'chunk') {
      const firstSeq = typeof frame.first_seq === 'number' ? frame.first_seq : frame.seq;
      if (firstSeq !== this.nextSeq || typeof frame.seq !== 'number' || frame.seq < firstSeq) return this.end(false, 'mismatch', now);
      if (this.firstChunkAt === null) this.firstChunkAt = now;
      this.nextSeq = frame.seq + 1;
      this.chunks++;
      this.text += typeof frame.content === 'string' ? frame.content : '';
      return null;
    }
    if (frame.type === 'reset') {
      if (frame.seq !== this.nextSeq) return this.end(false, 'mismatch', now);
      this.nextSeq = frame.seq + 1;
      this.text = '';
      this.chunks = 0;
      this.resets++;
      return null;
    }
    if (frame.type === 'complete') {
      const ok = this.chunks > 0 && frame.content === this.text;
      this.end(ok, ok ? null : 'mismatch', now);
      this.outcome.fromCache = Boolean(frame.metadata && frame.metadata.from_cache);
      return this.outcome;
    }
    return null;
  }

  /** Ends the turn from outside (timeout, socket closed). */
  fail(code, now) {
    return this.outcome ?? this.end(false, code, now);
  }

  end(ok, code, now) {
    this.outcome = {
      ok,
      code,
      firstChunkMs: this.firstChunkAt === null ? null : this.firstChunkAt - this.sentAt,
      totalMs: now - this.sentAt,
      chunks: this.chunks,
      characters: this.text.length,
      fromCache: false,
      resets: this.resets,
    };
    return this.outcome;
  }
}

module.exports = { TurnTracker };
