/** The per-socket frame budget: bursts allowed, sustained rate enforced, floods disconnected. */
import t from 'tap';
import { InboundBudget } from '../src/ws/inbound-budget.js';
import type { SocketData } from '../src/ws/socket-data.js';

function socketData(budget: InboundBudget, now: number): SocketData {
  return { sessionId: 's', clientId: 'c', member: 'g/1', rejection: null, checks: Promise.resolve({ rejection: null, claimed: false }), admission: Promise.resolve(true), admitted: true, liveSince: now, closed: false, resumeFrom: null, resuming: false, intake: Promise.resolve(), openedAt: now, ...budget.initial(now) };
}

t.test('a burst of twice the rate passes, the next frame is refused with a retry time', async (t) => {
  const budget = new InboundBudget(10);
  const data = socketData(budget, 0);
  for (let i = 0; i < 20; i++) t.same(budget.take(data, 0), { allowed: true }, `frame ${i + 1}`);
  const refused = budget.take(data, 0);
  t.equal(refused.allowed, false);
  if (!refused.allowed) {
    t.equal(refused.disconnect, false, 'one refusal is not a flood');
    t.equal(refused.retryAfterMs, 200, 'two frames of debt at 10/s');
  }
});

t.test('the budget refills at the sustained rate', async (t) => {
  const budget = new InboundBudget(10);
  const data = socketData(budget, 0);
  for (let i = 0; i < 20; i++) budget.take(data, 0);
  t.equal(budget.take(data, 50).allowed, false, '50 ms refills half a frame');
  t.equal(budget.take(data, 300).allowed, true, '300 ms later there is room again');
});

t.test('a client that keeps sending into refusals is disconnected', async (t) => {
  const budget = new InboundBudget(5);
  const data = socketData(budget, 0);
  let verdict = budget.take(data, 0);
  let frames = 1;
  while (verdict.allowed || !verdict.disconnect) {
    verdict = budget.take(data, 0);
    frames++;
    if (frames > 1000) break;
  }
  t.equal(frames, 10 + 40, 'a burst of 10, then the 40th refusal (a debt of 4 × burst) is the cut');
});
