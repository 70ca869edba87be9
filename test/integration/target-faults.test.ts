import { IDEMPOTENCY_HEADER } from '../../src/deployers/webhook-deployer';
import { startHarness, type Harness } from '../support/harness';
import { WebhookTarget } from '../support/webhook-target';

/**
 * A deploy target that fails on purpose: 5xx for a while, 5xx for good, or no answer at all. Tries
 * are bounded and carry one idempotency key; a target that stays down ends in a clear failure on
 * the card, with the way back offered.
 */

const config = (target: WebhookTarget, extra = '') => `
defaults: { channel: C0DEPLOYS }
services:
  api:
    environments:
      prod: { deploy: { type: webhook, url: "${target.url}", secret: "faults-secret-0123456789", retries: 3${extra} } }
`;

type Block = { type: string; text?: { text: string }; elements?: { action_id: string; text: { text: string } }[] };

describe('deploy targets that misbehave', () => {
  let target: WebhookTarget;
  let h: Harness;
  beforeEach(async () => {
    target = await new WebhookTarget().start();
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  const deploy = async (text: string) => ((await h.command(text, { user_id: 'U0ALICE' })).json as { text: string }).text;
  const card = (id: number) => h.emulator.messagesIn('C0DEPLOYS').find((m) => JSON.stringify(m.blocks).includes(`Deploy #${id} `))!;
  const buttons = (id: number) => ((card(id).blocks as Block[]).find((b) => b.type === 'actions')?.elements ?? []).map((e) => `${e.action_id}: ${e.text.text}`);
  const status = (id: number) => h.shipmate.db.prepare('SELECT status, error FROM deployments WHERE id = ?').get(id) as { status: string; error: string | null };
  const keysOfTries = () => target.received.map((r) => r.headers[IDEMPOTENCY_HEADER]);

  it('goes through once a target answering 502 and 503 recovers, every try with the same idempotency key', async () => {
    h = await startHarness(config(target));
    let tries = 0;
    target.statusFor = () => (++tries <= 2 ? [502, 503][tries - 1]! : 200);
    await deploy('api@1.0.0 to prod');
    await h.settle();
    expect(status(1)).toEqual({ status: 'succeeded', error: null });
    expect(target.received).toHaveLength(3);
    expect(new Set(keysOfTries())).toEqual(new Set(['deploy:1:deploy']));
  });

  it('fails clearly after the bounded tries of a target that stays down, and offers the rollback to the last good version', async () => {
    h = await startHarness(config(target));
    await deploy('api@1.0.0 to prod');
    await h.settle();
    target.status = 503;
    target.responseBody = 'service unavailable: maintenance';
    await deploy('api@1.1.0 to prod');
    await h.settle();

    const tries = target.received.length - 1;
    expect(tries).toBe(4); // the first try and 3 retries, as `retries: 3` says, then no more
    expect(new Set(keysOfTries().slice(1))).toEqual(new Set(['deploy:2:deploy']));
    expect(status(2).status).toBe('failed');
    expect(status(2).error).toContain('503');
    expect(JSON.stringify(card(2).blocks)).toContain('503');
    expect(JSON.stringify(card(2).blocks)).not.toMatch(/\bat \w+ \(|node_modules/); // no stack
    expect(buttons(2)).toEqual(['deploy_retry: Retry', 'deploy_rollback: Roll back to 1.0.0']);

    // The way back works while the target is down for new versions only.
    target.statusFor = (hook) => (JSON.parse(hook.body).version === '1.0.0' ? 200 : 503);
    await h.click('deploy_rollback', '2');
    await h.settle();
    expect(status(3).status).toBe('succeeded');
    expect(JSON.parse(target.received.at(-1)!.body)).toMatchObject({ service: 'api', version: '1.0.0' });
  });

  it('gives up on a target that never answers after its timeout, retries included, and says so', async () => {
    h = await startHarness(config(target, ', timeout: 150ms'));
    target.hold(); // accepts every request and answers none
    await deploy('api@1.0.0 to prod');
    await h.settle();
    expect(target.received).toHaveLength(4);
    expect(status(1).status).toBe('failed');
    expect(status(1).error).toMatch(/timeout|did not answer|timed out/i);
    expect(buttons(1)).toContain('deploy_retry: Retry');
  });
});
