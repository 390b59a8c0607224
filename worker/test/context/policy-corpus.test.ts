/** Markdown policy documents → front matter and plain-text passages, one per section. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadPolicyCorpus, parsePolicyDocument } from '../../src/context/index.js';

const DOC = `---
title: Test fees
category: "baggage"
version: 1.0
updated: 2025-01-31
---

Intro with **bold**, a [link](https://example.com) and \`code\`.
It continues on a second line.

## Fees table

| Route | Online | Airport |
| --- | ---: | --- |
| Domestic | NZD 35 | NZD 60 |
| Tasman (incl. Pacific) | NZD 75 | NZD 110 |

## Rules

- One bag per person
- Max 32 kg:
1. Numbered item.

## Rules
Same heading again.
`;

t.test('a document becomes titled passages of one-line plain text', async (t) => {
  const doc = parsePolicyDocument('test-fees.md', DOC);
  t.strictSame(
    { title: doc.title, category: doc.category, version: doc.version, updated: doc.updated },
    { title: 'Test fees', category: 'baggage', version: '1.0', updated: '2025-01-31' },
  );
  t.strictSame(doc.passages, [
    {
      id: 'test-fees.md',
      source: 'test-fees.md',
      category: 'baggage',
      docTitle: 'Test fees',
      heading: '',
      title: 'Test fees',
      text: 'Intro with bold, a link and code. It continues on a second line.',
    },
    {
      id: 'test-fees.md#fees-table',
      source: 'test-fees.md',
      category: 'baggage',
      docTitle: 'Test fees',
      heading: 'Fees table',
      title: 'Test fees \u2014 Fees table',
      // A table row reaches the prompt as one sentence of labelled cells (row — column: value).
      text: 'Domestic \u2014 Online: NZD 35; Airport: NZD 60. Tasman (incl. Pacific) \u2014 Online: NZD 75; Airport: NZD 110.',
    },
    {
      id: 'test-fees.md#rules',
      source: 'test-fees.md',
      category: 'baggage',
      docTitle: 'Test fees',
      heading: 'Rules',
      title: 'Test fees \u2014 Rules',
      text: 'One bag per person. Max 32 kg. Numbered item.',
    },
    {
      id: 'test-fees.md#rules-2',
      source: 'test-fees.md',
      category: 'baggage',
      docTitle: 'Test fees',
      heading: 'Rules',
      title: 'Test fees \u2014 Rules',
      text: 'Same heading again.',
    },
  ]);
});

t.test('bad documents are refused at load, naming the file', async (t) => {
  t.throws(() => parsePolicyDocument('a.md', '# no front matter'), { message: 'a.md: missing front matter' });
  t.throws(() => parsePolicyDocument('b.md', '---\ntitle: B\ncategory: x\nversion: 1\n---\ntext'), { message: 'b.md: front matter needs "updated"' });
  t.throws(() => parsePolicyDocument('c.md', '---\ntitle: C\ncategory: x\nversion: 1\nupdated: soon\n---\ntext'), { message: 'c.md: "updated" must be YYYY-MM-DD' });
  t.throws(() => parsePolicyDocument('d.md', '---\ntitle: D\ncategory: x\nversion: 1\nupdated: 2025-01-01\n---\n\n'), { message: 'd.md: no text' });

  const dir = mkdtempSync(join(tmpdir(), 'corpus-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.throws(() => loadPolicyCorpus(dir), { message: `no policy documents (*.md) in ${dir}` });
  writeFileSync(join(dir, 'one.md'), DOC);
  writeFileSync(join(dir, 'README.md'), 'not a policy');
  const corpus = loadPolicyCorpus(dir);
  t.strictSame(corpus.documents.map((d) => d.source), ['one.md']);
  const before = corpus.version;
  writeFileSync(join(dir, 'one.md'), DOC.replace('NZD 35', 'NZD 36'));
  t.not(loadPolicyCorpus(dir).version, before, 'one changed fee, a new corpus version');
});
