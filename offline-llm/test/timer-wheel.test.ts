import t from 'tap';
import { TimerWheel, type WheelTask } from '../src/timer-wheel.js';
import { withTimeout } from './helpers.js';

/** A task that records when it ran. */
class Probe implements WheelTask {
  wheelTick = -1;
  wheelDueAt = 0;
  readonly runs: number[] = [];
  constructor(
    readonly name: string,
    private readonly log: string[],
    private readonly then?: (now: number) => void,
  ) {}
  onDue(now: number): void {
    this.runs.push(now);
    this.log.push(this.name);
    this.then?.(now);
  }
}

const noError = (err: unknown): void => {
  throw err;
};

function idle(wheel: TimerWheel, message: string): Promise<void> {
  return withTimeout(
    (async () => {
      while (wheel.size > 0) await new Promise((resolve) => setTimeout(resolve, 2));
    })(),
    message,
  );
}

t.test('tasks run in due order and never before their due time', async (t) => {
  const wheel = new TimerWheel(5, noError);
  const log: string[] = [];
  const start = performance.now();
  const probes = [new Probe('c', log), new Probe('a', log), new Probe('b', log)];
  wheel.schedule(probes[0]!, start + 60);
  wheel.schedule(probes[1]!, start + 10);
  wheel.schedule(probes[2]!, start + 30);
  t.equal(wheel.size, 3);
  await idle(wheel, 'all three ran');
  t.strictSame(log, ['a', 'b', 'c']);
  for (const [probe, delay] of [[probes[0]!, 60], [probes[1]!, 10], [probes[2]!, 30]] as const) {
    t.equal(probe.runs.length, 1, `${probe.name} ran once`);
    t.ok(probe.runs[0]! >= start + delay, `${probe.name} not early`);
  }
});

t.test('a task may re-schedule itself; cancel and re-schedule move it', async (t) => {
  const wheel = new TimerWheel(2, noError);
  const log: string[] = [];
  let left = 3;
  const repeating: Probe = new Probe('r', log, (now) => {
    if (--left > 0) wheel.schedule(repeating, now + 4);
  });
  const cancelled = new Probe('x', log);
  const moved = new Probe('m', log);
  const start = performance.now();
  wheel.schedule(repeating, start);
  wheel.schedule(cancelled, start + 5);
  wheel.schedule(moved, start + 5);
  wheel.cancel(cancelled);
  wheel.cancel(cancelled); // twice is harmless
  wheel.schedule(moved, start + 40);
  t.equal(wheel.size, 2);
  await idle(wheel, 'repeating and moved tasks ran');
  t.strictSame(log, ['r', 'r', 'r', 'm']);
  t.ok(moved.runs[0]! >= start + 40, 'the moved task kept its new time');
});

t.test('a task due in the same tick as another can still be cancelled by it', async (t) => {
  const wheel = new TimerWheel(5, noError);
  const log: string[] = [];
  const victim = new Probe('victim', log);
  const killer = new Probe('killer', log, () => wheel.cancel(victim));
  const at = performance.now() + 10;
  wheel.schedule(killer, at);
  wheel.schedule(victim, at);
  await idle(wheel, 'the wheel emptied');
  t.strictSame(log, ['killer']);
  t.equal(victim.wheelTick, -1);
});

t.test('tasks beyond the horizon are parked, then run on time', async (t) => {
  const wheel = new TimerWheel(2, noError, 8); // horizon: 16 ms
  const log: string[] = [];
  const far = new Probe('far', log);
  const start = performance.now();
  wheel.schedule(far, start + 50);
  await idle(wheel, 'the far task ran');
  t.strictSame(log, ['far']);
  t.ok(far.runs[0]! >= start + 50, 'not early');
});

t.test('a throwing task is reported and the others still run', async (t) => {
  const errors: unknown[] = [];
  const wheel = new TimerWheel(2, (err) => errors.push(err));
  const log: string[] = [];
  const boom = new Probe('boom', log, () => {
    throw new Error('boom');
  });
  const after = new Probe('after', log);
  const at = performance.now() + 4;
  wheel.schedule(boom, at);
  wheel.schedule(after, at);
  await idle(wheel, 'both ran');
  t.strictSame(log, ['boom', 'after']);
  t.equal(errors.length, 1);
});

t.test('stop() forgets every task', async (t) => {
  const wheel = new TimerWheel(2, noError);
  const log: string[] = [];
  const probe = new Probe('p', log);
  wheel.schedule(probe, performance.now() + 10);
  wheel.stop();
  t.equal(wheel.size, 0);
  t.equal(probe.wheelTick, -1);
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.strictSame(log, []);
});
