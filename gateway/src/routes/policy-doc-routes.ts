import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Marked, type Tokens } from 'marked';
import { sectionSlug, type GatewayMetrics } from '@chat/shared';
import type { TemplatedApp } from '../uws-types.js';
import { contentSecurityPolicy } from './static-routes.js';

/**
 * `GET /docs/:document`: a policy document the assistant cites (`worker/data/policies/*.md`) as
 * a readable page, each `##` section with the id the citations use (`#carry-on-baggage`), so a
 * source under an answer opens the very section it came from. Rendered once at start, with the
 * document's raw HTML shown as text; served with the same strict CSP as the chat page.
 */

/** The policy folder beside the gateway in this repository (or an image that copies it there). */
export function findPolicyDir(): string | null {
  // In the repository (gateway/dist/routes → worker/data), then in the image (/app/dist/routes → /app/data).
  for (const candidate of ['../../../worker/data/policies/', '../../data/policies/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  return null;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** One document as a whole HTML page. */
export function renderPolicyPage(markdown: string): { title: string; html: string } {
  const text = markdown.replace(/\r\n?/g, '\n');
  const front = /^---\n([\s\S]*?)\n---\n/.exec(text);
  const meta: Record<string, string> = {};
  for (const line of front?.[1]?.split('\n') ?? []) {
    const match = /^([a-z_]+):\s*(.*)$/.exec(line);
    if (match) meta[match[1]!] = match[2]!.trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  const title = meta.title ?? 'Policy';
  const slugs = new Set<string>();
  const marked = new Marked({
    gfm: true,
    renderer: {
      html: (token: Tokens.HTML | Tokens.Tag) => escapeHtml(token.text),
      image: (token: Tokens.Image) => escapeHtml(token.text),
      link(token: Tokens.Link) {
        const inner = this.parser.parseInline(token.tokens);
        return /^(?:https?:|\/|#)/i.test(token.href) ? `<a href="${escapeHtml(token.href)}">${inner}</a>` : inner;
      },
      heading(token: Tokens.Heading) {
        const inner = this.parser.parseInline(token.tokens);
        if (token.depth !== 2) return `<h${token.depth}>${inner}</h${token.depth}>\n`;
        let slug = sectionSlug(token.text);
        for (let i = 2; slugs.has(slug); i++) slug = `${sectionSlug(token.text)}-${i}`;
        slugs.add(slug);
        return `<h2 id="${slug}">${inner}</h2>\n`;
      },
    },
  });
  const body = marked.parse(front ? text.slice(front[0].length) : text, { async: false });
  const updated = meta.updated ? `<p class="doc-meta">Version ${escapeHtml(meta.version ?? '')} · updated ${escapeHtml(meta.updated)}</p>` : '';
  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${escapeHtml(title)}</title>
    <link rel="stylesheet" href="/assets/base.css">
    <link rel="stylesheet" href="/assets/docs.css">
  </head>
  <body>
    <main class="doc">
      <h1>${escapeHtml(title)}</h1>
      ${updated}
      ${body}
    </main>
  </body>
</html>
`;
  return { title, html };
}

/** Every policy document in `dir`, by name without `.md`, rendered. */
export function loadPolicyPages(dir: string | null): Map<string, Buffer> {
  const pages = new Map<string, Buffer>();
  if (!dir) return pages;
  for (const file of readdirSync(dir)) {
    if (!/^[a-z0-9][a-z0-9-]*\.md$/.test(file) || file === 'readme.md') continue;
    pages.set(file.slice(0, -3), Buffer.from(renderPolicyPage(readFileSync(join(dir, file), 'utf8')).html, 'utf8'));
  }
  return pages;
}

/** `GET /docs/:document` from memory; 404 (as a small page) for an unknown document. */
export function registerPolicyDocRoutes(app: TemplatedApp, pages: Map<string, Buffer>, metrics: GatewayMetrics): void {
  // A document page opens no socket: the policy needs no origin beyond 'self', and never the request's Host.
  const csp = contentSecurityPolicy();
  app.get('/docs/:document', (res, req) => {
    const page = pages.get(req.getParameter(0) ?? '');
    const status = page ? 200 : 404;
    res.cork(() => {
      res
        .writeStatus(page ? '200 OK' : '404 Not Found')
        .writeHeader('content-type', 'text/html; charset=utf-8')
        .writeHeader('cache-control', 'no-cache')
        .writeHeader('content-security-policy', csp)
        .writeHeader('x-content-type-options', 'nosniff')
        .writeHeader('referrer-policy', 'no-referrer')
        .end(page ?? '<!doctype html><title>Not found</title><p>No such document.</p>');
    });
    metrics.httpRequest('GET /docs/:document', status);
  });
}
