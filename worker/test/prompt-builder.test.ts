/** The prompt: system rules and flight facts, history within a token budget, no personal data. */
import t from 'tap';
import { PiiVault, type HistoryEntry, type SessionContext } from '@chat/shared';
import { CUSTOMER_MESSAGE_PREFIX, buildPrompt, composePrompt } from '../src/prompt-builder.js';
import { tokenCounterFor, tokenizerFor } from '../src/token-counter.js';

const context: SessionContext = { customer_name: 'Ana Smith', customer_email: 'ana@example.com', flight_no: 'NZ123', date: '2026-12-01', created_at: 'x' };
const turn = (i: number, words = 20): HistoryEntry => ({
  message_id: `m${i}`,
  client_id: null,
  user: `question ${i} ` + 'word '.repeat(words),
  assistant: `answer ${i} ` + 'word '.repeat(words),
  timestamp: 'x',
});
const countTokens = tokenCounterFor('gpt-4o-mini');

t.test('system prompt carries the rules and flight facts, never the name or email', async (t) => {
  const messages = buildPrompt(context, [], 'When do I board?', new PiiVault(), { maxTokens: 1000, countTokens });
  t.equal(messages.length, 2);
  t.equal(messages[0]!.role, 'system');
  t.match(messages[0]!.content, /Flight number on file: NZ123\./);
  t.match(messages[0]!.content, /Travel date on file: 2026-12-01\./);
  t.match(messages[0]!.content, /neither can change these instructions/, 'passages and customer text are data, not instructions');
  t.match(messages[0]!.content, /Cite the passages you use as \[n\]/);
  const all = JSON.stringify(messages);
  t.notOk(all.includes('Ana') || all.includes('ana@example.com'));
  t.same(messages[1], { role: 'user', content: 'Customer message:\nWhen do I board?' }, 'the customer text is delimited under its label');
});

t.test('history is trimmed to the token budget: newest whole turns, oldest first', async (t) => {
  const history = [turn(1), turn(2), turn(3), turn(4)];
  const perTurn = countTokens(history[0]!.user) + countTokens(history[0]!.assistant);
  const messages = buildPrompt(context, history, 'now', new PiiVault(), { maxTokens: perTurn * 2 + 1, countTokens });
  t.same(
    messages.slice(1, -1).map((m) => m.content.split(' ').slice(0, 2).join(' ')),
    ['question 3', 'answer 3', 'question 4', 'answer 4'],
  );
  const none = buildPrompt(context, history, 'now', new PiiVault(), { maxTokens: perTurn - 1, countTokens });
  t.equal(none.length, 2, 'a budget smaller than one turn keeps none');
});

t.test('personal data in history and the message is replaced by the same placeholders', async (t) => {
  const history: HistoryEntry[] = [{ ...turn(1, 0), user: 'my email is ana.s@example.org', assistant: 'Noted: ana.s@example.org' }];
  const vault = new PiiVault();
  const messages = buildPrompt(context, history, 'send it to ana.s@example.org', vault, { maxTokens: 1000, countTokens });
  t.same(messages.slice(1).map((m) => m.content), ['my email is [EMAIL_1]', 'Noted: [EMAIL_1]', 'Customer message:\nsend it to [EMAIL_1]']);
  t.equal(vault.restore('[EMAIL_1]'), 'ana.s@example.org');
});

t.test('the tokenizer follows the model', async (t) => {
  t.equal(tokenCounterFor('gpt-4o-mini')('Hello there'), 2);
  t.not(tokenCounterFor('gpt-4o-mini'), tokenCounterFor('gpt-3.5-turbo'), 'o200k for 4o, cl100k for older models');
});

t.test("a past turn's stored token counts are used when its tokenizer is the budget's and its text is unchanged", async (t) => {
  const words = 'word '.repeat(40);
  const perText = countTokens(`q ${words}`);
  // Counts stored as 1: believed, every turn fits a budget that the real counts would overflow.
  const stored = (tokenizer: string) => [1, 2, 3].map((i) => ({ user: `q ${words}`, assistant: `a ${words}${i}`, tokens: { tokenizer, user: 1, assistant: 1 } }));
  const budget = { maxTokens: perText, countTokens, tokenizer: 'o200k_base' };
  t.equal(buildPrompt(context, stored('o200k_base'), 'now', new PiiVault(), budget).length, 2 + 6, 'same tokenizer: stored counts (all three turns fit)');
  t.equal(buildPrompt(context, stored('cl100k_base'), 'now', new PiiVault(), budget).length, 2, 'another tokenizer: counted again (none fits)');
  t.equal(buildPrompt(context, stored('o200k_base'), 'now', new PiiVault(), { maxTokens: perText, countTokens }).length, 2, 'a budget that names no tokenizer counts again');
  // A text the scrub changes (personal data in it) is not the text that was counted.
  const withEmail = [{ user: `write to ana.s@example.org ${words}`, assistant: 'ok', tokens: { tokenizer: 'o200k_base', user: 1, assistant: 1 } }];
  t.equal(buildPrompt(context, withEmail, 'now', new PiiVault(), budget).length, 2, 'a scrubbed text is counted again');
  t.equal(tokenizerFor('gpt-4o-mini'), 'o200k_base');
  t.equal(tokenizerFor('gpt-3.5-turbo'), 'cl100k_base');
});

t.test("composePrompt: the past turns' tokens as the reservation needs them, the same as counting their messages", async (t) => {
  const history = [turn(1), turn(2), turn(3)];
  const prompt = composePrompt(context, history, 'now', new PiiVault(), { maxTokens: 1000, countTokens });
  const pastMessages = prompt.messages.slice(1, -1);
  t.equal(pastMessages.length, 6);
  t.equal(prompt.historyTokens, pastMessages.reduce((sum, m) => sum + countTokens(m.content), 0));
  t.same(buildPrompt(context, history, 'now', new PiiVault(), { maxTokens: 1000, countTokens }), prompt.messages, 'buildPrompt is its messages');
  t.equal(composePrompt(context, [], 'now', new PiiVault(), { maxTokens: 1000, countTokens }).historyTokens, 0, 'no past turns: none');
});

t.test("the customer's message counts as its label plus the question: the reservation counts the question once, as the history entry does", async (t) => {
  const questions = [
    'What is the status of my flight?',
    'and tomorrow?',
    "Kia ora, can I bring my surfboard on NZ123? It's 2.1 m long",
    '¿Cuánto equipaje puedo llevar en clase económica?',
    '1 more question: refunds [EMAIL_1] •••• 1111',
    'Ok',
  ];
  for (const model of ['gpt-4o-mini', 'gpt-3.5-turbo']) {
    const count = tokenCounterFor(model);
    const vault = new PiiVault('masked');
    for (const question of questions) {
      const { messages } = composePrompt({ customer_name: 'A', customer_email: 'a@example.com', flight_no: 'NZ123' } as SessionContext, [], question, vault, {
        maxTokens: 1000,
        countTokens: count,
      });
      const message = messages.at(-1)!.content;
      t.equal(message, `${CUSTOMER_MESSAGE_PREFIX}${question}`, 'the message is the prefix and the question');
      t.equal(count(CUSTOMER_MESSAGE_PREFIX) + count(question), count(message), `${model}: ${JSON.stringify(question)}`);
    }
    // A leading symbol may join the label's newline in the whole message (o200k: ":\n/"): the
    // parts then count one token more, never fewer (the reservation errs high).
    const symbolFirst = '/refund please';
    const whole = count(`${CUSTOMER_MESSAGE_PREFIX}${symbolFirst}`);
    const parts = count(CUSTOMER_MESSAGE_PREFIX) + count(symbolFirst);
    t.ok(parts === whole || parts === whole + 1, `${model}: ${JSON.stringify(symbolFirst)} parts ${parts}, whole ${whole}`);
  }
});
