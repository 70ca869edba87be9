import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/harness';
import { eventBody, postSigned } from '../support/slack-requests';
import type { PrometheusServer } from '../support/prometheus-server';
import { SLO_NOW, slothSpecText, startSloPrometheus } from '../support/slo-prometheus';

/**
 * SLO incidents end to end: the real Bolt app, a real Prometheus holding four days of request
 * counters (test/support/slo-prometheus.ts), Sloth spec files referenced from shipmate.yml, and
 * signed Slack requests for the buttons and the thread mention.
 */

const SCRIPT = join(__dirname, '..', 'fixtures', 'canary-script.sh');
const MINUTE = 60_000;
const AM_TOKEN = 'alertmanager-token-0123456789';

/** The Sloth document of one scenario service, as its own file. */
function slothFileFor(service: string, dir: string): string {
  const doc = slothSpecText().split('---\n').find((d) => d.includes(`service: "${service}"`))!;
  const path = join(dir, `${service}.sloth.yml`);
  writeFileSync(path, doc);
  return path;
}

const config = (prometheusUrl: string, services: string[], sloExtra = '') => (dir: string) => `
defaults: { channel: C0DEPLOYS }
breakGlass: { users: [U0TEAMLEAD] }
metrics:
  providers:
    prom: { type: prometheus, url: "${prometheusUrl}", timeout: 5s }
slo:
  provider: prom
  channel: C0INCIDENTS
  trafficStopAfter: 15m
${sloExtra}
alertmanager: { token: ${AM_TOKEN} }
flags: { channel: C0FLAGS, environments: { prod: {} } }
services:
${services
  .map(
    (s) => `  ${s}:
    sloth: ${slothFileFor(s, dir)}
    flags: [${s}-checkout]
    environments:
      prod:
        deploy: { type: command, command: ${SCRIPT}, env: { RECORD_FILE: ${join(dir, 'calls.txt')} } }`,
  )
  .join('\n')}
`;

type Element = { action_id?: string; text?: { text: string }; url?: string; confirm?: { text: { text: string } } };
type Block = { type: string; elements?: (Element | string)[]; text?: { text: string } };

describe('SLO incidents against a real Prometheus', () => {
  let prometheus: PrometheusServer;
  let h: Harness;

  beforeAll(async () => {
    prometheus = await startSloPrometheus();
  });
  afterAll(async () => {
    await prometheus?.stop();
  });
  afterEach(async () => {
    await h?.stop();
  });

  const start = async (services: string[], at: Date, url = prometheus.url, sloExtra = '') => {
    h = await startHarness(config(url, services, sloExtra), {}, { clockStart: at });
  };
  const evaluate = async () => {
    await h.shipmate.evaluateSlos();
    await h.settle();
  };
  const incidentMessages = () => h.emulator.messagesIn('C0INCIDENTS');
  const incidentCard = () => incidentMessages().find((m) => JSON.stringify(m.blocks).includes('Incident #'))!;
  const thread = () => h.emulator.repliesTo('C0INCIDENTS', incidentCard().ts).map((m) => String(m.text));
  const blocksText = () => JSON.stringify(incidentCard().blocks);
  const buttons = () => ((incidentCard().blocks as Block[]).find((b) => b.type === 'actions')?.elements ?? []) as Element[];
  const calls = () => readFileSync(join(h.dir, 'calls.txt'), 'utf8').trim().split('\n');
  const deploy = async (text: string, user = 'U0ALICE') => ((await h.command(text, { user_id: user })).json as { text: string }).text;
  const audit = (action: string) => h.shipmate.db.prepare('SELECT actor, source, detail FROM audit_log WHERE action = ?').all(action) as { actor: string; source: string; detail: string }[];

  it('posts a fast burn as a page with the deploys of the last day, and rolls back once however often on-call clicks', async () => {
    await start(['fast'], SLO_NOW);
    await deploy('fast@1.0.0 to prod');
    await h.settle();
    h.clock.advance(-30 * MINUTE); // the next deploy is 30 minutes later, still inside the data
    await deploy('fast@1.1.0 to prod', 'U0BOB');
    await h.settle();
    h.clock.advance(30 * MINUTE);

    await evaluate();
    expect(incidentMessages()).toHaveLength(1);
    expect(incidentCard().text).toBe('fast requests-availability: burning (page)');
    const text = blocksText();
    expect(text).toContain('Burn rate: 5m 50× · 30m 50× · 1h 50×');
    expect(text).toContain('`1.1.0` succeeded by <@U0BOB>');
    expect(text).toContain('`1.0.0` succeeded by <@U0ALICE>');
    const rollback = buttons().find((b) => b.action_id === 'incident_rollback')!;
    expect(rollback.text?.text).toBe('Roll back fast to 1.0.0');
    expect(rollback.confirm?.text.text).toBe('Roll back *fast* in prod from *1.1.0* to *1.0.0*?');
    // The service's flag is not known to be on (it does not exist), so it is offered too.
    expect(buttons().map((b) => b.action_id)).toEqual(['incident_rollback', 'incident_flag_off:fast-checkout', 'incident_pause_releases', 'incident_ack', 'incident_runbook']);
    expect(buttons().find((b) => b.action_id === 'incident_runbook')?.url).toBe('https://runbooks.example.com/fast');

    // Five clicks and a slash command at once: one rollback.
    const clicks = await Promise.all([
      ...['U0ONCALL', 'U0ONCALL', 'U0SRE1', 'U0SRE2', 'U0SRE3'].map((userId) => h.click('incident_rollback', '1', { userId })),
      h.command('rollback fast prod', { user_id: 'U0SRE4' }),
    ]);
    expect(clicks.every((c) => c.status === 200)).toBe(true);
    await h.settle();
    expect(calls()).toEqual(['1.0.0 - -', '1.1.0 - -', '1.0.0 - -']);
    expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM deployments WHERE rollback_of IS NOT NULL').pluck().get()).toBe(1);
    expect(thread()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^is rolling back fast in prod from 1\.1\.0 to 1\.0\.0 \(deploy #3\)\.$|rolling back fast in prod from 1\.1\.0 to 1\.0\.0 \(deploy #3\)/),
        'Rollback done: fast runs 1.0.0 in prod again.',
      ]),
    );
    const [started] = audit('incident.rollback');
    expect(started).toBeDefined();
    expect(blocksText()).toMatch(/rollback to `1\.0\.0` by <@U0\w+>: succeeded \(deploy #3\)/);
    // The button is gone once a rollback is recorded on the incident.
    expect(buttons().map((b) => b.action_id)).not.toContain('incident_rollback');

    // Acknowledge and pause releases record who did it.
    await h.click('incident_ack', '1', { userId: 'U0ONCALL' });
    await h.click('incident_pause_releases', '1', { userId: 'U0ONCALL' });
    await h.settle();
    expect(blocksText()).toContain('acknowledged by <@U0ONCALL>');
    expect(blocksText()).toContain('releases paused by <@U0ONCALL>');
    expect(await deploy('fast@1.2.0 to prod')).toContain('locked by <@U0ONCALL>');
    expect(audit('incident.acknowledged')).toEqual([expect.objectContaining({ actor: 'U0ONCALL', source: 'button' })]);
  });

  it('edits the message only when what it shows changes, and resolves with a thread reply when the burn stops', async () => {
    // 10% errors from 2 h to 45 min before SLO_NOW: 50 minutes before it, that burn is in every short window.
    // Only the page rows here: at SLO_NOW the slower ticket rows would still fire, as they should.
    const pagesOnly = '  alertTable:\n    - { severity: page, longWindow: 1h, shortWindow: 5m, budgetPercent: 2 }\n    - { severity: page, longWindow: 6h, shortWindow: 30m, budgetPercent: 5 }';
    await start(['recovered'], new Date(SLO_NOW.getTime() - 50 * MINUTE), prometheus.url, pagesOnly);
    await evaluate();
    expect(incidentCard().text).toBe('recovered requests-availability: burning (page)');
    const updates = () => h.emulator.callsTo('chat.update').length;
    const before = updates();
    await evaluate();
    expect(updates()).toBe(before);

    h.clock.advance(50 * MINUTE);
    await evaluate();
    expect(incidentMessages()).toHaveLength(1);
    expect(incidentCard().text).toBe('recovered requests-availability: resolved');
    expect(thread()).toContain('Resolved after 50 min: requests-availability burns below every alert threshold again.');
    expect(buttons().map((b) => b.action_id)).toEqual(['incident_runbook']);
    expect(audit('incident.resolved')).toHaveLength(1);
  });

  it('never fires without traffic, says when traffic stops once, and /slo status shows it', async () => {
    await start(['idle', 'stopped'], SLO_NOW);
    await evaluate();
    await evaluate();
    expect(incidentMessages().filter((m) => JSON.stringify(m.blocks).includes('Incident #'))).toHaveLength(0);
    const warnings = incidentMessages().map((m) => String(m.text)).filter((t) => t.includes('stopped receiving traffic'));
    expect(warnings).toEqual([':warning: stopped has stopped receiving traffic (requests-availability): its request series is absent or flat. No data is not health: check the service.']);

    const status = ((await h.command('status', { command: '/slo' })).json as { text: string }).text;
    expect(status).toContain('*idle* `requests-availability` (99.9%): budget unknown');
    expect(status).toContain('no data (no traffic?)');
    const usage = ((await h.command('statuss', { command: '/slo' })).json as { text: string }).text;
    expect(usage).toContain('Unknown subcommand "statuss"');
  });

  it('reports a Prometheus outage once, not every minute', async () => {
    await start(['fast'], SLO_NOW, 'http://127.0.0.1:9');
    await evaluate();
    await evaluate();
    await evaluate();
    const said = incidentMessages().map((m) => String(m.text)).filter((t) => t.includes('Cannot evaluate'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^:warning: Cannot evaluate fast SLO requests-availability: .*could not reach 127\.0\.0\.1:9/);
  });

  it('rolls back from "@shipmate rollback <service>" in the incident thread and answers there', async () => {
    await start(['fast'], SLO_NOW);
    await deploy('fast@1.0.0 to prod');
    await h.settle();
    await evaluate();
    // Only one version ever succeeded: the refusal is said in the thread.
    const mention = (text: string, ts: string) =>
      postSigned(h.url, eventBody({ type: 'app_mention', user: 'U0ONCALL', text, ts, channel: 'C0INCIDENTS', thread_ts: incidentCard().ts }), { headers: { 'content-type': 'application/json' } });
    expect((await mention('<@U0BOT> rollback fast', '1795428100.000100')).status).toBe(200);
    await h.settle();
    await h.emulator.waitFor('chat.postMessage', (a) => String(a.text).includes('no earlier good version'));
    await deploy('fast@1.1.0 to prod');
    await h.settle();
    await mention('<@U0BOT> rollback fast', '1795428200.000100');
    await h.settle();
    expect(calls()).toEqual(['1.0.0 - -', '1.1.0 - -', '1.0.0 - -']);
    expect(thread()).toContain('Rollback done: fast runs 1.0.0 in prod again.');
  });

  it('takes Alertmanager alerts with the bearer token and maps them to services by label', async () => {
    await start(['fast'], SLO_NOW);
    const post = (body: unknown, token = AM_TOKEN) =>
      fetch(`${h.url}/alerts/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const alert = (status: string) => ({
      version: '4',
      status,
      receiver: 'shipmate',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager:9093',
      alerts: [
        { status, labels: { alertname: 'FastHighErrorRate', service: 'fast', sloth_slo: 'requests-availability', sloth_severity: 'page' }, annotations: { summary: 'High error rate on fast requests', runbook_url: 'https://runbooks.example.com/fast' }, startsAt: '2024-06-10T11:00:00Z', endsAt: '0001-01-01T00:00:00Z', fingerprint: 'c0ffee' },
        { status, labels: { alertname: 'Unrelated' }, annotations: {}, startsAt: '2024-06-10T11:00:00Z', endsAt: '0001-01-01T00:00:00Z', fingerprint: 'bead' },
      ],
    });
    expect((await post(alert('firing'), 'wrong-token-0123456789')).status).toBe(401);
    expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM incidents').pluck().get()).toBe(0);
    const accepted = await post(alert('firing'));
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ accepted: 1, ignored: 1, hint: 'alerts need a "service" label naming a service of shipmate.yml' });
    await h.settle();
    expect(incidentCard().text).toBe('fast requests-availability: burning (page)');
    expect(blocksText()).toContain('High error rate on fast requests');
    expect((await post({ alerts: 'nope' })).status).toBe(400);
    await post(alert('resolved'));
    await h.settle();
    expect(incidentCard().text).toBe('fast requests-availability: resolved');
  });

  it('asks for --break-glass while an SLO has used up its error budget', async () => {
    // 0.2% errors for four days against a 0.1% budget.
    await start(['slow'], SLO_NOW);
    await evaluate();
    expect(await deploy('slow@2.0.0 to prod')).toContain('slow has used up its error budget (requests-availability, requests-availability-raw), so new deploys to prod need --break-glass "reason"');
    expect(await deploy('slow@2.0.0 to prod --break-glass "fix for the burn"')).toContain('not allowed to break glass');
    expect(await deploy('slow@2.0.0 to prod --break-glass "fix for the burn"', 'U0TEAMLEAD')).not.toContain('need');
    await h.settle();
    expect(calls()).toEqual(['2.0.0 - -']);
    expect(audit('slo.break-glass')).toEqual([expect.objectContaining({ actor: 'U0TEAMLEAD' })]);
  });

  it('turns off a flag of the service from the incident, and lists flag changes on it', async () => {
    await start(['fast'], SLO_NOW);
    await h.command('create fast-checkout', { command: '/flag' });
    await h.command('fast-checkout on prod', { command: '/flag', user_id: 'U0BOB' });
    await h.settle();
    await evaluate();
    expect(blocksText()).toMatch(/• flag `fast-checkout` turn on by <@U0BOB>/);
    const off = buttons().find((b) => b.action_id === 'incident_flag_off:fast-checkout')!;
    expect(off.text?.text).toBe('Turn off fast-checkout');
    // A value edited to name another flag is refused.
    const forged = await h.click('incident_flag_off:fast-checkout', '1:other-flag', { userId: 'U0ONCALL' });
    expect(forged.status).toBe(200);
    await h.click('incident_flag_off:fast-checkout', '1:fast-checkout', { userId: 'U0ONCALL' });
    await h.settle();
    const flag = h.shipmate.db.prepare("SELECT enabled FROM flags WHERE key = 'fast-checkout'").pluck().get();
    expect(flag).toBe(0);
    expect(thread()).toContain('<@U0ONCALL> is turning off fast-checkout in prod (flag change #2).');
    expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM flag_changes').pluck().get()).toBe(2);
    expect(h.shipmate.db.prepare("SELECT reason FROM flag_changes WHERE id = 2").pluck().get()).toBe('from incident #1 (requests-availability)');
    await evaluate();
    expect(buttons().map((b) => b.action_id)).not.toContain('incident_flag_off:fast-checkout');
  });
});
