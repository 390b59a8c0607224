import t from 'tap';
import { composeAnswer, extractPassages, extractQuestion, OFFLINE_NOTICE, terms, type PromptMessage } from '../src/answer-composer.js';
import { CONTEXT_PROMPT, SYSTEM_PROMPT } from './helpers.js';

const ask = (question: string, system = SYSTEM_PROMPT): PromptMessage[] => [
  { role: 'system', content: system },
  { role: 'user', content: question },
];

t.test('passages are read from the system prompt, one per line, with their titles', async (t) => {
  t.strictSame(extractPassages(ask('x', CONTEXT_PROMPT)), [
    { n: 1, title: 'Checked baggage', text: 'Each passenger may check two bags of up to 23 kg each. Extra bags cost 50 EUR per bag.' },
    { n: 2, title: 'Cancellations', text: 'Tickets cancelled within 24 hours of booking are refunded in full. After that, refunds depend on the fare.' },
    { n: 3, title: 'Pets', text: 'Small pets travel in the cabin in a carrier under 8 kg.' },
  ]);
  t.strictSame(extractPassages(ask('x', '- [7] Flight AB123 departs at 10:40 from gate B12.')), [
    { n: 7, title: undefined, text: 'Flight AB123 departs at 10:40 from gate B12.' },
  ]);
});

t.test('passages in earlier user turns are ignored; a repeated [n] keeps its first text', async (t) => {
  const messages: PromptMessage[] = [
    { role: 'system', content: '[1] A: first.\n[1] A: second.' },
    { role: 'user', content: '[2] Old: stale passage.' },
    { role: 'assistant', content: '[3] Said: by the assistant.' },
    { role: 'user', content: '[4] New: fresh passage.\nWhat now?' },
  ];
  t.strictSame(
    extractPassages(messages).map((p) => [p.n, p.text]),
    [
      [1, 'first.'],
      [4, 'fresh passage.'],
    ],
  );
});

t.test('the question is the last user message without passages, labels or "Question:"', async (t) => {
  const messages: PromptMessage[] = [
    { role: 'user', content: 'an earlier question' },
    { role: 'assistant', content: 'an earlier answer' },
    { role: 'user', content: 'Context:\n[1] Check-in: Online check-in opens 24 hours before departure.\n\nQuestion: When does\n  check-in open?' },
  ];
  t.equal(extractQuestion(messages), 'When does check-in open?');
  t.equal(extractQuestion([{ role: 'system', content: 'only a system prompt' }]), '');
});

t.test('with passages the answer quotes the most relevant sentences with [n] citations', async (t) => {
  t.equal(
    composeAnswer(ask('How many bags can I check, and what do extra bags cost?', CONTEXT_PROMPT)),
    `${OFFLINE_NOTICE} Based on the information provided: Each passenger may check two bags of up to 23 kg each [1]. Extra bags cost 50 EUR per bag [1].`,
  );
  t.equal(
    composeAnswer(ask('Can I get a refund if I cancel my ticket?', CONTEXT_PROMPT)),
    `${OFFLINE_NOTICE} Based on the information provided: Tickets cancelled within 24 hours of booking are refunded in full [2]. After that, refunds depend on the fare [2].`,
  );
  t.equal(
    composeAnswer(ask('Can my cat fly with me?', CONTEXT_PROMPT + '\n[4] Cats: Cats and dogs count as pets.')),
    `${OFFLINE_NOTICE} Based on the information provided: Cats and dogs count as pets [4].`,
  );
});

t.test('with passages that do not answer, it says so and cites the first source', async (t) => {
  t.equal(
    composeAnswer(ask('What is the wifi password?', CONTEXT_PROMPT)),
    `${OFFLINE_NOTICE} I could not find an answer to "What is the wifi password?" in the information I was given. ` +
      'The closest source I have says: Each passenger may check two bags of up to 23 kg each [1]. Please check with an agent before relying on it.',
  );
});

t.test('without passages it acknowledges the question and says what it can help with', async (t) => {
  const capabilities =
    'I can help with bookings and changes, cancellations and refunds, baggage, check-in and boarding, seats, and flight status. ' +
    'In offline mode I cannot look up your booking or live flight data, so please confirm details in the airline app or with an agent.';
  t.equal(
    composeAnswer(ask('Hi, my flight is delayed. What are my rights?')),
    `${OFFLINE_NOTICE} Hello! You asked: "Hi, my flight is delayed. What are my rights?" ` +
      'For delays and flight status, I can explain what to expect and what you are entitled to, but I cannot see live flight data in offline mode. ' +
      capabilities,
  );
  t.equal(
    composeAnswer(ask('my suitcase is too heavy')),
    `${OFFLINE_NOTICE} You asked: "my suitcase is too heavy". ` +
      'For baggage, I can explain carry-on and checked allowances, fees for extra or overweight bags, and what to do about delayed or damaged luggage. ' +
      capabilities,
  );
  t.equal(
    composeAnswer(ask('Write me a poem about the "sea", the sky and every single cloud that drifts over the quiet harbour')),
    `${OFFLINE_NOTICE} You asked: "Write me a poem about the 'sea', the sky and every single cloud that drifts…" ${capabilities}`,
    'long questions are quoted up to a word boundary, inner double quotes made single',
  );
  t.equal(composeAnswer([{ role: 'system', content: SYSTEM_PROMPT }]), `${OFFLINE_NOTICE} I did not receive a question. ${capabilities}`);
});

t.test('the same conversation always gets the same answer', async (t) => {
  const messages = ask('Can I bring my dog and two bags?', CONTEXT_PROMPT);
  const first = composeAnswer(messages);
  for (let i = 0; i < 5; i++) t.equal(composeAnswer(structuredClone(messages)), first);
  t.ok(first.startsWith(OFFLINE_NOTICE));
});

t.test('terms drop stopwords and meet across word forms', async (t) => {
  t.strictSame([...terms('What are the fees for my bags?')], ['fee', 'bag']);
  t.strictSame([...terms('cancel cancelled cancellation cancels')], ['cance']);
  t.strictSame([...terms('change changed changes changing')], ['chang']);
});
