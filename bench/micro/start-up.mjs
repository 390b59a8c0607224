// Start-up cost of each service process, as an autoscaler meets it: the CPU a gateway, a worker
// and the offline model spend from exec to the log line that says they serve (gateway
// "gateway listening", worker "worker started", offline model "offline model listening"), and
// the wall time to that line. Each role is started `rounds` times, one at a time, against one
// redis-server on a free loopback port, with the environment of a plain shell (no NODE_OPTIONS);
// CPU is read from /proc/<pid>/stat at that line (Linux only), then the process is stopped.
// Prints min / median per role and writes a JSON report.
// Usage (after pnpm build): node bench/micro/start-up.mjs [checkout dir] [rounds] [--out report.json]
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const outAt = process.argv.indexOf("--out");
const out = outAt > 0 ? process.argv[outAt + 1] : undefined;
const args = process.argv.slice(2).filter((_, i, all) => all[i] !== "--out" && all[i - 1] !== "--out");
const root = resolve(args[0] ?? ".");
const rounds = Number(args[1] ?? 7);

// The gateway and the worker start with the checkout's own Node flags, as deployed (shared/src/node-flags.ts).
const { SERVICE_NODE_FLAGS } = await import(pathToFileURL(resolve(root, "shared/dist/node-flags.js")).href);
const ROLES = [
  { role: "gateway", entry: "gateway/dist/main.js", flags: [...SERVICE_NODE_FLAGS], ready: "gateway listening" },
  { role: "worker", entry: "worker/dist/main.js", flags: [...SERVICE_NODE_FLAGS], ready: "worker started" },
  { role: "offline-llm", entry: "offline-llm/dist/main.js", flags: [], ready: "offline model listening" },
];
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a live process, in ms. */
function cpuMsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Starts `role` once; resolves with its CPU and wall time at its ready line, after stopping it. */
function startOnce({ entry, flags, ready }, env) {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [...flags, resolve(root, entry)], { env, stdio: ["ignore", "pipe", "pipe"] });
    let seen = "";
    let result;
    const timer = setTimeout(() => { child.kill("SIGKILL"); fail(new Error(`${entry}: no "${ready}" within 60 s:\n${seen.slice(-2000)}`)); }, 60_000);
    const onData = (chunk) => {
      if (result) return;
      seen += chunk.toString();
      if (!seen.includes(ready)) return;
      result = { cpuMs: cpuMsOf(child.pid), readyMs: Number(process.hrtime.bigint() - started) / 1e6 };
      child.kill("SIGTERM");
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", () => { clearTimeout(timer); if (result) done(result); else fail(new Error(`${entry} exited before "${ready}":\n${seen.slice(-2000)}`)); });
  });
}

const median = (values) => { const s = [...values].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

// The checkout's own dev helper: a free port, no persistence, resolved once Redis accepts connections.
const { spawnRedisServer } = await import(pathToFileURL(resolve(root, "shared/dist/dev/index.js")).href);
const redis = await spawnRedisServer();
try {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: redis.url,
    PORT: "0",
    WORKER_METRICS_PORT: "0",
    LOG_LEVEL: "info",
  };
  const report = { tool: "bench/micro/start-up.mjs", checkout: root, node: process.version, cores: cpus().length, rounds, roles: {} };
  for (const role of ROLES) {
    const runs = [];
    for (let i = 0; i < rounds; i++) runs.push(await startOnce(role, env));
    const cpu = runs.map((r) => r.cpuMs);
    const wall = runs.map((r) => r.readyMs);
    report.roles[role.role] = { flags: role.flags, cpuMs: { min: Math.min(...cpu), median: median(cpu) }, readyMs: { min: Math.round(Math.min(...wall)), median: Math.round(median(wall)) }, runs };
    console.log(`${role.role.padEnd(12)} CPU to ready: min ${Math.min(...cpu)} ms, median ${median(cpu)} ms; wall to ready: min ${Math.round(Math.min(...wall))} ms, median ${Math.round(median(wall))} ms`);
  }
  if (out) writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
} finally {
  await redis.stop();
}
