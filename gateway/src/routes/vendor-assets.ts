import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Third-party browser modules the chat page imports, served from this gateway's own
 * node_modules (never from a CDN: the CSP allows scripts from this origin only, and the page
 * must work without the internet). Read once at start, like the rest of web/.
 *
 * - `marked` turns the model's Markdown into HTML;
 * - `DOMPurify` then keeps only safe elements and attributes, so nothing the model writes can
 *   run script or load anything.
 */
const VENDOR_MODULES: ReadonlyArray<{ urlPath: string; specifier: string }> = [
  { urlPath: '/assets/vendor/marked.js', specifier: 'marked' },
  { urlPath: '/assets/vendor/purify.js', specifier: 'dompurify' },
];

export interface VendorAsset {
  urlPath: string;
  body: Buffer;
}

/** The vendored modules (their ES module builds), without their source-map comments. */
export function loadVendorAssets(): VendorAsset[] {
  return VENDOR_MODULES.map(({ urlPath, specifier }) => {
    const source = readFileSync(fileURLToPath(import.meta.resolve(specifier)), 'utf8');
    return { urlPath, body: Buffer.from(source.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'), 'utf8') };
  });
}
