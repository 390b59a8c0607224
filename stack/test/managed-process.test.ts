/**
 * ManagedProcess keeps a part's latest output lines: what a failed stack test prints of a part
 * it ran quietly (`startLocalStack`), and why a part exited before it was ready.
 */
import t from 'tap';
import { ManagedProcess } from '../src/child-process-runner.js';
import { eventually } from './helpers/eventually.js';

/** A child that prints `count` numbered lines on stdout, then one on stderr, then says it is ready and waits. */
function printer(count: number): string {
  return `for (let i = 1; i <= ${count}; i++) process.stdout.write('line ' + i + '\\n');
process.stderr.write('and one on stderr\\n');
process.send({ type: 'ready', port: 0 });
setInterval(() => {}, 1000);`;
}

t.test('keeps the latest lines, oldest first, whatever it printed before', async (t) => {
  const part = new ManagedProcess({ name: 'printer', command: process.execPath, args: ['-e', printer(57)], env: process.env, forwardOutput: false, keepLines: 20 });
  t.teardown(() => part.stop(2000));
  await part.ready;
  // Its output is read asynchronously: wait until both streams' last lines are in.
  const lines = await eventually(
    () => part.recentOutput(),
    (kept) => kept.includes('line 57') && kept.includes('and one on stderr'),
    20_000,
  );
  t.equal(lines.length, 20, 'as many as asked for');
  // The two streams are read apart: stderr's line may come in before or after stdout's last ones.
  const fromStdout = lines.filter((line) => line.startsWith('line '));
  t.same(fromStdout, Array.from({ length: fromStdout.length }, (_, i) => `line ${58 - fromStdout.length + i}`), 'the latest of stdout, oldest first');
  t.ok(fromStdout.length >= 19, 'older lines dropped, none of the latest');
  t.ok(lines.includes('and one on stderr'), 'stderr kept too');
});

t.test('a part that exits before it is ready says so with its last lines', async (t) => {
  const part = new ManagedProcess({ name: 'quitter', command: process.execPath, args: ['-e', `for (let i = 1; i <= 30; i++) console.log('step ' + i); process.exit(3)`], env: process.env, forwardOutput: false, keepLines: 100 });
  const err = await part.ready.then(
    () => null,
    (e: unknown) => e as Error,
  );
  t.ok(err, 'not ready');
  t.match(err!.message, /quitter exited with code 3 before it was ready; its last output:\nstep 21\n[\s\S]*step 30$/, 'its last ten lines, whatever it keeps');
});
