import fc from 'fast-check';
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { ExternalAlert } from '../../../flows/incident-service';
import type { DeployReport } from '../../../src/core/ports';
import { signWebhook } from '../../../src/deployers/webhook-deployer';
import { createAlertmanagerRoute } from '../../../src/http/alertmanager-route';
import { createCallbackRoute } from '../../../src/http/deploy-callbacks';
import { createOfrepRoutes, OFREP_BULK_PATH } from '../../../src/http/ofrep-routes';
import { createOpsRoutes, opsRequestListener } from '../../../src/http/ops-routes';
import { FakeFlagStore, newFlag } from '../fakes/fake-flag-store';

fc.configureGlobal({ seed: 42, numRuns: 100 });

const NOW = new Date('2026-06-01T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const CALLBACK_SECRET = 'callback-secret-0123456789';
const CALLBACK_KEYS = ['deploy-1-step-1', 'deploy-2-step-1', 'ключ-✓'];
const AM_TOKEN = 'am-token-0123456789abcdef';
const OFREP_KEYS = { prod: 'ofrep-prod-0123456789abcdef', staging: 'ofrep-staging-0123456789ab' };
const FLAG_KEYS = ['new-checkout', 'dark-mode', 'banner', 'targeted', 'ümlaut'];

type Answer = { status: number; headers: IncomingHttpHeaders; body: string } | { error: string };

let server: Server;
let port: number;
const thrown: unknown[] = [];
const unhandled: unknown[] = [];
const recorded: [string, DeployReport][] = [];
const received: ExternalAlert[][] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeAll(async () => {
  const flags = new FakeFlagStore();
  flags.create(newFlag({ key: 'new-checkout' }), NOW);
  flags.create(newFlag({ key: 'dark-mode', rollout: { percentage: 30, variant: 'on' }, defaultVariant: 'off' }), NOW);
  flags.create(newFlag({ key: 'banner', type: 'string', variants: { blue: '#00f', red: '#f00' }, defaultVariant: 'blue', offVariant: 'red', enabled: false }), NOW);
  flags.create(
    newFlag({
      key: 'targeted',
      defaultVariant: 'off',
      rules: [
        { attribute: 'plan', op: 'in', values: ['pro', 'enterprise'], variant: 'on' },
        { attribute: 'email', op: 'matches', values: ['^[a-z]+@example\\.com$'], variant: 'on' },
        { attribute: 'country', op: 'equals', values: ['DE'], variant: 'off' },
      ],
    }),
    NOW,
  );
  flags.create(newFlag({ key: 'ümlaut', environment: 'staging' }), NOW);
  const routes = [
    ...createOpsRoutes({ registry: new Registry(), checks: [] }),
    createCallbackRoute({
      inbox: { record: (key, report) => void recorded.push([key, report]) },
      secretFor: (key) => (CALLBACK_KEYS.includes(key) ? CALLBACK_SECRET : undefined),
      clock: () => NOW,
    }),
    createAlertmanagerRoute({ token: AM_TOKEN, serviceLabel: 'service', knownService: (name) => ['api', 'web'].includes(name), receive: (alerts) => void received.push(alerts) }),
    ...createOfrepRoutes({ flags, keys: OFREP_KEYS }),
  ];
  const listener = opsRequestListener(routes);
  // The listener runs inside a guard only so that a throw is recorded for the properties instead of ending the test process.
  server = createServer((req, res) => {
    try {
      listener(req, res);
    } catch (error) {
      thrown.push(error);
      res.destroy();
    }
  });
  process.on('unhandledRejection', onUnhandled);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

// Each test looks at what happened during its own requests.
beforeEach(() => {
  thrown.splice(0);
  unhandled.splice(0);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function send(
  method: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string | string[]> = {},
  options: { agent?: Agent | false; timeoutMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: options.agent ?? false, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => resolve({ error: String(error) }));
    });
    req.setTimeout(options.timeoutMs ?? 3_000, () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 3_000} ms`)));
    req.on('error', (error) => resolve({ error: String(error) }));
    req.end(body);
  });
}

/** Forgets what earlier runs recorded: each run of a property looks at its own request only. */
function fresh(): void {
  thrown.splice(0);
  unhandled.splice(0);
}

/** A 2xx or 4xx answer with a JSON body (or a 304 without one, where allowed); the server still answers after it. */
async function expectJsonAnswer(answer: Answer, { allow304 = false } = {}): Promise<{ status: number; json: unknown; headers: IncomingHttpHeaders }> {
  expect(thrown).toEqual([]);
  expect(unhandled).toEqual([]);
  if ('error' in answer) throw new Error(`the connection ended without an answer: ${answer.error}`);
  const { status, headers, body } = answer;
  const health = await send('GET', '/healthz', '');
  expect('status' in health && health.status).toBe(200);
  if (status === 304 && allow304) {
    expect(body).toBe('');
    return { status, json: undefined, headers };
  }
  if (!((status >= 200 && status < 300) || (status >= 400 && status < 500))) throw new Error(`status ${status}: ${body.slice(0, 300)}`);
  expect(headers['content-type']).toMatch(/^application\/json/);
  return { status, json: JSON.parse(body) as unknown, headers };
}

/** Bodies of every kind: bytes, JSON of any shape, deep nesting, long strings, Unicode, nothing. */
const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 1_000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`);
const anyBody = fc.oneof(
  fc.uint8Array({ maxLength: 2_048 }).map((bytes) => Buffer.from(bytes)),
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary' }),
  deepJson,
  fc.integer({ min: 1, max: 200_000 }).map((n) => JSON.stringify({ detail: 'x'.repeat(n) })),
  fc.constantFrom('', ' ', '{', '[]', '""', '0', 'true', '{"__proto__": {"status": "succeeded"}}', '{"constructor": 1}', '\ufeff{}'),
);
const isJsonNull = (body: string | Buffer) => body.toString().trim() === 'null';

describe('POST /deployments/callback', () => {
  const callbackShaped = fc
    .record({
      idempotencyKey: fc.oneof(fc.constantFrom(...CALLBACK_KEYS), fc.string(), fc.integer(), fc.constant(null)),
      status: fc.oneof(fc.constantFrom('succeeded', 'failed'), fc.string({ maxLength: 10 }), fc.boolean()),
      detail: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 50 }), fc.string({ minLength: 900, maxLength: 3_000 }), fc.integer(), fc.constant(null)),
    }, { requiredKeys: [] })
    .map((v) => JSON.stringify(v));
  const body = fc.oneof(anyBody, callbackShaped);
  const timestamp = fc.oneof(fc.constant(String(NOW_S)), fc.integer({ min: NOW_S - 600, max: NOW_S + 600 }).map(String), fc.constantFrom('', 'abc', '1e9', '-1', ' 1', '99999999999999999999'), fc.string({ unit: 'grapheme-ascii', maxLength: 12 }));

  /** Headers as a deployer might send them: correctly signed, signed wrongly, or not at all. */
  const headers = (text: string) =>
    fc.record({ ts: fc.option(timestamp), signature: fc.oneof(fc.constant('good'), fc.constant(null), fc.string({ unit: 'grapheme-ascii', maxLength: 72 })), contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded') }).map(({ ts, signature, contentType }) => {
      const h: Record<string, string> = { 'content-type': contentType };
      if (ts !== null) h['x-shipmate-timestamp'] = ts;
      if (signature === 'good') h['x-shipmate-signature'] = signWebhook(CALLBACK_SECRET, ts ?? '', text);
      else if (signature !== null) h['x-shipmate-signature'] = signature;
      return h;
    });

  const requestArb = body.filter((b) => !isJsonNull(b)).chain((b) => headers(b.toString()).map((h) => ({ body: b, headers: h })));

  it('any body and headers get a 2xx or 4xx JSON answer; 202 only for a signed, fresh report of a known deploy', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async ({ body: b, headers: h }) => {
        const before = recorded.length;
        const { status, json } = await expectJsonAnswer(await send('POST', '/deployments/callback', b, h));
        if (status === 202) {
          expect(json).toEqual({ accepted: true });
          const parsed = JSON.parse(b.toString()) as { idempotencyKey: string };
          expect(recorded.at(-1)![0]).toBe(parsed.idempotencyKey);
          expect(h['x-shipmate-signature']).toBe(signWebhook(CALLBACK_SECRET, h['x-shipmate-timestamp']!, b.toString()));
        } else {
          expect(recorded.length).toBe(before);
          expect(typeof (json as { error: unknown }).error).toBe('string');
        }
      }),
    );
  });

  it('a signed report of a known deploy is accepted as sent, its detail cut at 1,000 characters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CALLBACK_KEYS), fc.constantFrom('succeeded', 'failed'), fc.option(fc.string({ unit: 'grapheme', maxLength: 1_500 }), { nil: undefined }), fc.integer({ min: -300, max: 300 }), async (key, status, detail, skew) => {
        const text = JSON.stringify({ idempotencyKey: key, status, ...(detail !== undefined ? { detail } : {}) });
        const ts = String(NOW_S + skew);
        const { status: code } = await expectJsonAnswer(await send('POST', '/deployments/callback', text, { 'x-shipmate-timestamp': ts, 'x-shipmate-signature': signWebhook(CALLBACK_SECRET, ts, text) }));
        expect(code).toBe(202);
        expect(recorded.at(-1)).toEqual([key, { ok: status === 'succeeded', detail: (detail ?? '').slice(0, 1_000) }]);
      }),
      { numRuns: 50 },
    );
  });

  // BUG src/http/deploy-callbacks.ts, createCallbackRoute: JSON.parse('null') gives null and
  // `parsed.idempotencyKey` then throws TypeError: the answer is a 500 "internal error" instead
  // of a 400, for an unauthenticated request. Shrinks to the body "null".
  it('a JSON null body gets a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('null', ' null', 'null\n', '\tnull '), async (b) => {
        await expectJsonAnswer(await send('POST', '/deployments/callback', b, { 'x-shipmate-timestamp': String(NOW_S) }));
      }),
      { numRuns: 4 },
    );
  });
});

describe('POST /alerts/alertmanager', () => {
  const labelName = fc.oneof(fc.constantFrom('service', 'alertname', 'severity', 'sloth_severity', 'sloth_slo', 'slo', 'constructor', '__proto__', 'toString'), fc.string({ maxLength: 6 }));
  const labelValue = fc.oneof(fc.constantFrom('api', 'web', 'unknown', 'page', 'critical', 'CRITICAL', 'ticket', ''), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ minLength: 1_000, maxLength: 5_000 }));
  const alertArb = fc.record({
    status: fc.oneof(fc.constantFrom('firing', 'resolved'), fc.constantFrom('pending', '', 1)),
    labels: fc.oneof({ weight: 9, arbitrary: fc.dictionary(labelName, labelValue, { maxKeys: 6 }) }, fc.constant(null), fc.dictionary(labelName, fc.integer())),
    annotations: fc.option(fc.dictionary(fc.constantFrom('summary', 'description', 'runbook_url', 'runbook', 'constructor'), labelValue), { nil: undefined }),
  });
  const payload = fc.record({ version: fc.constantFrom('4', 4), status: fc.constantFrom('firing', 'resolved', 'other'), alerts: fc.oneof({ weight: 9, arbitrary: fc.array(alertArb, { maxLength: 30 }) }, fc.constant({})) }, { requiredKeys: ['alerts'] });
  const authorization = fc.oneof({ weight: 6, arbitrary: fc.constant(`Bearer ${AM_TOKEN}`) }, fc.constantFrom(`bearer ${AM_TOKEN}`, `Bearer ${AM_TOKEN} `, AM_TOKEN, 'Bearer ', `Bearer ${'x'.repeat(AM_TOKEN.length)}`), fc.string({ unit: 'grapheme-ascii', maxLength: 40 }), fc.constant(null));

  it('any body and Authorization get a 2xx or 4xx JSON answer; 200 counts every alert as accepted or ignored', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBody, payload.map((p) => JSON.stringify(p))), authorization, async (b, auth) => {
        const before = received.length;
        const { status, json } = await expectJsonAnswer(await send('POST', '/alerts/alertmanager', b, { 'content-type': 'application/json', ...(auth !== null ? { authorization: auth } : {}) }));
        if (status === 200) {
          const { alerts } = JSON.parse(b.toString()) as { alerts: unknown[] };
          const { accepted, ignored } = json as { accepted: number; ignored: number };
          expect(accepted + ignored).toBe(alerts.length);
          expect(received.at(-1)).toHaveLength(accepted);
          for (const alert of received.at(-1)!) expect(['api', 'web']).toContain(alert.service);
        } else expect(received.length).toBe(before);
      }),
    );
  });

  it('a body over 1 MB gets 413', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1024 * 1024 + 1, max: 1024 * 1024 + 100_000 }), async (size) => {
        const { status } = await expectJsonAnswer(await send('POST', '/alerts/alertmanager', 'x'.repeat(size), { authorization: `Bearer ${AM_TOKEN}` }));
        expect(status).toBe(413);
      }),
      { numRuns: 5 },
    );
  });
});

describe('POST /ofrep/v1/evaluate/flags[/:key]', () => {
  const attributeName = fc.oneof(fc.constantFrom('targetingKey', 'plan', 'email', 'country', 'constructor', '__proto__', 'toString'), fc.string({ maxLength: 6 }));
  const contextBody = fc
    .record({ context: fc.oneof({ weight: 9, arbitrary: fc.dictionary(attributeName, fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 1_200 })), { maxKeys: 5 }) }, fc.jsonValue()) }, { requiredKeys: [] })
    .map((c) => JSON.stringify(c));
  const deepContext = fc.integer({ min: 1, max: 300 }).map((depth) => `{"context":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`);
  const body = fc.oneof(anyBody, { weight: 3, arbitrary: contextBody }, deepContext);

  /** A path segment as clients send it: a key, encoded Unicode, bad percent escapes, dots. */
  const segment = fc.oneof(
    fc.constantFrom(...FLAG_KEYS).map(encodeURIComponent),
    fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent),
    fc.constantFrom('%', '%E0%A4%A', '%zz', '..', '.', '%2F', 'new-checkout%00', 'a%20b', '%C0%AF'),
  );
  const path = fc.oneof(fc.constant(OFREP_BULK_PATH), fc.constant(`${OFREP_BULK_PATH}/`), segment.map((s) => `${OFREP_BULK_PATH}/${s}`), fc.tuple(segment, segment).map(([a, b]) => `${OFREP_BULK_PATH}/${a}/${b}`));
  const apiKey = fc.constantFrom(OFREP_KEYS.prod, OFREP_KEYS.staging, 'wrong-key-0123456789abcdef', '');
  const auth = fc.record({
    authorization: fc.option(fc.oneof(apiKey.map((k) => `Bearer ${k}`), apiKey.map((k) => `bearer   ${k}  `), apiKey.map((k) => `Basic ${k}`), fc.string({ unit: 'grapheme-ascii', maxLength: 30 })), { nil: undefined }),
    'x-api-key': fc.option(fc.oneof(apiKey, fc.constant([OFREP_KEYS.prod, OFREP_KEYS.staging])), { nil: undefined }),
    'if-none-match': fc.option(fc.oneof(fc.constantFrom('*', '"x"', 'W/"x"', '', ','), fc.string({ unit: 'grapheme-ascii', maxLength: 20 })), { nil: undefined }),
  }).map((h) => JSON.parse(JSON.stringify(h)) as Record<string, string | string[]>);

  it('any path, body and credentials get a 2xx or 4xx JSON answer, or a 304 for a bulk request with If-None-Match', async () => {
    await fc.assert(
      fc.asyncProperty(path, body, auth, async (p, b, h) => {
        const bulk = p === OFREP_BULK_PATH;
        const { status, json, headers } = await expectJsonAnswer(await send('POST', p, b, { 'content-type': 'application/json', ...h }), { allow304: bulk && h['if-none-match'] !== undefined });
        if (status === 401) expect(headers['www-authenticate']).toBe('Bearer');
        if (status === 200 && !bulk) expect(json).toEqual(expect.objectContaining({ key: expect.any(String), variant: expect.any(String), reason: expect.any(String), metadata: expect.any(Object) }));
        if (status === 200 && bulk) {
          expect(headers.etag).toMatch(/^"\d+-[0-9a-f]{32}"$/);
          expect(Array.isArray((json as { flags: unknown[] }).flags)).toBe(true);
        }
      }),
    );
  });

  it('a bulk evaluation answers 304 to its own ETag (weak or strong) and the same flags to another', async () => {
    await fc.assert(
      fc.asyncProperty(contextBody, fc.constantFrom('prod', 'staging') as fc.Arbitrary<'prod' | 'staging'>, fc.boolean(), async (b, env, weak) => {
        const headers = { authorization: `Bearer ${OFREP_KEYS[env]}`, 'content-type': 'application/json' };
        const first = await expectJsonAnswer(await send('POST', OFREP_BULK_PATH, b, headers));
        if (first.status !== 200) return;
        const etag = first.headers.etag!;
        const again = await expectJsonAnswer(await send('POST', OFREP_BULK_PATH, b, { ...headers, 'if-none-match': weak ? `W/${etag}` : etag }), { allow304: true });
        expect(again.status).toBe(304);
        const other = await expectJsonAnswer(await send('POST', OFREP_BULK_PATH, b, { ...headers, 'if-none-match': '"0-00000000000000000000000000000000"' }));
        expect(other.json).toEqual(first.json);
      }),
      { numRuns: 50 },
    );
  });

  // Found: the context was serialised for the ETag by a recursive function, so a context nested a
  // few thousand levels deep (well within the 64 KB body limit) got a 500. Contexts deeper than 64
  // levels are now refused as INVALID_CONTEXT, measured without recursion.
  it('a bulk evaluation of a context nested up to 30,000 levels gets a 2xx or 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30_000 }), async (depth) => {
        const b = `{"context":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
        await expectJsonAnswer(await send('POST', OFREP_BULK_PATH, b, { authorization: `Bearer ${OFREP_KEYS.prod}` }));
      }),
      { numRuns: 20 },
    );
  });
});

describe('the request line', () => {
  /** Writes a raw request, so that the request-target can be anything the HTTP parser lets through. */
  function raw(target: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(`POST ${target} HTTP/1.1\r\nHost: shipmate\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`));
      let out = '';
      socket.setTimeout(3_000, () => socket.destroy());
      socket.on('data', (chunk) => (out += chunk.toString('latin1')));
      socket.on('close', () => resolve(out));
      socket.on('error', () => resolve(out));
    });
  }

  const urlChar = fc.constantFrom(...'abcxyz019/:@[]%?#.-_~!$&\'()*+,;=AZ'.split(''));
  const target = fc.tuple(fc.constantFrom('/', '/ofrep/v1/evaluate/flags/', '/alerts/', '//', '*', 'http://', 'http://localhost', 'https://x/'), fc.string({ unit: urlChar, maxLength: 20 })).map(([a, b]) => `${a}${b}`);
  const answersWell = (text: string) => /^HTTP\/1\.1 (2|4)\d\d /.test(text);

  it('paths in origin form (one leading slash) get an answer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: urlChar, maxLength: 30 }).filter((rest) => !rest.startsWith('/')), async (rest) => {
        fresh();
        expect(answersWell(await raw(`/${rest}`))).toBe(true);
        expect(thrown).toEqual([]);
      }),
    );
  });

  // BUG src/http/ops-routes.ts, opsRequestListener: `new URL(req.url, 'http://localhost')` throws
  // TypeError "Invalid URL" for request-targets that Node's HTTP parser lets through: `//` (an
  // empty authority), `http://[`, `http://x:99999/`. The throw happens synchronously in the
  // server's 'request' handler, so in Socket Mode (a plain http.createServer with this listener)
  // one `POST // HTTP/1.1` from anyone who can reach the port is an uncaught exception that ends
  // the process. Shrinks to "//".
  it('any request-target gets an answer, and the listener never throws', async () => {
    await fc.assert(
      fc.asyncProperty(target, async (t) => {
        fresh();
        const answer = await raw(t);
        expect(thrown).toEqual([]);
        expect(answersWell(answer)).toBe(true);
      }),
    );
  });
});

describe('keep-alive connections', () => {
  /** The answer, or an error once `ms` have passed since the request was made (waiting for a free socket included). */
  const within = (ms: number, answer: Promise<Answer>): Promise<Answer> =>
    Promise.race([answer, new Promise<Answer>((resolve) => setTimeout(() => resolve({ error: `no answer within ${ms} ms` }), ms).unref())]);

  // Found: readBody left its loop once the body was over the limit, which destroyed the request,
  // so the next request on that keep-alive connection waited for the server's keep-alive timeout
  // and then failed. The rest of the body is now read and dropped. Shrinking is off: a failing run waits.
  it('after a 413, the next request on the same connection is answered at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1024 * 1024, max: 8 * 1024 * 1024 }), async (size) => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        try {
          const big = await send('POST', '/deployments/callback', 'x'.repeat(size), {}, { agent });
          expect('status' in big && big.status).toBe(413);
          await expectJsonAnswer(await within(1_000, send('POST', '/deployments/callback', '{}', {}, { agent })));
        } finally {
          agent.destroy();
        }
      }),
      { numRuns: 2, endOnFailure: true },
    );
  });

  it('after a 413 for a body just over the limit, the connection goes on', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = await send('POST', '/deployments/callback', 'x'.repeat(64 * 1024 + 1), {}, { agent });
      expect('status' in big && big.status).toBe(413);
      expect((await expectJsonAnswer(await within(2_000, send('POST', '/deployments/callback', '{}', {}, { agent })))).status).toBe(400);
    } finally {
      agent.destroy();
    }
  });
});
