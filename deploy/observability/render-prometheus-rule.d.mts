export const RULES_FILE: string;
export const PROMETHEUS_RULE_FILE: string;
export function renderPrometheusRule(rulesText: string): string;
