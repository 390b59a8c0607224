/**
 * The web pages the gateway serves, end to end: the chat page at `/` and the operator view at
 * `/ops`, over HTTP (headers, caching, the ops token) and in headless Chromium (a person
 * chatting, an operator watching).
 *
 *   Chromium ── GET /, /assets/* (from memory) ──▶ gateway ──BullMQ──▶ worker ──▶ offline model
 *      │ chat page: POST /chat/session, WS /ws/:session/:client   ▲          (30 tokens/s)
 *      │            ◀── chunk… complete ── Redis pub/sub ─────────┘
 *      └ ops page:  GET /stats every 2 s
 *
 * The browser tests need Debian's `chromium` (apt-get install -y chromium); without it they
 * skip and say so. Set UPDATE_SCREENSHOTS=1 to write docs/screenshots/*.png.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import t, { type Test } from 'tap';
import type { Browser, Locator, Page } from 'playwright-core';
import { browserUnavailable, launchBrowser, maybeScreenshot, openPage } from './helpers/browser.js';
import { sampleWhileStreaming, squash } from './helpers/chat-page.js';
import { eventually } from './helpers/eventually.js';
import { getJson } from './helpers/http-client.js';
import { startInProcessStack, type InProcessStack } from './helpers/stack-harness.js';

const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url);
const OPS_TOKEN = 'test-ops-token-0123456789abcdef';
const noBrowser = browserUnavailable();

/** A raw HTTP exchange, for what fetch will not do (set Host, see the bytes as sent). */
function rawGet(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
  agent?: Agent,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, ...(agent ? { agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `/assets/<name>.<hash>.<ext>` paths the page links to. */
function hashedAssets(html: string): string[] {
  return [...html.matchAll(/"(\/assets\/[\w-]+\.[0-9a-f]{10}\.\w+)"/g)].map((m) => m[1]!);
}

t.test('PUBLIC_WS_ORIGINS names socket origins in the CSP, for browsers where self does not cover ws/wss', async (t) => {
  const stack = await startInProcessStack(t, { workers: 0, config: { gateway: { publicWsOrigins: 'wss://chat.example-air.com, ws://127.0.0.1:8088' } } });
  const page = await rawGet(`${stack.httpUrl()}/`, { host: 'attacker.example' });
  t.match(String(page.headers['content-security-policy']), /connect-src 'self' wss:\/\/chat\.example-air\.com ws:\/\/127\.0\.0\.1:8088;/);
  t.notMatch(String(page.headers['content-security-policy']), /attacker/);
});

t.test('static files: content types, caching, CSP, HEAD, 404', async (t) => {
  const stack = await startInProcessStack(t, { workers: 0 });
  const base = stack.httpUrl();

  const page = await fetch(`${base}/`);
  const html = await page.text();
  t.equal(page.status, 200);
  t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.equal(page.headers.get('cache-control'), 'no-cache', 'the page is revalidated every time');
  t.match(page.headers.get('etag'), /^"[0-9a-f]{10}(?:-gz)?"$/);
  t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const csp = page.headers.get('content-security-policy') ?? '';
  t.match(csp, /default-src 'none'/);
  t.match(csp, /script-src 'self'(;|$)/, 'scripts from this origin only');
  t.match(csp, /style-src 'self'(;|$)/, 'styles from this origin only');
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script or style');
  t.match(csp, /connect-src 'self'(;|$)/, "the socket on the page's own origin: 'self' (CSP 3)");
  t.match(csp, /frame-ancestors 'none'/);
  t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in the page');
  t.notMatch(html, /\sstyle=|<style/, 'no inline style in the page');
  t.notMatch(html, /https?:\/\//, 'nothing fetched from another origin');

  // The page links hashed names, served for a year; the plain names are revalidated.
  const assets = hashedAssets(html);
  t.same(assets.map((a) => a.replace(/\.[0-9a-f]{10}\./, '.')).sort(), ['/assets/base.css', '/assets/chat.css', '/assets/chat.js', '/assets/favicon.svg']);
  const types: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };
  for (const asset of assets) {
    const response = await fetch(`${base}${asset}`);
    await response.arrayBuffer();
    t.equal(response.status, 200, asset);
    t.equal(response.headers.get('content-type'), types[asset.split('.').pop()!], `${asset} content type`);
    t.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable', `${asset} is immutable`);
    t.ok(response.headers.get('content-security-policy'), `${asset} carries the CSP too`);
  }
  const plain = await fetch(`${base}/assets/chat.js`);
  const script = await plain.text();
  t.equal(plain.headers.get('cache-control'), 'no-cache');
  t.equal(script, await (await fetch(`${base}${assets.find((a) => a.includes('/chat.') && a.endsWith('.js'))}`)).text(), 'same bytes under both names');

  // Revalidation: a matching ETag is a bodiless 304.
  const identity = await rawGet(`${base}/`);
  const etag = String(identity.headers.etag);
  const revalidated = await rawGet(`${base}/`, { 'if-none-match': etag });
  t.equal(revalidated.status, 304);
  t.equal(revalidated.body.length, 0);
  t.equal(revalidated.headers.etag, etag);
  t.equal((await rawGet(`${base}/`, { 'if-none-match': '"0000000000"' })).status, 200, 'a stale ETag gets the page');

  // gzip when asked, with its own ETag; the same text once decompressed (fetch decompresses).
  const gzipped = await rawGet(`${base}/assets/chat.js`, { 'accept-encoding': 'gzip' });
  t.equal(gzipped.headers['content-encoding'], 'gzip');
  t.equal(gzipped.headers.vary, 'accept-encoding');
  t.ok(gzipped.body.length < Buffer.byteLength(script), 'smaller gzipped');
  t.match(String(gzipped.headers.etag), /-gz"$/);
  t.equal(identity.headers['content-encoding'], undefined, 'no gzip unless asked');
  t.equal(identity.body.toString('utf8'), html);

  // HEAD: the GET's headers and length, no body.
  const head = await rawGet(`${base}/`, {}, 'HEAD');
  t.equal(head.status, 200);
  t.equal(head.headers['content-type'], 'text/html; charset=utf-8');
  t.equal(Number(head.headers['content-length']), identity.body.length, 'HEAD reports the length of the page');
  t.equal(head.body.length, 0);

  // The CSP never comes from the request: any Host gets the same policy.
  for (const host of ['chat.example.com:8443', 'evil.example', "evil.example;script-src 'unsafe-inline'"]) {
    t.equal(String((await rawGet(`${base}/`, { host })).headers['content-security-policy']), csp, `Host ${host}: the same CSP`);
  }

  // Unknown static paths: the catalogue's not_found, as JSON.
  const missing = await getJson<{ error: { code: string; status: number } }>(`${base}/assets/nope.js`);
  t.equal(missing.status, 404);
  t.equal(missing.headers.get('content-type'), 'application/json');
  t.same(missing.body.error.code, 'not_found');
  t.equal((await getJson(`${base}/nope.html`)).status, 404);

  // HEAD answers carry no body, even for errors: the next request on the connection is intact.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const headMissing = await rawGet(`${base}/assets/nope.js`, {}, 'HEAD', agent);
  t.equal(headMissing.status, 404);
  t.equal(Number(headMissing.headers['content-length']), Buffer.byteLength(JSON.stringify(missing.body)), 'the length the GET body would have');
  t.equal((await rawGet(`${base}/assets/chat.js`, {}, 'HEAD', agent)).status, 200);
  const next = await rawGet(`${base}/`, {}, 'GET', agent);
  t.equal(next.status, 200);
  t.equal(next.body.toString('utf8'), html, 'the same keep-alive connection still reads cleanly');

  // The operator view is on by default (OPS_ENABLED=true), without a token.
  const ops = await fetch(`${base}/ops`);
  t.equal(ops.status, 200);
  t.match(await ops.text(), /Chat operations/);
  t.equal((await fetch(`${base}/stats`)).status, 200);
});

t.test('OPS_TOKEN guards /ops and /stats; /metrics, /health and the chat page stay open', async (t) => {
  const stack = await startInProcessStack(t, { workers: 0, config: { ops: { token: OPS_TOKEN } } });
  const base = stack.httpUrl();

  const refused = await getJson<{ error: { code: string; status: number } }>(`${base}/stats`);
  t.equal(refused.status, 401);
  t.equal(refused.body.error.code, 'unauthorized');
  t.equal(refused.headers.get('www-authenticate'), 'Bearer realm="ops"');
  t.equal((await fetch(`${base}/stats`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401, 'a wrong token');
  t.equal((await fetch(`${base}/stats?token=${OPS_TOKEN.slice(0, -1)}`)).status, 401, 'a prefix of the token');
  const bearer = await fetch(`${base}/stats`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
  t.equal(bearer.status, 200, 'Authorization: Bearer');
  t.match(await bearer.json(), { gateway_id: 'gw0' });
  t.equal((await fetch(`${base}/stats?token=${OPS_TOKEN}`)).status, 200, '?token=');

  const opsJson = await getJson<{ error: { code: string } }>(`${base}/ops`);
  t.equal(opsJson.status, 401);
  t.equal(opsJson.body.error.code, 'unauthorized');
  const opsBrowser = await fetch(`${base}/ops`, { headers: { accept: 'text/html,application/xhtml+xml' } });
  t.equal(opsBrowser.status, 401, 'a browser without the token…');
  t.equal(opsBrowser.headers.get('content-type'), 'text/html; charset=utf-8', '…gets a page asking for it');
  t.match(await opsBrowser.text(), /Operator token needed/);
  t.equal((await fetch(`${base}/ops?token=${OPS_TOKEN}`)).status, 200);
  t.equal((await fetch(`${base}/ops`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } })).status, 200);

  t.equal((await fetch(`${base}/metrics`)).status, 200, 'Prometheus scrapes /metrics without the token');
  t.equal((await fetch(`${base}/health`)).status, 200, 'probes read /health without the token');
  t.equal((await fetch(`${base}/`)).status, 200, 'the chat page is public');

  t.test('in a browser: the token page, then the live view', { skip: noBrowser ?? false }, async (t) => {
    const browser = await launchBrowser(t);
    const { page, problems } = await openPage(browser);
    const login = await page.goto(`${base}/ops`);
    t.equal(login?.status(), 401);
    await page.getByLabel('Token', { exact: true }).fill(OPS_TOKEN);
    await page.getByRole('button', { name: 'Open the operator view' }).click();
    await page.locator('#poll-status[data-state="live"]').waitFor({ timeout: 10_000 });
    t.match(page.url(), /\/ops\?token=/);
    t.equal(await page.locator('[data-figure="sockets"]').textContent(), '0', 'figures read with the token');
    t.same(problems.list.filter((p) => !p.includes('401')), [], 'no console errors or CSP violations');
  });
});

t.test('OPS_ENABLED=false: no operator view, and without OPS_TOKEN no operator data either', async (t) => {
  const stack = await startInProcessStack(t, { workers: 0, config: { ops: { enabled: false } } });
  const base = stack.httpUrl();
  const ops = await getJson<{ error: { code: string } }>(`${base}/ops`);
  t.equal(ops.status, 404);
  t.equal(ops.body.error.code, 'not_found');
  t.equal((await fetch(`${base}/assets/ops.js`)).status, 404, 'its script is not served either');
  t.equal((await fetch(`${base}/`)).status, 200, 'the chat page still is');
  // Dead letters name sessions and their failures: not for anyone who can reach the port.
  for (const path of ['/stats', '/ops/dead-letters']) {
    const refused = await getJson<{ error: { code: string } }>(`${base}${path}`);
    t.equal(refused.status, 404, `${path}: 404`);
    t.equal(refused.body.error.code, 'not_found');
  }
  t.equal((await fetch(`${base}/metrics`)).status, 200, 'Prometheus still scrapes');
});

t.test('OPS_ENABLED=false with OPS_TOKEN: operator data with the token only', async (t) => {
  const token = 'ops-token-for-this-test-0123456789';
  const stack = await startInProcessStack(t, { workers: 0, config: { ops: { enabled: false, token } } });
  const base = stack.httpUrl();
  for (const path of ['/stats', '/ops/dead-letters']) {
    t.equal((await fetch(`${base}${path}`)).status, 401, `${path} without the token: 401`);
    t.equal((await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).status, 200, `${path} with it: 200`);
  }
  t.equal((await fetch(`${base}/ops`)).status, 404, 'the page itself stays off');
});

t.test('in Chromium: chat through the page, errors shown, reconnect; the ops view sees the socket', { skip: noBrowser ?? false }, async (t) => {
  // Slow enough to watch the answer grow: 30 tokens per second, one chunk per token.
  const stack = await startInProcessStack(t, {
    offline: { ttftMs: 300, tokensPerSecond: 30, answerTokens: 100 },
    config: { gateway: { maxMessageLength: 200 } },
  });
  const base = stack.httpUrl();
  const browser = await launchBrowser(t);
  const { page, problems } = await openPage(browser, { viewport: { width: 1280, height: 800 } });

  await page.goto(`${base}/`);
  await page.getByRole('heading', { name: 'How can we help with your trip?' }).waitFor();

  // The form checks itself before it asks the service.
  await page.getByRole('button', { name: 'Start chat' }).click();
  t.equal(await page.locator('#customer-name-error').textContent(), 'Please enter your name.');
  t.equal(await page.getByLabel('Your name').getAttribute('aria-invalid'), 'true');

  await page.getByLabel('Your name').fill('Ada Traveller');
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Flight number (optional)').fill('nz123');
  await page.getByLabel('Travel date (optional)').fill('2026-12-14');
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });
  t.match(await page.locator('#trip-summary').textContent(), /Ada Traveller.*Flight NZ123/, 'the trip is shown');
  const sessionId = String(await page.evaluate('JSON.parse(localStorage.getItem("chat.session")).session_id'));
  t.match(sessionId, /^[A-Za-z0-9_-]{1,64}$/);

  // Shift+Enter is a new line; nothing is sent.
  const input = page.getByLabel('Your message');
  await input.click();
  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('line two');
  t.equal(await input.inputValue(), 'line one\nline two');
  t.equal(await page.locator('.msg-user').count(), 0, 'Shift+Enter did not send');

  // Enter sends; the answer grows token by token, then completes.
  const question = 'Can I bring a second checked bag on my flight?';
  await input.fill(question);
  await page.keyboard.press('Enter');
  t.equal(await input.inputValue(), '', 'the box is cleared');
  t.equal(await page.locator('.msg-user .bubble').last().textContent(), question);
  const answer = page.locator('.msg-assistant').last();
  const samples = await sampleWhileStreaming(page, answer.locator('.answer-text'), answer);
  const lengths = [...new Set(samples.map((s) => s.length))];
  for (let i = 1; i < samples.length; i++) {
    if (!squash(samples[i]!).startsWith(squash(samples[i - 1]!))) t.fail(`sample ${i} does not extend sample ${i - 1}: ${JSON.stringify(samples[i - 1])} → ${JSON.stringify(samples[i])}`);
  }
  t.ok(lengths.length >= 3, `the answer grew through ${lengths.length} distinct lengths (${lengths.join(', ')})`);
  t.equal(await answer.getAttribute('data-state'), 'complete');
  const history = await getJson<{ history: Array<{ user: string; assistant: string }> }>(`${base}/chat/session/${sessionId}`);
  t.equal(history.body.history.length, 1);
  t.equal(history.body.history[0]!.user, question);
  t.equal(squash(await answer.locator('.answer-text').textContent()), squash(history.body.history[0]!.assistant), 'the page shows exactly the answer stored');
  t.match(await answer.locator('.msg-meta').textContent(), /answered in [\d.]+ s/);
  t.equal(await answer.locator('.msg-meta .badge-offline').textContent(), 'Offline demo model', 'the offline model is a badge, from metadata.offline_model');
  // Sources read as titles and open the cited section's page; [n] markers link to them.
  const sourceLinks = await answer.locator('.sources a').evaluateAll((links) => links.map((a) => [a.getAttribute('href'), a.textContent]));
  t.ok(sourceLinks.length > 0, `the answer lists its sources (${sourceLinks.length})`);
  for (const [href, title] of sourceLinks) {
    t.match(href, /^\/docs\/[a-z0-9-]+(?:#[a-z0-9-]+)?$/, `${title} links to its document section`);
    t.notMatch(title, /\.md\b/, 'a title, not a file name');
  }
  if (/\[\d\]/.test(history.body.history[0]!.assistant)) {
    const cite = answer.locator('.answer-text a.cite').first();
    t.match(await cite.getAttribute('href'), /^#source-/, '[n] links to its source');
  }
  const docPage = await fetch(`${base}${String(sourceLinks[0]?.[0]).split('#')[0]}`);
  t.equal(docPage.status, 200, 'and the document page is served');

  // Too long: said before sending, in the same words the service's refusal would get.
  const tooLong = `${'Please read this very long message. '.repeat(8)}`;
  t.ok(tooLong.length > 200);
  await input.fill(tooLong.slice(0, 170));
  t.equal(await page.locator('#char-count').textContent(), '30 characters left', 'the room left shows near the limit');
  await input.fill(tooLong);
  const limitNotice = page.locator('#composer-notice[data-code="message_too_long"]');
  await limitNotice.waitFor({ timeout: 5000 });
  t.equal(await page.locator('#composer-notice-text').textContent(), 'Your message is too long: the limit is 200 characters. Please shorten it.');
  t.match(await page.locator('#char-count').textContent(), /^\d+ over the limit of 200$/);
  await page.keyboard.press('Enter');
  t.equal(await input.inputValue(), tooLong, 'nothing sent: the text stays in the box');
  t.equal(await page.locator('.msg-user').count(), 1, 'no question added');
  t.equal(await page.locator('.msg-assistant').count(), 1, 'no answer bubble is left waiting for it');
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    await input.fill('');
    await maybeScreenshot(page, new URL('chat.png', SCREENSHOTS).pathname);
  }

  // The operator view, in another tab, sees this socket.
  const { page: ops, problems: opsProblems } = await openPage(browser, { viewport: { width: 1280, height: 900 } });
  await ops.goto(`${base}/ops`);
  await ops.locator('#poll-status[data-state="live"]').waitFor({ timeout: 10_000 });
  t.equal(await ops.locator('[data-figure="sockets"]').textContent(), '1', 'one open socket');
  t.equal(await ops.locator('[data-figure="sessions"]').textContent(), '1', 'one active session');
  t.match(await ops.locator('#gateways-table tbody').textContent(), /gw0/);

  // The connection drops in the middle of an answer: the page reconnects by itself and the
  // answer still ends complete (from its complete frame or, without resume, the history).
  await input.fill('How do I check in online?');
  await page.keyboard.press('Enter');
  const second = page.locator('.msg-assistant').last();
  await second.locator('.answer-text').filter({ hasText: /\S/ }).waitFor({ timeout: 5000 });
  // Every state the connection indicator takes, recorded in the page: "reconnecting" can come and
  // go between two polls of a locator when the gateway takes the new socket at once.
  await page.evaluate(
    `window.__connectionStates = []; const indicator = document.getElementById('connection'); new MutationObserver(() => window.__connectionStates.push(indicator.dataset.state)).observe(indicator, { attributes: true, attributeFilter: ['data-state'] })`,
  );
  // The gateway's own "close every socket" (its shutdown step), reached past `private`.
  const dropping = stack.gateways[0]!['sockets'].closeAll('test: dropped');
  const states = await eventually(
    () => page.evaluate('window.__connectionStates') as Promise<string[]>,
    (seen) => seen.includes('reconnecting') && seen.lastIndexOf('connected') > seen.indexOf('reconnecting'),
    15_000,
  );
  t.ok(states.includes('reconnecting'), `the page said it was reconnecting (${states.join(' → ')})`);
  t.equal(states.at(-1), 'connected', 'and then that it was connected again');
  await dropping;
  await second.and(page.locator('[data-state="complete"]')).waitFor({ timeout: 15_000 });
  const afterDrop = await eventually(
    () => getJson<{ history: Array<{ assistant: string }> }>(`${base}/chat/session/${sessionId}`),
    (r) => r.body.history.length === 2,
  );
  t.equal(squash(await second.locator('.answer-text').textContent()), squash(afterDrop.body.history[1]!.assistant), 'the interrupted answer is whole');

  // And the new socket carries new turns.
  await input.fill('What is the baggage allowance?');
  await page.keyboard.press('Enter');
  await page.locator('.msg-assistant').nth(2).and(page.locator('[data-state="complete"]')).waitFor({ timeout: 15_000 });
  await eventually(
    async () => ops.locator('[data-figure="sockets"]').textContent(),
    (text) => text === '1',
    8000,
  );
  t.equal(await ops.locator('[data-figure="sockets"]').textContent(), '1', 'still one socket after the reconnect');

  // Stop: the button appears while an answer runs, cancels it, and the model stops generating.
  const abortedBefore = stack.offline.stats().streams_aborted;
  await input.fill('Tell me everything about refunds and credits');
  await page.keyboard.press('Enter');
  const stopped = page.locator('.msg-assistant').nth(3);
  await stopped.locator('.answer-text').filter({ hasText: /\S/ }).waitFor({ timeout: 5000 });
  const stop = page.locator('#stop-button');
  t.ok(await stop.isVisible(), 'the Stop button shows while the answer runs');
  await stop.click();
  const notice = stopped.locator('.msg-note-stopped');
  await notice.waitFor({ timeout: 5000 });
  t.match(await notice.textContent(), /You stopped this answer/);
  t.equal(await stopped.getAttribute('data-state'), 'stopped', 'stopped, not failed');
  t.equal(await stopped.locator('.msg-error').count(), 0, 'no error shown for a stop');
  t.notMatch(await page.locator('#transcript').textContent(), /cancelled|payload_too_large|message_too_long/, 'no internal code on the page');
  t.notOk(await stop.isVisible(), 'and hides once nothing runs');
  const aborted = await eventually(() => stack.offline.stats().streams_aborted, (n) => n > abortedBefore);
  t.ok(aborted > abortedBefore, 'the model stopped generating');

  t.same(problems.list, [], 'chat page: no console errors, exceptions or CSP violations');
  t.same(opsProblems.list, [], 'ops page: no console errors, exceptions or CSP violations');

  if (process.env.UPDATE_SCREENSHOTS === '1') await takeScreenshots(t, stack, browser, page, ops);
});

t.test('in Chromium with AUTH_REQUIRED and a turn limit: token, tickets, rate_limited shown', { skip: noBrowser ?? false }, async (t) => {
  const stack = await startInProcessStack(t, {
    offline: { ttftMs: 50, tokensPerSecond: 0, answerTokens: 20 },
    config: { auth: { required: true, secrets: `k1:${randomBytes(32).toString('base64')}` }, limits: { turnsPerMinute: 1 } },
  });
  const base = stack.httpUrl();
  const browser = await launchBrowser(t);
  const { page, problems } = await openPage(browser);
  await page.goto(`${base}/`);
  await page.getByLabel('Your name').fill('Ada Traveller');
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });
  const sessionId = String(await page.evaluate('JSON.parse(localStorage.getItem("chat.session")).session_id'));
  t.equal((await fetch(`${base}/chat/session/${sessionId}`)).status, 401, 'the session is closed to anyone without its token');

  await page.getByLabel('Your message').fill('Hello there');
  await page.keyboard.press('Enter');
  await page.locator('.msg-assistant[data-state="complete"]').waitFor({ timeout: 10_000 });

  // One turn a minute: the second is refused, and the page says so plainly.
  await page.getByLabel('Your message').fill('And another thing');
  await page.keyboard.press('Enter');
  const limited = page.locator('.msg-user[data-state="refused"] .msg-error[data-code="rate_limited"]');
  await limited.waitFor({ timeout: 5000 });
  t.match(await limited.textContent(), /^Not sent\. You are sending messages too quickly\. Please wait \d+ seconds? and try again\.$/);
  t.equal(await page.getByLabel('Your message').inputValue(), 'And another thing', 'the text is back in the box');

  // A reload reads the history with the token and opens a socket with a fresh ticket.
  await page.reload();
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });
  t.equal(await page.locator('.msg-user .bubble').first().textContent(), 'Hello there', 'history read with the token');
  t.equal(await page.locator('.msg-assistant[data-state="complete"]').count(), 1);
  t.same(problems.list, [], 'no console errors, exceptions or CSP violations');
});

/** docs/screenshots/: the chat on a phone and the operator view with some traffic (chat.png is taken above). */
async function takeScreenshots(t: Test, stack: InProcessStack, browser: Browser, chat: Page, ops: Page): Promise<void> {
  const base = stack.httpUrl();

  const { page: phone } = await openPage(browser, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await phone.goto(`${base}/`);
  await phone.getByLabel('Your name').fill('Mere Tane');
  await phone.getByLabel('Email').fill('mere@example.com');
  await phone.getByLabel('Flight number (optional)').fill('NZ5');
  await phone.getByRole('button', { name: 'Start chat' }).click();
  await phone.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });
  await phone.getByLabel('Your message').fill('My flight was delayed. Can I change to a later one?');
  await phone.getByLabel('Your message').press('Enter');
  await phone.locator('.msg-assistant[data-state="complete"]').waitFor({ timeout: 15_000 });
  await maybeScreenshot(phone, new URL('chat-mobile.png', SCREENSHOTS).pathname);

  // A little traffic for the charts: a few more turns from both chats over ~20 s.
  for (let i = 0; i < 6; i++) {
    await chat.getByLabel('Your message').fill(['Can I pick my seat?', 'Is there Wi-Fi on board?', 'How early should I arrive?'][i % 3]!);
    await chat.getByLabel('Your message').press('Enter');
    await phone.getByLabel('Your message').fill('And meals on board?');
    await phone.getByLabel('Your message').press('Enter');
    await chat.waitForTimeout(3000);
  }
  await chat.locator('.msg-assistant').last().and(chat.locator('[data-state="complete"]')).waitFor({ timeout: 20_000 });
  await ops.waitForTimeout(2500);
  await maybeScreenshot(ops, new URL('ops.png', SCREENSHOTS).pathname, true);
  t.pass('screenshots written to docs/screenshots/');
}

