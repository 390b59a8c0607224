/**
 * deploy/: what can be checked without a Docker engine or a cluster.
 *
 *   deploy/docker/Dockerfile ─┐
 *   deploy/compose.yaml ──────┼─▶ parsed here ─▶ checked against ENV_TABLE / loadConfig
 *   deploy/k8s/*.yaml, *.env ─┘                  (shared/src/config.ts) and each other
 *   deploy/docker/*.mjs ─────────▶ run for real (health check, native-binary pruning)
 *
 * Imports the config from shared/src through tsx (deploy/ is not a workspace package, so
 * `@chat/shared` does not resolve here, and src needs no build). Needs `yaml` resolvable from
 * the repository root (a root devDependency).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { ENV_TABLE, gatewayAuthProblems, llmBaseUrl, loadConfig, usesOfflineModel, type Config } from '../../shared/src/config.js';
import { SERVICE_NODE_FLAGS } from '../../shared/src/node-flags.js';

const DEPLOY = fileURLToPath(new URL('../', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(DEPLOY, path), 'utf8');

const ENV_NAMES = new Set<string>(ENV_TABLE.map(([name]) => name));
/** Variables that hold secrets: never a literal in these files, never in a ConfigMap. */
const SECRET_VARIABLES = ['OPENAI_API_KEY', 'AUTH_SECRETS', 'OPS_TOKEN'];
/** A well-formed AUTH_SECRETS value for checks that need one (32 zero bytes; not a real key). */
const DUMMY_AUTH_SECRETS = `test:${Buffer.alloc(32).toString('base64')}`;
const DEFAULTS = loadConfig({});
/** The three images and the config path of the port each serves /health on. */
const TARGETS = {
  gateway: { portVariable: 'PORT', port: DEFAULTS.gateway.port },
  worker: { portVariable: 'WORKER_METRICS_PORT', port: DEFAULTS.worker.metricsPort },
  'offline-llm': { portVariable: 'OFFLINE_LLM_PORT', port: DEFAULTS.offlineLlm.port },
} as const;
type Target = keyof typeof TARGETS;

// ---------------------------------------------------------------------------------------------
// Small helpers: YAML access, durations, quantities, Dockerfile parsing.

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
function obj(value: unknown, what: string): Obj {
  if (!isObj(value)) throw new Error(`${what} is not a mapping: ${JSON.stringify(value)}`);
  return value;
}
function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what} is not a list: ${JSON.stringify(value)}`);
  return value;
}

/** Compose durations: "30s", "1m30s", "500ms". */
function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a duration: ${text}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}

/** Kubernetes quantities: "250m", "1" (cpu), "256Mi", "1Gi" (memory). */
function quantity(text: unknown): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(String(text));
  if (!match) throw new Error(`not a quantity: ${String(text)}`);
  const factor: Record<string, number> = { m: 0.001, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 };
  return Number(match[1]) * (match[2] ? factor[match[2]]! : 1);
}

/**
 * Compose interpolation as it resolves with none of the variables set: `${X:-d}` → d;
 * `${X:?message}` (a required variable: compose refuses to start) → ''.
 */
function interpolateUnset(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*)|:?\?[^}]*)?\}/g, (_all, _name, fallback: string | undefined) => fallback ?? '');
}

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  from: string;
  name: string;
  instructions: Instruction[];
}

/**
 * Enough of the Dockerfile grammar for these checks: comments, `\` continuations, heredocs
 * (`<<'EOF'` … `EOF`, kept in the instruction's args), global ARGs and `FROM x AS y` stages.
 */
function parseDockerfile(text: string): { globalArgs: Map<string, string>; stages: Stage[] } {
  const lines = text.split('\n');
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = lines[i]!;
    if (/^\s*(#|$)/.test(logical)) continue;
    while (logical.endsWith('\\') && i + 1 < lines.length) {
      i++;
      // Comment lines inside a continuation are dropped, as BuildKit does.
      if (/^\s*#/.test(lines[i]!)) {
        logical = `${logical.slice(0, -1)} \\`;
        continue;
      }
      logical = `${logical.slice(0, -1)} ${lines[i]!.trim()}`;
    }
    const heredoc = /<<-?'?"?([A-Za-z_]+)'?"?/.exec(logical);
    if (heredoc) {
      while (i + 1 < lines.length && lines[i + 1] !== heredoc[1]) logical += `\n${lines[++i]!}`;
      i++; // the terminator
    }
    const match = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(logical);
    if (!match) throw new Error(`line ${start + 1}: cannot parse ${logical}`);
    const instruction = { keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start + 1 };
    if (instruction.keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!from) throw new Error(`line ${start + 1}: bad FROM ${instruction.args}`);
      stages.push({ from: from[1]!, name: from[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${start + 1}: only ARG may precede FROM`);
      const [name, value = ''] = instruction.args.split('=', 2) as [string, string?];
      globalArgs.set(name, value);
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** ENV arguments, in both the `K=V K2=V2` and the legacy `K V` form. */
function envPairs(args: string): Array<[string, string]> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [name, ...rest] = args.split(/\s+/);
    return [[name!, rest.join(' ')]];
  }
  return [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]);
}

// ---------------------------------------------------------------------------------------------
// The files under test, parsed once.

const dockerfileText = read('docker/Dockerfile');
const dockerfile = parseDockerfile(dockerfileText);
const stageByName = new Map(dockerfile.stages.map((stage) => [stage.name, stage]));
/** A stage and the stages it is built FROM, nearest first. */
function chain(name: string): Stage[] {
  const out: Stage[] = [];
  for (let stage = stageByName.get(name); stage; stage = stageByName.get(stage.from)) out.push(stage);
  return out;
}
const instructionsOf = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

const compose = obj(parse(read('compose.yaml'), { merge: true }), 'compose.yaml');
/** The services a plain `up` starts; those behind a profile (observability) are checked in observability.test.ts. */
const services = Object.fromEntries(Object.entries(obj(compose.services, 'services')).filter(([, svc]) => !isObj(svc) || svc.profiles === undefined));
const service = (name: string) => obj(services[name], `service ${name}`);
/** A compose service's environment as a map, values as written (interpolation not applied). */
function composeEnv(name: string): Record<string, string> {
  const env = service(name).environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => String(entry).split(/=(.*)/s, 2) as [string, string]));
  }
  return Object.fromEntries(Object.entries(obj(env, `${name}.environment`)).map(([k, v]) => [k, v === null ? '' : String(v)]));
}
const composeConfig = (name: string): Readonly<Config> =>
  loadConfig(Object.fromEntries(Object.entries(composeEnv(name)).map(([k, v]) => [k, interpolateUnset(v)])));
const NODE_SERVICES = ['offline-llm', 'worker-1', 'worker-2', 'gateway-1', 'gateway-2'];
const targetOf = (serviceName: string): Target => serviceName.replace(/-\d+$/, '') as Target;

const K8S = join(DEPLOY, 'k8s');
const kustomization = obj(parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')), 'kustomization.yaml');
const manifestFiles = arr(kustomization.resources, 'resources').map(String);
const manifests = manifestFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${index}: ${doc.errors[0]!.message}`);
    return { file, object: obj(doc.toJS(), `${file} document ${index}`) };
  }),
);
const ofKind = (kind: string) => manifests.map((m) => m.object).filter((o) => o.kind === kind);
const nameOf = (o: Obj) => String(obj(o.metadata, 'metadata').name);
const workloads = [...ofKind('Deployment'), ...ofKind('StatefulSet')];
const workload = (name: string) => {
  const found = workloads.find((w) => nameOf(w) === name);
  if (!found) throw new Error(`no workload ${name}`);
  return found;
};
const podSpec = (w: Obj) => obj(obj(obj(w.spec, 'spec').template, 'template').spec, 'pod spec');
const podLabels = (w: Obj) => obj(obj(obj(obj(w.spec, 'spec').template, 'template').metadata, 'template metadata').labels, 'labels');
const containers = (w: Obj) => arr(podSpec(w).containers, 'containers').map((c) => obj(c, 'container'));

/** chat-config.env, which kustomize turns into the ConfigMap `chat-config`. */
const configEnvFile = (() => {
  const generators = arr(kustomization.configMapGenerator, 'configMapGenerator').map((g) => obj(g, 'generator'));
  const chatConfig = generators.find((g) => g.name === 'chat-config');
  if (!chatConfig) throw new Error('no configMapGenerator chat-config');
  return arr(chatConfig.envs, 'envs').map(String);
})();
const k8sEnv: Record<string, string> = Object.fromEntries(
  configEnvFile.flatMap((file) =>
    readFileSync(join(K8S, file), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
      .map((line) => line.split(/=(.*)/s, 2) as [string, string]),
  ),
);
const k8sConfig = loadConfig(k8sEnv);

// ---------------------------------------------------------------------------------------------
// Dockerfile

/** Node major → native module ABI (`process.versions.modules`), for the lines uWS builds exist for. */
const NODE_ABI: Record<number, number> = { 20: 115, 22: 127, 24: 137, 25: 141 };

t.test('Dockerfile: every stage runs Node ≥ 22 on Debian 13 (trixie)', async (t) => {
  const external = dockerfile.stages.filter((stage) => !stageByName.has(stage.from));
  t.ok(external.length >= 2, 'a build base and a runtime base');
  for (const stage of external) {
    const image = stage.from.replace(/^\$\{?([A-Za-z_]+)\}?$/, (_all, arg: string) => dockerfile.globalArgs.get(arg) ?? `<unset ${arg}>`);
    const match = /^(?:docker\.io\/(?:library\/)?)?node:(\d+)(?:\.\d+)*-trixie(?:-slim)?(?:@sha256:[0-9a-f]{64})?$/.exec(image);
    t.ok(match, `stage ${stage.name} is FROM a node trixie image (${image})`);
    const major = Number(match?.[1]);
    t.ok(major >= 22, `stage ${stage.name}: Node ${major} ≥ 22`);
    // The gateway refuses to start without a native uWS build for the image's Node.
    const abi = NODE_ABI[major];
    t.ok(abi, `Node ${major} has a known native module ABI`);
    for (const arch of ['x64', 'arm64']) {
      const binary = join(REPO, `gateway/node_modules/uws-modern/uws_linux_${arch}_${abi}.node`);
      t.ok(existsSync(binary), `uws-modern has a linux ${arch} build for Node ${major} (ABI ${abi})`);
    }
  }
});

t.test('Dockerfile: pnpm matches packageManager; one frozen install; prod-only deploys', async (t) => {
  const rootPackage = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { packageManager?: string };
  t.equal(`pnpm@${dockerfile.globalArgs.get('PNPM_VERSION')}`, rootPackage.packageManager, 'ARG PNPM_VERSION = packageManager');
  const build = stageByName.get('build');
  if (!build) throw new Error('no build stage');
  const run = instructionsOf(build, 'RUN').map((i) => i.args).join('\n');
  t.match(run, /npm install --global[^\n]*pnpm@\$\{PNPM_VERSION\}/, 'pnpm installed through npm');
  t.match(run, /pnpm install --frozen-lockfile/, 'install from the lockfile only');
  t.match(run, /pnpm build/, 'root build script (tsc -b)');
  t.match(run, /for pkg in gateway worker offline-llm; do/, 'one deploy per service');
  t.match(run, /pnpm (--config\.inject-workspace-packages=true )?deploy (--legacy )?--filter="@chat\/\$\{pkg\}" --prod/, 'pnpm deploy --prod');
  t.ok(/inject-workspace-packages=true|--legacy/.test(run), 'pnpm 10 deploy mode chosen explicitly');
  t.match(run, /node_modules\/@chat\/shared\/lua\/"?\*\.lua/, 'each output is checked for the shared Lua scripts');
  t.match(run, /build\.source !== 'uws-modern'/, 'the gateway output is checked to load the native uws-modern build');
});

t.test('shared/lua ships with @chat/shared and holds every script the code reads', async (t) => {
  const sharedPackage = JSON.parse(readFileSync(join(REPO, 'shared/package.json'), 'utf8')) as { files?: string[] };
  t.ok(sharedPackage.files?.includes('dist'), 'shared "files" has dist');
  t.ok(sharedPackage.files?.includes('lua'), 'shared "files" has lua: pnpm deploy copies it');
  const onDisk = readdirSync(join(REPO, 'shared/lua')).filter((f) => f.endsWith('.lua'));
  const used = [...readFileSync(join(REPO, 'shared/src/redis/scripts.ts'), 'utf8').matchAll(/new LuaScript\('([^']+)'\)/g)].map((m) => m[1]!);
  t.ok(used.length > 0, 'scripts.ts loads Lua scripts');
  for (const file of used) t.ok(onDisk.includes(file), `shared/lua/${file} exists`);
});

/** Every file below `dir`, recursively. */
function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

t.test('files the code reads beside dist/ ship in the images', async (t) => {
  // A relative path in a file that resolves paths against import.meta.url (`new URL('../../x',
  // import.meta.url)`, or a list of candidates fed to it) runs from dist/<dir>/file.js, so it
  // names a path inside the package; paths that leave the package are the repository layout for
  // dev runs (e.g. the gateway's second web/ candidate) and are not needed in an image. Module
  // specifiers (import … from '../x.js') are not paths to ship.
  const build = stageByName.get('build');
  if (!build) throw new Error('no build stage');
  const cleanup = /rm -rf ([^)\n]+)\)/.exec(instructionsOf(build, 'RUN').map((i) => i.args).join('\n'));
  t.ok(cleanup, 'the build stage trims each deployed output');
  const removed = (cleanup?.[1] ?? '').trim().split(/\s+/).map((glob) => new RegExp(`^${glob.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`));
  const sharedFiles = (JSON.parse(readFileSync(join(REPO, 'shared/package.json'), 'utf8')) as { files?: string[] }).files ?? [];
  const found: string[] = [];
  for (const pkg of ['shared', ...Object.keys(TARGETS)]) {
    const root = join(REPO, pkg);
    for (const file of listFiles(join(root, 'src')).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(file, 'utf8');
      if (!source.includes('import.meta.url')) continue;
      const fromDist = join(root, 'dist', relative(join(root, 'src'), dirname(file)));
      const lines = source.split('\n').filter((line) => !/^\s*import\s|\bfrom\s+'/.test(line));
      for (const [, path] of lines.join('\n').matchAll(/'(\.\.?\/[^']*)'/g)) {
        const inPackage = relative(root, resolve(fromDist, path!));
        if (inPackage.startsWith('..')) continue;
        const top = inPackage.split(sep)[0]!;
        if (top === 'dist' || top === 'node_modules') continue;
        found.push(`${pkg}/${top}`);
        const where = `${pkg}/${inPackage} (read by ${relative(REPO, file)})`;
        if (pkg === 'shared') {
          t.ok(sharedFiles.includes(top), `${where}: in shared's "files", so pnpm deploy copies it`);
          continue;
        }
        // A COPY into /app/<top> or below it (e.g. worker/data/policies/ → /app/data/policies/).
        const copy = instructionsOf(stageByName.get(pkg)!, 'COPY').find((i) => new RegExp(`\\s/app/${top}(/\\S*)?$`).test(i.args));
        if (copy) {
          const source = copy.args.split(/\s+/)[0]!;
          t.ok(existsSync(join(REPO, source)), `${where}: COPY ${source} → /app/${top} from the context`);
        } else {
          t.ok(existsSync(join(root, top)), `${where}: ${pkg}/${top} exists, so pnpm deploy copies it`);
          t.notOk(removed.some((glob) => glob.test(top)), `${where}: not trimmed from the deployed output`);
        }
      }
    }
  }
  t.ok(found.includes('shared/lua'), 'the scan finds shared/lua (so it does scan)');
});

for (const [target, { portVariable, port }] of Object.entries(TARGETS) as Array<[Target, (typeof TARGETS)[Target]]>) {
  t.test(`Dockerfile: target ${target}`, async (t) => {
    const stage = stageByName.get(target);
    if (!stage) throw new Error(`no stage ${target}`);
    const stages = chain(target);
    t.ok(stages.some((s) => s.name !== target && !stageByName.has(s.from)), 'built on a runtime base, not on the build stage');
    t.notOk(stages.some((s) => s.name === 'build'), 'the build stage is not in its chain');
    t.same(instructionsOf(stage, 'USER').map((i) => i.args), ['node'], 'USER node, in the stage itself');
    const baseFirst = [...stages].reverse();
    const lastUser = baseFirst.flatMap((s) => instructionsOf(s, 'USER')).at(-1);
    t.equal(lastUser?.args, 'node', 'the effective user is node');
    t.same(instructionsOf(stage, 'EXPOSE').map((i) => i.args), [String(port)], `EXPOSE ${port}`);
    t.same(instructionsOf(stage, 'STOPSIGNAL').map((i) => i.args), ['SIGTERM']);
    // The gateway and the worker start with the service's Node flags, as the start command runs them.
    const flags = target === 'offline-llm' ? [] : SERVICE_NODE_FLAGS;
    t.same(instructionsOf(stage, 'CMD').map((i) => JSON.parse(i.args) as unknown), [['node', ...flags, 'dist/main.js']]);
    const healthchecks = instructionsOf(stage, 'HEALTHCHECK');
    t.equal(healthchecks.length, 1, 'one HEALTHCHECK');
    const command = JSON.parse(healthchecks[0]!.args.replace(/^.*?\bCMD\s+/, '')) as string[];
    t.same(command, ['node', '/app/healthcheck.mjs', portVariable, String(port)], 'health check on the service port');
    t.match(healthchecks[0]!.args, /--timeout=3s/, 'docker timeout above the script’s own 2.5 s');
    t.ok(
      instructionsOf(stage, 'COPY').some((i) => i.args === `--from=build /out/${target}/ /app/`),
      `copies the deployed /out/${target}`,
    );
    const env = new Map(baseFirst.flatMap((s) => instructionsOf(s, 'ENV').flatMap((i) => envPairs(i.args))));
    t.equal(env.get('NODE_ENV'), 'production');
    for (const name of env.keys()) {
      if (name !== 'NODE_ENV') t.ok(ENV_NAMES.has(name), `ENV ${name} is in ENV_TABLE`);
    }
    t.notOk(env.has('ALLOW_UWS_SHIM'), 'no ALLOW_UWS_SHIM');
    const config = loadConfig(Object.fromEntries([...env].filter(([name]) => name !== 'NODE_ENV')));
    if (target === 'gateway') t.equal(config.gateway.port, port);
    if (target === 'worker') t.equal(config.worker.metricsPort, port);
    if (target === 'offline-llm') t.equal(config.offlineLlm.host, '0.0.0.0', 'the offline model listens beyond loopback');
  });
}

t.test('Dockerfile.dockerignore: no host build output in the context; shipped scripts kept', async (t) => {
  const ignore = read('docker/Dockerfile.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const pattern of ['**/node_modules', '**/dist', '**/*.tsbuildinfo', '.git']) t.ok(ignore.includes(pattern), `ignores ${pattern}`);
  const referenced = [...new Set([...dockerfileText.matchAll(/\b(deploy\/docker\/[\w.-]+)/g)].map((m) => m[1]!))].filter(
    (path) => !path.endsWith('Dockerfile') && !path.endsWith('.dockerignore'),
  );
  t.ok(referenced.length >= 2, 'the Dockerfile uses files from deploy/docker');
  for (const path of referenced) {
    t.ok(existsSync(join(REPO, path)), `${path} exists`);
    if (ignore.includes('deploy')) t.ok(ignore.includes(`!${path}`), `${path} is re-included after "deploy"`);
  }
});

// ---------------------------------------------------------------------------------------------
// compose.yaml

t.test('compose: the parts of the local start command', async (t) => {
  t.same(Object.keys(services).sort(), ['gateway-1', 'gateway-2', 'offline-llm', 'redis', 'worker-1', 'worker-2']);
  for (const name of NODE_SERVICES) {
    const build = obj(service(name).build, `${name}.build`);
    t.equal(build.dockerfile, 'deploy/docker/Dockerfile', `${name} builds from the Dockerfile`);
    t.equal(build.context, '..', `${name}: the repository root is the context`);
    t.equal(build.target, targetOf(name), `${name} builds target ${targetOf(name)}`);
    t.ok(stageByName.has(String(build.target)), `target ${String(build.target)} exists`);
  }
});

t.test('compose: Redis 7 with noeviction and no persistence', async (t) => {
  const redis = service('redis');
  t.match(String(redis.image), /^redis:7(\.\d+)*-alpine$/);
  const command = arr(redis.command, 'redis.command').map(String);
  const option = (name: string) => (command.includes(name) ? command[command.indexOf(name) + 1] : undefined);
  t.equal(command[0], 'redis-server');
  t.equal(option('--maxmemory-policy'), 'noeviction', 'BullMQ needs noeviction');
  t.equal(option('--save'), '', 'no RDB snapshots');
  t.equal(option('--appendonly'), 'no', 'no AOF');
});

t.test('compose: environment names are in ENV_TABLE and each service’s config loads', async (t) => {
  for (const name of NODE_SERVICES) {
    for (const variable of Object.keys(composeEnv(name))) t.ok(ENV_NAMES.has(variable), `${name}: ${variable} is in ENV_TABLE`);
    t.doesNotThrow(() => composeConfig(name), `${name}: loadConfig accepts its environment`);
  }
  t.same(Object.keys(composeEnv('redis')), [], 'redis takes no service variables');
  for (const name of ['gateway-1', 'gateway-2']) {
    t.notOk('ALLOW_UWS_SHIM' in composeEnv(name), `${name}: ALLOW_UWS_SHIM unset`);
    t.equal(composeConfig(name).auth.required, true, `${name}: session tokens required, as in every deploy manifest`);
    t.not(gatewayAuthProblems(composeConfig(name)).length, 0, `${name} refuses to start without AUTH_SECRETS`);
    const withKeys = { ...composeEnv(name), AUTH_SECRETS: `main:${Buffer.alloc(32, 7).toString('base64')}` };
    const keyed = loadConfig(Object.fromEntries(Object.entries(withKeys).map(([k, v]) => [k, interpolateUnset(v)])));
    t.same(gatewayAuthProblems(keyed), [], `${name} starts once the caller gives AUTH_SECRETS`);
  }
  for (const name of NODE_SERVICES) {
    for (const [variable, value] of Object.entries(composeEnv(name))) {
      if (!SECRET_VARIABLES.includes(variable)) continue;
      if (variable === 'AUTH_SECRETS') {
        // Required: without it `docker compose up` stops at once with this message, instead of
        // gateways that exit (AUTH_REQUIRED without keys) and restart in a loop.
        t.match(value, /^\$\{AUTH_SECRETS:\?[^}$]+\}$/, `${name}: AUTH_SECRETS required from the caller’s environment, with a message`);
      } else t.equal(value, `\${${variable}:-}`, `${name}: ${variable} only from the caller’s environment`);
    }
  }
  const redisUrl = new URL(composeConfig('gateway-1').redis.url);
  t.equal(redisUrl.hostname, 'redis', 'REDIS_URL names the redis service');
  for (const name of ['worker-1', 'worker-2']) {
    const env = composeEnv(name);
    t.equal(env.OPENAI_API_KEY, '${OPENAI_API_KEY:-}', `${name}: the key only from the caller’s environment`);
    const config = composeConfig(name);
    t.ok(usesOfflineModel(config), `${name}: no key set → offline model`);
    const offline = composeConfig('offline-llm');
    t.equal(llmBaseUrl(config), `http://offline-llm:${offline.offlineLlm.port}/v1`, `${name} reaches the offline-llm service`);
    t.equal(config.llm.model, offline.llm.model, 'the offline model lists the model the workers ask for');
  }
  t.equal(composeConfig('offline-llm').offlineLlm.host, '0.0.0.0', 'the offline model listens beyond loopback');
  t.notMatch(read('compose.yaml'), /sk-[A-Za-z0-9_-]{8,}/, 'no API key in the file');
});

t.test('compose: health checks, start order, restarts, stop grace', async (t) => {
  for (const [name, raw] of Object.entries(services)) {
    const svc = obj(raw, name);
    const healthcheck = obj(svc.healthcheck, `${name}.healthcheck`);
    t.ok(arr(healthcheck.test, `${name}.healthcheck.test`).length > 1, `${name} has a health check`);
    t.ok(['unless-stopped', 'always', 'on-failure'].includes(String(svc.restart)), `${name} restarts`);
    for (const [dependency, spec] of Object.entries(obj(svc.depends_on ?? {}, `${name}.depends_on`))) {
      t.equal(obj(spec, `${name}.depends_on.${dependency}`).condition, 'service_healthy', `${name} waits for ${dependency} to be healthy`);
      t.ok(isObj(service(dependency).healthcheck), `${dependency} has a health check to wait for`);
    }
  }
  for (const name of ['worker-1', 'worker-2']) t.same(Object.keys(obj(service(name).depends_on, 'depends_on')).sort(), ['offline-llm', 'redis']);
  for (const name of ['gateway-1', 'gateway-2']) t.ok('redis' in obj(service(name).depends_on, 'depends_on'), `${name} waits for redis`);
  for (const name of NODE_SERVICES) {
    const svc = service(name);
    const config = composeConfig(name);
    t.ok(durationMs(String(svc.stop_grace_period)) >= config.shutdown.timeoutMs, `${name}: stop_grace_period ≥ SHUTDOWN_TIMEOUT_MS`);
    t.equal(svc.stop_signal ?? 'SIGTERM', 'SIGTERM');
    const { portVariable } = TARGETS[targetOf(name)];
    const port = { PORT: config.gateway.port, WORKER_METRICS_PORT: config.worker.metricsPort, OFFLINE_LLM_PORT: config.offlineLlm.port }[portVariable];
    t.same(obj(svc.healthcheck, 'healthcheck').test, ['CMD', 'node', '/app/healthcheck.mjs', portVariable, String(port)], `${name}: checks the port it serves`);
    t.equal(svc.read_only, true, `${name}: read-only root filesystem`);
    t.same(svc.cap_drop, ['ALL'], `${name}: no capabilities`);
  }
});

t.test('compose: each gateway on its own host port, onto its listen port', async (t) => {
  const hostPorts: number[] = [];
  for (const name of ['gateway-1', 'gateway-2']) {
    const ports = arr(service(name).ports, `${name}.ports`).map(String);
    t.equal(ports.length, 1, `${name} publishes one port`);
    const [, host, published, target] = /^(?:([\d.]+):)?(\d+):(\d+)$/.exec(ports[0]!) ?? [];
    t.equal(Number(target), composeConfig(name).gateway.port, `${name}: onto PORT`);
    t.equal(host, '127.0.0.1', `${name}: published on loopback only`);
    hostPorts.push(Number(published));
  }
  t.same(hostPorts, [8088, 8089]);
  for (const name of ['redis', 'offline-llm', 'worker-1', 'worker-2']) t.notOk('ports' in service(name), `${name} is not published`);
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

t.test('k8s: kustomization lists every manifest; the Secret template stays out', async (t) => {
  const yamlFiles = readdirSync(K8S).filter((f) => /\.ya?ml$/.test(f));
  t.same(
    [...manifestFiles].sort(),
    yamlFiles.filter((f) => f !== 'kustomization.yaml' && f !== 'secret.example.yaml').sort(),
    'every manifest is a resource',
  );
  for (const { file, object } of manifests) {
    t.notOk(obj(object.metadata, 'metadata').namespace, `${file} ${String(object.kind)} is namespace-agnostic`);
  }
  const images = arr(kustomization.images, 'images').map((i) => String(obj(i, 'image').name));
  for (const w of workloads) {
    for (const c of containers(w)) {
      if (String(c.image).startsWith('chat-')) t.ok(images.includes(String(c.image)), `kustomize sets the tag of ${String(c.image)}`);
    }
  }
});

t.test('k8s: every workload has probes, limits and a locked-down security context', async (t) => {
  t.same(workloads.map(nameOf).sort(), ['gateway', 'offline-llm', 'redis', 'worker']);
  for (const w of workloads) {
    const name = nameOf(w);
    const pod = podSpec(w);
    const podSecurity = obj(pod.securityContext, `${name} pod securityContext`);
    t.equal(podSecurity.runAsNonRoot, true, `${name}: runAsNonRoot`);
    t.ok(Number(podSecurity.runAsUser) > 0, `${name}: numeric non-root runAsUser (the kubelet cannot check "node")`);
    t.equal(obj(podSecurity.seccompProfile, 'seccompProfile').type, 'RuntimeDefault', `${name}: seccomp RuntimeDefault`);
    t.equal(pod.enableServiceLinks, false, `${name}: no service-link variables (OFFLINE_LLM_PORT=tcp://… would clash)`);
    t.equal(pod.automountServiceAccountToken, false, `${name}: no API token`);
    for (const c of containers(w)) {
      const security = obj(c.securityContext, `${name} container securityContext`);
      t.equal(security.readOnlyRootFilesystem, true, `${name}: read-only root filesystem`);
      t.equal(security.allowPrivilegeEscalation, false, `${name}: no privilege escalation`);
      t.same(obj(security.capabilities, 'capabilities').drop, ['ALL'], `${name}: drops ALL capabilities`);
      const resources = obj(c.resources, `${name} resources`);
      const requests = obj(resources.requests, 'requests');
      const limits = obj(resources.limits, 'limits');
      for (const key of ['cpu', 'memory']) {
        t.ok(quantity(limits[key]) >= quantity(requests[key]), `${name}: ${key} limit ${String(limits[key])} ≥ request ${String(requests[key])}`);
      }
      const ports = arr(c.ports, 'ports').map((p) => obj(p, 'port'));
      for (const probeName of ['readinessProbe', 'livenessProbe']) {
        const probe = obj(c[probeName], `${name} ${probeName}`);
        const handler = probe.httpGet ?? probe.tcpSocket ?? probe.exec;
        t.ok(handler, `${name}: ${probeName} has a handler`);
        const port = isObj(handler) ? handler.port : undefined;
        if (port !== undefined) t.ok(ports.some((p) => p.name === port || p.containerPort === port), `${name}: ${probeName} port ${String(port)} is declared`);
        // Gateways are ready on the end-to-end canary (/ready); everything else on /health.
        const path = name === 'gateway' && probeName === 'readinessProbe' ? '/ready' : '/health';
        if (isObj(probe.httpGet)) t.equal(probe.httpGet.path, path, `${name}: ${probeName} on ${path}`);
      }
    }
  }
});

t.test('k8s: container ports, probes and scrape annotations follow the config', async (t) => {
  const expected: Record<string, { port: number; scrape: boolean }> = {
    gateway: { port: k8sConfig.gateway.port, scrape: true },
    worker: { port: k8sConfig.worker.metricsPort, scrape: true },
    'offline-llm': { port: k8sConfig.offlineLlm.port, scrape: false },
  };
  for (const [name, { port, scrape }] of Object.entries(expected)) {
    const w = workload(name);
    const [container] = containers(w);
    const ports = arr(container!.ports, 'ports').map((p) => Number(obj(p, 'port').containerPort));
    t.same(ports, [port], `${name} listens on ${port}`);
    const annotations = obj(obj(obj(obj(w.spec, 'spec').template, 'template').metadata, 'metadata').annotations ?? {}, 'annotations');
    t.equal(annotations['prometheus.io/scrape'], String(scrape), `${name}: prometheus.io/scrape ${String(scrape)}`);
    if (scrape) {
      t.equal(annotations['prometheus.io/port'], String(port), `${name}: scraped on ${port}`);
      t.equal(annotations['prometheus.io/path'], '/metrics');
    }
    t.ok(String(container!.image).startsWith(`chat-${name}`), `${name} runs image chat-${name}`);
  }
});

t.test('k8s: Services select a workload and target declared ports', async (t) => {
  for (const svc of ofKind('Service')) {
    const spec = obj(svc.spec, 'spec');
    const selector = obj(spec.selector, `${nameOf(svc)} selector`);
    const selected = workloads.filter((w) => Object.entries(selector).every(([k, v]) => podLabels(w)[k] === v));
    t.equal(selected.length, 1, `Service ${nameOf(svc)} selects exactly one workload`);
    const declared = selected.flatMap((w) => containers(w).flatMap((c) => arr(c.ports, 'ports').map((p) => obj(p, 'port'))));
    for (const p of arr(spec.ports, 'ports').map((x) => obj(x, 'service port'))) {
      const target = p.targetPort ?? p.port;
      t.ok(declared.some((d) => d.name === target || d.containerPort === target), `Service ${nameOf(svc)}: targetPort ${String(target)} exists`);
    }
  }
  const redisUrl = new URL(k8sConfig.redis.url);
  const redisService = ofKind('Service').find((s) => nameOf(s) === redisUrl.hostname);
  t.ok(redisService, `REDIS_URL names a Service (${redisUrl.hostname})`);
  t.ok(
    arr(obj(redisService?.spec, 'spec').ports, 'ports').some((p) => obj(p, 'port').port === Number(redisUrl.port || 6379)),
    'on the port REDIS_URL uses',
  );
  const llmUrl = new URL(String(llmBaseUrl(k8sConfig)));
  const llmService = ofKind('Service').find((s) => nameOf(s) === llmUrl.hostname);
  t.ok(llmService, `OPENAI_BASE_URL names a Service (${llmUrl.hostname})`);
  t.ok(arr(obj(llmService?.spec, 'spec').ports, 'ports').some((p) => obj(p, 'port').port === Number(llmUrl.port)), 'on its port');
});

t.test('k8s: gateways leave the Service before SIGTERM and get time to drain', async (t) => {
  const gateway = workload('gateway');
  const [container] = containers(gateway);
  const preStop = obj(obj(container!.lifecycle, 'lifecycle').preStop, 'preStop');
  const command = arr(obj(preStop.exec, 'preStop.exec').command, 'command').map(String);
  t.equal(command[0], 'sleep');
  const sleepSeconds = Number(command[1]);
  t.ok(sleepSeconds >= 5, `preStop sleeps ${sleepSeconds} s`);
  const grace = Number(podSpec(gateway).terminationGracePeriodSeconds);
  t.ok(grace >= sleepSeconds + k8sConfig.shutdown.timeoutMs / 1000, `grace ${grace} s ≥ preStop + SHUTDOWN_TIMEOUT_MS`);
  const worker = workload('worker');
  t.ok(Number(podSpec(worker).terminationGracePeriodSeconds) >= k8sConfig.shutdown.timeoutMs / 1000 + 5, 'workers: grace ≥ drain + closing');
  for (const name of ['gateway', 'worker']) {
    // Replicas come from the KEDA ScaledObject (autoscaling.yaml; k8s-schemas.test.ts checks it).
    const scaled = ofKind('ScaledObject').find((s) => nameOf(s) === name);
    t.ok(Number(obj(scaled?.spec, 'spec').minReplicaCount) >= 2, `${name}: at least 2 replicas`);
    const budget = ofKind('PodDisruptionBudget').find((p) => nameOf(p) === name);
    t.ok(budget, `${name} has a PodDisruptionBudget`);
  }
});

t.test('k8s: configuration is ENV_TABLE names only, loads, and keeps secrets in Secrets', async (t) => {
  for (const name of Object.keys(k8sEnv)) t.ok(ENV_NAMES.has(name), `chat-config: ${name} is in ENV_TABLE`);
  for (const name of SECRET_VARIABLES) t.notOk(name in k8sEnv, `${name} is not in the ConfigMap`);
  t.notOk('ALLOW_UWS_SHIM' in k8sEnv, 'ALLOW_UWS_SHIM unset');
  t.equal(k8sConfig.offlineLlm.host, '0.0.0.0', 'the offline model listens beyond loopback');
  t.equal(k8sConfig.ops.enabled, false, 'no operator view in the cluster');
  t.equal(k8sConfig.auth.required, true, 'session tokens required');
  t.not(gatewayAuthProblems(k8sConfig).length, 0, 'gateways need AUTH_SECRETS from the Secret');
  t.same(gatewayAuthProblems(loadConfig({ ...k8sEnv, AUTH_SECRETS: DUMMY_AUTH_SECRETS })), [], '…and start with it');

  const templates = parseAllDocuments(readFileSync(join(K8S, 'secret.example.yaml'), 'utf8')).map((doc) => obj(doc.toJS(), 'secret'));
  const secretKeys = new Map<string, string[]>();
  for (const secret of templates) {
    t.equal(secret.kind, 'Secret');
    t.notOk('data' in secret, `${nameOf(secret)}: no base64 data`);
    const values = obj(secret.stringData, `${nameOf(secret)}.stringData`);
    for (const [key, value] of Object.entries(values)) {
      t.ok(SECRET_VARIABLES.includes(key), `${nameOf(secret)}: ${key} is a secret variable of ENV_TABLE`);
      t.equal(value, '', `${nameOf(secret)}: ${key} is an empty placeholder`);
    }
    secretKeys.set(nameOf(secret), Object.keys(values));
  }
  t.same(Object.fromEntries(secretKeys), { 'chat-auth': ['AUTH_SECRETS'], 'chat-llm': ['OPENAI_API_KEY'] });

  // Who reads which Secret, and whether the pod starts without it.
  const expected: Record<string, Record<string, boolean>> = {
    gateway: { 'chat-auth': false },
    worker: { 'chat-llm': true },
    'offline-llm': {},
    redis: {},
  };
  for (const w of workloads) {
    const secrets: Record<string, boolean> = {};
    for (const c of containers(w)) {
      for (const e of arr(c.env ?? [], 'env')) t.ok(ENV_NAMES.has(String(obj(e, 'env').name)), `${nameOf(w)}: env ${String(obj(e, 'env').name)} is in ENV_TABLE`);
      for (const source of arr(c.envFrom ?? [], 'envFrom').map((s) => obj(s, 'envFrom'))) {
        if (isObj(source.configMapRef)) t.equal(source.configMapRef.name, 'chat-config', `${nameOf(w)} reads chat-config`);
        if (isObj(source.secretRef)) secrets[String(source.secretRef.name)] = source.secretRef.optional === true;
      }
    }
    t.same(secrets, expected[nameOf(w)], `${nameOf(w)}: Secrets read (name → optional)`);
    for (const name of Object.keys(secrets)) t.ok(secretKeys.has(name), `${name} has a template`);
  }
});

t.test('per-address limits: the defaults serve 1000 users from one address; compose and k8s are stricter', async (t) => {
  const defaults = loadConfig({}).limits;
  t.ok(defaults.sessionsPerMinutePerAddress >= 1000, `default sessions per address ${defaults.sessionsPerMinutePerAddress} ≥ 1000`);
  t.ok(defaults.connectsPerMinutePerAddress >= 1000, `default connects per address ${defaults.connectsPerMinutePerAddress} ≥ 1000`);
  for (const [where, limits] of [
    ['k8s', k8sConfig.limits],
    ['compose gateway-1', composeConfig('gateway-1').limits],
  ] as const) {
    t.ok(limits.sessionsPerMinutePerAddress < defaults.sessionsPerMinutePerAddress, `${where}: sessions per address stricter (${limits.sessionsPerMinutePerAddress})`);
    t.ok(limits.connectsPerMinutePerAddress < defaults.connectsPerMinutePerAddress, `${where}: connects per address stricter (${limits.connectsPerMinutePerAddress})`);
  }
});

t.test('k8s: Redis runs noeviction with maxmemory under its memory limit', async (t) => {
  const redis = workload('redis');
  t.equal(redis.kind, 'StatefulSet');
  const [container] = containers(redis);
  t.match(String(container!.image), /^redis:7(\.\d+)*-alpine$/);
  const args = arr(container!.args, 'args').map(String);
  const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  t.equal(option('--maxmemory-policy'), 'noeviction');
  t.equal(option('--save'), '');
  t.equal(option('--appendonly'), 'no');
  const maxmemory = /^(\d+)mb$/.exec(String(option('--maxmemory')));
  t.ok(maxmemory, 'maxmemory in mb');
  const limit = quantity(obj(obj(container!.resources, 'resources').limits, 'limits').memory);
  t.ok(Number(maxmemory?.[1]) * 1024 * 1024 < limit * 0.9, 'maxmemory leaves headroom under the container limit');
});

// ---------------------------------------------------------------------------------------------
// The scripts the images run

function runNode(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('healthcheck.mjs: exit 0 only for 200 on /health of the named port', async (t) => {
  const script = join(DEPLOY, 'docker/healthcheck.mjs');
  let status = 200;
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(String(req.url));
    res.writeHead(status).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;

  t.equal((await runNode([script, 'PORT', '1'], { PORT: String(port) })).code, 0, '200 → healthy');
  status = 503;
  t.equal((await runNode([script, 'PORT', '1'], { PORT: String(port) })).code, 1, '503 → unhealthy');
  status = 200;
  t.equal((await runNode([script, 'WORKER_METRICS_PORT', String(port)])).code, 0, 'variable unset → the default port');
  t.same(paths, ['/health', '/health', '/health']);
  const closed = await new Promise<number>((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const free = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(free));
    });
  });
  const refused = await runNode([script, 'PORT', '1'], { PORT: String(closed) });
  t.equal(refused.code, 1, 'connection refused → unhealthy');
  t.match(refused.stderr, /healthcheck:/);
  t.equal((await runNode([script])).code, 2, 'usage error');
  t.equal((await runNode([script, 'PORT', '1'], { PORT: 'eighty' })).code, 2, 'unusable port');
});

t.test('prune-native.mjs: keeps only the uWS binary for this platform, arch and Node ABI', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prune-native-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const wanted = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  const files = [
    `a/${wanted}`,
    'a/uws_linux_x64_115.node',
    'a/uws_darwin_arm64_137.node',
    'a/uws_win32_x64_141.node',
    `b/deep/${wanted}`,
    'b/deep/uws_linux_arm64_127.node',
    'a/uws.js',
    'a/index.d.ts',
  ].filter((file, index, all) => all.indexOf(file) === index);
  for (const file of files) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), 'x'.repeat(1024));
  }
  const { code, stdout } = await runNode([join(DEPLOY, 'docker/prune-native.mjs'), dir]);
  t.equal(code, 0);
  const left = files.filter((file) => existsSync(join(dir, file))).sort();
  t.same(left, ['a/index.d.ts', `a/${wanted}`, 'a/uws.js', `b/deep/${wanted}`].sort());
  t.match(stdout, new RegExp(`kept 2 \\(${wanted.replace(/\./g, '\\.')}\\), removed ${files.length - 4}`));
  t.equal((await runNode([join(DEPLOY, 'docker/prune-native.mjs')])).code, 2, 'usage error without a directory');
});
