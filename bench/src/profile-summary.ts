import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` (written by `node --cpu-prof`) this summary reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  /** Profiled time, ms. */
  totalMs: number;
  /** Time not idle, ms. */
  busyMs: number;
  /** Functions by self time: `12.3%  fn  file:line`. */
  topFunctions: Array<{ selfPercent: number; name: string; where: string }>;
  /** Self time by where the code lives (a package, node internals, this repo's packages, GC). */
  byModule: Array<{ selfPercent: number; module: string }>;
}

/**
 * Bottom-up summary of a CPU profile: self time per function and per module, as % of the time
 * the process was not idle. Enough to see where a hot path spends its time without a viewer;
 * open the .cpuprofile in Chrome DevTools or speedscope for the flame graph.
 */
export function summariseProfile(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // A sample's time is the delta to the next sample.
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const byFunction = new Map<string, { us: number; name: string; where: string }>();
  const byModule = new Map<string, number>();
  let busy = 0;
  let total = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}\0${where}`;
    const entry = byFunction.get(key) ?? { us: 0, name, where };
    entry.us += us;
    byFunction.set(key, entry);
    const module = moduleOf(functionName, url);
    byModule.set(module, (byModule.get(module) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / (busy || 1)) * 1000) / 10;
  return {
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    topFunctions: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ selfPercent: pct(f.us), name: f.name, where: f.where })),
    byModule: [...byModule.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, us]) => ({ selfPercent: pct(us), module })),
  };
}

export function renderProfileSummary(summary: ProfileSummary): string[] {
  const lines = [`busy ${summary.busyMs} ms of ${summary.totalMs} ms profiled; self time, % of busy:`];
  lines.push('  by module:');
  for (const m of summary.byModule) lines.push(`    ${m.selfPercent.toFixed(1).padStart(5)}%  ${m.module}`);
  lines.push('  by function:');
  for (const f of summary.topFunctions) lines.push(`    ${f.selfPercent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  return lines;
}

/** `node_modules/.pnpm/ioredis@5.11.1/node_modules/ioredis/built/x.js` → `ioredis/built/x.js`. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm !== -1) return path.slice(nm + '/node_modules/'.length);
  const repo = /\/(gateway|worker|shared|offline-llm|stack|bench)\/(dist|src)\/(.*)$/.exec(path);
  if (repo) return `${repo[1]}/${repo[3]}`;
  return path;
}

function moduleOf(functionName: string, url: string): string {
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program)
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node internals';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const repo = /\/(gateway|worker|shared|offline-llm|stack|bench)\/(dist|src)\//.exec(path);
  if (repo) return `@chat/${repo[1]}`;
  return 'other';
}
