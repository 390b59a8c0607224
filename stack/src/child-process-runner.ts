import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ReadyMessage } from '@chat/shared';

export interface ManagedProcessOptions {
  /** Short name shown before forwarded output, e.g. `gateway-1`. */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Forward the child's output lines to ours. Default: true. */
  forwardOutput?: boolean;
  readyTimeoutMs?: number;
  /**
   * How many of its latest output lines are kept (`recentOutput`), forwarded or not: what a
   * failed test prints of a part it ran quietly. Default: 10 (enough to say why a start failed).
   */
  keepLines?: number;
}

/**
 * A child process of the local stack: output forwarded line by line (JSON log lines stay whole),
 * ready when it says so over IPC (`announceReady` in @chat/shared), and a stop that escalates
 * from SIGTERM to SIGKILL.
 */
export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  /** The port the process said it serves in its ready message (a worker: its metrics port). */
  port: number | undefined;
  /** Its latest output lines: why it exited before it was ready, or what it did before a test failed. */
  private readonly lastLines: string[] = [];
  private readonly keepLines: number;
  private stopping: Promise<void> | null = null;
  private hasExited = false;

  constructor(options: ManagedProcessOptions) {
    this.name = options.name;
    this.keepLines = Math.max(1, options.keepLines ?? 10);
    this.child = spawn(options.command, options.args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.hasExited = true;
        resolve(code);
      });
    });
    const forward = options.forwardOutput ?? true;
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.name} was not ready within ${options.readyTimeoutMs ?? 20_000} ms`)),
        options.readyTimeoutMs ?? 20_000,
      );
      const onLine = (line: string, stream: NodeJS.WriteStream) => {
        if (forward) stream.write(`${options.name.padEnd(12)}| ${line}\n`);
        this.lastLines.push(line.slice(0, 2000));
        // Trimmed in batches: a part logging per turn would otherwise shift the array per line.
        if (this.lastLines.length > 2 * this.keepLines) this.lastLines.splice(0, this.lastLines.length - this.keepLines);
      };
      this.child.on('message', (message: Partial<ReadyMessage>) => {
        if (message?.type !== 'ready') return;
        this.port = message.port;
        clearTimeout(timer);
        resolve();
      });
      createInterface({ input: this.child.stdout! }).on('line', (line) => onLine(line, process.stdout));
      createInterface({ input: this.child.stderr! }).on('line', (line) => onLine(line, process.stderr));
      // On 'close', not 'exit': by then its output is read to the end (the last lines, which
      // say why it exited, may still be in the pipe at 'exit').
      this.child.once('close', (code) => {
        clearTimeout(timer);
        const lines = this.recentOutput().slice(-10);
        const output = lines.length > 0 ? `; its last output:\n${lines.join('\n')}` : '';
        reject(new Error(`${options.name} exited with code ${code} before it was ready${output}`));
      });
    });
    this.ready.catch(() => {});
  }

  /** Its latest output lines (at most `keepLines`), oldest first. */
  recentOutput(): string[] {
    return this.lastLines.slice(-this.keepLines);
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Safe to call twice. */
  stop(graceMs = 20_000): Promise<void> {
    this.stopping ??= (async () => {
      if (this.hasExited) return;
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    })();
    return this.stopping;
  }
}
