/**
 * Reads the one kind of streamed chat-completion event that carries an answer's text, without
 * `JSON.parse`: an event of exactly the shape OpenAI and the bundled offline model send for every
 * content token,
 *
 *   {"id":"…","object":"chat.completion.chunk","created":N,"model":"…"[,"service_tier":"…"]
 *    [,"system_fingerprint":"…"|null],"choices":[{"index":0,"delta":{"content":"…"},
 *    "logprobs":null,"finish_reason":null}][,"usage":null][,"obfuscation":"…"]}
 *
 * (no whitespace, keys in this order). For such an event the caller needs only the model and the
 * content: no usage, no tool calls, no finish reason, no error. Parsing it whole built an object
 * tree per token (the chunk, its choices array, the choice, the delta, five strings) and was the
 * largest single cost of reading a stream. Any other text (the role chunk, the finish chunk, the
 * usage chunk, tool calls, errors, whitespace, a key this shape does not name, an escape in a
 * field other than the content, anything malformed) is left to `JSON.parse`: `read`
 * returns false and the caller parses the event as before, so the result is always what
 * `JSON.parse` would have given, malformed text included (it then throws the same error).
 */

/** What `ContentChunkReader.read` read from the last event it answered for. */
export interface ContentChunk {
  /** The event's model; the same string object while it does not change (no copy per token). */
  readonly model: string;
  /** The delta's content, decoded. */
  readonly content: string;
}

const QUOTE = 34;
const BACKSLASH = 92;

const HEAD = '{"id":"';
const OBJECT = ',"object":"chat.completion.chunk","created":';
const MODEL = ',"model":"';
const SERVICE_TIER = ',"service_tier":"';
const FINGERPRINT = ',"system_fingerprint":';
const CHOICE = ',"choices":[{"index":0,"delta":{"content":"';
const CHOICE_TAIL = '},"logprobs":null,"finish_reason":null}]';
const USAGE_NULL = ',"usage":null';
const OBFUSCATION = ',"obfuscation":"';

/**
 * Whether `text` has `part` at `at`. Not `startsWith`: in this V8 it compares character by
 * character through a generic path (~5 ns a character, ~1 µs for an event's head), where a
 * substring compared with `===` is a memory compare.
 */
function textAt(text: string, at: number, part: string): boolean {
  return text.substring(at, at + part.length) === part;
}

/**
 * The end (index of the closing quote) of a JSON string whose opening quote is at `open - 1`,
 * when it holds no escape and no control character; -1 otherwise (the caller falls back).
 */
function plainStringEnd(text: string, open: number): number {
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}

/**
 * Reads content events of one stream. Everything before the content (id, created, model,
 * fingerprint) is the same in every event of a stream, so once one event's head has been read
 * field by field, later events that start with the very same text skip straight to the content.
 */
export class ContentChunkReader implements ContentChunk {
  model = '';
  content = '';
  /** The text of the last head read field by field, up to and including `"content":"`; '' before. */
  private head = '';
  /** The model that head names. */
  private headModel = '';
  /** Where `headEnd` found the model. */
  private modelStart = 0;
  private modelEnd = 0;

  /**
   * Reads `data` when it has the content shape and returns true; returns false (the caller then
   * parses the event) when it has not. `model` and `content` are only meaningful after true.
   */
  read(data: string): boolean {
    const known = this.head.length > 0 && textAt(data, 0, this.head);
    const contentStart = known ? this.head.length : this.headEnd(data);
    if (contentStart < 0) return false;
    // The content: any JSON string. Escapes are decoded by JSON.parse of the literal alone.
    let escaped = false;
    let contentEnd = -1;
    for (let i = contentStart; i < data.length; i++) {
      const c = data.charCodeAt(i);
      if (c === QUOTE) {
        contentEnd = i;
        break;
      }
      if (c === BACKSLASH) {
        escaped = true;
        i++; // the escaped character (a quote, a backslash, the `u` of \uXXXX…) is not the end
      } else if (c < 0x20) return false;
    }
    if (contentEnd < 0) return false;
    let at = contentEnd + 1;
    if (!textAt(data, at, CHOICE_TAIL)) return false;
    at += CHOICE_TAIL.length;
    if (textAt(data, at, USAGE_NULL)) at += USAGE_NULL.length;
    if (textAt(data, at, OBFUSCATION)) {
      const end = plainStringEnd(data, at + OBFUSCATION.length);
      if (end < 0) return false;
      at = end + 1;
    }
    if (at !== data.length - 1 || data.charCodeAt(at) !== 125 /* } */) return false;
    let content: string;
    if (escaped) {
      try {
        content = JSON.parse(data.slice(contentStart - 1, contentEnd + 1)) as string;
      } catch {
        return false; // a bad escape: the event's own JSON.parse reports it
      }
    } else content = data.slice(contentStart, contentEnd);
    if (!known) {
      // A head read field by field: kept for the next events (a new stream, or a changed field).
      this.head = data.slice(0, contentStart);
      const model = data.slice(this.modelStart, this.modelEnd);
      this.headModel = model === this.headModel ? this.headModel : model;
    }
    this.model = this.headModel;
    this.content = content;
    return true;
  }

  /**
   * Reads the head of a content event field by field: the index just after `"content":"` when
   * the text up to there has the shape (and where its model is), -1 otherwise.
   */
  private headEnd(data: string): number {
    if (!textAt(data, 0, HEAD)) return -1;
    let at = plainStringEnd(data, HEAD.length);
    if (at < 0 || !textAt(data, at + 1, OBJECT)) return -1;
    // `created`: a JSON integer (no sign, no leading zero, no fraction or exponent).
    at += 1 + OBJECT.length;
    const digitsStart = at;
    while (at < data.length) {
      const c = data.charCodeAt(at);
      if (c < 48 || c > 57) break;
      at++;
    }
    if (at === digitsStart || (data.charCodeAt(digitsStart) === 48 && at - digitsStart > 1)) return -1;
    if (!textAt(data, at, MODEL)) return -1;
    const modelStart = at + MODEL.length;
    const modelEnd = plainStringEnd(data, modelStart);
    if (modelEnd < 0) return -1;
    this.modelStart = modelStart;
    this.modelEnd = modelEnd;
    at = modelEnd + 1;
    if (textAt(data, at, SERVICE_TIER)) {
      const end = plainStringEnd(data, at + SERVICE_TIER.length);
      if (end < 0) return -1;
      at = end + 1;
    }
    if (textAt(data, at, FINGERPRINT)) {
      at += FINGERPRINT.length;
      if (textAt(data, at, 'null')) at += 4;
      else if (data.charCodeAt(at) === QUOTE) {
        const end = plainStringEnd(data, at + 1);
        if (end < 0) return -1;
        at = end + 1;
      } else return -1;
    }
    if (!textAt(data, at, CHOICE)) return -1;
    return at + CHOICE.length;
  }
}
