import { BatchRefusedError, ExternalServiceError } from '../../../src/core/errors';
import type { InstantMetricsProvider, InstantQuery, Measurement } from '../../../src/core/metrics';
import {
  alertTableSchema,
  budgetRemaining,
  burnFactor,
  BURN_WINDOWS,
  type BurnWindow,
  DEFAULT_ALERT_TABLE,
  definitionsFromSloth,
  errorBudget,
  evaluateBurn,
  type SloDefinition,
  sloSpecSchema,
  slothSpecSchema,
  toSloDefinition,
  totalQuery,
  trafficStopped,
  windowQuery,
  worstSeverity,
} from '../../../src/core/slo';
import { createLimiter, evaluateSlos, evaluateTrafficStop } from '../../../src/core/slo-evaluator';

const DAY = 86_400_000;

const def = (overrides: Partial<SloDefinition> = {}): SloDefinition => ({
  service: 'api',
  name: 'availability',
  objective: 99.9,
  windowMs: 30 * DAY,
  sli: { kind: 'events', errorQuery: 'sum(rate(e[{{.window}}]))', totalQuery: 'sum(rate(t[{{.window}}]))' },
  ...overrides,
});

const ratios = (value: number | null, overrides: Partial<Record<BurnWindow, number | null>> = {}) => ({
  ...Object.fromEntries(BURN_WINDOWS.map((w) => [w, value])),
  ...overrides,
});

describe('burn factors', () => {
  const [pageQuick, pageSlow, ticketQuick, ticketSlow] = DEFAULT_ALERT_TABLE;
  it.each([
    // SLO period, then page 1h/5m, page 6h/30m, ticket 1d/2h, ticket 3d/6h
    [30, 14.4, 6, 3, 1],
    [28, 13.44, 5.6, 2.8, 14 / 15],
    [7, 3.36, 1.4, 0.7, 7 / 30],
  ])('a %dd period gives %d, %d, %d and %d', (days, ...expected) => {
    const factors = [pageQuick!, pageSlow!, ticketQuick!, ticketSlow!].map((row) => burnFactor(row, days * DAY));
    factors.forEach((factor, i) => expect(factor).toBe(expected[i]));
  });

  it('is the decimal people write, where multiplying floats would drift', () => {
    expect(burnFactor({ budgetPercent: 5, longWindow: '6h' }, 28 * DAY)).toBe(5.6); // 5 * 672 / 100 / 6 in floats: 5.6000000000000005
    expect(burnFactor({ budgetPercent: 10, longWindow: '1d' }, 28 * DAY)).toBe(2.8);
    expect(burnFactor({ budgetPercent: 12.5, longWindow: '6h' }, 7 * DAY)).toBe(3.5); // Sloth's 7d example
    expect(burnFactor({ budgetPercent: 0.1, longWindow: '5m' }, 30 * DAY)).toBe(8.64);
  });
});

describe('error budget and burn rate', () => {
  it.each([
    [99.9, 0.001],
    [99.99, 0.0001],
    [99.95, 0.0005],
    [99, 0.01],
    [95, 0.05],
    [99.999, 0.00001],
  ])('%d%% leaves exactly %d', (objective, budget) => {
    expect(errorBudget(objective)).toBe(budget);
  });

  it('divides by the exact budget: 1.44% errors at 99.9% burn at exactly 14.4, which does not fire a 14.4 row', () => {
    const result = evaluateBurn(def(), DEFAULT_ALERT_TABLE, ratios(0.0144));
    expect(result.burnRate['1h']).toBe(14.4);
    expect(result.alerts.map((a) => a.longWindow)).toEqual(['6h', '1d', '3d']);
  });

  it('reads 99.99 as a budget of 0.0001', () => {
    expect(evaluateBurn(def({ objective: 99.99 }), DEFAULT_ALERT_TABLE, ratios(0.0005)).burnRate['5m']).toBe(5);
  });
});

describe('which rows fire', () => {
  const page1h = { severity: 'page', longWindow: '1h', shortWindow: '5m', factor: 14.4 };
  const page6h = { severity: 'page', longWindow: '6h', shortWindow: '30m', factor: 6 };
  const ticket1d = { severity: 'ticket', longWindow: '1d', shortWindow: '2h', factor: 3 };
  const ticket3d = { severity: 'ticket', longWindow: '3d', shortWindow: '6h', factor: 1 };
  it.each<[string, Partial<Record<BurnWindow, number | null>>, object[]]>([
    ['everything at burn 20', ratios(0.02), [page1h, page6h, ticket1d, ticket3d]],
    ['burn 20 over 1h but the last 5 minutes are fine', ratios(0.02, { '5m': 0.0001 }), [page6h, ticket1d, ticket3d]],
    ['burn 20 in the last 5 minutes only', ratios(0.0001, { '5m': 0.02 }), []],
    ['exactly at 6 in 6h and 30m', ratios(0.0001, { '6h': 0.006, '30m': 0.006 }), []],
    ['just above 6 in 6h and 30m', ratios(0.0001, { '6h': 0.00601, '30m': 0.00601 }), [page6h]],
    ['burn 2 everywhere', ratios(0.002), [ticket3d]],
    ['no data anywhere', ratios(null), []],
    ['no data in the short window', ratios(0.02, { '5m': null }), [page6h, ticket1d, ticket3d]],
    ['NaN (0/0) and +Inf (errors over no total) are no data', ratios(0.02, { '5m': NaN, '30m': Infinity }), [ticket1d, ticket3d]],
  ])('%s', (_case, given, expected) => {
    expect(evaluateBurn(def(), DEFAULT_ALERT_TABLE, given).alerts).toEqual(expected);
  });

  it('reports no data as null, never as a burn rate', () => {
    const result = evaluateBurn(def(), DEFAULT_ALERT_TABLE, { '1h': NaN, '6h': -Infinity, '1d': 0 });
    expect(result.errorRatio).toEqual({ '5m': null, '30m': null, '1h': null, '2h': null, '6h': null, '1d': 0, '3d': null });
    expect(result.burnRate['1d']).toBe(0);
  });

  it('leaves out the severities Sloth disabled', () => {
    expect(evaluateBurn(def({ disabledAlerts: ['ticket'] }), DEFAULT_ALERT_TABLE, ratios(0.02)).alerts.map((a) => a.severity)).toEqual(['page', 'page']);
  });

  it('names the worst severity', () => {
    expect(worstSeverity([])).toBeNull();
    expect(worstSeverity([{ severity: 'ticket' }])).toBe('ticket');
    expect(worstSeverity([{ severity: 'ticket' }, { severity: 'page' }])).toBe('page');
  });
});

describe('budget remaining', () => {
  it.each([
    [0, 1],
    [0.0005, 0.5],
    [0.001, 0],
    [0.003, -2],
    [null, null],
    [NaN, null],
  ])('a ratio of %p over the period leaves %p of a 99.9%% budget', (ratio, left) => {
    expect(budgetRemaining(def(), ratio)).toBe(left);
  });
});

describe('traffic stopped', () => {
  it.each([
    [0, 12.5, true],
    [null, 12.5, true],
    [3, 12.5, false],
    [null, 0, false], // never had traffic
    [null, null, false],
    [0, NaN, false],
  ])('now %p, before %p: %p', (now, before, stopped) => {
    expect(trafficStopped(now, before)).toBe(stopped);
  });
});

describe('queries', () => {
  it('fills {{.window}}, with or without spaces, into both halves of an events ratio', () => {
    const d = def({ sli: { kind: 'events', errorQuery: 'sum(rate(e[{{ .window }}]))', totalQuery: 'sum(rate(t[{{.window}}])) or sum(rate(u[{{.window }}]))' } });
    expect(windowQuery(d, '5m')).toBe('(sum(rate(e[5m]))) / (sum(rate(t[5m])) or sum(rate(u[5m])))');
    expect(totalQuery(d, '30d')).toBe('sum(rate(t[30d])) or sum(rate(u[30d]))');
  });

  it('fills a raw ratio as it is, and has no total for it', () => {
    const d = def({ sli: { kind: 'raw', errorRatioQuery: 'slo:errors:ratio_rate{{.window}}' } });
    expect(windowQuery(d, '1h')).toBe('slo:errors:ratio_rate1h');
    expect(totalQuery(d, '1h')).toBeUndefined();
  });

  it('refuses a window that is not a PromQL duration', () => {
    expect(() => windowQuery(def(), '5m]) or vector(1) #')).toThrow(/not a PromQL duration/);
  });
});

const SLOTH = {
  version: 'prometheus/v1',
  service: 'k8s-apiserver',
  labels: { cluster: 'valhalla' },
  slos: [
    {
      name: 'requests-availability',
      objective: 99.9,
      description: 'Requests without a 5xx',
      sli: { events: { error_query: 'sum(rate(apiserver_request_total{code=~"5.."}[{{.window}}]))', total_query: 'sum(rate(apiserver_request_total[{{.window}}]))' } },
      alerting: {
        name: 'K8sApiserverAvailabilityAlert',
        labels: { category: 'availability' },
        annotations: { runbook: 'https://runbooks.example.com/apiserver' },
        page_alert: { labels: { severity: 'critical' } },
        ticket_alert: { disable: true },
      },
    },
    { name: 'latency', objective: 99, sli: { raw: { error_ratio_query: '1 - avg_over_time(ok[{{.window}}])' } } },
  ],
};

describe('Sloth specs', () => {
  it('reads a spec into definitions with the period given', () => {
    const spec = slothSpecSchema.parse(SLOTH);
    expect(definitionsFromSloth(spec, { windowMs: 28 * DAY })).toEqual([
      {
        service: 'k8s-apiserver',
        name: 'requests-availability',
        objective: 99.9,
        windowMs: 28 * DAY,
        sli: { kind: 'events', errorQuery: SLOTH.slos[0]!.sli.events!.error_query, totalQuery: SLOTH.slos[0]!.sli.events!.total_query },
        runbook: 'https://runbooks.example.com/apiserver',
        description: 'Requests without a 5xx',
        disabledAlerts: ['ticket'],
      },
      { service: 'k8s-apiserver', name: 'latency', objective: 99, windowMs: 28 * DAY, sli: { kind: 'raw', errorRatioQuery: '1 - avg_over_time(ok[{{.window}}])' } },
    ]);
    expect(definitionsFromSloth(spec).map((d) => d.windowMs)).toEqual([30 * DAY, 30 * DAY]);
  });

  const problems = (spec: unknown) => {
    const result = slothSpecSchema.safeParse(spec);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('lists every problem with its path and what would be right', () => {
    expect(
      problems({
        version: 'prometheus/v2',
        service: 'api',
        slos: [
          { name: 'a', objective: 100, sli: { events: { error_query: 'sum(rate(e[5m]))', total_query: 'sum(rate(t[{{.window}}]))' } }, alertin: {} },
          { name: 'a', objective: '99.9', sli: {} },
          { name: 'b', objective: 99, sli: { raw: { error_ratio_query: 'x[{{.windows}}]' } } },
        ],
      }),
    ).toEqual([
      'version: version must be "prometheus/v1" (Sloth\'s raw Prometheus spec)',
      'slos.0.objective: objective is a percent above 0 and below 100, like 99.9 (100 leaves no error budget to burn)',
      'slos.0.sli.events.error_query: the query `sum(rate(e[5m]))` has no {{.window}}; write its range as [{{.window}}], like sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
      'slos.0: unknown field "alertin"; use name, objective, description, labels, sli, alerting',
      'slos.1.objective: objective must be a percent, like 99.9',
      'slos.1.sli: set exactly one of events (error_query and total_query) or raw (error_ratio_query)',
      'slos.2.sli.raw.error_ratio_query: the query `x[{{.windows}}]` uses {{.windows}}; only {{.window}} is filled in',
    ]);
  });

  it('refuses two SLOs of a name, both SLI kinds at once, and SLI plugins', () => {
    const events = { error_query: 'e[{{.window}}]', total_query: 't[{{.window}}]' };
    expect(
      problems({
        ...SLOTH,
        slos: [
          { name: 'a', objective: 99, sli: { events } },
          { name: 'a', objective: 99, sli: { events, raw: { error_ratio_query: 'r[{{.window}}]' } } },
          { name: 'c', objective: 99, sli: { plugin: { id: 'sloth-common/availability' } } },
        ],
      }),
    ).toEqual([
      'slos.1.sli: set exactly one of events (error_query and total_query) or raw (error_ratio_query)',
      'slos.2.sli.plugin: SLI plugins are not supported; write the queries as events (error_query, total_query) or raw (error_ratio_query)',
      'slos.1.name: another SLO of k8s-apiserver is already named a; names must be unique',
    ]);
  });
});

describe("an SLO in shipmate.yml", () => {
  const slo = { name: 'availability', objective: 99.5, sli: { events: { error_query: 'e[{{.window}}]', total_query: 't[{{.window}}]' } } };

  it('defaults the period to 30d and takes its own runbook over the annotation', () => {
    const spec = sloSpecSchema.parse({ ...slo, window: '28d', runbook: 'https://wiki.example.com/slo', alerting: { annotations: { runbook_url: 'https://other.example.com' } } });
    expect(toSloDefinition('api', spec)).toMatchObject({ windowMs: 28 * DAY, runbook: 'https://wiki.example.com/slo' });
    expect(toSloDefinition('api', sloSpecSchema.parse({ ...slo, alerting: { annotations: { runbook_url: 'https://other.example.com' } } }))).toMatchObject({
      windowMs: 30 * DAY,
      runbook: 'https://other.example.com',
    });
  });

  it('says what is wrong with the period and the runbook', () => {
    const result = sloSpecSchema.safeParse({ ...slo, window: '30', runbook: 'wiki/slo' });
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'window: "30" is not a duration: use a number and a unit, like 30s, 5m or 1h',
      'runbook: runbook must be an http(s) URL',
    ]);
  });
});

describe('alert tables', () => {
  it('accepts the default table and refuses rows that cannot work', () => {
    expect(alertTableSchema.parse(DEFAULT_ALERT_TABLE)).toEqual(DEFAULT_ALERT_TABLE);
    const result = alertTableSchema.safeParse([
      { severity: 'page', longWindow: '5m', shortWindow: '1h', budgetPercent: 2 },
      { severity: 'warn', longWindow: '4h', shortWindow: '5m', budgetPercent: 0 },
    ]);
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      '0: shortWindow must be shorter than longWindow, like longWindow: 1h with shortWindow: 5m',
      '1.severity: severity must be page or ticket',
      '1.longWindow: a window must be one of: 5m, 30m, 1h, 2h, 6h, 1d, 3d',
      '1.budgetPercent: budgetPercent must be above 0',
    ]);
  });
});

/** Answers from a table of query -> ratio, holding each answer until released, counting queries in flight. */
class FakeProvider implements InstantMetricsProvider {
  inFlight = 0;
  maxInFlight = 0;
  readonly asked: InstantQuery[] = [];
  constructor(protected readonly answer: (query: string) => Measurement | Error) {}
  async query(q: InstantQuery): Promise<Measurement> {
    this.asked.push(q);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.inFlight--;
    const answer = this.answer(q.query);
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

describe('evaluating through the metrics port', () => {
  const AT = new Date('2024-06-10T12:00:00Z');
  const services = ['a', 'b', 'c'].map((s) => def({ service: s, sli: { kind: 'events', errorQuery: `e{s="${s}"}[{{.window}}]`, totalQuery: `t{s="${s}"}[{{.window}}]` } }));

  it('asks every window and the period at the given time, never more than `concurrency` at once', async () => {
    const provider = new FakeProvider(() => ({ kind: 'value', value: 0.02 }));
    const results = await evaluateSlos(services, DEFAULT_ALERT_TABLE, provider, AT, { concurrency: 3 });
    expect(provider.asked).toHaveLength(3 * 8);
    expect(provider.asked.every((q) => q.at === AT)).toBe(true);
    expect(provider.asked.filter((q) => q.query.includes('s="a"')).map((q) => q.query.match(/\[(\w+)\]/)![1])).toEqual(['30d', ...BURN_WINDOWS]);
    expect(provider.maxInFlight).toBe(3);
    expect(results.map((r) => [r.service, r.alerts.length, r.budgetRemaining, r.noData])).toEqual([
      ['a', 4, -19, false],
      ['b', 4, -19, false],
      ['c', 4, -19, false],
    ]);
  });

  it('marks the SLO whose query failed, naming it, and evaluates the others', async () => {
    const provider = new FakeProvider((query) =>
      query.includes('s="b"') && query.includes('[1h]') ? new ExternalServiceError(`Prometheus query \`${query}\` failed: HTTP 503`, true) : { kind: 'value', value: 0.0001 },
    );
    const results = await evaluateSlos(services, DEFAULT_ALERT_TABLE, provider, AT, { concurrency: 1 });
    expect(results[1]).toMatchObject({ service: 'b', error: 'Prometheus query `(e{s="b"}[1h]) / (t{s="b"}[1h])` failed: HTTP 503', alerts: [], budgetRemaining: null, noData: false });
    expect(Object.values(results[1]!.burnRate)).toEqual(BURN_WINDOWS.map(() => null));
    // Queued queries of b after the failure are not sent: 30d, 5m, 30m, 1h for b, all 8 for a and c.
    expect(provider.asked).toHaveLength(8 + 4 + 8);
    expect(results[0]!.error).toBeUndefined();
    expect(results[2]!.burnRate['1h']).toBeCloseTo(0.1, 12);
  });

  /** A backend that answers an SLO's queries in one request, as the Prometheus provider does. */
  class BatchingProvider extends FakeProvider {
    readonly batches: string[][] = [];
    async queryAll(q: { queries: readonly string[]; at?: Date }): Promise<Measurement[]> {
      this.batches.push([...q.queries]);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      this.inFlight--;
      return q.queries.map((query) => {
        const answer = this.answer(query);
        if (answer instanceof Error) throw answer;
        return answer;
      });
    }
  }

  it('sends an SLO\'s eight queries in one request to a backend that takes several, each request holding a slot', async () => {
    const provider = new BatchingProvider(() => ({ kind: 'value', value: 0.02 }));
    const results = await evaluateSlos(services, DEFAULT_ALERT_TABLE, provider, AT, { concurrency: 2 });
    expect(provider.asked).toHaveLength(0);
    expect(provider.batches).toHaveLength(3);
    expect(provider.batches[0]!.map((q) => q.match(/\[(\w+)\]/)![1])).toEqual(['30d', ...BURN_WINDOWS]);
    expect(provider.batches[0]!.every((q) => q.includes('s="a"'))).toBe(true);
    expect(provider.maxInFlight).toBe(2);
    expect(results.map((r) => [r.service, r.alerts.length, r.budgetRemaining, r.noData, r.error])).toEqual([
      ['a', 4, -19, false, undefined],
      ['b', 4, -19, false, undefined],
      ['c', 4, -19, false, undefined],
    ]);
  });

  it('marks the SLO whose request failed with the error the backend names, and evaluates the others', async () => {
    const provider = new BatchingProvider((query) =>
      query.includes('s="b"') && query.includes('[1h]') ? new ExternalServiceError(`Prometheus query \`${query}\` failed: 2 series answered`, false) : { kind: 'value', value: 0.0001 },
    );
    const results = await evaluateSlos(services, DEFAULT_ALERT_TABLE, provider, AT);
    expect(results[1]).toMatchObject({ service: 'b', error: 'Prometheus query `(e{s="b"}[1h]) / (t{s="b"}[1h])` failed: 2 series answered', alerts: [], budgetRemaining: null });
    expect(Object.values(results[1]!.errorRatio)).toEqual(BURN_WINDOWS.map(() => null));
    expect(results[0]!.error).toBeUndefined();
    expect(results[2]!.burnRate['1h']).toBeCloseTo(0.1, 12);
  });

  /** Refuses the batch of any SLO of service `refused`, for good or for now. */
  class RefusingProvider extends BatchingProvider {
    constructor(private readonly refused: string, private readonly lasting: boolean) {
      super(() => ({ kind: 'value', value: 0.02 }));
    }
    override async queryAll(q: { queries: readonly string[]; at?: Date }): Promise<Measurement[]> {
      if (q.queries[0]!.includes(`s="${this.refused}"`)) {
        this.batches.push([...q.queries]);
        throw new BatchRefusedError(`${q.queries.length} queries cannot be asked together`, this.lasting);
      }
      return super.queryAll(q);
    }
  }

  it('asks an SLO\'s queries one by one when the backend refuses them together, and for good when the refusal is lasting', async () => {
    const defs = services.map((d) => ({ ...d })); // fresh definitions: what was refused is remembered per definition
    const provider = new RefusingProvider('b', true);

    const first = await evaluateSlos(defs, DEFAULT_ALERT_TABLE, provider, AT, { concurrency: 2 });
    expect(first.map((r) => [r.service, r.alerts.length, r.budgetRemaining, r.error])).toEqual([
      ['a', 4, -19, undefined],
      ['b', 4, -19, undefined],
      ['c', 4, -19, undefined],
    ]);
    expect(provider.asked.map((q) => q.query.match(/s="(\w)"/)![1])).toEqual(Array(8).fill('b'));
    expect(provider.maxInFlight).toBeLessThanOrEqual(2);

    await evaluateSlos(defs, DEFAULT_ALERT_TABLE, provider, AT, { concurrency: 2 });
    expect(provider.batches.filter((b) => b[0]!.includes('s="b"'))).toHaveLength(1); // not offered together again
    expect(provider.asked).toHaveLength(16);
  });

  it('offers them together again on the next tick when the refusal was for now (a timeout)', async () => {
    const defs = services.map((d) => ({ ...d }));
    const provider = new RefusingProvider('b', false);

    await evaluateSlos(defs, DEFAULT_ALERT_TABLE, provider, AT);
    await evaluateSlos(defs, DEFAULT_ALERT_TABLE, provider, AT);

    expect(provider.batches.filter((b) => b[0]!.includes('s="b"'))).toHaveLength(2);
    expect(provider.asked).toHaveLength(16);
  });

  it('calls an SLO with no answer in any window no data', async () => {
    const provider = new FakeProvider(() => ({ kind: 'no-data' }));
    const [result] = await evaluateSlos([def()], DEFAULT_ALERT_TABLE, provider, AT);
    expect(result).toMatchObject({ noData: true, alerts: [], budgetRemaining: null });
  });

  it('hands a free slot to the longest waiting task', async () => {
    const limit = createLimiter(2);
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4].map((n) => limit(async () => order.push(n))));
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it('checks for stopped traffic over the stop window and the lookback', async () => {
    const provider = new FakeProvider((query) => (query.includes('[15m]') ? { kind: 'no-data' } : { kind: 'value', value: 166.6 }));
    expect(await evaluateTrafficStop(def(), provider, AT, 15 * 60_000, DAY)).toEqual({ stopped: true, totalNow: null, totalBefore: 166.6 });
    expect(provider.asked.map((q) => q.query)).toEqual(['sum(rate(t[15m]))', 'sum(rate(t[1d]))']);
    expect(await evaluateTrafficStop(def({ sli: { kind: 'raw', errorRatioQuery: 'r[{{.window}}]' } }), provider, AT, 15 * 60_000, DAY)).toBeUndefined();
  });
});
