// Micro-benchmark of a worker's per-frame path: TurnPublisher.chunk (frame JSON, envelope, the
// frame script call over ioredis: on one Redis the frames of a loop turn share one call, see
// FrameBatcher) for many turns at once against a real redis-server on a
// free port, CPU time of this process (process.cpuUsage) and of Redis (INFO used_cpu_*) per
// frame. Frames are sent a batch of one per turn per loop turn, as the streams of a busy worker
// are, and every append is awaited before the next round. With --cluster, against a local Redis
// Cluster of three masters (spawnRedisCluster, no replicas) through a Cluster client, Redis CPU
// summed over the masters.
// Usage (after pnpm build): node bench/micro/turn-frames.mjs [checkout dir] [turns] [frames per turn] [--cluster]
// Against another checkout: node bench/micro/turn-frames.mjs /tmp/pertoken-before
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const onCluster = process.argv.includes("--cluster");
const args = process.argv.slice(2).filter((a) => a !== "--cluster");
const root = resolve(args[0] ?? ".");
const turns = Number(args[1] ?? 200);
const framesPerTurn = Number(args[2] ?? 200);
const shared = await import(pathToFileURL(`${root}/shared/dist/index.js`).href);
const { TurnPublisher } = await import(pathToFileURL(`${root}/worker/dist/turn-publisher.js`).href);

let stopServers;
let redis;
if (onCluster) {
  const { spawnRedisCluster } = await import(pathToFileURL(`${root}/shared/dist/dev/redis-cluster.js`).href);
  const cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 0 });
  stopServers = () => cluster.stop();
  redis = shared.openRedis({ kind: "cluster", nodes: cluster.nodes.map((n) => ({ host: "127.0.0.1", port: n.port })) }, { name: "micro" });
} else {
  const port = await new Promise((done) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => done(p)); }); });
  const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  stopServers = () => server.kill();
  redis = shared.createRedisConnection(`redis://127.0.0.1:${port}`, { name: "micro" });
}
try {
  await new Promise((done) => redis.once("ready", done));
  const keys = new shared.RedisKeys("micro");
  const log = new shared.TurnLog(redis, keys, { ttlSeconds: 300, maxFrames: 10_000 });
  await log.preload();
  const tokens = [" the", " baggage", " allowance", " is", " 23", "kg", ".\n", ' "Hi"'];
  const serverCpu = async (node) => { const info = await node.info("cpu"); return Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]); };
  const redisCpu = async () => (onCluster ? (await Promise.all(shared.masterNodes(redis).map(serverCpu))).reduce((a, b) => a + b, 0) : serverCpu(redis));
  const round = async (label) => {
    const publishers = [];
    for (let i = 0; i < turns; i++) {
      const sessionId = `s${label}x${i}`;
      const messageId = `m${label}x${i}`;
      const claim = await log.claim(sessionId, messageId);
      publishers.push(new TurnPublisher(log, sessionId, messageId, claim, () => { throw new Error("lost"); }));
    }
    const r0 = await redisCpu();
    const c0 = process.cpuUsage();
    for (let f = 0; f < framesPerTurn; f++) {
      for (const p of publishers) p.chunk(tokens[f & 7]);
      await new Promise((done) => setImmediate(done));
      if ((f & 15) === 15) await Promise.all(publishers.map((p) => p.flushed()));
    }
    await Promise.all(publishers.map((p) => p.complete({ model: "m", tokens_used: 2, prompt_tokens: 1, completion_tokens: 1, ttft_ms: 1, response_time_ms: 1, queue_wait_ms: 1, chunks: framesPerTurn, offline_model: true })));
    const c = process.cpuUsage(c0);
    const r = await redisCpu();
    const frames = turns * (framesPerTurn + 1);
    return { worker: (c.user + c.system) / frames, redis: ((r - r0) * 1e6) / frames };
  };
  await round("warm");
  const results = [];
  for (let k = 0; k < 5; k++) results.push(await round(`r${k}`));
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`${root}${onCluster ? " (cluster, 3 masters)" : ""}: ${turns} turns × ${framesPerTurn} frames, median of 5: worker ${median(results.map((r) => r.worker)).toFixed(2)} µs CPU per frame, redis ${median(results.map((r) => r.redis)).toFixed(2)} µs`);
  redis.disconnect();
} finally {
  await stopServers();
}
