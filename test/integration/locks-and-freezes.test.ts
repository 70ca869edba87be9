import { startHarness, type Harness } from '../support/harness';
import { WebhookTarget } from '../support/webhook-target';

// The harness clock starts on Monday 2026-11-23 10:00 UTC; the holiday freeze covers that day.
const config = (target: WebhookTarget) => `
defaults: { channel: C0DEPLOYS }
timezone: Europe/Berlin
breakGlass: { users: [U0CAROL] }
freezeWindows:
  - name: Release day freeze
    from: "2026-11-23"
    to: "2026-11-23"
    timezone: Europe/Berlin
    reason: the big sale
    environments: [prod]
services:
  api:
    environments:
      staging:
        deploy: { type: webhook, url: "${target.url}", secret: "gates-secret-0123456789" }
      prod:
        deploy: { type: webhook, url: "${target.url}", secret: "gates-secret-0123456789" }
  web:
    environments:
      staging:
        deploy: { type: webhook, url: "${target.url}", secret: "gates-secret-0123456789" }
`;

type Ack = { text: string; blocks: unknown[] };

describe('locks, queues and freeze windows', () => {
  let target: WebhookTarget;
  let h: Harness;
  const ack = async (text: string, user = 'U0ALICE') => ((await h.command(text, { user_id: user })).json as Ack).text;
  const statuses = () => h.shipmate.db.prepare('SELECT service, version, status FROM deployments ORDER BY id').all();

  beforeEach(async () => {
    target = await new WebhookTarget().start();
    h = await startHarness(config(target));
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  describe('locks', () => {
    it('refuses deploys into a locked target, saying who locked it, when and why; shows it in status', async () => {
      expect(await ack('lock staging api "db migration running"', 'U0BOBBY')).toBe(
        'Locked api in staging: db migration running. Deploys there are refused until `/deploy unlock staging api`.',
      );
      expect(await ack('api@1.0.0 to staging')).toBe(
        'api in staging is locked by <@U0BOBBY> since 2026-11-23 10:00 UTC: db migration running. Add --queue to deploy when it is unlocked.',
      );
      expect(await ack('web@1.0.0 to staging')).toContain('Deploying web 1.0.0 to staging');
      expect(await ack('status')).toContain(':lock: *api* in staging locked by <@U0BOBBY>');
      expect(await ack('lock staging api "again"')).toBe('api in staging is already locked by <@U0BOBBY>: db migration running');
      await h.shipmate.worker.idle();
      expect(statuses()).toEqual([{ service: 'web', version: '1.0.0', status: 'succeeded' }]);
    });

    it('locks a whole environment, and unlocking runs what queued behind the lock and tells its requester', async () => {
      await ack('lock staging "cluster upgrade"', 'U0BOBBY');
      expect(await ack('web@1.0.0 to staging')).toContain('staging is locked by <@U0BOBBY>');
      expect(await ack('api@1.0.0 to staging --queue')).toBe(
        "Queued deploy #1 (api 1.0.0 to staging): the environment is locked in staging (cluster upgrade). You'll be told in its thread in <#C0DEPLOYS> when it starts.",
      );
      await h.shipmate.worker.idle();
      expect(target.received).toHaveLength(0);

      expect(await ack('unlock staging', 'U0BOBBY')).toBe('Unlocked staging. 1 queued deploy started.');
      await h.emulator.waitFor('chat.update', (a) => String(a.text) === 'api 1.0.0 → staging: Succeeded');
      await h.shipmate.worker.idle();
      const replies = h.emulator.repliesTo('C0DEPLOYS', h.emulator.messagesIn('C0DEPLOYS')[0]!.ts).map((r) => JSON.stringify(r.blocks));
      expect(replies.some((r) => r.includes('<@U0ALICE> The lock was lifted; your deploy starts now.'))).toBe(true);
      expect(await ack('unlock staging')).toBe('staging is not locked as a whole. `/deploy status` lists the locks.');
      const audit = h.shipmate.db.prepare("SELECT actor, action, subject FROM audit_log WHERE action LIKE 'lock.%' ORDER BY id").all();
      expect(audit).toEqual([
        { actor: 'U0BOBBY', action: 'lock.added', subject: 'staging' },
        { actor: 'U0BOBBY', action: 'lock.removed', subject: 'staging' },
      ]);
    });

    it('says what is wrong with a lock for an unknown environment', async () => {
      expect(await ack('lock qa "nope"')).toContain('No service has an environment "qa". Environments in shipmate.yml: staging, prod.');
    });
  });

  describe('--queue behind a running deploy', () => {
    it('runs queued deploys in order once the target frees', async () => {
      const release = target.hold();
      await ack('api@1.0.0 to staging');
      await target.arrived(1);
      expect(await ack('api@1.0.1 to staging --queue', 'U0BOBBY')).toContain('Queued deploy #2 (api 1.0.1 to staging): behind deploy #1');
      expect(await ack('api@1.0.2 to staging --queue', 'U0CAROL')).toContain('Queued deploy #3');
      expect(statuses().map((d) => (d as { status: string }).status)).toEqual(['deploying', 'queued', 'queued']);
      release();
      await h.emulator.waitFor('chat.update', (a) => String(a.text) === 'api 1.0.2 → staging: Succeeded');
      await h.shipmate.worker.idle();
      expect(target.received.map((r) => JSON.parse(r.body).version)).toEqual(['1.0.0', '1.0.1', '1.0.2']);
      expect(statuses().map((d) => (d as { status: string }).status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    });
  });

  describe('freeze windows', () => {
    it('refuses a deploy inside a freeze and says until when', async () => {
      const text = await ack('api@1.0.0 to prod');
      expect(text).toContain('prod is frozen: "Release day freeze" from Mon 23 Nov 00:00 to Tue 24 Nov 00:00 Europe/Berlin');
      expect(text).toContain('--break-glass "reason"');
      expect(await ack('api@1.0.0 to staging')).toContain('Deploying'); // staging is not frozen
      await h.shipmate.worker.idle();
      expect(statuses()).toEqual([{ service: 'api', version: '1.0.0', status: 'succeeded' }]);
    });

    it('lets only allowed people break glass, audits it and announces it in the channel', async () => {
      expect(await ack('api@1.0.0 to prod --break-glass "hotfix for INC-42"', 'U0BOBBY')).toContain('you are not allowed to break glass');
      expect(await ack('api@1.0.0 to prod --break-glass “hotfix for INC-42”', 'U0CAROL')).toContain('Deploying api 1.0.0 to prod');
      await h.emulator.waitFor('chat.update', (a) => String(a.text) === 'api 1.0.0 → prod: Succeeded');
      await h.shipmate.worker.idle();
      const announcement = h.emulator.callsTo('chat.postMessage').find((c) => c.args.reply_broadcast === 'true');
      expect(JSON.stringify(announcement?.args.blocks)).toContain('<@U0CAROL> broke the glass to deploy during a freeze: hotfix for INC-42');
      const audit = h.shipmate.db.prepare("SELECT actor, detail FROM audit_log WHERE action = 'freeze.break-glass'").get() as { actor: string; detail: string };
      expect(audit.actor).toBe('U0CAROL');
      expect(JSON.parse(audit.detail)).toMatchObject({ freeze: 'Release day freeze', reason: 'hotfix for INC-42' });
      expect(statuses()).toEqual([{ service: 'api', version: '1.0.0', status: 'succeeded' }]);
    });

    it('lets a rollback through during a freeze: it is how people get out of trouble', async () => {
      await ack('api@1.0.0 to prod --break-glass "hotfix 1"', 'U0CAROL');
      await h.settle();
      await ack('api@1.1.0 to prod --break-glass "hotfix 2"', 'U0CAROL');
      await h.settle();
      expect(await ack('rollback api prod', 'U0BOBBY')).toContain('Rolling back api in prod from 1.1.0 to 1.0.0');
      await h.settle();
      expect(statuses().at(-1)).toEqual({ service: 'api', version: '1.0.0', status: 'succeeded' });
    });

    it('lifts when the window ends', async () => {
      h.clock.advance(14 * 3600_000); // Tuesday 00:00 Berlin
      expect(await ack('api@1.0.0 to prod')).toContain('Deploying api 1.0.0 to prod');
    });
  });

  it('/deploy audit shows who changed what for a service', async () => {
    await ack('api@1.0.0 to staging');
    await h.shipmate.worker.idle();
    const text = await ack('audit api');
    expect(text.split('\n')[0]).toBe('Audit trail of api');
    expect(text).toMatch(/Shipmate `deploy.succeeded` api\/staging/);
    expect(text).toMatch(/<@U0ALICE> `deploy.requested` api\/staging .* _\(slash command\)_/);
  });
});
