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
 * field other than the content, anything malformed) is left to `JSON.parse`: `readContentChunk`
 * returns false and the caller parses the event as before, so the result is always what
 * `JSON.parse` would have given, malformed text included (it then throws the same error).
 */

/** Where `readContentChunk` puts what it read. Reused across events: no object per token. */
export interface ContentChunk {
  /** The event's model; the previous string is kept when it is unchanged (no copy per token). */
  model: string;
  /** The delta's content, decoded. */
  content: string;
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
 * Reads `data` into `into` when it has the content shape; returns false (leaving `into` as it
 * may have been partly written: the caller then parses the event) when it has not.
 */
export function readContentChunk(data: string, into: ContentChunk): boolean {
  if (!data.startsWith(HEAD)) return false;
  let at = plainStringEnd(data, HEAD.length);
  if (at < 0 || !data.startsWith(OBJECT, at + 1)) return false;
  // `created`: a JSON integer (no sign, no leading zero, no fraction or exponent).
  at += 1 + OBJECT.length;
  const digitsStart = at;
  while (at < data.length) {
    const c = data.charCodeAt(at);
    if (c < 48 || c > 57) break;
    at++;
  }
  if (at === digitsStart || (data.charCodeAt(digitsStart) === 48 && at - digitsStart > 1)) return false;
  if (!data.startsWith(MODEL, at)) return false;
  const modelStart = at + MODEL.length;
  const modelEnd = plainStringEnd(data, modelStart);
  if (modelEnd < 0) return false;
  at = modelEnd + 1;
  if (data.startsWith(SERVICE_TIER, at)) {
    const end = plainStringEnd(data, at + SERVICE_TIER.length);
    if (end < 0) return false;
    at = end + 1;
  }
  if (data.startsWith(FINGERPRINT, at)) {
    at += FINGERPRINT.length;
    if (data.startsWith('null', at)) at += 4;
    else if (data.charCodeAt(at) === QUOTE) {
      const end = plainStringEnd(data, at + 1);
      if (end < 0) return false;
      at = end + 1;
    } else return false;
  }
  if (!data.startsWith(CHOICE, at)) return false;
  // The content: any JSON string. Escapes are decoded by JSON.parse of the literal alone.
  const contentStart = at + CHOICE.length;
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
  at = contentEnd + 1;
  if (!data.startsWith(CHOICE_TAIL, at)) return false;
  at += CHOICE_TAIL.length;
  if (data.startsWith(USAGE_NULL, at)) at += USAGE_NULL.length;
  if (data.startsWith(OBFUSCATION, at)) {
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
  const model = into.model;
  if (model.length !== modelEnd - modelStart || !data.startsWith(model, modelStart)) into.model = data.slice(modelStart, modelEnd);
  into.content = content;
  return true;
}
