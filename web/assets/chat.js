// The chat page. Plain DOM, no framework and no build step: this file is served as it is.
//
//   start form ──POST /chat/session──▶ session id (+ token when the service issues them),
//                                       kept in localStorage: a reload, or the page opened again
//                                       within the resume window, rejoins the conversation
//   reload ──GET /chat/session/:id──▶ history (questions and answers) + in_progress (the answer
//                                       so far, its seq, its question) ──▶ resume frames
//   [token] ──POST /chat/ticket──▶ single-use ticket for the socket URL (AUTH_SECRETS set)
//   socket ws(s)://<this host>/ws/<session>/<client>[?ticket=] ──▶ user_message, chunk… complete | error
//   message: {type: "message", message, message_id}    (the id is ours, so frames find their bubble)
//   resume:  {type: "resume", message_id, seq}          (after a reload, a drop, or a gap in the seqs)
//
// The service's text goes on the page as text (textContent); an answer's Markdown is rendered by
// `marked` and then cleaned by DOMPurify (no raw HTML, no script, no styles), see markdown.js.
import { renderMarkdown, linkCitations } from './markdown.js';

/**
 * What the service can do beyond plain turns. Both arrive with another issue; the page is built
 * so that turning one on here is the only change needed to use it.
 */
const SUPPORTS = {
  /**
   * Replay an answer in progress after a reconnect, a reload or a gap in its seqs: the page
   * sends a resume frame with the last seq it has, and the service sends exactly the frames it
   * missed (or a snapshot). Off, an interrupted answer is recovered from the session history
   * once it has finished.
   */
  resume: true,
  /** Cancel a running answer: shows the Stop button, which sends a cancel frame. */
  cancel: true,
};

const STORAGE_KEY = 'chat.session';
/**
 * How long a closed tab's conversation is kept here: the service's idle session lifetime
 * (SESSION_TTL, 1 h by default). Past it, or when the service says the session is gone, it is
 * forgotten.
 */
const KEEP_SESSION_MS = 60 * 60 * 1000;
/** While the service is down, /health is probed at most this far apart (first sooner). */
const PROBE_FIRST_DELAY_MS = 250;
const PROBE_MAX_DELAY_MS = 1000;
/** A socket that fails though /health answers: back off between attempts up to this. */
const RECONNECT_MAX_DELAY_MS = 15_000;
/** While an interrupted answer is unaccounted for, the history is checked this often, this many times. */
const RECOVERY_POLL_MS = 3000;
const RECOVERY_POLLS = 40;
const FLIGHT_PATTERN = /^[A-Za-z0-9]{2}[0-9]{1,4}[A-Za-z]?$/;
const SUGGESTIONS = ['Can I change my flight?', 'What is the baggage allowance?', 'How do I check in online?'];

/** Message-level refusals: the message was not taken; it goes back into the box. */
const REFUSALS = new Set([
  'not_delivered',
  'message_too_long',
  'empty_message',
  'rate_limited',
  'validation_failed',
  'payload_too_large',
  'invalid_json',
  'unknown_frame',
  'binary_not_supported',
  'queue_unavailable',
]);

// ---------------------------------------------------------------------------------- elements

const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const els = {
  connection: byId('connection'),
  connectionText: byId('connection-text'),
  start: byId('start'),
  startForm: /** @type {HTMLFormElement} */ (byId('start-form')),
  startError: byId('start-error'),
  startButton: /** @type {HTMLButtonElement} */ (byId('start-button')),
  name: /** @type {HTMLInputElement} */ (byId('customer-name')),
  email: /** @type {HTMLInputElement} */ (byId('customer-email')),
  flight: /** @type {HTMLInputElement} */ (byId('flight-no')),
  date: /** @type {HTMLInputElement} */ (byId('travel-date')),
  chat: byId('chat'),
  tripSummary: byId('trip-summary'),
  newChat: byId('new-chat'),
  scroller: byId('scroller'),
  transcript: byId('transcript'),
  composer: /** @type {HTMLFormElement} */ (byId('composer')),
  composerNotice: byId('composer-notice'),
  composerNoticeText: byId('composer-notice-text'),
  retryNow: /** @type {HTMLButtonElement} */ (byId('retry-now')),
  charCount: byId('char-count'),
  announcer: byId('announcer'),
  newChatDialog: /** @type {HTMLDialogElement} */ (byId('new-chat-dialog')),
  input: /** @type {HTMLTextAreaElement} */ (byId('message-input')),
  send: /** @type {HTMLButtonElement} */ (byId('send-button')),
  stop: /** @type {HTMLButtonElement} */ (byId('stop-button')),
};

/** Field name in the API → its input, for the server's validation errors. */
const FIELD_INPUTS = { customer_name: els.name, customer_email: els.email, flight_no: els.flight, date: els.date };

// ---------------------------------------------------------------------------------- state

/**
 * @typedef {object} Turn  one question and its answer, keyed by message id
 * @property {string} id
 * @property {HTMLElement | null} userEl  null for turns sent from another window of the session
 * @property {HTMLElement} el  the assistant's list item
 * @property {HTMLElement} textEl
 * @property {'sent' | 'streaming' | 'complete' | 'error' | 'stopped'} state
 * @property {number} nextSeq  the chunk expected next
 * @property {boolean} interrupted  the connection dropped before it ended
 * @property {boolean} gap  chunks were missed: wait for `complete`, which carries the whole answer
 * @property {string} question
 * @property {boolean} accepted  the service announced the question (a user_message frame)
 * @property {boolean} [own]  sent from this window (since it was opened)
 * @property {boolean} resuming  a resume frame was sent and its replay has not caught up yet
 * @property {string} text  the answer so far, as received
 * @property {number} renderFrame  pending animation frame that re-renders the Markdown
 */

const state = {
  /** @type {{session_id: string, context: Record<string, unknown>, token?: string, token_expires_at?: string, limits?: {max_message_length: number}} | null} */
  session: null,
  /** The longest message the service takes (from the session's `limits`), or 0 if unknown. */
  maxLength: 0,
  clientId: `web-${randomId(10)}`,
  /** @type {WebSocket | null} */
  socket: null,
  /** A connection attempt is under way (fetching a ticket, or the socket is opening). */
  connecting: false,
  /** True while the page wants a socket (a chat is shown). */
  wantSocket: false,
  /** Failed socket attempts since the last open socket (while /health answers). */
  attempt: 0,
  /** /health probes since the connection was lost. */
  probes: 0,
  /** The connection dropped at least once since the last open: recover on the next open. */
  dropped: false,
  /** Why the service refused or closed the socket (an error frame just before the close), in words. */
  closeReason: '',
  closeReasonAt: 0,
  retryTimer: 0,
  countdownTimer: 0,
  recoveryTimer: 0,
  recoveryPolls: 0,
  /** @type {Map<string, Turn>} */
  turns: new Map(),
};

// ---------------------------------------------------------------------------------- start

els.startForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void startSession();
});
els.flight.addEventListener('input', () => {
  els.flight.value = els.flight.value.toUpperCase().replace(/\s+/g, '');
});

async function startSession() {
  clearFieldErrors();
  /** @type {Record<string, string>} */
  const body = { customer_name: els.name.value.trim(), customer_email: els.email.value.trim() };
  const flight = els.flight.value.trim();
  if (flight) body.flight_no = flight;
  if (els.date.value) body.date = els.date.value;

  const problems = [];
  if (!body.customer_name) problems.push(['customer_name', 'Please enter your name.']);
  if (!body.customer_email) problems.push(['customer_email', 'Please enter your email address.']);
  else if (els.email.validity.typeMismatch || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(body.customer_email)) problems.push(['customer_email', 'Please enter a valid email address, like name@example.com.']);
  if (flight && !FLIGHT_PATTERN.test(flight)) problems.push(['flight_no', 'Use the airline code and number, like NZ123.']);
  if (problems.length > 0) {
    for (const [field, message] of problems) showFieldError(field, message);
    return;
  }

  els.startButton.disabled = true;
  els.startButton.textContent = 'Starting…';
  try {
    const response = await fetch('/chat/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const payload = await response.json().catch(() => null);
    if (response.ok && payload && typeof payload.session_id === 'string') {
      const session = { session_id: payload.session_id, context: payload.context ?? {} };
      // With AUTH_SECRETS the service issues a token: it reads the session and buys socket tickets.
      if (typeof payload.token === 'string') session.token = payload.token;
      if (typeof payload.token_expires_at === 'string') session.token_expires_at = payload.token_expires_at;
      if (payload.limits) session.limits = payload.limits;
      openChat(session, [], []);
      return;
    }
    const error = payload?.error;
    if (error?.code === 'validation_failed' && Array.isArray(error.fields) && error.fields.length > 0) {
      for (const field of error.fields) showFieldError(field.field, FIELD_HINTS[field.field] ?? `${field.field} ${field.message}.`);
    } else if (error?.code === 'rate_limited') {
      showStartError(`Too many chats were started from here just now. Please try again in ${seconds(error.retry_after_ms ?? 60_000)}.`);
    } else {
      showStartError('We could not start the chat. Please try again in a moment.');
    }
  } catch {
    showStartError('We cannot reach the service. Check your connection and try again.');
  } finally {
    els.startButton.disabled = false;
    els.startButton.textContent = 'Start chat';
  }
}

/** What to say when the service refuses a field. */
const FIELD_HINTS = {
  customer_name: 'Please enter your name (up to 200 characters).',
  customer_email: 'Please enter a valid email address, like name@example.com.',
  flight_no: 'Use the airline code and number, like NZ123.',
  date: 'Please pick a valid date.',
};

function showFieldError(field, message) {
  const input = FIELD_INPUTS[/** @type {keyof typeof FIELD_INPUTS} */ (field)];
  if (!input) {
    showStartError(message);
    return;
  }
  input.setAttribute('aria-invalid', 'true');
  const note = byId(`${input.id}-error`);
  note.textContent = message;
  note.hidden = false;
  if (!els.startForm.querySelector('[aria-invalid="true"]:focus')) input.focus();
}

function showStartError(message) {
  els.startError.textContent = message;
  els.startError.hidden = false;
}

function clearFieldErrors() {
  els.startError.hidden = true;
  for (const input of Object.values(FIELD_INPUTS)) {
    input.removeAttribute('aria-invalid');
    byId(`${input.id}-error`).hidden = true;
  }
}

// ---------------------------------------------------------------------------------- the chat

/**
 * Shows the conversation for a session: its finished turns, then the turns still being
 * answered (question and answer so far; resumed from their seq once the socket is open).
 */
function openChat(session, history, inProgress) {
  state.session = session;
  state.maxLength = Number(session.limits?.max_message_length) || 0;
  saveSession(session);
  els.start.hidden = true;
  els.chat.hidden = false;
  renderTripSummary(session.context);
  els.transcript.replaceChildren();
  state.turns.clear();
  for (const entry of history) {
    const turn = addTurn(entry.message_id, entry.user, true);
    turn.accepted = true;
    finishTurn(turn, entry.assistant, entry.metadata, entry.timestamp, false);
  }
  for (const entry of inProgress) {
    if (state.turns.has(entry.message_id)) continue;
    const turn = addTurn(entry.message_id, String(entry.user ?? ''), typeof entry.user === 'string');
    turn.accepted = true;
    turn.interrupted = true; // resumed from entry.seq when the socket opens
    if (entry.seq >= 0) {
      turn.nextSeq = entry.seq + 1;
      setAnswerText(turn, String(entry.content ?? ''));
      turn.state = 'streaming';
      turn.el.dataset.state = 'streaming';
    }
  }
  if (history.length === 0 && inProgress.length === 0) showEmptyState();
  updateCharCount();
  updateStopButton();
  state.wantSocket = true;
  state.attempt = 0;
  void connect();
  els.input.focus();
  scrollToEnd(true);
}

function renderTripSummary(context) {
  const parts = [];
  const name = document.createElement('strong');
  name.textContent = String(context.customer_name ?? '');
  parts.push(name);
  if (context.flight_no) parts.push(tag(`Flight ${context.flight_no}`));
  if (context.date) parts.push(tag(formatDate(String(context.date))));
  els.tripSummary.replaceChildren(...parts);
}

function tag(text) {
  const span = document.createElement('span');
  span.className = 'trip-tag';
  span.textContent = text;
  return span;
}

function showEmptyState() {
  const item = document.createElement('li');
  item.className = 'empty-state';
  item.id = 'empty-state';
  const title = document.createElement('h2');
  const first = String(state.session?.context.customer_name ?? '').split(/\s+/)[0];
  title.textContent = first ? `Hi ${first}, how can we help?` : 'How can we help?';
  const text = document.createElement('p');
  text.textContent = 'Ask a question, or start with one of these:';
  const chips = document.createElement('div');
  chips.className = 'suggestions';
  for (const suggestion of SUGGESTIONS) {
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.className = 'suggestion';
    chip.textContent = suggestion;
    chip.addEventListener('click', () => {
      els.input.value = suggestion;
      sendMessage();
    });
    chips.append(chip);
  }
  item.append(title, text, chips);
  els.transcript.append(item);
}

els.newChat.addEventListener('click', () => {
  // Nothing to lose yet: no question asked, nothing typed.
  if (state.turns.size === 0 && els.input.value.trim() === '') {
    startOver();
    return;
  }
  els.newChatDialog.returnValue = '';
  els.newChatDialog.showModal();
});

els.newChatDialog.addEventListener('close', () => {
  if (els.newChatDialog.returnValue === 'new') startOver();
  else els.input.focus();
});

function startOver() {
  closeChat();
  els.input.value = '';
  els.start.hidden = false;
  els.chat.hidden = true;
  els.name.focus();
}

/** Leaves the chat: closes the socket for good and forgets the session. */
function closeChat() {
  state.wantSocket = false;
  clearTimeout(state.retryTimer);
  clearInterval(state.countdownTimer);
  clearTimeout(state.recoveryTimer);
  state.socket?.close(1000, 'left');
  state.socket = null;
  state.connecting = false;
  state.session = null;
  forgetSession();
  setConnection('idle', 'Not connected');
}

/**
 * The conversation outlives the tab: kept in localStorage (with its token) until the session
 * would have expired anyway, so the page opened again rejoins it.
 */
function saveSession(session) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ ...session, saved_at: Date.now() }));
  } catch {
    // Storage full or disabled (private mode): the chat still works, for this page only.
  }
}

function loadSession() {
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
  } catch {
    saved = null;
  }
  if (!saved || typeof saved.session_id !== 'string') return null;
  const expired =
    !(Date.now() - Number(saved.saved_at) < KEEP_SESSION_MS) ||
    (typeof saved.token_expires_at === 'string' && Date.parse(saved.token_expires_at) <= Date.now());
  if (expired) {
    forgetSession();
    return null;
  }
  delete saved.saved_at;
  return saved;
}

function forgetSession() {
  try {
    localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing kept.
  }
}

// ---------------------------------------------------------------------------------- sending

els.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  sendMessage();
});

els.input.addEventListener('keydown', (event) => {
  // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition is left alone.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    sendMessage();
  }
});

els.input.addEventListener('input', () => {
  autoGrow();
  updateCharCount();
});

/** The one message about the length limit, before sending and if the service refuses. */
function tooLongMessage() {
  return state.maxLength > 0
    ? `Your message is too long: the limit is ${state.maxLength} characters. Please shorten it.`
    : 'Your message is too long. Please shorten it.';
}

/** Characters as the service counts them (UTF-16 code units of the trimmed text). */
function messageLength() {
  return els.input.value.trim().length;
}

/** Shows how much room is left once a message gets near the limit, and refuses one over it. */
function updateCharCount() {
  const limit = state.maxLength;
  const length = messageLength();
  const over = limit > 0 && length > limit;
  if (limit > 0 && length >= limit * 0.8) {
    els.charCount.hidden = false;
    els.charCount.textContent = over ? `${length - limit} over the limit of ${limit}` : `${limit - length} characters left`;
    els.charCount.dataset.over = String(over);
  } else {
    els.charCount.hidden = true;
  }
  if (over) els.input.setAttribute('aria-invalid', 'true');
  else els.input.removeAttribute('aria-invalid');
  if (over) showComposerNotice(tooLongMessage(), 'message_too_long');
  else if (els.composerNotice.dataset.code === 'message_too_long') hideComposerNotice();
}

function autoGrow() {
  els.input.style.height = 'auto';
  els.input.style.height = `${Math.min(els.input.scrollHeight + 2, 180)}px`;
}

function sendMessage() {
  const text = els.input.value;
  if (text.trim() === '') {
    els.input.focus();
    return;
  }
  if (state.maxLength > 0 && messageLength() > state.maxLength) {
    updateCharCount();
    els.input.focus();
    return;
  }
  const socket = state.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    showComposerNotice('Not connected yet. Your message stays here; send it once we are back.');
    return;
  }
  const id = `m${Date.now().toString(36)}${randomId(8)}`;
  socket.send(JSON.stringify({ type: 'message', message: text, message_id: id }));
  byId('empty-state')?.remove();
  addTurn(id, text.trim(), true).own = true;
  if (state.session) saveSession(state.session); // the session's idle clock restarts
  els.input.value = '';
  autoGrow();
  updateCharCount();
  scrollToEnd(true);
  updateStopButton();
}

els.stop.addEventListener('click', () => {
  // Hook for cancellation (SUPPORTS.cancel): the service ends the turn with an error frame.
  const turn = [...state.turns.values()].reverse().find((t) => t.userEl && (t.state === 'sent' || t.state === 'streaming'));
  if (turn && state.socket?.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify({ type: 'cancel', message_id: turn.id }));
});

function updateStopButton() {
  const running = [...state.turns.values()].some((t) => t.userEl && (t.state === 'sent' || t.state === 'streaming'));
  els.stop.hidden = !(SUPPORTS.cancel && running);
}

// ---------------------------------------------------------------------------------- transcript

/** Adds a question (when it is ours to show) and its answer's bubble, waiting for the first token. */
function addTurn(id, question, withQuestion) {
  /** @type {HTMLElement | null} */
  let userEl = null;
  if (withQuestion) {
    userEl = messageItem('user', 'You');
    const bubble = userEl.querySelector('.bubble');
    bubble.textContent = question;
    userEl.dataset.messageId = id;
    els.transcript.append(userEl);
  }
  const el = messageItem('assistant', 'Assistant');
  el.dataset.messageId = id;
  el.dataset.state = 'sent';
  el.setAttribute('aria-busy', 'true');
  const textEl = document.createElement('div');
  textEl.className = 'answer-text';
  el.querySelector('.bubble').append(textEl);
  els.transcript.append(el);
  /** @type {Turn} */
  const turn = { id, userEl, el, textEl, state: 'sent', nextSeq: 0, interrupted: false, gap: false, question, accepted: false, resuming: false, text: '', renderFrame: 0 };
  state.turns.set(id, turn);
  return turn;
}

function messageItem(role, who) {
  const item = document.createElement('li');
  item.className = `msg msg-${role}`;
  const label = document.createElement('p');
  label.className = 'msg-who';
  label.textContent = who;
  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  item.append(label, bubble);
  return item;
}

/** A frame for a turn this window did not send (another window of the same session). */
function turnFor(id) {
  let turn = state.turns.get(id);
  if (!turn) {
    byId('empty-state')?.remove();
    turn = addTurn(id, '', false);
  }
  return turn;
}

/** Whether the turn has ended here (answered, failed or stopped): its frames are done. */
function ended(turn) {
  return turn.state === 'complete' || turn.state === 'error' || turn.state === 'stopped';
}

/**
 * `user_message`: a question the session accepted, from this window or another (a second tab,
 * another device). Ours is marked as taken; another's is shown, before its answer.
 */
function onUserMessage(frame) {
  const id = String(frame.message_id ?? '');
  if (!id) return;
  let turn = state.turns.get(id);
  if (!turn) {
    byId('empty-state')?.remove();
    turn = addTurn(id, String(frame.content ?? ''), true);
  } else if (!turn.userEl) {
    // Its answer's frames came first (this window joined mid-turn): the question goes above it.
    const userEl = messageItem('user', 'You');
    userEl.querySelector('.bubble').textContent = String(frame.content ?? '');
    userEl.dataset.messageId = id;
    turn.el.before(userEl);
    turn.userEl = userEl;
    turn.question = String(frame.content ?? '');
  }
  turn.accepted = true;
  updateStopButton();
}

/** Asks the service for the turn's frames after the last one this window has (see socket-resume). */
function requestResume(turn) {
  if (turn.resuming || state.socket?.readyState !== WebSocket.OPEN) return;
  turn.resuming = true;
  state.socket.send(JSON.stringify({ type: 'resume', message_id: turn.id, seq: turn.nextSeq - 1 }));
}

function onChunk(frame) {
  const turn = turnFor(frame.message_id);
  if (ended(turn)) return;
  if (frame.seq < turn.nextSeq) return; // seen already
  // A merged chunk (sent while this window read slowly) covers first_seq..seq.
  const first = typeof frame.first_seq === 'number' ? frame.first_seq : frame.seq;
  if (first > turn.nextSeq) {
    // Frames were published while this window was away (it joined mid-answer, or its socket
    // dropped): the service replays exactly the missing ones, then the live rest.
    requestResume(turn);
    return;
  }
  turn.resuming = false;
  const stick = isNearEnd();
  appendAnswerText(turn, frame.content);
  turn.nextSeq = frame.seq + 1;
  if (turn.state !== 'streaming') {
    turn.state = 'streaming';
    turn.el.dataset.state = 'streaming';
  }
  if (turn.interrupted) {
    turn.interrupted = false;
    setTurnNote(turn, null);
  }
  scrollToEnd(stick);
}

/** Adds streamed text; the Markdown is rendered at most once per frame of the display. */
function appendAnswerText(turn, text) {
  turn.text += String(text);
  if (turn.renderFrame) return;
  turn.renderFrame = requestAnimationFrame(() => {
    turn.renderFrame = 0;
    if (!ended(turn)) turn.textEl.replaceChildren(renderMarkdown(turn.text));
  });
}

/** Replaces the answer's text (a snapshot, a reset, the whole answer). */
function setAnswerText(turn, text) {
  cancelAnimationFrame(turn.renderFrame);
  turn.renderFrame = 0;
  turn.text = String(text);
  turn.textEl.replaceChildren(renderMarkdown(turn.text));
}

/**
 * `reset`: another attempt took the answer over, so the text so far is dropped. `snapshot`: a
 * resume whose missed frames were no longer all kept, so the answer so far replaces the text.
 */
function onRestart(frame) {
  const turn = turnFor(frame.message_id);
  if (ended(turn)) return;
  if (frame.seq < turn.nextSeq - 1 || (frame.type === 'reset' && frame.seq < turn.nextSeq)) return; // seen already
  setAnswerText(turn, frame.type === 'snapshot' ? String(frame.content) : '');
  turn.nextSeq = frame.seq + 1;
  turn.resuming = false;
  turn.interrupted = false;
  setTurnNote(turn, null);
}

function onComplete(frame) {
  const turn = turnFor(frame.message_id);
  if (ended(turn)) return;
  const stick = isNearEnd();
  finishTurn(turn, frame.content, frame.metadata, frame.timestamp, true);
  scrollToEnd(stick);
}

/**
 * Shows the whole answer (the authoritative text, as Markdown), its sources and a line of
 * facts. `announce`: say it once to screen readers (live answers, not the history).
 */
function finishTurn(turn, content, metadata, timestamp, speak) {
  turn.state = 'complete';
  turn.interrupted = false;
  turn.resuming = false;
  turn.el.dataset.state = 'complete';
  turn.el.removeAttribute('aria-busy');
  setAnswerText(turn, content);
  setTurnNote(turn, null);
  const bubble = turn.el.querySelector('.bubble');
  bubble.querySelector('.sources')?.remove();
  const sources = Array.isArray(metadata?.sources) ? metadata.sources : [];
  if (sources.length > 0) {
    const list = renderSources(sources, turn.id);
    bubble.append(list);
    linkCitations(turn.textEl, (n) => list.querySelector(`li[data-n="${n}"]`)?.id ?? null);
  }
  turn.el.querySelector('.msg-meta')?.remove();
  const meta = document.createElement('p');
  meta.className = 'msg-meta';
  if (metadata?.offline_model === true) {
    // The bundled demo model, not the airline's assistant: said as a badge, not in the answer.
    const badge = document.createElement('span');
    badge.className = 'badge badge-offline';
    badge.textContent = 'Offline demo model';
    badge.title = 'This answer was written by the small model bundled with the service for demos and tests.';
    meta.append(badge);
  }
  const facts = [formatTime(timestamp)];
  if (typeof metadata?.response_time_ms === 'number') facts.push(`answered in ${(metadata.response_time_ms / 1000).toFixed(1)} s`);
  meta.append(document.createTextNode(facts.filter(Boolean).join(' · ')));
  turn.el.append(meta);
  if (speak) announce(`The assistant answered: ${turn.textEl.textContent ?? ''}`);
  updateStopButton();
}

/** One announcement for screen readers (the live region is not the transcript, see index.html). */
function announce(text) {
  els.announcer.textContent = text;
}

/**
 * `sources: [{n, title, source, score}]`, numbered as the answer's [n] citations. A policy
 * document section (`baggage-allowance.md#carry-on-baggage`) links to its readable page, which
 * the gateway serves at `/docs/<document>#<section>`; a web address links to itself.
 */
function renderSources(sources, turnId) {
  const box = document.createElement('div');
  box.className = 'sources';
  const title = document.createElement('p');
  title.className = 'sources-title';
  title.textContent = 'Sources';
  const list = document.createElement('ol');
  for (const source of sources) {
    const item = document.createElement('li');
    if (Number.isInteger(source.n) && source.n > 0) {
      item.value = source.n;
      item.dataset.n = String(source.n);
      item.id = `source-${turnId}-${source.n}`;
    }
    const where = String(source.source ?? '');
    const name = String(source.title || 'Source');
    const href = sourceHref(where, name);
    if (href) {
      const link = document.createElement('a');
      link.href = href;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      link.textContent = name;
      item.append(link);
    } else {
      item.append(document.createTextNode(name));
    }
    list.append(item);
  }
  box.append(title, list);
  return box;
}

/** Where a source can be read, or null: a policy document's section page, or a web address. */
function sourceHref(where, title) {
  const doc = /^([a-z0-9][a-z0-9-]{0,80})\.md(?:#([a-z0-9-]{1,120}))?$/.exec(where);
  if (doc) {
    // Without a fragment, the section is the part of the title after the dash.
    const section = doc[2] ?? slugify(title.split(' \u2014 ')[1] ?? '');
    return `/docs/${doc[1]}${section ? `#${section}` : ''}`;
  }
  return /^https?:\/\//i.test(where) ? where : null;
}

/** The policy documents' section slugs (as worker/src/context/policy-corpus.ts makes them). */
function slugify(heading) {
  return heading
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function onError(frame) {
  const code = String(frame.code ?? 'internal_error');
  const text = describeError(code, String(frame.content ?? ''), frame.retry_after_ms);
  let turn = frame.message_id ? state.turns.get(frame.message_id) : undefined;
  // Refusals of a message carry no message id: they answer the newest message this window sent
  // (a socket's messages are handled in order). It may have been announced already: the service
  // can still fail to queue it after that (queue_unavailable).
  if (!turn && REFUSALS.has(code)) turn = [...state.turns.values()].reverse().find((t) => t.userEl && t.own && t.state === 'sent' && t.nextSeq === 0);
  if (!turn) {
    // About the connection (sent just before the service closes it), not about a message.
    state.closeReason = text;
    state.closeReasonAt = Date.now();
    showComposerNotice(text, code);
    return;
  }
  if (code === 'resume_unavailable') {
    turn.resuming = false;
    if (turn.userEl && !turn.accepted && turn.nextSeq === 0 && !ended(turn)) {
      // Ours, never announced, and unknown to the service: the connection dropped before the
      // message reached it. It goes back into the box.
      refuse(turn, 'not_delivered', describeError('not_delivered', ''));
      return;
    }
    // The service no longer has this answer's frames: it is in the session history once finished.
    if (!ended(turn)) turn.interrupted = true;
    state.recoveryPolls = 0;
    clearTimeout(state.recoveryTimer);
    state.recoveryTimer = window.setTimeout(pollHistory, 500);
    return;
  }
  const stick = isNearEnd();
  if (code === 'cancelled') {
    // Stopped by the customer (here or in another window): not an error. What came stays.
    turn.state = 'stopped';
    turn.interrupted = false;
    turn.el.dataset.state = 'stopped';
    turn.el.removeAttribute('aria-busy');
    if (turn.text === '') turn.el.querySelector('.bubble').hidden = true;
    setTurnNote(turn, null);
    const note = document.createElement('p');
    note.className = 'msg-note msg-note-stopped';
    note.textContent = turn.text === '' ? 'You stopped this answer before it began.' : 'You stopped this answer.';
    turn.el.append(note);
    announce('Answer stopped.');
    updateStopButton();
    scrollToEnd(stick);
    return;
  }
  turn.state = 'error';
  turn.interrupted = false;
  turn.el.removeAttribute('aria-busy');
  setTurnNote(turn, null);
  if (REFUSALS.has(code) && turn.text === '' && turn.userEl) {
    // Not taken: the question is marked and goes back into the box to edit or resend.
    turn.el.remove();
    state.turns.delete(turn.id);
    turn.userEl.dataset.state = 'refused';
    turn.userEl.append(errorBox(`Not sent. ${text}`, code));
    if (els.input.value.trim() === '') {
      els.input.value = turn.question;
      autoGrow();
    }
  } else {
    turn.el.dataset.state = 'error';
    if (turn.text === '') turn.el.querySelector('.bubble').hidden = true;
    turn.el.append(errorBox(text, code));
  }
  updateStopButton();
  scrollToEnd(stick);
}

/** A question the service did not take: marked, and its text back in the box to resend. */
function refuse(turn, code, text) {
  turn.state = 'error';
  turn.el.remove();
  state.turns.delete(turn.id);
  if (!turn.userEl) return;
  turn.userEl.dataset.state = 'refused';
  turn.userEl.append(errorBox(`Not sent. ${text}`, code));
  if (els.input.value.trim() === '') {
    els.input.value = turn.question;
    autoGrow();
    updateCharCount();
  }
  updateStopButton();
}

function errorBox(text, code) {
  const box = document.createElement('div');
  box.className = 'msg-error';
  box.setAttribute('role', 'alert');
  box.dataset.code = code;
  box.append(icon('M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 15h-2v-2h2v2zm0-4h-2V7h2v6z'));
  const body = document.createElement('div');
  // Plain words only: the service's code stays in data-code, for support and tests.
  const message = document.createElement('span');
  message.textContent = text;
  body.append(message);
  box.append(body);
  return box;
}

function icon(path) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const shape = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  shape.setAttribute('d', path);
  svg.append(shape);
  return svg;
}

/** What to tell a person about an error code, in plain words. */
function describeError(code, content, retryAfterMs) {
  switch (code) {
    case 'rate_limited':
      return `You are sending messages too quickly. Please wait ${seconds(retryAfterMs ?? 1000)} and try again.`;
    case 'timeout':
      return 'The answer took too long. Please ask again.';
    case 'message_too_long':
    case 'payload_too_large': {
      const limit = /(\d+) characters/.exec(content)?.[1];
      if (limit && !state.maxLength) state.maxLength = Number(limit);
      return tooLongMessage();
    }
    case 'not_delivered':
      return 'The connection dropped before your message reached us. Please send it again.';
    case 'empty_message':
      return 'Type a message first.';
    case 'llm_unavailable':
      return 'The assistant is unavailable right now. Please try again in a moment.';
    case 'llm_stream_interrupted':
      return 'The answer was interrupted. Please ask again.';
    case 'cancelled':
      return 'You stopped this answer.';
    case 'queue_unavailable':
    case 'service_unavailable':
      return 'The service is busy or restarting. Please try again shortly.';
    case 'session_not_found':
      return 'This chat has ended. Start a new chat to continue.';
    case 'too_many_connections':
      return 'This chat is open in too many windows. Close one and this one will reconnect.';
    case 'internal_error':
      return 'Something went wrong on our side. Please try again.';
    case 'invalid_json':
    case 'unknown_frame':
    case 'binary_not_supported':
    case 'validation_failed':
      return 'This page sent something the service did not understand. Please reload the page.';
    default:
      // Never the service's own wording or code: it is written for developers.
      return 'Something went wrong. Please try again.';
  }
}

function setTurnNote(turn, text) {
  let note = /** @type {HTMLElement | null} */ (turn.el.querySelector('.msg-note'));
  if (!text) {
    note?.remove();
    return;
  }
  if (!note) {
    note = document.createElement('p');
    note.className = 'msg-note msg-note-warn';
    turn.el.querySelector('.bubble').after(note);
  }
  note.textContent = text;
}

function addSystemNote(text, kind) {
  const item = document.createElement('li');
  item.className = 'system-note';
  item.dataset.kind = kind;
  item.textContent = text;
  els.transcript.append(item);
  scrollToEnd(true);
}

function showComposerNotice(text, code, withRetry = false) {
  els.composerNoticeText.textContent = text;
  els.composerNotice.dataset.code = code ?? '';
  els.retryNow.hidden = !withRetry;
  els.composerNotice.hidden = false;
}

function hideComposerNotice() {
  els.composerNotice.hidden = true;
  els.composerNotice.dataset.code = '';
  els.retryNow.hidden = true;
}

function isNearEnd() {
  const s = els.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToEnd(stick) {
  if (stick) els.scroller.scrollTop = els.scroller.scrollHeight;
}

// ---------------------------------------------------------------------------------- the socket

/** The session's own headers: its token, when the service issued one. */
function authHeaders(session) {
  return session?.token ? { authorization: `Bearer ${session.token}` } : {};
}

async function connect() {
  clearTimeout(state.retryTimer);
  clearInterval(state.countdownTimer);
  const session = state.session;
  if (!session || !state.wantSocket || state.socket || state.connecting) return;
  state.connecting = true;
  setConnection(state.dropped ? 'reconnecting' : 'connecting', state.dropped ? 'Reconnecting…' : 'Connecting…');
  let query = '';
  if (session.token) {
    // Browsers cannot set headers on a WebSocket: the token buys a single-use ticket for the URL.
    let response = null;
    try {
      response = await fetch('/chat/ticket', { method: 'POST', headers: { accept: 'application/json', ...authHeaders(session) } });
    } catch {
      response = null;
    }
    if (state.session !== session || !state.wantSocket) return;
    if (response?.ok) {
      const body = await response.json().catch(() => null);
      if (typeof body?.ticket === 'string') query = `?ticket=${encodeURIComponent(body.ticket)}`;
    } else if (response && (response.status === 401 || response.status === 403)) {
      state.connecting = false;
      endChat('This chat has expired. Select "New chat" to start another.');
      return;
    } else if (response?.status !== 404) {
      // Unreachable or busy (404 means the service issues no tickets: connect without one).
      state.connecting = false;
      onSocketClosed(1006);
      return;
    }
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${scheme}//${location.host}/ws/${encodeURIComponent(session.session_id)}/${encodeURIComponent(state.clientId)}${query}`;
  const socket = new WebSocket(url);
  state.socket = socket;
  state.connecting = false;
  socket.addEventListener('open', () => {
    if (state.socket !== socket) return;
    state.attempt = 0;
    state.closeReason = '';
    setConnection('connected', 'Connected');
    state.probes = 0;
    hideComposerNotice();
    updateCharCount();
    state.dropped = false;
    // After a drop, or a reload that found answers in progress: pick them up where they were.
    recoverInterruptedTurns();
  });
  socket.addEventListener('message', (event) => {
    if (state.socket !== socket || typeof event.data !== 'string') return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    // Frame types this page does not know (newer services add some) are left alone.
    if (frame.type === 'chunk') onChunk(frame);
    else if (frame.type === 'user_message') onUserMessage(frame);
    else if (frame.type === 'reset' || frame.type === 'snapshot') onRestart(frame);
    else if (frame.type === 'complete') onComplete(frame);
    else if (frame.type === 'error') onError(frame);
  });
  // An error event is always followed by close, which decides what to do.
  socket.addEventListener('close', (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    onSocketClosed(event.code);
  });
}

/** Nothing to reconnect to: the session expired, or this page may not open it. */
function endChat(message) {
  state.wantSocket = false;
  forgetSession();
  setConnection('closed', 'Chat ended');
  hideComposerNotice();
  addSystemNote(message, 'error');
}

function onSocketClosed(code) {
  interruptRunningTurns();
  if (!state.wantSocket) return;
  if (code === 4404 || code === 4400) {
    endChat('This chat has ended. Select "New chat" to start another.');
    return;
  }
  if (code === 4403 || (code === 4401 && !state.session?.token)) {
    // Refused by the service's access rules (origin, or a token this page does not have).
    endChat('This chat cannot be opened here. Select "New chat" to start another.');
    return;
  }
  const opened = !state.dropped;
  state.dropped = true;
  if (!navigator.onLine) {
    setConnection('offline', 'Offline');
    showComposerNotice('You are offline. We will reconnect when your connection is back.', 'offline', true);
    return;
  }
  if (code === 4429) {
    // Too many windows: give one a chance to close before trying again.
    scheduleReconnect(10_000 * (0.75 + Math.random() * 0.5), false);
    return;
  }
  // A socket that had opened: the service may be restarting; find out when it is back (probe).
  // One that never opened though /health answered: back off, the service refuses it for now.
  if (opened) state.attempt = 0;
  const delay = state.attempt === 0 ? 0 : Math.min(RECONNECT_MAX_DELAY_MS, 500 * 2 ** (state.attempt - 1)) * (0.75 + Math.random() * 0.5);
  state.attempt += 1;
  scheduleReconnect(delay, true);
}

/**
 * Reconnects after `delayMs`; with `probe`, first waits for `GET /health` to answer, asking at
 * most PROBE_MAX_DELAY_MS apart: the page is back within about a second of the service,
 * however long it was away, and a down service costs one small request a second per page.
 */
function scheduleReconnect(delayMs, probe) {
  if (Date.now() - state.closeReasonAt > 5000) state.closeReason = '';
  setConnection('reconnecting', 'Reconnecting…');
  showComposerNotice(`${state.closeReason || 'Connection lost.'} Reconnecting…`, 'reconnecting', true);
  clearTimeout(state.retryTimer);
  state.retryTimer = window.setTimeout(() => (probe ? void probeHealth() : void connect()), delayMs);
}

async function probeHealth() {
  if (!state.wantSocket || state.socket || state.connecting) return;
  let up = false;
  try {
    const response = await fetch('/health', { cache: 'no-store', headers: { accept: 'application/json' } });
    up = response.ok;
  } catch {
    up = false;
  }
  if (!state.wantSocket || state.socket || state.connecting) return;
  if (up) {
    void connect();
    return;
  }
  state.probes += 1;
  const delay = Math.min(PROBE_MAX_DELAY_MS, PROBE_FIRST_DELAY_MS * 2 ** (state.probes - 1)) * (0.7 + Math.random() * 0.3);
  clearTimeout(state.retryTimer);
  state.retryTimer = window.setTimeout(() => void probeHealth(), delay);
}

els.retryNow.addEventListener('click', () => {
  if (!state.wantSocket || state.socket || state.connecting) return;
  clearTimeout(state.retryTimer);
  state.attempt = 0;
  void connect();
});

window.addEventListener('online', () => {
  if (state.wantSocket && !state.socket && !state.connecting) {
    state.attempt = 0;
    void connect();
  }
});
window.addEventListener('offline', () => {
  if (state.wantSocket) setConnection('offline', 'Offline');
});

/** Answers in progress when the socket closed: marked, and recovered after the reconnect. */
function interruptRunningTurns() {
  for (const turn of state.turns.values()) {
    if (turn.state !== 'sent' && turn.state !== 'streaming') continue;
    turn.interrupted = true;
    setTurnNote(turn, 'Connection lost while answering. Reconnecting…');
  }
}

/**
 * After a reconnect. Without resume in the service, frames published while this window was away
 * are gone: an answer still running continues from the next frame (see the `gap` handling in
 * onChunk), and one that finished meanwhile is read from the session history.
 */
function recoverInterruptedTurns() {
  const waiting = [...state.turns.values()].filter((t) => t.interrupted && (t.state === 'sent' || t.state === 'streaming'));
  if (waiting.length === 0) return;
  if (SUPPORTS.resume) {
    for (const turn of waiting) {
      setTurnNote(turn, null);
      turn.resuming = false;
      requestResume(turn);
    }
    return;
  }
  for (const turn of waiting) setTurnNote(turn, 'Reconnected. Waiting for the rest of this answer…');
  state.recoveryPolls = 0;
  clearTimeout(state.recoveryTimer);
  state.recoveryTimer = window.setTimeout(pollHistory, 500);
}

async function pollHistory() {
  const waiting = () => [...state.turns.values()].filter((t) => t.interrupted && (t.state === 'sent' || t.state === 'streaming'));
  if (!state.session || waiting().length === 0) return;
  try {
    const response = await fetch(`/chat/session/${encodeURIComponent(state.session.session_id)}`, { headers: { accept: 'application/json', ...authHeaders(state.session) } });
    if (response.ok) {
      const { history } = await response.json();
      for (const entry of Array.isArray(history) ? history : []) {
        const turn = state.turns.get(entry.message_id);
        if (turn && turn.interrupted && (turn.state === 'sent' || turn.state === 'streaming')) finishTurn(turn, entry.assistant, entry.metadata, entry.timestamp, true);
      }
    }
  } catch {
    // Offline again: the next reconnect starts a new round.
  }
  state.recoveryPolls += 1;
  if (waiting().length === 0) return;
  if (state.recoveryPolls >= RECOVERY_POLLS) {
    for (const turn of waiting()) {
      turn.state = 'error';
      turn.el.dataset.state = 'error';
      turn.el.removeAttribute('aria-busy');
      setTurnNote(turn, 'This answer was lost when the connection dropped. Please ask again.');
    }
    updateStopButton();
    return;
  }
  state.recoveryTimer = window.setTimeout(pollHistory, RECOVERY_POLL_MS);
}

function setConnection(kind, text) {
  els.connection.dataset.state = kind;
  els.connectionText.textContent = text;
  els.send.disabled = kind !== 'connected';
}

// ---------------------------------------------------------------------------------- helpers

function randomId(length) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

function seconds(ms) {
  const s = Math.max(1, Math.ceil(Number(ms) / 1000));
  return s === 1 ? '1 second' : `${s} seconds`;
}

function formatTime(iso) {
  const date = iso ? new Date(iso) : new Date();
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function formatDate(isoDate) {
  const date = new Date(`${isoDate}T00:00:00`);
  return Number.isNaN(date.getTime()) ? isoDate : date.toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' });
}

// ---------------------------------------------------------------------------------- start-up

/**
 * The page opened again (a reload, or a new tab within the resume window) rejoins its
 * conversation: the history with its questions, and the answers still being written, which
 * then go on streaming from where they are (see openChat and recoverInterruptedTurns).
 */
async function resume() {
  const saved = loadSession();
  if (!saved) return;
  els.start.hidden = true;
  try {
    const response = await fetch(`/chat/session/${encodeURIComponent(saved.session_id)}`, { headers: { accept: 'application/json', ...authHeaders(saved) } });
    if (response.status === 404 || response.status === 400 || response.status === 401 || response.status === 403) {
      forgetSession();
      els.start.hidden = false;
      showStartError('Your previous chat has ended. Start a new one below.');
      return;
    }
    const body = response.ok ? await response.json() : null;
    const session = { ...saved, context: body?.context ?? saved.context ?? {} };
    if (body?.limits) session.limits = body.limits;
    openChat(session, Array.isArray(body?.history) ? body.history : [], Array.isArray(body?.in_progress) ? body.in_progress : []);
  } catch {
    // Unreachable right now: show the chat anyway; the socket keeps trying.
    openChat(saved, [], []);
  }
}

void resume();
