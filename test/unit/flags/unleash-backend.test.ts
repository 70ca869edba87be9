import { inspect } from 'node:util';
import { ExternalServiceError, ValidationError } from '../../../src/core/errors';
import { createUnleashBackend, type UnleashBackendSpec } from '../../../src/flags/unleash-backend';
import { FakeUnleash } from '../../support/fake-unleash';

const TOKEN = 'user:2c5e9f0a1b7d4c3e8f6a5b4c3d2e1f0a';
const FLAG = 'new-checkout';
const FEATURE_PATH = '/api/admin/projects/default/features/new-checkout';
const PRODUCTION = `${FEATURE_PATH}/environments/production`;

let unleash: FakeUnleash;

beforeEach(async () => {
  unleash = await new FakeUnleash(TOKEN, 'default', ['development', 'production']).start();
  unleash.addFeature(FLAG);
});

afterEach(() => unleash.stop());

const backend = (overrides: Partial<UnleashBackendSpec> = {}) =>
  createUnleashBackend({ url: unleash.url, token: TOKEN, timeoutMs: 2_000, retries: 2, ...overrides }, { retryDelayMs: 1 });

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

const printed = (error: ExternalServiceError) => `${error.message} ${error.userMessage} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`;

const flexible = (rollout: string, extra: Record<string, string> = {}) => ({ name: 'flexibleRollout', parameters: { rollout, stickiness: 'default', groupId: FLAG, ...extra } });

describe('unleash backend, turning a flag on and off', () => {
  it('posts to the environment on endpoint with the token as it is, and reads the flag on afterwards', async () => {
    unleash.addStrategy(FLAG, 'production', flexible('30'));
    const flags = backend();

    await flags.setEnabled(FLAG, 'production', true, 'release 1.4.2 by @ana');

    const [request] = unleash.requestsTo('POST');
    expect(request!.path).toBe(`${PRODUCTION}/on`);
    expect(request!.headers.authorization).toBe(TOKEN);
    expect(request!.body).toBe('');
    expect(unleash.changes).toEqual(['production: on']);
    expect(unleash.env(FLAG, 'development').enabled).toBe(false);
    expect(await flags.read(FLAG, 'production')).toEqual({ enabled: true, rollout: 30 });
  });

  it('posts to off', async () => {
    unleash.env(FLAG, 'production').enabled = true;

    await backend().setEnabled(FLAG, 'production', false, 'rollback');

    expect(unleash.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${PRODUCTION}/off`]);
    expect((await backend().read(FLAG, 'production')).enabled).toBe(false);
  });

  it('reads the 100% strategy Unleash adds when a flag without strategies is turned on', async () => {
    const flags = backend();

    await flags.setEnabled(FLAG, 'production', true, 'go');

    expect(await flags.read(FLAG, 'production')).toEqual({ enabled: true, rollout: 100 });
  });

  it("uses the project and the Unleash environment mapped from Shipmate's, and accepts a URL ending in /api/", async () => {
    const other = await new FakeUnleash(TOKEN, 'payments', ['dev', 'prod']).start();
    try {
      other.addFeature(FLAG);
      const flags = createUnleashBackend({ url: `${other.url}/api/`, token: TOKEN, projectId: 'payments', environments: { production: 'prod' } }, { retryDelayMs: 1 });

      await flags.setEnabled(FLAG, 'production', true, 'go');

      expect(other.requests.map((r) => r.path)).toEqual(['/api/admin/projects/payments/features/new-checkout/environments/prod/on']);
      expect(other.env(FLAG, 'prod').enabled).toBe(true);
    } finally {
      await other.stop();
    }
  });
});

describe('unleash backend, rollouts', () => {
  it("patches only the flexibleRollout strategy's rollout, keeping its stickiness, group, constraints and segments", async () => {
    const constraints = [{ contextName: 'region', operator: 'IN', values: ['eu'] }];
    const strategy = unleash.addStrategy(FLAG, 'production', { ...flexible('5', { stickiness: 'sessionId', groupId: 'checkout' }), constraints, segments: [3] });
    const flags = backend();

    await flags.setRollout(FLAG, 'production', 25, 'canary step 2');

    expect(unleash.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET ${FEATURE_PATH}`, `PATCH ${PRODUCTION}/strategies/${strategy.id}`]);
    const patch = unleash.requestsTo('PATCH')[0]!;
    expect(patch.headers['content-type']).toBe('application/json');
    expect(patch.headers.authorization).toBe(TOKEN);
    expect(JSON.parse(patch.body)).toEqual([{ op: 'replace', path: '/parameters/rollout', value: '25' }]);
    expect(unleash.env(FLAG, 'production').strategies).toEqual([
      expect.objectContaining({ id: strategy.id, parameters: { rollout: '25', stickiness: 'sessionId', groupId: 'checkout' }, constraints, segments: [3] }),
    ]);
    expect(await flags.read(FLAG, 'production')).toEqual({ enabled: false, rollout: 25 });
  });

  it('creates a flexibleRollout strategy where the environment has none', async () => {
    unleash.addStrategy(FLAG, 'production', { name: 'userWithId', parameters: { userIds: 'ana,bo' } });
    const flags = backend();

    await flags.setRollout(FLAG, 'production', 10, 'first step');

    const post = unleash.requestsTo('POST')[0]!;
    expect(post.path).toBe(`${PRODUCTION}/strategies`);
    expect(post.headers['content-type']).toBe('application/json');
    expect(JSON.parse(post.body)).toEqual({ name: 'flexibleRollout', constraints: [], parameters: { rollout: '10', stickiness: 'default', groupId: FLAG } });
    expect(unleash.env(FLAG, 'production').strategies.map((s) => s.name)).toEqual(['userWithId', 'flexibleRollout']);
    expect((await flags.read(FLAG, 'production')).rollout).toBe(10);
  });

  it.each([0, 100])('rolls out %p%%', async (percentage) => {
    unleash.addStrategy(FLAG, 'production', flexible('50'));

    await backend().setRollout(FLAG, 'production', percentage, 'step');

    expect((await backend().read(FLAG, 'production')).rollout).toBe(percentage);
  });

  it('turns a disabled flexibleRollout strategy back on with its new rollout', async () => {
    const strategy = unleash.addStrategy(FLAG, 'production', { ...flexible('50'), disabled: true });

    await backend().setRollout(FLAG, 'production', 20, 'step');

    expect(JSON.parse(unleash.requestsTo('PATCH')[0]!.body)).toEqual([
      { op: 'replace', path: '/parameters/rollout', value: '20' },
      { op: 'replace', path: '/disabled', value: false },
    ]);
    expect(unleash.env(FLAG, 'production').strategies).toEqual([expect.objectContaining({ id: strategy.id, disabled: false })]);
  });

  it('refuses to guess between two flexibleRollout strategies', async () => {
    unleash.addStrategy(FLAG, 'production', flexible('50'));
    unleash.addStrategy(FLAG, 'production', flexible('10'));

    const error = await failure(backend().setRollout(FLAG, 'production', 20, 'step'));

    expect(error.message).toMatch(/flag new-checkout in environment production of project default has 2 flexibleRollout strategies/);
    expect(error.retryable).toBe(false);
    expect(unleash.changes).toEqual([]);
  });

  it('refuses fractional and out-of-range percentages without asking Unleash', async () => {
    await expect(backend().setRollout(FLAG, 'production', 33.3, 'step')).rejects.toBeInstanceOf(ValidationError);
    await expect(backend().setRollout(FLAG, 'production', -1, 'step')).rejects.toBeInstanceOf(ValidationError);
    expect(unleash.requests).toHaveLength(0);
  });

  it('names the environments the flag has when the mapped one is not among them', async () => {
    const error = await failure(backend({ environments: { production: 'prod' } }).read(FLAG, 'production'));

    expect(error.message).toBe(
      "Unleash flag new-checkout in project default has no environment prod (it has: development, production); check the Unleash name of environment production",
    );
  });

  it('reads no rollout where there is no enabled flexibleRollout strategy', async () => {
    unleash.addStrategy(FLAG, 'production', { name: 'default', parameters: {} });
    unleash.addStrategy(FLAG, 'production', { ...flexible('40'), disabled: true });

    expect(await backend().read(FLAG, 'production')).toEqual({ enabled: false, rollout: null });
  });
});

describe('unleash backend, failures', () => {
  it('tries again after 5xx answers and changes the flag once', async () => {
    unleash.failNext({ status: 503, count: 2, method: 'POST' });

    await backend().setEnabled(FLAG, 'production', true, 'go');

    expect(unleash.requestsTo('POST').map((r) => r.status)).toEqual([503, 503, 200]);
    expect(unleash.changes).toEqual(['production: on']);
  });

  it('does not create a second strategy when the answer to the first was lost', async () => {
    unleash.failNext({ status: 502, method: 'POST', afterApplying: true });

    await backend().setRollout(FLAG, 'production', 10, 'step');

    expect(unleash.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200', 'POST 502', 'GET 200', 'PATCH 200']);
    expect(unleash.env(FLAG, 'production').strategies).toEqual([expect.objectContaining({ name: 'flexibleRollout', parameters: expect.objectContaining({ rollout: '10' }) })]);
  });

  it('gives up after the configured retries with a retryable error that names the flag', async () => {
    unleash.failNext({ status: 500, count: 10, body: { id: 'x', name: 'InternalError', message: 'Unexpected error' } });

    const error = await failure(backend({ retries: 1 }).read(FLAG, 'production'));

    expect(error.retryable).toBe(true);
    expect(error.message).toBe(
      `Unleash at ${new URL(unleash.url).host} answered 500 InternalError: Unexpected error while reading flag new-checkout in environment production of project default (after 2 tries); Unleash may be having trouble, try again later`,
    );
    expect(unleash.requests).toHaveLength(2);
  });

  it('refuses a token it does not know with a message that names the flag and the environment but not the token', async () => {
    const error = await failure(backend({ token: '*:*.wrong0000token' }).setEnabled(FLAG, 'production', true, 'go'));

    expect(error.message).toBe(
      `Unleash at ${new URL(unleash.url).host} refused turning on flag new-checkout in environment production of project default (401 AuthenticationRequired: You must log in to use Unleash.); check the token is a valid admin API token or personal access token`,
    );
    expect(error.retryable).toBe(false);
    expect(unleash.requests).toHaveLength(1);
    expect(printed(error)).not.toContain('wrong0000token');
  });

  it('points at permissions and change requests on 403, without trying again', async () => {
    unleash.addStrategy(FLAG, 'production', flexible('5'));
    unleash.changeRequests.add('production');

    const error = await failure(backend().setRollout(FLAG, 'production', 25, 'step'));

    expect(error.message).toMatch(/refused rolling out 25% of flag new-checkout in environment production of project default \(403 NoAccessError: .*SKIP_CHANGE_REQUEST.*\); check the token may update flags .* change requests/);
    expect(unleash.requestsTo('PATCH')).toHaveLength(1);
    expect(printed(error)).not.toContain(TOKEN);
  });

  it('names the flag, project and environment on 404, without trying again', async () => {
    const error = await failure(backend().setEnabled('new-chekout', 'production', true, 'go'));

    expect(error.message).toMatch(
      /refused turning on flag new-chekout in environment production of project default \(404 NotFoundError: Could not find feature flag with name new-chekout\); check the flag name, projectId default and the Unleash name of environment production$/,
    );
    expect(unleash.requests).toHaveLength(1);
  });

  it('passes on a 429 at once as retryable, with the wait Retry-After asks for', async () => {
    unleash.failNext({ status: 429, headers: { 'retry-after': '12' } });

    const error = await failure(backend().setEnabled(FLAG, 'production', true, 'go'));

    expect(error).toMatchObject({ retryable: true, retryAfterMs: 12_000 });
    expect(error.message).toMatch(/rate-limited turning on flag new-checkout in environment production of project default; try again in 12s$/);
    expect(unleash.requests).toHaveLength(1);
  });

  it('gives up on a hanging server after the timeout, naming the flag, and may be tried again', async () => {
    unleash.hang = true;

    const error = await failure(backend({ timeoutMs: 150, retries: 1 }).setEnabled(FLAG, 'production', true, 'go'));

    expect(error.message).toBe(
      `Unleash: no answer from ${new URL(unleash.url).host} within 150ms (timeout) while turning on flag new-checkout in environment production of project default (after 2 tries)`,
    );
    expect(error.retryable).toBe(true);
    expect(unleash.requests).toHaveLength(2);
    expect(printed(error)).not.toContain(TOKEN);
  });

  it('says so when the URL does not lead to Unleash', async () => {
    unleash.failNext({ status: 200, body: undefined, headers: { 'content-type': 'text/html' } });

    const error = await failure(backend().read(FLAG, 'production'));

    expect(error.message).toMatch(/answered something that is not JSON while reading flag new-checkout .*; check url points at Unleash/);
    expect(error.retryable).toBe(false);
  });
});
