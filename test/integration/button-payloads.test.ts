import { TAMPERED_BUTTON_TEXT } from '../../src/slack/button-guard';
import { unsignedPart } from '../../src/slack/button-signing';
import { startHarness, type Harness } from '../support/harness';
import { blockActionsBody, postSigned, sentButtonValue } from '../support/slack-requests';

/**
 * Button values come back from Slack as Shipmate posted them, signed. A click whose value was edited
 * (to name another deploy, release, incident or flag change) is refused before any listener runs;
 * a genuine click on something already finished says so and changes nothing.
 */

const CONFIG = `
defaults: { channel: C0DEPLOYS }
flags: { channel: C0FLAGS, environments: { prod: {} } }
services:
  api:
    environments:
      prod:
        deploy: { type: command, command: /bin/true }
        approval: { required: 1, approvers: { users: [U0BOBBY] } }
  web:
    environments:
      prod:
        deploy: { type: command, command: /bin/true }
        approval: { required: 1, approvers: { users: [U0BOBBY] } }
`;

describe('button payloads', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness(CONFIG);
  });
  afterEach(() => h.stop());

  const say = async (text: string, user = 'U0ALICE', command = '/deploy') => ((await h.command(text, { user_id: user, command })).json as { text: string }).text;
  /** Sends a click with exactly this value, and returns what Shipmate told the clicker. */
  const clickRaw = async (actionId: string, value: string, userId = 'U0BOBBY') => {
    const before = h.emulator.callsTo('response_url').length;
    const reply = h.emulator.waitFor('response_url', () => h.emulator.callsTo('response_url').length > before);
    await postSigned(h.url, blockActionsBody(actionId, value, { userId, responseBase: h.emulator.url }));
    await h.settle();
    return String((await reply).args.text);
  };
  const signed = (actionId: string, shown: string) => sentButtonValue(h.emulator.calls, actionId, shown);
  const status = (id: number) => h.shipmate.db.prepare('SELECT status FROM deployments WHERE id = ?').pluck().get(id);
  const rejections = () => h.shipmate.db.prepare("SELECT actor, subject FROM audit_log WHERE action = 'button.rejected' ORDER BY rowid").all();

  async function twoAwaitingApproval() {
    await say('api@1.0.0 to prod');
    await say('web@2.0.0 to prod');
    await h.settle();
    expect([status(1), status(2)]).toEqual(['awaiting_approval', 'awaiting_approval']);
  }

  it('posts every button with a signed value that shows what it points at', async () => {
    await twoAwaitingApproval();
    const approve = signed('deploy_approve', '1');
    expect(approve).toMatch(/^1\.[\w-]{22}$/);
    expect(unsignedPart(approve)).toBe('1');
    expect(signed('deploy_approve', '2')).not.toBe(approve.replace(/^1/, '2'));
  });

  it('refuses a click whose value was edited to name another deploy, changes nothing, and audits it', async () => {
    await twoAwaitingApproval();
    const mac = signed('deploy_approve', '1').split('.')[1];
    expect(await clickRaw('deploy_approve', `2.${mac}`)).toBe(TAMPERED_BUTTON_TEXT);
    expect(await clickRaw('deploy_approve', '2')).toBe(TAMPERED_BUTTON_TEXT);
    expect([status(1), status(2)]).toEqual(['awaiting_approval', 'awaiting_approval']);
    expect(rejections()).toEqual([
      { actor: 'U0BOBBY', subject: 'deploy_approve' },
      { actor: 'U0BOBBY', subject: 'deploy_approve' },
    ]);
    // The genuine button still works.
    expect(await clickRaw('deploy_approve', signed('deploy_approve', '2'))).toContain('#2');
    expect(status(2)).not.toBe('awaiting_approval');
    expect(status(1)).toBe('awaiting_approval');
  });

  it('refuses a signed value moved onto another button', async () => {
    await twoAwaitingApproval();
    // Reject opens a modal, Rollback deploys: the approval's value is good for neither.
    expect(await clickRaw('deploy_rollback', signed('deploy_approve', '1'))).toBe(TAMPERED_BUTTON_TEXT);
    expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM deployments').pluck().get()).toBe(2);
  });

  it.each([
    ['deploy_retry', '1'],
    ['deploy_rerequest', '1'],
    ['deploy_rollback', '1'],
    ['canary_promote', '1'],
    ['canary_rollback', '1'],
    ['release_pause', '1'],
    ['release_abort', '1'],
    ['release_rollback', '1'],
    ['flag_approve', '1'],
    ['flag_undo', '1'],
    ['incident_rollback', '1'],
    ['incident_ack', '1'],
    ['incident_pause_releases', '1'],
    ['incident_flag_off:new-checkout', '1:new-checkout'],
  ])('refuses a hand-made %s click before it reaches the listener', async (actionId, value) => {
    await twoAwaitingApproval();
    const count = (table: string) => h.shipmate.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
    const [audited, effects, events] = [count('audit_log'), count('effects'), count('flow_events')];
    expect(await clickRaw(actionId, value)).toBe(TAMPERED_BUTTON_TEXT);
    expect([count('audit_log'), count('effects'), count('flow_events')]).toEqual([audited + 1, effects, events]);
  });

  it('refuses an edited click from App Home with a direct message', async () => {
    await twoAwaitingApproval();
    const before = h.emulator.callsTo('chat.postMessage').length;
    await postSigned(h.url, blockActionsBody('deploy_approve', '1', { userId: 'U0BOBBY', fromHome: true }));
    const dm = await h.emulator.waitFor('chat.postMessage', (a) => a.channel === 'U0BOBBY' && h.emulator.callsTo('chat.postMessage').length > before);
    expect(dm.args.text).toBe(TAMPERED_BUTTON_TEXT);
    expect(status(1)).toBe('awaiting_approval');
  });

  describe('a genuine button on something already finished says so and changes nothing', () => {
    it('Approve on a deploy that already went out', async () => {
      await twoAwaitingApproval();
      const approve = signed('deploy_approve', '1');
      await clickRaw('deploy_approve', approve);
      expect(status(1)).toBe('succeeded');
      expect(await clickRaw('deploy_approve', approve, 'U0BOBBY')).toBe('Deploy #1 is succeeded; there is nothing to approve.');
      expect(status(1)).toBe('succeeded');
    });

    it('Promote anyway on a deploy that has no paused canary', async () => {
      await twoAwaitingApproval();
      await clickRaw('deploy_approve', signed('deploy_approve', '1'));
      const value = h.shipmate.signer.sign('canary_promote', '1');
      const answer = await clickRaw('canary_promote', value);
      expect(answer).toBe('The canary of deploy #1 is not running; there is nothing to decide.');
      expect(status(1)).toBe('succeeded');
    });

    it('Roll back on a deploy that was already rolled back', async () => {
      for (const version of ['1.0.0', '1.1.0']) {
        await say(`api@${version} to prod`);
        await h.settle();
        await clickRaw('deploy_approve', signed('deploy_approve', String(h.shipmate.db.prepare('SELECT MAX(id) FROM deployments').pluck().get())));
      }
      const rollback = signed('deploy_rollback', '2');
      expect(await clickRaw('deploy_rollback', rollback)).toContain('to 1.0.0');
      await clickRaw('deploy_approve', signed('deploy_approve', '3'));
      expect(status(3)).toBe('succeeded');
      expect(await clickRaw('deploy_rollback', rollback)).toBe('api in prod already runs 1.0.0 (rolled back by deploy #3); nothing to roll back.');
      expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM deployments').pluck().get()).toBe(3);
    });

    it('Undo on a flag change that a later change replaced', async () => {
      await say('create new-checkout', 'U0ALICE', '/flag');
      await say('new-checkout on prod', 'U0ALICE', '/flag');
      await h.settle();
      await say('new-checkout off prod', 'U0ALICE', '/flag');
      await h.settle();
      const answer = await clickRaw('flag_undo', signed('flag_undo', '1'), 'U0ALICE');
      expect(answer).toBe('Flag change #1 is not the latest change of new-checkout in prod (#2 is): undo that one, or change the flag with /flag.');
      expect(h.shipmate.db.prepare("SELECT enabled FROM flags WHERE key = 'new-checkout'").pluck().get()).toBe(0);
    });
  });
});
