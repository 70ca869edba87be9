import { BatchRefusedError, ExternalServiceError } from '../../src/core/errors';
import type { Measurement } from '../../src/core/metrics';
import { createPrometheusProvider, type PrometheusProviderSpec } from '../../src/metrics/prometheus-provider';
import { fillQueryTemplate } from '../../src/core/query-template';
import {
  canaryLatency,
  PrometheusGateway,
  type PrometheusServer,
  REQUEST_RATES,
  sampleTime,
  startPrometheus,
} from '../support/prometheus-server';

let prometheus: PrometheusServer;
let gateway: PrometheusGateway;

beforeAll(async () => {
  prometheus = await startPrometheus();
  gateway = await new PrometheusGateway(prometheus.url).start();
});

afterAll(async () => {
  await gateway?.stop();
  await prometheus?.stop();
});

beforeEach(() => gateway.reset());

/** Well inside the data, so a 1m rate window is full. */
const AT = sampleTime(20);

const provider = (overrides: Partial<PrometheusProviderSpec> = {}) => createPrometheusProvider({ url: prometheus.url, timeoutMs: 5_000, ...overrides });

const value = (m: Measurement): number => {
  if (m.kind !== 'value') throw new Error(`expected a value, got ${JSON.stringify(m)}`);
  return m.value;
};

/** The error ratio a canary analysis would configure. */
const ERROR_RATIO =
  'sum(rate(shipmate_http_requests_total{service="{{service}}",version="{{version}}",code="500"}[{{window}}]))' +
  ' / sum(rate(shipmate_http_requests_total{service="{{service}}",version="{{version}}"}[{{window}}]))';
const errorRatio = (service: string, version: string) => fillQueryTemplate(ERROR_RATIO, { service, version, window: '1m' });

/** Failures over successes: x/0 when a service only fails. */
const failuresOverSuccesses = (service: string) =>
  `sum(rate(shipmate_http_requests_total{service="${service}",code="500"}[1m])) / sum(rate(shipmate_http_requests_total{service="${service}",code="200"}[1m]))`;

const perStep = (version: string, code: string) => REQUEST_RATES.find((r) => r.service === 'api' && r.version === version && r.code === code)!.perStep;
const expectedRatio = (version: string) => perStep(version, '500') / (perStep(version, '500') + perStep(version, '200'));

async function failure(promise: Promise<unknown>): Promise<ExternalServiceError> {
  const error = await promise.then(
    (result) => {
      throw new Error(`expected an error, got ${JSON.stringify(result)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExternalServiceError);
  return error as ExternalServiceError;
}

describe('instant queries against a real Prometheus', () => {
  it('reads one series of a vector, with the evaluation time', async () => {
    const m = await provider().query({ query: 'shipmate_latency_p99_seconds{version="1.4.2"}', at: AT });

    expect(m).toEqual({ kind: 'value', value: canaryLatency(20), at: AT });
  });

  it('fills a query template and computes the canary and baseline error ratios', async () => {
    const canary = value(await provider().query({ query: errorRatio('api', '1.4.2'), at: AT }));
    const baseline = value(await provider().query({ query: errorRatio('api', '1.4.1'), at: AT }));

    expect(canary).toBeCloseTo(expectedRatio('1.4.2'), 9); // 3 of 33
    expect(baseline).toBeCloseTo(expectedRatio('1.4.1'), 9); // 3 of 153
  });

  it('reads a scalar result', async () => {
    const m = await provider().query({ query: 'scalar(shipmate_latency_p99_seconds{version="1.4.1"}) * 2', at: AT });

    expect(m).toEqual({ kind: 'value', value: 0.5, at: AT });
  });

  it('reads a matrix result (a range selector) as its latest sample', async () => {
    const m = await provider().query({ query: 'shipmate_latency_p99_seconds{version="1.4.2"}[1m]', at: sampleTime(21) });

    expect(m).toEqual({ kind: 'value', value: canaryLatency(21), at: sampleTime(21) });
  });

  it('maps "NaN" to NaN: an error ratio of a service without traffic is 0/0', async () => {
    const m = await provider().query({ query: errorRatio('idle', '1.4.2'), at: AT });

    expect(m.kind).toBe('value');
    expect(Number.isNaN(value(m))).toBe(true);
  });

  it('maps "+Inf" to Infinity and "-Inf" to -Infinity', async () => {
    const positive = await provider().query({ query: failuresOverSuccesses('broken'), at: AT });
    const negative = await provider().query({ query: `-1 * (${failuresOverSuccesses('broken')})`, at: AT });

    expect(positive).toEqual({ kind: 'value', value: Infinity, at: AT });
    expect(negative).toEqual({ kind: 'value', value: -Infinity, at: AT });
  });

  it('answers no data for an empty result', async () => {
    expect(await provider().query({ query: 'shipmate_latency_p99_seconds{service="nope"}', at: AT })).toEqual({ kind: 'no-data' });
    // Before the data starts, and at the server's "now" (no time sent), the series do not exist.
    expect(await provider().query({ query: 'shipmate_latency_p99_seconds{version="1.4.2"}', at: sampleTime(-40) })).toEqual({ kind: 'no-data' });
    expect(await provider().query({ query: 'shipmate_latency_p99_seconds{version="1.4.2"}' })).toEqual({ kind: 'no-data' });
  });

  it('refuses several series where one is expected, naming the query and every series', async () => {
    const query = 'shipmate_latency_p99_seconds{service="api"}';
    const error = await failure(provider().query({ query, at: AT }));

    expect(error.message).toContain(`\`${query}\``);
    expect(error.message).toContain('2 series');
    expect(error.message).toContain('shipmate_latency_p99_seconds{env="prod", service="api", track="baseline", version="1.4.1"}');
    expect(error.message).toContain('shipmate_latency_p99_seconds{env="prod", service="api", track="canary", version="1.4.2"}');
    expect(error.retryable).toBe(false);
  });

  it('refuses a string result', async () => {
    const error = await failure(provider().query({ query: '"fast"', at: AT }));

    expect(error.message).toMatch(/`"fast"` failed: .*string "fast", not a number/);
  });

  it('turns a bad query into an error with Prometheus’ errorType and message', async () => {
    const query = 'sum(rate(shipmate_http_requests_total[1m]';
    const error = await failure(provider().query({ query, at: AT }));

    expect(error.message).toContain(`\`${query}\``);
    expect(error.message).toMatch(/HTTP 400 bad_data: .*parse error/);
    expect(error.retryable).toBe(false);
  });
});

describe('several instant queries in one request (queryAll)', () => {
  const viaGateway = () => provider({ url: gateway.url });
  /** What `query` answers for each, one request each: queryAll must answer exactly that. */
  const oneByOne = (queries: string[], at = AT) => Promise.all(queries.map((query) => provider().query({ query, at })));

  it('answers each query as `query` would, in order, from one form POST', async () => {
    const queries = [
      errorRatio('api', '1.4.2'),
      errorRatio('idle', '1.4.2'), // 0/0
      failuresOverSuccesses('broken'), // x/0
      'shipmate_latency_p99_seconds{service="nope"}', // nothing
      'shipmate_latency_p99_seconds{version="1.4.2"} # the canary',
    ];

    const answers = await viaGateway().queryAll!({ queries, at: AT });

    expect(answers).toEqual(await oneByOne(queries));
    expect(value(answers[0]!)).toBeCloseTo(expectedRatio('1.4.2'), 9);
    expect(Number.isNaN(value(answers[1]!))).toBe(true);
    expect(answers[2]).toEqual({ kind: 'value', value: Infinity, at: AT });
    expect(answers[3]).toEqual({ kind: 'no-data' });
    expect(answers[4]).toEqual({ kind: 'value', value: canaryLatency(20), at: AT });
    expect(gateway.requests).toHaveLength(1);
    const [request] = gateway.requests;
    expect(request!.method).toBe('POST');
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.headers['accept-encoding']).toBe('identity'); // a few hundred bytes: not worth gzip on either side
    const form = new URLSearchParams(request!.body);
    expect(form.get('query')).toContain('label_replace(');
    expect(form.get('time')).toBe((AT.getTime() / 1000).toFixed(3));
    expect(form.get('timeout')).toBe('5000ms');
  });

  /** What queryAll rejected with, which must be a BatchRefusedError. */
  async function refusal(promise: Promise<unknown>): Promise<BatchRefusedError> {
    const error = await failure(promise);
    expect(error).toBeInstanceOf(BatchRefusedError);
    return error as BatchRefusedError;
  }

  it('refuses for good a union holding a scalar or a range selector, after one request: each is to be asked on its own', async () => {
    for (const odd of ['scalar(shipmate_latency_p99_seconds{version="1.4.1"}) * 2', 'shipmate_latency_p99_seconds{version="1.4.2"}[1m]']) {
      gateway.reset();
      const error = await refusal(viaGateway().queryAll!({ queries: [errorRatio('api', '1.4.1'), odd], at: sampleTime(21) }));
      expect(error.lasting).toBe(true);
      expect(gateway.requests.map((r) => r.method)).toEqual(['POST']);
    }
    // On their own they answer, as they always did.
    expect(await provider().query({ query: 'scalar(shipmate_latency_p99_seconds{version="1.4.1"}) * 2', at: AT })).toEqual({ kind: 'value', value: 0.5, at: AT });
  });

  it('refuses for good a union holding a query Prometheus cannot parse', async () => {
    const error = await refusal(viaGateway().queryAll!({ queries: [errorRatio('api', '1.4.2'), 'sum(rate(shipmate_http_requests_total[1m]'], at: AT }));

    expect(error.lasting).toBe(true);
    expect(error.message).toMatch(/HTTP 400 bad_data: .*parse error/);
  });

  it('refuses for now a union that outlasts the deadline: one by one, each query gets a deadline of its own', async () => {
    gateway.stall = true;

    const error = await refusal(provider({ url: gateway.url, timeoutMs: 200 }).queryAll!({ queries: ['up', 'vector(1)'], at: AT }));

    expect(error.lasting).toBe(false);
    expect(error.message).toMatch(/no answer from 127\.0\.0\.1:\d+ within 200ms \(timeout\)/);
    expect(gateway.requests).toHaveLength(1);
  });

  it('fails every query with the first named when the backend is down, retryable, after one request', async () => {
    gateway.failWith = { status: 502, body: '<html><body>502 Bad Gateway</body></html>' };

    const error = await failure(viaGateway().queryAll!({ queries: ['up', 'vector(1)'], at: AT }));

    expect(error.message).toContain('`up` failed: HTTP 502');
    expect(error.retryable).toBe(true);
    expect(error).not.toBeInstanceOf(BatchRefusedError); // the backend is down: asking one by one would not help
    expect(gateway.requests).toHaveLength(1);
  });

  it('sends a single query as `query` does', async () => {
    expect(await viaGateway().queryAll!({ queries: ['vector(3)'], at: AT })).toEqual([{ kind: 'value', value: 3, at: AT }]);
    expect(await viaGateway().queryAll!({ queries: [], at: AT })).toEqual([]);
    expect(gateway.requests.map((r) => r.method)).toEqual(['GET']);
  });
});

describe('range queries against a real Prometheus', () => {
  it('returns the points of a series at each step', async () => {
    const series = await provider().queryRange({ query: 'shipmate_latency_p99_seconds{version="1.4.2"}', from: sampleTime(4), to: sampleTime(8), stepMs: 30_000 });

    expect(series).toEqual([
      {
        labels: { __name__: 'shipmate_latency_p99_seconds', service: 'api', env: 'prod', version: '1.4.2', track: 'canary' },
        points: [4, 6, 8].map((i) => ({ at: sampleTime(i), value: canaryLatency(i) })),
      },
    ]);
  });

  it('returns every series, baseline and canary', async () => {
    const series = await provider().queryRange({ query: 'sum by (version) (shipmate_latency_p99_seconds)', from: sampleTime(10), to: sampleTime(11), stepMs: 15_000 });

    const byVersion = Object.fromEntries(series.map((s) => [s.labels.version, s.points.map((p) => p.value)]));
    expect(byVersion).toEqual({ '1.4.1': [0.25, 0.25], '1.4.2': [canaryLatency(10), canaryLatency(11)] });
  });

  it('keeps NaN and infinite points as numbers', async () => {
    const [idle] = await provider().queryRange({ query: errorRatio('idle', '1.4.2'), from: sampleTime(10), to: sampleTime(12), stepMs: 15_000 });
    const [broken] = await provider().queryRange({ query: failuresOverSuccesses('broken'), from: sampleTime(10), to: sampleTime(12), stepMs: 15_000 });

    expect(idle!.points).toHaveLength(3);
    expect(idle!.points.every((p) => Number.isNaN(p.value))).toBe(true);
    expect(broken!.points.map((p) => p.value)).toEqual([Infinity, Infinity, Infinity]);
  });

  it('returns no series for an empty result', async () => {
    expect(await provider().queryRange({ query: 'shipmate_latency_p99_seconds{service="nope"}', from: sampleTime(0), to: sampleTime(10), stepMs: 15_000 })).toEqual([]);
  });

  it('turns a refused range into an error naming the query', async () => {
    const error = await failure(provider().queryRange({ query: 'shipmate_latency_p99_seconds', from: sampleTime(10), to: sampleTime(0), stepMs: 15_000 }));

    expect(error.message).toMatch(/`shipmate_latency_p99_seconds` failed: HTTP 400 bad_data: .*end timestamp must not be before start time/);
  });
});

describe('Prometheus-compatible backends behind a gateway', () => {
  it('sends bearer auth and extra headers to a URL with a path prefix', async () => {
    gateway.authorization = 'Bearer mimir-token-123';
    gateway.tenant = 'team-payments';
    const mimir = provider({ url: gateway.url, auth: { type: 'bearer', token: 'mimir-token-123' }, headers: { 'X-Scope-OrgID': 'team-payments' }, name: 'Mimir' });

    const m = await mimir.query({ query: 'shipmate_latency_p99_seconds{version="1.4.1"}', at: AT });
    const series = await mimir.queryRange({ query: 'shipmate_latency_p99_seconds{version="1.4.1"}', from: sampleTime(0), to: sampleTime(1), stepMs: 15_000 });

    expect(m).toEqual({ kind: 'value', value: 0.25, at: AT });
    expect(series).toHaveLength(1);
    const [instant, range] = gateway.requests;
    expect(new URL(instant!.path, 'http://x').pathname).toBe('/prometheus/api/v1/query');
    expect(new URL(range!.path, 'http://x').pathname).toBe('/prometheus/api/v1/query_range');
    expect(Object.fromEntries(new URL(instant!.path, 'http://x').searchParams)).toEqual({
      query: 'shipmate_latency_p99_seconds{version="1.4.1"}',
      time: (AT.getTime() / 1000).toFixed(3),
      timeout: '5000ms',
    });
    expect(instant!.headers['accept-encoding']).toBe('identity');
    expect(range!.headers['accept-encoding']).toMatch(/gzip/);
    for (const r of gateway.requests) {
      expect(r.headers.authorization).toBe('Bearer mimir-token-123');
      expect(r.headers['x-scope-orgid']).toBe('team-payments');
    }
  });

  it('sends basic auth', async () => {
    gateway.authorization = `Basic ${Buffer.from('grafana:s3cret').toString('base64')}`;

    const m = await provider({ url: gateway.url, auth: { type: 'basic', username: 'grafana', password: 's3cret' } }).query({ query: 'shipmate_latency_p99_seconds{version="1.4.1"}', at: AT });

    expect(value(m)).toBe(0.25);
  });

  it('turns a refusal (401) into an error that is not retried, naming the query', async () => {
    gateway.tenant = 'team-payments';

    const error = await failure(provider({ url: gateway.url, name: 'Mimir' }).query({ query: 'up', at: AT }));

    expect(error.message).toBe(`Mimir at ${new URL(gateway.url).host} query \`up\` failed: HTTP 401 unauthorized`);
    expect(error.retryable).toBe(false);
  });

  it('turns a proxy’s 502 page into a retryable error', async () => {
    gateway.failWith = { status: 502, body: '<html><body>502 Bad Gateway</body></html>' };

    const error = await failure(provider({ url: gateway.url }).query({ query: 'up', at: AT }));

    expect(error.message).toContain('`up` failed: HTTP 502 <html><body>502 Bad Gateway</body></html>');
    expect(error.retryable).toBe(true);
  });

  it('gives up on a backend that does not answer within the timeout', async () => {
    gateway.stall = true;
    const started = Date.now();

    const error = await failure(provider({ url: gateway.url, timeoutMs: 200 }).query({ query: 'up', at: AT }));

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error.message).toMatch(/`up` failed: no answer from 127\.0\.0\.1:\d+ within 200ms \(timeout\)/);
    expect(error.retryable).toBe(true);
    expect(gateway.requests).toHaveLength(1);
  });
});
