import { existsSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sourceAddresses, type BenchOptions, type ScenarioName } from './bench-options.js';
import { measureCpuLoop, startReferences } from './calibration.js';
import { machineInfo, versions } from './machine.js';
import { renderProfileSummary, summariseProfile } from './profile-summary.js';
import { renderReferences, renderScenario, writeReport, type BenchReport, type ScenarioReport } from './report.js';
import { RunContext } from './run-context.js';
import { runCapacity } from './scenarios/capacity.js';
import { runIdle } from './scenarios/idle.js';
import { runOverhead } from './scenarios/overhead.js';
import { runRelay } from './scenarios/relay.js';
import { runScaleOut } from './scenarios/scale-out.js';
import { runTurnRate } from './scenarios/turn-rate.js';
import { latencyChartSvg } from './svg-chart.js';

export interface BenchOutcome {
  report: BenchReport;
  reportPath: string;
  chartPath: string | null;
  /** The tables and verdicts as printed. */
  text: string;
}

/** File name of the overhead chart in the output directory. */
export const CHART_FILE = 'overhead-latency.svg';

/**
 * Runs the chosen scenarios one after another, each on its own fresh stack(s), then writes the
 * JSON report (and, after the overhead scenario, the latency chart) into `options.outDir`.
 */
export async function runBench(options: BenchOptions, command: string, log: (line: string) => void = () => {}): Promise<BenchOutcome> {
  const ctx = new RunContext(options, log);
  const startedAt = new Date();
  const profilesBefore = new Set(options.cpuProfDir && existsSync(options.cpuProfDir) ? readdirSync(options.cpuProfDir) : []);
  const scenarios: ScenarioReport[] = [];
  let chartPath: string | null = null;
  const machine = machineInfo();
  log('references: CPU loop and redis-benchmark PUBLISH…');
  const references = await startReferences({ tiny: (options.durationS ?? 10) < 5 });
  const trip = references.roundTrip ? `; Redis round trip p50 ${references.roundTrip.awake.p50Ms} ms awake, ${references.roundTrip.afterIdle.p50Ms} ms after idle` : '';
  log(`  CPU loop ${references.cpuLoop.start.opsPerSecond} ops/s; PUBLISH ${references.redisPublish?.opsPerSecond ?? '-'} ops/s${trip}`);
  for (const name of options.scenarios) {
    log(`scenario ${name}`);
    const stacksBefore = ctx.stacks.length;
    const report = await runScenario(ctx, name, (panels) => {
      mkdirSync(options.outDir, { recursive: true });
      chartPath = join(options.outDir, CHART_FILE);
      writeFileSync(
        chartPath,
        latencyChartSvg(
          'Time the pipeline adds, against concurrent sessions',
          `${machine.cores} cores, everything on loopback incl. the load client · offline model 400 ms TTFT, 60 tokens/s · ${startedAt.toISOString().slice(0, 10)}`,
          panels,
        ),
      );
    });
    report.stacks = ctx.stacks.slice(stacksBefore);
    scenarios.push(report);
    log(renderScenario(report));
  }
  references.cpuLoop.end = measureCpuLoop((options.durationS ?? 10) < 5 ? 200 : 1500);
  const report: BenchReport = {
    tool: '@chat/bench',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command,
    machine,
    references,
    versions: versions(),
    loadClients: { processes: ctx.maxClients, sourceAddresses: sourceAddresses(options.addresses ?? 1) },
    scenarios,
  };
  if (options.cpuProfDir && existsSync(options.cpuProfDir)) {
    report.profiles = readdirSync(options.cpuProfDir)
      .filter((file) => file.endsWith('.cpuprofile') && !profilesBefore.has(file))
      .map((file) => {
        const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1]);
        return { file: join(options.cpuProfDir!, file), role: ctx.roles.get(pid) ?? 'unknown', summary: renderProfileSummary(summariseProfile(join(options.cpuProfDir!, file))) };
      });
  }
  const reportPath = writeReport(options.outDir, report);
  const text = [
    renderReferences(references),
    ...scenarios.map(renderScenario),
    ...(report.profiles ?? []).flatMap((p) => [`profile ${p.role} (${p.file}):`, ...p.summary, '']),
  ].join('\n');
  return { report, reportPath, chartPath, text };
}

async function runScenario(ctx: RunContext, name: ScenarioName, onChart: (panels: Parameters<typeof latencyChartSvg>[2]) => void): Promise<ScenarioReport> {
  switch (name) {
    case 'overhead': {
      const { report, panels } = await runOverhead(ctx);
      onChart(panels);
      return report;
    }
    case 'relay':
      return runRelay(ctx);
    case 'capacity':
      return runCapacity(ctx);
    case 'turn-rate':
      return runTurnRate(ctx);
    case 'scale-out':
      return runScaleOut(ctx);
    case 'idle':
      return runIdle(ctx);
  }
}
