/**
 * The offline model's tool calls: which tools it calls for a question (none once results are
 * in, none for small talk or a request for a person), and the stream the official client reads.
 */
import t from 'tap';
import OpenAI from 'openai';
import { OfflineLlmServer } from '../src/offline-llm-server.js';
import { planToolCalls } from '../src/tool-calls.js';

const ALL = new Set(['get_flight_status', 'search_schedule', 'search_policies']);
const user = (content: string) => [{ role: 'user', content }];
const plan = (content: string, offered = ALL) => planToolCalls(user(content), offered, 'x')?.map((c) => [c.name, JSON.parse(c.arguments) as unknown]) ?? null;

t.test('the calls follow the question', async (t) => {
  t.strictSame(plan('Is NZ 123 on time today?'), [['get_flight_status', { flight_no: 'NZ123', date: 'today' }]]);
  t.strictSame(plan('When is the next flight from Auckland to Wellington?'), [['search_schedule', { destination: 'Wellington', origin: 'Auckland' }]]);
  t.strictSame(plan('How much is an extra bag to Sydney?'), [['search_policies', { query: 'How much is an extra bag to Sydney?' }]]);
  t.strictSame(
    plan('NZ5 is cancelled, what are my options?'),
    [
      ['get_flight_status', { flight_no: 'NZ5' }],
      ['search_policies', { query: 'NZ5 is cancelled, what are my options?' }],
    ],
    'a flight and a rule: two calls at once',
  );
  t.equal(plan('hello'), null);
  t.equal(plan('I want to speak to a human'), null);
  t.equal(plan('Is NZ123 on time?', new Set()), null, 'no tools offered');
  t.equal(planToolCalls([...user('Is NZ123 on time?'), { role: 'assistant', content: '' }, { role: 'tool', content: '[1] Flight NZ123 status: on time.' }], ALL, 'x'), null, 'results are in: answer');
});

t.test('the official client reads the streamed calls, joined from their pieces', async (t) => {
  const server = new OfflineLlmServer({ ttftMs: 0, tokensPerSecond: 0 });
  const port = await server.listen(0);
  t.teardown(() => server.close());
  const client = new OpenAI({ apiKey: 'x', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  const tools = [...ALL].map((name) => ({ type: 'function' as const, function: { name, parameters: { type: 'object', properties: {} } } }));
  const stream = await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'NZ5 is cancelled, can I get a refund?' }], tools });
  const calls: Array<{ id: string; name: string; arguments: string }> = [];
  let finish: string | null = null;
  for await (const chunk of stream) {
    for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
      const call = (calls[delta.index] ??= { id: '', name: '', arguments: '' });
      call.id += delta.id ?? '';
      call.name += delta.function?.name ?? '';
      call.arguments += delta.function?.arguments ?? '';
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  t.equal(finish, 'tool_calls');
  t.strictSame(calls.map((c) => c.name), ['get_flight_status', 'search_policies']);
  t.strictSame(JSON.parse(calls[1]!.arguments), { query: 'NZ5 is cancelled, can I get a refund?' });
  t.not(calls[0]!.id, calls[1]!.id, 'each call has its own id');

  const whole = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'Is NZ5 on time?' }], tools });
  t.equal(whole.choices[0]!.finish_reason, 'tool_calls');
  t.equal(whole.choices[0]!.message.tool_calls?.[0]?.type === 'function' && whole.choices[0]!.message.tool_calls[0].function.name, 'get_flight_status');
});
