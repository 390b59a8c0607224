import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem, release, platform } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The workspace root (bench/dist or bench/src is two levels below it). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  /** File descriptors a process may hold (`ulimit -n`). */
  fdLimit: number | null;
  ephemeralPorts: string | null;
}

export interface Versions {
  node: string;
  redis: string | null;
  /** name → version of the packages on the hot path. */
  packages: Record<string, string | null>;
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    fdLimit: readFdLimit(),
    ephemeralPorts: readText('/proc/sys/net/ipv4/ip_local_port_range')?.trim().replace(/\s+/, '-') ?? null,
  };
}

export function versions(): Versions {
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const redisVersion = /v=(\S+)/.exec(redis.stdout ?? '')?.[1] ?? null;
  // Each package as its user resolves it (pnpm links them under the package that depends on them).
  const packages: Record<string, string | null> = {
    'uWebSockets.js (modern build)': packageVersion('gateway', 'uws-modern'),
    'uWebSockets.js (fallback build)': packageVersion('gateway', 'uWebSockets.js'),
    bullmq: packageVersion('worker', 'bullmq'),
    ioredis: packageVersion('worker', 'ioredis'),
    openai: packageVersion('worker', 'openai'),
    'ws (load client)': packageVersion('bench', 'ws'),
    typescript: packageVersion('.', 'typescript'),
  };
  return { node: process.version, redis: redisVersion, packages };
}

function packageVersion(owner: string, name: string): string | null {
  const text = readText(`${REPO_ROOT}${owner}/node_modules/${name}/package.json`);
  if (!text) return null;
  try {
    return (JSON.parse(text) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

function readFdLimit(): number | null {
  const limits = readText('/proc/self/limits');
  const match = limits ? /^Max open files\s+(\d+)/m.exec(limits) : null;
  return match ? Number(match[1]) : null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
