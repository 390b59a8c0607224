// Micro-benchmark of a turn's two context calls over HTTP (RETRIEVAL_URL and AGENT_URL): the
// worker's HttpPolicySource.search and HttpFlightSource.getFlightContext against the bench's
// context-source server (a child process, so its CPU is not counted), side by side as the
// assembler makes them. Worker-side CPU (process.cpuUsage) and wall time per pair of calls,
// 2 000 pairs after 300 of warm-up, three rounds.
// Usage (after pnpm build): node bench/micro/context-http.mjs [checkout dir] [pairs]
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
const dir = resolve(process.argv[2] ?? '.');
const pairs = Number(process.argv[3] ?? 2000);
const server = fork(new URL('../dist/context-source-server.js', import.meta.url), ['0'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const [{ port }] = await once(server, 'message');
const { HttpPolicySource } = await import(`${dir}/worker/dist/context/http-policy-source.js`);
const { HttpFlightSource } = await import(`${dir}/worker/dist/context/http-flight-source.js`);
const url = `http://127.0.0.1:${port}`;
const policy = new HttpPolicySource({ baseUrl: url });
const flights = new HttpFlightSource({ baseUrl: url });
// A signal per pair, as each turn has its own.
const pair = () => {
  const signal = new AbortController().signal;
  return Promise.all([policy.search('how much checked baggage on a Tasman flight', 3, signal), flights.getFlightContext({ flight_no: 'NZ123' }, signal)]);
};
for (let i = 0; i < 300; i++) await pair();
for (let round = 0; round < 3; round++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < pairs; i++) await pair();
  const cpu = process.cpuUsage(cpu0);
  console.log(`${dir.split('/').pop()}: ${((cpu.user + cpu.system) / pairs).toFixed(1)} µs CPU, ${((1000 * (performance.now() - t0)) / pairs).toFixed(0)} µs wall per turn's two calls`);
}
server.kill();
