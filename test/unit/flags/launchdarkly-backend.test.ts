import { inspect } from 'node:util';
import { ExternalServiceError, ValidationError } from '../../../src/core/errors';
import { createLaunchDarklyBackend, type LaunchDarklyBackendSpec } from '../../../src/flags/launchdarkly-backend';
import { FakeLaunchDarkly } from '../../support/fake-launchdarkly';

const TOKEN = 'api-3f1c2b7e-9d4a-4c1e-8b2f-6a5d4c3b2a19';
const FLAG = 'new-checkout';
const NOW = new Date('2024-06-01T12:00:00Z');

let ld: FakeLaunchDarkly;

beforeEach(async () => {
  ld = await new FakeLaunchDarkly(TOKEN, 'web', ['production', 'staging']).start();
  ld.addBooleanFlag(FLAG);
});

afterEach(() => ld.stop());

const backend = (overrides: Partial<LaunchDarklyBackendSpec> = {}) =>
  createLaunchDarklyBackend({ apiUrl: ld.url, token: TOKEN, projectKey: 'web', timeoutMs: 2_000, retries: 2, ...overrides }, { retryDelayMs: 1, clock: () => NOW });

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

/** Everything a log line could print of the error, its cause included. */
const printed = (error: ExternalServiceError) => `${error.message} ${error.userMessage} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`;

const patchBodies = () => ld.requestsTo('PATCH').map((r) => JSON.parse(r.body) as unknown);

describe('launchdarkly backend, turning a flag on and off', () => {
  it('sends turnFlagOn as a semantic patch with the token as it is, and reads the flag on afterwards', async () => {
    const flags = backend();

    await flags.setEnabled(FLAG, 'production', true, 'release 1.4.2 by @ana');

    const [request] = ld.requestsTo('PATCH');
    expect(request!.path).toBe('/api/v2/flags/web/new-checkout');
    expect(request!.headers.authorization).toBe(TOKEN);
    expect(request!.headers['content-type']).toBe('application/json; domain-model=launchdarkly.semanticpatch');
    expect(request!.headers['ld-api-version']).toBe('20240415');
    expect(JSON.parse(request!.body)).toEqual({ environmentKey: 'production', comment: 'release 1.4.2 by @ana', instructions: [{ kind: 'turnFlagOn' }] });
    expect(ld.env(FLAG, 'production').on).toBe(true);
    expect(ld.env(FLAG, 'staging').on).toBe(false);
    expect(await flags.read(FLAG, 'production')).toEqual({ enabled: true, rollout: null });
  });

  it('sends turnFlagOff', async () => {
    ld.env(FLAG, 'production').on = true;

    await backend().setEnabled(FLAG, 'production', false, 'rollback');

    expect(patchBodies()).toEqual([{ environmentKey: 'production', comment: 'rollback', instructions: [{ kind: 'turnFlagOff' }] }]);
    expect(await backend().read(FLAG, 'production')).toEqual({ enabled: false, rollout: null });
  });

  it("uses the LaunchDarkly key mapped from Shipmate's environment", async () => {
    const flags = backend({ environmentKeys: { prod: 'production' } });

    await flags.setEnabled(FLAG, 'prod', true, 'go');

    expect(patchBodies()).toEqual([expect.objectContaining({ environmentKey: 'production' })]);
    expect((await flags.read(FLAG, 'prod')).enabled).toBe(true);
    expect(ld.requestsTo('GET')[0]!.query).toEqual({ env: 'production' });
  });
});

describe('launchdarkly backend, rollouts', () => {
  it('reads the variation IDs, then weighs the true variation in thousandths of a percent', async () => {
    const flags = backend();

    await flags.setRollout(FLAG, 'production', 25, 'canary step 2');

    const [get] = ld.requestsTo('GET');
    expect(get!.path).toBe('/api/v2/flags/web/new-checkout');
    expect(get!.query).toEqual({ env: 'production' });
    expect(get!.headers.authorization).toBe(TOKEN);
    expect(patchBodies()).toEqual([
      {
        environmentKey: 'production',
        comment: 'canary step 2',
        instructions: [{ kind: 'updateFallthroughVariationOrRollout', rolloutWeights: { [ld.variationId(FLAG, true)]: 25_000, [ld.variationId(FLAG, false)]: 75_000 } }],
      },
    ]);
    expect(ld.env(FLAG, 'production').fallthrough.rollout!.variations).toEqual([
      { variation: 0, weight: 25_000 },
      { variation: 1, weight: 75_000 },
    ]);
    expect(await flags.read(FLAG, 'production')).toEqual({ enabled: false, rollout: 25 });
  });

  it.each([
    [0, 0],
    [33.333, 33_333],
    [100, 100_000],
  ])('%p%% weighs %p for true, and the weights sum to 100000', async (percentage, weight) => {
    const flags = backend();

    await flags.setRollout(FLAG, 'production', percentage, 'step');

    const instruction = (patchBodies()[0] as { instructions: { rolloutWeights: Record<string, number> }[] }).instructions[0]!;
    const weights = instruction.rolloutWeights;
    expect(weights[ld.variationId(FLAG, true)]).toBe(weight);
    expect(Object.values(weights).reduce((a, b) => a + b, 0)).toBe(100_000);
    expect((await flags.read(FLAG, 'production')).rollout).toBe(percentage);
  });

  it('keeps the context kind and attribute the rollout buckets by', async () => {
    ld.env(FLAG, 'production').fallthrough = { rollout: { variations: [{ variation: 0, weight: 10_000 }, { variation: 1, weight: 90_000 }], contextKind: 'organization', bucketBy: 'tenant' } };

    await backend().setRollout(FLAG, 'production', 50, 'step');

    expect(patchBodies()).toEqual([
      expect.objectContaining({ instructions: [expect.objectContaining({ rolloutContextKind: 'organization', rolloutBucketBy: 'tenant' })] }),
    ]);
    expect(ld.env(FLAG, 'production').fallthrough.rollout).toMatchObject({ contextKind: 'organization', bucketBy: 'tenant' });
  });

  it('refuses a flag that is not boolean, changing nothing', async () => {
    ld.addFlag({ key: 'theme', name: 'Theme', kind: 'multivariate', variations: [{ _id: 'a', value: 'dark' }, { _id: 'b', value: 'light' }, { _id: 'c', value: 'auto' }] });

    const error = await failure(backend().setRollout('theme', 'production', 10, 'step'));

    expect(error.message).toMatch(/flag theme in environment production .*not a boolean flag/);
    expect(error.retryable).toBe(false);
    expect(ld.requestsTo('PATCH')).toHaveLength(0);
  });

  it('refuses a percentage outside 0-100 without asking LaunchDarkly', async () => {
    await expect(backend().setRollout(FLAG, 'production', 101, 'step')).rejects.toBeInstanceOf(ValidationError);
    await expect(backend().setRollout(FLAG, 'production', Number.NaN, 'step')).rejects.toBeInstanceOf(ValidationError);
    expect(ld.requests).toHaveLength(0);
  });

  it('says so when the environment does not exist in the project', async () => {
    const error = await failure(backend().setRollout(FLAG, 'qa', 10, 'step'));

    expect(error.message).toMatch(/no environment qa for flag new-checkout; check the LaunchDarkly key of environment qa/);
    expect(ld.requestsTo('PATCH')).toHaveLength(0);
  });
});

describe('launchdarkly backend, failures', () => {
  it('tries again after 5xx answers and changes the flag once', async () => {
    ld.failNext({ status: 503, count: 2, method: 'PATCH' });

    await backend().setEnabled(FLAG, 'production', true, 'go');

    expect(ld.requestsTo('PATCH').map((r) => r.status)).toEqual([503, 503, 200]);
    expect(ld.applied).toHaveLength(1);
    expect(ld.env(FLAG, 'production').on).toBe(true);
  });

  it('gives up after the configured retries with a retryable error that names the flag', async () => {
    ld.failNext({ status: 502, count: 10 });

    const error = await failure(backend({ retries: 1 }).setEnabled(FLAG, 'production', true, 'go'));

    expect(error.retryable).toBe(true);
    expect(error.message).toBe('LaunchDarkly answered 502 while turning on flag new-checkout in environment production of project web (after 2 tries); LaunchDarkly may be having trouble, try again later');
    expect(ld.requests).toHaveLength(2);
  });

  it('refuses a token it does not know with a message that names the flag and the environment but not the token', async () => {
    const error = await failure(backend({ token: 'api-wrong-token-0000' }).setEnabled(FLAG, 'production', true, 'go'));

    expect(error.message).toBe(
      'LaunchDarkly refused turning on flag new-checkout in environment production of project web (401 unauthorized: Invalid access token); check the access token is valid, unexpired and not revoked',
    );
    expect(error.retryable).toBe(false);
    expect(ld.requests).toHaveLength(1);
    expect(printed(error)).not.toContain('api-wrong-token-0000');
  });

  it("points at the token's role on 403, without trying again", async () => {
    ld.readOnly.add('production');

    const error = await failure(backend().setRollout(FLAG, 'production', 5, 'step'));

    expect(error.message).toMatch(/^LaunchDarkly refused rolling out 5% of flag new-checkout in environment production of project web \(403 forbidden: .*\); check the access token's role may update flags/);
    expect(ld.requestsTo('PATCH')).toHaveLength(1);
    expect(printed(error)).not.toContain(TOKEN);
  });

  it('names the flag, project and environment on 404, without trying again', async () => {
    const error = await failure(backend({ environmentKeys: { prod: 'production' } }).setEnabled('new-chekout', 'prod', true, 'go'));

    expect(error.message).toBe(
      "LaunchDarkly refused turning on flag new-chekout in environment production (Shipmate's prod) of project web (404 not_found: Unknown resource); check the flag key, projectKey web and the LaunchDarkly key of environment prod",
    );
    expect(ld.requests).toHaveLength(1);
  });

  it('explains a 405 from an environment that requires approvals', async () => {
    ld.approvalsRequired.add('production');

    const error = await failure(backend().setEnabled(FLAG, 'production', true, 'go'));

    expect(error.message).toMatch(/\(405 .*\): changes there require an approval/);
    expect(error.retryable).toBe(false);
  });

  it('passes on a 429 at once as retryable, with the wait Retry-After asks for', async () => {
    ld.failNext({ status: 429, headers: { 'retry-after': '7' } });

    const error = await failure(backend().setEnabled(FLAG, 'production', true, 'go'));

    expect(error).toMatchObject({ retryable: true, retryAfterMs: 7_000 });
    expect(error.message).toBe('LaunchDarkly rate-limited turning on flag new-checkout in environment production of project web; try again in 7s');
    expect(ld.requests).toHaveLength(1);
  });

  it('reads the wait from X-Ratelimit-Reset (epoch milliseconds) when there is no Retry-After', async () => {
    ld.failNext({ status: 429, headers: { 'x-ratelimit-reset': String(NOW.getTime() + 4_500) } });

    const error = await failure(backend().read(FLAG, 'production'));

    expect(error).toMatchObject({ retryable: true, retryAfterMs: 4_500 });
  });

  it('passes on a 409 conflict as retryable, without trying again itself', async () => {
    ld.failNext({ status: 409, method: 'PATCH' });

    const error = await failure(backend().setEnabled(FLAG, 'production', true, 'go'));

    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/\(409 conflict: .*\): another change to the flag was saved at the same time/);
    expect(ld.requests).toHaveLength(1);
  });

  it('gives up on a hanging server after the timeout, naming the flag, and may be tried again', async () => {
    ld.hang = true;

    const error = await failure(backend({ timeoutMs: 150, retries: 1 }).setEnabled(FLAG, 'production', true, 'go'));

    expect(error.message).toBe(
      `LaunchDarkly: no answer from ${new URL(ld.url).host} within 150ms (timeout) while turning on flag new-checkout in environment production of project web (after 2 tries)`,
    );
    expect(error.retryable).toBe(true);
    expect(ld.requests).toHaveLength(2);
    expect(printed(error)).not.toContain(TOKEN);
  });

  it('a rollout whose answer was lost is tried again and lands once at the same weights', async () => {
    ld.failNext({ status: 504, method: 'PATCH', afterApplying: true });

    await backend().setRollout(FLAG, 'production', 10, 'step');

    expect(ld.requestsTo('PATCH')).toHaveLength(2);
    expect((await backend().read(FLAG, 'production')).rollout).toBe(10);
  });
});
