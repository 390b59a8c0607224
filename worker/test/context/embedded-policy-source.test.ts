/**
 * BM25 retrieval over the bundled policy corpus: realistic customer questions find the section
 * that answers them, best first; the corpus itself is complete, well-formed and stable.
 */
import t from 'tap';
import { EmbeddedPolicySource, loadPolicyCorpus, neutraliseUntrustedText } from '../../src/context/index.js';

const source = new EmbeddedPolicySource();
const top = async (q: string, k = 3) => (await source.search(q, k)).map((h) => `${h.source} | ${h.title}`);

t.test('the corpus: 19 documents with front matter, split into titled sections', async (t) => {
  const corpus = source.corpus;
  t.equal(corpus.documents.length, 19);
  t.strictSame(
    corpus.documents.map((d) => d.source),
    [
      'baggage-allowance.md',
      'baggage-claims.md',
      'cancellations.md',
      'changes-and-rebooking.md',
      'check-in-and-boarding.md',
      'contact-us.md',
      'dangerous-goods.md',
      'delays-and-compensation.md',
      'excess-and-special-baggage.md',
      'infants-and-children.md',
      'kea-rewards-loyalty.md',
      'medical-clearance.md',
      'privacy.md',
      'refunds-and-travel-credits.md',
      'seats-and-upgrades.md',
      'special-assistance.md',
      'travel-documents.md',
      'travelling-with-pets.md',
      'unaccompanied-minors.md',
    ],
  );
  for (const doc of corpus.documents) {
    t.match(doc.updated, /^\d{4}-\d{2}-\d{2}$/, `${doc.source} has an updated date`);
    t.ok(doc.passages.length >= 4, `${doc.source} has sections (${doc.passages.length})`);
  }
  const allowance = corpus.documents.find((d) => d.source === 'baggage-allowance.md')!;
  t.strictSame(
    { title: allowance.title, category: allowance.category, version: allowance.version, updated: allowance.updated },
    { title: 'Baggage allowance', category: 'baggage', version: '4.1', updated: '2025-11-03' },
  );
  t.strictSame(
    allowance.passages.map((p) => p.id),
    [
      'baggage-allowance.md',
      'baggage-allowance.md#carry-on-baggage',
      'baggage-allowance.md#carry-on-on-turboprop-aircraft',
      'baggage-allowance.md#how-much-checked-baggage-can-i-check-in',
      'baggage-allowance.md#weight-and-size-limits-for-every-checked-bag',
      'baggage-allowance.md#extra-allowance-for-kea-rewards-members',
      'baggage-allowance.md#connecting-flights-and-partner-airlines',
    ],
  );
  const table = allowance.passages[3]!.text;
  t.ok(table.startsWith('Your checked baggage allowance depends on your fare. Light \u2014 Domestic New Zealand: No checked bag'), 'a table becomes sentences');
  t.ok(table.includes('Standard \u2014 Domestic New Zealand: 1 bag up to 23 kg; Tasman and Pacific: 1 bag up to 23 kg;'), 'one sentence per row, cells labelled');
  t.notOk(/[|\n]/.test(table), 'no table pipes or line breaks remain');
});

t.test('the corpus version is a stable content hash, and no bundled passage trips the injection filter', async (t) => {
  t.equal(loadPolicyCorpus().version, source.version, 'same files, same version');
  t.match(source.version, /^[0-9a-f]{16}$/);
  for (const p of source.corpus.passages) {
    t.equal(neutraliseUntrustedText(p.text, 100_000).removed, 0, `${p.id} is left untouched`);
  }
});

t.test('"how much can I check in" → the checked baggage allowance, not check-in times', async (t) => {
  t.strictSame(await top('how much can I check in'), [
    'baggage-allowance.md | Baggage allowance — How much checked baggage can I check in',
    'baggage-allowance.md | Baggage allowance — Carry-on baggage',
    'infants-and-children.md | Travelling with infants and children — Baggage for infants',
  ]);
});

t.test('"my flight was delayed 4 hours what do I get" → long delays and compensation', async (t) => {
  t.strictSame(await top('my flight was delayed 4 hours what do I get'), [
    'delays-and-compensation.md | Flight delays and compensation — Delays of 4 hours or more',
    'delays-and-compensation.md | Flight delays and compensation — Compensation for long delays within our control',
    'cancellations.md | Flight cancellations — Compensation for late cancellations',
  ]);
  const [best] = await source.search('my flight was delayed 4 hours what do I get', 1);
  t.ok(best!.snippet.includes('4 hours or more'), 'the snippet is the section itself');
  t.equal(best!.category, 'disruption');
});

t.test('"can my dog fly in the cabin" → pets in the cabin, then assistance dogs', async (t) => {
  t.strictSame(await top('can my dog fly in the cabin'), [
    'travelling-with-pets.md | Travelling with pets — Can pets travel in the cabin',
    'special-assistance.md | Special assistance — Assistance dogs',
    'travelling-with-pets.md | Travelling with pets',
  ]);
});

t.test('"my 10 year old is flying alone" → unaccompanied minors', async (t) => {
  t.strictSame(await top('my 10 year old is flying alone', 2), [
    'unaccompanied-minors.md | Unaccompanied minors — Unaccompanied minor fees',
    'unaccompanied-minors.md | Unaccompanied minors — Who must use the service',
  ]);
});

t.test('more questions in customers’ words find their section first', async (t) => {
  const cases: Array<[string, string]> = [
    ['Can I bring my powerbank in my suitcase?', 'Dangerous goods and restricted items — Lithium batteries and power banks'],
    ["i'm 30 weeks pregnant, can i still fly to LA?", 'Medical clearance and fitness to fly — Pregnancy'],
    ['my bag never showed up at the carousel', 'Delayed, lost and damaged baggage — Lost baggage'],
    ['suitcase arrived broken', 'Delayed, lost and damaged baggage — Damaged baggage'],
    ['how many points do I need for gold', 'Kea Rewards loyalty programme — Membership tiers'],
    ['how much is an extra bag to sydney', 'Excess and special baggage fees — Extra checked bag fees'],
    ['how much does it cost to pick a seat', 'Seats and upgrades — Seat selection fees'],
    ['do I need a visa for the US', 'Travel documents, passports and visas — Travelling to the United States and Canada'],
    ['whats the check in cut off for international', 'Check-in and boarding times — Check-in closing times'],
    ['can i take my surfboard', 'Excess and special baggage fees — Sports equipment'],
    ['flying with a baby on my lap', 'Travelling with infants and children — Infants on your lap'],
  ];
  for (const [q, title] of cases) {
    const [best] = await source.search(q, 1);
    t.equal(best?.title, title, q);
  }
});

t.test('k, ordering, per-document cap, and questions with nothing to find', async (t) => {
  const hits = await source.search('baggage fees kg', 5);
  t.equal(hits.length, 5);
  t.strictSame([...hits].sort((a, b) => b.score - a.score), hits, 'best first');
  const perDoc = new Map<string, number>();
  for (const h of hits) perDoc.set(h.source, (perDoc.get(h.source) ?? 0) + 1);
  t.ok([...perDoc.values()].every((n) => n <= 2), 'at most 2 sections of one document');
  t.strictSame(await source.search('asdfgh qwerty', 3), []);
  t.strictSame(await source.search('', 3), []);
  t.strictSame(await source.search('the and of', 3), [], 'only stop words');
  t.strictSame(await source.search('baggage', 0), []);
  const aborted = new AbortController();
  aborted.abort(new Error('turn cancelled'));
  await t.rejects(source.search('baggage', 3, aborted.signal), { message: 'turn cancelled' });
});
