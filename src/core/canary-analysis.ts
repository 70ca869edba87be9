import jexl from 'jexl';
import { type AnalysisSpec, type ComparisonMetric, isComparison, type ThresholdMetric } from './canary-config';
import { judgeCanary, type CanaryJudgment } from './canary-judge';

/**
 * Judging canary measurements: pure functions over what the metrics backends answered. The
 * rules follow Argo Rollouts' AnalysisRun: conditions over `result`, per-check counts of
 * successful, failed and inconclusive measurements, errors that are not measurements.
 */

/**
 * A number as it travels through SQLite's JSON: NaN and the infinities have no JSON form, so
 * they go as the strings Prometheus uses.
 */
export type WireNumber = number | 'NaN' | '+Inf' | '-Inf';

export const toWire = (n: number): WireNumber => (Number.isNaN(n) ? 'NaN' : n === Infinity ? '+Inf' : n === -Infinity ? '-Inf' : n);
export const fromWire = (w: WireNumber): number => (w === 'NaN' ? NaN : w === '+Inf' ? Infinity : w === '-Inf' ? -Infinity : w);

/** What the backend answered for one metric at one measurement. */
export type MetricReading =
  | { metric: string; kind: 'value'; value: WireNumber }
  | { metric: string; kind: 'no-data' }
  /** A comparison metric: the samples of each side over the window (null where a sample was NaN). */
  | { metric: string; kind: 'samples'; canary: (number | null)[]; baseline: (number | null)[] }
  | { metric: string; kind: 'error'; error: string };

export type Outcome = 'successful' | 'failed' | 'inconclusive' | 'error';

/** A check is a threshold metric, or all comparison metrics of the analysis judged together. */
export const COMPARISON_CHECK = 'comparison';

export interface CheckResult {
  check: string;
  outcome: Outcome;
  /** One line a person reads in the thread: the value and the rule that decided. */
  detail: string;
  /** The value measured (threshold checks), for charts. */
  value?: WireNumber;
}

export interface CheckCounts {
  taken: number;
  successful: number;
  failed: number;
  inconclusive: number;
  consecutiveErrors: number;
}

/** Where one analysis step stands. */
export interface AnalysisProgress {
  name: string;
  /** Measurements started, errors included: names each one uniquely. */
  ticks: number;
  counts: Record<string, CheckCounts>;
}

export type AnalysisPhase = { phase: 'running' } | { phase: 'successful' } | { phase: 'failed' | 'inconclusive'; reason: string };

/** The checks an analysis makes at each measurement. */
export function checksOf(spec: AnalysisSpec): string[] {
  const thresholds = spec.metrics.filter((m) => !isComparison(m)).map((m) => m.name);
  return spec.metrics.some(isComparison) ? [...thresholds, COMPARISON_CHECK] : thresholds;
}

export function startAnalysis(name: string, spec: AnalysisSpec): AnalysisProgress {
  const zero: CheckCounts = { taken: 0, successful: 0, failed: 0, inconclusive: 0, consecutiveErrors: 0 };
  return { name, ticks: 0, counts: Object.fromEntries(checksOf(spec).map((c) => [c, { ...zero }])) };
}

const formatValue = (n: number): string => (Number.isFinite(n) ? String(Number(n.toPrecision(4))) : String(toWire(n)));

/** Evaluates a condition over `result`. jexl parses its own grammar: no eval, no access to globals. */
export function evaluateCondition(condition: string, result: number): boolean {
  return jexl.evalSync(condition, { result }) === true;
}

/**
 * Argo Rollouts' rule: failureCondition true is failed; successCondition true is successful;
 * with only one condition set, its opposite decides; with both set and neither true, inconclusive.
 * No data is inconclusive, never successful.
 */
export function judgeThreshold(metric: ThresholdMetric, reading: MetricReading | undefined): CheckResult {
  const check = metric.name;
  if (!reading || reading.kind === 'error') return { check, outcome: 'error', detail: reading?.error ?? 'not measured' };
  if (reading.kind !== 'value') return { check, outcome: 'inconclusive', detail: 'no data' };
  const shown = formatValue(fromWire(reading.value));
  const { successCondition: success, failureCondition: failure } = metric;
  try {
    return judgeValue(check, reading.value, shown, success, failure);
  } catch (error) {
    // Config checks evaluate each condition once; one that still fails here is not a measurement.
    return { check, outcome: 'error', detail: `the condition could not be evaluated: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function judgeValue(check: string, value: WireNumber, shown: string, success: string | undefined, failure: string | undefined): CheckResult {
  const result = fromWire(value);
  const judged = (outcome: Outcome, rule: string): CheckResult => ({ check, outcome, detail: `${shown} (${rule})`, value });
  if (failure && evaluateCondition(failure, result)) return judged('failed', failure);
  if (success && evaluateCondition(success, result)) return judged('successful', success);
  if (success && failure) return judged('inconclusive', `neither ${success} nor ${failure}`);
  return success ? judged('failed', `not ${success}`) : judged('successful', `not ${failure}`);
}

/**
 * The comparison metrics together, through the Kayenta-style judge. Failing metrics fail it;
 * a verdict held back only by missing data or a marginal score is inconclusive: a person decides.
 */
export function judgeComparison(spec: AnalysisSpec, readings: readonly MetricReading[]): CheckResult & { judgment?: CanaryJudgment } {
  const metrics = spec.metrics.filter(isComparison);
  const byName = new Map(readings.map((r) => [r.metric, r]));
  const errors = metrics.map((m) => byName.get(m.name)).filter((r): r is Extract<MetricReading, { kind: 'error' }> => r?.kind === 'error');
  if (errors.length > 0) return { check: COMPARISON_CHECK, outcome: 'error', detail: errors.map((e) => e.error).join('; ') };
  const samples = (m: ComparisonMetric, side: 'canary' | 'baseline') => {
    const r = byName.get(m.name);
    return r?.kind === 'samples' ? r[side] : [];
  };
  const judgment = judgeCanary({
    confidence: spec.judge.confidence,
    thresholds: spec.judge.thresholds,
    groupWeights: spec.judge.groupWeights,
    metrics: metrics.map((m) => ({ name: m.name, group: m.group, direction: m.direction, critical: m.critical, canary: samples(m, 'canary'), baseline: samples(m, 'baseline') })),
  });
  const perMetric = judgment.metrics
    .map((m) => `${m.name} ${m.classification}${m.pValue === null ? '' : ` p=${m.pValue.toPrecision(2)}`}`)
    .join(', ');
  const detail = `score ${Math.round(judgment.score)}, ${judgment.verdict}: ${perMetric}${judgment.reasons.length ? ` (${judgment.reasons[0]})` : ''}`;
  const anyFailed = judgment.metrics.some((m) => m.failed);
  const outcome: Outcome = judgment.verdict === 'pass' ? 'successful' : anyFailed && judgment.verdict === 'fail' ? 'failed' : 'inconclusive';
  return { check: COMPARISON_CHECK, outcome, detail, judgment };
}

/** Judges one measurement: a result per check. */
export function judgeMeasurement(spec: AnalysisSpec, readings: readonly MetricReading[]): CheckResult[] {
  const byName = new Map(readings.map((r) => [r.metric, r]));
  const results = spec.metrics.filter((m): m is ThresholdMetric => !isComparison(m)).map((m) => judgeThreshold(m, byName.get(m.name)));
  if (spec.metrics.some(isComparison)) results.push(judgeComparison(spec, readings));
  return results;
}

/** Counts a measurement's results; checks that already have `count` measurements are left as they are. */
export function countMeasurement(spec: AnalysisSpec, progress: AnalysisProgress, results: readonly CheckResult[]): AnalysisProgress {
  const counts = { ...progress.counts };
  for (const r of results) {
    const c = counts[r.check];
    if (!c || c.taken >= spec.count) continue;
    if (r.outcome === 'error') {
      counts[r.check] = { ...c, consecutiveErrors: c.consecutiveErrors + 1 };
    } else {
      counts[r.check] = { ...c, taken: c.taken + 1, [r.outcome]: c[r.outcome] + 1, consecutiveErrors: 0 };
    }
  }
  return { ...progress, ticks: progress.ticks + 1, counts };
}

/** Where the analysis stands after its counts: failed first, then inconclusive, then done. */
export function analysisPhase(spec: AnalysisSpec, progress: AnalysisProgress): AnalysisPhase {
  const entries = Object.entries(progress.counts);
  for (const [check, c] of entries) {
    if (c.failed > spec.failureLimit) return { phase: 'failed', reason: `${check} failed ${c.failed} of ${c.taken} measurements (failureLimit ${spec.failureLimit})` };
    if (c.consecutiveErrors > spec.consecutiveErrorLimit) {
      return { phase: 'failed', reason: `${check} could not be measured ${c.consecutiveErrors} times in a row (consecutiveErrorLimit ${spec.consecutiveErrorLimit})` };
    }
  }
  for (const [check, c] of entries) {
    if (c.inconclusive > spec.inconclusiveLimit) {
      return { phase: 'inconclusive', reason: `${check} was inconclusive ${c.inconclusive} of ${c.taken} measurements (inconclusiveLimit ${spec.inconclusiveLimit})` };
    }
  }
  return entries.every(([, c]) => c.taken >= spec.count) ? { phase: 'successful' } : { phase: 'running' };
}

const MARK: Record<Outcome, string> = { successful: '✓', failed: '✗', inconclusive: '?', error: '!' };

/** The thread text for one measurement, after it was counted into `progress`. */
export function describeMeasurement(spec: AnalysisSpec, progress: AnalysisProgress, results: readonly CheckResult[]): string {
  const lines = results.map((r) => {
    const c = progress.counts[r.check];
    const said = r.outcome === 'error' ? `error (not counted): ${r.detail}` : `${r.outcome}, ${r.detail}`;
    return `${MARK[r.outcome]} ${r.check}: ${said}${c ? ` [${c.taken}/${spec.count}]` : ''}`;
  });
  return `Analysis ${progress.name}, measurement ${progress.ticks}:\n${lines.join('\n')}`;
}
