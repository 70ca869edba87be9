import { startHarness, type Harness } from '../support/harness';

/**
 * Who may do what, per environment: every slash command and button goes through the policy; a
 * refusal names the missing permission, changes nothing and is audited.
 */

const CONFIG = `
defaults: { channel: C0DEPLOYS }
access:
  prod:
    deploy: { users: [U0ALICE] }
    rollback: { groups: [S0ONCALLS] }
    flags: { users: [U0ALICE] }
flags: { environments: { prod: {} } }
services:
  api:
    environments:
      staging: { deploy: { type: command, command: /bin/true } }
      prod: { deploy: { type: command, command: /bin/true } }
`;

describe('access control', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness(CONFIG);
    h.emulator.userGroups.set('S0ONCALLS', ['U0CAROL']);
  });
  afterEach(() => h.stop());

  const say = async (text: string, user: string, command = '/deploy') => ((await h.command(text, { user_id: user, command })).json as { text: string }).text;
  const count = (sql: string) => h.shipmate.db.prepare(sql).pluck().get();
  const denied = () => h.shipmate.db.prepare("SELECT actor, subject, detail FROM audit_log WHERE action = 'access.denied' ORDER BY rowid").all();

  it('deploys to prod only for those listed, and refuses the others with the missing permission', async () => {
    expect(await say('api@1.0.0 to prod', 'U0MALLORY')).toContain('You do not have the deploy permission in prod (access.prod.deploy in shipmate.yml lists who has); nothing was changed.');
    expect(count('SELECT COUNT(*) FROM deployments')).toBe(0);
    expect(denied()).toEqual([{ actor: 'U0MALLORY', subject: 'api/prod', detail: JSON.stringify({ permission: 'deploy:prod' }) }]);
    // Other environments are open to everyone.
    expect(await say('api@1.0.0 to staging', 'U0MALLORY')).toContain('deploy #1');
    expect(await say('api@1.0.0 to prod', 'U0ALICE')).toContain('deploy #2');
  });

  it('rolls back prod only for members of the on-call group, from the command or the button', async () => {
    await say('api@1.0.0 to prod', 'U0ALICE');
    await h.settle();
    await say('api@1.1.0 to prod', 'U0ALICE');
    await h.settle();
    expect(await say('rollback api prod', 'U0ALICE')).toContain('You do not have the rollback permission in prod');
    const click = await h.click('deploy_rollback', '2', { userId: 'U0MALLORY' });
    expect(click.status).toBe(200);
    await h.settle();
    expect(count('SELECT COUNT(*) FROM deployments WHERE rollback_of IS NOT NULL')).toBe(0);
    expect(await say('rollback api prod', 'U0CAROL')).toContain('Rolling back api in prod from 1.1.0 to 1.0.0');
    expect((denied() as { actor: string }[]).map((d) => d.actor)).toEqual(['U0ALICE', 'U0MALLORY']);
  });

  it('changes flags in prod only for those listed', async () => {
    await say('create new-checkout', 'U0MALLORY', '/flag');
    expect(await say('new-checkout on prod', 'U0MALLORY', '/flag')).toContain('You do not have the flags permission in prod');
    expect(count('SELECT COUNT(*) FROM flag_changes')).toBe(0);
    expect(await say('new-checkout on prod', 'U0ALICE', '/flag')).toContain('Flag change #1');
  });
});
