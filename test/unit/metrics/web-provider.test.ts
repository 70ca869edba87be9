import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { ConfigError, ExternalServiceError } from '../../../src/core/errors';
import { fillQueryTemplate } from '../../../src/core/query-template';
import { createWebProvider, type WebProviderSpec } from '../../../src/metrics/web-provider';
import { closeLocally, listenLocally } from '../../support/local-server';

/** An HTTP endpoint answering each path with a handler; it records every request. */
const routes = new Map<string, (res: ServerResponse) => void>();
const requests: { url: string; headers: IncomingHttpHeaders }[] = [];
let server: Server;
let base: string;

const json = (body: unknown, status = 200) => (res: ServerResponse) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    const handler = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (handler) handler(res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('no such metric');
  });
  base = await listenLocally(server);
});

afterAll(() => closeLocally(server));

beforeEach(() => {
  routes.clear();
  requests.length = 0;
  routes.set('/stats', json({ data: { errorRate: 0.0125, p99: '0.250', label: 'fast', healthy: true, nothing: null, nested: { a: 1 } }, results: [{ name: 'p50', value: 0.1 }, { name: 'p99', value: 0.9 }] }));
});

const web = (jsonPath: string, overrides: Partial<WebProviderSpec> = {}) => createWebProvider({ jsonPath, timeoutMs: 2_000, ...overrides });

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

describe('web provider: picking the value', () => {
  it.each([
    ['$.data.errorRate', 0.0125],
    ["$.results[?(@.name=='p99')].value", 0.9],
    ['$.results[0].value', 0.1],
    ['$.data.p99', 0.25], // numbers sent as strings
  ])('%s picks %d', async (path, expected) => {
    expect(await web(path).query({ query: `${base}/stats` })).toEqual({ kind: 'value', value: expected });
  });

  it('answers no data when the path matches nothing, or null', async () => {
    expect(await web('$.data.missing').query({ query: `${base}/stats` })).toEqual({ kind: 'no-data' });
    expect(await web("$.results[?(@.name=='p999')].value").query({ query: `${base}/stats` })).toEqual({ kind: 'no-data' });
    expect(await web('$.data.nothing').query({ query: `${base}/stats` })).toEqual({ kind: 'no-data' });
  });

  it.each([
    ['$.data.label', '"fast"'],
    ['$.data.healthy', 'true'],
    ['$.data.nested', '{"a":1}'],
  ])('refuses %s, which picks %s, not a number', async (path, shown) => {
    const error = await failure(web(path).query({ query: `${base}/stats` }));

    expect(error.message).toBe(`The web metric at ${new URL(base).host} query \`${base}/stats\` failed: the JSONPath ${path} picked ${shown}, which is not a number`);
    expect(error.retryable).toBe(false);
  });

  it('refuses a path that matches several values', async () => {
    const error = await failure(web('$.results[*].value').query({ query: `${base}/stats` }));

    expect(error.message).toContain('the JSONPath $.results[*].value matched 2 values where one was expected: 0.1, 0.9');
  });

  it('refuses an answer that is not JSON', async () => {
    routes.set('/stats', (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'));

    const error = await failure(web('$.value').query({ query: `${base}/stats` }));

    expect(error.message).toContain('the answer is not JSON: <html>login</html>');
  });

  it('refuses a JSONPath that does not start at the root', () => {
    expect(() => web('data.errorRate')).toThrow(ConfigError);
  });
});

describe('web provider: the request', () => {
  it('sends the filled-in URL, extra headers and bearer auth', async () => {
    const url = fillQueryTemplate(`${base}/stats?service={{service}}&version={{version}}`, { service: 'api', version: '1.4.2+build.7' }, { encode: encodeURIComponent });

    await web('$.data.errorRate', { headers: { 'X-Team': 'payments' }, auth: { type: 'bearer', token: 'web-token' } }).query({ query: url });

    const [request] = requests;
    expect(Object.fromEntries(new URL(request!.url, base).searchParams)).toEqual({ service: 'api', version: '1.4.2+build.7' });
    expect(request!.headers['x-team']).toBe('payments');
    expect(request!.headers.authorization).toBe('Bearer web-token');
  });

  it('sends basic auth', async () => {
    await web('$.data.errorRate', { auth: { type: 'basic', username: 'shipmate', password: 'pa:ss' } }).query({ query: `${base}/stats` });

    expect(requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('shipmate:pa:ss').toString('base64')}`);
  });

  it('turns a 4xx into an error that is not retried and a 5xx into one that is', async () => {
    routes.set('/down', (res) => res.writeHead(503).end('maintenance'));

    const missing = await failure(web('$.value').query({ query: `${base}/nope` }));
    const down = await failure(web('$.value').query({ query: `${base}/down` }));

    expect(missing.message).toContain(`\`${base}/nope\` failed: HTTP 404 no such metric`);
    expect(missing.retryable).toBe(false);
    expect(down.message).toContain('failed: HTTP 503 maintenance');
    expect(down.retryable).toBe(true);
  });

  it('gives up on an answer that trickles in past the timeout', async () => {
    const timers: NodeJS.Timeout[] = [];
    routes.set('/slow', (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"value": ');
      // A byte now and then keeps the socket busy, so only a total deadline ends it.
      timers.push(setInterval(() => res.write(' '), 50));
    });
    const started = Date.now();

    const error = await failure(web('$.value', { timeoutMs: 300 }).query({ query: `${base}/slow` }));
    timers.forEach(clearInterval);

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error.message).toMatch(/failed: no answer from 127\.0\.0\.1:\d+ within 300ms \(timeout\)/);
    expect(error.retryable).toBe(true);
  });

  it('refuses a query that is not an http URL', async () => {
    expect((await failure(web('$.value').query({ query: 'not a url' }))).message).toContain('the query is not a URL');
    expect((await failure(web('$.value').query({ query: 'file:///etc/passwd' }))).message).toContain('not http or https');
  });
});
