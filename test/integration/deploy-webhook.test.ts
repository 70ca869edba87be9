import { createHmac } from 'node:crypto';
import { startHarness, type Harness } from '../support/harness';
import { WebhookTarget } from '../support/webhook-target';

const SECRET = 'webhook-secret-0123456789';

function configFor(target: WebhookTarget): string {
  return `
defaults:
  channel: C0DEPLOYS
services:
  api:
    channel: C0APIDEPLOY
    environments:
      staging:
        deploy:
          type: webhook
          url: ${target.url}
          secret: \${API_HOOK_SECRET}
          timeout: 5s
      prod:
        deploy:
          type: webhook
          url: ${target.url}
          secret: \${API_HOOK_SECRET}
`;
}

describe('/deploy with a webhook deployer', () => {
  let target: WebhookTarget;
  let h: Harness;

  beforeEach(async () => {
    target = await new WebhookTarget().start();
    h = await startHarness(configFor(target), { API_HOOK_SECRET: SECRET });
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  it('acks at once, posts in the service channel, calls the webhook signed, and edits the message to succeeded', async () => {
    const ack = await h.command('api@1.4.2 to staging');
    expect(ack.status).toBe(200);
    expect(ack.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('Deploying api 1.4.2 to staging (deploy #1)') });

    const posted = await h.emulator.waitFor('chat.postMessage', (a) => a.channel === 'C0APIDEPLOY' && !a.thread_ts);
    expect(posted.args.text).toBe('api 1.4.2 → staging: Queued');
    expect(posted.args.metadata).toMatchObject({ event_type: 'shipmate_message', event_payload: { message_key: 'deploy:1' } });
    expect(posted.token).toBe('xoxb-111-222-harnesstoken');

    const done = await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
    const updates = h.emulator.callsTo('chat.update').map((c) => c.args.text);
    expect(updates).toEqual(['api 1.4.2 → staging: Deploying', 'api 1.4.2 → staging: Succeeded']);
    expect(done.args.channel).toBe('C0APIDEPLOY');
    const reply = await h.emulator.waitFor('chat.postMessage', (a) => a.thread_ts !== undefined);
    expect(reply.args.thread_ts).toBe(done.args.ts);
    expect(reply.args.text).toContain('api 1.4.2 is live in staging');

    expect(target.received).toHaveLength(1);
    const hook = target.received[0]!;
    expect(JSON.parse(hook.body)).toEqual({
      deploymentId: 1,
      service: 'api',
      environment: 'staging',
      version: '1.4.2',
      requestedBy: 'U0ALICE',
      idempotencyKey: 'deploy:1:deploy',
    });
    const timestamp = hook.headers['x-shipmate-timestamp'] as string;
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${hook.body}`).digest('hex')}`;
    expect(hook.headers['x-shipmate-signature']).toBe(expected);
    expect(hook.headers['idempotency-key']).toBe('deploy:1:deploy');

    await h.shipmate.worker.idle();
    const row = h.shipmate.db.prepare('SELECT status, version, requested_by, source FROM deployments WHERE id = 1').get();
    expect(row).toEqual({ status: 'succeeded', version: '1.4.2', requested_by: 'U0ALICE', source: 'slash_command' });
    const audit = h.shipmate.db.prepare('SELECT actor, action, source, subject FROM audit_log ORDER BY id').all();
    expect(audit).toEqual([
      { actor: 'U0ALICE', action: 'deploy.requested', source: 'slash_command', subject: 'api/staging' },
      { actor: 'system', action: 'deploy.started', source: 'system', subject: 'api/staging' },
      { actor: 'system', action: 'deploy.succeeded', source: 'system', subject: 'api/staging' },
    ]);
  });

  it('marks the deploy failed with the status the webhook answered, and offers a Retry button that deploys again', async () => {
    target.status = 503;
    target.responseBody = 'maintenance';
    await h.command('api@1.4.2 to staging');
    const failed = await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Failed'));
    expect(JSON.stringify(failed.args.blocks)).toContain('answered 503: maintenance');
    const buttons = (failed.args.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions');
    expect(buttons?.elements?.[0]).toMatchObject({ action_id: 'deploy_retry', value: expect.stringMatching(/^1\./) });
    await h.shipmate.worker.idle();

    target.status = 200;
    const click = await h.click('deploy_retry', '1', { userId: 'U0BOB' });
    expect(click.status).toBe(200);
    const told = await h.emulator.waitFor('response_url');
    expect(told.args).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(told.args.text)).toContain('deploy #2');
    await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
    await h.shipmate.worker.idle();
    expect(h.shipmate.db.prepare('SELECT id, status, requested_by, source FROM deployments ORDER BY id').all()).toEqual([
      { id: 1, status: 'failed', requested_by: 'U0ALICE', source: 'slash_command' },
      { id: 2, status: 'succeeded', requested_by: 'U0BOB', source: 'button' },
    ]);
  });
});
