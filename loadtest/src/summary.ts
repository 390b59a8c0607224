/** The parts of Artillery's JSON report (`artillery run --output`) the summary reads. */
export interface ArtilleryReport {
  aggregate: {
    counters: Record<string, number>;
    rates?: Record<string, number>;
    summaries: Record<string, { min: number; max: number; count: number; mean?: number; median?: number; p50?: number; p95?: number; p99?: number }>;
    firstMetricAt?: number;
    lastMetricAt?: number;
  };
}

export interface SummaryInput {
  tier: string;
  target: string;
  /** How the local stack ran, or null for --target. */
  stack: string | null;
  command: string;
  startedAt: Date;
  finishedAt: Date;
  exitCode: number;
  /** Artillery's own `ok: …` / `fail: …` lines for the ensure checks. */
  checks: string[];
  report: ArtilleryReport | null;
}

/** Success of a tier: every turn sent completed, no virtual user failed, every session created. */
export interface TierFigures {
  turnsSent: number;
  turnsCompleted: number;
  turnsFailed: number;
  successPercent: number;
  vusersCreated: number;
  vusersFailed: number;
  errors: Record<string, number>;
}

export function tierFigures(report: ArtilleryReport): TierFigures {
  const c = report.aggregate.counters;
  const sent = c['chat.turns.sent'] ?? 0;
  const completed = c['chat.turns.completed'] ?? 0;
  const errors: Record<string, number> = {};
  for (const [name, count] of Object.entries(c)) {
    if (name.startsWith('chat.errors.')) errors[name.slice('chat.errors.'.length)] = count;
    else if (name.startsWith('errors.')) errors[`artillery: ${name.slice('errors.'.length)}`] = count;
    else if (name.startsWith('http.codes.') && name !== 'http.codes.200') errors[`http ${name.slice('http.codes.'.length)}`] = count;
  }
  return {
    turnsSent: sent,
    turnsCompleted: completed,
    turnsFailed: c['chat.turns.failed'] ?? 0,
    successPercent: sent === 0 ? 0 : Math.floor((completed / sent) * 10_000) / 100,
    vusersCreated: c['vusers.created'] ?? 0,
    vusersFailed: c['vusers.failed'] ?? 0,
    errors,
  };
}

/** A readable Markdown summary of one campaign run. */
export function renderSummary(input: SummaryInput): string {
  const lines: string[] = [];
  const verdict = input.exitCode === 0 ? 'PASS' : 'FAIL';
  lines.push(`# Load test \`${input.tier}\`: ${verdict}`, '');
  lines.push(`- command: \`${input.command}\``);
  lines.push(`- target: ${input.target}${input.stack ? ` (${input.stack})` : ''}`);
  lines.push(`- ran: ${input.startedAt.toISOString()} → ${input.finishedAt.toISOString()} (${Math.round((input.finishedAt.getTime() - input.startedAt.getTime()) / 1000)} s)`);
  lines.push(`- artillery exit code: ${input.exitCode}`, '');
  if (!input.report) {
    lines.push('Artillery wrote no JSON report.');
    return `${lines.join('\n')}\n`;
  }
  const f = tierFigures(input.report);
  const s = input.report.aggregate.summaries;
  const pct = (name: string) => {
    const m = s[name];
    return m ? `${fmt(m.p50 ?? m.median)} / ${fmt(m.p95)} / ${fmt(m.p99)} / ${fmt(m.max)}` : '-';
  };
  lines.push('| turns sent | completed | failed | success | virtual users | users failed |');
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: |');
  lines.push(`| ${f.turnsSent} | ${f.turnsCompleted} | ${f.turnsFailed} | ${f.successPercent.toFixed(2)} % | ${f.vusersCreated} | ${f.vusersFailed} |`, '');
  const cached = input.report.aggregate.counters['chat.answers.from_cache'] ?? 0;
  const reset = input.report.aggregate.counters['chat.turns.reset'] ?? 0;
  lines.push(`Answers from the response cache: ${cached} of ${f.turnsCompleted} completed turns. Turns retried by a new attempt (a reset frame): ${reset}.`, '');
  lines.push('| per turn | p50 / p95 / p99 / max |');
  lines.push('| --- | ---: |');
  lines.push(`| time to first chunk, ms | ${pct('chat.time_to_first_chunk')} |`);
  lines.push(`| time to complete, ms | ${pct('chat.time_to_complete')} |`);
  lines.push(`| chunks | ${pct('chat.chunks')} |`);
  lines.push(`| characters | ${pct('chat.characters')} |`);
  lines.push(`| session create (REST), ms | ${pct('http.response_time')} |`);
  lines.push(`| socket open, ms | ${pct('chat.socket_open_time')} |`, '');
  const errorLines = Object.entries(f.errors);
  lines.push(errorLines.length === 0 ? 'Errors: none.' : `Errors by code: ${errorLines.map(([k, v]) => `${k} × ${v}`).join(', ')}.`, '');
  if (input.checks.length > 0) {
    lines.push('Checks (`ensure`):', '');
    for (const check of input.checks) lines.push(`- ${check}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

function fmt(value: number | undefined): string {
  if (value === undefined) return '-';
  return value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}
