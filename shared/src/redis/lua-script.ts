import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isCluster, masterNodes, type Cluster, type RedisClient } from './connection.js';

/** `shared/lua/`, resolved the same from `src/redis` (tsx) and `dist/redis` (built). */
const LUA_DIR = fileURLToPath(new URL('../../lua/', import.meta.url));

/**
 * A Lua script from `shared/lua/<verb>-<numberOfKeys>.lua` (`<verb>-n.lua`: as many keys as the
 * caller passes, e.g. a batch), run by SHA with a fallback to EVAL when the server does not have
 * it cached (first call, or after a Redis restart).
 */
export class LuaScript {
  readonly name: string;
  /** null: any number (a `-n` script). */
  readonly numberOfKeys: number | null;
  private readonly source: string;
  /** The SHA1 the server caches the script under (EVALSHA). */
  readonly sha: string;

  constructor(fileName: string) {
    const match = /^([a-z-]+)-(\d+|n)\.lua$/.exec(fileName);
    if (!match) throw new Error(`Lua script names are <verb>-<numberOfKeys>.lua or <verb>-n.lua: ${fileName}`);
    this.name = match[1]!;
    this.numberOfKeys = match[2] === 'n' ? null : Number(match[2]);
    this.source = readFileSync(`${LUA_DIR}${fileName}`, 'utf8');
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }

  /**
   * Puts the script in the server's cache ahead of use. Callers that pipeline many calls (a
   * turn's frames) load it first: otherwise the first calls all miss (NOSCRIPT) and are re-sent
   * as EVAL one by one, and a later EVALSHA can overtake them.
   */
  async load(redis: RedisClient): Promise<void> {
    // On a cluster each master keeps its own script cache: load it on all of them, once the
    // cluster client knows them (before its first slot map it lists none, and the script would be
    // loaded nowhere). A replica promoted later does not have it; its first calls fall back to
    // EVAL, see `run`.
    if (isCluster(redis) && redis.status !== 'ready') await readyWithin(redis, 10_000);
    await Promise.all(masterNodes(redis).map((node) => node.script('LOAD', this.source)));
  }

  async run(redis: RedisClient, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<unknown> {
    if (this.numberOfKeys !== null && keys.length !== this.numberOfKeys) {
      throw new Error(`${this.name} takes ${this.numberOfKeys} keys, got ${keys.length}`);
    }
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        return redis.eval(this.source, keys.length, ...keys, ...args);
      }
      throw err;
    }
  }

  /** EVAL with the script's source, at once: for a caller that already got NOSCRIPT for its own EVALSHA. */
  evalWithSource(redis: RedisClient, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<unknown> {
    return redis.eval(this.source, keys.length, ...keys, ...args);
  }
}

/** Resolves once the cluster client is ready, or after `ms` (the caller goes on either way). */
function readyWithin(cluster: Cluster, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      cluster.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    cluster.once('ready', done);
  });
}
