import {
  analysisPhase,
  type CheckResult,
  countMeasurement,
  describeMeasurement,
  fromWire,
  judgeMeasurement,
  type MetricReading,
  startAnalysis,
  toWire,
} from '../src/core/canary-analysis';
import type { AnalysisSpec, CanaryStep } from '../src/core/canary-config';
import { formatDuration } from '../src/core/format-duration';
import type { EffectSpec } from '../src/core/ports';
import { promDuration, type QueryVariables } from '../src/core/query-template';
import type { FlagChange } from '../src/core/flags';
import type { CanaryRun, Deployment, Source } from '../src/core/types';
import { audit, deployFlowId, finishDeploy, reply, update } from './deploy-effects';
import { type Transition, unchanged } from './flow';
import type { ChartSeries, ThreadChart } from './messages';

/**
 * A canary deploy, as part of its deploy flow: traffic moves to the new version step by step,
 * analyses measure it, and a failed analysis (or a person) rolls it back. Decisions only; the
 * effects move traffic (`canary.weight`) and query metrics (`canary.measure`).
 */

/** What a canary runs: its steps and the analyses they name, fixed when it starts. */
export interface CanaryPlan {
  steps: CanaryStep[];
  analyses: Record<string, AnalysisSpec>;
  baselineVersion: string | null;
}

export type CanaryEvent =
  | { type: 'canary.weight-set'; step: number; weight: number; ok: boolean; detail: string }
  | { type: 'canary.pause-over'; step: number }
  | { type: 'canary.flag-set'; step: number; ok: boolean; detail: string; changeId?: number }
  | { type: 'canary.measure-due'; step: number; tick: number }
  /** Nobody decided about a paused canary in time. */
  | { type: 'canary.decision-due'; step: number }
  | { type: 'canary.measured'; step: number; tick: number; at: string; readings: MetricReading[] }
  /** A person lets a paused canary go on as if its analysis had passed. */
  | { type: 'canary.promote'; by: string; source: Source }
  | { type: 'canary.rollback'; by: string; source: Source; reason: string }
  | { type: 'canary.aborted'; ok: boolean; detail: string };

/** Asks the deployer to send `weight` percent of traffic to the version; 0 sends it all back to the baseline. */
export interface WeightPayload {
  deploymentId: number;
  service: string;
  environment: string;
  version: string;
  requestedBy: string;
  baselineVersion: string | null;
  weight: number;
  /** The step it belongs to; the abort has none. */
  step: number | null;
}

/** Asks for a flag change as a canary step. */
export interface FlagStepPayload {
  deploymentId: number;
  step: number;
  flag: string;
  environment: string;
  change: FlagChange;
  requestedBy: string;
}

export interface MeasurePayload {
  step: number;
  tick: number;
  analysis: AnalysisSpec;
  variables: QueryVariables;
}

/** The chart keeps the latest points; a long analysis would otherwise grow the state without bound. */
const MAX_POINTS = 2_000;

const OPEN = new Set(['running', 'paused']);

function weightEffect(d: Deployment, run: CanaryRun, weight: number, step: number | null): EffectSpec {
  const payload: WeightPayload = {
    deploymentId: d.id,
    service: d.service,
    environment: d.environment,
    version: d.version,
    requestedBy: d.requestedBy,
    baselineVersion: run.baselineVersion,
    weight,
    step,
  };
  return { step: step === null ? 'canary.abort' : `canary.${step}.weight`, lane: 'work', type: 'canary.weight', payload };
}

function timer(step: string, event: CanaryEvent, at: Date): EffectSpec {
  return { step, lane: 'timer', type: 'timer', payload: event, notBefore: at };
}

const withRun = (d: Deployment, run: CanaryRun): Deployment => ({ ...d, canary: run });

/** Starts step `index`, or, past the last step, moves the rest of the traffic and promotes. */
function enterStep(d: Deployment, run: CanaryRun, index: number, now: Date): Transition<Deployment> {
  const at: CanaryRun = { ...run, stepIndex: index, analysis: null };
  const step = run.steps[index];
  if (!step) {
    if (run.weight >= 100) return promote(withRun(d, at), now);
    const next = withRun(d, at);
    return { state: next, effects: [weightEffect(next, at, 100, index)] };
  }
  const next = withRun(d, at);
  if ('weight' in step) return { state: next, effects: [weightEffect(next, at, step.weight, index)] };
  if ('flag' in step) {
    const change: FlagChange = step.rollout !== undefined ? { kind: 'rollout', percentage: step.rollout } : { kind: step.on ? 'enable' : 'disable' };
    const payload: FlagStepPayload = { deploymentId: d.id, step: index, flag: step.flag, environment: d.environment, change, requestedBy: d.requestedBy };
    return { state: next, effects: [{ step: `canary.${index}.flag`, lane: 'work', type: 'canary.flag', payload }] };
  }
  if ('pause' in step) {
    return {
      state: next,
      effects: [
        reply(next, `canary.${index}.pause`, `Step ${index + 1}/${run.steps.length}: holding ${run.weight}% for ${formatDuration(step.pause)}.`),
        timer(`canary.${index}.pause`, { type: 'canary.pause-over', step: index }, new Date(now.getTime() + step.pause)),
      ],
    };
  }
  const spec = run.analyses[step.analysis]!;
  const measuring: CanaryRun = { ...at, analysis: startAnalysis(step.analysis, spec) };
  const state = withRun(d, measuring);
  const first = new Date(now.getTime() + spec.initialDelay);
  return {
    state,
    effects: [
      reply(state, `canary.${index}.analysis`, `Step ${index + 1}/${run.steps.length}: analysis ${step.analysis} at ${run.weight}%, ${spec.count} measurements every ${formatDuration(spec.interval)}.`),
      timer(`canary.${index}.m0.due`, { type: 'canary.measure-due', step: index, tick: 0 }, first),
    ],
  };
}

/** Every analysis passed (or was promoted anyway) and all traffic is on the new version. */
function promote(d: Deployment, now: Date): Transition<Deployment> {
  const run: CanaryRun = { ...d.canary!, status: 'promoted' };
  const baseline = run.baselineVersion ? `, replacing ${run.baselineVersion}` : '';
  const done = finishDeploy(withRun(d, run), { ok: true, summary: `The canary was promoted step by step to 100%${baseline}.` }, now, run.baselineVersion, [chart(d, run, 'promoted')]);
  return { ...done, audit: [...(done.audit ?? []), ...audit(done.state, 'canary.promoted')] };
}

/** Sends all traffic back to the baseline; the deploy ends when the deployer confirms. */
function abort(d: Deployment, reason: string, actor: { by: string; source: Source } | undefined): Transition<Deployment> {
  // Who rolled it back: a person, or nobody (an analysis) — not whoever promoted it earlier.
  const run: CanaryRun = { ...d.canary!, status: 'aborting', reason, pausedFor: null, decidedBy: actor?.by ?? null };
  const next = withRun(d, run);
  const to = run.baselineVersion ? ` to ${run.baselineVersion}` : '';
  return {
    state: next,
    effects: [
      update(next, 'card.canary.aborting'),
      reply(next, 'canary.aborting', `Rolling back${to}: ${reason}`, { mention: [d.requestedBy], broadcast: true }),
      weightEffect(next, run, 0, null),
      // Flags the canary flipped go back too: they belonged to the version being rolled back.
      ...(run.flagChanges?.length ? [{ step: 'canary.flags.undo', lane: 'work' as const, type: 'canary.flag-undo', payload: { changeIds: [...run.flagChanges].reverse() } }] : []),
    ],
    audit: audit(next, 'canary.rollback', actor?.by ?? 'system', { reason, weight: d.canary!.weight }, actor?.source),
  };
}

function seriesOf(run: CanaryRun): ChartSeries[] {
  const byName = new Map<string, ChartSeries>();
  for (const p of run.points) {
    const s = byName.get(p.series) ?? { name: p.series, canary: [], baseline: [] };
    byName.set(p.series, s);
    s.canary.push({ at: p.at, value: fromWire(p.canary) });
    if (p.baseline !== undefined) s.baseline.push({ at: p.at, value: fromWire(p.baseline) });
  }
  return [...byName.values()];
}

function chart(d: Deployment, run: CanaryRun, how: string): EffectSpec {
  const payload: ThreadChart = {
    messageKey: deployFlowId(d.id),
    title: `${d.service} ${d.version} canary in ${d.environment}`,
    filename: `canary-${d.service}-${d.version}-${d.environment}.png`,
    comment: `Canary ${how}: every measurement, canary against baseline.`,
    series: seriesOf(run),
  };
  return { step: 'canary.chart', lane: 'slack', type: 'message.chart', payload };
}

function pointsOf(at: string, results: readonly (CheckResult & { judgment?: { metrics: { name: string; canaryMedian: number | null; baselineMedian: number | null }[] } })[]): CanaryRun['points'] {
  const points: CanaryRun['points'] = [];
  for (const r of results) {
    if (r.value !== undefined) points.push({ at, series: r.check, canary: r.value });
    for (const m of r.judgment?.metrics ?? []) {
      if (m.canaryMedian !== null && m.baselineMedian !== null) points.push({ at, series: m.name, canary: toWire(m.canaryMedian), baseline: toWire(m.baselineMedian) });
    }
  }
  return points;
}

function describeStep(s: CanaryStep): string {
  if ('weight' in s) return `${s.weight}%`;
  if ('pause' in s) return `pause ${formatDuration(s.pause)}`;
  if ('flag' in s) return `flag ${s.flag} ${s.rollout !== undefined ? `to ${s.rollout}%` : s.on ? 'on' : 'off'}`;
  return `analysis ${s.analysis}`;
}

/** The first step of a canary deploy: the deploy is `deploying` while its steps run. */
export function beginCanary(d: Deployment, plan: CanaryPlan, now: Date): Transition<Deployment> {
  const run: CanaryRun = { status: 'running', ...plan, stepIndex: 0, weight: 0, analysis: null, pausedFor: null, reason: null, decidedBy: null, points: [] };
  const steps = plan.steps.map(describeStep).join(' → ');
  const first = enterStep(withRun(d, run), run, 0, now);
  return { ...first, effects: [update(first.state), reply(first.state, 'canary.plan', `Canary of ${d.version}${plan.baselineVersion ? ` against ${plan.baselineVersion}` : ''}: ${steps}.`), ...first.effects] };
}

export function canaryTransition(d: Deployment, event: CanaryEvent, now: Date): Transition<Deployment> {
  const run = d.canary;
  if (!run || d.status !== 'deploying') return unchanged(d);
  switch (event.type) {
    case 'canary.weight-set': {
      if (run.status !== 'running' || event.step !== run.stepIndex) return unchanged(d);
      if (!event.ok) return abort(d, `could not move ${event.weight}% of traffic to ${d.version}: ${event.detail}`, undefined);
      const moved: CanaryRun = { ...run, weight: event.weight };
      const next = withRun(d, moved);
      const entered = enterStep(next, moved, event.step + 1, now);
      const said = reply(next, `canary.${event.step}.weight`, `${event.weight}% of traffic on ${d.version}. ${event.detail}`.trim());
      return { ...entered, effects: [update(entered.state, `card.canary.${event.step}`), said, ...entered.effects] };
    }
    case 'canary.flag-set': {
      const step = run.steps[event.step];
      if (run.status !== 'running' || event.step !== run.stepIndex || !step || !('flag' in step)) return unchanged(d);
      if (!event.ok) return abort(d, `could not change the flag ${step.flag}: ${event.detail}`, undefined);
      const flipped: CanaryRun = { ...run, flagChanges: [...(run.flagChanges ?? []), ...(event.changeId !== undefined ? [event.changeId] : [])] };
      const entered = enterStep(withRun(d, flipped), flipped, event.step + 1, now);
      return { ...entered, effects: [reply(d, `canary.${event.step}.flag`, `Step ${event.step + 1}/${run.steps.length}: ${event.detail}`), ...entered.effects] };
    }
    case 'canary.pause-over': {
      const step = run.steps[event.step];
      if (run.status !== 'running' || event.step !== run.stepIndex || !step || !('pause' in step)) return unchanged(d);
      return enterStep(d, run, event.step + 1, now);
    }
    case 'canary.measure-due': {
      if (run.status !== 'running' || event.step !== run.stepIndex || run.analysis?.ticks !== event.tick) return unchanged(d);
      const spec = run.analyses[run.analysis.name]!;
      const window = promDuration(spec.window ?? spec.interval);
      const variables: QueryVariables = { service: d.service, env: d.environment, version: d.version, window, ...(run.baselineVersion ? { baseline_version: run.baselineVersion } : {}) };
      const payload: MeasurePayload = { step: event.step, tick: event.tick, analysis: spec, variables };
      return { state: d, effects: [{ step: `canary.${event.step}.m${event.tick}`, lane: 'work', type: 'canary.measure', payload }] };
    }
    case 'canary.measured': {
      if (run.status !== 'running' || event.step !== run.stepIndex || run.analysis?.ticks !== event.tick) return unchanged(d);
      const spec = run.analyses[run.analysis.name]!;
      const results = judgeMeasurement(spec, event.readings);
      const progress = countMeasurement(spec, run.analysis, results);
      const measured: CanaryRun = { ...run, analysis: progress, points: [...run.points, ...pointsOf(event.at, results)].slice(-MAX_POINTS) };
      const next = withRun(d, measured);
      const said = reply(next, `canary.${event.step}.m${event.tick}`, describeMeasurement(spec, progress, results));
      const phase = analysisPhase(spec, progress);
      switch (phase.phase) {
        case 'running': {
          const due = timer(`canary.${event.step}.m${progress.ticks}.due`, { type: 'canary.measure-due', step: event.step, tick: progress.ticks }, new Date(now.getTime() + spec.interval));
          return { state: next, effects: [said, due] };
        }
        case 'successful': {
          const entered = enterStep(next, measured, event.step + 1, now);
          return { ...entered, effects: [said, reply(next, `canary.${event.step}.passed`, `Analysis ${progress.name} passed.`), ...entered.effects] };
        }
        case 'failed': {
          const aborted = abort(next, `analysis ${progress.name} failed: ${phase.reason}`, undefined);
          return { ...aborted, effects: [said, ...aborted.effects] };
        }
        case 'inconclusive': {
          const paused = withRun(d, { ...measured, status: 'paused', pausedFor: `analysis ${progress.name} is inconclusive: ${phase.reason}` });
          const wait = formatDuration(spec.decisionTimeout);
          const ask = reply(paused, `canary.${event.step}.inconclusive`, `The canary is paused at ${run.weight}%: analysis ${progress.name} is inconclusive (${phase.reason}). Promote anyway or Roll back from the message; without a decision within ${wait} it rolls back.`, { mention: [d.requestedBy] });
          const deadline = timer(`canary.${event.step}.decision`, { type: 'canary.decision-due', step: event.step }, new Date(now.getTime() + spec.decisionTimeout));
          return { state: paused, effects: [said, update(paused, `card.canary.${event.step}.paused`), ask, deadline], audit: audit(paused, 'canary.paused', 'system', { reason: phase.reason }) };
        }
      }
      break;
    }
    case 'canary.decision-due': {
      if (run.status !== 'paused' || event.step !== run.stepIndex) return unchanged(d);
      const spec = run.analysis ? run.analyses[run.analysis.name] : undefined;
      return abort(d, `nobody promoted it within ${formatDuration(spec?.decisionTimeout ?? 0)} of the inconclusive analysis`, undefined);
    }
    case 'canary.promote': {
      if (run.status !== 'paused') return unchanged(d);
      const resumed: CanaryRun = { ...run, status: 'running', pausedFor: null, decidedBy: event.by };
      const entered = enterStep(withRun(d, resumed), resumed, run.stepIndex + 1, now);
      const said = reply(entered.state, `canary.${run.stepIndex}.promoted`, `Promoted anyway by <@${event.by}>; going on.`);
      return { ...entered, effects: [update(entered.state, `card.canary.${run.stepIndex}.promoted`), said, ...entered.effects], audit: [...(entered.audit ?? []), ...audit(d, 'canary.promoted-anyway', event.by, { reason: run.pausedFor }, event.source)] };
    }
    case 'canary.rollback': {
      if (!OPEN.has(run.status)) return unchanged(d);
      return abort(d, `rolled back by <@${event.by}>: ${event.reason}`, { by: event.by, source: event.source });
    }
    case 'canary.aborted': {
      if (run.status !== 'aborting') return unchanged(d);
      const back = run.baselineVersion ? `all traffic is back on ${run.baselineVersion}` : 'the canary takes no traffic';
      if (event.ok) {
        const ended: CanaryRun = { ...run, status: 'rolled-back', weight: 0 };
        return finishDeploy(withRun(d, ended), { ok: false, error: `Canary rolled back (${run.reason}); ${back}.` }, now, null, [chart(d, ended, 'rolled back')]);
      }
      const stuck: CanaryRun = { ...run, status: 'abort-failed' };
      const error = `Canary rolled back (${run.reason}), but moving traffic off ${d.version} failed: ${event.detail}. ${run.weight}% of traffic may still reach it: check the target and move it by hand.`;
      return finishDeploy(withRun(d, stuck), { ok: false, error }, now, null, [chart(d, stuck, 'failed to roll back')]);
    }
  }
  return unchanged(d);
}
