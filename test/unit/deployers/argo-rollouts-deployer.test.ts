import { argoRolloutsDeploy } from '../../../src/core/deploy-specs';
import { ExternalServiceError } from '../../../src/core/errors';
import type { DeployRequest } from '../../../src/core/ports';
import { abortRollout, createArgoRolloutsDeployer, promoteRollout, type RolloutTarget, rolloutStatus } from '../../../src/deployers/argo-rollouts-deployer';
import { DEPLOYMENT_KEY_ANNOTATION } from '../../../src/deployers/kubernetes-deployer';
import { FakeKubernetes, type KubeObject, rolloutObject, rollsOutTo, walksCanarySteps } from '../../support/fake-kubernetes';

const ROLLOUT_PATH = '/apis/argoproj.io/v1alpha1/namespaces/prod/rollouts/api';
const STATUS_PATH = `${ROLLOUT_PATH}/status`;
const MERGE_PATCH = 'application/merge-patch+json';

let fake: FakeKubernetes;
let kubeconfig: string;

beforeEach(async () => {
  fake = await new FakeKubernetes('t0ken-for-tests').start();
  kubeconfig = fake.writeKubeconfig();
});

afterEach(() => fake.stop());

function deployer(overrides: Record<string, unknown> = {}) {
  const spec = argoRolloutsDeploy.parse({
    type: 'argo-rollouts',
    rollout: 'api',
    namespace: 'prod',
    container: 'api',
    image: 'ghcr.io/acme/api',
    kubeconfig,
    timeout: '3s',
    pollInterval: '10ms',
    retries: 2,
    ...overrides,
  });
  return createArgoRolloutsDeployer(spec, { baseEnv: {}, retryDelayMs: 5 });
}

function request(overrides: Partial<DeployRequest> = {}): DeployRequest {
  return { deploymentId: 7, service: 'api', environment: 'prod', version: '1.4.2', requestedBy: 'U1', idempotencyKey: 'deploy-7:deploy:1', ...overrides };
}

const target = (): RolloutTarget => ({ rollout: 'api', namespace: 'prod', kubeconfig, retries: 1 });
const deps = { retryDelayMs: 5 };

/** A rollout the controller stopped at the pause after setWeight 20 (step index 1). */
function pausedRollout(extra: { specPaused?: boolean; pauseConditions?: boolean } = {}): KubeObject {
  const ro = rolloutObject();
  ro.spec.paused = extra.specPaused ?? false;
  ro.status.currentPodHash = 'newhash';
  Object.assign(ro.status, { phase: 'Paused', message: 'CanaryPauseStep', currentStepIndex: 1, controllerPause: true });
  if (extra.pauseConditions ?? true) ro.status.pauseConditions = [{ reason: 'CanaryPauseStep', startTime: '2026-11-23T10:00:00Z' }];
  return ro;
}

describe('argo-rollouts deployer', () => {
  it('sets the image with a JSON merge patch guarded by resourceVersion and waits until the rollout is Healthy', async () => {
    fake.addRollout(rolloutObject({ containers: [{ name: 'api', image: 'ghcr.io/acme/api:1.0.0' }, { name: 'envoy', image: 'envoyproxy/envoy:v1.31' }] }), rollsOutTo({ phase: 'Healthy' }, 3));
    const readAt = fake.rollout('prod', 'api').metadata.resourceVersion;

    const outcome = await deployer().deploy(request());

    expect(outcome).toEqual({ ok: true, summary: 'rollout prod/api is Healthy on ghcr.io/acme/api:1.4.2.' });
    expect(fake.patches()).toHaveLength(1);
    expect(fake.patches()[0]).toMatchObject({
      path: ROLLOUT_PATH,
      contentType: MERGE_PATCH,
      authorization: 'Bearer t0ken-for-tests',
      body: {
        metadata: { resourceVersion: readAt },
        spec: { template: { metadata: { annotations: { [DEPLOYMENT_KEY_ANNOTATION]: 'deploy-7:deploy:1' } }, spec: { containers: [{ name: 'api', image: 'ghcr.io/acme/api:1.4.2' }, { name: 'envoy' }] } } },
      },
    });
    const stored = fake.rollout('prod', 'api');
    expect(stored.spec.template.spec.containers).toEqual([
      { name: 'api', image: 'ghcr.io/acme/api:1.4.2', ports: [{ containerPort: 8080 }] },
      { name: 'envoy', image: 'envoyproxy/envoy:v1.31', ports: [{ containerPort: 8080 }] },
    ]);
    expect(stored.metadata.generation).toBe(2);
    expect(stored.status.phase).toBe('Healthy');
  });

  it('does not take the Healthy or Paused status of the previous version for the new one', async () => {
    const ro = pausedRollout();
    fake.addRollout(ro, rollsOutTo({ phase: 'Healthy' }, 3));

    const outcome = await deployer().deploy(request());

    expect(outcome).toEqual({ ok: true, summary: 'rollout prod/api is Healthy on ghcr.io/acme/api:1.4.2.' });
    expect(fake.requests.filter((r) => r.method === 'GET')).toHaveLength(1 + 4);
  });

  it('fails with the controller message when the rollout is Degraded', async () => {
    const message = 'RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)';
    fake.addRollout(rolloutObject(), rollsOutTo({ phase: 'Degraded', message }));

    const outcome = await deployer().deploy(request());

    expect(outcome).toEqual({ ok: false, error: `rollout prod/api is Degraded: ${message}` });
  });

  it('reports a canary paused at a step as deployed, awaiting promotion', async () => {
    fake.addRollout(rolloutObject(), rollsOutTo({ phase: 'Paused', stepIndex: 1 }));

    const outcome = await deployer().deploy(request());

    expect(outcome).toEqual({ ok: true, summary: 'rollout prod/api runs ghcr.io/acme/api:1.4.2 paused at step 2 of 4 (CanaryPauseStep) with 20% canary weight, awaiting promotion.' });
  });

  it('times out with the phase and message it was still in', async () => {
    fake.addRollout(rolloutObject(), rollsOutTo({ phase: 'Progressing', message: 'updated replicas are still becoming available' }, 1));

    const outcome = await deployer({ timeout: '120ms' }).deploy(request());

    expect(outcome).toEqual({ ok: false, error: 'rollout prod/api did not become Healthy on ghcr.io/acme/api:1.4.2 within 120ms: Progressing: updated replicas are still becoming available' });
  });

  it('reads the rollout again and retries when it changed between the read and the patch (409)', async () => {
    fake.addRollout(rolloutObject(), rollsOutTo({ phase: 'Healthy' }, 1));
    fake.failNext(1, { method: 'PATCH', code: 409 });

    const outcome = await deployer().deploy(request());

    expect(outcome.ok).toBe(true);
    expect(fake.requests.slice(0, 4).map((r) => r.method)).toEqual(['GET', 'PATCH', 'GET', 'PATCH']);
    expect(fake.rollout('prod', 'api').spec.template.spec.containers[0].image).toBe('ghcr.io/acme/api:1.4.2');
  });

  it('retries a 503 from the API server', async () => {
    fake.addRollout(rolloutObject(), rollsOutTo({ phase: 'Healthy' }, 1));
    fake.failNext(1);

    const outcome = await deployer().deploy(request());

    expect(outcome.ok).toBe(true);
    expect(fake.requests[0]?.method).toBe('GET');
    expect(fake.patches()).toHaveLength(1);
  });

  it('names the containers that exist when the configured one is missing', async () => {
    fake.addRollout(rolloutObject({ containers: [{ name: 'web', image: 'ghcr.io/acme/web:1' }] }));

    const outcome = await deployer().deploy(request());

    expect(outcome).toEqual({ ok: false, error: 'rollout prod/api has no container "api"; its containers: web' });
    expect(fake.patches()).toHaveLength(0);
  });

  it('explains that a rollout with a workloadRef is deployed through its Deployment', async () => {
    const ro = rolloutObject();
    delete ro.spec.template;
    ro.spec.workloadRef = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api-template' };
    fake.addRollout(ro);

    const outcome = await deployer().deploy(request());

    expect(!outcome.ok && outcome.error).toBe('rollout prod/api takes its pod template from Deployment "api-template" (workloadRef): deploy that with a kubernetes deployer instead');
  });

  it('reports a missing rollout with what to check', async () => {
    const outcome = await deployer().deploy(request());

    expect(!outcome.ok && outcome.error).toMatch(/^rollout "api" in namespace "prod" was not found \(404\): check the rollout name and namespace in shipmate\.yml/);
  });

  it('does the same deploy once: a repeat with the same key does not patch again and still reports success', async () => {
    fake.addRollout(rolloutObject(), rollsOutTo({ phase: 'Paused', stepIndex: 1 }));
    await deployer().deploy(request());

    const again = await deployer().deploy(request());

    expect(again).toMatchObject({ ok: true, summary: expect.stringContaining('paused at step 2 of 4') });
    expect(fake.patches()).toHaveLength(1);
  });
});

describe('canary controls', () => {
  it('promote clears the pause conditions through the status subresource, as the kubectl plugin does', async () => {
    fake.addRollout(pausedRollout());

    const state = await promoteRollout(target(), {}, deps);

    expect(fake.patches().map((p) => [p.path, p.contentType, p.body])).toEqual([[STATUS_PATH, MERGE_PATCH, { status: { pauseConditions: null } }]]);
    const stored = fake.rollout('prod', 'api');
    expect(stored.status.pauseConditions).toBeUndefined();
    expect(stored.metadata.generation).toBe(1);
    // The controller has not resumed yet: paused flag still set, no conditions.
    expect(state).toMatchObject({ phase: 'Progressing', message: 'waiting for rollout to unpause', pauseReasons: [] });
  });

  it('promote also unpauses a manually paused rollout (spec.paused)', async () => {
    fake.addRollout(pausedRollout({ specPaused: true }));

    await promoteRollout(target(), {}, deps);

    expect(fake.patches().map((p) => [p.path, p.body])).toEqual([
      [STATUS_PATH, { status: { pauseConditions: null } }],
      [ROLLOUT_PATH, { spec: { paused: false } }],
    ]);
    expect(fake.rollout('prod', 'api').spec.paused).toBe(false);
  });

  it('promote moves a canary that is not paused on a condition to the next step', async () => {
    fake.addRollout(pausedRollout({ pauseConditions: false }));

    await promoteRollout(target(), {}, deps);

    expect(fake.patches().map((p) => [p.path, p.body])).toEqual([[STATUS_PATH, { status: { pauseConditions: null, currentStepIndex: 2 } }]]);
  });

  it('full promotion sets status.promoteFull, and does nothing when the rollout is already fully promoted', async () => {
    fake.addRollout(pausedRollout());
    await promoteRollout(target(), { full: true }, deps);
    expect(fake.patches().map((p) => [p.path, p.contentType, p.body])).toEqual([[STATUS_PATH, MERGE_PATCH, { status: { promoteFull: true } }]]);
    expect(fake.rollout('prod', 'api').status.promoteFull).toBe(true);

    await fake.stop();
    fake = await new FakeKubernetes('t0ken-for-tests').start();
    kubeconfig = fake.writeKubeconfig();
    fake.addRollout(rolloutObject());
    await promoteRollout(target(), { full: true }, deps);
    expect(fake.patches()).toHaveLength(0);
  });

  it('abort sets status.abort through the status subresource and leaves spec.template alone', async () => {
    fake.addRollout(pausedRollout());
    const template = structuredClone(fake.rollout('prod', 'api').spec.template);

    const state = await abortRollout(target(), deps);

    expect(fake.patches().map((p) => [p.path, p.contentType, p.body])).toEqual([[STATUS_PATH, MERGE_PATCH, { status: { abort: true } }]]);
    expect(fake.rollout('prod', 'api').spec.template).toEqual(template);
    expect(state).toMatchObject({ aborted: true, canaryWeight: 0 });
  });

  it('reads phase, step and canary weight from the steps, or from status.canary.weights with traffic routing', async () => {
    fake.addRollout(pausedRollout());
    expect(await rolloutStatus(target(), deps)).toEqual({ phase: 'Paused', message: 'CanaryPauseStep', currentStepIndex: 1, stepCount: 4, canaryWeight: 20, pauseReasons: ['CanaryPauseStep'], aborted: false });

    fake.rollout('prod', 'api').status.canary = { weights: { canary: { weight: 25 }, stable: { weight: 75 } } };
    expect(await rolloutStatus(target(), deps)).toMatchObject({ canaryWeight: 25 });

    Object.assign(fake.rollout('prod', 'api').status, { canary: {}, currentStepIndex: 4, phase: 'Healthy', message: '', pauseConditions: undefined, controllerPause: false });
    expect(await rolloutStatus(target(), deps)).toMatchObject({ phase: 'Healthy', canaryWeight: 100 });
  });

  it('fails with an ExternalServiceError naming the permission when the status subresource is forbidden', async () => {
    fake.addRollout(pausedRollout());
    fake.forbid = (verb, resource) => verb === 'patch' && resource === 'rollouts/status';

    const promotion = promoteRollout(target(), {}, deps);

    await expect(promotion).rejects.toBeInstanceOf(ExternalServiceError);
    await expect(promotion).rejects.toMatchObject({
      retryable: false,
      userMessage: expect.stringMatching(/cannot patch resource "rollouts\/status" in API group "argoproj\.io".*grant context "fake" in .* get and patch \(rollouts and rollouts\/status\) on rollouts\.argoproj\.io/),
    });
  });

  it('marks API outages as retryable', async () => {
    fake.addRollout(pausedRollout());
    fake.failNext(2);

    await expect(abortRollout(target(), deps)).rejects.toMatchObject({ retryable: true, userMessage: expect.stringContaining('503 ServiceUnavailable') });
    expect(fake.rollout('prod', 'api').status.abort).toBeUndefined();
  });
});

describe('canary steps through deploy', () => {
  const STEPS = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: {} }, { setWeight: 80 }, { pause: {} }];
  const BASELINE = '1.0.0';
  const step = (n: number, weight: number): DeployRequest => request({ idempotencyKey: `deploy-7:canary:${n}`, canary: { weight, baselineVersion: BASELINE } });

  /** Starts the canary as its first step does, and returns how many PATCHes that took. */
  async function startCanary(steps: KubeObject[] = STEPS, failingAnalysis?: { index: number; message: string }): Promise<number> {
    fake.addRollout(rolloutObject({ steps }), walksCanarySteps({ failingAnalysis }));
    const first = await deployer().deploy(step(1, 20));
    expect(first).toMatchObject({ ok: true, summary: expect.stringContaining('paused at step 2 of') });
    return fake.patches().length;
  }

  it('first step sets the image like a plain deploy and reports the pause the controller stopped at, with its weight', async () => {
    fake.addRollout(rolloutObject({ steps: STEPS }), walksCanarySteps());

    const outcome = await deployer().deploy(step(1, 20));

    expect(outcome).toEqual({ ok: true, summary: 'rollout prod/api runs ghcr.io/acme/api:1.4.2 paused at step 2 of 6 (CanaryPauseStep) with 20% canary weight, awaiting promotion.' });
    expect(fake.patches().map((p) => [p.path, p.contentType])).toEqual([[ROLLOUT_PATH, MERGE_PATCH]]);
    expect(fake.patches()[0]!.body).toMatchObject({ spec: { template: { metadata: { annotations: { [DEPLOYMENT_KEY_ANNOTATION]: 'deploy-7:canary:1' } }, spec: { containers: [{ name: 'api', image: 'ghcr.io/acme/api:1.4.2' }] } } } });
    expect(fake.rollout('prod', 'api').status).toMatchObject({ phase: 'Paused', currentStepIndex: 1 });
  });

  it('a later step promotes as `kubectl argo rollouts promote` does (after marking the step on the Rollout): clears the pause through the status subresource, spec untouched', async () => {
    const before = await startCanary();
    const spec = structuredClone(fake.rollout('prod', 'api').spec);

    const outcome = await deployer().deploy(step(2, 50));

    expect(outcome).toEqual({ ok: true, summary: 'rollout prod/api runs ghcr.io/acme/api:1.4.2 paused at step 4 of 6 (CanaryPauseStep) with 50% canary weight, awaiting promotion.' });
    expect(fake.patches().slice(before).map((p) => [p.path, p.contentType, p.body])).toEqual([[ROLLOUT_PATH, MERGE_PATCH, { metadata: { annotations: { 'shipmate.dev/canary-step': 'deploy-7:canary:2' } } }], [STATUS_PATH, MERGE_PATCH, { status: { pauseConditions: null } }]]);
    const stored = fake.rollout('prod', 'api');
    expect(stored.spec).toEqual(spec);
    expect(stored.metadata.generation).toBe(2);
  });

  it('also clears spec.paused when the rollout was paused by hand, in a second patch of the main resource', async () => {
    const before = await startCanary();
    fake.rollout('prod', 'api').spec.paused = true;

    await deployer().deploy(step(2, 50));

    expect(fake.patches().slice(before).map((p) => [p.path, p.body])).toEqual([
      [ROLLOUT_PATH, { metadata: { annotations: { 'shipmate.dev/canary-step': 'deploy-7:canary:2' } } }],
      [STATUS_PATH, { status: { pauseConditions: null } }],
      [ROLLOUT_PATH, { spec: { paused: false } }],
    ]);
  });

  it('weight 100 marks the step on the Rollout, then sends status.promoteFull: true through the status subresource', async () => {
    const before = await startCanary();
    const template = structuredClone(fake.rollout('prod', 'api').spec.template);

    const outcome = await deployer().deploy(step(2, 100));

    expect(outcome.ok).toBe(true);
    expect(fake.patches().slice(before).map((p) => [p.path, p.contentType, p.body])).toEqual([[ROLLOUT_PATH, MERGE_PATCH, { metadata: { annotations: { 'shipmate.dev/canary-step': 'deploy-7:canary:2' } } }], [STATUS_PATH, MERGE_PATCH, { status: { promoteFull: true } }]]);
    expect(fake.rollout('prod', 'api').spec.template).toEqual(template);
  });

  // Fails today: the promoteFull patch leaves status.phase Paused with its CanaryPauseStep
  // condition until the controller reconciles, and the first read after it is taken as the
  // result, so the deploy reports the old pause instead of waiting for Healthy.
  it('weight 100 waits until the controller has promoted fully and reports Healthy', async () => {
    await startCanary();

    const outcome = await deployer().deploy(step(2, 100));

    expect(outcome).toEqual({ ok: true, summary: 'rollout prod/api is Healthy on ghcr.io/acme/api:1.4.2.' });
  });

  it('weight 0 aborts with status.abort: true through the status subresource and leaves spec.template on the new version', async () => {
    const before = await startCanary();
    const template = structuredClone(fake.rollout('prod', 'api').spec.template);

    const outcome = await deployer().deploy({ ...step(2, 0), version: '1.4.2' });

    expect(outcome).toEqual({ ok: true, summary: 'rollout prod/api aborted: traffic goes back to the stable version.' });
    expect(fake.patches().slice(before).map((p) => [p.path, p.contentType, p.body])).toEqual([[STATUS_PATH, MERGE_PATCH, { status: { abort: true } }]]);
    const stored = fake.rollout('prod', 'api');
    expect(stored.spec.template).toEqual(template);
    expect(stored.spec.template.spec.containers[0].image).toBe('ghcr.io/acme/api:1.4.2');
    expect(stored.metadata.generation).toBe(2);
    expect(stored.status.abort).toBe(true);
  });

  it('fails with the controller message when the rollout turns Degraded after a promotion', async () => {
    const message = 'RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)';
    const steps = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { analysis: { templates: [{ templateName: 'success-rate' }] } }, { pause: {} }];
    await startCanary(steps, { index: 3, message });

    const outcome = await deployer().deploy(step(2, 50));

    expect(outcome).toEqual({ ok: false, error: `rollout prod/api is Degraded: ${message}` });
  });

  // Fails today: once the image is set, any request with a weight promotes, so a retry of the
  // first step (same idempotency key, e.g. after a timeout) skips a pause.
  it('a retry of the first step with the same key does not promote', async () => {
    const before = await startCanary();

    const again = await deployer().deploy(step(1, 20));

    expect(fake.patches()).toHaveLength(before);
    expect(again).toMatchObject({ ok: true, summary: expect.stringContaining('paused at step 2 of 6') });
  });
});
