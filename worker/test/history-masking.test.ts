/**
 * What history keeps of the customer's message: masked, whatever the job carried. A job from a
 * gateway that did not mask (an older one) still reaches history masked; a clean message is kept
 * as written. Real Redis, real BullMQ worker (the turn harness), the LLM scripted.
 */
import t from 'tap';
import { startTurnHarness, until } from './helpers/turn-harness.js';

t.test('a job carrying raw personal data is filed masked; a clean one as written', async (t) => {
  const harness = await startTurnHarness(t);
  await harness.createSession('s1');
  const raw = await harness.acceptTurn('s1', 'm1', { enqueue: false });
  // As an older gateway sent it: the card and the address as the customer typed them.
  await harness.enqueue({ ...raw, message: 'card 4111 1111 1111 1111, mail ana.smith@example.co.nz' });
  const clean = await harness.acceptTurn('s1', 'm2', { enqueue: false });
  await harness.enqueue({ ...clean, message: 'And is my flight on time?' });
  await harness.startWorker();

  await until(async () => [await harness.ending('s1', 'm2'), await harness.unanswered('s1')] as const, ([ending, unanswered]) => ending !== null && unanswered.length === 0);
  const history = await harness.history('s1');
  t.same(
    history.map((entry) => [entry.message_id, entry.user]),
    [
      ['m1', 'card •••• 1111, mail a•••@example.co.nz'],
      ['m2', 'And is my flight on time?'],
    ],
    'the raw message is filed masked, the clean one as written',
  );
  const stored = JSON.stringify(await harness.redis.lrange(harness.keys.session('s1', 'history'), 0, -1));
  t.notMatch(stored, /4111 1111|ana\.smith/, 'no raw value rests in the history list');
});
