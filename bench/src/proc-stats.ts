import { readFileSync, readdirSync } from 'node:fs';

/**
 * What Linux's /proc says about the processes of a run: resident memory and CPU time. The
 * benchmark reads it around each measurement window to show which process was busy.
 */

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux everywhere that matters). */
const CLOCK_TICKS = 100;

/** Resident set size of a process, bytes; null when it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** User + system CPU time of a process, ms; null when it is gone. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** The direct children of `parent`, with their command lines. */
export function childProcesses(parent: number = process.pid): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      out.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() });
    } catch {
      // it exited while we looked
    }
  }
  return out;
}

/** CPU time the whole machine spent busy (all cores, user + system + irq), ms. */
export function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** The one-minute load average. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

/**
 * A named set of processes whose CPU use is sampled around a window. The rest of the machine's
 * busy time is reported as `other`: on a shared machine, load that is not the benchmark's.
 */
export class CpuMeter {
  private start = new Map<string, number>();
  private startedAt = 0;

  constructor(private readonly processes: () => Array<{ role: string; pid: number }>) {}

  private machineStart = 0;

  begin(): void {
    this.startedAt = performance.now();
    this.machineStart = machineBusyMs();
    this.start = new Map();
    for (const { role, pid } of this.processes()) this.start.set(`${role}\0${pid}`, cpuMs(pid) ?? 0);
  }

  /** CPU use per role since `begin`, in % of one core, one decimal (several processes of a role are summed). */
  end(): Record<string, number> {
    const elapsed = performance.now() - this.startedAt;
    const byRole: Record<string, number> = {};
    for (const { role, pid } of this.processes()) {
      const before = this.start.get(`${role}\0${pid}`);
      const now = cpuMs(pid);
      if (before === undefined || now === null) continue;
      byRole[role] = (byRole[role] ?? 0) + ((now - before) / elapsed) * 100;
    }
    const ours = Object.values(byRole).reduce((a, b) => a + b, 0);
    const machine = ((machineBusyMs() - this.machineStart) / elapsed) * 100;
    byRole.other = Math.max(0, machine - ours);
    // One decimal: an idle process's share is a fraction of a percent.
    for (const role of Object.keys(byRole)) byRole[role] = Math.round(byRole[role]! * 10) / 10;
    return byRole;
  }
}
