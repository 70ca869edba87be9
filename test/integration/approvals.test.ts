import { startHarness, type Harness } from '../support/harness';
import { blockActionsBody, sentButtonValue, eventBody, postSigned } from '../support/slack-requests';
import { WebhookTarget } from '../support/webhook-target';

const config = (target: WebhookTarget) => `
defaults: { channel: C0DEPLOYS }
services:
  api:
    environments:
      staging:
        deploy: { type: webhook, url: "${target.url}", secret: "approval-secret-0123456789" }
      prod:
        deploy: { type: webhook, url: "${target.url}", secret: "approval-secret-0123456789" }
        approval:
          required: 2
          approvers: { users: [U0BOBBY, U0CAROL], groups: [S0SRETEAM] }
          expiresAfter: 1h
`;

type Ack = { text: string };
const text = (blocks: unknown) => JSON.stringify(blocks);

describe('approvals', () => {
  let target: WebhookTarget;
  let h: Harness;

  beforeEach(async () => {
    target = await new WebhookTarget().start();
    h = await startHarness(config(target));
    h.emulator.userGroups.set('S0SRETEAM', ['U0DAVID', 'U0ERIN']);
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  /** Clicks a button and returns what Shipmate told the clicker (through response_url). */
  async function click(actionId: string, userId: string, value = '1'): Promise<string> {
    const before = h.emulator.callsTo('response_url').length;
    await h.click(actionId, value, { userId });
    await h.emulator.waitFor('response_url', () => h.emulator.callsTo('response_url').length > before);
    await h.shipmate.worker.idle();
    return String(h.emulator.callsTo('response_url')[before]!.args.text);
  }
  const card = () => h.emulator.messagesIn('C0DEPLOYS')[0]!;
  const status = () => h.shipmate.db.prepare('SELECT status FROM deployments WHERE id = 1').pluck().get();

  it('waits for two approvers, counts each once, refuses everyone else, then deploys', async () => {
    const ack = (await h.command('api@2.0.0 to prod', { user_id: 'U0ALICE' })).json as Ack;
    expect(ack.text).toContain('Deploy #1 (api 2.0.0 to prod) needs 2 approvals');
    await h.shipmate.worker.idle();
    expect(card().text).toBe('api 2.0.0 → prod: Awaiting approval');
    expect(text(card().blocks)).toContain('"action_id":"deploy_approve"');
    expect(text(card().blocks)).toContain('"action_id":"deploy_reject"');
    expect(text(card().blocks)).toContain('No approvals yet · 2 needed · expires');

    expect(await click('deploy_approve', 'U0MALLORY')).toContain("You aren't an approver for this release.");
    expect(await click('deploy_approve', 'U0ALICE')).toContain('You asked for this release, so someone else has to approve it.');
    expect(await click('deploy_approve', 'U0BOBBY')).toBe('You approved deploy #1; 1 more needed.');
    expect(await click('deploy_approve', 'U0BOBBY')).toBe('Your approval of deploy #1 is already counted.');
    expect(text(card().blocks)).toContain('Approved by <@U0BOBBY>');
    expect(text(card().blocks)).toContain('1 more needed');
    expect(target.received).toHaveLength(0);
    expect(status()).toBe('awaiting_approval');

    // U0DAVID is not listed by name, but is in the S0SRETEAM user group.
    expect(await click('deploy_approve', 'U0DAVID')).toBe('You approved deploy #1; it has every approval it needs.');
    await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
    await h.shipmate.worker.idle();
    expect(target.received).toHaveLength(1);
    expect(text(card().blocks)).toMatch(/Approved by <@U0BOBBY> \(.*\), <@U0DAVID> \(/);
    expect(h.emulator.callsTo('usergroups.users.list')[0]!.args).toMatchObject({ usergroup: 'S0SRETEAM' });
    const audit = h.shipmate.db.prepare("SELECT actor, action FROM audit_log WHERE action LIKE 'deploy.approv%' ORDER BY id").all();
    expect(audit).toEqual([
      { actor: 'U0BOBBY', action: 'deploy.approval' },
      { actor: 'U0DAVID', action: 'deploy.approved' },
    ]);
  });

  it('does not ask for approval where the environment has no policy', async () => {
    await h.command('api@2.0.0 to staging');
    await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
  });

  it('asks for a reason in a modal, then rejects and tells the requester', async () => {
    await h.command('api@2.0.0 to prod', { user_id: 'U0ALICE' });
    await h.shipmate.worker.idle();
    await h.click('deploy_reject', '1', { userId: 'U0CAROL' });
    const opened = await h.emulator.waitFor('views.open');
    expect(opened.args.view).toMatchObject({ type: 'modal', callback_id: 'deploy_reject_reason', private_metadata: '1' });

    const tooShort = await h.submit('deploy_reject_reason', '1', { reason: { reason: { type: 'plain_text_input', value: ' ' } } }, 'U0CAROL');
    expect(tooShort.json).toEqual({ response_action: 'errors', errors: { reason: 'Say in a few words why, so the requester can act on it.' } });
    expect(status()).toBe('awaiting_approval');

    await h.submit('deploy_reject_reason', '1', { reason: { reason: { type: 'plain_text_input', value: 'not during the sale' } } }, 'U0CAROL');
    const told = await h.emulator.waitFor('chat.postMessage', (a) => a.channel === 'U0CAROL');
    expect(told.args.text).toBe('You rejected deploy #1.');
    await h.shipmate.worker.idle();
    expect(status()).toBe('rejected');
    expect(card().text).toBe('api 2.0.0 → prod: Rejected');
    expect(text(card().blocks)).toContain('Rejected by <@U0CAROL>: not during the sale');
    const reply = h.emulator.repliesTo('C0DEPLOYS', card().ts)[0]!;
    expect(text(reply.blocks)).toContain('<@U0ALICE> Rejected: not during the sale');
    expect(target.received).toHaveLength(0);
    expect(await click('deploy_approve', 'U0BOBBY')).toBe('Deploy #1 is rejected; there is nothing to approve.');
  });

  it('answers a Reject click that could not reject at once, without asking for a reason', async () => {
    await h.command('api@2.0.0 to prod', { user_id: 'U0ALICE' });
    await h.shipmate.worker.idle();

    expect(await click('deploy_reject', 'U0FRANK')).toContain("You aren't an approver for this release, so you can't reject it.");
    expect(await click('deploy_approve', 'U0BOBBY')).toBe('You approved deploy #1; 1 more needed.');
    expect(await click('deploy_approve', 'U0DAVID')).toBe('You approved deploy #1; it has every approval it needs.');
    await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
    expect(await click('deploy_reject', 'U0CAROL')).toBe('Deploy #1 is succeeded; there is nothing to reject.');

    expect(h.emulator.callsTo('views.open')).toHaveLength(0);
    expect(status()).toBe('succeeded');
  });

  describe('when Slack is slow or failing to list an approver group', () => {
    let slow: Harness;
    beforeEach(async () => {
      slow = await startHarness(config(target), {}, { rejectCheckWithinMs: 50 });
      slow.emulator.userGroups.set('S0SRETEAM', ['U0DAVID', 'U0ERIN']);
      await slow.command('api@2.0.0 to prod', { user_id: 'U0ALICE' });
      await slow.shipmate.worker.idle();
    });
    afterEach(() => slow.stop());

    const submitReason = (userId: string) => slow.submit('deploy_reject_reason', '1', { reason: { reason: { type: 'plain_text_input', value: 'not during the sale' } } }, userId);
    const toldByDm = (userId: string) => slow.emulator.waitFor('chat.postMessage', (a) => a.channel === userId);
    const deployStatus = () => slow.shipmate.db.prepare('SELECT status FROM deployments WHERE id = 1').pluck().get();

    it('opens the reason form before Slack answers, and the submission refuses someone who is no approver', async () => {
      let answer!: () => void;
      slow.emulator.holdNext('usergroups.users.list', new Promise<void>((resolve) => (answer = resolve)));

      await slow.click('deploy_reject', '1', { userId: 'U0FRANK' });
      const opened = await slow.emulator.waitFor('views.open');
      expect(opened.args.view).toMatchObject({ callback_id: 'deploy_reject_reason', private_metadata: '1' });
      expect(slow.emulator.callsTo('response_url')).toHaveLength(0);

      answer();
      await submitReason('U0FRANK');
      expect((await toldByDm('U0FRANK')).args.text).toContain("You aren't an approver for this release, so you can't reject it.");
      expect(deployStatus()).toBe('awaiting_approval');
    });

    it('opens the reason form when Slack fails to list the group, and the submission rejects for a member', async () => {
      slow.emulator.failNext('usergroups.users.list', { body: { ok: false, error: 'internal_error' } });

      await slow.click('deploy_reject', '1', { userId: 'U0ERIN' });
      await slow.emulator.waitFor('views.open');
      await submitReason('U0ERIN');

      expect((await toldByDm('U0ERIN')).args.text).toBe('You rejected deploy #1.');
      expect(deployStatus()).toBe('rejected');
    });
  });

  it('expires an unanswered request, and it can be requested again', async () => {
    await h.command('api@2.0.0 to prod', { user_id: 'U0ALICE' });
    await h.shipmate.worker.idle();
    h.clock.advance(59 * 60_000);
    h.shipmate.tick();
    await h.shipmate.worker.idle();
    expect(status()).toBe('awaiting_approval');

    h.clock.advance(60_000);
    h.shipmate.tick();
    await h.shipmate.worker.idle();
    expect(status()).toBe('expired');
    expect(card().text).toBe('api 2.0.0 → prod: Expired');
    expect(text(card().blocks)).toContain('"action_id":"deploy_rerequest"');
    expect(await click('deploy_approve', 'U0BOBBY')).toBe('Deploy #1 is expired; there is nothing to approve.');

    expect(await click('deploy_rerequest', 'U0ALICE')).toContain('Deploy #2 (api 2.0.0 to prod) needs 2 approvals');
    expect(h.shipmate.db.prepare('SELECT status, requested_by FROM deployments WHERE id = 2').get()).toEqual({
      status: 'awaiting_approval',
      requested_by: 'U0ALICE',
    });
  });

  it('keeps a pending approval across a restart of the app', async () => {
    await h.command('api@2.0.0 to prod', { user_id: 'U0ALICE' });
    await h.shipmate.worker.idle();
    expect(await click('deploy_approve', 'U0BOBBY')).toContain('1 more needed');
    // The approval is in the database, not in memory: a fresh read shows it.
    const row = h.shipmate.db.prepare('SELECT approvals FROM deployments WHERE id = 1').pluck().get() as string;
    expect(JSON.parse(row)).toEqual([{ userId: 'U0BOBBY', at: expect.any(String) }]);
  });

  it('shows each approver what waits for them on App Home, and approves from there', async () => {
    await h.command('api@2.0.0 to prod', { user_id: 'U0ALICE' });
    await h.shipmate.worker.idle();
    const openHome = async (user: string) => {
      const before = h.emulator.callsTo('views.publish').length;
      const response = await postSigned(h.url, eventBody({ type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home' }), {
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(200);
      await h.emulator.waitFor('views.publish', () => h.emulator.callsTo('views.publish').length > before);
      const published = h.emulator.callsTo('views.publish')[before]!;
      expect(published.args.user_id).toBe(user);
      return JSON.stringify(published.args.view);
    };

    const bobby = await openHome('U0BOBBY');
    expect(bobby).toContain('"type":"home"');
    expect(bobby).toContain('Waiting for your approval');
    expect(bobby).toContain('*api* `2.0.0` → prod · awaiting approval · #1 by <@U0ALICE>');
    expect(bobby).toMatch(/"action_id":"deploy_approve","value":"1\.[\w-]{22}"/); // signed
    expect(await openHome('U0MALLORY')).toContain('Nothing waits for you.');
    expect(await openHome('U0ALICE')).toContain('Nothing waits for you.'); // requesters cannot approve their own

    await postSigned(h.url, blockActionsBody('deploy_approve', sentButtonValue(h.emulator.calls, 'deploy_approve', '1'), { userId: 'U0BOBBY', fromHome: true }));
    const dm = await h.emulator.waitFor('chat.postMessage', (a) => a.channel === 'U0BOBBY');
    expect(dm.args.text).toBe('You approved deploy #1; 1 more needed.');
    await h.emulator.waitFor('views.publish', () => h.emulator.callsTo('views.publish').length > 3);
    expect(JSON.stringify(h.emulator.callsTo('views.publish')[3]!.args.view)).toContain('Nothing waits for you.');
  });

  it('a release into an environment with approvals shows that gate in its plan, and its deploy waits for approval', async () => {
    const text = ((await h.command('create r1 api@2.0.0 to prod', { user_id: 'U0ALICE', command: '/release' })).json as Ack).text;
    expect(text).toBe('Release r1 (#1) to prod. It starts now.\nWave 1: api 2.0.0\nGates: api needs 2 approvals');
    await h.settle();
    expect(status()).toBe('awaiting_approval');
    expect(target.received).toHaveLength(0);
  });
});
