import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature } from '@openfeature/server-sdk';
import { startHarness, type Harness } from '../support/harness';

/**
 * Feature flags end to end: /flag and the buttons through the real Bolt app, and an app reading
 * the flags with the real OpenFeature SDK and OFREP provider from the running Shipmate.
 */

const STAGING_KEY = 'ofrep-staging-key-0123456789';
const PROD_KEY = 'ofrep-prod-key-0123456789abcdef';

const CONFIG = `
defaults: { channel: C0DEPLOYS }
flags:
  channel: C0FLAGS
  environments:
    staging: { ofrepKey: ${STAGING_KEY} }
    prod:
      ofrepKey: ${PROD_KEY}
      approval: { required: 1, approvers: { users: [U0APPROVER] } }
services:
  api:
    flags: [new-checkout]
    environments: { prod: { deploy: { type: command, command: /bin/true } } }
`;

type Element = { action_id?: string; value?: string };
type Block = { type: string; elements?: (Element | string)[] };

describe('feature flags', () => {
  let h: Harness;
  let domains = 0;
  beforeEach(async () => {
    h = await startHarness(CONFIG);
  });
  afterEach(async () => {
    await h.stop();
  });
  afterAll(async () => {
    await OpenFeature.close();
  });

  const flag = async (text: string, user = 'U0ALICE') => ((await h.command(text, { user_id: user, command: '/flag' })).json as { text: string }).text;
  const client = async (key: string) => {
    const domain = `flags-${++domains}`;
    await OpenFeature.setProviderAndWait(domain, new OFREPProvider({ baseUrl: h.url, headers: [['Authorization', `Bearer ${key}`]] }));
    return OpenFeature.getClient(domain);
  };
  const cards = () => h.emulator.messagesIn('C0FLAGS');
  const cardOf = (id: number) => cards().find((m) => JSON.stringify(m.blocks).includes(`Flag change #${id} `))!;
  const buttonsOf = (id: number) => (((cardOf(id).blocks as Block[]).find((b) => b.type === 'actions')?.elements ?? []) as Element[]).map((e) => e.action_id);
  const audit = (action: string) => h.shipmate.db.prepare('SELECT actor, source FROM audit_log WHERE action = ? ORDER BY rowid').all(action);

  it('creates a flag, toggles it from Slack, and an OpenFeature client sees it on its next evaluation; Undo puts it back', async () => {
    expect(await flag('create new-checkout --description "The new checkout"')).toBe('Created new-checkout (off) in staging, prod. Turn it on with `/flag new-checkout on staging`.');
    const app = await client(STAGING_KEY);
    expect(await app.getBooleanDetails('new-checkout', true, { targetingKey: 'user-1' })).toMatchObject({ value: false, reason: 'DISABLED' });

    expect(await flag('new-checkout on staging')).toMatch(/^Flag change #1 \(new-checkout in staging\) is being applied\. Follow it in <#C0FLAGS>\.$/);
    await h.settle();
    expect(await app.getBooleanValue('new-checkout', false, { targetingKey: 'user-1' })).toBe(true);
    expect(cardOf(1).text).toBe('Flag new-checkout in staging: turn on, applied');
    expect(buttonsOf(1)).toEqual(['flag_undo']);
    expect(audit('flag.changed')).toEqual([{ actor: 'U0ALICE', source: 'slash_command' }]);

    await h.click('flag_undo', '1', { userId: 'U0BOB' });
    await h.click('flag_undo', '1', { userId: 'U0BOB' });
    await h.settle();
    expect(await app.getBooleanValue('new-checkout', true, { targetingKey: 'user-1' })).toBe(false);
    expect(cards().filter((m) => String(m.text).includes('restore'))).toHaveLength(1);
    expect(audit('flag.undone')).toEqual([{ actor: 'U0BOB', source: 'button' }]);
    // prod is untouched, and a key of one environment reads nothing of another.
    const prod = await client(PROD_KEY);
    expect(await prod.getBooleanDetails('new-checkout', true, { targetingKey: 'user-1' })).toMatchObject({ value: false, reason: 'DISABLED' });
    expect((await (await client('not-a-key-0123456789abcdef')).getBooleanDetails('new-checkout', true)).errorCode).toBe('GENERAL');
  });

  it('waits for approval in prod, then rolls out to a sticky share of users', async () => {
    await flag('create new-checkout');
    expect(await flag('new-checkout rollout 25% prod')).toContain('is waiting for approval');
    await h.settle();
    expect(buttonsOf(1)).toEqual(['flag_approve', 'flag_reject']);
    expect(((await h.click('flag_approve', '1', { userId: 'U0ALICE' })).status)).toBe(200);
    expect(h.shipmate.db.prepare("SELECT status FROM flag_changes WHERE id = 1").pluck().get()).toBe('awaiting_approval');
    await h.click('flag_approve', '1', { userId: 'U0APPROVER' });
    await h.settle();
    expect(h.shipmate.db.prepare("SELECT status FROM flag_changes WHERE id = 1").pluck().get()).toBe('applied');

    const app = await client(PROD_KEY);
    const on = async (n: number) => (await app.getBooleanDetails('new-checkout', false, { targetingKey: `user-${n}` })).value;
    const first = await Promise.all(Array.from({ length: 400 }, (_, n) => on(n)));
    const share = first.filter(Boolean).length / 400;
    expect(share).toBeGreaterThan(0.18);
    expect(share).toBeLessThan(0.32);
    // Sticky: the same users get the same answer again.
    expect(await Promise.all(Array.from({ length: 400 }, (_, n) => on(n)))).toEqual(first);
    expect((await app.getBooleanDetails('new-checkout', false, {})).errorCode).toBe('TARGETING_KEY_MISSING');

    // Where changes need approval, only the requester or an approver may undo one.
    const answer = async (userId: string) => {
      const before = h.emulator.callsTo('response_url').length;
      const reply = h.emulator.waitFor('response_url', () => h.emulator.callsTo('response_url').length > before);
      await h.click('flag_undo', '1', { userId });
      return String((await reply).args.text);
    };
    expect(await answer('U0MALLORY')).toContain('only <@U0ALICE>, who asked for change #1, or an approver can undo it');
    expect(await answer('U0ALICE')).toContain('Undoing flag change #1');
    await h.settle();
    expect(await on(first.indexOf(true))).toBe(false);
  });

  it('schedules a change with --at and applies it when its time comes', async () => {
    await flag('create new-checkout');
    expect(await flag('new-checkout on staging --at "tomorrow 10:00"')).toBe('Flag change #1 (new-checkout in staging) is scheduled for 2026-11-24 10:00 UTC. Follow it in <#C0FLAGS>.');
    await h.settle();
    const app = await client(STAGING_KEY);
    h.clock.advance(23 * 3_600_000);
    h.shipmate.tick();
    await h.settle();
    expect(await app.getBooleanValue('new-checkout', true, { targetingKey: 'u' })).toBe(false);
    h.clock.advance(3_600_000);
    h.shipmate.tick();
    await h.shipmate.worker.idle();
    await h.settle();
    expect(await app.getBooleanValue('new-checkout', false, { targetingKey: 'u' })).toBe(true);
  });

  it('says what was wrong and changes nothing', async () => {
    expect(await flag('no-such on staging')).toContain('There is no flag "no-such" in staging');
    expect(await flag('create new-checkout')).toContain('Created');
    expect(await flag('new-checkout on')).toContain('Which environment? Flags have staging, prod');
    expect(await flag('new-checkout rollout 150%')).toContain('A rollout needs a percentage from 0 to 100');
    expect(await flag('new-checkout on qa')).toContain('Flags have no environment "qa"; use one of: staging, prod.');
    expect(await flag('create Bad_Key')).toContain('is not a flag key');
    expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM flag_changes').pluck().get()).toBe(0);
  });

  it('serves targeting rules in order before the rollout, refuses a pattern that could hang, and undoes a rule', async () => {
    await flag('create new-checkout');
    await flag('new-checkout rollout 0% staging');
    expect(await flag('new-checkout target plan in pro,enterprise serve on staging')).toContain('is being applied');
    await h.settle();
    const app = await client(STAGING_KEY);
    expect(await app.getBooleanDetails('new-checkout', false, { targetingKey: 'u1', plan: 'pro' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(await app.getBooleanDetails('new-checkout', true, { targetingKey: 'u1', plan: 'free' })).toMatchObject({ value: false, reason: 'SPLIT' });
    expect(await flag("new-checkout target email matches '(a+)+$' serve on staging")).toContain('could take very long to match');
    expect(await flag('new-checkout target plan in pro serve blue staging')).toContain('new-checkout has no variant "blue"; its variants: on, off.');
    expect(await flag('show new-checkout')).toContain('rules: plan in pro,enterprise → on');
    await h.click('flag_undo', '2', { userId: 'U0BOB' });
    await h.settle();
    expect(await app.getBooleanValue('new-checkout', true, { targetingKey: 'u1', plan: 'pro' })).toBe(false);
  });
});
