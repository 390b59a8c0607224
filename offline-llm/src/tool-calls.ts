import { asksForHuman, questionInContext } from '@chat/shared';
import type { CompletionIdentity, Usage } from './chunk-encoder.js';
import { SSE_DONE, SYSTEM_FINGERPRINT } from './chunk-encoder.js';
import type { PromptMessage } from './answer-composer.js';

/**
 * The offline model's side of OpenAI's tool-call protocol, so the worker's tool loop runs here
 * without a key. When the request offers tools and the conversation has no tool results after
 * the last user message, the model answers with tool calls instead of text, reading the
 * question as a model would: a flight number → `get_flight_status`, a route ("from Auckland to
 * Wellington", "flights to Sydney") → `search_schedule`, anything else that is not small talk →
 * `search_policies`. A question with a flight and a rule ("NZ123 is cancelled, can I get a
 * refund?") gets two calls in one response: parallel tool calls. Once the tool results are in
 * the conversation (role `tool`), it composes the answer from them like any other passages.
 *
 * Stream shape (as OpenAI sends it): the role chunk; per call a chunk with its index, id, type
 * and name, then its arguments; a chunk with `finish_reason: "tool_calls"`; usage; `[DONE]`.
 */

export interface PlannedToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments. */
  arguments: string;
}

const FLIGHT = /\b(?:A?NZ)\s?-?0*([1-9]\d{0,3})\b/i;
const ROUTE = /\b(?:from\s+([A-Za-zāēīōū' ]{3,30}?)\s+to\s+([A-Za-zāēīōū' ]{3,30}?)|(?:flights?|fly|flying)\s+to\s+([A-Za-zāēīōū' ]{3,30}?))(?=\s+(?:on|tomorrow|today|next|this|in|at|for|and)\b|[?.!,]|$)/i;
const DATE = /\b(\d{4}-\d{2}-\d{2}|today|tomorrow|(?:on\s+)?\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)\b/i;
const SMALL_TALK = /^\s*(?:hi|hello|hey|kia ora|thanks?|thank you|ok(?:ay)?|bye)\b[\s!.?]*$/i;
/** Words that ask a rule of the documents besides a flight's status. */
const POLICY_WORDS = /\b(?:refund|money|compensat\w*|voucher|meal|hotel|options?|rights?|bag\w*|luggage|pet|dog|cat|seat|upgrade|check[\s-]?in|fee|cost|allowed|can i|rebook|change)\b/i;

/** The tool calls to make now, or null to answer in text. */
export function planToolCalls(messages: readonly PromptMessage[], offered: ReadonlySet<string>, idPrefix: string): PlannedToolCall[] | null {
  if (offered.size === 0) return null;
  let lastUser = -1;
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') { lastUser = i; break; }
  if (lastUser === -1) return null;
  if (messages.slice(lastUser + 1).some((m) => m.role === 'tool')) return null;
  const question = messages[lastUser]!.content.replace(/^\s*(?:customer\s+)?(?:message|question)\s*:\s*/i, '').trim();
  if (!question || SMALL_TALK.test(question) || asksForHuman(question)) return null;
  let previous: string | undefined;
  for (let i = lastUser - 1; i >= 0; i--) if (messages[i]!.role === 'user') { previous = messages[i]!.content; break; }
  const focus = questionInContext(question, previous);
  const date = DATE.exec(focus)?.[1]?.replace(/^on\s+/i, '');
  const calls: Array<{ name: string; args: Record<string, string> }> = [];
  const flight = FLIGHT.exec(focus);
  const route = ROUTE.exec(focus);
  if (flight && offered.has('get_flight_status')) {
    calls.push({ name: 'get_flight_status', args: { flight_no: `NZ${flight[1]}`, ...(date ? { date } : {}) } });
  } else if (route && offered.has('search_schedule') && /\b(?:next|when|what time|flights?|schedule|timetable|depart)\b/i.test(focus) && !POLICY_WORDS.test(focus)) {
    const args: Record<string, string> = { destination: (route[2] ?? route[3] ?? '').trim() };
    if (route[1]) args.origin = route[1].trim();
    if (date) args.date = date;
    calls.push({ name: 'search_schedule', args });
  }
  if (offered.has('search_policies') && (calls.length === 0 || POLICY_WORDS.test(focus))) {
    calls.push({ name: 'search_policies', args: { query: focus } });
  }
  if (calls.length === 0) return null;
  return calls.map((c, i) => ({ id: `call_${idPrefix}_${i}`, name: c.name, arguments: JSON.stringify(c.args) }));
}

/** The whole SSE body of a tool-call response. */
export function toolCallStream(identity: CompletionIdentity, calls: readonly PlannedToolCall[], usage: Usage | undefined): string {
  const head = `data: {"id":${JSON.stringify(identity.id)},"object":"chat.completion.chunk","created":${identity.created},"model":${JSON.stringify(identity.model)},"system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":`;
  const usageNull = usage ? ',"usage":null' : '';
  const chunk = (delta: unknown, finish: string | null) => `${head}[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish ? `"${finish}"` : 'null'}}]${usageNull}}\n\n`;
  let out = chunk({ role: 'assistant', content: null }, null);
  calls.forEach((call, index) => {
    out += chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }, null);
    // Arguments arrive in pieces, as from a real model: the client must join them.
    const half = Math.ceil(call.arguments.length / 2);
    for (const piece of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
      if (piece) out += chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null);
    }
  });
  out += chunk({}, 'tool_calls');
  if (usage) out += `${head}[],"usage":${JSON.stringify(usage)}}\n\n`;
  return out + SSE_DONE;
}

/** The non-streamed body of a tool-call response. */
export function toolCallBody(identity: CompletionIdentity, calls: readonly PlannedToolCall[], usage: Usage): object {
  return {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: null, tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage,
  };
}
