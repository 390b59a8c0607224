/**
 * One shared ticker for every paced answer. Thousands of concurrent streams emitting 60 tokens a
 * second would otherwise arm hundreds of thousands of timers a second; here a single interval
 * turns a hashed timer wheel and only the tasks whose slot comes up are touched. A task that is
 * due runs once and may schedule itself again (a stream emits every token that is due, then
 * waits for the next one).
 *
 * Times are `performance.now()` milliseconds (monotonic). A task runs on the first tick at or
 * after its due time, so lateness is at most one tick plus event-loop lag, never early.
 */

/** Something the wheel can run. The `wheel*` fields belong to the wheel; initialise them to -1 / 0. */
export interface WheelTask {
  /** Absolute tick the task waits for, or -1 when it is not scheduled. */
  wheelTick: number;
  /** When the task is due (`performance.now()` ms). */
  wheelDueAt: number;
  /** Called once the due time has passed; `now` is the time of this turn of the wheel. */
  onDue(now: number): void;
}

/** Slots in the wheel; tasks due further ahead than `slots * tickMs` are parked and re-slotted. */
const DEFAULT_SLOTS = 512;

export class TimerWheel {
  private readonly slots: Array<Set<WheelTask>>;
  /** An empty set swapped in for the slot being run, so tasks can re-schedule while it runs. */
  private spare = new Set<WheelTask>();
  /** The last tick that was run. */
  private cursor = 0;
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param tickMs resolution of the wheel
   * @param onError called when a task throws; the wheel carries on with the other tasks
   */
  constructor(
    private readonly tickMs: number,
    private readonly onError: (err: unknown) => void,
    slotCount = DEFAULT_SLOTS,
  ) {
    this.slots = Array.from({ length: slotCount }, () => new Set<WheelTask>());
  }

  /** Tasks waiting in the wheel. */
  get size(): number {
    return this.pending;
  }

  /** Runs `task` on the first tick at or after `dueAt`; re-scheduling moves it. */
  schedule(task: WheelTask, dueAt: number): void {
    if (task.wheelTick !== -1) this.cancel(task);
    if (this.timer === undefined) {
      // The interval only runs while something waits, so an idle server costs nothing.
      this.cursor = Math.floor(performance.now() / this.tickMs);
      this.timer = setInterval(this.turn, this.tickMs);
    }
    let tick = Math.ceil(dueAt / this.tickMs);
    // Never into a tick already run (it would wait a whole revolution), nor past the horizon.
    if (tick <= this.cursor) tick = this.cursor + 1;
    else if (tick - this.cursor >= this.slots.length) tick = this.cursor + this.slots.length - 1;
    task.wheelTick = tick;
    task.wheelDueAt = dueAt;
    this.slotAt(tick).add(task);
    this.pending++;
  }

  cancel(task: WheelTask): void {
    if (task.wheelTick === -1) return;
    // A no-op when the task's slot is the one being run: `turn` skips it by its tick instead.
    this.slotAt(task.wheelTick).delete(task);
    task.wheelTick = -1;
    this.pending--;
  }

  /** Forgets every task and stops the interval. */
  stop(): void {
    for (const slot of this.slots) {
      for (const task of slot) task.wheelTick = -1;
      slot.clear();
    }
    this.pending = 0;
    this.stopTimer();
  }

  private readonly turn = (): void => {
    const now = performance.now();
    const target = Math.floor(now / this.tickMs);
    // Catch up on every tick since the last turn: a blocked event loop delays tasks, never drops them.
    while (this.cursor < target) {
      const tick = ++this.cursor;
      const index = tick % this.slots.length;
      const due = this.slots[index]!;
      if (due.size === 0) continue;
      this.slots[index] = this.spare;
      for (const task of due) {
        if (task.wheelTick !== tick) continue; // cancelled (or moved) by an earlier task this turn
        task.wheelTick = -1;
        this.pending--;
        if (task.wheelDueAt > now) {
          this.schedule(task, task.wheelDueAt); // parked beyond the horizon: not due yet
          continue;
        }
        try {
          task.onDue(now);
        } catch (err) {
          this.onError(err);
        }
      }
      due.clear();
      this.spare = due;
    }
    if (this.pending === 0) this.stopTimer();
  };

  private slotAt(tick: number): Set<WheelTask> {
    return this.slots[tick % this.slots.length]!;
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
