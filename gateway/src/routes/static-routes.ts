import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { errorStatus, restErrorBody, type ErrorCode, type GatewayMetrics, type Logger } from '@chat/shared';
import { respondError, statusLine, type HttpExchange } from '../http/respond.js';
import type { HttpRequest, HttpResponse, TemplatedApp } from '../uws-types.js';
import { OPS_UNAUTHORIZED_MESSAGE, type OpsAccess } from './ops-page-access.js';
import { loadVendorAssets } from './vendor-assets.js';

/**
 * The web pages the gateway serves: the chat page at `/` and the operator view at `/ops`, with
 * their scripts and styles under `/assets/`. Everything is read from `web/` once, at start, into
 * memory (the uWS loop never touches the disk) and answered synchronously from there.
 *
 * Caching: every asset is also served under a content-hashed name (`/assets/chat.3f9a0c1b2d.js`,
 * `Cache-Control: immutable`, a year), and the pages are rewritten at load to point at those
 * names; the pages themselves and the plain asset names are `no-cache` with an ETag, so a
 * browser revalidates them with one 304. Text files are also kept gzipped, when that is smaller.
 *
 * Every response carries a strict Content-Security-Policy: scripts, styles and images from this
 * origin only (no inline script or style), and connections to this origin over HTTP and WS.
 */

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Pages by URL path, and the file each is read from. */
const PAGES: Record<string, string> = { '/': 'index.html', '/ops': 'ops.html' };
/** Served with status 401 to a browser that opens /ops without the token. */
const OPS_LOGIN_PAGE = 'ops-login.html';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

export interface StaticFile {
  contentType: string;
  body: Buffer;
  /** The gzipped body, when gzip makes it smaller. */
  gzipped: Buffer | null;
  /** Strong ETag of `body`; the gzipped variant's is the same with `-gz` inside the quotes. */
  etag: string;
  cacheControl: string;
}

export interface StaticSiteOptions {
  /** Include the operator view's files (`ops*`). Default: true. */
  ops?: boolean;
}

export class StaticSite {
  private readonly files = new Map<string, StaticFile>();
  private opsLogin: StaticFile | null = null;

  /** An empty site (no web/ folder found): every path is a 404. */
  constructor(readonly root: string | null = null) {}

  /**
   * Reads `root` (the web/ folder: pages at the top, assets under `assets/`) synchronously; call
   * at start only. Files with an unknown extension are skipped rather than served as bytes.
   */
  static load(root: string, options: StaticSiteOptions = {}): StaticSite {
    const site = new StaticSite(root);
    const includeOps = options.ops ?? true;
    const wanted = (file: string) => includeOps || !basename(file).startsWith('ops');

    // Assets first: the pages are rewritten to their hashed names.
    const renames: Array<[string, string]> = [];
    const assetsDir = join(root, 'assets');
    for (const file of existsSync(assetsDir) ? listFiles(assetsDir) : []) {
      if (!wanted(file)) continue;
      const contentType = CONTENT_TYPES[extname(file).toLowerCase()];
      if (!contentType) continue;
      const urlPath = `/assets/${relative(assetsDir, file).split(sep).join('/')}`;
      const body = readFileSync(file);
      const hashed = hashedPath(urlPath, contentHash(body));
      site.files.set(urlPath, staticFile(contentType, body, REVALIDATE));
      site.files.set(hashed, staticFile(contentType, body, IMMUTABLE));
      renames.push([urlPath, hashed]);
    }
    // The chat page's third-party modules, from node_modules (imported by chat.js by plain name).
    for (const { urlPath, body } of loadVendorAssets()) site.files.set(urlPath, staticFile(CONTENT_TYPES['.js']!, body, REVALIDATE));
    for (const [urlPath, fileName] of Object.entries(PAGES)) {
      const file = join(root, fileName);
      if (!wanted(file) || !existsSync(file)) continue;
      site.files.set(urlPath, staticFile(CONTENT_TYPES['.html']!, rewrite(readFileSync(file, 'utf8'), renames), REVALIDATE));
    }
    const login = join(root, OPS_LOGIN_PAGE);
    if (includeOps && existsSync(login)) site.opsLogin = staticFile(CONTENT_TYPES['.html']!, rewrite(readFileSync(login, 'utf8'), renames), 'no-store');
    return site;
  }

  get(urlPath: string): StaticFile | undefined {
    return this.files.get(urlPath);
  }

  get opsLoginPage(): StaticFile | null {
    return this.opsLogin;
  }

  /** URL paths served, for logs and tests. */
  paths(): string[] {
    return [...this.files.keys()];
  }
}

/**
 * Where web/ is: beside the gateway package (`/app/web` in an image that copies it there), else
 * at the repository root (this file runs from gateway/dist/routes/ or gateway/src/routes/).
 */
export function findWebRoot(): string | null {
  for (const candidate of ['../../web/', '../../../web/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return null;
}

/**
 * The Content-Security-Policy of every static response, built once from configuration, never
 * from the request (a Host header is whatever the client sends). The page opens its socket on
 * its own origin: CSP Level 3 has `'self'` match ws:/wss: of the page's own host, as Chrome (71+),
 * Firefox and Safari (16+) do. PUBLIC_WS_ORIGINS names socket origins for older browsers or a
 * socket served from another host (e.g. `wss://chat.example-air.com`).
 */
export function contentSecurityPolicy(publicWsOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${["'self'", ...publicWsOrigins].join(' ')}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    // The ops login page submits a GET form to /ops; the chat forms are handled by script.
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface StaticRoutesDeps {
  site: StaticSite;
  opsAccess: OpsAccess;
  /** Serve /ops (and its assets); when false they are 404s like any unknown path. */
  opsEnabled: boolean;
  metrics: GatewayMetrics;
  logger: Logger;
  /** PUBLIC_WS_ORIGINS, parsed: named in the CSP's connect-src (see contentSecurityPolicy). */
  publicWsOrigins?: readonly string[];
}

/** GET and HEAD for `/`, `/ops` (behind the ops token when one is set) and `/assets/*`. */
export function registerStaticRoutes(app: TemplatedApp, deps: StaticRoutesDeps): void {
  const { site, opsAccess, metrics } = deps;
  const served: Served = { metrics, csp: contentSecurityPolicy(deps.publicWsOrigins) };
  if (!site.get('/')) deps.logger.warn({ root: site.root }, 'web/ not found: the chat page and the operator view are not served');
  for (const method of ['get', 'head'] as const) {
    const head = method === 'head';
    const verb = method.toUpperCase();
    app[method]('/', (res, req) => serveStatic(res, req, site.get('/'), head, `${verb} /`, served));
    if (deps.opsEnabled && opsAccess.reachable) {
      const route = `${verb} /ops`;
      app[method]('/ops', (res, req) => {
        if (!opsAccess.allows(req)) {
          // A browser gets a small page with a token field; anything else the JSON error.
          const login = site.opsLoginPage;
          const challenge = { 'www-authenticate': opsAccess.challenge, 'cache-control': 'no-store' };
          if (login && req.getHeader('accept').includes('text/html')) {
            metrics.errorReturned('unauthorized');
            serveStatic(res, req, login, head, route, served, 401, challenge);
          } else {
            sendError(res, 'unauthorized', OPS_UNAUTHORIZED_MESSAGE, head, route, metrics, challenge);
          }
          return;
        }
        serveStatic(res, req, site.get('/ops'), head, route, served);
      });
    }
    app[method]('/assets/*', (res, req) => serveStatic(res, req, site.get(req.getUrl()), head, `${verb} /assets/*`, served));
  }
}

/** What every static response shares: the metrics it is counted in, and the CSP it carries. */
interface Served {
  metrics: GatewayMetrics;
  csp: string;
}

/** Answers from memory, synchronously: 200, 304 on a matching If-None-Match, or a 404 error body. */
function serveStatic(
  res: HttpResponse,
  req: HttpRequest,
  file: StaticFile | undefined,
  head: boolean,
  route: string,
  { metrics, csp }: Served,
  status = 200,
  extraHeaders: Record<string, string> = {},
): void {
  if (!file) {
    sendError(res, 'not_found', 'No such page or file.', head, route, metrics);
    return;
  }
  const gzip = file.gzipped !== null && acceptsGzip(req.getHeader('accept-encoding'));
  const etag = gzip ? `${file.etag.slice(0, -1)}-gz"` : file.etag;
  const notModified = status === 200 && etagMatches(req.getHeader('if-none-match'), etag);
  const headers: Record<string, string> = {
    'content-type': file.contentType,
    'cache-control': file.cacheControl,
    etag,
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'x-frame-options': 'DENY',
    ...extraHeaders,
  };
  if (file.gzipped) headers.vary = 'accept-encoding';
  if (gzip && !notModified) headers['content-encoding'] = 'gzip';
  const body = gzip ? file.gzipped! : file.body;
  const sent = notModified ? 304 : status;
  // HEAD reports the length itself: endWithoutBody(length) aborts the process on uWS 20.30,
  // while endWithoutBody() with the header written by hand works on every build.
  if (head && !notModified) headers['content-length'] = String(body.byteLength);
  res.cork(() => {
    res.writeStatus(sent === 304 ? '304 Not Modified' : sent === 401 ? '401 Unauthorized' : '200 OK');
    for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    if (notModified || head) res.endWithoutBody();
    else res.end(body);
  });
  metrics.httpRequest(route, sent);
}

/** The catalogue's error body; for HEAD only its headers (a body there would corrupt the connection). */
function sendError(
  res: HttpResponse,
  code: ErrorCode,
  message: string,
  head: boolean,
  route: string,
  metrics: GatewayMetrics,
  headers: Record<string, string> = {},
): void {
  metrics.errorReturned(code);
  if (!head) {
    const exchange: HttpExchange = { res, aborted: false, responded: false, status: 0 };
    respondError(exchange, code, message, undefined, { headers });
    metrics.httpRequest(route, exchange.status);
    return;
  }
  const status = errorStatus(code);
  const length = Buffer.byteLength(JSON.stringify(restErrorBody(code, message)));
  res.cork(() => {
    res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json');
    for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    res.writeHeader('content-length', String(length)).endWithoutBody();
  });
  metrics.httpRequest(route, status);
}

function staticFile(contentType: string, content: Buffer | string, cacheControl: string): StaticFile {
  const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const compressible = /^(?:text\/|application\/(?:json|manifest\+json)|image\/svg\+xml)/.test(contentType);
  const gzipped = compressible ? gzipSync(body, { level: 9 }) : null;
  return {
    contentType,
    body,
    gzipped: gzipped && gzipped.byteLength < body.byteLength ? gzipped : null,
    etag: `"${contentHash(body)}"`,
    cacheControl,
  };
}

function contentHash(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 10);
}

/** `/assets/chat.js` → `/assets/chat.<hash>.js`. */
function hashedPath(urlPath: string, hash: string): string {
  const ext = extname(urlPath);
  return `${urlPath.slice(0, urlPath.length - ext.length)}.${hash}${ext}`;
}

/** Points the page's quoted asset references at their hashed names. */
function rewrite(html: string, renames: Array<[string, string]>): string {
  let out = html;
  for (const [from, to] of renames) out = out.split(`"${from}"`).join(`"${to}"`);
  return out;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path) : entry.isFile() ? [path] : [];
  });
}

/** True when Accept-Encoding lists gzip without `q=0`. */
function acceptsGzip(acceptEncoding: string): boolean {
  return acceptEncoding.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding?.trim() !== 'gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === '') return false;
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed === etag || trimmed === `W/${etag}`;
  });
}
