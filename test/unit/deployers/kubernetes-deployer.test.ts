import { kubernetesDeploy } from '../../../src/core/deploy-specs';
import type { DeployRequest } from '../../../src/core/ports';
import { createKubernetesDeployer, DEPLOYMENT_KEY_ANNOTATION, judgeDeployment } from '../../../src/deployers/kubernetes-deployer';
import { deploymentObject, FakeKubernetes, missesProgressDeadline, rollsOut, staysUnavailable } from '../../support/fake-kubernetes';

const DEPLOYMENT_PATH = '/apis/apps/v1/namespaces/prod/deployments/api';

let fake: FakeKubernetes;
let kubeconfig: string;

beforeEach(async () => {
  fake = await new FakeKubernetes('t0ken-for-tests').start();
  kubeconfig = fake.writeKubeconfig();
});

afterEach(() => fake.stop());

function deployer(overrides: Record<string, unknown> = {}) {
  const spec = kubernetesDeploy.parse({
    type: 'kubernetes',
    deployment: 'api',
    namespace: 'prod',
    container: 'api',
    image: 'ghcr.io/acme/api',
    kubeconfig,
    timeout: '3s',
    pollInterval: '10ms',
    retries: 2,
    ...overrides,
  });
  return createKubernetesDeployer(spec, { baseEnv: {}, retryDelayMs: 5 });
}

function request(overrides: Partial<DeployRequest> = {}): DeployRequest {
  return { deploymentId: 7, service: 'api', environment: 'prod', version: '1.4.2', requestedBy: 'U1', idempotencyKey: 'deploy-7:deploy:1', ...overrides };
}

const gets = () => fake.requests.filter((r) => r.method === 'GET').length;

describe('kubernetes deployer', () => {
  it('patches the container image with a strategic merge patch and waits until every replica is updated and available', async () => {
    fake.addDeployment(
      deploymentObject({ containers: [{ name: 'api', image: 'ghcr.io/acme/api:1.0.0' }, { name: 'envoy', image: 'envoyproxy/envoy:v1.31' }] }),
      rollsOut(3),
    );

    const outcome = await deployer().deploy(request());

    expect(outcome).toEqual({ ok: true, summary: 'deployment prod/api rolled out ghcr.io/acme/api:1.4.2: 3 of 3 replicas updated and available.' });
    const patches = fake.patches();
    expect(patches).toHaveLength(1);
    expect(patches[0]).toMatchObject({
      path: DEPLOYMENT_PATH,
      contentType: 'application/strategic-merge-patch+json',
      authorization: 'Bearer t0ken-for-tests',
      body: {
        spec: {
          template: {
            metadata: { annotations: { [DEPLOYMENT_KEY_ANNOTATION]: 'deploy-7:deploy:1' } },
            spec: { containers: [{ name: 'api', image: 'ghcr.io/acme/api:1.4.2' }] },
          },
        },
      },
    });
    const stored = fake.deployment('prod', 'api');
    expect(stored.spec.template.spec.containers.map((c: { name: string; image: string }) => `${c.name}=${c.image}`)).toEqual(['api=ghcr.io/acme/api:1.4.2', 'envoy=envoyproxy/envoy:v1.31']);
    expect(stored.metadata.generation).toBe(2);
    // One read before the patch, then reads 0..3 after it: it returned on the first finished read.
    expect(gets()).toBe(5);
    expect(stored.status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
  });

  it('names the containers that exist when the configured one is missing, and changes nothing', async () => {
    fake.addDeployment(deploymentObject({ containers: [{ name: 'web', image: 'ghcr.io/acme/web:1' }, { name: 'envoy', image: 'envoyproxy/envoy:v1.31' }] }));

    const outcome = await deployer().deploy(request());

    expect(outcome).toEqual({ ok: false, error: 'deployment prod/api has no container "api"; its containers: web, envoy' });
    expect(fake.patches()).toHaveLength(0);
  });

  it('times out saying what was still missing', async () => {
    fake.addDeployment(deploymentObject(), staysUnavailable(2));

    const outcome = await deployer({ timeout: '150ms' }).deploy(request());

    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toBe('deployment prod/api did not finish rolling out ghcr.io/acme/api:1.4.2 within 150ms: 2 of 3 updated replicas available');
  });

  it('says the controller has not seen the change when it times out before that', async () => {
    fake.addDeployment(deploymentObject(), () => undefined);

    const outcome = await deployer({ timeout: '80ms' }).deploy(request());

    expect(!outcome.ok && outcome.error).toMatch(/within 80ms: the deployment controller has not yet seen generation 2$/);
  });

  it('fails as soon as the deployment exceeds its progress deadline', async () => {
    fake.addDeployment(deploymentObject(), missesProgressDeadline());

    const outcome = await deployer({ timeout: '10s' }).deploy(request());

    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toMatch(/^deployment prod\/api did not roll out ghcr.io\/acme\/api:1.4.2: it exceeded its progress deadline: ReplicaSet "api-\w+" has timed out progressing\.$/);
    expect(gets()).toBe(3);
  });

  it('reports a missing deployment or namespace with what to check', async () => {
    fake.addDeployment(deploymentObject({ namespace: 'staging' }));

    const outcome = await deployer().deploy(request());

    expect(!outcome.ok && outcome.error).toBe(
      `deployment "api" in namespace "prod" was not found (404): check the deployment name and namespace in shipmate.yml, and that context "fake" in ${kubeconfig} points at the right cluster (${fake.url})`,
    );
    expect(fake.requests).toHaveLength(1); // a 404 is not retried
  });

  it('reports rejected credentials (401) naming the context to check', async () => {
    fake.addDeployment(deploymentObject());

    const outcome = await deployer({ context: 'stale' }).deploy(request());

    expect(!outcome.ok && outcome.error).toBe(
      `the Kubernetes API at ${fake.url} rejected the credentials (401 Unauthorized): check the user of context "stale" in ${kubeconfig}; its token or certificate may be wrong or expired`,
    );
    expect(fake.requests[0]?.authorization).toBe('Bearer expired-token');
  });

  it('reports a forbidden patch (403) with the permission to grant', async () => {
    fake.addDeployment(deploymentObject());
    fake.forbid = (verb) => verb === 'patch';

    const outcome = await deployer().deploy(request());

    expect(!outcome.ok && outcome.error).toBe(
      'not allowed to change deployment "api" in namespace "prod" (403 Forbidden: deployments.apps "api" is forbidden: User "system:serviceaccount:shipmate:shipmate" cannot patch resource "deployments" in API group "apps" in the namespace "prod"): ' +
        `grant context "fake" in ${kubeconfig} get and patch on deployments.apps in namespace "prod"`,
    );
    expect(fake.deployment('prod', 'api').spec.template.spec.containers[0].image).toBe('ghcr.io/acme/api:1.0.0');
  });

  it('retries a 503 from the API server', async () => {
    fake.addDeployment(deploymentObject(), rollsOut(1));
    fake.failNext(1, { method: 'GET' });
    fake.failNext(1, { method: 'PATCH' });

    const outcome = await deployer().deploy(request());

    expect(outcome.ok).toBe(true);
    expect(fake.patches().map((p) => p.path)).toEqual([DEPLOYMENT_PATH, DEPLOYMENT_PATH]);
    expect(fake.deployment('prod', 'api').spec.template.spec.containers[0].image).toBe('ghcr.io/acme/api:1.4.2');
  });

  it('gives up on a 503 after the configured retries', async () => {
    fake.addDeployment(deploymentObject(), rollsOut(1));
    fake.failNext(2, { method: 'PATCH' });

    const outcome = await deployer({ retries: 1 }).deploy(request());

    expect(!outcome.ok && outcome.error).toBe('the Kubernetes API answered 503 ServiceUnavailable for deployment "api" in namespace "prod": the server is currently unable to handle the request');
    expect(fake.patches()).toHaveLength(2);
  });

  it('reports an unreachable API server after retrying', async () => {
    const server = fake.url;
    await fake.stop();

    const outcome = await deployer({ retries: 1 }).deploy(request());

    expect(!outcome.ok && outcome.error).toBe(`could not reach the Kubernetes API at ${server}: ECONNREFUSED`);
  });

  it('does the same deploy once: a repeat with the same key does not patch again and still reports success', async () => {
    fake.addDeployment(deploymentObject(), rollsOut(2));
    const first = await deployer().deploy(request());
    const generation = fake.deployment('prod', 'api').metadata.generation;

    const again = await deployer().deploy(request());

    expect(first.ok).toBe(true);
    expect(again).toEqual({ ok: true, summary: 'deployment prod/api already ran ghcr.io/acme/api:1.4.2: 3 of 3 replicas updated and available.' });
    expect(fake.patches()).toHaveLength(1);
    expect(fake.deployment('prod', 'api').metadata.generation).toBe(generation);
  });

  it('names the contexts a kubeconfig has when the configured one is not there', async () => {
    const outcome = await deployer({ context: 'production' }).deploy(request());

    expect(outcome).toEqual({ ok: false, error: `the kubeconfig ${kubeconfig} has no context "production"; its contexts: fake, stale` });
    expect(fake.requests).toHaveLength(0);
  });

  it('asks for a kubeconfig when there is none and Shipmate does not run in a cluster', async () => {
    const outcome = await deployer({ kubeconfig: undefined }).deploy(request());

    expect(!outcome.ok && outcome.error).toMatch(/KUBERNETES_SERVICE_HOST is unset\): set kubeconfig in the deploy block$/);
  });
});

describe('judgeDeployment (the rules of kubectl rollout status)', () => {
  const judge = (status: object, spec: object = {}) => {
    const d = deploymentObject();
    d.metadata.generation = 2;
    return judgeDeployment({ ...d, spec: { ...d.spec, ...spec }, status: { ...d.status, observedGeneration: 2, ...status } });
  };

  it.each([
    ['a generation not yet observed', { observedGeneration: 1 }, {}, { waiting: 'the deployment controller has not yet seen generation 2' }],
    ['too few updated replicas', { updatedReplicas: 1 }, {}, { waiting: '1 of 3 replicas updated' }],
    ['a paused deployment', { updatedReplicas: 0 }, { paused: true }, { waiting: '0 of 3 replicas updated (the deployment is paused: resume it with kubectl rollout resume)' }],
    ['an old pod left', { replicas: 4 }, {}, { waiting: '1 old replica is pending termination' }],
    ['updated replicas not yet available', { availableReplicas: 2 }, {}, { waiting: '2 of 3 updated replicas available' }],
    ['everything updated and available', {}, {}, { done: true, summary: '3 of 3 replicas updated and available' }],
    ['no replicas wanted', { replicas: 0, updatedReplicas: 0, availableReplicas: 0 }, { replicas: 0 }, { done: true, summary: '0 of 0 replicas updated and available' }],
  ])('%s', (_, status, spec, expected) => {
    expect(judge(status, spec)).toEqual(expected);
  });

  it('fails on ProgressDeadlineExceeded even while replicas are missing', () => {
    const conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "api-1" has timed out progressing.' }];
    expect(judge({ updatedReplicas: 1, conditions })).toEqual({ failed: 'it exceeded its progress deadline: ReplicaSet "api-1" has timed out progressing.' });
  });
});
