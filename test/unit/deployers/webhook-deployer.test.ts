import { createHmac } from 'node:crypto';
import { webhookDeploy } from '../../../src/core/deploy-specs';
import type { DeployRequest } from '../../../src/core/ports';
import { createWebhookDeployer } from '../../../src/deployers/webhook-deployer';
import { WebhookTarget } from '../../support/webhook-target';

const SECRET = 'webhook-secret-0123456789';
const NOW = new Date('2026-11-23T10:00:00Z');

let target: WebhookTarget;

beforeEach(async () => {
  target = await new WebhookTarget().start();
});

afterEach(() => target.stop());

function deployer() {
  const spec = webhookDeploy.parse({ type: 'webhook', url: target.url, secret: SECRET, timeout: '5s', retries: 0 });
  return createWebhookDeployer(spec, { clock: () => NOW });
}

function request(overrides: Partial<DeployRequest> = {}): DeployRequest {
  return { deploymentId: 7, service: 'api', environment: 'prod', version: '1.4.2', requestedBy: 'U0ALICE', idempotencyKey: 'deploy:7:canary:1', ...overrides };
}

/** What the target must compute to accept the request: HMAC-SHA256 of `<timestamp>.<body as received>`. */
function expectSignedOverExactBody(index = 0): void {
  const hook = target.received[index]!;
  const timestamp = hook.headers['x-shipmate-timestamp'];
  expect(timestamp).toBe(String(NOW.getTime() / 1000));
  expect(hook.headers['x-shipmate-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${hook.body}`).digest('hex')}`);
}

describe('webhook deployer with canary steps', () => {
  it('sends the weight and baseline version of a canary step in the signed body', async () => {
    const outcome = await deployer().deploy(request({ canary: { weight: 25, baselineVersion: '1.4.1' } }));

    expect(outcome.ok).toBe(true);
    expect(JSON.parse(target.received[0]!.body)).toEqual({
      deploymentId: 7,
      service: 'api',
      environment: 'prod',
      version: '1.4.2',
      requestedBy: 'U0ALICE',
      idempotencyKey: 'deploy:7:canary:1',
      weight: 25,
      baselineVersion: '1.4.1',
    });
    expectSignedOverExactBody();
  });

  it('sends weight 0 for an abort and a null baseline when there is none, keys present', async () => {
    await deployer().deploy(request({ idempotencyKey: 'deploy:7:canary:abort', canary: { weight: 0, baselineVersion: null } }));

    const body = JSON.parse(target.received[0]!.body) as Record<string, unknown>;
    expect(body).toHaveProperty('weight', 0);
    expect(body).toHaveProperty('baselineVersion', null);
    expectSignedOverExactBody();
  });

  it('sends neither key for a plain deploy', async () => {
    await deployer().deploy(request({ idempotencyKey: 'deploy:7:deploy' }));

    expect(Object.keys(JSON.parse(target.received[0]!.body) as object)).toEqual(['deploymentId', 'service', 'environment', 'version', 'requestedBy', 'idempotencyKey']);
    expectSignedOverExactBody();
  });

  it('signs each step of one deployer over that step\'s own body', async () => {
    const webhook = deployer();
    await webhook.deploy(request({ canary: { weight: 10, baselineVersion: '1.4.1' } }));
    await webhook.deploy(request({ idempotencyKey: 'deploy:7:canary:2', canary: { weight: 50, baselineVersion: '1.4.1' } }));

    expect(target.received.map((h) => (JSON.parse(h.body) as { weight: number }).weight)).toEqual([10, 50]);
    expectSignedOverExactBody(0);
    expectSignedOverExactBody(1);
  });
});
