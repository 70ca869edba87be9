import { signWebhook } from '../../src/deployers/webhook-deployer';
import { startHarness, type Harness } from '../support/harness';
import { WebhookTarget } from '../support/webhook-target';

const SECRET = 'completion-secret-0123456789';
const config = (target: WebhookTarget) => `
defaults: { channel: C0DEPLOYS }
services:
  sync:
    environments: { prod: { deploy: { type: webhook, url: "${target.url}", secret: "${SECRET}", retries: 3 } } }
  called:
    environments: { prod: { deploy: { type: webhook, url: "${target.url}", secret: "${SECRET}", completion: callback, timeout: 2s } } }
  silent:
    environments: { prod: { deploy: { type: webhook, url: "${target.url}", secret: "${SECRET}", completion: callback, timeout: 100ms } } }
  polled:
    environments: { prod: { deploy: { type: webhook, url: "${target.url}", secret: "${SECRET}", completion: poll, pollInterval: 10ms, timeout: 5s } } }
  templated:
    environments: { prod: { deploy: { type: webhook, url: "${target.url}", secret: "${SECRET}", completion: poll, pollInterval: 10ms, statusUrl: "${target.url.replace('/deploy', '')}/jobs/{{deploymentId}}" } } }
`;

describe('webhook deploys: retries and asynchronous completion', () => {
  let target: WebhookTarget;
  let h: Harness;
  const finished = (service: string) => h.emulator.waitFor('chat.update', (a) => String(a.text).startsWith(`${service} `) && /(Succeeded|Failed)$/.test(String(a.text)));
  const status = (id: number) => h.shipmate.db.prepare('SELECT status, error FROM deployments WHERE id = ?').get(id);

  /** What a deploy target sends back when it is done, signed with the shared secret. */
  const callback = (body: object, options: { secret?: string; timestamp?: number } = {}) => {
    const text = JSON.stringify(body);
    const timestamp = String(options.timestamp ?? Math.floor(h.clock.now().getTime() / 1000));
    return fetch(`${h.url}/deployments/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shipmate-timestamp': timestamp, 'x-shipmate-signature': signWebhook(options.secret ?? SECRET, timestamp, text) },
      body: text,
    });
  };

  beforeEach(async () => {
    target = await new WebhookTarget().start();
    h = await startHarness(config(target));
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  it('retries 5xx answers with the same idempotency key, then succeeds', async () => {
    let calls = 0;
    target.statusFor = () => (++calls <= 2 ? 502 : 200);
    await h.command('sync@1.0.0 to prod');
    expect((await finished('sync')).args.text).toBe('sync 1.0.0 → prod: Succeeded');
    expect(target.received.map((r) => r.headers['idempotency-key'])).toEqual(['deploy:1:deploy', 'deploy:1:deploy', 'deploy:1:deploy']);
  });

  it('gives up after the configured retries and says what the target answered', async () => {
    target.status = 503;
    target.responseBody = 'overloaded';
    await h.command('sync@1.0.0 to prod');
    await finished('sync');
    expect(target.received).toHaveLength(4);
    expect(status(1)).toEqual({ status: 'failed', error: expect.stringContaining('answered 503: overloaded') });
  });

  it('waits for a signed callback, refusing forged, stale and unknown ones', async () => {
    target.status = 202;
    await h.command('called@1.0.0 to prod');
    await target.arrived(1);
    expect((await callback({ idempotencyKey: 'deploy:1:deploy', status: 'succeeded' }, { secret: 'another-secret-0123456789' })).status).toBe(401);
    expect((await callback({ idempotencyKey: 'deploy:1:deploy', status: 'succeeded' }, { timestamp: Math.floor(h.clock.now().getTime() / 1000) - 600 })).status).toBe(401);
    expect((await callback({ idempotencyKey: 'deploy:99:deploy', status: 'succeeded' })).status).toBe(404);
    expect((await callback({ idempotencyKey: 'deploy:1:deploy', status: 'done' })).status).toBe(400);
    // A signature as long as the real one in characters but not in bytes is refused, not a crash.
    const forged = await fetch(`${h.url}/deployments/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shipmate-timestamp': String(Math.floor(h.clock.now().getTime() / 1000)), 'x-shipmate-signature': `sha256=${'é'.repeat(64)}` },
      body: JSON.stringify({ idempotencyKey: 'deploy:1:deploy', status: 'succeeded' }),
    });
    expect(forged.status).toBe(401);
    expect(status(1)).toMatchObject({ status: 'deploying' });

    expect((await callback({ idempotencyKey: 'deploy:1:deploy', status: 'succeeded', detail: 'rolled out to 12 pods' })).status).toBe(202);
    expect((await finished('called')).args.text).toBe('called 1.0.0 → prod: Succeeded');
    const reply = await h.emulator.waitFor('chat.postMessage', (a) => a.thread_ts !== undefined);
    expect(reply.args.text).toContain('reported success. rolled out to 12 pods');
  });

  it('fails a deploy whose target reports failure, or never calls back', async () => {
    target.status = 202;
    await h.command('called@1.0.0 to prod');
    await target.arrived(1);
    await callback({ idempotencyKey: 'deploy:1:deploy', status: 'failed', detail: 'image pull backoff' });
    await finished('called');
    expect(status(1)).toEqual({ status: 'failed', error: expect.stringContaining('reported failure: image pull backoff') });

    await h.command('silent@1.0.0 to prod');
    await finished('silent');
    expect(status(2)).toEqual({ status: 'failed', error: expect.stringContaining('accepted the deploy but did not call back within 100ms') });
  });

  it('polls the Location of a 202 until the target says it is done', async () => {
    target.status = 202;
    target.headers = { location: '/status/abc' };
    let polls = 0;
    target.onGet = (path) => (path === '/status/abc' ? { status: ++polls < 3 ? 'running' : 'succeeded', detail: 'all green' } : undefined);
    await h.command('polled@1.0.0 to prod');
    expect((await finished('polled')).args.text).toBe('polled 1.0.0 → prod: Succeeded');
    expect(target.gets).toEqual(['/status/abc', '/status/abc', '/status/abc']);
  });

  it('polls a configured status URL with the deploy filled in', async () => {
    target.status = 202;
    target.onGet = (path) => (path === '/jobs/1' ? { status: 'failed', detail: 'migration failed' } : undefined);
    await h.command('templated@1.0.0 to prod');
    await finished('templated');
    expect(status(1)).toEqual({ status: 'failed', error: expect.stringContaining('reported failure: migration failed') });
  });
});
