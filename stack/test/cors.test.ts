/**
 * CORS for the airline's own site: with ALLOWED_ORIGINS set, a page on a listed origin calls the
 * REST API from the browser (preflights answered, the answer readable); a page on another origin
 * cannot; without the list nothing changes (same-origin only). Checked with raw requests and in
 * Chromium, from a page served on another port than the gateway.
 *
 *   Chromium ── page from http://127.0.0.1:<site port> ──fetch (cross-origin)──▶ gateway :<port>
 */
import { createServer, type Server } from 'node:http';
import t, { type Test } from 'tap';
import { browserUnavailable, launchBrowser } from './helpers/browser.js';
import { postJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';

const SITE = 'https://help.example-air.com';

function preflight(url: string, origin: string, method = 'POST', headers = 'content-type'): Promise<Response> {
  return fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });
}

t.test('with ALLOWED_ORIGINS: preflights and answers carry CORS headers for listed origins only', async (t) => {
  const stack = await startInProcessStack(t, { config: { auth: { allowedOrigins: `${SITE}, https://www.example-air.com` } } });
  const url = `${stack.httpUrl()}/chat/session`;

  const ok = await preflight(url, SITE, 'POST', 'content-type, authorization');
  t.equal(ok.status, 204);
  t.equal(ok.headers.get('access-control-allow-origin'), SITE);
  t.match(ok.headers.get('access-control-allow-methods'), /POST/);
  t.match(ok.headers.get('access-control-allow-headers'), /Authorization/);
  t.match(ok.headers.get('access-control-allow-headers'), /Content-Type/);
  t.equal(ok.headers.get('access-control-max-age'), '600');
  t.match(ok.headers.get('vary'), /Origin/);
  t.equal(ok.headers.get('access-control-allow-credentials'), null, 'bearer tokens, no cookies');

  const sessionPreflight = await preflight(`${stack.httpUrl()}/chat/session/abc`, SITE, 'GET', 'authorization');
  t.equal(sessionPreflight.status, 204, 'a path with a parameter');
  t.match(sessionPreflight.headers.get('access-control-allow-methods'), /GET/);

  for (const [origin, method, headers, why] of [
    ['https://evil.example', 'POST', 'content-type', 'an unlisted origin'],
    [SITE, 'DELETE', 'content-type', 'a method the path does not take'],
    [SITE, 'POST', 'x-custom', 'a header the API does not read'],
  ] as const) {
    const refused = await preflight(url, origin, method, headers);
    t.equal(refused.status, 403, `refused: ${why}`);
    t.equal(refused.headers.get('access-control-allow-origin'), null, `no allow header: ${why}`);
  }

  const created = await postJson<{ session_id: string }>(url, { customer_name: 'Ada', customer_email: 'ada@example.com' }, { origin: SITE });
  t.equal(created.status, 200);
  t.equal(created.headers.get('access-control-allow-origin'), SITE, 'the answer is readable by the listed page');
  t.match(created.headers.get('vary'), /Origin/);
  const bad = await postJson(url, { customer_name: 'Ada' }, { origin: SITE });
  t.equal(bad.status, 400);
  t.equal(bad.headers.get('access-control-allow-origin'), SITE, 'errors too, so the page can show them');
  const other = await postJson(url, { customer_name: 'Ada', customer_email: 'ada@example.com' }, { origin: 'https://evil.example' });
  t.equal(other.headers.get('access-control-allow-origin'), null, 'an unlisted origin gets no allow header');
  t.match(other.headers.get('vary'), /Origin/);
  const sent = await postJson(`${stack.httpUrl()}/chat/message`, { session_id: created.body.session_id, message: 'hello' }, { origin: SITE });
  t.equal(sent.headers.get('access-control-allow-origin'), SITE);
});

t.test('without ALLOWED_ORIGINS: no CORS headers, preflights refused (same-origin, as before)', async (t) => {
  const stack = await startInProcessStack(t);
  const refused = await preflight(`${stack.httpUrl()}/chat/session`, SITE);
  t.equal(refused.status, 405);
  t.equal(refused.headers.get('access-control-allow-origin'), null);
  const created = await postJson(`${stack.httpUrl()}/chat/session`, { customer_name: 'Ada', customer_email: 'ada@example.com' }, { origin: SITE });
  t.equal(created.status, 200);
  t.equal(created.headers.get('access-control-allow-origin'), null);
  t.equal(created.headers.get('vary'), null);
});

/** A page on another port that calls the gateway with fetch and reports what it got. */
async function servePage(t: Test): Promise<string> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>airline help</title><p>help</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

/** Runs in the page: create a session, then read it with its token (a preflighted GET). */
async function callFromPage(page: import('playwright-core').Page, api: string): Promise<{ created?: number; read?: number; error?: string }> {
  return page.evaluate(async (base) => {
    try {
      const created = await fetch(`${base}/chat/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customer_name: 'Ada', customer_email: 'ada@example.com', flight_no: 'NZ123' }),
      });
      const body = (await created.json()) as { session_id: string; token?: string };
      const read = await fetch(`${base}/chat/session/${body.session_id}`, { headers: { authorization: `Bearer ${body.token ?? 'none'}` } });
      return { created: created.status, read: read.status };
    } catch (err) {
      return { error: String(err) };
    }
  }, api);
}

t.test('in Chromium: a page on a listed origin creates and reads a session; another origin cannot', { skip: browserUnavailable() ?? false }, async (t) => {
  const browser = await launchBrowser(t);
  const site = await servePage(t);
  const secret = `t:${Buffer.alloc(32, 3).toString('base64')}`;
  const stack = await startInProcessStack(t, { config: { auth: { allowedOrigins: site, secrets: secret, required: true } } });
  t.not(new URL(site).port, new URL(stack.httpUrl()).port, 'the page is on another origin than the API');

  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  await page.goto(site);
  t.same(await callFromPage(page, stack.httpUrl()), { created: 200, read: 200 }, 'POST with JSON and GET with a bearer token, both preflighted');

  const elsewhere = await startInProcessStack(t, { config: { auth: { allowedOrigins: 'https://help.example-air.com' } } });
  const refused = await callFromPage(page, elsewhere.httpUrl());
  t.match(refused.error ?? '', /Failed to fetch/, `the browser blocks a page whose origin is not listed (${JSON.stringify(refused)})`);
  const before = await startInProcessStack(t);
  t.match((await callFromPage(page, before.httpUrl())).error ?? '', /Failed to fetch/, 'and one with no ALLOWED_ORIGINS at all');
});
