import {
  type AnalysisProgress,
  analysisPhase,
  type AnalysisPhase,
  type CheckCounts,
  type CheckResult,
  checksOf,
  COMPARISON_CHECK,
  countMeasurement,
  describeMeasurement,
  evaluateCondition,
  fromWire,
  judgeComparison,
  judgeMeasurement,
  judgeThreshold,
  type MetricReading,
  type Outcome,
  startAnalysis,
  toWire,
  type WireNumber,
} from '../../../src/core/canary-analysis';
import { analysisSpec, type AnalysisSpec, type ThresholdMetric } from '../../../src/core/canary-config';

const threshold = (conditions: { successCondition?: string; failureCondition?: string }): ThresholdMetric => ({
  name: 'error-rate',
  provider: 'prom',
  query: 'sum(rate(errors[1m])) / sum(rate(requests[1m]))',
  ...conditions,
});

const value = (v: WireNumber, metric = 'error-rate'): MetricReading => ({ metric, kind: 'value', value: v });
const noData = (metric = 'error-rate'): MetricReading => ({ metric, kind: 'no-data' });
const failedReading = (error: string, metric = 'error-rate'): MetricReading => ({ metric, kind: 'error', error });
const samples = (canary: (number | null)[], baseline: (number | null)[], metric = 'latency-p99'): MetricReading => ({ metric, kind: 'samples', canary, baseline });

const SUCCESS = 'result < 0.01';
const FAILURE = 'result > 0.05';

/** Two threshold checks (error-rate, latency) and the defaults of shipmate.yml otherwise. */
function spec(overrides: Record<string, unknown> = {}): AnalysisSpec {
  return analysisSpec.parse({
    count: 3,
    metrics: [
      { name: 'error-rate', provider: 'prom', query: 'q1', successCondition: SUCCESS },
      { name: 'latency', provider: 'prom', query: 'q2', failureCondition: 'result > 0.5' },
    ],
    ...overrides,
  });
}

const result = (check: string, outcome: Outcome, detail = outcome): CheckResult => ({ check, outcome, detail });
const counts = (c: Partial<CheckCounts> = {}): CheckCounts => ({ taken: 0, successful: 0, failed: 0, inconclusive: 0, consecutiveErrors: 0, ...c });
const progressOf = (byCheck: Record<string, Partial<CheckCounts>>, ticks = 0): AnalysisProgress => ({
  name: 'health',
  ticks,
  counts: Object.fromEntries(Object.entries(byCheck).map(([check, c]) => [check, counts(c)])),
});

describe('toWire / fromWire', () => {
  it.each<[number, WireNumber]>([
    [0.004, 0.004],
    [0, 0],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('%p travels as %p and comes back', (n, wire) => {
    expect(toWire(n)).toBe(wire);
    expect(fromWire(wire)).toBe(n); // toBe uses Object.is: NaN is NaN
    expect(JSON.parse(JSON.stringify({ v: toWire(n) })).v).toBe(wire); // survives SQLite's JSON
  });
});

describe('evaluateCondition', () => {
  it.each<[string, number, boolean]>([
    ['result < 0.01', 0.004, true],
    ['result < 0.01', 0.01, false],
    ['result >= 0.95 && result <= 1', 0.97, true],
    ['result > 0.05 || result < 0', -1, true],
    ['result == 0', 0, true],
    // Only a boolean true passes: a number that happens to be truthy is not a verdict.
    ['result', 1, false],
    ['result + 1', 0, false],
    // A misspelt variable reads as undefined, and undefined < 0.01 is false.
    ['reslt < 0.01', 0.004, false],
  ])('%s with result = %p is %p', (condition, input, expected) => {
    expect(evaluateCondition(condition, input)).toBe(expected);
  });

  describe('cannot reach JavaScript globals or run code', () => {
    const MARK = '__canaryConditionRan';
    const marked = () => (globalThis as Record<string, unknown>)[MARK];
    afterEach(() => {
      delete (globalThis as Record<string, unknown>)[MARK];
    });

    it.each([
      `constructor.constructor("globalThis.${MARK} = 1; return process")()`,
      `result.constructor.constructor("globalThis.${MARK} = 2")()`,
      `result["constructor"]["constructor"]("globalThis.${MARK} = 3")()`,
      `"x".constructor.constructor("globalThis.${MARK} = 4")()`,
      `[].constructor.constructor("globalThis.${MARK} = 5")()`,
    ])('%s throws or is false, and nothing ran', (condition) => {
      let answer: boolean | 'threw';
      try {
        answer = evaluateCondition(condition, 0.004);
      } catch {
        answer = 'threw';
      }
      expect([false, 'threw']).toContain(answer);
      expect(marked()).toBeUndefined();
    });

    it.each(['process', 'globalThis', 'this', 'require', 'module'])('%s is not defined inside a condition', (name) => {
      // Comparing it to itself is true only if the name resolves to something.
      expect(evaluateCondition(`${name} != undefined`, 0.004)).toBe(false);
      expect(evaluateCondition(`${name}.env != undefined`, 0.004)).toBe(false);
    });

    it('prototype properties reachable by brackets are functions that cannot be called, so never a verdict', () => {
      expect(evaluateCondition('result["constructor"]["constructor"]', 0.004)).toBe(false);
      expect(marked()).toBeUndefined();
    });

    it('the config schema already refuses the classic escape', () => {
      const parsed = analysisSpec.safeParse({
        metrics: [{ name: 'e', provider: 'prom', query: 'q', successCondition: 'constructor.constructor("return process")()' }],
      });
      expect(parsed.success).toBe(false);
    });
  });
});

describe('judgeThreshold (Argo Rollouts rules)', () => {
  it.each<[string, { successCondition?: string; failureCondition?: string }, WireNumber, Outcome, string]>([
    ['failureCondition true', { failureCondition: FAILURE }, 0.2, 'failed', `0.2 (${FAILURE})`],
    ['failureCondition true wins over a true successCondition', { successCondition: 'result > 0', failureCondition: FAILURE }, 0.2, 'failed', `0.2 (${FAILURE})`],
    ['successCondition true', { successCondition: SUCCESS }, 0.004, 'successful', `0.004 (${SUCCESS})`],
    ['both set, success true, failure false', { successCondition: SUCCESS, failureCondition: FAILURE }, 0.004, 'successful', `0.004 (${SUCCESS})`],
    ['only successCondition, false', { successCondition: SUCCESS }, 0.03, 'failed', `0.03 (not ${SUCCESS})`],
    ['only failureCondition, false', { failureCondition: FAILURE }, 0.03, 'successful', `0.03 (not ${FAILURE})`],
    ['both set, neither true', { successCondition: SUCCESS, failureCondition: FAILURE }, 0.03, 'inconclusive', `0.03 (neither ${SUCCESS} nor ${FAILURE})`],
    // NaN and the infinities arrive in their wire form and compare like JavaScript numbers.
    ['NaN, only successCondition: not successful, so failed', { successCondition: SUCCESS }, 'NaN', 'failed', `NaN (not ${SUCCESS})`],
    ['NaN, only failureCondition: not failed, so successful (as Argo documents)', { failureCondition: FAILURE }, 'NaN', 'successful', `NaN (not ${FAILURE})`],
    ['NaN, both set: inconclusive', { successCondition: SUCCESS, failureCondition: FAILURE }, 'NaN', 'inconclusive', `NaN (neither ${SUCCESS} nor ${FAILURE})`],
    ['NaN, a condition that tests for it', { failureCondition: 'result != result' }, 'NaN', 'failed', 'NaN (result != result)'],
    ['+Inf above a failure threshold', { failureCondition: FAILURE }, '+Inf', 'failed', `+Inf (${FAILURE})`],
    ['+Inf against an upper success bound', { successCondition: SUCCESS }, '+Inf', 'failed', `+Inf (not ${SUCCESS})`],
    ['-Inf below an upper success bound', { successCondition: SUCCESS }, '-Inf', 'successful', `-Inf (${SUCCESS})`],
    ['-Inf under a lower success bound', { successCondition: 'result >= 0.95' }, '-Inf', 'failed', '-Inf (not result >= 0.95)'],
    ['values are shown with 4 significant digits', { successCondition: SUCCESS }, 0.0123456, 'failed', `0.01235 (not ${SUCCESS})`],
  ])('%s', (_name, conditions, reading, outcome, detail) => {
    expect(judgeThreshold(threshold(conditions), value(reading))).toEqual({ check: 'error-rate', outcome, detail, value: reading });
  });

  it.each<[string, MetricReading | undefined, Outcome, string]>([
    ['no data is inconclusive, never successful', noData(), 'inconclusive', 'no data'],
    ['an error reading is an error, with its message', failedReading('Prometheus answered 503'), 'error', 'Prometheus answered 503'],
    ['a metric that was not read at all is an error', undefined, 'error', 'not measured'],
  ])('%s', (_name, reading, outcome, detail) => {
    for (const conditions of [{ successCondition: SUCCESS }, { failureCondition: FAILURE }, { successCondition: SUCCESS, failureCondition: FAILURE }]) {
      const judged = judgeThreshold(threshold(conditions), reading);
      expect(judged).toEqual({ check: 'error-rate', outcome, detail });
      expect(judged).not.toHaveProperty('value');
    }
  });

  it('a condition that fails when evaluated is an error reading, not a thrown exception', () => {
    // `config check` evaluates each condition once and refuses this one; a spec built without that check still must not throw.
    const judge = () => judgeThreshold(threshold({ successCondition: 'abs(result) < 0.01' }), value(0.004));
    expect(judge).not.toThrow();
    expect(judge()).toMatchObject({ check: 'error-rate', outcome: 'error' });
  });
});

describe('judgeMeasurement', () => {
  it('gives one result per threshold check, matching readings by metric name, in the order of the spec', () => {
    const results = judgeMeasurement(spec(), [value(0.9, 'latency'), value(0.004, 'error-rate')]);
    expect(results.map((r) => [r.check, r.outcome])).toEqual([
      ['error-rate', 'successful'],
      ['latency', 'failed'],
    ]);
  });

  it('adds one comparison check for all comparison metrics together', () => {
    const s = spec({
      metrics: [
        { name: 'error-rate', provider: 'prom', query: 'q1', successCondition: SUCCESS },
        { name: 'latency-p99', provider: 'prom', canaryQuery: 'c', baselineQuery: 'b' },
        { name: 'cpu', provider: 'prom', canaryQuery: 'c2', baselineQuery: 'b2' },
      ],
    });
    expect(checksOf(s)).toEqual(['error-rate', COMPARISON_CHECK]);
    const results = judgeMeasurement(s, [value(0.004), samples([5, 5, 5, 5], [5, 5, 5, 5]), samples([1, 1, 1], [1, 1, 1], 'cpu')]);
    expect(results.map((r) => [r.check, r.outcome])).toEqual([
      ['error-rate', 'successful'],
      [COMPARISON_CHECK, 'successful'],
    ]);
  });
});

describe('judgeComparison', () => {
  const UP = { baseline: [101, 99, 103, 98, 102, 100, 97, 104], canary: [110, 115, 108, 112, 109, 111, 114, 113] };
  const STEADY = { baseline: [120, 118, 125, 119, 122, 121, 117, 123], canary: [121, 119, 124, 118, 120, 123, 116, 122] };
  const comparing = (metrics: Record<string, unknown>[]) => spec({ metrics: metrics.map((m) => ({ provider: 'prom', canaryQuery: 'c', baselineQuery: 'b', ...m })) });
  const one = (direction: string) => comparing([{ name: 'latency-p99', direction }]);

  it.each<[string, AnalysisSpec, MetricReading[], Outcome]>([
    ['a clearly higher canary, direction increase: failed', one('increase'), [samples(UP.canary, UP.baseline)], 'failed'],
    ['a clearly higher canary, direction either: failed', one('either'), [samples(UP.canary, UP.baseline)], 'failed'],
    ['a clearly higher canary, direction decrease: an improvement, successful', one('decrease'), [samples(UP.canary, UP.baseline)], 'successful'],
    ['a clearly lower canary, direction decrease: failed', one('decrease'), [samples(UP.baseline, UP.canary)], 'failed'],
    ['equal samples: successful', one('increase'), [samples([7, 7, 7, 7, 7], [7, 7, 7, 7, 7])], 'successful'],
    ['samples from the same distribution: successful', one('increase'), [samples(STEADY.canary, STEADY.baseline)], 'successful'],
    ['fewer than 3 samples (NoData): inconclusive, not failed', one('increase'), [samples([500, 600], [1, 2, 3, 4])], 'inconclusive'],
    ['NaN samples (null) are dropped before counting', one('increase'), [samples([500, null, 600, null], [1, 2, 3, 4])], 'inconclusive'],
    ['no reading at all for the metric: NoData, inconclusive', one('increase'), [], 'inconclusive'],
    ['an error reading: error', one('increase'), [failedReading('range query timed out', 'latency-p99')], 'error'],
    [
      'an error on one metric makes the whole check an error, even with good samples for the other',
      comparing([{ name: 'latency-p99' }, { name: 'cpu' }]),
      [samples(STEADY.canary, STEADY.baseline), failedReading('cpu: 502 Bad Gateway', 'cpu')],
      'error',
    ],
  ])('%s', (_name, s, readings, outcome) => {
    const judged = judgeComparison(s, readings);
    expect(judged.check).toBe(COMPARISON_CHECK);
    expect(judged.outcome).toBe(outcome);
  });

  it('says the score, the verdict and each metric’s classification', () => {
    const judged = judgeComparison(one('increase'), [samples(UP.canary, UP.baseline)]);
    expect(judged.detail).toMatch(/^score 0, fail: latency-p99 High p=0\.00094 \(/);
    expect(judged.judgment?.metrics[0]).toMatchObject({ name: 'latency-p99', classification: 'High', failed: true, canaryMedian: 111.5, baselineMedian: 100.5 });
  });

  it('an error names every failing backend and carries no judgment', () => {
    const judged = judgeComparison(comparing([{ name: 'latency-p99' }, { name: 'cpu' }]), [failedReading('timeout', 'latency-p99'), failedReading('503', 'cpu')]);
    expect(judged).toEqual({ check: COMPARISON_CHECK, outcome: 'error', detail: 'timeout; 503' });
  });

  it('NoData is classified as such, with no p-value', () => {
    const judged = judgeComparison(one('increase'), [samples([1], [1, 2, 3])]);
    expect(judged.judgment?.metrics[0]).toMatchObject({ classification: 'NoData', failed: false, pValue: null });
  });
});

describe('countMeasurement', () => {
  const s = spec({ count: 2 });
  const start = () => startAnalysis('health', s);

  it('starts every check at zero', () => {
    expect(start()).toEqual(progressOf({ 'error-rate': {}, latency: {} }));
  });

  it.each<[string, Partial<CheckCounts>, Outcome, Partial<CheckCounts>]>([
    ['a success is a measurement', {}, 'successful', { taken: 1, successful: 1 }],
    ['a failure is a measurement', { taken: 1, successful: 1 }, 'failed', { taken: 2, successful: 1, failed: 1 }],
    ['an inconclusive one is a measurement', {}, 'inconclusive', { taken: 1, inconclusive: 1 }],
    ['an error is not a measurement, only an error in a row', { taken: 1, successful: 1 }, 'error', { taken: 1, successful: 1, consecutiveErrors: 1 }],
    ['errors add up while they are in a row', { consecutiveErrors: 3 }, 'error', { consecutiveErrors: 4 }],
    ['a success resets the errors in a row', { consecutiveErrors: 3 }, 'successful', { taken: 1, successful: 1, consecutiveErrors: 0 }],
    ['a failure resets them too', { consecutiveErrors: 3 }, 'failed', { taken: 1, failed: 1, consecutiveErrors: 0 }],
    ['an inconclusive one resets them too', { consecutiveErrors: 2 }, 'inconclusive', { taken: 1, inconclusive: 1, consecutiveErrors: 0 }],
    ['a check already at count is left as it is', { taken: 2, successful: 2 }, 'failed', { taken: 2, successful: 2 }],
    ['a check already at count does not count errors either', { taken: 2, successful: 2 }, 'error', { taken: 2, successful: 2 }],
  ])('%s', (_name, before, outcome, after) => {
    const progress = progressOf({ 'error-rate': before, latency: {} }, 4);
    const snapshot = structuredClone(progress);
    const next = countMeasurement(s, progress, [result('error-rate', outcome)]);
    expect(next.counts['error-rate']).toEqual(counts(after));
    expect(next.counts.latency).toEqual(counts());
    expect(next.ticks).toBe(5); // every measurement started gets a tick, errors too
    expect(progress).toEqual(snapshot);
  });

  it('ignores results for checks the analysis does not have', () => {
    const next = countMeasurement(s, start(), [result('disk', 'failed')]);
    expect(next.counts).toEqual(start().counts);
    expect(next).not.toHaveProperty(['counts', 'disk']);
  });

  it('counts each check of one measurement on its own', () => {
    const next = countMeasurement(s, start(), [result('error-rate', 'error'), result('latency', 'successful')]);
    expect(next.counts).toEqual({ 'error-rate': counts({ consecutiveErrors: 1 }), latency: counts({ taken: 1, successful: 1 }) });
  });
});

describe('analysisPhase', () => {
  const DONE = { taken: 3, successful: 3 };

  it.each<[string, Record<string, unknown>, Record<string, Partial<CheckCounts>>, AnalysisPhase['phase']]>([
    ['nothing measured yet: running', {}, { 'error-rate': {}, latency: {} }, 'running'],
    ['one check done, the other not: running', {}, { 'error-rate': DONE, latency: { taken: 2, successful: 2 } }, 'running'],
    ['every check has count measurements: successful', {}, { 'error-rate': DONE, latency: DONE }, 'successful'],
    ['more than count is still successful', {}, { 'error-rate': { taken: 4, successful: 4 }, latency: DONE }, 'successful'],
    ['one failure with failureLimit 0: failed', {}, { 'error-rate': { taken: 1, failed: 1 }, latency: {} }, 'failed'],
    ['one failure with failureLimit 1: tolerated, running', { failureLimit: 1 }, { 'error-rate': { taken: 1, failed: 1 }, latency: {} }, 'running'],
    ['one failure with failureLimit 1, all done: successful', { failureLimit: 1 }, { 'error-rate': { taken: 3, successful: 2, failed: 1 }, latency: DONE }, 'successful'],
    ['two failures with failureLimit 1: failed', { failureLimit: 1 }, { 'error-rate': { taken: 2, failed: 2 }, latency: {} }, 'failed'],
    ['4 errors in a row with the default limit 4: running', {}, { 'error-rate': { consecutiveErrors: 4 }, latency: {} }, 'running'],
    ['5 errors in a row with the default limit 4: failed', {}, { 'error-rate': { consecutiveErrors: 5 }, latency: {} }, 'failed'],
    ['1 error with consecutiveErrorLimit 0: failed', { consecutiveErrorLimit: 0 }, { 'error-rate': { consecutiveErrors: 1 }, latency: {} }, 'failed'],
    ['one inconclusive with inconclusiveLimit 0: inconclusive', {}, { 'error-rate': { taken: 1, inconclusive: 1 }, latency: {} }, 'inconclusive'],
    ['one inconclusive with inconclusiveLimit 1: running', { inconclusiveLimit: 1 }, { 'error-rate': { taken: 1, inconclusive: 1 }, latency: {} }, 'running'],
    ['failed wins over inconclusive, whatever the order of the checks', {}, { 'error-rate': { taken: 1, inconclusive: 1 }, latency: { taken: 1, failed: 1 } }, 'failed'],
    ['errors in a row win over inconclusive too', {}, { 'error-rate': { taken: 1, inconclusive: 1 }, latency: { consecutiveErrors: 5 } }, 'failed'],
    ['inconclusive wins over done', {}, { 'error-rate': { taken: 3, successful: 2, inconclusive: 1 }, latency: DONE }, 'inconclusive'],
  ])('%s', (_name, overrides, byCheck, phase) => {
    expect(analysisPhase(spec(overrides), progressOf(byCheck)).phase).toBe(phase);
  });

  it.each<[string, Record<string, Partial<CheckCounts>>, string]>([
    ['failures', { 'error-rate': { taken: 2, successful: 1, failed: 1 }, latency: {} }, 'error-rate failed 1 of 2 measurements (failureLimit 0)'],
    ['errors in a row', { 'error-rate': {}, latency: { consecutiveErrors: 5 } }, 'latency could not be measured 5 times in a row (consecutiveErrorLimit 4)'],
    ['inconclusive', { 'error-rate': { taken: 1, inconclusive: 1 }, latency: {} }, 'error-rate was inconclusive 1 of 1 measurements (inconclusiveLimit 0)'],
  ])('the reason names the check and the limit: %s', (_name, byCheck, reason) => {
    expect(analysisPhase(spec(), progressOf(byCheck))).toEqual({ phase: expect.any(String), reason });
  });

  it('errors in a row, counted one measurement at a time: the fifth fails the analysis, the fourth does not', () => {
    const s = spec({ count: 2 });
    let progress = startAnalysis('health', s);
    const phases: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      progress = countMeasurement(s, progress, [result('error-rate', 'error'), result('latency', 'successful')]);
      phases.push(analysisPhase(s, progress).phase);
    }
    expect(phases).toEqual(['running', 'running', 'running', 'running', 'failed']);
  });

  it('an analysis of errors and successes passes once every check has count non-error measurements', () => {
    const s = spec({ count: 2 });
    const outcomes: Outcome[] = ['error', 'successful', 'error', 'error', 'error', 'error', 'successful'];
    let progress = startAnalysis('health', s);
    const phases: string[] = [];
    for (const outcome of outcomes) {
      progress = countMeasurement(s, progress, [result('error-rate', outcome), result('latency', 'successful')]);
      phases.push(analysisPhase(s, progress).phase);
    }
    expect(phases).toEqual(['running', 'running', 'running', 'running', 'running', 'running', 'successful']);
    expect(progress.ticks).toBe(7);
    expect(progress.counts['error-rate']).toEqual(counts({ taken: 2, successful: 2 }));
  });
});

describe('describeMeasurement', () => {
  it('names the analysis and the measurement, then each check with its outcome, detail and count', () => {
    const s = spec({ count: 3 });
    const results = judgeMeasurement(s, [value(0.004), failedReading('Prometheus answered 503', 'latency')]);
    const progress = countMeasurement(s, startAnalysis('health', s), results);
    expect(describeMeasurement(s, progress, results)).toBe(
      ['Analysis health, measurement 1:', `✓ error-rate: successful, 0.004 (${SUCCESS}) [1/3]`, '! latency: error (not counted): Prometheus answered 503 [0/3]'].join('\n'),
    );
  });

  it.each<[MetricReading, string]>([
    [value(0.2), `✗ error-rate: failed, 0.2 (not ${SUCCESS}) [1/3]`],
    [noData(), '? error-rate: inconclusive, no data [1/3]'],
  ])('marks %j', (reading, line) => {
    const s = spec({ count: 3 });
    const results = judgeMeasurement(s, [reading, value(0.1, 'latency')]);
    const text = describeMeasurement(s, countMeasurement(s, startAnalysis('health', s), results), results);
    expect(text.split('\n')).toEqual(['Analysis health, measurement 1:', line, '✓ latency: successful, 0.1 (not result > 0.5) [1/3]']);
  });
});
