import { createServer } from 'node:http';
import type { Test } from 'tap';

/** What the scripted LLM does with one request. */
export type LlmBehaviour = 'ok' | 'echo' | 'leak' | 'status-500' | 'status-400' | 'status-429' | 'drop-mid-stream';

export interface ScriptedLlm {
  baseUrl: string;
  /** Requests received so far. */
  requests: number;
  /** The fixed answer an `ok` request streams. */
  answer: string;
  /** Every request body received, parsed. */
  bodies: Array<{ messages: Array<{ role: string; content: string }> }>;
}

/**
 * An OpenAI-compatible endpoint on loopback that follows a script: request n gets behaviour n
 * (the last one repeats). `ok` streams a fixed answer token by token in OpenAI's chunk format;
 * `echo` streams back the last user message, word by word; `leak` answers with someone else's
 * email and phone number, split across tokens. Request bodies are recorded.
 */
/** An answer carrying personal data the user never wrote, split where a scrubber could miss it. */
export const LEAK_TOKENS = ['Contact', ' our', ' agent', ' bob', '.jones', '@air', 'line.example', ' or', ' +64', ' 9', ' 379', ' 1234', '.'];

export async function startScriptedLlm(t: Test, script: LlmBehaviour[]): Promise<ScriptedLlm> {
  const tokens = ['The', ' scripted', ' model', ' answers', ' this', ' turn', '.'];
  const state: ScriptedLlm = { baseUrl: '', requests: 0, answer: tokens.join(''), bodies: [] };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as ScriptedLlm['bodies'][number];
      state.bodies.push(body);
      const behaviour = script[Math.min(state.requests, script.length - 1)]!;
      state.requests++;
      if (behaviour.startsWith('status-')) {
        const status = Number(behaviour.slice('status-'.length));
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (status === 429) headers['retry-after-ms'] = '100';
        res.writeHead(status, headers).end(JSON.stringify({ error: { message: `scripted ${status}`, type: 'scripted' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const send = (delta: object, finish: string | null) =>
        res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'scripted', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
      send({ role: 'assistant', content: '' }, null);
      // The worker puts the customer's text under a label line; echo the text itself.
      const lastUser = ([...body.messages].reverse().find((m) => m.role === 'user')?.content ?? '').replace(/^Customer message:\n/, '');
      const answerTokens =
        behaviour === 'echo' ? lastUser.split(/(?= )/) : behaviour === 'leak' ? LEAK_TOKENS : tokens;
      const upTo = behaviour === 'drop-mid-stream' ? 3 : answerTokens.length;
      for (const token of answerTokens.slice(0, upTo)) send({ content: token }, null);
      if (behaviour === 'drop-mid-stream') {
        // Let the first tokens reach the worker, then cut the connection mid-answer.
        setTimeout(() => res.destroy(), 50);
        return;
      }
      send({}, 'stop');
      res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'scripted', choices: [], usage: { prompt_tokens: 20, completion_tokens: tokens.length, total_tokens: 20 + tokens.length } })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  state.baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1`;
  return state;
}
