import * as path from 'node:path';
import { runCanaryJudge } from '../../../src/cli/canary-judge-command';
import {
  judgeCanary,
  mannWhitneyU,
  normalSf,
  parseCanaryJudgeInput,
  type CanaryJudgeInput,
  type CanaryJudgment,
} from '../../../src/core/canary-judge';

/*
 * Reference values come from SciPy 1.17.1 (not needed to run these tests), e.g.
 *   from scipy.stats import mannwhitneyu, norm
 *   mannwhitneyu(canary, baseline, alternative='two-sided', method='asymptotic').pvalue
 * The `statistic` SciPy reports is U1 = (canary rank sum) - n1(n1+1)/2, n1 = len(canary).
 */

function expectRelativelyClose(actual: number | null, expected: number, relative = 1e-10): void {
  expect(actual).not.toBeNull();
  const error = Math.abs((actual as number) - expected) / Math.abs(expected);
  if (!(error <= relative)) throw new Error(`expected ${expected}, got ${actual} (relative error ${error})`);
}

// Samples used throughout. p-values: mannwhitneyu(canary, baseline, alternative='two-sided', method='asymptotic').pvalue
const STEADY = { baseline: [120, 118, 125, 119, 122, 121, 117, 123], canary: [121, 119, 124, 118, 120, 123, 116, 122] }; // p = 0.9579361106814205
const UP = { baseline: [101, 99, 103, 98, 102, 100, 97, 104], canary: [110, 115, 108, 112, 109, 111, 114, 113] }; // p = 0.0009391056991171899
const DOWN = { baseline: UP.canary, canary: UP.baseline }; // p = 0.0009391056991171899
const TOO_FEW = { baseline: [1, 2, null, Number.NaN], canary: [1, 2, 3] };

const BASE = { confidence: 0.98, thresholds: { pass: 95, marginal: 75 } };

function inputOf(raw: Record<string, unknown>): CanaryJudgeInput {
  const parsed = parseCanaryJudgeInput({ ...BASE, ...raw });
  if (!parsed.ok) throw new Error(`expected valid input, got:\n${parsed.problems.join('\n')}`);
  return parsed.input;
}
const judge = (raw: Record<string, unknown>): CanaryJudgment => judgeCanary(inputOf(raw));
const problemsOf = (raw: unknown): string[] => {
  const parsed = parseCanaryJudgeInput(raw);
  if (parsed.ok) throw new Error(`expected problems, got a valid input: ${JSON.stringify(parsed.input)}`);
  return parsed.problems;
};

describe('normalSf', () => {
  // norm.sf(z) for each z, i.e. scipy.stats.norm.sf
  it.each([
    [-3, 0.9986501019683699],
    [-0.5, 0.6914624612740131],
    [0, 0.5],
    [0.3, 0.3820885778110474],
    [1, 0.15865525393145707],
    [Math.SQRT2, 0.07864960352514251], // erfc(1): where the series hands over to the continued fraction
    [2.5, 0.006209665325776132],
    [5, 2.866515718791933e-7],
    [10, 7.61985302416047e-24],
    [20, 2.7536241186061556e-89],
    [37, 5.7255712225239266e-300],
  ])('P(Z > %p) matches norm.sf to 1e-12', (z, expected) => {
    expectRelativelyClose(normalSf(z), expected, 1e-12);
  });

  it('is 0 at +∞ and 1 at -∞ (norm.sf(inf), norm.sf(-inf))', () => {
    expect(normalSf(Infinity)).toBe(0);
    expect(normalSf(-Infinity)).toBe(1);
  });
});

describe('mannWhitneyU', () => {
  const INF = Number.POSITIVE_INFINITY;
  it.each<[string, number[], number[], number, number]>([
    // [what, canary, baseline, scipy p-value, scipy statistic U1]
    ['ties and unequal sizes', [12, 15, 15, 18, 20, 20, 20, 25], [10, 12, 12, 14, 15, 16], 0.030865784938778885, 41],
    ['canary higher', UP.canary, UP.baseline, 0.0009391056991171899, 64],
    ['canary lower', DOWN.canary, DOWN.baseline, 0.0009391056991171899, 0],
    ['constant but different series', [2, 2, 2], [1, 1, 1, 1], 0.024744672046398936, 12],
    ['same spread, one value apart: U = mean, p clipped to 1', [1, 2, 3, 4, 6], [1, 2, 3, 4, 5], 1, 13],
    ['three against three, fully separated', [4, 5, 6], [1, 2, 3], 0.08085559837005224, 9],
    // canary = [inf, inf, 5, -inf, 7], baseline = [1, 2, 3, inf]
    ['infinities rank as extremes and tie with each other', [INF, INF, 5, -INF, 7], [1, 2, 3, INF], 0.5333889475196263, 13],
    // canary = [(i*53) % 103 + 3 for i in range(600)], baseline = [(i*37) % 101 for i in range(500)]
    [
      'large samples with many ties',
      Array.from({ length: 600 }, (_, i) => ((i * 53) % 103) + 3),
      Array.from({ length: 500 }, (_, i) => (i * 37) % 101),
      0.045993777400004925,
      160469,
    ],
    // canary = [1000 + i for i in range(200)], baseline = list(range(200)): z ≈ 17.3, deep in the tail
    [
      'large, fully separated samples',
      Array.from({ length: 200 }, (_, i) => 1000 + i),
      Array.from({ length: 200 }, (_, i) => i),
      4.830856390397399e-67,
      40000,
    ],
  ])('%s: p-value and rank sum as SciPy', (_what, canary, baseline, pValue, u1) => {
    const result = mannWhitneyU(canary, baseline);
    expectRelativelyClose(result.pValue, pValue);
    const n1 = canary.length;
    expect(result.canaryRankSum).toBe(u1 + (n1 * (n1 + 1)) / 2);
    expect(result.expectedRankSum).toBe((n1 * (n1 + baseline.length + 1)) / 2);
  });

  it('gives p = 1 when every sample on both sides is equal', () => {
    // mannwhitneyu([5, 5, 5], [5, 5, 5, 5], ...).pvalue == 1.0 (0/0 handled by SciPy as sf(-inf))
    expect(mannWhitneyU([5, 5, 5], [5, 5, 5, 5]).pValue).toBe(1);
    expect(mannWhitneyU([-Infinity, -Infinity, -Infinity], [-Infinity, -Infinity, -Infinity]).pValue).toBe(1);
  });
});

describe('judgeCanary: one metric', () => {
  const one = (metric: Record<string, unknown>, raw: Record<string, unknown> = {}) =>
    judge({ metrics: [{ name: 'm', ...metric }], ...raw }).metrics[0]!;

  it.each<[string, object, string, string, boolean]>([
    ['increase', UP, 'High', 'fails when the canary is higher', true],
    ['increase', DOWN, 'Low', 'passes when the canary is lower', false],
    ['decrease', UP, 'High', 'passes when the canary is higher', false],
    ['decrease', DOWN, 'Low', 'fails when the canary is lower', true],
    ['either', UP, 'High', 'fails when the canary is higher', true],
    ['either', DOWN, 'Low', 'fails when the canary is lower', true],
    ['either', STEADY, 'Pass', 'passes when nothing changed', false],
  ])('direction %s, %s: %s', (direction, samples, classification, _what, failed) => {
    const result = one({ direction, ...samples });
    expect(result).toMatchObject({ classification, failed });
  });

  it('fails on both changes when direction is left out (either)', () => {
    expect(one(UP).failed).toBe(true);
    expect(one(DOWN).failed).toBe(true);
  });

  it('counts a change when p < 1 - confidence', () => {
    // p = 0.030865784938778885 (ties and unequal sizes above)
    const samples = { direction: 'increase', canary: [12, 15, 15, 18, 20, 20, 20, 25], baseline: [10, 12, 12, 14, 15, 16] };
    expect(one(samples, { confidence: 0.98 })).toMatchObject({ classification: 'Pass', failed: false });
    expect(one(samples, { confidence: 0.95 })).toMatchObject({ classification: 'High', failed: true });
    expectRelativelyClose(one(samples).pValue, 0.030865784938778885);
  });

  it('reports the p-value and the medians of the cleaned samples', () => {
    const result = one({ baseline: [5, null, 1, Number.NaN, 3, 9], canary: [2, 8, Number.NaN, 4] });
    expect(result).toMatchObject({ name: 'm', group: 'default', classification: 'Pass', baselineMedian: 4, canaryMedian: 4 });
    // mannwhitneyu([2, 8, 4], [5, 1, 3, 9], alternative='two-sided', method='asymptotic').pvalue
    expectRelativelyClose(result.pValue, 1);
    expect(one(UP)).toMatchObject({ baselineMedian: 100.5, canaryMedian: 111.5 });
  });

  it('keeps ±Infinity as observations: three samples with an infinity are enough, and a median can be infinite', () => {
    const result = one({ baseline: [0.2, 0.3, Infinity], canary: [Infinity, Infinity, 0.25] });
    expect(result).toMatchObject({ classification: 'Pass', baselineMedian: 0.3, canaryMedian: Infinity });
    // mannwhitneyu([inf, inf, 0.25], [0.2, 0.3, inf], alternative='two-sided', method='asymptotic').pvalue
    expectRelativelyClose(result.pValue, 0.6428348264908044);
  });

  it.each<[string, Record<string, unknown>]>([
    ['baseline has 2 after dropping null and NaN', TOO_FEW],
    ['canary has 2 after dropping null and NaN', { baseline: TOO_FEW.canary, canary: TOO_FEW.baseline }],
    ['both are empty', { baseline: [], canary: [] }],
  ])('is NoData when %s', (_what, samples) => {
    expect(one(samples)).toEqual({
      name: 'm',
      group: 'default',
      classification: 'NoData',
      failed: false,
      pValue: null,
      baselineMedian: null,
      canaryMedian: null,
    });
  });

  it('judges a metric with exactly 3 samples on each side', () => {
    expect(one({ baseline: [1, 2, 3, null], canary: [4, 5, 6, Number.NaN] }).classification).toBe('Pass');
  });
});

describe('judgeCanary: score and verdict', () => {
  const metrics = (...samples: object[]) => samples.map((s, i) => ({ name: `m${i}`, direction: 'increase', ...s }));

  it('weights groups and leaves out groups that only have NoData', () => {
    const result = judge({
      groupWeights: { latency: 3 },
      metrics: [
        { name: 'p50', group: 'latency', direction: 'increase', ...UP },
        { name: 'p99', group: 'latency', direction: 'increase', ...STEADY },
        { name: 'errors', group: 'errors', direction: 'increase', ...STEADY },
        { name: 'cpu', group: 'saturation', ...TOO_FEW },
      ],
    });
    // latency 50 (weight 3), errors 100 (weight 1), saturation left out: (3·50 + 100) / 4
    expect(result.score).toBe(62.5);
    expect(result.verdict).toBe('fail');
    expect(result.reasons).toEqual([
      'score 62.5 is below the marginal threshold 75',
      'metric "p50" failed: the canary is higher than the baseline (p = 9.4e-4)',
    ]);
  });

  it('scores a group by its share of judged metrics, leaving its NoData metrics out', () => {
    const result = judge({ metrics: metrics(UP, STEADY, STEADY, TOO_FEW) });
    expect(result.score).toBeCloseTo((100 * 2) / 3, 8); // rounded to 1e-9, see the float-rounding test
    expect(result.verdict).toBe('fail');
  });

  it('gives groups without a weight a weight of 1, whatever their name', () => {
    const result = judge({
      groupWeights: { b: 3 },
      metrics: [
        { name: 'x', group: 'constructor', ...UP },
        { name: 'y', group: 'b', ...STEADY },
      ],
    });
    expect(result.score).toBe(75); // (1·0 + 3·100) / 4
  });

  it('scores 0 when no metric could be judged', () => {
    const result = judge({ metrics: metrics(TOO_FEW, TOO_FEW) });
    expect(result).toMatchObject({ score: 0, verdict: 'fail' });
    expect(result.reasons).toEqual(['2 of 2 metrics have no data (half or more)', 'score 0 is below the marginal threshold 75']);
  });

  it('is not pushed below a threshold by float rounding of the weighted mean', () => {
    // 0.1·100 + 0.2·100 = 30, and 30 / (0.1 + 0.2) is 99.99999999999999 in doubles
    const result = judge({
      thresholds: { pass: 100, marginal: 90 },
      groupWeights: { a: 0.1, b: 0.2 },
      metrics: [
        { name: 'x', group: 'a', ...STEADY },
        { name: 'y', group: 'b', ...STEADY },
      ],
    });
    expect(result).toEqual(expect.objectContaining({ score: 100, verdict: 'pass', reasons: [] }));
  });

  describe('thresholds: one failed metric of four scores exactly 75', () => {
    const four = metrics(UP, STEADY, STEADY, STEADY);
    it.each<[{ pass: number; marginal: number }, string]>([
      [{ pass: 75, marginal: 50 }, 'pass'],
      [{ pass: 75.001, marginal: 75 }, 'marginal'],
      [{ pass: 95, marginal: 75.001 }, 'fail'],
    ])('%j: %s', (thresholds, verdict) => {
      const result = judge({ thresholds, metrics: four });
      expect(result.score).toBe(75);
      expect(result.verdict).toBe(verdict);
      expect(result.reasons.length > 0).toBe(verdict !== 'pass');
    });
  });

  it('fails when a critical metric fails, whatever the score', () => {
    const result = judge({
      thresholds: { pass: 90, marginal: 75 },
      groupWeights: { latency: 9 },
      metrics: [
        { name: 'errors', group: 'errors', direction: 'increase', critical: true, ...UP },
        { name: 'p99', group: 'latency', critical: true, ...STEADY },
      ],
    });
    expect(result).toMatchObject({ score: 90, verdict: 'fail' });
    expect(result.reasons).toEqual(['critical metric "errors" failed: the canary is higher than the baseline (p = 9.4e-4)']);
  });

  it('does not fail for a critical metric that changed in the harmless direction', () => {
    const result = judge({ metrics: [{ name: 'throughput', direction: 'decrease', critical: true, ...UP }] });
    expect(result).toMatchObject({ score: 100, verdict: 'pass', reasons: [] });
  });

  it('fails when a critical metric has no data, whatever the score', () => {
    const result = judge({
      metrics: [...metrics(STEADY, STEADY, STEADY), { name: 'errors', critical: true, ...TOO_FEW }],
    });
    expect(result).toMatchObject({ score: 100, verdict: 'fail' });
    expect(result.reasons).toEqual([
      'critical metric "errors" has no data: 2 baseline and 3 canary samples after dropping null/NaN, need 3 on each side',
    ]);
  });

  it('fails when half or more of the metrics have no data, and not below half', () => {
    expect(judge({ metrics: metrics(STEADY, STEADY, TOO_FEW, TOO_FEW) })).toMatchObject({
      score: 100,
      verdict: 'fail',
      reasons: ['2 of 4 metrics have no data (half or more)'],
    });
    expect(judge({ metrics: metrics(STEADY, STEADY, TOO_FEW) })).toMatchObject({ score: 100, verdict: 'pass', reasons: [] });
  });
});

describe('parseCanaryJudgeInput', () => {
  const metric = { name: 'm', baseline: [1, 2, 3], canary: [1, 2, 3] };

  it('fills in group, direction, critical and groupWeights', () => {
    expect(inputOf({ metrics: [metric] })).toEqual({
      ...BASE,
      groupWeights: {},
      metrics: [{ ...metric, group: 'default', direction: 'either', critical: false }],
    });
  });

  it.each<[string, unknown, string[]]>([
    [
      'a wrong direction and a threshold over 100',
      { ...BASE, thresholds: { pass: 120, marginal: 75 }, metrics: [metric, { ...metric, name: 'n' }, { ...metric, name: 'o', direction: 'up' }] },
      ['thresholds.pass: must be a number from 0 to 100', 'metrics.2.direction: must be "increase", "decrease" or "either"'],
    ],
    ['a missing confidence', { thresholds: BASE.thresholds, metrics: [metric] }, ['confidence: is required']],
    ['a confidence of 1', { ...BASE, confidence: 1, metrics: [metric] }, ['confidence: must be a number between 0 and 1 (exclusive), e.g. 0.98']],
    ['marginal above pass', { ...BASE, thresholds: { pass: 70, marginal: 80 }, metrics: [metric] }, ['thresholds.marginal: must not be above thresholds.pass']],
    ['no metrics', { ...BASE, metrics: [] }, ['metrics: must list at least one metric']],
    ['a sample that is not a number', { ...BASE, metrics: [{ ...metric, canary: [1, '2', 3] }] }, ['metrics.0.canary.1: must be a number or null']],
    ['a missing baseline', { ...BASE, metrics: [{ name: 'm', canary: [1, 2, 3] }] }, ['metrics.0.baseline: is required']],
    ['a misspelt key', { ...BASE, metrics: [{ ...metric, critcal: true }] }, ['metrics.0: Unrecognized key: "critcal"']],
    ['critical that is not a boolean', { ...BASE, metrics: [{ ...metric, critical: 'yes' }] }, ['metrics.0.critical: must be true or false']],
    ['a metric listed twice', { ...BASE, metrics: [metric, metric] }, ['metrics.1.name: "m" is listed twice']],
    [
      'weights that are not positive or name no group',
      { ...BASE, metrics: [metric], groupWeights: { default: 0, latnecy: 2 } },
      ['groupWeights.default: must be a positive number', 'groupWeights.latnecy: no metric is in this group'],
    ],
    ['not an object', [], ['the input must be a JSON object with confidence, thresholds and metrics']],
  ])('names the path of %s', (_what, raw, problems) => {
    expect(problemsOf(raw)).toEqual(problems);
  });
});

describe('runCanaryJudge (shipmate canary judge)', () => {
  const fixture = (name: string) => path.join(__dirname, '../../fixtures/canary', name);

  it('prints the judgment as JSON, with infinite medians as strings', () => {
    const { exitCode, output } = runCanaryJudge(fixture('pass.json'), { json: true });
    expect(exitCode).toBe(0);
    const judgment = JSON.parse(output) as Record<string, unknown> & { metrics: Record<string, unknown>[] };
    expect(judgment).toMatchObject({ score: 100, verdict: 'pass', reasons: [] });
    expect(judgment.metrics.map((m) => [m.name, m.group, m.classification, m.failed])).toEqual([
      ['latency_p99', 'latency', 'Pass', false],
      ['request_seconds', 'latency', 'Pass', false],
      ['error_rate', 'errors', 'Pass', false],
      ['cpu', 'saturation', 'NoData', false],
    ]);
    // 1e999 in the file is Infinity; mannwhitneyu([inf, inf, 0.29, inf, 0.26], [0.21, 0.3, inf, 0.25, 0.27], ...).pvalue
    expect(judgment.metrics[1]).toMatchObject({ baselineMedian: 0.27, canaryMedian: 'Infinity' });
    expectRelativelyClose(judgment.metrics[1]!.pValue as number, 0.2358613103342675);
    expect(judgment.metrics[3]).toMatchObject({ pValue: null, baselineMedian: null, canaryMedian: null });
  });

  it('exits 0 for a failing verdict too, and says why', () => {
    const { exitCode, output } = runCanaryJudge(fixture('fail-critical.json'), { json: true });
    expect(exitCode).toBe(0);
    expect(JSON.parse(output)).toMatchObject({
      score: 90,
      verdict: 'fail',
      reasons: ['critical metric "error_rate" failed: the canary is higher than the baseline (p = 8.9e-4)'],
    });
  });

  it('prints a readable table without --json', () => {
    const { exitCode, output } = runCanaryJudge(fixture('marginal.json'), { json: false });
    expect(exitCode).toBe(0);
    expect(output).toBe(
      [
        'Canary verdict: MARGINAL (score 75; pass at 95, marginal at 75, confidence 0.98)',
        '',
        'metric       group    result  failed  p-value  baseline median  canary median',
        'latency_p50  default  High    yes     9.39e-4  100.5            111.5',
        'latency_p99  default  Pass    no      0.958    220.5            220.5',
        'error_rate   default  Pass    no      0.829    0.011            0.012',
        'throughput   default  High    no      9.39e-4  100.5            111.5',
        '',
        'Why:',
        '- score 75 is below the pass threshold 95',
        '- metric "latency_p50" failed: the canary is higher than the baseline (p = 9.4e-4)',
      ].join('\n'),
    );
  });

  it('lists the reasons under the table only when there are some', () => {
    expect(runCanaryJudge(fixture('pass.json')).output).not.toContain('Why');
    expect(runCanaryJudge(fixture('fail-critical.json')).output).toMatch(
      /^Canary verdict: FAIL \(score 90; pass at 90, marginal at 75, confidence 0\.98\)\n[^]*\n\nWhy:\n- critical metric "error_rate" failed: the canary is higher than the baseline \(p = 8\.9e-4\)$/,
    );
  });

  it.each<[string, string, string]>([
    [
      'invalid input',
      'invalid.json',
      'is invalid: thresholds.pass: must be a number from 0 to 100; metrics.2.direction: must be "increase", "decrease" or "either"',
    ],
    ['a file that is not JSON', 'truncated.json', 'is not valid JSON: '],
    // the key in the file is "lat\nency": the line break is shown escaped
    ['a line break in the input', 'misspelt-group.json', 'is invalid: groupWeights.lat\\nency: no metric is in this group'],
  ])('exits 1 with one line for %s', (_what, file, message) => {
    for (const json of [true, false]) {
      const { exitCode, output } = runCanaryJudge(fixture(file), { json });
      expect(exitCode).toBe(1);
      expect(output).toContain(`shipmate: canary input ${fixture(file)} ${message}`);
      expect(output).not.toContain('\n');
    }
  });

  it.each([
    ['a missing file', 'missing.json', 'no such file'],
    ['a directory', '', 'it is a directory'],
  ])('exits 1 with one line for %s', (_what, file, why) => {
    expect(runCanaryJudge(fixture(file), { json: true })).toEqual({
      exitCode: 1,
      output: `shipmate: cannot read canary input ${fixture(file)}: ${why}`,
    });
  });
});
