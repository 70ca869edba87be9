import { startHarness, type Harness } from '../support/harness';
import { eventBody, postSigned } from '../support/slack-requests';
import { WebhookTarget } from '../support/webhook-target';

const hook = (target: WebhookTarget) => `{ type: webhook, url: "${target.url}", secret: "release-secret-0123456789" }`;
const config = (target: WebhookTarget) => `
defaults: { channel: C0DEPLOYS }
releases: { missedGrace: 15m }
services:
  db:
    environments: { prod: { deploy: ${hook(target)} } }
  api:
    dependsOn: [db]
    environments: { prod: { deploy: ${hook(target)} } }
  worker:
    dependsOn: [db]
    environments: { prod: { deploy: ${hook(target)} } }
  web:
    dependsOn: [api]
    environments: { prod: { deploy: ${hook(target)} } }
`;

type Ack = { text: string };

describe('multi-service releases', () => {
  let target: WebhookTarget;
  let h: Harness;
  const ack = async (text: string, user = 'U0ALICE') => ((await h.command(text, { user_id: user, command: '/release' })).json as Ack).text;
  const deployed = () => target.received.map((r) => JSON.parse(r.body).service as string);
  const release = () => h.shipmate.db.prepare('SELECT status, results FROM releases WHERE id = 1').get() as { status: string; results: string };
  const releaseCard = () => h.emulator.messagesIn('C0DEPLOYS').find((m) => String(m.text).startsWith('Release '))!;
  const settle = () => h.settle();

  beforeEach(async () => {
    target = await new WebhookTarget().start();
    h = await startHarness(config(target));
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  it('shows the plan, deploys wave by wave in dependency order, and reports success', async () => {
    const text = await ack('create checkout-v2 web@3.0.0 api@1.4.2 worker@0.9.0 db@7.1.0 to prod --notes "new checkout"');
    expect(text).toBe('Release checkout-v2 (#1) to prod. It starts now.\nWave 1: db 7.1.0\nWave 2: api 1.4.2, worker 0.9.0\nWave 3: web 3.0.0');
    await settle();
    expect(deployed()[0]).toBe('db');
    expect(deployed().slice(1, 3).sort()).toEqual(['api', 'worker']);
    expect(deployed()[3]).toBe('web');
    expect(release().status).toBe('succeeded');
    expect(releaseCard().text).toBe('Release checkout-v2 → prod: Succeeded');
    const blocks = JSON.stringify(releaseCard().blocks);
    expect(blocks).toContain('*Wave 1*  :white_check_mark: *db* `7.1.0` #1');
    expect(blocks).toContain(':memo: new checkout');
    const statusText = await ack('status checkout-v2');
    expect(statusText).toContain('*checkout-v2* → prod: succeeded (4/4 services)');
  });

  it('stops at a failed service: later waves never start and the thread names what was already deployed', async () => {
    target.statusFor = (hook) => (JSON.parse(hook.body).service === 'api' ? 422 : 200);
    await ack('create checkout-v2 db@7.1.0 api@1.4.2 web@3.0.0 to prod');
    await settle();
    expect(deployed()).toEqual(['db', 'api']);
    expect(release().status).toBe('failed');
    expect(JSON.parse(release().results)).toMatchObject({ db: { status: 'succeeded' }, api: { status: 'failed' } });
    const replies = h.emulator.repliesTo('C0DEPLOYS', releaseCard().ts).map((r) => JSON.stringify(r.blocks));
    expect(replies.join()).toContain('Release checkout-v2 stopped: api failed, so later waves will not start. Already deployed in this release (newest first): db');
    expect(JSON.stringify(releaseCard().blocks)).toContain(':white_circle: *web* `3.0.0`');
  });

  it('pauses after the current wave, resumes, and aborts from the buttons', async () => {
    const release1 = target.hold();
    await ack('create train db@7.1.0 api@1.4.2 web@3.0.0 to prod');
    await target.arrived(1);
    await h.click('release_pause', '1', { userId: 'U0BOBBY' });
    await h.emulator.waitFor('response_url', (a) => a.text === 'Release train is paused.');
    release1();
    await settle();
    expect(deployed()).toEqual(['db']);
    expect(release().status).toBe('paused');
    expect(JSON.stringify(releaseCard().blocks)).toContain('"action_id":"release_resume"');

    await h.click('release_resume', '1', { userId: 'U0BOBBY' });
    await h.emulator.waitFor('response_url', (a) => a.text === 'Release train is running.');
    await settle();
    expect(deployed()).toEqual(['db', 'api', 'web']);
    expect(release().status).toBe('succeeded');

    const audit = h.shipmate.db.prepare("SELECT actor, action FROM audit_log WHERE action IN ('release.paused', 'release.resumed')").all();
    expect(audit).toEqual([{ actor: 'U0BOBBY', action: 'release.paused' }, { actor: 'U0BOBBY', action: 'release.resumed' }]);
  });

  it('aborting stops the release before its next wave', async () => {
    const release1 = target.hold();
    await ack('create hotfix db@7.1.0 api@1.4.2 to prod');
    await target.arrived(1);
    expect(await ack('abort hotfix', 'U0CAROL')).toBe('Release hotfix is aborted.');
    release1();
    await settle();
    expect(deployed()).toEqual(['db']);
    expect(release().status).toBe('aborted');
    expect(await ack('abort hotfix')).toContain('No scheduled, running or paused release is named "hotfix"');
  });

  it('aborting calls off the release\'s deploys that have not started', async () => {
    await h.command('lock prod db "migration"', { user_id: 'U0BOBBY' });
    await ack('create blocked db@7.1.0 api@1.4.2 to prod');
    await settle();
    expect(h.shipmate.db.prepare('SELECT status FROM deployments').pluck().all()).toEqual(['queued']);
    expect(await ack('abort blocked', 'U0CAROL')).toBe('Release blocked is aborted.');
    await settle();
    expect(h.shipmate.db.prepare('SELECT status, decision_reason FROM deployments').get()).toEqual({ status: 'rejected', decision_reason: 'release blocked was aborted' });
    await h.command('unlock prod db', { user_id: 'U0BOBBY' });
    await settle();
    expect(deployed()).toEqual([]);
  });

  it('starts a scheduled release at its time', async () => {
    const text = await ack('create nightly db@7.1.0 to prod at 2026-11-23 12:00');
    expect(text).toContain('It starts at 2026-11-23 12:00 UTC.');
    await settle();
    expect(release().status).toBe('scheduled');
    expect(JSON.stringify(releaseCard().blocks)).toContain('Scheduled · starts <!date^');
    await postSigned(h.url, eventBody({ type: 'app_home_opened', user: 'U0BOBBY', channel: 'D0HOME', tab: 'home' }), { headers: { 'content-type': 'application/json' } });
    const home = await h.emulator.waitFor('views.publish');
    expect(JSON.stringify(home.args.view)).toContain('*nightly* → prod · scheduled for <!date^1795435200^');
    h.clock.advance(2 * 3600_000 - 1);
    h.shipmate.tick();
    await settle();
    expect(deployed()).toEqual([]);
    h.clock.advance(1);
    h.shipmate.tick();
    await settle();
    expect(deployed()).toEqual(['db']);
    expect(release().status).toBe('succeeded');
  });

  it('marks a scheduled release missed when it comes due more than the grace period late', async () => {
    await ack('create nightly db@7.1.0 to prod at 10:30');
    await settle();
    h.clock.advance(46 * 60_000); // 10:46: 16 minutes late, the grace is 15
    h.shipmate.tick();
    await settle();
    expect(release().status).toBe('missed');
    expect(deployed()).toEqual([]);
    const replies = h.emulator.repliesTo('C0DEPLOYS', releaseCard().ts).map((r) => JSON.stringify(r.blocks));
    expect(replies.join()).toContain('was due while Shipmate was not running');
  });

  it('refuses bad input with the usage, creating nothing', async () => {
    expect(await ack('create x api@1.4 to prod')).toContain('"api@1.4" is not service@version');
    expect(await ack('create x api@1.4.2 to prod at someday')).toContain('Could not read "someday" as a time');
    expect(await ack('create x nope@1.0.0 to prod')).toContain('Unknown service "nope"');
    expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM releases').pluck().get()).toBe(0);
  });

  it('/release opens a form, and submitting it creates the release', async () => {
    const response = await h.command('', { command: '/release' });
    expect(response.status).toBe(200);
    const opened = await h.emulator.waitFor('views.open');
    expect(opened.args.view).toMatchObject({ callback_id: 'release_form', private_metadata: 'C0DEPLOYS' });
    const value = (v: string) => ({ type: 'plain_text_input', value: v });
    const bad = await h.submit('release_form', 'C0DEPLOYS', {
      name: { name: value('from-form') },
      services: { services: value('db@7.1.0\napi@1.4.2') },
      environment: { environment: { type: 'static_select', selected_option: { value: 'prod' } } as never },
      when: { when: value('someday') },
      notes: { notes: value('') },
    });
    expect((bad.json as { response_action: string; errors: Record<string, string> }).errors.when).toContain('Could not read "someday"');
    await h.submit('release_form', 'C0DEPLOYS', {
      name: { name: value('from-form') },
      services: { services: value('db@7.1.0\napi@1.4.2') },
      environment: { environment: { type: 'static_select', selected_option: { value: 'prod' } } as never },
      when: { when: value('') },
      notes: { notes: value('') },
    });
    const dm = await h.emulator.waitFor('chat.postMessage', (a) => a.channel === 'U0BOB');
    expect(String(dm.args.text)).toContain('Release from-form (#1) to prod. It starts now.');
    await settle();
    expect(deployed()).toEqual(['db', 'api']);
  });
});
