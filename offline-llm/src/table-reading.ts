/**
 * Tables in context passages, as the worker writes them (worker/src/context/policy-corpus.ts):
 * one sentence per row, "Row label — Header one: value; Header two: value." This reads them back
 * and picks the cell a question asks for: the row and the column whose labels the question (or
 * what it carries over) names. Generic: labels come from the passage, not from a list here.
 */

export interface TableRow {
  label: string;
  cells: Array<{ header: string; value: string }>;
  /** Index of the sentence in its passage. */
  index: number;
}

const ROW = /^(.{1,120}?) \u2014 (.+?)[.]?$/;

/** The row a sentence is, or null when it is not a table row. */
export function parseTableRow(sentence: string, index: number): TableRow | null {
  const match = ROW.exec(sentence.trim());
  if (!match) return null;
  const cells: TableRow['cells'] = [];
  for (const part of match[2]!.split('; ')) {
    const colon = part.indexOf(': ');
    if (colon <= 0 || colon > 80) return null;
    cells.push({ header: part.slice(0, colon).trim(), value: part.slice(colon + 2).trim().replace(/\.$/, '') });
  }
  return cells.length > 0 ? { label: match[1]!.trim(), cells, index } : null;
}

/** Weighted term sets the labels are matched against: the question first, then what it carries over. */
export interface SlotSource {
  terms: ReadonlySet<string>;
  weight: number;
}

export interface TableChoice {
  rows: TableRow[];
  /** Headers chosen; all of them when the question names none. */
  headers: string[];
  rowChosen: boolean;
  headerChosen: boolean;
}

/** Picks the row(s) and column(s) the slot sources point to. */
export function chooseCells(rows: readonly TableRow[], sources: readonly SlotSource[], termsOf: (text: string) => Set<string>): TableChoice {
  const headers = rows[0]?.cells.map((c) => c.header) ?? [];
  const rowPick = best(rows.map((r) => labelScore(r.label, sources, termsOf)));
  const headerPick = best(headers.map((h) => labelScore(h, sources, termsOf)));
  return {
    rows: rowPick.length > 0 ? rowPick.map((i) => rows[i]!) : [...rows],
    headers: headerPick.length > 0 ? headerPick.map((i) => headers[i]!) : headers,
    rowChosen: rowPick.length > 0 && rowPick.length < rows.length,
    // A one-column table's header is "chosen" when the question names it ("compensation").
    headerChosen: headerPick.length > 0 && (headerPick.length < headers.length || headers.length === 1),
  };
}

/**
 * A label's score: for each source, the share of the label's words the source has (a label
 * named whole beats one that shares a word), times the source's weight; the first source that
 * matches decides, so the question's own words beat what is carried over.
 */
function labelScore(label: string, sources: readonly SlotSource[], termsOf: (text: string) => Set<string>): number {
  const words = termsOf(label);
  if (words.size === 0) return 0;
  let score = 0;
  for (const source of sources) {
    let hits = 0;
    for (const w of words) if (source.terms.has(w)) hits++;
    if (hits > 0) score += (source.weight * hits) / Math.sqrt(words.size) + source.weight * (hits === words.size ? 0.5 : 0);
  }
  return score;
}

/** Indexes of the top scores (ties kept), or [] when nothing scores. */
function best(scores: readonly number[]): number[] {
  const top = Math.max(0, ...scores);
  if (top <= 0) return [];
  return scores.flatMap((s, i) => (s >= top - 1e-9 ? [i] : []));
}
