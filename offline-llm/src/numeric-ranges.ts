/**
 * Numbers a question gives ("a 25 kg bag", "a 120 Wh battery", "my 6 year old", "30 weeks
 * pregnant") against the ranges a sentence states ("up to 100 Wh", "from 100 Wh to 160 Wh",
 * "over 160 Wh", "aged 5 to 11", "more than 23 kg and up to 32 kg"): whether the sentence is the
 * one that covers the customer's case.
 */

export interface Quantity {
  value: number;
  unit: string;
}

const UNITS: ReadonlyArray<[RegExp, string]> = [
  [/^(?:kg|kgs|kilos?|kilograms?)$/, 'kg'],
  [/^wh$/, 'wh'],
  [/^(?:cm|centimet(?:re|er)s?)$/, 'cm'],
  [/^(?:ml|millilit(?:re|er)s?)$/, 'ml'],
  [/^(?:weeks?|wks?)$/, 'week'],
  [/^(?:years?|yrs?|yo|aged?)$/, 'year'],
  [/^(?:hours?|hrs?|h)$/, 'hour'],
  [/^(?:days?)$/, 'day'],
  [/^(?:minutes?|mins?)$/, 'minute'],
];

function unitOf(word: string | undefined): string | null {
  if (!word) return null;
  const w = word.toLowerCase();
  for (const [pattern, unit] of UNITS) if (pattern.test(w)) return unit;
  return null;
}

/** Quantities in a question: a number followed by a unit ("25kg", "6 year old", "30 weeks"). */
export function quantitiesIn(text: string): Quantity[] {
  const out: Quantity[] = [];
  for (const m of text.toLowerCase().matchAll(/(\d+(?:[.,]\d+)?)\s*[- ]?\s*([a-z]+)/g)) {
    const unit = unitOf(m[2]);
    if (unit) out.push({ value: Number(m[1]!.replace(',', '.')), unit });
  }
  for (const m of text.toLowerCase().matchAll(/\baged?\s+(\d{1,2})\b/g)) out.push({ value: Number(m[1]), unit: 'year' });
  return out;
}

interface Range {
  min: number;
  max: number;
  unit: string;
}

const NUM = '(\\d+(?:[.,]\\d+)?)';
const UNIT = '\\s*([A-Za-z]+)?';
/** Range phrasings, each resolved to [min, max] with the unit found after a number. */
const RANGE_RULES: ReadonlyArray<{ pattern: RegExp; range: (a: number, b: number) => [number, number] }> = [
  { pattern: new RegExp(`\\b(?:from|between|aged)\\s+${NUM}${UNIT}\\s+(?:to|and)\\s+${NUM}${UNIT}`, 'gi'), range: (a, b) => [a, b] },
  { pattern: new RegExp(`\\bmore than\\s+${NUM}${UNIT}\\s+and up to\\s+${NUM}${UNIT}`, 'gi'), range: (a, b) => [a + 1e-6, b] },
  { pattern: new RegExp(`\\b(?:up to|at most|no more than|not more than|maximum of|max)\\s+${NUM}${UNIT}`, 'gi'), range: (a) => [-Infinity, a] },
  { pattern: new RegExp(`\\b(?:over|more than|above|heavier than|longer than|larger than)\\s+${NUM}${UNIT}`, 'gi'), range: (a) => [a + 1e-6, Infinity] },
  { pattern: new RegExp(`\\b(?:under|less than|below|younger than)\\s+${NUM}${UNIT}`, 'gi'), range: (a) => [-Infinity, a - 1e-6] },
  { pattern: new RegExp(`\\b${NUM}${UNIT}\\s+(?:or|and)\\s+(?:over|more|older|above)`, 'gi'), range: (a) => [a, Infinity] },
  { pattern: new RegExp(`\\b${NUM}\\s+to\\s+${NUM}${UNIT}`, 'gi'), range: (a, b) => [a, b] },
];

function rangesIn(sentence: string): Range[] {
  const out: Range[] = [];
  for (const rule of RANGE_RULES) {
    rule.pattern.lastIndex = 0;
    for (const m of sentence.matchAll(rule.pattern)) {
      const nums = [m[1], m[3] ?? m[2]].filter((x) => x !== undefined && /^\d/.test(x)).map((x) => Number(x!.replace(',', '.')));
      const units = [m[2], m[4], m[3]].map((u) => unitOf(u ?? undefined)).filter((u): u is string => u !== null);
      let unit = units[0] ?? null;
      if (!unit && /\baged?\b/i.test(m[0])) unit = 'year';
      if (!unit) {
        // "children aged 5 to 11", "the 28th week": look just after the match for the unit.
        const after = sentence.slice((m.index ?? 0) + m[0].length, (m.index ?? 0) + m[0].length + 12);
        unit = unitOf(/^\s*([A-Za-z]+)/.exec(after)?.[1]);
      }
      // "Children under 5 cannot travel alone": ages go without their unit.
      if (!unit && /\b(?:child|children|aged?|minors?|infants?|babies|kids?)\b/i.test(sentence)) unit = 'year';
      if (!unit || nums.length === 0) continue;
      const [min, max] = rule.range(nums[0]!, nums[1] ?? nums[0]!);
      out.push({ min, max, unit });
    }
  }
  return out;
}

/**
 * +1 when a range of the sentence covers one of the quantities, -1 when the sentence states
 * ranges in that unit and none covers it, 0 when it says nothing about them.
 */
export function rangeFit(sentence: string, quantities: readonly Quantity[]): number {
  if (quantities.length === 0) return 0;
  const ranges = rangesIn(sentence);
  let verdict = 0;
  for (const q of quantities) {
    const same = ranges.filter((r) => r.unit === q.unit);
    if (same.length === 0) continue;
    if (same.some((r) => q.value >= r.min && q.value <= r.max)) return 1;
    verdict = -1;
  }
  return verdict;
}
