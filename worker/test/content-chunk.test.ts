/**
 * The content-token fast path of the SSE reader (`ContentChunkReader`) against `JSON.parse`: it
 * may only answer for events whose parse gives a chunk with one choice, a delta of just the
 * content, no usage, no finish reason, no tool call and no error, and it must then give the same
 * model and content. Everything else it leaves to JSON.parse. Checked over a corpus of shapes,
 * random mutations of them, and whole bodies cut at every character.
 */
import t, { type Test } from 'tap';
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { ContentChunkReader, type ContentChunk } from '../src/content-chunk.js';
import { SseReader, completionEventReader } from '../src/llm-client.js';

/** What the worker takes from a parsed event when the fast path answers for it. */
function fastEquivalent(data: string): { model: string; content: string } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  const chunk = parsed as Record<string, unknown>;
  if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) return null;
  if (chunk.error !== undefined || (chunk.usage !== undefined && chunk.usage !== null)) return null;
  if (typeof chunk.model !== 'string' || !Array.isArray(chunk.choices) || chunk.choices.length !== 1) return null;
  const choice = chunk.choices[0] as Record<string, unknown>;
  if (choice.finish_reason !== null || choice.index !== 0) return null;
  const delta = choice.delta as Record<string, unknown>;
  if (typeof delta !== 'object' || delta === null || Object.keys(delta).join() !== 'content' || typeof delta.content !== 'string') return null;
  return { model: chunk.model, content: delta.content };
}

/** Asserts the fast path's answer for `data` is JSON.parse's (or that it declines). Returns whether it answered. */
function check(t: Test, data: string, view = new ContentChunkReader()): boolean {
  const answered = view.read(data);
  if (!answered) return false;
  const expected = fastEquivalent(data);
  if (expected === null || expected.model !== view.model || expected.content !== view.content) {
    t.fail(`fast path disagrees with JSON.parse on ${JSON.stringify(data)}`, { found: { model: view.model, content: view.content }, wanted: expected });
  }
  return true;
}

const CONTENTS = [
  'Hello',
  ' world',
  '',
  ' "quoted"',
  'back\\slash',
  'line\nbreak',
  'tab\tand\r\ncrlf',
  'caf\u00e9',
  'é raw',
  '🛫 ✈︎',
  '\ud83d\ude80 rocket',
  'lone \ud83d surrogate',
  'slash / and </script>',
  '\u0000\u001f controls',
  '\u2028\u2029 separators',
  '{"json":"inside"}',
  '},"logprobs":null,"finish_reason":"stop"}]}',
];

/** The content chunk as the offline model and OpenAI write it, with the optional parts chosen. */
function contentEvent(content: string, opts: { usage?: boolean; fingerprint?: string | null | undefined; tier?: string; obfuscation?: string; model?: string } = {}): string {
  const model = opts.model ?? 'gpt-4o-mini-2024-07-18';
  let head = `{"id":"chatcmpl-abc123","object":"chat.completion.chunk","created":1733460000,"model":${JSON.stringify(model)}`;
  if (opts.tier !== undefined) head += `,"service_tier":${JSON.stringify(opts.tier)}`;
  if (opts.fingerprint !== undefined) head += `,"system_fingerprint":${JSON.stringify(opts.fingerprint)}`;
  let tail = '';
  if (opts.usage) tail += ',"usage":null';
  if (opts.obfuscation !== undefined) tail += `,"obfuscation":${JSON.stringify(opts.obfuscation)}`;
  return `${head},"choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"logprobs":null,"finish_reason":null}]${tail}}`;
}

/** The same content with escapes JSON.stringify does not write (\/, \u00e9, surrogate pairs as escapes). */
function escapedVariants(content: string): string[] {
  const literal = JSON.stringify(content);
  const unicode = `"${[...content].map((ch) => Array.from({ length: ch.length }, (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')).join('')}"`;
  return [literal, literal.replace(/\//g, '\\/'), unicode];
}

t.test('the shapes the models send are read without JSON.parse, with JSON.parse results', async (t) => {
  let answered = 0;
  let total = 0;
  for (const content of CONTENTS) {
    for (const usage of [false, true]) {
      for (const fingerprint of [undefined, null, 'fp_offline']) {
        for (const tier of [undefined, 'default']) {
          for (const obfuscation of [undefined, 'x9Yz']) {
            total++;
            if (check(t, contentEvent(content, { usage, fingerprint, tier, obfuscation }))) answered++;
          }
        }
      }
    }
    for (const literal of escapedVariants(content)) {
      const data = contentEvent('@@', { usage: true, fingerprint: 'fp_offline' }).replace('"@@"', literal);
      total++;
      if (check(t, data)) answered++;
    }
  }
  t.equal(answered, total, 'every content event of the known shape takes the fast path');
});

t.test('one reader over a stream: the head is learned, and read again when it changes', async (t) => {
  const reader = new ContentChunkReader();
  t.ok(check(t, contentEvent('a', { model: 'm-1' }), reader));
  const first = reader.model;
  t.ok(check(t, contentEvent('b', { model: 'm-1' }), reader));
  t.equal(reader.model, first, 'the same model string while the head does not change');
  t.ok(check(t, contentEvent('c', { model: 'm-2' }), reader));
  t.equal(reader.model, 'm-2');
  t.ok(check(t, contentEvent('d', { model: '' }), reader));
  t.equal(reader.model, '', 'an empty model is read as empty (the caller keeps its own then, as for a parsed chunk)');
  t.equal(reader.content, 'd');
  // Every shape and content through one reader, in turn: heads alternate, contents vary.
  let answered = 0;
  for (const content of CONTENTS) {
    for (const fingerprint of [undefined, null, 'fp_offline']) {
      if (check(t, contentEvent(content, { usage: true, fingerprint }), reader)) answered++;
      if (check(t, contentEvent(content, { usage: true, fingerprint }), reader)) answered++;
    }
  }
  t.equal(answered, CONTENTS.length * 6);
});

t.test('events that are not the content shape are left to JSON.parse', async (t) => {
  const head = '{"id":"x","object":"chat.completion.chunk","created":1,"model":"m"';
  const declined = [
    `${head},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
    `${head},"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
    `${head},"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}`,
    `${head},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":1}}`,
    `${head},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":"length"}]}`,
    `${head},"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":""}}]},"logprobs":null,"finish_reason":null}]}`,
    `${head},"choices":[{"index":1,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}`,
    `${head},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null},{"index":1,"delta":{"content":"b"},"logprobs":null,"finish_reason":null}]}`,
    `${head},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}],"error":{"message":"x"}}`,
    '{"error":{"message":"overloaded","type":"server_error"}}',
    `${head}, "choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}`,
    `${head},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]} `,
    ` ${head},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}`,
    `${head},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}],"model":"other"}`,
    '{"id":"x","model":"m","object":"chat.completion.chunk","created":1,"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}',
    '{"id":"x","object":"chat.completion.chunk","created":01,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}',
    '{"id":"x","object":"chat.completion.chunk","created":-1,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}',
    '{"id":"x","object":"chat.completion.chunk","created":1.5,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}',
    '{"id":"x","object":"chat.completion.chunk","created":1e3,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}',
    '{"id":"x\\"y","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}',
    '{"id":"x","object":"chat.completion.chunk","created":1,"model":"m\\u0031","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}',
    `${head},"choices":[{"index":0,"delta":{"content":"bad \\x escape"},"logprobs":null,"finish_reason":null}]}`,
    `${head},"choices":[{"index":0,"delta":{"content":"raw \n newline"},"logprobs":null,"finish_reason":null}]}`,
    `${head},"choices":[{"index":0,"delta":{"content":"unterminated \\"},"logprobs":null,"finish_reason":null}]}`,
    `${head},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]`,
    `${head},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}}`,
    `${head},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}],"usage":null,"usage":{"prompt_tokens":1}}`,
    `${head},"system_fingerprint":fp,"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}`,
    '[DONE]',
    '',
    '{}',
  ];
  for (const data of declined) {
    t.notOk(new ContentChunkReader().read(data), `declined: ${data.slice(0, 90)}`);
    // And after a content event with the same head was read (the learned-head path).
    const primed = new ContentChunkReader();
    primed.read(`${head},"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]}`);
    t.notOk(primed.read(data), `declined after a learned head: ${data.slice(0, 90)}`);
  }
});

t.test('random mutations of content events: the fast path never disagrees with JSON.parse', async (t) => {
  // A small deterministic generator (xorshift) so a failure reproduces.
  let seed = 0x9e3779b9;
  const random = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const alphabet = '{}[]",:\\0123456789 \nnulxabcdefu';
  let answered = 0;
  const runs = 20_000;
  for (let run = 0; run < runs; run++) {
    const base = contentEvent(CONTENTS[random(CONTENTS.length)]!, { usage: random(2) === 1, fingerprint: random(2) === 1 ? 'fp' : undefined });
    let data = base;
    for (let edits = 1 + random(3); edits > 0; edits--) {
      const at = random(data.length + 1);
      const ch = alphabet[random(alphabet.length)]!;
      const op = random(3);
      data = op === 0 ? data.slice(0, at) + ch + data.slice(at) : op === 1 ? data.slice(0, at) + data.slice(at + 1) : data.slice(0, at) + ch + data.slice(at + 1);
    }
    // Half the time the reader has just read the unmutated event: its head is learned, and a
    // mutation after the head takes the learned-head path.
    const reader = new ContentChunkReader();
    if (random(2) === 1 && !reader.read(base)) t.fail(`the unmutated event was declined: ${base}`);
    if (check(t, data, reader)) answered++;
  }
  t.ok(answered > 0, `${answered} of ${runs} mutated events still had the shape and were read the same`);
});

interface Digest {
  calls: unknown[];
  error: string | null;
}

/** What a body gives through the worker's reader (fast path) or through JSON.parse alone. */
function digest(body: string, cut: number, step: number, fast: boolean): Digest {
  const calls: unknown[] = [];
  const onChunk = (chunk: ChatCompletionChunk) => {
    const choice = chunk.choices[0];
    calls.push({ model: chunk.model || undefined, content: choice?.delta?.content || undefined, usage: chunk.usage ?? undefined, finish: choice?.finish_reason ?? undefined, tools: choice?.delta?.tool_calls });
  };
  const onContent = (view: ContentChunk) => calls.push({ model: view.model || undefined, content: view.content || undefined, usage: undefined, finish: undefined, tools: undefined });
  let reader: SseReader;
  if (fast) reader = completionEventReader(new Headers(), onChunk, onContent);
  else {
    // The reference: every event through JSON.parse, as before the fast path.
    let done = false;
    reader = new SseReader((_event, data) => {
      if (done) return;
      if (data.startsWith('[DONE]')) {
        done = true;
        return;
      }
      const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: unknown };
      if (chunk && chunk.error) throw new OpenAI.APIError(undefined, chunk.error as object, undefined, new Headers());
      onChunk(chunk);
    });
  }
  try {
    reader.feed(body.slice(0, cut));
    for (let at = cut; at < body.length; at += step) reader.feed(body.slice(at, at + step));
    reader.end();
    return { calls, error: null };
  } catch (err) {
    return { calls, error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
  }
}

t.test('whole bodies cut at every character: the same calls and the same errors as JSON.parse', async (t) => {
  const head = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1733460000,"model":"m-1","system_fingerprint":"fp_offline"';
  const events = [
    `${head},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}`,
    ...CONTENTS.map((c) => contentEvent(c, { usage: true, fingerprint: 'fp_offline', model: 'm-1' })),
    `${head},"choices":[{"index":0,"delta":{"content":"spaced"}, "logprobs":null,"finish_reason":null}],"usage":null}`,
    `${head},"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"flight_status","arguments":"{\\"flight\\":"}}]},"logprobs":null,"finish_reason":null}],"usage":null}`,
    `${head},"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`,
    `${head},"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}`,
  ];
  const bodies: Array<[string, string]> = [
    ['LF', `: keep-alive\n\n${events.map((e) => `data: ${e}\n\n`).join('')}data: [DONE]\n\ndata: ${contentEvent('after done')}\n\n`],
    ['CRLF', `${events.map((e) => `data: ${e}\r\n\r\n`).join('')}data: [DONE]\r\n\r\n`],
    ['CR, no space after the colon', `${events.map((e) => `data:${e}\r\r`).join('')}data:[DONE]\r\r`],
    ['an error payload', `data: ${events[1]}\n\ndata: {"error":{"message":"overloaded","type":"server_error"}}\n\ndata: ${events[2]}\n\n`],
    ['malformed JSON', `data: ${events[1]}\n\ndata: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"bad \\q"},"logprobs":null,"finish_reason":null}]}\n\n`],
    ['a split data field', `data: ${events[1]!.slice(0, 40)}\ndata: ${events[1]!.slice(40)}\n\n`],
  ];
  for (const [name, body] of bodies) {
    const expected = digest(body, body.length, 1, false);
    let mismatch: string | null = null;
    for (let cut = 0; cut <= body.length && mismatch === null; cut++) {
      for (const step of [1, 7]) {
        const found = digest(body, cut, step, true);
        if (JSON.stringify(found) !== JSON.stringify(expected)) {
          mismatch = `cut at ${cut}, then ${step} at a time`;
          t.same(found, expected, `${name}: ${mismatch}`);
          break;
        }
      }
    }
    if (mismatch === null) t.pass(`${name}: every cut gives JSON.parse's calls${expected.error ? ` and its error (${expected.error})` : ''}`);
  }
});
