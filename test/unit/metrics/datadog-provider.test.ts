import axios, { type AxiosAdapter, type InternalAxiosRequestConfig } from 'axios';
import { ConfigError, ExternalServiceError } from '../../../src/core/errors';
import { createDatadogProvider, datadogApiUrl, type DatadogProviderSpec } from '../../../src/metrics/datadog-provider';
import { FakeDatadog } from '../../support/fake-datadog';

const API_KEY = 'dd-api-0123456789abcdef';
const APP_KEY = 'dd-app-fedcba9876543210';
const NOW = new Date('2024-03-01T12:10:00Z');
const minute = 60_000;
const at = (minutesBeforeNow: number) => NOW.getTime() - minutesBeforeNow * minute;

const CANARY_ERRORS = 'avg:trace.http.request.errors{service:api,version:1.4.2}.as_rate()';

let datadog: FakeDatadog;

beforeEach(async () => {
  datadog = await new FakeDatadog(API_KEY, APP_KEY).start();
});

afterEach(() => datadog.stop());

const provider = (overrides: Partial<DatadogProviderSpec> = {}) =>
  createDatadogProvider({ url: datadog.url, apiKey: API_KEY, appKey: APP_KEY, timeoutMs: 2_000, ...overrides }, { clock: () => NOW });

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

describe('datadog provider, instant queries', () => {
  it('sends both keys and the query over the lookback window, and reads the last point', async () => {
    datadog.series.set(CANARY_ERRORS, [
      { metric: 'trace.http.request.errors', scope: 'service:api,version:1.4.2', points: [[at(3), 0.5], [at(2), 0.75], [at(1), 1.25]] },
    ]);

    const m = await provider().query({ query: CANARY_ERRORS });

    expect(m).toEqual({ kind: 'value', value: 1.25, at: new Date(at(1)) });
    expect(datadog.requests).toHaveLength(1);
    const [request] = datadog.requests;
    expect(request!.path).toBe('/api/v1/query');
    expect(request!.query).toEqual({ query: CANARY_ERRORS, from: String((NOW.getTime() - 5 * minute) / 1000), to: String(NOW.getTime() / 1000) });
    expect(request!.headers['dd-api-key']).toBe(API_KEY);
    expect(request!.headers['dd-application-key']).toBe(APP_KEY);
  });

  it('evaluates at the given time, looking back as far as configured', async () => {
    datadog.series.set(CANARY_ERRORS, [{ metric: 'trace.http.request.errors', scope: 'service:api,version:1.4.2', points: [[at(9), 2], [at(6), 3], [at(1), 4]] }]);

    const m = await provider({ lookbackMs: 2 * minute }).query({ query: CANARY_ERRORS, at: new Date(at(5)) });

    expect(m).toEqual({ kind: 'value', value: 3, at: new Date(at(6)) });
  });

  it('skips a trailing null point (the newest interval, still filling)', async () => {
    datadog.series.set(CANARY_ERRORS, [{ metric: 'trace.http.request.errors', scope: 'service:api,version:1.4.2', points: [[at(2), 0.5], [at(1), null]] }]);

    expect(await provider().query({ query: CANARY_ERRORS })).toEqual({ kind: 'value', value: 0.5, at: new Date(at(2)) });
  });

  it('answers no data when no series matches, or its points are all null', async () => {
    expect(await provider().query({ query: CANARY_ERRORS })).toEqual({ kind: 'no-data' });

    datadog.series.set(CANARY_ERRORS, [{ metric: 'trace.http.request.errors', scope: 'service:api,version:1.4.2', points: [[at(1), null]] }]);
    expect(await provider().query({ query: CANARY_ERRORS })).toEqual({ kind: 'no-data' });
  });

  it('refuses several series, naming the query and each series', async () => {
    const query = 'avg:trace.http.request.errors{service:api} by {version}';
    datadog.series.set(query, [
      { metric: 'trace.http.request.errors', scope: 'service:api,version:1.4.1', tagSet: ['version:1.4.1'], points: [[at(1), 0.1]] },
      { metric: 'trace.http.request.errors', scope: 'service:api,version:1.4.2', tagSet: ['version:1.4.2'], points: [[at(1), 0.9]] },
    ]);

    const error = await failure(provider().query({ query }));

    expect(error.message).toContain(`\`${query}\``);
    expect(error.message).toContain('2 series answered where one was expected');
    expect(error.message).toContain('avg:trace.http.request.errors{service:api,version:1.4.1}');
    expect(error.message).toContain('avg:trace.http.request.errors{service:api,version:1.4.2}');
    expect(error.retryable).toBe(false);
  });

  it('turns refused keys (403) into an error that is not retried', async () => {
    const error = await failure(provider({ appKey: 'wrong' }).query({ query: CANARY_ERRORS }));

    expect(error.message).toBe(`Datadog (${new URL(datadog.url).host}) query \`${CANARY_ERRORS}\` failed: HTTP 403 Forbidden`);
    expect(error.retryable).toBe(false);
  });

  it('turns a query Datadog cannot parse (400) into an error with its explanation', async () => {
    const query = 'avg:trace.http.request.errors{service:api';

    const error = await failure(provider().query({ query }));

    expect(error.message).toContain(`\`${query}\` failed: HTTP 400 Error parsing query`);
    expect(error.retryable).toBe(false);
  });

  it('turns status "error" in a 200 answer into an error', async () => {
    datadog.override = { status: 200, body: { status: 'error', error: 'Query timed out', series: [] } };

    const error = await failure(provider().query({ query: CANARY_ERRORS }));

    expect(error.message).toContain('failed: Query timed out');
  });

  it('marks rate limiting retryable, with the reset time Datadog sends', async () => {
    datadog.override = { status: 429, body: { errors: ['Rate limit of 1600 requests in 3600 seconds reached.'] }, headers: { 'x-ratelimit-reset': '17' } };

    const error = await failure(provider().query({ query: CANARY_ERRORS }));

    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(17_000);
    expect(error.message).toContain('HTTP 429 Rate limit of 1600 requests');
  });

  it('refuses an answer that is not a query response', async () => {
    datadog.override = { status: 200, body: { hello: 'world' } };

    const error = await failure(provider().query({ query: CANARY_ERRORS }));

    expect(error.message).toContain('the answer has no series list');
  });
});

describe('datadog provider, range queries', () => {
  it('returns every series with its tags as labels, without null points', async () => {
    const query = 'avg:trace.http.request.errors{service:api} by {version}';
    datadog.series.set(query, [
      { metric: 'trace.http.request.errors', scope: 'service:api,version:1.4.1', tagSet: ['version:1.4.1'], points: [[at(30), 9], [at(3), 0.1], [at(2), 0.2]] },
      { metric: 'trace.http.request.errors', scope: 'service:api,version:1.4.2', tagSet: ['version:1.4.2'], points: [[at(3), 0.9], [at(2), null]] },
    ]);

    const series = await provider().queryRange({ query, from: new Date(at(4)), to: NOW, stepMs: 60_000 });

    expect(series).toEqual([
      { labels: { version: '1.4.1' }, points: [{ at: new Date(at(3)), value: 0.1 }, { at: new Date(at(2)), value: 0.2 }] },
      { labels: { version: '1.4.2' }, points: [{ at: new Date(at(3)), value: 0.9 }] },
    ]);
    expect(datadog.requests[0]!.query).toMatchObject({ from: String(at(4) / 1000), to: String(NOW.getTime() / 1000) });
  });

  it('labels an ungrouped series by its scope', async () => {
    datadog.series.set(CANARY_ERRORS, [{ metric: 'trace.http.request.errors', scope: 'service:api,version:1.4.2', points: [[at(1), 1]] }]);

    const [series] = await provider().queryRange({ query: CANARY_ERRORS, from: new Date(at(5)), to: NOW, stepMs: 60_000 });

    expect(series!.labels).toEqual({ service: 'api', version: '1.4.2' });
  });

  it('returns no series when nothing matches', async () => {
    expect(await provider().queryRange({ query: CANARY_ERRORS, from: new Date(at(5)), to: NOW, stepMs: 60_000 })).toEqual([]);
  });
});

describe('datadog sites', () => {
  it.each([
    ['datadoghq.com', 'https://api.datadoghq.com'],
    ['datadoghq.eu', 'https://api.datadoghq.eu'],
    ['us3.datadoghq.com', 'https://api.us3.datadoghq.com'],
    ['us5.datadoghq.com', 'https://api.us5.datadoghq.com'],
    ['ap1.datadoghq.com', 'https://api.ap1.datadoghq.com'],
    ['ddog-gov.com', 'https://api.ddog-gov.com'],
    ['app.datadoghq.eu', 'https://api.datadoghq.eu'],
    ['https://app.datadoghq.com/', 'https://api.datadoghq.com'],
  ])('%s is served at %s', (site, url) => {
    expect(datadogApiUrl(site)).toBe(url);
  });

  it.each(['datadoghq.co', 'evil.example.com', 'datadoghq.com.evil.net', ''])('refuses %j, which is not a Datadog site', (site) => {
    expect(() => datadogApiUrl(site)).toThrow(ConfigError);
  });

  it('queries the API host of the configured site when no URL overrides it', async () => {
    const seen: InternalAxiosRequestConfig[] = [];
    // Stands in for the network: records the request and answers like Datadog would.
    const adapter: AxiosAdapter = async (config) => {
      seen.push(config);
      return { data: JSON.stringify({ status: 'ok', series: [] }), status: 200, statusText: 'OK', headers: {}, config };
    };
    const eu = createDatadogProvider({ site: 'datadoghq.eu', apiKey: API_KEY, appKey: APP_KEY, timeoutMs: 1_000 }, { clock: () => NOW, http: axios.create({ adapter }) });

    expect(await eu.query({ query: CANARY_ERRORS })).toEqual({ kind: 'no-data' });
    expect(seen[0]!.url).toBe('https://api.datadoghq.eu/api/v1/query');
    expect(seen[0]!.headers['dd-api-key']).toBe(API_KEY);
  });
});
