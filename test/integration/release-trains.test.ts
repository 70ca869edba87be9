import { startHarness, type Harness } from '../support/harness';
import { WebhookTarget } from '../support/webhook-target';

const hook = (target: WebhookTarget) => `{ type: webhook, url: "${target.url}", secret: "train-secret-0123456789" }`;
// The harness clock starts on Monday 2026-11-23 10:00 UTC; the train leaves on Tuesdays at 10:00.
const config = (target: WebhookTarget) => `
defaults: { channel: C0DEPLOYS }
releases: { missedGrace: 15m }
trains:
  - { name: tuesday, cron: "0 10 * * 2", timezone: UTC, environment: prod, channel: C0TRAINS }
services:
  db:
    environments: { prod: { deploy: ${hook(target)} } }
  api:
    dependsOn: [db]
    environments: { prod: { deploy: ${hook(target)} } }
`;

type Ack = { text: string };
const HOUR = 3600_000;

describe('release trains', () => {
  let target: WebhookTarget;
  let h: Harness;
  const release = async (text: string, user = 'U0ALICE') => ((await h.command(text, { user_id: user, command: '/release' })).json as Ack).text;
  const deployed = () => target.received.map((r) => `${JSON.parse(r.body).service}@${JSON.parse(r.body).version}`);
  const settle = () => h.settle();
  const travel = async (ms: number) => {
    h.clock.advance(ms);
    h.shipmate.tick();
    await settle();
  };
  const trainMessages = () => h.emulator.messagesIn('C0TRAINS').map((m) => String(m.text));

  beforeEach(async () => {
    target = await new WebhookTarget().start();
    h = await startHarness(config(target));
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  it('ships what was queued at the next departure, as one release in waves', async () => {
    expect(await release('queue tuesday api@1.4.2', 'U0BOBBY')).toBe('Queued api 1.4.2 for the tuesday train to prod, leaving 2026-11-24 10:00 UTC.');
    await release('queue tuesday db@7.1.0 api@1.4.3');
    const status = await release('train tuesday');
    expect(status).toContain('*tuesday* train to prod leaves 2026-11-24 10:00 UTC.');
    expect(status).toContain('• api 1.4.3 (queued by <@U0ALICE>)'); // the later version replaced the earlier
    expect(status).toContain('• db 7.1.0');

    await travel(24 * HOUR - 1);
    expect(deployed()).toEqual([]);
    await travel(1);
    expect(deployed()).toEqual(['db@7.1.0', 'api@1.4.3']);
    const row = h.shipmate.db.prepare('SELECT name, status, channel FROM releases').get();
    expect(row).toEqual({ name: 'tuesday-20261124-1000', status: 'succeeded', channel: 'C0TRAINS' });
    expect(await release('train tuesday')).toContain('Nothing is queued yet.');

    // The same departure is not taken twice, however often the tick runs.
    await travel(60_000);
    expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM releases').pluck().get()).toBe(1);
  });

  it('says so when a train leaves empty', async () => {
    await travel(24 * HOUR);
    expect(trainMessages()).toEqual(['The tuesday train left empty: nothing was queued. Queue versions with `/release queue tuesday api@1.4.2`.']);
  });

  it('marks a departure missed when it is found more than the grace period late, keeping the queue', async () => {
    await release('queue tuesday db@7.1.0');
    await travel(24 * HOUR + 16 * 60_000); // found at 10:16, 16 minutes late
    expect(trainMessages()[0]).toContain('The tuesday train due 2026-11-24 10:00 UTC was missed while Shipmate was not running.');
    expect(deployed()).toEqual([]);
    expect(await release('train tuesday')).toContain('• db 7.1.0');
    await travel(7 * 24 * HOUR); // the next Tuesday, found 16 minutes late again: also missed
    await travel(-16 * 60_000 + 7 * 24 * HOUR); // the Tuesday after, on time
    expect(deployed()).toEqual(['db@7.1.0']);
  });

  it('refuses unknown trains and malformed versions', async () => {
    expect(await release('queue friday api@1.0.0')).toContain('No release train is named "friday". Trains: tuesday.');
    expect(await release('queue tuesday api@1.0')).toContain('"api@1.0" is not service@version');
  });
});
