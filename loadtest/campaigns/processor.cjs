'use strict';
/**
 * Artillery processor of campaigns/chat.yml: the WebSocket half of a customer's conversation,
 * with plain `ws` sockets, and the per-turn custom metrics read from the frames:
 *
 *   chat.time_to_first_chunk  ms from sending the message to its first chunk   (histogram)
 *   chat.time_to_complete     ms from sending the message to its complete      (histogram)
 *   chat.chunks, chat.characters   per completed turn                           (histograms)
 *   chat.turns.sent / chat.turns.completed / chat.turns.failed                (counters)
 *   chat.errors.<code>        error frame codes, mismatch, timeout, socket_closed (counters)
 *   chat.answers.from_cache   completed turns the worker answered from its response cache (counter)
 *   chat.turns.reset          turns that went through a retried attempt's reset frame (counter)
 *   chat.sockets.opened, chat.socket_open_time                               (counter, histogram)
 */
const WebSocket = require('ws');
const { performance } = require('node:perf_hooks');
const { TurnTracker } = require('./turn-check.cjs');

/** When this worker loaded the processor: the start of the tier's hold time. */
const STARTED_AT = Date.now();
let serial = 0;
const idPrefix = `lt${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** whileTrue: start another conversation while the tier's hold time lasts. */
function withinHoldTime(context, next) {
  const holdMs = Number(context.vars.holdSeconds ?? 30) * 1000;
  next(Date.now() - STARTED_AT < holdMs);
}

/** Opens the session's socket; a refusal (error frame, then close) fails the virtual user. */
function openChatSocket(context, events, done) {
  const sessionId = context.vars.sessionId;
  if (typeof sessionId !== 'string') {
    events.emit('counter', 'chat.errors.session_not_created', 1);
    return done(new Error('no session id captured'));
  }
  const base = String(context.vars.target).replace(/^http/, 'ws').replace(/\/$/, '');
  const clientId = `artillery-${(serial++).toString(36)}`;
  const startedAt = performance.now();
  const ws = new WebSocket(`${base}/ws/${sessionId}/${clientId}`, { perMessageDeflate: false, handshakeTimeout: 15_000 });
  const chat = { ws, turn: null, onTurnEnd: null, closed: false };
  context.vars.chat = chat;
  let settled = false;
  const settle = (err) => {
    if (settled) return;
    settled = true;
    if (err) {
      events.emit('counter', `chat.errors.${err.message}`, 1);
      done(err);
    } else {
      events.emit('counter', 'chat.sockets.opened', 1);
      events.emit('histogram', 'chat.socket_open_time', performance.now() - startedAt);
      done();
    }
  };
  ws.on('message', (data) => {
    let frame;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      frame = { type: 'unparsable' };
    }
    if (!settled && frame.type === 'error') settle(new Error(frame.code || 'socket_refused'));
    const turn = chat.turn;
    if (!turn) return;
    const outcome = turn.onFrame(frame, performance.now());
    if (outcome) chat.onTurnEnd?.(outcome);
  });
  ws.on('open', () => settle(null));
  ws.on('error', (err) => settle(new Error(`socket_${err.code || 'error'}`)));
  ws.on('close', () => {
    chat.closed = true;
    settle(new Error('socket_closed'));
    if (chat.turn) chat.onTurnEnd?.(chat.turn.fail('socket_closed', performance.now()));
  });
}

/** Sends `$loopElement` and waits for its complete (or error, or the timeout); records the turn. */
function chatTurn(context, events, done) {
  const chat = context.vars.chat;
  const message = context.vars.$loopElement;
  if (!chat || chat.closed) {
    events.emit('counter', 'chat.turns.sent', 1);
    events.emit('counter', 'chat.turns.failed', 1);
    events.emit('counter', 'chat.errors.socket_closed', 1);
    return done(new Error('socket_closed'));
  }
  const messageId = `${idPrefix}${(serial++).toString(36)}`;
  const turn = new TurnTracker(messageId, performance.now());
  const timeoutMs = Number(context.vars.turnTimeoutMs ?? 60_000);
  const timer = setTimeout(() => chat.onTurnEnd?.(turn.fail('timeout', performance.now())), timeoutMs);
  chat.turn = turn;
  chat.onTurnEnd = (outcome) => {
    clearTimeout(timer);
    chat.turn = null;
    chat.onTurnEnd = null;
    if (outcome.resets > 0) events.emit('counter', 'chat.turns.reset', 1);
    if (outcome.ok) {
      events.emit('counter', 'chat.turns.completed', 1);
      if (outcome.fromCache) events.emit('counter', 'chat.answers.from_cache', 1);
      events.emit('histogram', 'chat.time_to_first_chunk', outcome.firstChunkMs);
      events.emit('histogram', 'chat.time_to_complete', outcome.totalMs);
      events.emit('histogram', 'chat.chunks', outcome.chunks);
      events.emit('histogram', 'chat.characters', outcome.characters);
    } else {
      events.emit('counter', 'chat.turns.failed', 1);
      events.emit('counter', `chat.errors.${outcome.code}`, 1);
    }
    // A failed turn does not end the conversation (a person would ask again); a lost socket does.
    if (!outcome.ok && outcome.code === 'socket_closed') return done(new Error('socket_closed'));
    done();
  };
  events.emit('counter', 'chat.turns.sent', 1);
  // With freshAnswers each question is made unique, so the worker's response cache cannot answer
  // it and every turn goes through the model; without, repeated questions may be cache hits.
  const text = context.vars.freshAnswers ? `${message} (ref ${messageId})` : message;
  chat.ws.send(JSON.stringify({ message: text, message_id: messageId }));
}

/** Closes the socket at the end of a conversation. */
function closeChatSocket(context, events, done) {
  const chat = context.vars.chat;
  if (chat && !chat.closed) {
    chat.closed = true;
    chat.ws.removeAllListeners('close');
    chat.ws.close(1000, 'conversation over');
  }
  context.vars.chat = undefined;
  done();
}

module.exports = { withinHoldTime, openChatSocket, chatTurn, closeChatSocket };
