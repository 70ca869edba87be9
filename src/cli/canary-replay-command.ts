import { DateTime } from 'luxon';
import { canaryMeasureHandler } from '../../flows/canary-effects';
import type { CanaryEvent, MeasurePayload } from '../../flows/canary-flow';
import {
  type AnalysisPhase,
  type AnalysisProgress,
  analysisPhase,
  type CheckResult,
  countMeasurement,
  describeMeasurement,
  judgeMeasurement,
  type MetricReading,
  startAnalysis,
} from '../core/canary-analysis';
import { type AnalysisSpec, isComparison } from '../core/canary-config';
import { findEnvironment, findService, type ShipmateConfig } from '../core/config';
import { ValidationError } from '../core/errors';
import { fillQueryTemplate, placeholdersIn, promDuration, type QueryVariables } from '../core/query-template';
import { createMetricsProviders } from '../metrics/metrics-registry';

/**
 * `shipmate canary replay`: runs a target's canary analyses over past metrics, measuring at the
 * times a live canary would have and counting the results by the same rules, so thresholds can
 * be tuned before a canary is trusted with them. Exit 0 when every analysis passed, 1 when one
 * did not (failed, inconclusive, or still running at `--to`), 2 for bad input, with `output`
 * then one line for stderr.
 */
export interface CanaryReplayOptions {
  service: string;
  env: string;
  from: string;
  to: string;
  version: string;
  baseline?: string;
  analysis?: string;
  json?: boolean;
}

export interface CanaryReplayRun {
  exitCode: 0 | 1 | 2;
  output: string;
}

export interface ReplayedMeasurement {
  at: string;
  results: { check: string; outcome: CheckResult['outcome']; detail: string }[];
}

export interface ReplayedAnalysis {
  name: string;
  phase: AnalysisPhase['phase'];
  reason?: string;
  measurements: ReplayedMeasurement[];
}

/** Thrown for input the replay cannot run with; the message says what would be right. */
class ReplayInputError extends ValidationError {}

export async function runCanaryReplay(config: ShipmateConfig, options: CanaryReplayOptions): Promise<CanaryReplayRun> {
  let plan: { from: Date; to: Date; analyses: [string, AnalysisSpec][]; variables: Omit<QueryVariables, 'window'> };
  try {
    plan = planReplay(config, options);
  } catch (error) {
    if (!(error instanceof ReplayInputError)) throw error;
    return { exitCode: 2, output: `shipmate: ${oneLine(error.userMessage)}` };
  }
  // Every provider and every measurement reads the simulated time, never the wall clock.
  let now = plan.from;
  const clock = () => now;
  const measure = canaryMeasureHandler({ providers: createMetricsProviders(config, { clock }), clock });

  const replayed: { result: ReplayedAnalysis; lines: string[] }[] = [];
  for (const [step, [name, spec]] of plan.analyses.entries()) {
    const variables: QueryVariables = { ...plan.variables, window: promDuration(spec.window ?? spec.interval) };
    let progress: AnalysisProgress = startAnalysis(name, spec);
    let phase: AnalysisPhase = { phase: 'running' };
    const measurements: ReplayedMeasurement[] = [];
    const lines: string[] = [];
    for (let at = plan.from.getTime() + spec.initialDelay; at <= plan.to.getTime() && phase.phase === 'running'; at += spec.interval) {
      now = new Date(at);
      const readings = await readingsAt(measure, { step, tick: progress.ticks, analysis: spec, variables });
      const results = judgeMeasurement(spec, readings);
      progress = countMeasurement(spec, progress, results);
      phase = analysisPhase(spec, progress);
      measurements.push({ at: now.toISOString(), results: results.map(({ check, outcome, detail }) => ({ check, outcome, detail })) });
      lines.push(`${now.toISOString()} ${describeMeasurement(spec, progress, results)}`);
    }
    const reason = phase.phase === 'running' ? stillRunning(spec, progress, plan.to) : 'reason' in phase ? phase.reason : undefined;
    const result: ReplayedAnalysis = { name, phase: phase.phase, ...(reason ? { reason } : {}), measurements };
    lines.push(`Analysis ${name}: ${phase.phase}${reason ? ` (${reason})` : ''}.`);
    replayed.push({ result, lines });
  }

  const exitCode = replayed.every((r) => r.result.phase === 'successful') ? 0 : 1;
  if (options.json) {
    const { service, env: environment, version } = options;
    const report = { service, environment, version, baselineVersion: options.baseline ?? null, from: plan.from.toISOString(), to: plan.to.toISOString(), analyses: replayed.map((r) => r.result) };
    return { exitCode, output: JSON.stringify(report) };
  }
  const against = options.baseline ? ` against ${options.baseline}` : '';
  const header = `Replaying ${options.service} ${options.version}${against} in ${options.env} from ${plan.from.toISOString()} to ${plan.to.toISOString()}:`;
  return { exitCode, output: [header, ...replayed.flatMap((r) => ['', ...r.lines])].join('\n') };
}

async function readingsAt(measure: ReturnType<typeof canaryMeasureHandler>, payload: MeasurePayload): Promise<MetricReading[]> {
  const key = `replay.${payload.step}.m${payload.tick}`;
  const event = (await measure({ id: 0, flowId: 'replay', idempotencyKey: key, attempts: 0, step: key, lane: 'work', type: 'canary.measure', payload })) as CanaryEvent;
  return event.type === 'canary.measured' ? event.readings : [];
}

function stillRunning(spec: AnalysisSpec, progress: AnalysisProgress, to: Date): string {
  const taken = Math.min(...Object.values(progress.counts).map((c) => c.taken));
  return `--to ${to.toISOString()} came after ${taken} of ${spec.count} counted measurements, before the analysis concluded`;
}

function planReplay(config: ShipmateConfig, options: CanaryReplayOptions) {
  const svc = findService(config, options.service);
  if (!svc) throw new ReplayInputError(`unknown service "${options.service}" for --service; use one of: ${Object.keys(config.services).join(', ')}`);
  const env = findEnvironment(config, options.service, options.env);
  if (!env) throw new ReplayInputError(`${options.service} has no environment "${options.env}" for --env; use one of: ${Object.keys(svc.environments).join(', ')}`);
  const from = parseTime('--from', options.from);
  const to = parseTime('--to', options.to);
  if (from.getTime() >= to.getTime()) throw new ReplayInputError(`--from ${options.from} is not before --to ${options.to}; give a --from earlier than --to`);

  const known = Object.keys(config.analyses);
  const choose = known.length ? `; use one of: ${known.join(', ')}` : '; declare analyses under analyses: in shipmate.yml';
  let names: string[];
  if (options.analysis !== undefined) {
    if (!Object.hasOwn(config.analyses, options.analysis)) throw new ReplayInputError(`unknown analysis "${options.analysis}" for --analysis${choose}`);
    names = [options.analysis];
  } else {
    const target = `${options.service} in ${options.env}`;
    if (env.strategy !== 'canary' || !env.steps) throw new ReplayInputError(`${target} is not a canary (strategy: ${env.strategy}), so it has no analysis steps; name one with --analysis <name>${choose}`);
    // An analysis named by two steps would replay the same data twice.
    names = [...new Set(env.steps.flatMap((s) => ('analysis' in s ? [s.analysis] : [])))];
    if (names.length === 0) throw new ReplayInputError(`the canary steps of ${target} name no analysis; name one with --analysis <name>${choose}`);
  }
  const analyses = names.map((n): [string, AnalysisSpec] => [n, config.analyses[n]!]);

  const variables = { service: options.service, env: options.env, version: options.version, ...(options.baseline !== undefined ? { baseline_version: options.baseline } : {}) };
  for (const [name, spec] of analyses) checkReplayable(config, name, spec, variables);
  return { from, to, analyses, variables };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseTime(option: string, text: string): Date {
  const parsed = RFC3339.test(text) ? DateTime.fromISO(text.replace(' ', 'T'), { setZone: true }) : undefined;
  if (!parsed?.isValid) throw new ReplayInputError(`${option} ${JSON.stringify(text)} is not an RFC 3339 time; write e.g. 2024-03-01T12:05:00Z`);
  return parsed.toJSDate();
}

/**
 * Problems every measurement would hit are input errors, not a failed analysis: a metric on a
 * backend without history (web reads only the present), or a query the versions cannot fill.
 */
function checkReplayable(config: ShipmateConfig, name: string, spec: AnalysisSpec, variables: QueryVariables): void {
  for (const metric of spec.metrics) {
    if (config.metrics.providers[metric.provider]?.type === 'web') {
      throw new ReplayInputError(`analysis ${name}: metric ${metric.name} reads provider "${metric.provider}" (web), which has no history to replay; replay analyses on prometheus or datadog metrics`);
    }
    for (const template of isComparison(metric) ? [metric.canaryQuery, metric.baselineQuery] : [metric.query]) {
      if (placeholdersIn(template).includes('baseline_version') && variables.baseline_version === undefined) {
        throw new ReplayInputError(`analysis ${name}: metric ${metric.name} uses {{baseline_version}}; pass the baseline with --baseline <version>`);
      }
      try {
        fillQueryTemplate(template, { ...variables, window: '1m' });
      } catch (error) {
        if (error instanceof ValidationError) throw new ReplayInputError(`analysis ${name}: ${error.userMessage}`);
        throw error;
      }
    }
  }
}

/** A value from the command line may hold a line break; the message stays one line. */
const oneLine = (message: string): string => message.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
