/**
 * The chat page as its users meet it (issue 14), in Debian's Chromium: a reload in the middle of
 * an answer, a second tab on the same conversation, the tab closed and opened again, New chat,
 * screen readers, an outage, contrast and the phone layout, Markdown answers and the document
 * pages their sources link to; and the operator view when /stats cannot be read.
 *
 *   Chromium tab 1 ─┐  GET /chat/session/:id (history + in_progress) ─▶ gateway ─▶ worker ─▶ offline model
 *   Chromium tab 2 ─┴─ WS: message, resume ◀── user_message, chunk…, complete ── Redis pub/sub
 *
 * Like web-ui.test.ts, the browser tests skip without `chromium` (apt-get install -y chromium).
 */
import t from 'tap';
import { browserUnavailable, launchBrowser, openPage } from './helpers/browser.js';
import { sampleWhileStreaming, squash } from './helpers/chat-page.js';
import { eventually } from './helpers/eventually.js';
import { createSession, getJson, postJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';

const noBrowser = browserUnavailable();

t.test('in Chromium: reload mid-answer, a second tab, the tab closed and reopened, New chat asks, one announcement per answer', { skip: noBrowser ?? false }, async (t) => {
  // ~4 s per answer: time to reload and open tabs in the middle of one.
  const stack = await startInProcessStack(t, { offline: { ttftMs: 200, tokensPerSecond: 30, answerTokens: 120, fillToAnswerTokens: true } });
  const base = stack.httpUrl();
  const browser = await launchBrowser(t);
  const { context, page, problems } = await openPage(browser, { viewport: { width: 1000, height: 800 } });
  await page.goto(`${base}/`);
  await page.getByLabel('Your name').fill('Ada Traveller');
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });
  // (sessionStorage: where the page kept it before it outlived the tab; read so that this test
  // also shows what a reload did then.)
  const sessionId = String(await page.evaluate('JSON.parse(localStorage.getItem("chat.session") ?? sessionStorage.getItem("chat.session")).session_id'));

  // Screen readers: the transcript is not a live region; one announcement per finished answer.
  t.equal(await page.locator('#transcript').getAttribute('aria-live'), null, 'the transcript does not read out every chunk');
  t.equal(await page.locator('#transcript').getAttribute('role'), null, 'nor is it a log (implicitly live)');
  await page.evaluate(`window.__announcements = []; const announcer = document.getElementById('announcer'); if (announcer) new MutationObserver(() => window.__announcements.push(announcer.textContent)).observe(announcer, { childList: true, characterData: true, subtree: true })`);
  const input = page.getByLabel('Your message');
  await input.fill('What is the baggage allowance?');
  await page.keyboard.press('Enter');
  const first = page.locator('.msg-assistant').last();
  await first.and(page.locator('[data-state="streaming"]')).waitFor({ timeout: 5000 });
  t.equal(await first.getAttribute('aria-busy'), 'true', 'busy while streaming');
  await first.and(page.locator('[data-state="complete"]')).waitFor({ timeout: 15_000 });
  t.equal(await first.getAttribute('aria-busy'), null, 'not busy once complete');
  const announcements = (await page.evaluate('window.__announcements')) as string[];
  t.equal(announcements.length, 1, 'announced once');
  t.match(announcements[0], /^The assistant answered: \S/);

  // Reload in the middle of the second answer: question and answer so far come back, and the
  // answer goes on streaming to its end.
  const question = 'How do I check in online?';
  await input.fill(question);
  await page.keyboard.press('Enter');
  await page.locator('.msg-assistant').last().locator('.answer-text').filter({ hasText: /\S+ \S+ \S+ \S+/ }).waitFor({ timeout: 5000 });
  await page.reload();
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });
  t.same(await page.locator('.msg-user .bubble').allTextContents(), ['What is the baggage allowance?', question], 'both questions are back, in order');
  const resumed = page.locator('.msg-assistant').nth(1);
  const samples = await sampleWhileStreaming(page, resumed.locator('.answer-text'), resumed);
  t.ok(samples.length >= 2, `the answer went on streaming after the reload (${samples.length} distinct texts)`);
  t.equal(await resumed.getAttribute('data-state'), 'complete');
  t.equal(await page.locator('.msg-note').count(), 0, 'no "part of this answer was missed" note');
  const afterReload = await eventually(
    () => getJson<{ history: Array<{ user: string; assistant: string }> }>(`${base}/chat/session/${sessionId}`),
    (r) => r.body.history.length === 2,
  );
  t.equal(squash(await resumed.locator('.answer-text').textContent()), squash(afterReload.body.history[1]!.assistant), 'the whole answer, once');

  // A second tab on the same conversation, opened in the middle of an answer asked in the first.
  await input.fill('Can I change my flight?');
  await page.keyboard.press('Enter');
  await page.locator('.msg-assistant').nth(2).locator('.answer-text').filter({ hasText: /\S+ \S+ \S+/ }).waitFor({ timeout: 5000 });
  const second = await context.newPage();
  second.on('pageerror', (err) => problems.list.push(`second tab exception: ${err.message}`));
  await second.goto(`${base}/`);
  await second.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });
  t.equal(await second.locator('.msg-user .bubble').nth(2).textContent(), 'Can I change my flight?', 'the second tab shows the question asked in the first');
  const mirrored = second.locator('.msg-assistant').nth(2);
  await mirrored.and(second.locator('[data-state="complete"]')).waitFor({ timeout: 15_000 });
  await page.locator('.msg-assistant').nth(2).and(page.locator('[data-state="complete"]')).waitFor({ timeout: 15_000 });
  t.equal(await mirrored.locator('.answer-text').textContent(), await page.locator('.msg-assistant').nth(2).locator('.answer-text').textContent(), 'and the same answer');

  // Asked in the second tab: the first shows the question, then its answer.
  await second.getByLabel('Your message').fill('Is there Wi-Fi on board?');
  await second.keyboard.press('Enter');
  await page.locator('.msg-user .bubble').nth(3).filter({ hasText: 'Is there Wi-Fi on board?' }).waitFor({ timeout: 5000 });
  await page.locator('.msg-assistant').nth(3).and(page.locator('[data-state="complete"]')).waitFor({ timeout: 15_000 });
  t.equal(await page.locator('.msg-user').count(), 4, 'every question once, no answer without its question');
  t.equal(await page.locator('.msg-assistant').count(), 4);

  // Closing the tab does not end the conversation: opened again, it is all there.
  await page.close();
  const reopened = await context.newPage();
  await reopened.goto(`${base}/`);
  await reopened.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });
  t.equal(await reopened.locator('.msg-user').count(), 4, 'the conversation survives closing the tab');

  // New chat asks first; keeping the chat keeps it.
  await reopened.getByRole('button', { name: 'New chat' }).click();
  const dialog = reopened.getByRole('dialog', { name: 'Start a new chat?' });
  await dialog.waitFor({ timeout: 2000 });
  await dialog.getByRole('button', { name: 'Keep this chat' }).click();
  t.ok(await reopened.locator('#chat').isVisible(), 'kept');
  t.equal(await reopened.locator('.msg-user').count(), 4);
  await reopened.getByRole('button', { name: 'New chat' }).click();
  await dialog.getByRole('button', { name: 'Start a new chat' }).click();
  await reopened.getByRole('heading', { name: 'How can we help with your trip?' }).waitFor({ timeout: 2000 });
  t.equal(await reopened.evaluate('localStorage.getItem("chat.session")'), null, 'and only then forgotten');

  t.same(problems.list, [], 'no console errors, exceptions or CSP violations');
});

t.test('in Chromium: after an outage the page is back within about a second of the service, and offers "Retry now"', { skip: noBrowser ?? false }, async (t) => {
  const stack = await startInProcessStack(t, { workers: 0 });
  const base = stack.httpUrl();
  const browser = await launchBrowser(t);
  const { page } = await openPage(browser);
  // The service "down": /health refused, sockets refused, as when the gateway restarts.
  let down = false;
  let attempts = 0;
  await page.route('**/health', (route) => {
    if (!down) return route.continue();
    attempts++;
    return route.abort('connectionrefused');
  });
  await page.routeWebSocket(/\/ws\//, (ws) => {
    if (!down) {
      ws.connectToServer();
      return;
    }
    attempts++;
    void ws.close({ code: 1011, reason: 'down' });
  });
  await page.goto(`${base}/`);
  await page.getByLabel('Your name').fill('Ada Traveller');
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });

  down = true;
  await stack.gateways[0]!['sockets'].closeAll('test: outage');
  await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 5000 });
  t.ok(await page.getByRole('button', { name: 'Retry now' }).isVisible(), '"Retry now" is offered while away');
  // Away long enough for a growing backoff to reach several seconds.
  await eventually(() => attempts, (n) => n >= 6, 30_000);
  down = false;
  const back = Date.now();
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 20_000 });
  const tookMs = Date.now() - back;
  // Probes come at most 1 s apart (a probe delay that kept doubling from 250 ms would be 8 s by
  // now); the rest of the bound is room for Chromium on a loaded machine.
  t.ok(tookMs < 4000, `connected ${tookMs} ms after the service came back (probes /health at most 1 s apart)`);

  // "Retry now" connects at once.
  down = true;
  await stack.gateways[0]!['sockets'].closeAll('test: outage');
  await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 5000 });
  down = false;
  await page.getByRole('button', { name: 'Retry now' }).click();
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 5000 });
  t.pass('reconnected on "Retry now"');

  // The operator view when /stats cannot be read: the figures go grey and say "stale".
  const { page: ops } = await openPage(browser);
  let statsDown = false;
  await ops.route('**/stats', (route) => (statsDown ? route.abort('connectionrefused') : route.continue()));
  await ops.goto(`${base}/ops`);
  await ops.locator('#poll-status[data-state="live"]').waitFor({ timeout: 10_000 });
  t.equal(await ops.locator('body').getAttribute('data-stale'), 'false');
  statsDown = true;
  await ops.locator('body[data-stale="true"]').waitFor({ timeout: 10_000 });
  const tile = `document.querySelector('[data-figure="sockets"]')`;
  t.equal(await ops.evaluate(`getComputedStyle(${tile}, '::after').content`), '"stale"', 'the figures say "stale"');
  t.equal(await ops.evaluate(`getComputedStyle(${tile}).color`), 'rgb(95, 107, 122)', 'in grey');
  statsDown = false;
  await ops.locator('body[data-stale="false"]').waitFor({ timeout: 10_000 });
});

t.test('in Chromium: small text meets WCAG AA contrast; the phone header does not shift and the placeholder does not wrap', { skip: noBrowser ?? false }, async (t) => {
  const stack = await startInProcessStack(t, { offline: { ttftMs: 50, tokensPerSecond: 0, answerTokens: 20 } });
  const base = stack.httpUrl();
  const browser = await launchBrowser(t);
  const { page } = await openPage(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await page.goto(`${base}/`);
  await page.getByLabel('Your name').fill('Mere Tane');
  await page.getByLabel('Email').fill('mere@example.com');
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });
  await page.getByLabel('Your message').fill('What is the baggage allowance?');
  await page.getByLabel('Your message').press('Enter');
  await page.locator('.msg-assistant[data-state="complete"]').waitFor({ timeout: 10_000 });

  // Contrast of every visible text under 24 px against the background it sits on (WCAG 2.x).
  const failures = (await page.evaluate(CONTRAST_CHECK)) as string[];
  t.same(failures, [], 'every small text has a contrast of at least 4.5:1');

  // The header keeps its size and place whatever the connection pill says.
  const layout = (await page.evaluate(`(() => {
    const out = [];
    for (const text of ['Connecting…', 'Connected', 'Reconnecting…', 'Not connected', 'Offline', 'Chat ended']) {
      document.getElementById('connection-text').textContent = text;
      const bar = document.querySelector('.topbar').getBoundingClientRect();
      const brand = document.querySelector('.brand').getBoundingClientRect();
      const pill = document.getElementById('connection').getBoundingClientRect();
      out.push([bar.height, brand.width, pill.left, pill.width].map((n) => Math.round(n)).join(','));
    }
    return out;
  })()`)) as string[];
  t.equal(new Set(layout).size, 1, `the header does not shift: ${layout.join(' | ')}`);

  // The empty box is one line high on the narrowest phones, with the Stop button shown too (an
  // answer running): its placeholder does not wrap (autoGrow sizes the box by scrollHeight,
  // which counts a wrapped placeholder).
  await page.setViewportSize({ width: 320, height: 640 });
  const heights = (await page.evaluate(`(() => {
    const input = document.getElementById('message-input');
    document.getElementById('stop-button').hidden = false;
    input.value = '';
    const empty = input.scrollHeight;
    input.value = 'x';
    const one = input.scrollHeight;
    input.value = '';
    return [empty, one];
  })()`)) as number[];
  t.equal(heights[0], heights[1], `the placeholder fits on one line at 320 px (${heights.join(' vs ')} px)`);
});

t.test('in Chromium: answers are rendered as Markdown, safely; plain text stays plain', { skip: noBrowser ?? false }, async (t) => {
  const stack = await startInProcessStack(t, { workers: 0 });
  const browser = await launchBrowser(t);
  const { page, problems } = await openPage(browser);
  await page.goto(`${stack.httpUrl()}/`);
  const rendered = (await page.evaluate(`(async () => {
    const { renderMarkdown } = await import('/assets/markdown.js');
    const html = (text) => { const box = document.createElement('div'); box.append(renderMarkdown(text)); return box.innerHTML.trim(); };
    const box = document.createElement('div');
    box.append(renderMarkdown('<img src=x onerror="window.pwned=1"><script>window.pwned=1</script> [click](javascript:window.pwned=1) <a href="javascript:1">a</a>'));
    return {
      rich: html('**Two bags** of 23 kg:\\n\\n- one\\n- two\\n\\n[Policy](https://example.com/p) and \`code\`'),
      hostile: html('<img src=x onerror="window.pwned=1"><script>window.pwned=1</script> [click](javascript:window.pwned=1) <a href="javascript:1">a</a>'),
      plain: html('Yes, you can.\\nBring your passport.'),
      dangerous: box.querySelectorAll('img, script, [onerror], a[href^="javascript"], a[href=""]').length,
      pwned: window.pwned === 1,
    };
  })()`)) as { rich: string; hostile: string; plain: string; dangerous: number; pwned: boolean };
  t.match(rendered.rich, /<strong>Two bags<\/strong>/);
  t.match(rendered.rich, /<ul>\s*<li>one<\/li>/);
  t.match(rendered.rich, /<a href="https:\/\/example\.com\/p" target="_blank" rel="noopener noreferrer">Policy<\/a>/);
  t.match(rendered.rich, /<code>code<\/code>/);
  t.equal(rendered.dangerous, 0, 'no raw HTML elements, no script URL');
  t.match(rendered.hostile, /&lt;img/, 'raw HTML shows as the text it is');
  t.notOk(rendered.pwned, 'nothing ran');
  t.equal(rendered.plain, '<p>Yes, you can.<br>Bring your passport.</p>', 'plain text stays plain, line breaks kept');
  t.same(problems.list, [], 'no console errors, exceptions or CSP violations');
});

/** In the page: every visible text under 24 px whose contrast with its background is below 4.5:1. */
const CONTRAST_CHECK = `(() => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 }; };
  const lum = ({ r, g, b }) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c.a > 0.5) return c; }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || !node.nodeValue.trim() || !el.checkVisibility({ opacityProperty: true, visibilityProperty: true }) || el.closest('.visually-hidden')) continue;
    const style = getComputedStyle(el);
    if (parseFloat(style.fontSize) >= 24) continue;
    const fg = parse(style.color);
    const bg = background(el);
    const mix = { r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a), b: fg.b * fg.a + bg.b * (1 - fg.a) };
    const [hi, lo] = [lum(mix), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5) out.push(el.className + ' "' + node.nodeValue.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  return [...new Set(out)];
})()`;

t.test('GET /docs/:document: the cited policy documents as readable pages, a section per citation', async (t) => {
  const stack = await startInProcessStack(t, { workers: 0 });
  const base = stack.httpUrl();
  const page = await fetch(`${base}/docs/baggage-allowance`);
  const html = await page.text();
  t.equal(page.status, 200);
  t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.match(page.headers.get('content-security-policy'), /default-src 'none'/, 'the same strict CSP');
  t.match(html, /<h1>Baggage allowance<\/h1>/, 'titled as a customer reads it');
  t.match(html, /<h2 id="carry-on-baggage">Carry-on baggage<\/h2>/, 'sections carry the ids citations use');
  t.notMatch(html, /<script/);
  t.equal((await fetch(`${base}/docs/no-such-document`)).status, 404);
  t.equal((await fetch(`${base}/docs/..%2Fpackage`)).status, 404, 'only the documents themselves');
});

t.test('in Chromium: the operator view shows the real cache hit rate, over the answers it observed', { skip: noBrowser ?? false }, async (t) => {
  const stack = await startInProcessStack(t, { offline: { ttftMs: 20, tokensPerSecond: 0, answerTokens: 40 } });
  const base = stack.httpUrl();
  const browser = await launchBrowser(t);
  const { page: ops, problems } = await openPage(browser, { viewport: { width: 1280, height: 900 } });
  await ops.goto(`${base}/ops`);
  await ops.locator('#poll-status[data-state="live"]').waitFor({ timeout: 10_000 });
  t.equal(await ops.locator('[data-figure="cache"]').textContent(), 'n/a', 'nothing to say before two readings');

  // The same policy question from two sessions: the second is answered from the cache.
  const answers = [];
  for (const question of ['How much checked baggage can I take?', 'how much checked baggage can I take  ']) {
    const sessionId = await createSession(base);
    const answered = await postJson<{ metadata: { from_cache?: boolean } }>(`${base}/chat/message?wait=1`, { session_id: sessionId, message: question });
    answers.push(answered.body.metadata.from_cache === true);
  }
  t.same(answers, [false, true], 'one fresh answer, one from the cache');
  const stats = await getJson<{ metrics: Record<string, { values: Array<{ value: number }> }> }>(`${base}/stats`);
  t.equal(stats.body.metrics.chat_gateway_turns_from_cache_total?.values[0]?.value, 1, 'the gateway counts answers served from the cache');
  await eventually(() => ops.locator('[data-figure="cache"]').textContent(), (text) => text === '50%', 15_000);
  t.match(await ops.locator('[data-sub="cache"]').textContent(), /^of [\d.]+ answers per min · over \d+ s$/, 'the rate says over which time it was observed');
  t.same(problems.list, [], 'no console errors, exceptions or CSP violations');
});
