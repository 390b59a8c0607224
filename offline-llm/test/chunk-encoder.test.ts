import t from 'tap';
import { ChunkEncoder, completionBody, SSE_DONE, usageOf } from '../src/chunk-encoder.js';

const identity = { id: 'chatcmpl-abc1', created: 1700000000, model: 'gpt-4o-mini' };
const head = '{"id":"chatcmpl-abc1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_offline","choices":';

t.test('chunks are OpenAI chunks, byte for byte, each one SSE event', async (t) => {
  const encoder = new ChunkEncoder(identity, false);
  t.equal(encoder.roleChunk(), `data: ${head}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`);
  t.equal(encoder.contentChunk(JSON.stringify(' Hello')), `data: ${head}[{"index":0,"delta":{"content":" Hello"},"logprobs":null,"finish_reason":null}]}\n\n`);
  t.equal(encoder.finishChunk('length'), `data: ${head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}\n\n`);
  t.equal(encoder.usageChunk(usageOf(10, 3)), `data: ${head}[],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13}}\n\n`);
  t.equal(SSE_DONE, 'data: [DONE]\n\n');
});

t.test('with include_usage every other chunk carries "usage": null, as OpenAI sends it', async (t) => {
  const encoder = new ChunkEncoder(identity, true);
  t.strictSame(JSON.parse(encoder.contentChunk('"x"').slice(6)), {
    id: 'chatcmpl-abc1',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'gpt-4o-mini',
    system_fingerprint: 'fp_offline',
    choices: [{ index: 0, delta: { content: 'x' }, logprobs: null, finish_reason: null }],
    usage: null,
  });
  t.equal(JSON.parse(encoder.roleChunk().slice(6)).usage, null);
  t.equal(JSON.parse(encoder.finishChunk('stop').slice(6)).usage, null);
});

t.test('a model name with quotes or newlines is escaped once, safely', async (t) => {
  const encoder = new ChunkEncoder({ ...identity, model: 'm"\n\\x' }, false);
  const chunk = encoder.contentChunk('"\\n"');
  t.equal(chunk.indexOf('\n'), chunk.length - 2, 'no raw newline before the event end');
  t.equal(JSON.parse(chunk.slice(6)).model, 'm"\n\\x');
});

t.test('the non-streamed body', async (t) => {
  t.strictSame(completionBody(identity, 'Hi.', 'stop', usageOf(5, 2)), {
    id: 'chatcmpl-abc1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hi.', refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    system_fingerprint: 'fp_offline',
  });
});
