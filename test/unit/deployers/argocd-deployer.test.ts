import { argocdDeploy } from '../../../src/core/deploy-specs';
import type { DeployOutcome, DeployRequest } from '../../../src/core/ports';
import { createArgocdDeployer } from '../../../src/deployers/argocd-deployer';
import { FakeArgoCD, shaOf } from '../../support/fake-argocd';

const TOKEN = 'argocd-token-0f1e2d3c4b5a6978';

const request: DeployRequest = {
  deploymentId: 7,
  service: 'api',
  environment: 'prod',
  version: '1.4.2',
  requestedBy: 'U123',
  idempotencyKey: 'deploy-7:deploy:1',
};

let argo: FakeArgoCD;

beforeEach(async () => {
  argo = await new FakeArgoCD(TOKEN, 'api').start();
});

afterEach(() => argo.stop());

function deployer(overrides: Record<string, unknown> = {}) {
  const spec = argocdDeploy.parse({ type: 'argocd', url: argo.url, application: 'api', token: TOKEN, pollInterval: '10ms', timeout: '5s', retries: 2, ...overrides });
  return createArgocdDeployer(spec, { clock: () => new Date(), retryDelayMs: 1 });
}

const failure = (outcome: DeployOutcome): string => {
  if (outcome.ok) throw new Error(`expected a failure, got: ${outcome.summary}`);
  return outcome.error;
};

const parameters = () => argo.app.spec.source.helm?.parameters as { name: string; value: string; forceString?: boolean }[];
const patches = () => argo.requestsTo('PATCH').map((r) => JSON.parse(r.body) as { name: string; patch: string; patchType: string });

describe('argocd deployer, set: image-tag', () => {
  it('replaces the Helm parameter, keeps the others, syncs and waits until Synced and Healthy', async () => {
    argo.afterSync = { result: 'healthy', afterPolls: 3 };

    const outcome = await deployer().deploy(request);

    expect(outcome).toEqual({ ok: true, summary: expect.stringContaining('image.tag=1.4.2') });
    expect(parameters()).toEqual([
      { name: 'replicaCount', value: '3' },
      { name: 'image.tag', value: '1.4.2', forceString: true },
    ]);
    expect(argo.app.spec.source.helm.valueFiles).toEqual(['values-prod.yaml']);
    expect(argo.app.spec.source.targetRevision).toBe('main');
    expect(patches()).toEqual([{ name: 'api', patchType: 'merge', patch: expect.any(String) }]);
    expect(argo.syncs).toEqual([{ name: 'api', revision: 'main', prune: false }]);
    // 1 read before, then polls until the controller finished (after its 3rd reconciliation).
    expect(argo.requestsTo('GET').length).toBeGreaterThanOrEqual(5);
    expect(argo.app.status.health.status).toBe('Healthy');
    expect(argo.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('adds the parameter when the application does not set it yet', async () => {
    argo.app.spec.source.helm.parameters = [{ name: 'replicaCount', value: '3' }];

    const outcome = await deployer().deploy(request);

    expect(outcome.ok).toBe(true);
    expect(parameters()).toEqual([
      { name: 'replicaCount', value: '3' },
      { name: 'image.tag', value: '1.4.2', forceString: true },
    ]);
  });

  it('creates the helm block when there is none, under the configured parameter name', async () => {
    delete argo.app.spec.source.helm;

    const outcome = await deployer({ parameter: 'api.image.tag' }).deploy({ ...request, version: '1.10' });

    expect(outcome).toEqual({ ok: true, summary: expect.stringContaining('api.image.tag=1.10') });
    expect(parameters()).toEqual([{ name: 'api.image.tag', value: '1.10', forceString: true }]);
  });

  it('refuses an application that is not a Helm application, naming the other mode', async () => {
    argo.app.status.sourceType = 'Kustomize';
    delete argo.app.spec.source.helm;

    const error = failure(await deployer().deploy(request));

    expect(error).toMatch(/Kustomize application.*set: target-revision/);
    expect(argo.requestsTo('PATCH')).toHaveLength(0);
  });
});

describe('argocd deployer, set: target-revision', () => {
  it('points spec.source.targetRevision at the version as given and syncs that revision', async () => {
    argo.app.spec.source.targetRevision = 'v1.4.1';

    const outcome = await deployer({ set: 'target-revision' }).deploy({ ...request, version: 'v1.4.2' });

    expect(outcome).toEqual({ ok: true, summary: expect.stringContaining(`v1.4.2 (revision ${shaOf('v1.4.2').slice(0, 12)})`) });
    expect(argo.app.spec.source.targetRevision).toBe('v1.4.2');
    expect(JSON.parse(patches()[0]!.patch)).toEqual({ spec: { source: { targetRevision: 'v1.4.2' } } });
    expect(parameters()).toEqual([{ name: 'replicaCount', value: '3' }, { name: 'image.tag', value: '1.4.1' }]);
    expect(argo.syncs).toEqual([{ name: 'api', revision: 'v1.4.2', prune: false }]);
    expect(argo.app.status.sync).toMatchObject({ status: 'Synced', revision: shaOf('v1.4.2') });
  });

  it('waits for the sync auto-sync starts when the spec changes instead of failing', async () => {
    argo.app.spec.syncPolicy = { automated: { prune: true, selfHeal: true } };

    const outcome = await deployer({ set: 'target-revision' }).deploy({ ...request, version: 'v1.4.2' });

    expect(outcome.ok).toBe(true);
    expect(argo.requestsTo('POST', '/sync').map((r) => r.status)).toEqual([400]);
    expect(argo.syncs).toHaveLength(0);
    expect(argo.app.status.sync).toMatchObject({ status: 'Synced', revision: shaOf('v1.4.2') });
  });

  it('refuses a multi-source application, saying which field it sets', async () => {
    argo.app.spec.sources = [argo.app.spec.source, { repoURL: 'https://github.com/acme/values.git', targetRevision: 'main', ref: 'values' }];
    delete argo.app.spec.source;

    const error = failure(await deployer({ set: 'target-revision' }).deploy(request));

    expect(error).toMatch(/spec\.sources.*spec\.source/);
    expect(argo.requestsTo('PATCH')).toHaveLength(0);
    expect(argo.syncs).toHaveLength(0);
  });
});

describe('argocd deployer outcomes', () => {
  it('fails with the operation message when the sync fails', async () => {
    argo.afterSync = { result: 'failed', afterPolls: 1, message: 'one or more objects failed to apply, reason: admission webhook denied the request' };

    const error = failure(await deployer().deploy(request));

    expect(error).toMatch(/sync failed: one or more objects failed to apply, reason: admission webhook denied the request/);
  });

  it('fails with the degraded resources when the application turns Degraded', async () => {
    argo.afterSync = { result: 'degraded', afterPolls: 1 };

    const error = failure(await deployer().deploy(request));

    expect(error).toMatch(/Degraded: Deployment api\/api: Deployment "api" exceeded its progress deadline/);
  });

  it('keeps waiting while the synced application is still Progressing', async () => {
    argo.afterSync = { result: 'healthy', afterPolls: 1, progressingPolls: 3 };

    const outcome = await deployer().deploy(request);

    expect(outcome.ok).toBe(true);
    // 1 read before; 2 polls until the sync succeeds; 3 more while it is Progressing.
    expect(argo.requestsTo('GET').length).toBeGreaterThanOrEqual(6);
    expect(argo.app.status.health.status).toBe('Healthy');
  });

  it('times out on an application that is synced but never becomes Healthy', async () => {
    argo.afterSync = { result: 'healthy', afterPolls: 0, progressingPolls: Infinity };

    const error = failure(await deployer({ timeout: '150ms' }).deploy(request));

    expect(error).toMatch(/last sync status Synced, health Progressing, operation Succeeded/);
  });

  it('keeps waiting while the application stays OutOfSync after a successful sync', async () => {
    argo.afterSync = { result: 'healthy', afterPolls: 0, drifts: true };

    const error = failure(await deployer({ timeout: '150ms' }).deploy(request));

    expect(error).toMatch(/last sync status OutOfSync, health Healthy, operation Succeeded/);
  });

  it('times out naming the last sync and health status', async () => {
    argo.afterSync = { result: 'never' };

    const started = Date.now();
    const error = failure(await deployer({ timeout: '150ms' }).deploy(request));

    expect(error).toMatch(/not Synced and Healthy at image\.tag=1\.4\.2 within 150ms: last sync status OutOfSync, health Progressing, operation Running/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});

describe('argocd deployer access and transport', () => {
  it('fails clearly on a rejected token without ever showing a token', async () => {
    const wrong = 'wrong-token-aaaaaaaaaaaaaaaa';
    const spec = argocdDeploy.parse({ type: 'argocd', url: argo.url, application: 'api', token: wrong, retries: 2 });

    const outcome = await createArgocdDeployer(spec, { clock: () => new Date(), retryDelayMs: 1 }).deploy(request);

    expect(failure(outcome)).toMatch(/refused the token \(401: invalid session: token signature is invalid\).*check the token/);
    expect(JSON.stringify(outcome)).not.toContain(wrong);
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
    expect(argo.requests).toHaveLength(1); // not retried
  });

  it('fails clearly when the project role may not sync, after setting the version', async () => {
    argo.denied.add('sync');

    const outcome = await deployer().deploy(request);

    expect(failure(outcome)).toMatch(/denied starting a sync for application api \(403: permission denied: applications, sync, default\/api.*project role/);
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  });

  it('says which application does not exist', async () => {
    const outcome = await deployer({ application: 'billing' }).deploy(request);

    expect(failure(outcome)).toMatch(/has no application named billing/);
    expect(argo.requestsTo('PATCH')).toHaveLength(0);
  });

  it('retries a 502 from the proxy in front of Argo CD', async () => {
    argo.failNext(502, 1, 'POST');

    const outcome = await deployer().deploy(request);

    expect(outcome.ok).toBe(true);
    expect(argo.requestsTo('POST', '/sync').map((r) => r.status)).toEqual([502, 200]);
    expect(argo.syncs).toHaveLength(1);
  });

  it('gives up after the configured retries, naming the answer', async () => {
    argo.failNext(503, 10, 'GET');

    const error = failure(await deployer({ retries: 1 }).deploy(request));

    expect(error).toMatch(/answered 503 while reading the application/);
    expect(argo.requests).toHaveLength(2);
  });

  it('fails when the server cannot be reached', async () => {
    const url = argo.url;
    await argo.stop();
    const spec = argocdDeploy.parse({ type: 'argocd', url, application: 'api', token: TOKEN, retries: 0 });

    const outcome = await createArgocdDeployer(spec, { clock: () => new Date() }).deploy(request);

    expect(failure(outcome)).toMatch(/could not reach 127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
});

describe('argocd deployer repeats', () => {
  it('waits for the sync a crashed earlier try started, without starting another', async () => {
    // The earlier try set the version and asked for the sync, then the process died.
    parameters()[1]!.value = '1.4.2';
    argo.startOperation();

    const outcome = await deployer().deploy(request);

    expect(outcome.ok).toBe(true);
    expect(argo.requestsTo('PATCH')).toHaveLength(0);
    expect(argo.requestsTo('POST', '/sync').map((r) => r.status)).toEqual([400]);
    expect(argo.syncs).toHaveLength(0);
    expect(argo.app.status.operationState.syncResult.source.helm.parameters).toContainEqual({ name: 'image.tag', value: '1.4.2' });
  });

  it('after waiting out an operation for another version, syncs its own', async () => {
    argo.startOperation(); // someone is syncing 1.4.1
    argo.afterSync = { result: 'healthy', afterPolls: 3 };

    const outcome = await deployer().deploy(request);

    expect(outcome.ok).toBe(true);
    expect(argo.requestsTo('POST', '/sync').map((r) => r.status)).toEqual([400, 200]);
    expect(argo.app.status.sync.status).toBe('Synced');
    expect(argo.app.status.operationState.syncResult.source.helm.parameters).toContainEqual({ name: 'image.tag', value: '1.4.2', forceString: true });
  });

  it('still syncs when the version was set but Argo CD has not compared it yet', async () => {
    // A crash right after the patch: the spec says 1.4.2, the status still describes 1.4.1.
    parameters()[1]!.value = '1.4.2';

    const outcome = await deployer().deploy(request);

    expect(outcome.ok).toBe(true);
    expect(argo.syncs).toHaveLength(1);
    expect(argo.app.status.sync.comparedTo.source.helm.parameters).toContainEqual({ name: 'image.tag', value: '1.4.2' });
  });

  it('changes nothing when the version is already deployed, synced and healthy', async () => {
    expect((await deployer().deploy(request)).ok).toBe(true);
    const before = argo.requests.length;

    const again = await deployer().deploy(request);

    expect(again.ok).toBe(true);
    expect(argo.requests.slice(before).map((r) => r.method)).toEqual(['GET']);
  });
});
