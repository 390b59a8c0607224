// Answers as the model writes them: Markdown, rendered safely.
//
//   text ──marked (GFM, line breaks kept, raw HTML shown as text)──▶ HTML
//        ──DOMPurify (known-safe tags and attributes only; links open apart)──▶ DOM fragment
//
// Both libraries are served by the gateway from its own node_modules (/assets/vendor/), never
// from a CDN. Plain text stays plain: it becomes paragraphs with its line breaks, and any `<tag>`
// in it is shown as typed.
import { Marked } from './vendor/marked.js';
import DOMPurify from './vendor/purify.js';

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

const markdown = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // The model's raw HTML is text, never markup (DOMPurify would clean it; this shows it instead).
    html: (token) => escapeHtml(token.text),
    // Images would load from anywhere (and the CSP refuses them): their words only.
    image: (token) => escapeHtml(token.text || token.title || ''),
  },
});

const PURIFY = {
  ALLOWED_TAGS: ['p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span'],
  ALLOWED_ATTR: ['href', 'title', 'start', 'align'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|tel:|\/(?!\/)|#)/i,
  RETURN_DOM_FRAGMENT: true,
};

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

/** The answer's Markdown as a safe DOM fragment. */
export function renderMarkdown(text) {
  const html = markdown.parse(String(text ?? ''), { async: false });
  return /** @type {DocumentFragment} */ (DOMPurify.sanitize(html, PURIFY));
}

/**
 * Turns the answer's `[n]` citation markers into links to its numbered sources. `targetId(n)`
 * gives the id of source n's list item, or null (then the marker stays text). Code is left alone.
 */
export function linkCitations(root, targetId) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement?.closest('code, pre, a') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) if (/\[\d{1,2}\]/.test(node.nodeValue ?? '')) nodes.push(node);
  for (const node of nodes) {
    const parts = String(node.nodeValue).split(/(\[\d{1,2}\])/);
    const out = document.createDocumentFragment();
    for (const part of parts) {
      const n = /^\[(\d{1,2})\]$/.exec(part)?.[1];
      const id = n ? targetId(Number(n)) : null;
      if (!id) {
        if (part) out.append(document.createTextNode(part));
        continue;
      }
      const link = document.createElement('a');
      link.className = 'cite';
      link.href = `#${id}`;
      link.textContent = part;
      const title = document.getElementById(id)?.textContent?.trim();
      link.setAttribute('aria-label', title ? `Source ${n}: ${title}` : `Source ${n}`);
      out.append(link);
    }
    node.replaceWith(out);
  }
}
