/**
 * deploy/k8s against the real schemas, offline, plus what holds the objects together.
 *
 *   deploy/k8s/*.yaml ──┬─▶ model classes from the npm registry (kubernetes-models 4 for core
 *   (kustomization      │   objects, @kubernetes-models/keda 0.4 for ScaledObject,
 *    resources, and     │   @kubernetes-models/prometheus-operator 4 for PodMonitor and
 *    `kubectl           │   PrometheusRule: the last majors whose engines allow Node 20)
 *    kustomize` output  │     .validate()  → types, enums, required fields (their ajv schemas)
 *    when kubectl is    │     TypeScript   → every field name exists (excess-property check of
 *    installed)         │                    the manifest as a literal of the model's interface;
 *                       │                    the schemas themselves let unknown fields through)
 *                       └─▶ cross-checks: autoscalers target Deployments that name no replicas,
 *                           selectors match pod labels, scrape ports exist, drains fit the
 *                           grace periods and the longest turn, metric names exist in the code
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { loadConfig } from '../../shared/src/config.js';
import { GatewayMetrics } from '../../shared/src/metrics/gateway-metrics.js';
import { WorkerMetrics } from '../../shared/src/metrics/worker-metrics.js';
import { createMetricsRegistry } from '../../shared/src/metrics/registry.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const K8S = join(REPO, 'deploy/k8s');

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown, what: string): Obj => {
  if (!isObj(v)) throw new Error(`${what} is not a mapping`);
  return v;
};
const arr = (v: unknown, what: string): unknown[] => {
  if (!Array.isArray(v)) throw new Error(`${what} is not a list`);
  return v;
};

/** apiVersion/kind → the model class and where its interface is declared. */
const MODELS: Record<string, { model: new (data: never) => { validate(): void }; module: string; iface: string }> = {
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', iface: 'IConfigMap' },
  'v1/Secret': { model: Secret, module: 'kubernetes-models/v1/Secret', iface: 'ISecret' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', iface: 'IService' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', iface: 'IDeployment' },
  'apps/v1/StatefulSet': { model: StatefulSet, module: 'kubernetes-models/apps/v1/StatefulSet', iface: 'IStatefulSet' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, module: 'kubernetes-models/policy/v1/PodDisruptionBudget', iface: 'IPodDisruptionBudget' },
  'networking.k8s.io/v1/NetworkPolicy': { model: NetworkPolicy, module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', iface: 'INetworkPolicy' },
  'keda.sh/v1alpha1/ScaledObject': { model: ScaledObject, module: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', iface: 'IScaledObject' },
  'monitoring.coreos.com/v1/PodMonitor': { model: PodMonitor, module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor', iface: 'IPodMonitor' },
  'monitoring.coreos.com/v1/PrometheusRule': {
    model: PrometheusRule,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    iface: 'IPrometheusRule',
  },
};

interface Manifest {
  source: string;
  object: Obj;
}

const kustomization = obj(parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')), 'kustomization.yaml');
const fileManifests: Manifest[] = arr(kustomization.resources, 'resources')
  .map(String)
  .concat(['secret.example.yaml'])
  .flatMap((file) => parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((doc) => ({ source: file, object: obj(doc.toJS(), file) })));
const typeKey = (o: Obj) => `${String(o.apiVersion)}/${String(o.kind)}`;
const nameOf = (o: Obj) => String(obj(o.metadata, 'metadata').name);
const label = (m: Manifest) => `${m.source}: ${String(m.object.kind)} ${nameOf(m.object)}`;
const ofKind = (kind: string) => fileManifests.map((m) => m.object).filter((o) => o.kind === kind);
const deployment = (name: string) => {
  const found = ofKind('Deployment').find((d) => nameOf(d) === name);
  if (!found) throw new Error(`no Deployment ${name}`);
  return found;
};
const podTemplate = (w: Obj) => obj(obj(w.spec, 'spec').template, 'template');
const podLabels = (w: Obj) => obj(obj(podTemplate(w).metadata, 'metadata').labels, 'labels') as Record<string, string>;
const podSpec = (w: Obj) => obj(podTemplate(w).spec, 'pod spec');
const containers = (w: Obj) => arr(podSpec(w).containers, 'containers').map((c) => obj(c, 'container'));

/** Does a LabelSelector (matchLabels + matchExpressions) select these labels? */
function selects(selector: Obj, labels: Record<string, string>): boolean {
  const matchLabels = (selector.matchLabels ?? {}) as Record<string, string>;
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  return arr(selector.matchExpressions ?? [], 'matchExpressions').every((e) => {
    const { key, operator, values } = obj(e, 'expression') as { key: string; operator: string; values?: string[] };
    const value = labels[key];
    if (operator === 'In') return value !== undefined && (values ?? []).includes(value);
    if (operator === 'NotIn') return value === undefined || !(values ?? []).includes(value);
    if (operator === 'Exists') return value !== undefined;
    if (operator === 'DoesNotExist') return value === undefined;
    throw new Error(`unknown operator ${operator}`);
  });
}

function kubectlKustomize(): Promise<{ ok: true; text: string } | { ok: false; why: string }> {
  return new Promise((resolve) => {
    execFile('kubectl', ['kustomize', K8S], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') resolve({ ok: false, why: 'kubectl is not installed' });
      else if (err) resolve({ ok: true, text: `__error__${stderr || err.message}` });
      else resolve({ ok: true, text: stdout });
    });
  });
}

/**
 * Type-checks every manifest as an object literal of its model's TypeScript interface: an
 * unknown or misspelt field anywhere is an excess-property error. Returns the errors, each
 * naming the manifest and the line of the generated literal.
 */
function fieldNameErrors(manifests: Manifest[]): string[] {
  const lines: string[] = [];
  const owners: string[] = [];
  const imports = new Set<string>();
  manifests.forEach((m, index) => {
    const entry = MODELS[typeKey(m.object)]!;
    imports.add(`import type { ${entry.iface} } from '${entry.module}';`);
    const body = JSON.stringify(m.object, null, 1).split('\n');
    body[0] = `export const m${index}: ${entry.iface} = ${body[0]}`;
    body[body.length - 1] += ';';
    for (const line of body) {
      lines.push(line);
      owners.push(label(m));
    }
  });
  const header = [...imports];
  const text = [...header, ...lines].join('\n');
  const fileName = join(REPO, 'deploy/test/__k8s_manifests__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) =>
    name === fileName ? ts.createSourceFile(name, text, version) : getSourceFile(name, version, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return message;
    const line = d.file.getLineAndCharacterOfPosition(d.start).line - header.length;
    return `${owners[line] ?? d.file.fileName}: ${message} (at ${lines[line]?.trim() ?? '?'})`;
  });
}

t.test('every manifest validates against its model schema', async (t) => {
  t.ok(fileManifests.length >= 16, `${fileManifests.length} objects`);
  for (const m of fileManifests) {
    const entry = MODELS[typeKey(m.object)];
    t.ok(entry, `${label(m)}: ${typeKey(m.object)} has a model`);
    if (!entry) continue;
    t.doesNotThrow(() => new entry.model(m.object as never).validate(), `${label(m)} is valid`);
  }
  // The schemas do catch a wrong type: the check is not vacuous.
  t.throws(() => new ScaledObject({ metadata: { name: 'x' }, spec: { scaleTargetRef: { name: 'w' }, minReplicaCount: 'two', triggers: [] } } as never).validate());
});

t.test('every field name exists in the model (TypeScript excess-property check)', async (t) => {
  t.same(fieldNameErrors(fileManifests), [], 'no unknown fields');
  // A misspelt field is caught, at any depth.
  const worker = structuredClone(deployment('worker'));
  (containers(worker)[0] as Obj).readinesProbe = {};
  const errors = fieldNameErrors([{ source: 'mutated', object: worker }]);
  t.equal(errors.length, 1, 'a misspelt container field is reported');
  t.match(errors[0], /readinesProbe/);
});

t.test('kubectl kustomize renders the same objects, and they validate', async (t) => {
  const rendered = await kubectlKustomize();
  if (!rendered.ok) {
    t.pass(`skipped: ${rendered.why}`);
    return;
  }
  t.notOk(rendered.text.startsWith('__error__'), `kubectl kustomize succeeds ${rendered.text.slice(0, 300)}`);
  const objects = parseAllDocuments(rendered.text).map((doc) => obj(doc.toJS(), 'rendered'));
  const expected = fileManifests.filter((m) => m.source !== 'secret.example.yaml').map((m) => `${typeKey(m.object)} ${nameOf(m.object)}`);
  const got = objects.map((o) => `${typeKey(o)} ${nameOf(o)}`);
  t.same(got.filter((g) => !g.startsWith('v1/ConfigMap ')).sort(), [...expected].sort(), 'the resources, nothing else');
  t.ok(got.some((g) => /^v1\/ConfigMap chat-config-[a-z0-9]+$/.test(g)), 'plus the generated chat-config (hashed name)');
  for (const o of objects) {
    const entry = MODELS[typeKey(o)]!;
    t.doesNotThrow(() => new entry.model(o as never).validate(), `rendered ${typeKey(o)} ${nameOf(o)} is valid`);
  }
  t.same(fieldNameErrors(objects.map((object) => ({ source: 'kustomize', object }))), [], 'rendered objects: no unknown fields');
});

/** Metric families the code registers, for the queries the manifests carry. */
function exportedMetricNames(): Set<string> {
  const gateway = new GatewayMetrics(createMetricsRegistry('gateway', false));
  gateway.trackQueueDepth(async () => []);
  const worker = new WorkerMetrics(createMetricsRegistry('worker', false));
  return new Set([...gateway.registry.getMetricsAsArray(), ...worker.registry.getMetricsAsArray()].map((m) => (m as unknown as { name: string }).name));
}

t.test('autoscalers: KEDA ScaledObjects on Deployments that name no replicas', async (t) => {
  const scaled = ofKind('ScaledObject');
  t.same(scaled.map(nameOf).sort(), ['gateway', 'worker'], 'gateways and workers autoscale');
  const metrics = exportedMetricNames();
  for (const so of scaled) {
    const spec = obj(so.spec, 'spec');
    const target = obj(spec.scaleTargetRef, 'scaleTargetRef');
    t.equal(target.kind, 'Deployment');
    t.equal(target.apiVersion, 'apps/v1');
    const d = deployment(String(target.name));
    t.equal(obj(d.spec, 'spec').replicas, undefined, `${nameOf(d)}: no fixed replicas (apply would fight the autoscaler)`);
    const min = Number(spec.minReplicaCount);
    const max = Number(spec.maxReplicaCount);
    t.ok(min >= 2, `${nameOf(so)}: at least 2 replicas (a PodDisruptionBudget, a canary responder)`);
    t.ok(max > min, `${nameOf(so)}: max ${max} > min ${min}`);
    const fallback = obj(spec.fallback, 'fallback');
    t.ok(Number(fallback.replicas) >= min && Number(fallback.replicas) <= max, 'fallback replicas within bounds');
    t.ok(Number(spec.pollingInterval) > 0 && Number(spec.cooldownPeriod) > 0, 'polling and cooldown set');
    const budget = ofKind('PodDisruptionBudget').find((p) => nameOf(p) === nameOf(d));
    t.ok(budget && selects(obj(obj(budget.spec, 'spec').selector, 'selector'), podLabels(d)), `${nameOf(d)}: its PodDisruptionBudget selects its pods`);
    for (const trigger of arr(spec.triggers, 'triggers').map((x) => obj(x, 'trigger'))) {
      t.equal(trigger.type, 'prometheus');
      t.equal(trigger.metricType, 'AverageValue', 'per-pod target (and fallback needs AverageValue)');
      const meta = obj(trigger.metadata, 'metadata') as Record<string, string>;
      t.match(meta.serverAddress, /^http:\/\/[a-z0-9.-]+:9090$/);
      t.ok(Number(meta.threshold) > 0, `threshold ${meta.threshold}`);
      t.ok(Number(meta.activationThreshold) >= 0, 'activation threshold set');
      for (const name of meta.query!.match(/\bchat_[a-z_]+\b/g) ?? []) t.ok(metrics.has(name), `query metric ${name} is registered by the code`);
    }
  }
});

t.test('workers scale on queue depth over every shard, and on busy turns', async (t) => {
  const spec = obj(ofKind('ScaledObject').find((s) => nameOf(s) === 'worker')!.spec, 'spec');
  const queries = arr(spec.triggers, 'triggers').map((x) => String(obj(obj(x, 'trigger').metadata, 'metadata').query));
  t.same(queries, ['sum(max by (queue, shard) (chat_queue_depth{queue="turns"}))', 'sum(chat_worker_active_turns)']);
  const behavior = obj(obj(obj(spec.advanced, 'advanced').horizontalPodAutoscalerConfig, 'hpa').behavior, 'behavior');
  t.equal(obj(behavior.scaleUp, 'scaleUp').stabilizationWindowSeconds, 0, 'scale up at once');
  t.ok(Number(obj(behavior.scaleDown, 'scaleDown').stabilizationWindowSeconds) >= 300, 'scale down after 5 min');

  // The busy-turns target leaves headroom under WORKER_CONCURRENCY.
  const env = Object.fromEntries(
    readFileSync(join(K8S, 'chat-config.env'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => l.split(/=(.*)/s, 2) as [string, string]),
  );
  const busy = obj(arr(spec.triggers, 'triggers')[1], 'trigger');
  t.ok(Number(obj(busy.metadata, 'metadata').threshold) < loadConfig(env).worker.concurrency, 'busy-turn target < WORKER_CONCURRENCY');
});

t.test('scale-down never cuts an answer: worker drain ≥ the longest turn, grace ≥ drain', async (t) => {
  const env = Object.fromEntries(
    readFileSync(join(K8S, 'chat-config.env'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => l.split(/=(.*)/s, 2) as [string, string]),
  );
  const worker = deployment('worker');
  const containerEnv = Object.fromEntries(arr(containers(worker)[0]!.env ?? [], 'env').map((e) => [String(obj(e, 'env').name), String(obj(e, 'env').value)]));
  const workerConfig = loadConfig({ ...env, ...containerEnv });
  t.ok(workerConfig.shutdown.timeoutMs >= workerConfig.turn.deadlineMs, `worker drain ${workerConfig.shutdown.timeoutMs} ms ≥ TURN_DEADLINE_MS ${workerConfig.turn.deadlineMs}`);
  t.ok(workerConfig.shutdown.timeoutMs >= workerConfig.llm.requestTimeoutMs, 'and ≥ one LLM request');
  // Closing steps after the drain: canaries 2 s, worker 2 s, queue 2 s, four Redis connections 2 s each, traces 2 s.
  const closing = 2 + 2 + 2 + 4 * 2 + 2; // + flushing traces
  t.ok(Number(podSpec(worker).terminationGracePeriodSeconds) >= workerConfig.shutdown.timeoutMs / 1000 + closing, 'grace ≥ drain + closing steps');

  const gateway = deployment('gateway');
  const gatewayConfig = loadConfig(env);
  const preStop = arr(obj(obj(obj(containers(gateway)[0]!.lifecycle, 'lifecycle').preStop, 'preStop').exec, 'exec').command, 'command');
  t.ok(Number(podSpec(gateway).terminationGracePeriodSeconds) >= Number(preStop[1]) + gatewayConfig.shutdown.timeoutMs / 1000, 'gateway grace ≥ preStop + drain');
  const gatewayBehavior = obj(
    obj(obj(obj(ofKind('ScaledObject').find((s) => nameOf(s) === 'gateway')!.spec, 'spec').advanced, 'advanced').horizontalPodAutoscalerConfig, 'hpa').behavior,
    'behavior',
  );
  const scaleDown = obj(gatewayBehavior.scaleDown, 'scaleDown');
  t.ok(Number(scaleDown.stabilizationWindowSeconds) >= 600, 'gateways: slow scale-down (≥ 10 min window)');
  for (const policy of arr(scaleDown.policies, 'policies').map((p) => obj(p, 'policy'))) {
    t.same({ type: policy.type, value: policy.value }, { type: 'Pods', value: 1 }, 'one gateway at a time');
    t.ok(Number(policy.periodSeconds) >= 60, 'per period of at least a minute');
  }
  const gatewayQuery = String(obj(obj(arr(obj(ofKind('ScaledObject').find((s) => nameOf(s) === 'gateway')!.spec, 'spec').triggers, 't')[0], 'trigger').metadata, 'm').query);
  t.equal(gatewayQuery, 'sum(chat_gateway_open_sockets)', 'gateways scale on open sockets, not CPU');
});

t.test('the PodMonitor scrapes every pod that serves /metrics, on a declared port', async (t) => {
  const [monitor] = ofKind('PodMonitor');
  const spec = obj(monitor!.spec, 'spec');
  const selector = obj(spec.selector, 'selector');
  const endpoints = arr(spec.podMetricsEndpoints, 'podMetricsEndpoints').map((e) => obj(e, 'endpoint'));
  for (const d of [...ofKind('Deployment'), ...ofKind('StatefulSet')]) {
    const annotations = (obj(podTemplate(d).metadata, 'metadata').annotations ?? {}) as Record<string, string>;
    const scraped = annotations['prometheus.io/scrape'] === 'true';
    t.equal(selects(selector, podLabels(d)), scraped, `${nameOf(d)}: selected by the PodMonitor iff it serves /metrics`);
    if (!scraped) continue;
    const ports = containers(d).flatMap((c) => arr(c.ports ?? [], 'ports').map((p) => obj(p, 'port')));
    const endpoint = endpoints.find((e) => ports.some((p) => p.name === e.port));
    t.ok(endpoint, `${nameOf(d)}: an endpoint names one of its ports`);
    const port = ports.find((p) => p.name === endpoint?.port);
    t.equal(String(port?.containerPort), annotations['prometheus.io/port'], `${nameOf(d)}: that port is the one it serves /metrics on`);
    t.equal(endpoint?.path, '/metrics');
  }
});
