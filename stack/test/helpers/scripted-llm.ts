import { createServer } from 'node:http';
import type { Test } from 'tap';

/** What the scripted LLM does with one request. */
export type LlmBehaviour = 'ok' | 'status-500' | 'status-400' | 'status-429' | 'drop-mid-stream';

export interface ScriptedLlm {
  baseUrl: string;
  /** Requests received so far. */
  requests: number;
  /** The fixed answer an `ok` request streams. */
  answer: string;
}

/**
 * An OpenAI-compatible endpoint on loopback that follows a script: request n gets behaviour n
 * (the last one repeats). `ok` streams a fixed answer token by token in OpenAI's chunk format.
 */
export async function startScriptedLlm(t: Test, script: LlmBehaviour[]): Promise<ScriptedLlm> {
  const tokens = ['The', ' scripted', ' model', ' answers', ' this', ' turn', '.'];
  const state: ScriptedLlm = { baseUrl: '', requests: 0, answer: tokens.join('') };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
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
      const upTo = behaviour === 'drop-mid-stream' ? 3 : tokens.length;
      for (const token of tokens.slice(0, upTo)) send({ content: token }, null);
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
