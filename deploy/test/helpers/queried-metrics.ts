/**
 * Every metric name that the Grafana dashboard and the alert rules query, read from the files
 * themselves (deploy/observability/), so a test can hold them against what processes export.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const OBSERVABILITY = fileURLToPath(new URL('../../observability/', import.meta.url));
export const RULES_PATH = `${OBSERVABILITY}prometheus/alerts.rules.yml`;
export const DASHBOARD_PATH = `${OBSERVABILITY}grafana/dashboards/chat-service.json`;

/** A PromQL expression and where it comes from (an alert name or a panel title). */
export interface Query {
  source: string;
  expr: string;
}

export function ruleQueries(): Query[] {
  const rules = parse(readFileSync(RULES_PATH, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }> };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ source: `rule ${r.alert ?? r.record}`, expr: String(r.expr) })));
}

export function dashboardQueries(): Query[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => ({ source: `panel "${p.title}"`, expr: target.expr })));
}

/** PromQL words that look like identifiers but are not metric names. */
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names in one PromQL expression: identifiers that are not functions (followed by
 * `(`), keywords, label names in `by (…)` / `on (…)` clauses, label matchers or strings.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice(match.index! + match[0].length).trimStart();
    if (after.startsWith('(')) continue;
    if (KEYWORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/** Metric name → the queries that use it. */
export function queriedMetrics(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const { source, expr } of [...ruleQueries(), ...dashboardQueries()]) {
    for (const name of metricNamesIn(expr)) used.set(name, [...(used.get(name) ?? []), source]);
  }
  return used;
}

/**
 * The sample names a Prometheus text exposition offers: each `# TYPE` family, plus `_bucket`,
 * `_sum`, `_count` for histograms and `_sum`, `_count` for summaries.
 */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}
