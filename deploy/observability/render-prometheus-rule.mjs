#!/usr/bin/env node
// Writes deploy/k8s/prometheus-rule.yaml, the prometheus-operator PrometheusRule, from the one
// source of the alert rules, prometheus/alerts.rules.yml:
//
//   node deploy/observability/render-prometheus-rule.mjs
//
// deploy/test/observability.test.ts renders it again and fails when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const RULES_FILE = fileURLToPath(new URL('./prometheus/alerts.rules.yml', import.meta.url));
export const PROMETHEUS_RULE_FILE = fileURLToPath(new URL('../k8s/prometheus-rule.yaml', import.meta.url));

const HEADER = `# GENERATED from deploy/observability/prometheus/alerts.rules.yml by
# deploy/observability/render-prometheus-rule.mjs: edit the rules there, then run it again.
# prometheus-operator loads it into every Prometheus whose ruleSelector matches its labels
# (the kube-prometheus-stack default selects release=<its release name>: add that label if yours
# does).
`;

/** The PrometheusRule manifest (YAML text) for the rules file's text. */
export function renderPrometheusRule(rulesText) {
  const rules = parse(rulesText);
  const manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'chat', labels: { 'app.kubernetes.io/part-of': 'chat' } },
    spec: { groups: rules.groups },
  };
  return HEADER + stringify(manifest, { lineWidth: 0 });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(PROMETHEUS_RULE_FILE, renderPrometheusRule(readFileSync(RULES_FILE, 'utf8')));
  process.stdout.write(`wrote ${PROMETHEUS_RULE_FILE}\n`);
}
