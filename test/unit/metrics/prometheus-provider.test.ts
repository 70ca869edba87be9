import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExternalServiceError } from '../../../src/core/errors';
import { describeLabels, createPrometheusProvider, parsePrometheusValue } from '../../../src/metrics/prometheus-provider';

/**
 * Answers a real Prometheus will not give on demand (native histograms, a 503 timeout, proxies'
 * pages). Everything else is tested against a real Prometheus in test/integration.
 */
let answer: { status: number; body: string; headers?: Record<string, string> };
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

const answerWith = (status: number, body: unknown, headers?: Record<string, string>) => {
  answer = { status, body: typeof body === 'string' ? body : JSON.stringify(body), ...(headers ? { headers } : {}) };
};

const query = (q = 'up') => createPrometheusProvider({ url, timeoutMs: 2_000 }).query({ query: q, at: new Date(1_700_000_000_000) });

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

describe('parsePrometheusValue', () => {
  it.each([
    ['NaN', NaN],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['Inf', Infinity],
    ['0', 0],
    ['-0.5', -0.5],
    ['0.047619047619047616', 0.047619047619047616],
    ['1e+21', 1e21],
    ['1.5E-7', 1.5e-7],
  ])('reads %j as %d', (text, expected) => {
    expect(parsePrometheusValue(text)).toBe(expected);
  });

  it.each(['', ' ', '0x1f', 'abc', '1,5', '12ms'])('refuses %j', (text) => {
    expect(() => parsePrometheusValue(text)).toThrow('not a number');
  });

  it('refuses a value that is not a string', () => {
    expect(() => parsePrometheusValue(1)).toThrow('not a string');
  });
});

describe('describeLabels', () => {
  it('writes a series as PromQL does, labels sorted', () => {
    expect(describeLabels({ version: '1.4.2', __name__: 'up', code: '500' })).toBe('up{code="500", version="1.4.2"}');
    expect(describeLabels({})).toBe('{}');
  });
});

describe('prometheus provider: answers a real Prometheus rarely gives', () => {
  it('refuses a native histogram sample, saying what to do', async () => {
    answerWith(200, { status: 'success', data: { resultType: 'vector', result: [{ metric: { __name__: 'latency' }, histogram: [1_700_000_000, { count: '3', sum: '1', buckets: [] }] }] } });

    expect((await failure(query('latency'))).message).toContain('holds native histograms, not numbers; wrap it in histogram_quantile()');
  });

  it('marks a 503 timeout retryable and keeps the errorType', async () => {
    answerWith(503, { status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' });

    const error = await failure(query());

    expect(error.message).toBe(`Prometheus at ${new URL(url).host} query \`up\` failed: HTTP 503 timeout: query timed out in expression evaluation`);
    expect(error.retryable).toBe(true);
  });

  it('turns status "error" in a 2xx answer into an error', async () => {
    answerWith(200, { status: 'error', errorType: 'execution', error: 'expanding series: too many chunks' });

    const error = await failure(query());

    expect(error.message).toContain('`up` failed: execution: expanding series: too many chunks');
    expect(error.retryable).toBe(false);
  });

  it('passes on Retry-After from a 429', async () => {
    answerWith(429, 'too many requests', { 'retry-after': '3' });

    const error = await failure(query());

    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(3_000);
  });

  it('refuses a 200 that is not a Prometheus API answer (a login page)', async () => {
    answerWith(200, '<html>Sign in</html>');

    expect((await failure(query())).message).toContain('the answer is not a Prometheus API response: <html>Sign in</html>');
  });

  it('refuses a sample value it cannot read', async () => {
    answerWith(200, { status: 'success', data: { resultType: 'scalar', result: [1_700_000_000, 'lots'] } });

    expect((await failure(query())).message).toContain('a sample value is "lots", not a number');
  });

  it('answers no data for a range selector without samples', async () => {
    answerWith(200, { status: 'success', data: { resultType: 'matrix', result: [] } });

    expect(await query('up[5m]')).toEqual({ kind: 'no-data' });
  });

  it('refuses a range query answered with something other than a matrix', async () => {
    answerWith(200, { status: 'success', data: { resultType: 'vector', result: [] } });

    const error = await failure(createPrometheusProvider({ url, timeoutMs: 2_000 }).queryRange({ query: 'up', from: new Date(0), to: new Date(60_000), stepMs: 15_000 }));

    expect(error.message).toContain('a range query answered "vector", not a matrix');
  });

  it('says when nothing listens', async () => {
    const error = await failure(createPrometheusProvider({ url: 'http://127.0.0.1:1', timeoutMs: 2_000 }).query({ query: 'up' }));

    expect(error.message).toBe('Prometheus at 127.0.0.1:1 query `up` failed: could not reach 127.0.0.1:1: ECONNREFUSED');
    expect(error.retryable).toBe(true);
  });
});
