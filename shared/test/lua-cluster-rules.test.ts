/**
 * The Lua scripts stay legal on a Redis Cluster (issue 12): every script's keys come from KEYS
 * (the caller passes keys of one hash slot, see RedisKeys), and frames go out on sharded pub/sub.
 * A classic PUBLISH inside a script would broadcast every frame to every node of a cluster, and
 * the gateways listen with SSUBSCRIBE: such a frame would never arrive.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const LUA_DIR = fileURLToPath(new URL('../lua/', import.meta.url));
const scripts = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));

t.test('every script publishes with SPUBLISH, never PUBLISH', async (t) => {
  t.ok(scripts.length >= 8, `${scripts.length} scripts`);
  for (const file of scripts) {
    const code = readFileSync(`${LUA_DIR}${file}`, 'utf8').replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--.*$/gm, '');
    t.notMatch(code, /redis\.call\(\s*'PUBLISH'/i, `${file}: no classic PUBLISH`);
  }
});

t.test('no script names a key that is not one of its KEYS', async (t) => {
  for (const file of scripts) {
    const code = readFileSync(`${LUA_DIR}${file}`, 'utf8').replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--.*$/gm, '');
    // A key written as a literal (or built from ARGV) in a call's key position would escape the
    // caller's slot: the first argument of every key command must be KEYS[n].
    const calls = [...code.matchAll(/redis\.call\(\s*'([A-Z]+)'\s*,\s*([^,)]+)/gi)];
    for (const [, command, first] of calls) {
      if (/^(SPUBLISH|TIME|EVAL|EVALSHA)$/i.test(command!)) continue;
      t.match(first!.trim(), /^KEYS\[(\d+|k \+ \d+)\]$|^key$|^k$/, `${file}: ${command} takes a key from KEYS (${first!.trim()})`);
    }
  }
});
