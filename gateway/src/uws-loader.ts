import { createRequire } from 'node:module';
import type * as UwsModule from 'uws-modern';

/**
 * The one module that knows where uWebSockets.js comes from. Everything else imports the API
 * object it returns, so the socket layer can be swapped here alone.
 *
 * Candidates, newest first:
 * - `uws-modern` (@btc-vision/uwebsockets.js 20.57): Node 20–25, needs glibc ≥ 2.38
 *   (Debian 13 and the deploy images).
 * - `uWebSockets.js` (@trufflesuite/uws-js-unofficial 20.30): Node ≤ 20, older glibc (these dev
 *   machines). When its binary cannot load it silently falls back to a slow JavaScript shim built
 *   on `ws`; that is detected here and refused unless explicitly allowed.
 */
export type Uws = typeof UwsModule;

export interface UwsBuild {
  uws: Uws;
  /** npm alias the build came from. */
  source: 'uws-modern' | 'uWebSockets.js';
  /** False when the JavaScript shim is in use. */
  native: boolean;
  /** Why the candidates before it were passed over. */
  skipped: string[];
}

export class UwsShimRefusedError extends Error {
  constructor(skipped: string[]) {
    super(
      'uWebSockets.js has no native build for this platform and fell back to its slow JavaScript shim. ' +
        'Refusing to start: use Node 20–25 on glibc ≥ 2.38 or x64/arm64 Node 20 on older glibc, or set ' +
        `ALLOW_UWS_SHIM=true to accept the shim. Passed over: ${skipped.join(' | ')}`,
    );
    this.name = 'UwsShimRefusedError';
  }
}

const require = createRequire(import.meta.url);

/** Native addon functions print as `function App() { [native code] }`; the shim's do not. */
function isNativeBuild(uws: Uws): boolean {
  return typeof uws.App === 'function' && Function.prototype.toString.call(uws.App).includes('[native code]');
}

export function loadUws(options: { allowShim: boolean }): UwsBuild {
  const skipped: string[] = [];
  try {
    const uws = require('uws-modern') as Uws;
    if (isNativeBuild(uws)) return { uws, source: 'uws-modern', native: true, skipped };
    skipped.push('uws-modern: not a native build');
  } catch (err) {
    skipped.push(`uws-modern: ${firstLine(err)}`);
  }
  // The 20.30 package prints its own warning when it falls back; the decision is ours below.
  const uws = require('uWebSockets.js') as Uws;
  if (isNativeBuild(uws)) return { uws, source: 'uWebSockets.js', native: true, skipped };
  skipped.push('uWebSockets.js: native binary failed to load, shim in use');
  if (!options.allowShim) throw new UwsShimRefusedError(skipped);
  return { uws, source: 'uWebSockets.js', native: false, skipped };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines[lines.length - 1]?.trim().slice(0, 200) ?? 'failed to load';
}
