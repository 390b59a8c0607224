import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Test } from 'tap';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Headless Chromium for end-to-end tests of the web pages: Debian's `chromium` package driven by
 * playwright-core (no browser download, ever). CI installs it with
 * `apt-get install -y chromium`; without it the tests that need it skip, saying why.
 */

/** Where the browser is: CHROMIUM_PATH, else Debian's launcher. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or null when they can. */
export function browserUnavailable(): string | null {
  if (!existsSync(CHROMIUM_PATH)) {
    return `no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`;
  }
  return null;
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium for this test and closes it in teardown. Playwright gives every launch a
 * fresh, temporary user-data-dir of its own (it refuses `--user-data-dir` in the arguments) and
 * deletes it on close.
 */
export async function launchBrowser(t: Test): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 30_000 });
  t.teardown(() => browser.close());
  return browser;
}

export interface PageProblems {
  /** Console errors, uncaught exceptions and CSP violations seen so far. */
  list: string[];
}

/**
 * A page in a new context, collecting what would show the page is broken: console errors
 * (CSP violations are reported there), uncaught exceptions and failed requests.
 */
export async function openPage(browser: Browser, options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page; problems: PageProblems }> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const problems: PageProblems = { list: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.list.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.list.push(`exception: ${err.message}`));
  page.on('requestfailed', (request) => problems.list.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  return { context, page, problems };
}

/** Saves a screenshot only when UPDATE_SCREENSHOTS=1, so that test runs leave the tree clean. */
export async function maybeScreenshot(page: Page, path: string, fullPage = false): Promise<boolean> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return false;
  await mkdir(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage, animations: 'disabled', caret: 'hide' });
  return true;
}
