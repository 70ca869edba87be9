import jexl from 'jexl';
import { z } from 'zod';
import { duration } from './duration';

/**
 * The canary parts of shipmate.yml: metrics backends (`metrics.providers`), named analyses
 * (`analyses`), and per environment `strategy: canary` with its `steps`, in the shape Argo
 * Rollouts users know (setWeight / pause / analysis).
 */

const NAME = /^[a-z0-9][a-z0-9._-]*$/;
const url = z.url({ protocol: /^https?$/, error: 'Invalid URL' });

const auth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('bearer'), token: z.string().min(1, 'set it, e.g. token: ${PROMETHEUS_TOKEN}') }),
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1), password: z.string().min(1) }),
], { error: 'auth.type must be one of: bearer, basic' });

const prometheusProvider = z.strictObject({
  type: z.literal('prometheus'),
  /** Where /api/v1/query lives, path prefix included (Thanos, Mimir, VictoriaMetrics). */
  url,
  auth: auth.optional(),
  headers: z.record(z.string(), z.string()).default({}),
  timeout: duration.default(10_000),
});

const datadogProvider = z.strictObject({
  type: z.literal('datadog'),
  site: z.string().default('datadoghq.com'),
  apiKey: z.string().min(1, 'set it, e.g. apiKey: ${DD_API_KEY}'),
  appKey: z.string().min(1, 'set it, e.g. appKey: ${DD_APP_KEY}'),
  /** Replaces the site's API URL: a proxy. */
  url: url.optional(),
  timeout: duration.default(10_000),
});

const webProvider = z.strictObject({
  type: z.literal('web'),
  /** Where the number is in the JSON answer, e.g. $.data.errorRate. The metric's query is the URL. */
  jsonPath: z.string().min(1),
  auth: auth.optional(),
  headers: z.record(z.string(), z.string()).default({}),
  timeout: duration.default(10_000),
});

export const metricsProviderSpec = z.discriminatedUnion('type', [prometheusProvider, datadogProvider, webProvider], {
  error: (issue) => (issue.code === 'invalid_union' ? 'type must be one of: prometheus, datadog, web' : undefined),
});
export type MetricsProviderSpec = z.infer<typeof metricsProviderSpec>;

/** Compiles once at config time, so a typo is reported by `config check`, not mid-canary. */
const condition = z.string().min(1).superRefine((text, ctx) => {
  try {
    // Evaluating once also finds what compiling does not: an unknown function or transform.
    jexl.evalSync(text, { result: 0 });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `is not a valid expression (${(error instanceof Error ? error.message : String(error)).replace(/^Error: /, '')}); write e.g. "result < 0.01"` });
  }
});

/** A value judged against conditions: each measurement is one instant query. */
const thresholdMetric = z.strictObject({
  name: z.string().regex(NAME, 'metric names: lowercase letters, digits, ".", "_" or "-"'),
  provider: z.string(),
  query: z.string().min(1),
  successCondition: condition.optional(),
  failureCondition: condition.optional(),
});

/** Canary samples against baseline samples over the same window, judged together by the Mann-Whitney judge. */
const comparisonMetric = z.strictObject({
  name: z.string().regex(NAME, 'metric names: lowercase letters, digits, ".", "_" or "-"'),
  provider: z.string(),
  canaryQuery: z.string().min(1),
  baselineQuery: z.string().min(1),
  direction: z.enum(['increase', 'decrease', 'either'], { error: 'direction must be one of: increase, decrease, either' }).default('either'),
  group: z.string().default('default'),
  critical: z.boolean().default(false),
});

export const analysisSpec = z
  .strictObject({
    /** Time between measurements. */
    interval: duration.default(60_000),
    /** How many measurements make the analysis (errors do not count). */
    count: z.number().int().min(1).max(1000).default(5),
    /** Wait before the first measurement, so the canary has had traffic. */
    initialDelay: duration.default(0),
    /** `{{window}}` in queries, and the span of comparison samples; defaults to the interval. */
    window: duration.optional(),
    /** Resolution of comparison samples. */
    step: duration.default(15_000),
    /** How many failed measurements are tolerated: one more fails the analysis (Argo Rollouts' rule). */
    failureLimit: z.number().int().min(0).default(0),
    /** How many inconclusive measurements are tolerated: one more pauses the canary for a person to decide. */
    inconclusiveLimit: z.number().int().min(0).default(0),
    /** How long a canary paused on an inconclusive analysis waits for Promote anyway before it rolls back. */
    decisionTimeout: duration.default(3_600_000),
    /** Errors in a row (timeouts, 5xx, bad answers) tolerated: one more fails the analysis. */
    consecutiveErrorLimit: z.number().int().min(0).default(4),
    metrics: z.array(z.union([comparisonMetric, thresholdMetric], { error: 'a metric has either query (with successCondition/failureCondition) or canaryQuery and baselineQuery' })).min(1, 'list at least one metric'),
    /** The comparison judge's settings, used when the analysis has comparison metrics. */
    judge: z
      .strictObject({
        confidence: z.number().gt(0).lt(1).default(0.98),
        thresholds: z.strictObject({ pass: z.number().min(0).max(100).default(95), marginal: z.number().min(0).max(100).default(75) }).default({ pass: 95, marginal: 75 }),
        groupWeights: z.record(z.string(), z.number().nonnegative()).default({}),
      })
      .default({ confidence: 0.98, thresholds: { pass: 95, marginal: 75 }, groupWeights: {} }),
  })
  .superRefine((a, ctx) => {
    a.metrics.forEach((m, i) => {
      if ('query' in m && !m.successCondition && !m.failureCondition) {
        ctx.addIssue({ code: 'custom', path: ['metrics', i], message: `metric "${m.name}" needs successCondition or failureCondition, e.g. successCondition: "result < 0.01"` });
      }
      if (a.metrics.findIndex((o) => o.name === m.name) !== i) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `another metric is already named "${m.name}"` });
    });
  });

export type AnalysisSpec = z.infer<typeof analysisSpec>;
export type AnalysisMetric = AnalysisSpec['metrics'][number];
export type ThresholdMetric = z.infer<typeof thresholdMetric>;
export type ComparisonMetric = z.infer<typeof comparisonMetric>;

export const isComparison = (m: AnalysisMetric): m is ComparisonMetric => 'canaryQuery' in m;

/** One step of a canary: move traffic, wait, or measure. */
export const canaryStep = z.union(
  [
    z.strictObject({ weight: z.number().int().min(1, 'a weight is a percentage from 1 to 100').max(100, 'a weight is a percentage from 1 to 100') }),
    z.strictObject({ pause: duration }),
    z.strictObject({ analysis: z.string().regex(NAME, 'name an analysis from analyses:') }),
    /** Flips a feature flag in the deploy's environment, e.g. after the canary passed: {flag: new-checkout, rollout: 10}. */
    z
      .strictObject({ flag: z.string().regex(NAME, 'name a flag key'), on: z.boolean().optional(), rollout: z.number().min(0).max(100).optional() })
      .refine((s) => (s.on === undefined) !== (s.rollout === undefined), 'a flag step has either on: true|false or rollout: <percent>'),
  ],
  { error: 'each step is one of {weight: 25}, {pause: 5m}, {analysis: <name>} or {flag: <key>, on: true | rollout: 10}' },
);
export type CanaryStep = z.infer<typeof canaryStep>;

export const canarySteps = z
  .array(canaryStep)
  .min(1, 'list the canary steps, e.g. [{weight: 10}, {analysis: health}, {weight: 100}]')
  .refine((steps) => steps.some((s) => 'weight' in s), 'a canary needs at least one {weight: N} step to send traffic to the new version');

/** Deployers that can move a share of traffic (argo-rollouts natively; command and webhook are told the weight). */
export const CANARY_DEPLOYERS = ['argo-rollouts', 'command', 'webhook'] as const;
