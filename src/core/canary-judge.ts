import { z } from 'zod';
import { formatIssues } from './config';

/**
 * The comparison judge of a canary analysis: for each metric, is the canary's sample different
 * from the baseline's (two-sided Mann-Whitney U test), is that difference the bad kind, and what do
 * all metrics together say. Pure: the samples come in as numbers, the verdict goes out as data, so
 * the CLI, a flow and the tests all judge the same way.
 *
 * Samples: null and NaN are missing observations and are dropped. ±Infinity are kept: a timed-out
 * request measured as an infinite latency is a real, extreme observation, so it ranks above (or
 * below) every finite value and ties with other equal infinities, as in scipy.stats.rankdata.
 */

export type Direction = 'increase' | 'decrease' | 'either';
export type Classification = 'High' | 'Low' | 'Pass' | 'NoData';
export type Verdict = 'pass' | 'marginal' | 'fail';

/** Fewer cleaned samples than this on either side and a metric is NoData. */
export const MIN_SAMPLES = 3;

/** A zod error map: "is required" when missing, `message` when of the wrong type, zod's own message otherwise. */
const isRequired = (message: string) => (issue: { code?: string; input?: unknown }) =>
  issue.code !== 'invalid_type' ? undefined : issue.input === undefined ? 'is required' : message;

const percent = z
  .number({ error: isRequired('must be a number from 0 to 100') })
  .min(0, 'must be a number from 0 to 100')
  .max(100, 'must be a number from 0 to 100');

/** z.number() refuses NaN and ±Infinity; both are meaningful samples here (see above). */
const sample = z.custom<number | null>((v) => v === null || typeof v === 'number', 'must be a number or null');
const samples = z.array(sample, { error: isRequired('must be an array of numbers (null for a missing sample)') });

const metric = z.strictObject(
  {
    name: z.string({ error: isRequired('must be a non-empty string') }).min(1, 'must be a non-empty string'),
    group: z.string({ error: 'must be a non-empty string' }).min(1, 'must be a non-empty string').default('default'),
    /** Which change is bad: `increase` fails on High, `decrease` on Low, `either` on both. */
    direction: z
      .enum(['increase', 'decrease', 'either'], { error: 'must be "increase", "decrease" or "either"' })
      .default('either'),
    /** A critical metric that fails or has no data fails the whole canary. */
    critical: z.boolean({ error: 'must be true or false' }).default(false),
    baseline: samples,
    canary: samples,
  },
  { error: isRequired('must be an object { name, baseline, canary, ... }') },
);

const confidenceRule = 'must be a number between 0 and 1 (exclusive), e.g. 0.98';

const inputShape = {
  /** 0.98 means a difference counts when p < 0.02. */
  confidence: z.number({ error: isRequired(confidenceRule) }).gt(0, confidenceRule).lt(1, confidenceRule),
  thresholds: z
    .strictObject({ pass: percent, marginal: percent }, { error: isRequired('must be an object { pass, marginal }') })
    .refine((t) => t.marginal <= t.pass, { path: ['marginal'], message: 'must not be above thresholds.pass' }),
  metrics: z.array(metric, { error: isRequired('must be an array of metrics') }).min(1, 'must list at least one metric'),
  /** Weight of each group in the score; groups not listed weigh 1. */
  groupWeights: z
    .record(z.string(), z.number({ error: 'must be a positive number' }).positive('must be a positive number').max(1e6, 'must be at most 1000000'), {
      error: 'must be an object mapping group names to weights',
    })
    .default({}),
};

/** What `shipmate canary judge --input` reads. */
export const canaryJudgeInputSchema = z
  .strictObject(inputShape, { error: isRequired('the input must be a JSON object with confidence, thresholds and metrics') })
  .superRefine((input, ctx) => {
    const seen = new Set<string>();
    input.metrics.forEach((m, i) => {
      if (seen.has(m.name)) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `"${m.name}" is listed twice` });
      seen.add(m.name);
    });
    // A weight for a group no metric is in is most likely a misspelt group name.
    const groups = new Set(input.metrics.map((m) => m.group));
    for (const group of Object.keys(input.groupWeights)) {
      if (!groups.has(group)) ctx.addIssue({ code: 'custom', path: ['groupWeights', group], message: 'no metric is in this group' });
    }
  });

export type CanaryJudgeInput = z.output<typeof canaryJudgeInputSchema>;

/** Problems read `path: message`, e.g. `metrics.2.direction: must be "increase", "decrease" or "either"`. */
export function parseCanaryJudgeInput(raw: unknown): { ok: true; input: CanaryJudgeInput } | { ok: false; problems: string[] } {
  const result = canaryJudgeInputSchema.safeParse(raw);
  return result.success ? { ok: true, input: result.data } : { ok: false, problems: formatIssues(result.error.issues) };
}

export interface MetricJudgment {
  name: string;
  group: string;
  classification: Classification;
  /** The change is significant and in the metric's bad direction. Never true for NoData. */
  failed: boolean;
  /** Two-sided p-value; null when NoData. */
  pValue: number | null;
  /** Medians of the cleaned samples; null when NoData. Can be ±Infinity, or NaN when the middle pair is -∞ and +∞. */
  baselineMedian: number | null;
  canaryMedian: number | null;
}

export interface CanaryJudgment {
  /** 0–100: weighted mean of the groups' shares of passing metrics. */
  score: number;
  verdict: Verdict;
  metrics: MetricJudgment[];
  /** Why the verdict is not `pass`; empty when it is. */
  reasons: string[];
}

export interface MannWhitneyResult {
  pValue: number;
  /** Sum of the canary's (average) ranks in the pooled sample, and its expectation n1(n1+n2+1)/2. */
  canaryRankSum: number;
  expectedRankSum: number;
}

// ∞ - ∞ is NaN, which Array.prototype.sort takes as "equal" (SortCompare), so infinities sort right.
const byValue = (a: number, b: number) => a - b;

/**
 * Two-sided Mann-Whitney U test, normal approximation with tie and continuity correction: the same
 * p-value as scipy.stats.mannwhitneyu(canary, baseline, alternative='two-sided', method='asymptotic').
 * Each side needs at least one sample and no NaN; when every value on both sides is equal, p is 1.
 */
export function mannWhitneyU(canary: readonly number[], baseline: readonly number[]): MannWhitneyResult {
  const n1 = canary.length;
  const n2 = baseline.length;
  const n = n1 + n2;
  const pooled = [...canary.map((value) => ({ value, canary: true })), ...baseline.map((value) => ({ value, canary: false }))];
  pooled.sort((a, b) => byValue(a.value, b.value));
  let canaryRankSum = 0;
  let tieTerm = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && pooled[end]!.value === pooled[start]!.value) end += 1;
    const averageRank = (start + 1 + end) / 2;
    for (let i = start; i < end; i += 1) if (pooled[i]!.canary) canaryRankSum += averageRank;
    const t = end - start;
    tieTerm += t * t * t - t;
    start = end;
  }
  const expectedRankSum = (n1 * (n + 1)) / 2;
  const u1 = canaryRankSum - (n1 * (n1 + 1)) / 2;
  const u = Math.max(u1, n1 * n2 - u1);
  const sd = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  // sd is 0 only when all n values are one tie; scipy reaches p = 1 through 2·sf(-inf), clipped.
  const pValue = sd === 0 ? 1 : Math.min(1, 2 * normalSf((u - (n1 * n2) / 2 - 0.5) / sd));
  return { pValue, canaryRankSum, expectedRankSum };
}

/** P(Z > z) for a standard normal Z, to about 1e-13 relative even far in the upper tail. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * Complementary error function. No statistics library is installed, and `1 - erf(x)` would lose
 * every significant digit of the small p-values we need, so:
 * - x < 1: the series erf(x) = 2/√π·e^(-x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)), whose terms are all
 *   positive (no cancellation); erfc = 1 - erf loses at most a digit here since erfc(1) ≈ 0.16.
 * - x ≥ 1: the continued fraction erfc(x) = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))),
 *   evaluated by the modified Lentz method (Numerical Recipes §5.2); < 200 terms at x = 1, fewer beyond.
 * Checked against mpmath at 40 digits on x ∈ [-8, 27] in steps of 0.01: worst relative error 5.7e-14,
 * as for scipy.special.erfc on the same points; both lose it to the rounding of x·x in e^(-x²).
 */
function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 1) {
    const twoXSquared = 2 * x * x;
    let term = x;
    let sum = x;
    for (let k = 1; term > sum * 1e-17; k += 1) {
      term *= twoXSquared / (2 * k + 1);
      sum += term;
    }
    return 1 - (2 / SQRT_PI) * Math.exp(-x * x) * sum;
  }
  if (x > 27.3) return 0; // e^(-x²) underflows; the fraction would also make NaN of x = ∞
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 1000; k += 1) {
    const a = k / 2;
    d = 1 / (x + a * d); // x ≥ 1 keeps c and d positive, so Lentz's guards against 0 are not needed
    c = x + a / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / SQRT_PI / f;
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid]!;
  const a = sorted[mid - 1]!;
  const b = sorted[mid]!;
  return a === b ? a : a / 2 + b / 2; // halves first: (a + b) overflows for values near ±1.8e308
}

const clean = (values: readonly (number | null)[]) =>
  values.filter((v): v is number => v !== null && !Number.isNaN(v)).sort(byValue);

const formatP = (p: number) => (p >= 0.001 ? p.toPrecision(2) : p.toExponential(1));
const formatScore = (score: number) => String(Math.round(score * 100) / 100);

/** Judges every metric, then the canary as a whole. `input` is parsed (defaults applied). */
export function judgeCanary(input: CanaryJudgeInput): CanaryJudgment {
  const alpha = 1 - input.confidence;
  const critical: string[] = [];
  const failures: string[] = [];
  const groups = new Map<string, { judged: number; passed: number }>();
  let noData = 0;

  const metrics = input.metrics.map((m): MetricJudgment => {
    const baseline = clean(m.baseline);
    const canary = clean(m.canary);
    const group = groups.get(m.group) ?? { judged: 0, passed: 0 };
    groups.set(m.group, group);
    if (baseline.length < MIN_SAMPLES || canary.length < MIN_SAMPLES) {
      noData += 1;
      if (m.critical) {
        critical.push(
          `critical metric "${m.name}" has no data: ${baseline.length} baseline and ${canary.length} canary samples after dropping null/NaN, need ${MIN_SAMPLES} on each side`,
        );
      }
      const nothing = { pValue: null, baselineMedian: null, canaryMedian: null };
      return { name: m.name, group: m.group, classification: 'NoData', failed: false, ...nothing };
    }
    const test = mannWhitneyU(canary, baseline);
    const classification: Classification =
      test.pValue >= alpha ? 'Pass' : test.canaryRankSum > test.expectedRankSum ? 'High' : 'Low';
    const failed =
      (classification === 'High' && m.direction !== 'decrease') || (classification === 'Low' && m.direction !== 'increase');
    group.judged += 1;
    if (failed) {
      const change = classification === 'High' ? 'higher' : 'lower';
      const what = `metric "${m.name}" failed: the canary is ${change} than the baseline (p = ${formatP(test.pValue)})`;
      if (m.critical) critical.push(`critical ${what}`);
      else failures.push(what);
    } else {
      group.passed += 1;
    }
    const medians = { baselineMedian: median(baseline), canaryMedian: median(canary) };
    return { name: m.name, group: m.group, classification, failed, pValue: test.pValue, ...medians };
  });

  let weighted = 0;
  let totalWeight = 0;
  for (const [name, { judged, passed }] of groups) {
    if (judged === 0) continue;
    // own keys only: a group called "constructor" must not weigh Object.prototype.constructor
    const weight = Object.hasOwn(input.groupWeights, name) ? input.groupWeights[name]! : 1;
    weighted += weight * ((100 * passed) / judged);
    totalWeight += weight;
  }
  // Rounded so that a mean that is exactly at a threshold is not pushed below it by float error.
  const score = totalWeight === 0 ? 0 : Math.round((weighted / totalWeight) * 1e9) / 1e9;

  const { pass, marginal } = input.thresholds;
  const reasons = [...critical];
  const mostlyNoData = noData * 2 >= metrics.length;
  if (mostlyNoData) reasons.push(`${noData} of ${metrics.length} metrics have no data (half or more)`);
  if (score < marginal) reasons.push(`score ${formatScore(score)} is below the marginal threshold ${marginal}`);
  else if (score < pass) reasons.push(`score ${formatScore(score)} is below the pass threshold ${pass}`);
  const vetoed = critical.length > 0 || mostlyNoData;
  const verdict: Verdict = vetoed || score < marginal ? 'fail' : score < pass ? 'marginal' : 'pass';
  if (verdict !== 'pass') reasons.push(...failures);
  return { score, verdict, metrics, reasons };
}
