import type { IncomingHttpHeaders } from 'node:http';
import type { PromptMessage } from './answer-composer.js';
import { apiError, type ApiError } from './http-responses.js';
import type { PacingOptions } from './options.js';

/**
 * Validation of `POST /v1/chat/completions` bodies and of the pacing override headers. Written
 * by hand rather than with a schema: the messages and codes follow OpenAI's own
 * (`Missing required parameter: 'messages'.`, param `messages[0].role`), which is what clients of
 * an OpenAI-compatible endpoint are written against. Fields the offline model has no use for
 * (tools, response_format, ...) are accepted and ignored, so real prompts never fail here.
 */

/** A validated request, reduced to what the offline model uses. */
export interface ChatCompletionRequest {
  model: string;
  /** Contents reduced to text (text parts joined; other parts dropped). */
  messages: PromptMessage[];
  stream: boolean;
  /** `stream_options.include_usage` */
  includeUsage: boolean;
  /** `max_completion_tokens` or `max_tokens` (the smaller when both are given). */
  maxTokens: number | undefined;
  /** Names of the function tools offered (`tools[].function.name`); empty when none. */
  tools: Set<string>;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ApiError };

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;

export function parseChatCompletionRequest(body: unknown): Parsed<ChatCompletionRequest> {
  if (!isObject(body)) return invalid('The request body must be a JSON object.', null, 'invalid_type');

  const { model } = body;
  if (model === undefined || model === null) return invalid("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  if (typeof model !== 'string' || model.length === 0) return invalidType('model', 'a non-empty string', model);

  const messages = parseMessages(body.messages);
  if (!messages.ok) return messages;

  const stream = body.stream ?? false;
  if (typeof stream !== 'boolean') return invalidType('stream', 'a boolean', stream);

  let includeUsage = false;
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!isObject(streamOptions)) return invalidType('stream_options', 'an object', streamOptions);
    if (!stream) {
      return invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', 'invalid_value');
    }
    const include = streamOptions.include_usage ?? false;
    if (typeof include !== 'boolean') return invalidType('stream_options.include_usage', 'a boolean', include);
    includeUsage = include;
  }

  let maxTokens: number | undefined;
  for (const param of ['max_tokens', 'max_completion_tokens'] as const) {
    const value = body[param];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) return invalidType(param, 'an integer', value);
    if (value < 1) return invalid(`Invalid '${param}': integer below minimum value. Expected a value >= 1, but got ${value} instead.`, param, 'integer_below_min_value');
    maxTokens = maxTokens === undefined ? value : Math.min(maxTokens, value);
  }

  const temperature = body.temperature;
  if (temperature !== undefined && temperature !== null) {
    if (typeof temperature !== 'number' || !Number.isFinite(temperature)) return invalidType('temperature', 'a number', temperature);
    if (temperature < 0 || temperature > 2) {
      return invalid(`Invalid 'temperature': expected a value between 0 and 2, but got ${temperature} instead.`, 'temperature', 'invalid_value');
    }
  }

  const n = body.n;
  if (n !== undefined && n !== null && n !== 1) return invalid('The offline model supports only n = 1.', 'n', 'invalid_value');

  const tools = new Set<string>();
  if (Array.isArray(body.tools) && body.tool_choice !== 'none') {
    for (const tool of body.tools as unknown[]) {
      if (isObject(tool) && tool.type === 'function' && isObject(tool.function) && typeof tool.function.name === 'string') tools.add(tool.function.name);
    }
  }

  return { ok: true, value: { model, messages: messages.value, stream, includeUsage, maxTokens, tools } };
}

function parseMessages(value: unknown): Parsed<PromptMessage[]> {
  if (value === undefined || value === null) return invalid("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(value)) return invalidType('messages', 'an array of objects', value);
  if (value.length === 0) {
    return invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  }
  const messages: PromptMessage[] = [];
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    const param = `messages[${i}]`;
    if (!isObject(item)) return invalidType(param, 'an object', item);
    const { role } = item;
    if (role === undefined || role === null) return invalid(`Missing required parameter: '${param}.role'.`, `${param}.role`, 'missing_required_parameter');
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      return invalid(
        `Invalid value: ${JSON.stringify(role)}. Supported values are: ${ROLES.map((r) => `'${r}'`).join(', ')}.`,
        `${param}.role`,
        'invalid_value',
      );
    }
    // Assistant turns that only called tools, and tool results, may come without text.
    const content = parseContent(item.content, `${param}.content`, role === 'assistant' || role === 'tool');
    if (!content.ok) return content;
    messages.push({ role, content: content.value });
  }
  return { ok: true, value: messages };
}

/** A string, an array of content parts (text parts kept), or — for assistant turns — nothing. */
function parseContent(value: unknown, param: string, optional: boolean): Parsed<string> {
  if (typeof value === 'string') return { ok: true, value };
  if (value === undefined || value === null) {
    if (optional) return { ok: true, value: '' };
    return invalid(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
  }
  if (!Array.isArray(value)) return invalidType(param, 'a string or an array of content parts', value);
  const texts: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const part: unknown = value[i];
    const partParam = `${param}[${i}]`;
    if (!isObject(part) || typeof part.type !== 'string') return invalidType(partParam, 'a content part object with a type', part);
    if (part.type !== 'text') continue; // images, audio, files: the offline model reads text only
    if (typeof part.text !== 'string') return invalidType(`${partParam}.text`, 'a string', part.text);
    texts.push(part.text);
  }
  return { ok: true, value: texts.join('\n') };
}

/**
 * Per-request pacing headers (benchmarks); only read when the server allows overrides. The
 * numeric ones take a decimal integer, `x-offline-fill` takes `1` or `0` (or `true` / `false`).
 */
export const OVERRIDE_HEADERS = {
  ttftMs: 'x-offline-ttft-ms',
  tokensPerSecond: 'x-offline-tokens-per-second',
  answerTokens: 'x-offline-answer-tokens',
  fillToAnswerTokens: 'x-offline-fill',
} as const satisfies Record<keyof PacingOptions, string>;

type NumericPacingKey = { [K in keyof PacingOptions]: PacingOptions[K] extends number ? K : never }[keyof PacingOptions];

/**
 * Accepted range of each numeric override; bounded so one header cannot make a stream run for
 * hours (or, with fill, build a huge answer).
 */
const OVERRIDE_LIMITS: Readonly<Record<NumericPacingKey, readonly [min: number, max: number]>> = {
  ttftMs: [0, 600_000],
  tokensPerSecond: [0, 1_000_000],
  answerTokens: [1, 100_000],
};

const FLAG_VALUES: ReadonlyMap<string, boolean> = new Map([
  ['1', true],
  ['0', false],
  ['true', true],
  ['false', false],
]);

/** The server's pacing with any override headers applied. */
export function parsePacingOverrides(headers: IncomingHttpHeaders, defaults: PacingOptions): Parsed<PacingOptions> {
  const pacing: PacingOptions = { ...defaults };
  for (const key of Object.keys(OVERRIDE_LIMITS) as NumericPacingKey[]) {
    const name = OVERRIDE_HEADERS[key];
    const text = headerText(headers[name]);
    if (text === undefined) continue;
    const [min, max] = OVERRIDE_LIMITS[key];
    const value = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
    if (!(value >= min && value <= max)) {
      return invalid(`Invalid header '${name}': expected an integer from ${min} to ${max}, but got ${JSON.stringify(text)} instead.`, name, 'invalid_value');
    }
    pacing[key] = value;
  }
  const fillName = OVERRIDE_HEADERS.fillToAnswerTokens;
  const fillText = headerText(headers[fillName]);
  if (fillText !== undefined) {
    const fill = FLAG_VALUES.get(fillText.trim().toLowerCase());
    if (fill === undefined) {
      return invalid(`Invalid header '${fillName}': expected 1 or 0, but got ${JSON.stringify(fillText)} instead.`, fillName, 'invalid_value');
    }
    pacing.fillToAnswerTokens = fill;
  }
  return { ok: true, value: pacing };
}

function headerText(raw: string | string[] | undefined): string | undefined {
  return Array.isArray(raw) ? raw[0] : raw;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid<T>(message: string, param: string | null, code: string): Parsed<T> {
  return { ok: false, error: apiError(400, message, param, code) };
}

function invalidType<T>(param: string, expected: string, got: unknown): Parsed<T> {
  return invalid(`Invalid type for '${param}': expected ${expected}, but got ${describe(got)} instead.`, param, 'invalid_type');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}
