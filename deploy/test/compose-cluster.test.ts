/**
 * deploy/compose.cluster.yaml: the compose override that runs the stack on a Redis Cluster. What
 * can be checked without a Docker engine: every cluster node is a cluster-enabled, noeviction
 * Redis 7 in the `cluster` profile; the gateways' and workers' environment, merged over
 * compose.yaml's as Compose merges it, is made of ENV_TABLE variables and loads in cluster mode
 * with its seeds naming real node services; they wait for the one-shot cluster creation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { ENV_TABLE, loadConfig, usesRedisCluster } from '../../shared/src/config.js';
import { parseClusterNodes } from '../../shared/src/redis/connection.js';

const DEPLOY = fileURLToPath(new URL('../', import.meta.url));
type Service = { environment?: Record<string, unknown>; profiles?: string[]; command?: unknown; depends_on?: Record<string, { condition: string }>; image?: string };
const load = (file: string) => parse(readFileSync(join(DEPLOY, file), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const base = load('compose.yaml').services;
const cluster = load('compose.cluster.yaml').services;
const ENV_NAMES = new Set<string>(ENV_TABLE.map(([name]) => name));
const NODE_SERVICES = Object.keys(cluster).filter((name) => name.startsWith('redis-node-'));

/** Compose's merge of one service's environment: the override's keys win. `${X:-d}` → d. */
function mergedEnv(name: string): Record<string, string> {
  const env = { ...(base[name]?.environment ?? {}), ...(cluster[name]?.environment ?? {}) };
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? '').replace(/^\$\{[A-Z_]+:-(.*)\}$/s, '$1')]));
}

t.test('six cluster-enabled noeviction Redis 7 nodes in the cluster profile, and a one-shot creator', async (t) => {
  t.equal(NODE_SERVICES.length, 6, '3 masters + 3 replicas');
  for (const name of NODE_SERVICES) {
    const node = cluster[name]!;
    const command = (node.command as string[]).join(' ');
    t.match(node.image, /^redis:7/, `${name}: Redis 7 (sharded pub/sub)`);
    t.same(node.profiles, ['cluster'], `${name}: only with --profile cluster`);
    t.match(command, /--cluster-enabled yes/, `${name}: cluster mode`);
    t.match(command, /--maxmemory-policy noeviction/, `${name}: BullMQ needs noeviction`);
    t.match(command, new RegExp(`--cluster-announce-hostname ${name}\\b`), `${name}: announces its service name`);
  }
  const init = cluster['redis-cluster-init']!;
  t.same(init.profiles, ['cluster']);
  t.same(Object.keys(init.depends_on ?? {}).sort(), [...NODE_SERVICES].sort(), 'the creator waits for every node');
  t.match(JSON.stringify(init.command), /--cluster-replicas 1/);
});

t.test('gateways and workers run in cluster mode on the node services, after the cluster formed', async (t) => {
  for (const name of ['gateway-1', 'gateway-2', 'worker-1', 'worker-2']) {
    t.ok(base[name], `${name} exists in compose.yaml`);
    const env = mergedEnv(name);
    t.same(Object.keys(env).filter((k) => !ENV_NAMES.has(k)), [], `${name}: every variable is in ENV_TABLE`);
    // Secrets come from the operator's environment (`${AUTH_SECRETS:?…}` in compose.yaml): none here.
    const config = loadConfig({ ...env, AUTH_REQUIRED: 'false', AUTH_SECRETS: '', OPS_TOKEN: '' });
    t.ok(usesRedisCluster(config), `${name}: cluster mode`);
    t.equal(config.redis.queueShards, 3, `${name}: three queue shards`);
    for (const seed of parseClusterNodes(config.redis.clusterNodes)) t.ok(NODE_SERVICES.includes(seed.host), `${name}: seed ${seed.host} is a node service`);
    t.equal(cluster[name]!.depends_on?.['redis-cluster-init']?.condition, 'service_completed_successfully', `${name}: starts once the cluster formed`);
  }
});
