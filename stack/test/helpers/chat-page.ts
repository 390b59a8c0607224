import type { Locator, Page } from 'playwright-core';

/** Helpers for tests that drive the chat page in Chromium. */

/** Text with its whitespace dropped: rendered Markdown puts paragraphs in elements, not newlines. */
export function squash(text: string | null): string {
  return (text ?? '').replace(/\s+/g, '');
}

/**
 * Reads the answer's text every 40 ms until the bubble says complete, keeping each distinct
 * reading in order.
 */
export async function sampleWhileStreaming(page: Page, text: Locator, bubble: Locator): Promise<string[]> {
  const samples: string[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const [state, current] = await Promise.all([bubble.getAttribute('data-state'), text.textContent()]);
    if (current && current !== samples[samples.length - 1]) samples.push(current);
    if (state === 'complete' || state === 'error') return samples;
    await page.waitForTimeout(40);
  }
  throw new Error(`the answer did not complete within 20 s; read ${samples.length} distinct texts`);
}
