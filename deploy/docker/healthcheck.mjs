#!/usr/bin/env node
/**
 * Container health check for the slim images, which have no curl or wget:
 *
 *   node /app/healthcheck.mjs <PORT_VARIABLE> <default port>
 *   node /app/healthcheck.mjs PORT 8088                 (gateway)
 *   node /app/healthcheck.mjs WORKER_METRICS_PORT 9464  (worker)
 *   node /app/healthcheck.mjs OFFLINE_LLM_PORT 8099     (offline model)
 *
 * Reads the port from the named environment variable (the same one the service reads, see
 * ENV_TABLE in shared/src/config.ts), falls back to the default, and GETs
 * http://127.0.0.1:<port>/health. Exit 0 on HTTP 200, 1 on anything else (503 while draining or
 * Redis is down, connection refused, no answer within the timeout). Plain ESM on node: builtins
 * and the global fetch only, so it runs in the runtime image without node_modules.
 */
const [portVariable, defaultPort] = process.argv.slice(2);
if (!portVariable || !defaultPort) {
  process.stderr.write('usage: healthcheck.mjs <PORT_VARIABLE> <default port>\n');
  process.exit(2);
}
const fromEnv = process.env[portVariable];
const port = Number(fromEnv === undefined || fromEnv === '' ? defaultPort : fromEnv);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`healthcheck: ${portVariable} is not a usable port: ${fromEnv}\n`);
  process.exit(2);
}
// Below the images' HEALTHCHECK --timeout (3 s), so a hung service reports here, not as a kill.
const timeoutMs = 2500;

try {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(timeoutMs) });
  // Drain the body so the socket closes before exit; the status alone decides.
  await response.arrayBuffer();
  process.exit(response.status === 200 ? 0 : 1);
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
