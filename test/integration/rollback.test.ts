import { startHarness, type Harness } from '../support/harness';
import { blockActionsBody, sentButtonValue, postSigned, slashCommandBody } from '../support/slack-requests';
import { WebhookTarget } from '../support/webhook-target';

const hook = (target: WebhookTarget) => `{ type: webhook, url: "${target.url}", secret: "rollback-secret-0123456789" }`;
const config = (target: WebhookTarget, autoRollback = false) => `
defaults: { channel: C0DEPLOYS }
releases: { autoRollback: ${autoRollback} }
services:
  api:
    environments: { staging: { deploy: ${hook(target)} }, prod: { deploy: ${hook(target)} } }
  db:
    environments: { prod: { deploy: ${hook(target)} } }
  web:
    dependsOn: [db]
    environments: { prod: { deploy: ${hook(target)} } }
`;

type Ack = { text: string };
type Block = { type: string; elements?: { action_id: string; value: string; text: { text: string }; confirm?: { text: { text: string } } }[] };

describe('rollback', () => {
  let target: WebhookTarget;
  let h: Harness;
  const deploy = async (text: string, user = 'U0ALICE', command = '/deploy') => ((await h.command(text, { user_id: user, command })).json as Ack).text;
  const versions = () => target.received.map((r) => `${JSON.parse(r.body).service}@${JSON.parse(r.body).version}`);
  const card = (id: number) => h.emulator.messagesIn('C0DEPLOYS').find((m) => JSON.stringify(m.blocks).includes(`Deploy #${id} `))!;
  const buttonsOf = (id: number) => ((card(id).blocks as Block[]).find((b) => b.type === 'actions')?.elements ?? []);

  async function start(autoRollback = false) {
    target = await new WebhookTarget().start();
    h = await startHarness(config(target, autoRollback));
  }
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  it('goes back to the last known good version, from the command or the button, and says so', async () => {
    await start();
    await deploy('api@1.0.0 to prod');
    await h.settle();
    await deploy('api@1.1.0 to prod');
    await h.settle();
    const [rollbackButton] = buttonsOf(2);
    expect(rollbackButton).toMatchObject({ action_id: 'deploy_rollback', value: expect.stringMatching(/^2\./), text: { text: 'Roll back to 1.0.0' } });
    expect(rollbackButton!.confirm!.text.text).toBe('Roll back *api* in prod from *1.1.0* to *1.0.0*?');

    expect(await deploy('rollback api prod')).toBe('Rolling back api in prod from 1.1.0 to 1.0.0 (deploy #3). Follow it in <#C0DEPLOYS>.');
    await h.settle();
    expect(versions()).toEqual(['api@1.0.0', 'api@1.1.0', 'api@1.0.0']);
    expect(JSON.stringify(card(3).blocks)).toContain(':rewind: Rollback from `1.1.0`');
    expect(card(3).text).toBe('api 1.0.0 → prod: Succeeded');
    expect(h.shipmate.db.prepare('SELECT id, rolled_back FROM deployments ORDER BY id').all()).toEqual([
      { id: 1, rolled_back: 0 },
      { id: 2, rolled_back: 1 },
      { id: 3, rolled_back: 0 },
    ]);
    // The rollback's own card offers no way back to the version it undid.
    expect(buttonsOf(3).map((b) => b.action_id)).not.toContain('deploy_rollback');
    // 1.1.0 was rolled back, so it is no longer a good version: nothing earlier than 1.0.0 is left.
    expect(await deploy('rollback api prod')).toBe('api in prod has no earlier good version to roll back to: 1.0.0 is the only one that ever succeeded there.');
    const audit = h.shipmate.db.prepare("SELECT actor, detail FROM audit_log WHERE action = 'deploy.rollback'").get() as { actor: string; detail: string };
    expect(audit.actor).toBe('U0ALICE');
    expect(JSON.parse(audit.detail)).toMatchObject({ from: '1.1.0', to: '1.0.0' });
    expect(await deploy('history api prod')).toMatch(/`1.0.0` succeeded.*#3/);
  });

  it('starts exactly one rollback for ten clicks and a slash command at the same moment', async () => {
    await start();
    await deploy('api@1.0.0 to prod');
    await h.settle();
    await deploy('api@1.1.0 to prod');
    await h.settle();
    const release = target.hold();
    const clicks = Array.from({ length: 10 }, (_, i) => postSigned(h.url, blockActionsBody('deploy_rollback', sentButtonValue(h.emulator.calls, 'deploy_rollback', '2'), { userId: `U0CLICK${i}X`, responseBase: h.emulator.url })));
    const command = postSigned(h.url, slashCommandBody('rollback api prod', { responseBase: h.emulator.url }));
    await Promise.all([...clicks, command]);
    release();
    await h.settle();
    expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM deployments WHERE rollback_of IS NOT NULL').pluck().get()).toBe(1);
    expect(versions()).toEqual(['api@1.0.0', 'api@1.1.0', 'api@1.0.0']);
    const told = h.emulator.callsTo('response_url').map((c) => String(c.args.text));
    expect(told.filter((t) => t.startsWith('Rolling back')).length + told.filter((t) => t.startsWith('A rollback of api in prod is already under way')).length).toBe(10);
  });

  it('says clearly when there is nothing to roll back to', async () => {
    await start();
    expect(await deploy('rollback api prod')).toBe('Nothing to roll back: api in prod has no successful deploy yet.');
    await deploy('api@1.0.0 to prod');
    await h.settle();
    expect(await deploy('rollback api prod')).toBe('api in prod has no earlier good version to roll back to: 1.0.0 is the only one that ever succeeded there.');
    expect(await deploy('rollback api')).toContain('Which environment? api has staging, prod');
    expect(await deploy('rollback api prod --to 0.9.0')).toBe('0.9.0 is not a known good version of api in prod to roll back to from 1.0.0.');
    expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM deployments').pluck().get()).toBe(1);
  });

  it('after a failed deploy, the button deploys the last good version again', async () => {
    await start();
    await deploy('api@1.0.0 to prod');
    await h.settle();
    target.status = 422;
    await deploy('api@1.1.0 to prod');
    await h.settle();
    const [, rollbackButton] = buttonsOf(2);
    expect(rollbackButton!.confirm!.text.text).toBe('1.1.0 failed in prod. Deploy *1.0.0*, the last good version of api, again?');
    target.status = 200;
    await h.click('deploy_rollback', '2', { userId: 'U0BOBBY' });
    await h.settle();
    expect(versions()).toEqual(['api@1.0.0', 'api@1.1.0', 'api@1.0.0']);
    expect(String(h.emulator.callsTo('response_url')[0]!.args.text)).toBe('Rolling back api in prod from 1.1.0 to 1.0.0 (deploy #3). Follow it in <#C0DEPLOYS>.');
  });

  it('rolls back what a failed release deployed, from its button or on its own when configured', async () => {
    for (const auto of [false, true]) {
      if (auto) {
        await h.stop();
        await target.stop();
      }
      await start(auto);
      await deploy('db@1.0.0 to prod');
      await deploy('web@1.0.0 to prod');
      await h.settle();
      target.statusFor = (r) => (JSON.parse(r.body).service === 'web' ? 422 : 200);
      await deploy('create big db@2.0.0 web@2.0.0 to prod', 'U0ALICE', '/release');
      await h.settle();
      if (!auto) {
        const releaseCard = h.emulator.messagesIn('C0DEPLOYS').find((m) => String(m.text).startsWith('Release big'))!;
        expect(JSON.stringify(releaseCard.blocks)).toContain('"action_id":"release_rollback"');
        await h.click('release_rollback', '1', { userId: 'U0BOBBY' });
        await h.emulator.waitFor('response_url');
        expect(String(h.emulator.callsTo('response_url')[0]!.args.text)).toBe('db: rolling back to 1.0.0 (deploy #5).');
        await h.settle();
      }
      expect(versions()).toEqual(['db@1.0.0', 'web@1.0.0', 'db@2.0.0', 'web@2.0.0', 'db@1.0.0']);
    }
  });
});
