import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { sectionSlug } from '@chat/shared';
import { contentHash } from './content-hash.js';

/**
 * The bundled policy documents (`worker/data/policies/*.md`), read once and split into
 * passages: a document's introduction and each `##` section is one passage, in plain text on
 * one line (tables become one sentence per row, list items one sentence each), so a search hit
 * quotes a focused section rather than a whole document.
 *
 * Each file opens with front matter:
 *
 *   ---
 *   title: Baggage allowance
 *   category: baggage
 *   version: 4.1
 *   updated: 2025-11-03
 *   ---
 */

export interface PolicyDocument {
  /** File name, `baggage-allowance.md`: the citation source. */
  source: string;
  title: string;
  category: string;
  version: string;
  /** YYYY-MM-DD */
  updated: string;
  passages: PolicyPassage[];
}

export interface PolicyPassage {
  /** `baggage-allowance.md#carry-on-baggage`; the introduction has no fragment. */
  id: string;
  source: string;
  category: string;
  docTitle: string;
  /** Section heading; empty for the introduction. */
  heading: string;
  /** `Document title — Section heading`, or the document title for the introduction. */
  title: string;
  /** Plain text, one line. */
  text: string;
}

export interface PolicyCorpus {
  documents: PolicyDocument[];
  passages: PolicyPassage[];
  /** Hash of every file's name and content: the corpus version. */
  version: string;
}

/** The default corpus folder: `worker/data/policies/` (same path from `src/` and `dist/`). */
export const DEFAULT_POLICY_DIR = new URL('../../data/policies/', import.meta.url);

const REQUIRED_FIELDS = ['title', 'category', 'version', 'updated'] as const;

/** Reads every `*.md` file of a folder, sorted by name; throws on a file without valid front matter. */
export function loadPolicyCorpus(dir: string | URL = DEFAULT_POLICY_DIR): PolicyCorpus {
  const path = typeof dir === 'string' ? dir : fileURLToPath(dir);
  const files = readdirSync(path)
    .filter((f) => f.endsWith('.md') && f.toLowerCase() !== 'readme.md')
    .sort();
  if (files.length === 0) throw new Error(`no policy documents (*.md) in ${path}`);
  const hashed: string[] = [];
  const documents = files.map((file) => {
    const text = readFileSync(join(path, file), 'utf8');
    hashed.push(`${file}\u0000${text}`);
    return parsePolicyDocument(file, text);
  });
  return { documents, passages: documents.flatMap((d) => d.passages), version: contentHash(hashed.join('\u0001')) };
}

/** Parses one Markdown document with front matter into its passages. */
export function parsePolicyDocument(source: string, markdown: string): PolicyDocument {
  const text = markdown.replace(/\r\n?/g, '\n');
  const front = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!front) throw new Error(`${source}: missing front matter`);
  const meta: Record<string, string> = {};
  for (const line of front[1]!.split('\n')) {
    if (!line.trim()) continue;
    const match = /^([a-z_]+):\s*(.*)$/.exec(line);
    if (!match) throw new Error(`${source}: bad front matter line "${line}"`);
    meta[match[1]!] = match[2]!.trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  for (const field of REQUIRED_FIELDS) if (!meta[field]) throw new Error(`${source}: front matter needs "${field}"`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(meta.updated!)) throw new Error(`${source}: "updated" must be YYYY-MM-DD`);

  const doc: PolicyDocument = {
    source,
    title: meta.title!,
    category: meta.category!,
    version: meta.version!,
    updated: meta.updated!,
    passages: [],
  };
  const body = text.slice(front[0].length);
  const sections: Array<{ heading: string; lines: string[] }> = [{ heading: '', lines: [] }];
  for (const line of body.split('\n')) {
    const heading = /^##\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading) sections.push({ heading: inlineText(heading[1]!), lines: [] });
    else if (!/^#\s/.test(line)) sections.at(-1)!.lines.push(line);
  }
  const slugs = new Set<string>();
  for (const section of sections) {
    const plain = blocksToText(section.lines);
    if (!plain) continue;
    let slug = sectionSlug(section.heading);
    for (let i = 2; slugs.has(slug); i++) slug = `${sectionSlug(section.heading)}-${i}`;
    slugs.add(slug);
    doc.passages.push({
      id: section.heading ? `${source}#${slug}` : source,
      source,
      category: doc.category,
      docTitle: doc.title,
      heading: section.heading,
      title: section.heading ? `${doc.title} \u2014 ${section.heading}` : doc.title,
      text: plain,
    });
  }
  if (doc.passages.length === 0) throw new Error(`${source}: no text`);
  return doc;
}

/** Markdown blocks to one line of sentences: paragraphs, list items, and tables row by row. */
function blocksToText(lines: readonly string[]): string {
  const sentences: string[] = [];
  let paragraph: string[] = [];
  let table: string[][] = [];
  const flushParagraph = () => {
    if (paragraph.length) sentences.push(sentence(paragraph.join(' ')));
    paragraph = [];
  };
  const flushTable = () => {
    if (table.length) sentences.push(...tableSentences(table));
    table = [];
  };
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith('|')) {
      flushParagraph();
      const cells = line.replace(/^\||\|$/g, '').split('|').map((c) => inlineText(c));
      if (!cells.every((c) => /^:?-{3,}:?$/.test(c))) table.push(cells);
      continue;
    }
    flushTable();
    const item = /^(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (item) {
      flushParagraph();
      sentences.push(sentence(item[1]!));
    } else if (!line) {
      flushParagraph();
    } else {
      paragraph.push(line);
    }
  }
  flushParagraph();
  flushTable();
  return sentences.filter(Boolean).join(' ');
}

/**
 * One sentence per data row, its cells labelled with their column headers:
 * "Standard — Domestic New Zealand: 1 bag up to 23 kg; Tasman and Pacific: 1 bag up to 23 kg; …."
 * The fixed shape (row label, an em dash, `header: value` pairs split by `;`) reads plainly to a
 * model and lets the bundled offline model pick the one cell a question asks for
 * (offline-llm/src/table-reading.ts parses it back).
 */
function tableSentences(rows: readonly string[][]): string[] {
  const [header, ...data] = rows;
  if (!header) return [];
  return data.map((cells) => {
    const parts = cells.slice(1).map((cell, i) => {
      const value = cell.replace(/;/g, ',');
      const name = (header[i + 1] ?? '').replace(/[:;]/g, ' ').trim();
      return name ? `${name}: ${value}` : value;
    });
    return sentence(`${(cells[0] ?? '').replace(/[:;—]/g, ' ').trim()} \u2014 ${parts.join('; ')}`);
  });
}

function sentence(text: string): string {
  const s = inlineText(text);
  if (!s) return '';
  if (/[.!?]$/.test(s)) return s;
  return `${s.replace(/[:;,]$/, '')}.`;
}

/** Inline Markdown to text: links, emphasis, code and HTML tags dropped, spaces collapsed. */
function inlineText(text: string): string {
  return text
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, ' ')
    .replace(/(\*\*|__|\*|_|`)(\S(?:.*?\S)?)\1/g, '$2')
    .replace(/\s+/g, ' ')
    .trim();
}

