import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { ErrorCode, OpenFeature, type Client } from '@openfeature/server-sdk';
import { HTTPReceiver, LogLevel } from '@slack/bolt';
import { bucketOf } from '../../src/core/flag-evaluation';
import type { FlagStore } from '../../src/core/flags';
import { createOfrepRoutes } from '../../src/http/ofrep-routes';
import { opsRequestListener } from '../../src/http/ops-routes';
import { FakeFlagStore, newFlag } from '../unit/fakes/fake-flag-store';

/**
 * The OFREP routes as both servers run them: Bolt's HTTPReceiver (HTTP mode, as customRoutes) and
 * the plain server of Socket Mode. Flag evaluations go through the real OpenFeature SDK and OFREP provider.
 */

const KEYS = { prod: 'ofrep-prod-3f9a', staging: 'ofrep-staging-77c1' };
const NOW = new Date('2025-03-01T10:00:00Z');

let store: FakeFlagStore;
let bolt: HTTPReceiver;
let plain: Server;
const urls: Record<'bolt' | 'plain', string> = { bolt: '', plain: '' };

/** The servers start once; each test seeds a fresh store behind them. */
const currentStore: FlagStore = {
  get: (key, environment) => store.get(key, environment),
  all: (key) => store.all(key),
  list: (environment) => store.list(environment),
  create: (state, now) => store.create(state, now),
  save: (state) => store.save(state),
  revision: (environment) => store.revision(environment),
};

function seed(): FakeFlagStore {
  const flags = new FakeFlagStore();
  flags.create(newFlag({ key: 'new-checkout' }), NOW);
  flags.create(newFlag({ key: 'new-checkout', environment: 'staging', enabled: false }), NOW);
  flags.create(
    newFlag({
      key: 'banner',
      type: 'string',
      variants: { plain: 'plain', festive: 'festive' },
      defaultVariant: 'plain',
      offVariant: 'plain',
      rules: [{ attribute: 'plan', op: 'in', values: ['pro', 'enterprise'], variant: 'festive' }],
    }),
    NOW,
  );
  flags.create(newFlag({ key: 'max-batch', type: 'number', variants: { small: 10, large: 250 }, defaultVariant: 'large', offVariant: 'small' }), NOW);
  flags.create(
    newFlag({ key: 'limits', type: 'object', variants: { tight: { rps: 5, burst: [1, 2] }, loose: { rps: 50, burst: [10] } }, defaultVariant: 'loose', offVariant: 'tight' }),
    NOW,
  );
  flags.create(newFlag({ key: 'fast-search', defaultVariant: 'off', rollout: { percentage: 50, variant: 'on' } }), NOW);
  return flags;
}

/** A targeting key whose bucket for `flag` is inside (or outside) a rollout of `percentage`. */
function keyIn(flag: string, percentage: number, inside: boolean): string {
  for (let i = 0; ; i += 1) {
    const key = `user-${i}`;
    if (bucketOf(flag, key) < percentage === inside) return key;
  }
}

let domains = 0;
async function clientFor(baseUrl: string, key: string): Promise<Client> {
  const domain = `ofrep-test-${(domains += 1)}`;
  await OpenFeature.setProviderAndWait(domain, new OFREPProvider({ baseUrl, headers: [['Authorization', `Bearer ${key}`]] }));
  return OpenFeature.getClient(domain);
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.prod}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

beforeAll(async () => {
  // One set of routes for both servers, as main.ts wires them.
  const routes = createOfrepRoutes({ flags: currentStore, keys: KEYS });
  bolt = new HTTPReceiver({ signingSecret: 'not-used-by-custom-routes', endpoints: '/slack/events', customRoutes: routes, logLevel: LogLevel.ERROR });
  const boltServer = await bolt.start({ port: 0, host: '127.0.0.1' });
  urls.bolt = `http://127.0.0.1:${(boltServer.address() as AddressInfo).port}`;
  plain = createServer(opsRequestListener(routes));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  urls.plain = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
});

beforeEach(() => {
  store = seed();
});

afterAll(async () => {
  await OpenFeature.close();
  await bolt.stop();
  await new Promise<void>((resolve) => plain.close(() => resolve()));
});

describe('OpenFeature clients through Bolt (HTTP mode)', () => {
  it('evaluates boolean, string, number and object flags with variant, reason and metadata', async () => {
    const client = await clientFor(urls.bolt, KEYS.prod);
    expect(await client.getBooleanDetails('new-checkout', false)).toMatchObject({
      flagKey: 'new-checkout',
      value: true,
      variant: 'on',
      reason: 'STATIC',
      flagMetadata: { environment: 'prod', version: 1 },
    });
    expect(await client.getStringDetails('banner', 'none', { plan: 'pro' })).toMatchObject({ value: 'festive', variant: 'festive', reason: 'TARGETING_MATCH' });
    expect(await client.getStringDetails('banner', 'none', { plan: 'free' })).toMatchObject({ value: 'plain', variant: 'plain', reason: 'DEFAULT' });
    expect(await client.getNumberDetails('max-batch', 0)).toMatchObject({ value: 250, variant: 'large', reason: 'STATIC' });
    expect(await client.getObjectDetails('limits', {})).toMatchObject({ value: { rps: 50, burst: [10] }, variant: 'loose', reason: 'STATIC' });
  });

  it('sees a flag toggled in the store on the next evaluation', async () => {
    const client = await clientFor(urls.bolt, KEYS.prod);
    expect(await client.getBooleanValue('new-checkout', false)).toBe(true);
    store.save({ ...store.get('new-checkout', 'prod')!, enabled: false });
    expect(await client.getBooleanDetails('new-checkout', true)).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED', flagMetadata: { version: 6 } });
    expect(await client.getObjectValue('limits', {})).toEqual({ rps: 50, burst: [10] });
  });

  it("evaluates the flags of the key's environment", async () => {
    const staging = await clientFor(urls.bolt, KEYS.staging);
    expect(await staging.getBooleanDetails('new-checkout', true)).toMatchObject({ value: false, reason: 'DISABLED', flagMetadata: { environment: 'staging' } });
    expect(await staging.getStringDetails('banner', 'none')).toMatchObject({ value: 'none', errorCode: ErrorCode.FLAG_NOT_FOUND });
  });

  it('answers an unknown flag with FLAG_NOT_FOUND and the default value', async () => {
    const client = await clientFor(urls.bolt, KEYS.prod);
    expect(await client.getBooleanDetails('no-such-flag', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.FLAG_NOT_FOUND });
  });

  it('splits a rollout by targeting key, and asks for one when it is missing', async () => {
    const client = await clientFor(urls.bolt, KEYS.prod);
    const inside = keyIn('fast-search', 50, true);
    const outside = keyIn('fast-search', 50, false);
    expect(await client.getBooleanDetails('fast-search', false, { targetingKey: inside })).toMatchObject({ value: true, variant: 'on', reason: 'SPLIT' });
    expect(await client.getBooleanDetails('fast-search', true, { targetingKey: outside })).toMatchObject({ value: false, variant: 'off', reason: 'SPLIT' });
    expect(await client.getBooleanDetails('fast-search', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.TARGETING_KEY_MISSING });
  });

  it('reports a flag of another type as TYPE_MISMATCH and a wrong key as a general error', async () => {
    const client = await clientFor(urls.bolt, KEYS.prod);
    expect(await client.getStringDetails('new-checkout', 'x')).toMatchObject({ value: 'x', errorCode: ErrorCode.TYPE_MISMATCH });
    const stranger = await clientFor(urls.bolt, 'not-a-key');
    expect(await stranger.getBooleanDetails('new-checkout', false)).toMatchObject({ value: false, errorCode: ErrorCode.GENERAL });
  });
});

describe('single flag evaluation over HTTP (Bolt)', () => {
  const url = () => `${urls.bolt}/ofrep/v1/evaluate/flags/new-checkout`;

  it('answers with the OFREP success shape', async () => {
    const res = await post(url(), { context: { targetingKey: 'u1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ key: 'new-checkout', value: true, variant: 'on', reason: 'STATIC', metadata: { environment: 'prod', version: 1 } });
  });

  it('accepts the key as X-API-Key and an empty body as an empty context', async () => {
    const res = await fetch(url(), { method: 'POST', headers: { 'x-api-key': KEYS.staging } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ value: false, reason: 'DISABLED' });
  });

  it.each([
    ['a wrong key', { authorization: 'Bearer ofrep-prod-3f9b' }],
    ['no key', { authorization: '' }],
    ['another scheme', { authorization: `Basic ${KEYS.prod}` }],
  ])('answers 401 to %s', async (_case, headers) => {
    const res = await post(url(), { context: {} }, headers);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it.each([
    ['a body that is not JSON', '{"context": ', 'PARSE_ERROR'],
    ['a context that is not an object', { context: 'u1' }, 'PARSE_ERROR'],
    ['a targeting key that is not a string', { context: { targetingKey: 7 } }, 'INVALID_CONTEXT'],
    ['a body over 64 KiB', { context: { blob: 'x'.repeat(70_000) } }, 'INVALID_CONTEXT'],
  ])('answers 400 to %s', async (_case, body, errorCode) => {
    const res = await post(url(), body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ key: 'new-checkout', errorCode, errorDetails: expect.any(String) });
  });

  it('answers 404 FLAG_NOT_FOUND with the key, and decodes the key in the path', async () => {
    const res = await post(`${urls.bolt}/ofrep/v1/evaluate/flags/no%20such`, { context: {} });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ key: 'no such', errorCode: 'FLAG_NOT_FOUND', errorDetails: 'no flag no such in prod' });
  });

  it('leaves other methods to Bolt, which answers 404', async () => {
    const res = await fetch(url(), { method: 'GET', headers: { authorization: `Bearer ${KEYS.prod}` } });
    expect(res.status).toBe(404);
  });
});

describe.each(['bolt', 'plain'] as const)('bulk evaluation (%s server)', (server) => {
  const url = () => `${urls[server]}/ofrep/v1/evaluate/flags`;

  it('evaluates every flag of the environment, with per-flag errors inside, and an ETag', async () => {
    const res = await post(url(), { context: { plan: 'pro' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toMatch(/^"[^"]+"$/);
    const body = (await res.json()) as { flags: { key: string }[] };
    expect(body.flags.map((f) => f.key)).toEqual(['banner', 'fast-search', 'limits', 'max-batch', 'new-checkout']);
    expect(body.flags).toContainEqual({ key: 'banner', value: 'festive', variant: 'festive', reason: 'TARGETING_MATCH', metadata: { environment: 'prod', version: 2 } });
    expect(body.flags).toContainEqual({ key: 'fast-search', errorCode: 'TARGETING_KEY_MISSING', errorDetails: expect.any(String) });
  });

  it('answers 304 without a body to a matching If-None-Match, and a new ETag once a flag changes', async () => {
    const context = { context: { targetingKey: 'u1', plan: 'free' } };
    const first = await post(url(), context);
    const etag = first.headers.get('etag')!;
    for (const ifNoneMatch of [etag, `W/${etag}`, `"something-else", ${etag}`]) {
      const again = await post(url(), context, { 'if-none-match': ifNoneMatch });
      expect(again.status).toBe(304);
      expect(again.headers.get('etag')).toBe(etag);
      expect(await again.text()).toBe('');
    }
    // The same context in another key order is the same representation.
    expect((await post(url(), { context: { plan: 'free', targetingKey: 'u1' } }, { 'if-none-match': etag })).status).toBe(304);

    store.save({ ...store.get('max-batch', 'prod')!, enabled: false });
    const changed = await post(url(), context, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(((await changed.json()) as { flags: unknown[] }).flags).toContainEqual(expect.objectContaining({ key: 'max-batch', value: 10, reason: 'DISABLED' }));
  });

  it('gives another context, another environment and a new flag another ETag', async () => {
    const etagOf = async (body: unknown, key = KEYS.prod) => (await post(url(), body, { authorization: `Bearer ${key}` })).headers.get('etag');
    const base = await etagOf({ context: { targetingKey: 'u1' } });
    expect(await etagOf({ context: { targetingKey: 'u2' } })).not.toBe(base);
    expect(await etagOf({ context: { targetingKey: 'u1' } }, KEYS.staging)).not.toBe(base);
    store.create(newFlag({ key: 'another' }), NOW);
    expect(await etagOf({ context: { targetingKey: 'u1' } })).not.toBe(base);
  });

  it('answers 401 to a wrong key, before looking at If-None-Match', async () => {
    const etag = (await post(url(), { context: {} })).headers.get('etag')!;
    const res = await post(url(), { context: {} }, { authorization: 'Bearer nope', 'if-none-match': etag });
    expect(res.status).toBe(401);
  });

  it('answers 400 PARSE_ERROR, without a key, to a body that is not JSON', async () => {
    const res = await post(url(), 'context=1');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ errorCode: 'PARSE_ERROR', errorDetails: 'the body is not JSON' });
  });
});

describe('single flag evaluation in Socket Mode (plain server)', () => {
  it('serves POST /ofrep/v1/evaluate/flags/:key with the key decoded, and 405 for another method', async () => {
    const res = await post(`${urls.plain}/ofrep/v1/evaluate/flags/max-batch`, { context: { targetingKey: 'u1' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ key: 'max-batch', value: expect.any(Number) });
    const missing = await post(`${urls.plain}/ofrep/v1/evaluate/flags/no%2Dsuch`, { context: {} });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ key: 'no-such', errorCode: 'FLAG_NOT_FOUND' });
    const wrongMethod = await fetch(`${urls.plain}/ofrep/v1/evaluate/flags/max-batch`, { method: 'GET', headers: { authorization: `Bearer ${KEYS.prod}` } });
    expect(wrongMethod.status).toBe(405);
  });
});
