#!/usr/bin/env node
/**
 * Build-stage helper: deletes the uWebSockets.js binaries the runtime image can never load.
 *
 *   node prune-native.mjs <deployed package dir>...
 *
 * Both uWS packages ship one `uws_<platform>_<arch>_<node ABI>.node` per platform and Node
 * version (≈ 220 MB for the gateway). The runtime stage uses the same Node image as the build
 * stage, so the only binary it can load is the one for this process's platform, arch and
 * `process.versions.modules`; the rest are deleted. A package left with no binary still loads
 * its JavaScript part (the 20.30 build then falls back to its shim, exactly as it would without
 * pruning on a Node it has no build for). Prints what it kept and how much it freed.
 */
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const BINARY = /^uws_([a-z0-9]+)_([a-z0-9]+)_(\d+)\.node$/;
const wanted = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;

const roots = process.argv.slice(2);
if (roots.length === 0) {
  process.stderr.write('usage: prune-native.mjs <dir>...\n');
  process.exit(2);
}

let freed = 0;
const kept = [];
const removed = [];

/** Walks real directories only: pnpm's node_modules are symlinks into .pnpm, walked once there. */
function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      walk(path);
    } else if (entry.isFile() && BINARY.test(entry.name)) {
      if (entry.name === wanted) {
        kept.push(path);
      } else {
        freed += lstatSync(path).size;
        rmSync(path);
        removed.push(path);
      }
    }
  }
}

for (const root of roots) walk(root);

process.stdout.write(
  `prune-native: kept ${kept.length} (${wanted}), removed ${removed.length}, freed ${(freed / 1024 / 1024).toFixed(1)} MiB\n` +
    kept.map((path) => `  kept ${path}\n`).join(''),
);
