import type { TemplatedApp } from '../uws-types.js';

/** uWS registration methods and the HTTP method each one serves (`ws` upgrades a GET). */
const REGISTRARS: Readonly<Record<string, string>> = {
  get: 'GET',
  post: 'POST',
  put: 'PUT',
  patch: 'PATCH',
  del: 'DELETE',
  head: 'HEAD',
  options: 'OPTIONS',
  ws: 'GET',
};

interface Route {
  pattern: string;
  match: RegExp;
  methods: Set<string>;
}

/**
 * Which methods each path takes, learnt from the routes as they are registered (see
 * `recordRoutes`), so the catch-all can answer consistently: a known path with another method
 * gets 405 with an `Allow` header, an unknown path 404, and a CORS preflight the path's methods.
 * Nothing is listed by hand, so a route added later is known without a second edit.
 */
export class RouteTable {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string): void {
    if (pattern === '/*') return; // the catch-all itself
    let route = this.routes.find((r) => r.pattern === pattern);
    if (!route) {
      route = { pattern, match: patternToRegExp(pattern), methods: new Set() };
      this.routes.push(route);
    }
    route.methods.add(method);
  }

  /** The methods the path takes, in a stable order; null when no route has the path. */
  methodsFor(path: string): string[] | null {
    const methods = new Set<string>();
    for (const route of this.routes) if (route.match.test(path)) for (const m of route.methods) methods.add(m);
    return methods.size > 0 ? [...methods].sort() : null;
  }
}

/**
 * The app, with every route registered through it also written to `table`. Registration goes
 * through this wrapper; serving does not (uWS calls the handlers directly).
 */
export function recordRoutes(app: TemplatedApp, table: RouteTable): TemplatedApp {
  const recording: TemplatedApp = new Proxy(app, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      const method = typeof property === 'string' ? REGISTRARS[property] : undefined;
      if (!method || typeof value !== 'function') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return (pattern: string, handler: unknown) => {
        table.add(method, pattern);
        (value as (p: string, h: unknown) => unknown).call(target, pattern, handler);
        return recording;
      };
    },
  });
  return recording;
}

/** `/chat/session/:id` → one segment per parameter; a trailing `*` matches the rest. */
function patternToRegExp(pattern: string): RegExp {
  const source = pattern
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}
