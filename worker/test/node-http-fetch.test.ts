/**
 * The worker's HTTP transport for the openai client, against real loopback servers: what a
 * request carries, connection reuse, content encodings, aborts before and during the body, the
 * lazy web body, and the openai SDK's own error path on top of it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import OpenAI from 'openai';
import { createNodeHttpFetch, takeNodeBody } from '../src/node-http-fetch.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function serve(t: Test, handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => handler(req, res, Buffer.concat(parts).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Buffer));
  return Buffer.concat(parts).toString('utf8');
}

t.test('method, headers and body reach the server; status, headers and body come back; the connection is reused', async (t) => {
  const seen: { method?: string; auth?: string; body: string; port?: number }[] = [];
  const { url } = await serve(t, (req, res, body) => {
    seen.push({ method: req.method, auth: req.headers.authorization, body, port: req.socket.remotePort });
    res.writeHead(201, 'Made', { 'content-type': 'application/json', 'x-request-id': 'r-1' });
    res.end(JSON.stringify({ echo: body }));
  });
  const fetch = createNodeHttpFetch();
  const first = await fetch(`${url}/v1/things`, { method: 'POST', headers: { Authorization: 'Bearer k', 'Content-Type': 'application/json' }, body: '{"a":1}' });
  t.equal(first.status, 201);
  t.equal(first.statusText, 'Made');
  t.equal(first.ok, true);
  t.equal(first.headers.get('x-request-id'), 'r-1');
  t.ok(first instanceof Response, 'a standard Response');
  t.equal(first.bodyUsed, false);
  t.same(await first.json(), { echo: '{"a":1}' }, 'json() reads the body');
  t.equal(first.bodyUsed, true);
  await t.rejects(first.text(), TypeError, 'and only once');
  const second = await fetch(new URL(`${url}/v1/things`), { method: 'post', headers: new Headers({ authorization: 'Bearer k2' }), body: new TextEncoder().encode('bytes') });
  const blob = await second.blob();
  t.equal(blob.type, 'application/json');
  t.equal(await blob.text(), JSON.stringify({ echo: 'bytes' }), 'a byte body is sent as is');
  t.same(
    seen.map((s) => [s.method, s.auth, s.body]),
    [
      ['POST', 'Bearer k', '{"a":1}'],
      ['POST', 'Bearer k2', 'bytes'],
    ],
  );
  t.equal(seen[0]!.port, seen[1]!.port, 'the second request reused the kept-alive connection');
});

t.test('one fetch, many addresses: each request goes to its own server, path and query (targets are remembered by URL)', async (t) => {
  const seenBy = (name: string, seen: string[]): Handler => (req, res) => {
    seen.push(req.url ?? '');
    res.end(name);
  };
  const seenA: string[] = [];
  const seenB: string[] = [];
  const a = await serve(t, seenBy('a', seenA));
  const b = await serve(t, seenBy('b', seenB));
  const fetch = createNodeHttpFetch();
  const answers: string[] = [];
  for (const url of [`${a.url}/v1/x`, `${b.url}/v1/x`, `${a.url}/v1/x?page=2`, `${b.url}/v1/y`, `${a.url}/v1/x`]) {
    answers.push(await (await fetch(url)).text());
  }
  t.same(answers, ['a', 'b', 'a', 'b', 'a'], 'each answer from the server its URL names');
  t.same(seenA, ['/v1/x', '/v1/x?page=2', '/v1/x'], 'with the path and query of its own URL');
  t.same(seenB, ['/v1/x', '/v1/y']);
  await t.rejects(fetch('not a url'), TypeError, 'a string that is no URL is refused as fetch refuses it');
});

t.test('a request body is let go once sent for the last time: a long response does not hold it', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // The response starts, then stays open: a streamed answer still running.
  const { url } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
  });
  for (const resendOnStaleConnection of [false, true]) {
    const fetch = createNodeHttpFetch({ resendOnStaleConnection });
    let held: WeakRef<Uint8Array> | undefined;
    const response = await (async () => {
      const body = new Uint8Array(1 << 20);
      held = new WeakRef(body);
      return fetch(`${url}/v1/chat/completions`, { method: 'POST', body });
    })();
    // A macrotask later (a WeakRef keeps its target to the end of the job that made it), collect.
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
    // A boolean, not the array: a failure message would print all of its million bytes.
    t.ok(held?.deref() === undefined, `the body is gone while the response streams (resendOnStaleConnection: ${resendOnStaleConnection})`);
    takeNodeBody(response)?.destroy();
  }
});

t.test('a compressed body is decoded, through text() and through the Node stream', async (t) => {
  const { url } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
    res.end(gzipSync('data: héllo\n\n'));
  });
  const fetch = createNodeHttpFetch();
  t.equal(await (await fetch(url)).text(), 'data: héllo\n\n');
  const response = await fetch(url);
  const node = takeNodeBody(response);
  t.ok(node, 'the Node stream is available while the web body is untouched');
  t.equal(takeNodeBody(response), null, 'and can be taken once');
  t.equal(await readAll(node!), 'data: héllo\n\n');
});

t.test('once the web body is read, the Node stream is not offered', async (t) => {
  const { url } = await serve(t, (_req, res) => res.end('abc'));
  const response = await createNodeHttpFetch()(url);
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  t.equal(Buffer.from(value!).toString(), 'abc');
  t.equal(takeNodeBody(response), null);
});

t.test('abort before the response rejects with AbortError and closes the request', async (t) => {
  let closed!: () => void;
  const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
  const { url } = await serve(t, (req) => req.socket.on('close', closed));
  const abort = new AbortController();
  const pending = createNodeHttpFetch()(url, { signal: abort.signal });
  setTimeout(() => abort.abort(), 50);
  const err = (await pending.catch((e: unknown) => e)) as Error;
  t.equal(err.name, 'AbortError');
  await serverSawClose;
  t.pass('the server saw the connection close');
  const already = (await createNodeHttpFetch()(url, { signal: AbortSignal.abort() }).catch((e: unknown) => e)) as Error;
  t.equal(already.name, 'AbortError', 'an already aborted signal rejects at once');
});

t.test('abort during the body ends the Node stream with AbortError and the server sees the client leave', async (t) => {
  let closed!: () => void;
  const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
  const { url } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => res.write('data: x\n\n'), 10);
    res.on('close', () => {
      clearInterval(timer);
      closed();
    });
  });
  const abort = new AbortController();
  const response = await createNodeHttpFetch()(url, { signal: abort.signal });
  const body = takeNodeBody(response)!;
  const ended = new Promise<Error | null>((resolve) => {
    body.on('data', () => {});
    body.on('error', resolve);
    body.on('end', () => resolve(null));
  });
  setTimeout(() => abort.abort(), 50);
  t.equal((await ended)?.name, 'AbortError');
  await serverSawClose;
  t.pass('the server saw the connection close: the generation behind it can stop');
});

t.test('204 has no body; a streamed request body goes to the global fetch', async (t) => {
  const { url } = await serve(t, (req, res, body) => {
    if (req.url === '/empty') {
      res.writeHead(204);
      res.end();
      return;
    }
    res.end(`got ${body}`);
  });
  const fetch = createNodeHttpFetch();
  const empty = await fetch(`${url}/empty`);
  t.equal(empty.status, 204);
  t.equal(empty.body, null);
  const streamed = new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('streamed'));
      controller.close();
    },
  });
  const response = await fetch(url, { method: 'POST', body: streamed, duplex: 'half' } as RequestInit);
  t.equal(await response.text(), 'got streamed');
});

t.test("the openai SDK on this transport: a status error carries the server's message", async (t) => {
  const { url } = await serve(t, (_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'max_tokens is too large', type: 'invalid_request_error' } }));
  });
  const client = new OpenAI({ apiKey: 'k', baseURL: `${url}/v1`, maxRetries: 0, fetch: createNodeHttpFetch() });
  const err = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
  t.type(err, OpenAI.BadRequestError);
  t.match((err as Error).message, /max_tokens is too large/);
});

t.test('the web body is built on first use: every reader of a Response works, and then the Node stream is not offered', async (t) => {
  const { url } = await serve(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url }));
  });
  const fetch = createNodeHttpFetch();
  const json = await fetch(`${url}/json`);
  t.ok(json instanceof Response, 'a standard Response');
  t.equal(json.bodyUsed, false);
  t.same(await json.json(), { path: '/json' });
  t.equal(json.bodyUsed, true, 'read through json()');
  t.equal(takeNodeBody(json), null, 'its Node stream is no longer offered');
  t.same(JSON.parse(Buffer.from(await (await fetch(`${url}/bytes`)).arrayBuffer()).toString()), { path: '/bytes' }, 'arrayBuffer()');
  t.equal(await (await (await fetch(`${url}/blob`)).blob()).text(), '{"path":"/blob"}', 'blob()');
  // Node's Response has bytes() (20.16 on); this TypeScript lib does not declare it yet.
  const withBytes = (await fetch(`${url}/bytes`)) as Response & { bytes(): Promise<Uint8Array> };
  t.equal(Buffer.from(await withBytes.bytes()).toString(), '{"path":"/bytes"}', 'bytes()');
  // Everything of the runtime's Response that touches the body is this response's own: a member
  // a newer Node adds would otherwise read the empty base body.
  const bodyless = ['constructor', 'type', 'url', 'redirected', 'status', 'ok', 'statusText', 'headers'];
  const own = Object.getOwnPropertyNames(Object.getPrototypeOf(json) as object);
  const inherited = Object.getOwnPropertyNames(Response.prototype).filter((name) => !bodyless.includes(name) && !own.includes(name));
  t.same(inherited, [], 'no body member is left to the base class');
  const original = await fetch(`${url}/clone`);
  const copy = original.clone();
  t.same([await original.text(), await copy.text()], ['{"path":"/clone"}', '{"path":"/clone"}'], 'clone(): both copies read the whole body');
  const untouched = await fetch(`${url}/node`);
  t.equal(untouched.headers.get('content-type'), 'application/json', 'status and headers need no body');
  t.equal(untouched.ok, true);
  t.equal(await readAll(takeNodeBody(untouched)!), '{"path":"/node"}', 'an untouched body is taken as the Node stream');
});

t.test('the openai SDK on this transport: a non-streamed completion is parsed from the body', async (t) => {
  const { url } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Kia ora' }, finish_reason: 'stop', logprobs: null }],
      }),
    );
  });
  const client = new OpenAI({ apiKey: 'k', baseURL: `${url}/v1`, maxRetries: 0, fetch: createNodeHttpFetch() });
  const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(completion.choices[0]?.message.content, 'Kia ora');
});
