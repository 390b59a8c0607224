/**
 * The per-unit-of-work logger made on first use (`lazyChild`): calls at a level nobody logs make
 * nothing; the first real use makes the child, with its bindings and the redaction of every line.
 */
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger, lazyChild, type Logger } from '../src/logger.js';

function capture(level: string): { logger: Logger; lines: Array<Record<string, unknown>>; children: () => number } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger('test', level, destination);
  let made = 0;
  // Counts children made, keeping `this` (a child's own children are made through it too).
  const child = logger.child;
  logger.child = function (this: Logger, ...args: Parameters<Logger['child']>) {
    made++;
    return child.apply(this, args);
  } as Logger['child'];
  return { logger, lines, children: () => made };
}

t.test('a call at a level that is not logged makes no child and writes nothing', async (t) => {
  const { logger, lines, children } = capture('info');
  const log = lazyChild(logger, { session_id: 's1', message_id: 'm1' });
  log.debug({ chunks: 3 }, 'turn answered');
  log.trace('nothing');
  t.equal(children(), 0, 'no child made');
  t.same(lines, []);
});

t.test('the first real use makes the child once: bindings on every line, personal data redacted', async (t) => {
  const { logger, lines, children } = capture('info');
  const log = lazyChild(logger, { session_id: 's1', message_id: 'm1' });
  log.warn({ message: 'my card is 4111 1111 1111 1111' }, 'turn failed');
  log.info('again');
  t.equal(children(), 1, 'one child, made on the first line');
  t.match(lines, [
    { level: 'warn', session_id: 's1', message_id: 'm1', message: '[redacted]', msg: 'turn failed' },
    { level: 'info', session_id: 's1', message_id: 'm1', msg: 'again' },
  ]);
  t.equal(log.isLevelEnabled('debug'), false, 'other members are the child\'s');
  log.child({ step: 'tools' }).error('deeper');
  t.match(lines[2], { level: 'error', session_id: 's1', step: 'tools', msg: 'deeper' }, 'its own children keep its bindings');
});

t.test('a level raised through the lazy logger is the child\'s, and then its debug lines are written', async (t) => {
  const { logger, lines } = capture('info');
  const log = lazyChild(logger, { session_id: 's1' });
  log.level = 'debug';
  log.debug('now logged');
  t.match(lines, [{ level: 'debug', session_id: 's1', msg: 'now logged' }]);
  t.equal(logger.level, 'info', 'the parent keeps its level');
});
