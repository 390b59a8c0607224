import t from 'tap';
import { parseChatCompletionRequest, parsePacingOverrides } from '../src/completion-request.js';

const valid = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

function errorOf(body: unknown) {
  const parsed = parseChatCompletionRequest(body);
  if (parsed.ok) throw new Error('expected a refusal');
  return parsed.error;
}

t.test('a minimal request, and the fields the offline model uses', async (t) => {
  t.strictSame(parseChatCompletionRequest(valid), {
    ok: true,
    value: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: false, includeUsage: false, maxTokens: undefined, tools: new Set() },
  });
  const parsed = parseChatCompletionRequest({
    ...valid,
    messages: [
      { role: 'system', content: 'sys' },
      { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'b' }] },
      { role: 'assistant', content: null, tool_calls: [] },
    ],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: 50,
    max_completion_tokens: 40,
    temperature: 0.3,
    tools: [{ type: 'function', function: { name: 'search_policies', parameters: {} } }, { type: 'web_search' }],
  });
  t.strictSame(parsed, {
    ok: true,
    value: {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'a\nb' },
        { role: 'assistant', content: '' },
      ],
      stream: true,
      includeUsage: true,
      maxTokens: 40,
      tools: new Set(['search_policies']),
    },
  });
});

t.test('refusals name the parameter, in OpenAI style', async (t) => {
  t.strictSame(errorOf([]), { status: 400, message: 'The request body must be a JSON object.', param: null, code: 'invalid_type' });
  t.strictSame(errorOf({ messages: valid.messages }), {
    status: 400,
    message: "Missing required parameter: 'model'.",
    param: 'model',
    code: 'missing_required_parameter',
  });
  t.strictSame(errorOf({ model: 'm' }), { status: 400, message: "Missing required parameter: 'messages'.", param: 'messages', code: 'missing_required_parameter' });
  t.strictSame(errorOf({ model: 'm', messages: 'hi' }), {
    status: 400,
    message: "Invalid type for 'messages': expected an array of objects, but got a string instead.",
    param: 'messages',
    code: 'invalid_type',
  });
  t.match(errorOf({ model: 'm', messages: [] }), { param: 'messages', code: 'empty_array' });
  t.match(errorOf({ model: 'm', messages: ['hi'] }), { param: 'messages[0]', code: 'invalid_type' });
  t.match(errorOf({ model: 'm', messages: [{ content: 'x' }] }), { param: 'messages[0].role', code: 'missing_required_parameter' });
  t.strictSame(errorOf({ model: 'm', messages: [valid.messages[0], { role: 'robot', content: 'x' }] }), {
    status: 400,
    message: "Invalid value: \"robot\". Supported values are: 'system', 'developer', 'user', 'assistant', 'tool', 'function'.",
    param: 'messages[1].role',
    code: 'invalid_value',
  });
  t.match(errorOf({ model: 'm', messages: [{ role: 'user' }] }), { param: 'messages[0].content', code: 'missing_required_parameter' });
  t.match(errorOf({ model: 'm', messages: [{ role: 'user', content: 42 }] }), { param: 'messages[0].content', code: 'invalid_type' });
  t.match(errorOf({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 1 }] }] }), {
    param: 'messages[0].content[0].text',
    code: 'invalid_type',
  });
  t.match(errorOf({ ...valid, stream: 'yes' }), { param: 'stream', code: 'invalid_type' });
  t.match(errorOf({ ...valid, stream_options: { include_usage: true } }), { param: 'stream_options', code: 'invalid_value' });
  t.match(errorOf({ ...valid, stream: true, stream_options: { include_usage: 'yes' } }), { param: 'stream_options.include_usage' });
  t.match(errorOf({ ...valid, max_tokens: 0 }), { param: 'max_tokens', code: 'integer_below_min_value' });
  t.match(errorOf({ ...valid, max_tokens: 1.5 }), { param: 'max_tokens', code: 'invalid_type' });
  t.match(errorOf({ ...valid, temperature: 3 }), { param: 'temperature', code: 'invalid_value' });
  t.match(errorOf({ ...valid, n: 2 }), { param: 'n', code: 'invalid_value' });
});

t.test('pacing override headers', async (t) => {
  const defaults = { ttftMs: 400, tokensPerSecond: 60, answerTokens: 120, fillToAnswerTokens: false };
  t.strictSame(parsePacingOverrides({}, defaults), { ok: true, value: defaults });
  t.strictSame(
    parsePacingOverrides({ 'x-offline-ttft-ms': '0', 'x-offline-tokens-per-second': '0', 'x-offline-answer-tokens': '5000' }, defaults),
    { ok: true, value: { ttftMs: 0, tokensPerSecond: 0, answerTokens: 5000, fillToAnswerTokens: false } },
  );
  t.strictSame(parsePacingOverrides({ 'x-offline-answer-tokens': '0' }, defaults), {
    ok: false,
    error: {
      status: 400,
      message: "Invalid header 'x-offline-answer-tokens': expected an integer from 1 to 100000, but got \"0\" instead.",
      param: 'x-offline-answer-tokens',
      code: 'invalid_value',
    },
  });
  t.match(parsePacingOverrides({ 'x-offline-ttft-ms': '-5' }, defaults), { ok: false, error: { param: 'x-offline-ttft-ms' } });
  t.match(parsePacingOverrides({ 'x-offline-tokens-per-second': '1e3' }, defaults), { ok: false, error: { param: 'x-offline-tokens-per-second' } });
});

t.test('the fill override header: 1 or 0', async (t) => {
  const defaults = { ttftMs: 400, tokensPerSecond: 60, answerTokens: 120, fillToAnswerTokens: false };
  t.strictSame(parsePacingOverrides({ 'x-offline-fill': '1' }, defaults), { ok: true, value: { ...defaults, fillToAnswerTokens: true } });
  t.strictSame(parsePacingOverrides({ 'x-offline-fill': 'true' }, defaults), { ok: true, value: { ...defaults, fillToAnswerTokens: true } });
  const filling = { ...defaults, fillToAnswerTokens: true };
  t.strictSame(parsePacingOverrides({ 'x-offline-fill': '0' }, filling), { ok: true, value: defaults });
  t.strictSame(parsePacingOverrides({}, filling), { ok: true, value: filling });
  t.strictSame(parsePacingOverrides({ 'x-offline-fill': 'yes' }, defaults), {
    ok: false,
    error: {
      status: 400,
      message: "Invalid header 'x-offline-fill': expected 1 or 0, but got \"yes\" instead.",
      param: 'x-offline-fill',
      code: 'invalid_value',
    },
  });
});
