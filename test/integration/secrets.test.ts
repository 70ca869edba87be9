import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run-cli';
import { signWebhook } from '../../src/deployers/webhook-deployer';
import type { ShipmateOptions } from '../../src/main';
import { FakeDatadog } from '../support/fake-datadog';
import { FakeLaunchDarkly } from '../support/fake-launchdarkly';
import { BOT_TOKEN, startHarness, type Harness } from '../support/harness';
import { ManualClock } from '../support/manual-clock';
import { blockActionsBody, postSigned, sign, SIGNING_SECRET, slashCommandBody } from '../support/slack-requests';
import { WebhookTarget } from '../support/webhook-target';

/**
 * Who may call Shipmate, and what Shipmate lets out. Every entrance checks its own credential
 * (Slack's signature by Slack's clock, Alertmanager's token, each environment's OFREP key, each
 * deploy target's signature), and no secret of the config or the process ends up in a log line,
 * a Slack message, an audit row or any other row of the database, even when the systems Shipmate
 * talks to echo them back. The secrets are unlike Slack tokens, so the xox* scrubber is no help.
 */

const SECRETS = {
  HOOK_PASSWORD: 'pw-Hook-7f3a9c1e55',
  HOOK_SECRET: 'hmac-4b1d8e2f9a6c7730',
  OTHER_HOOK_SECRET: 'hmac-other-0c9d8e7f6a5b',
  HOOK_BEARER: 'bearer-9e8d7c6b5a4f3e2d',
  DB_PASSWORD: 'db-Pass-c0ffee-1234',
  LD_TOKEN: 'api-5e6f7a8b-1c2d-4e3f-9a0b',
  DD_API_KEY: 'ddapi0123456789abcdef0123456789ab',
  DD_APP_KEY: 'ddapp0123456789abcdef0123456789abcdef01',
  AM_TOKEN: 'am-token-51f0e2d3c4b5a697',
  OFREP_STAGING: 'ofrep-staging-8a7b6c5d4e3f',
  OFREP_PROD: 'ofrep-prod-1f2e3d4c5b6a7988',
};
const MINUTE = 60_000;
const deploymentCount = (h: Harness) => h.shipmate.db.prepare('SELECT COUNT(*) FROM deployments').pluck().get();
const auditCount = (h: Harness) => h.shipmate.db.prepare('SELECT COUNT(*) FROM audit_log').pluck().get();
/** What Shipmate sent Slack (the bot token authenticates each call, and auth.test carries it in its body). */
const slackTraffic = (h: Harness) => h.emulator.calls.filter((c) => c.method !== 'auth.test').map((c) => ({ method: c.method, args: c.args }));

/** The harness with Slack's timestamps checked against a clock of the test's own. */
async function startWithSlackClock(yaml: string, env: Record<string, string>, slackClock: ManualClock): Promise<Harness> {
  const options: Parameters<typeof startHarness>[2] & Pick<ShipmateOptions, 'slackClock'> = { slackClock: slackClock.now };
  return startHarness(yaml, env, options);
}

describe('Slack request signatures, by the clock Shipmate is given', () => {
  const slackClock = new ManualClock(new Date('2027-02-01T09:00:00Z'));
  const now = () => Math.floor(slackClock.now().getTime() / 1000);
  let h: Harness;
  beforeEach(async () => {
    h = await startWithSlackClock('defaults: { channel: C0DEPLOYS }\nservices:\n  api:\n    environments: { prod: { deploy: { type: command, command: /bin/true } } }\n', {}, slackClock);
  });
  afterEach(() => h.stop());

  async function expectRefused(body: string, options: Parameters<typeof postSigned>[2]) {
    const response = await postSigned(h.url, body, options);
    expect(response.status).toBe(401);
    expect(response.text).toBe('');
    await h.settle();
    expect(deploymentCount(h)).toBe(0);
    expect(auditCount(h)).toBe(0);
    expect(slackTraffic(h)).toEqual([]);
  }

  it.each([
    ['5 minutes and 1 second old', -301],
    ['5 minutes and 1 second ahead', 301],
    ['a day old', -86_400],
  ])('refuses a correctly signed request stamped %s, and records nothing', async (_name, offset) => {
    const body = slashCommandBody('api@1.0.0 to prod', { responseBase: h.emulator.url });
    await expectRefused(body, { timestamp: now() + offset, signature: sign(body, now() + offset) });
  });

  it('refuses a signature made for another timestamp, a request without a timestamp, and an unsigned button click', async () => {
    const body = slashCommandBody('api@1.0.0 to prod', { responseBase: h.emulator.url });
    // A captured request sent again with a fresh stamp: its signature was for the old one.
    await expectRefused(body, { timestamp: now(), signature: sign(body, now() - 400) });
    await expectRefused(body, { timestamp: Number.NaN, signature: sign(body, now()) });
    await expectRefused(blockActionsBody('deploy_approve', '1', { responseBase: h.emulator.url }), { timestamp: now(), signature: null });
  });

  it('takes a request stamped exactly 5 minutes off, either way, by that clock and not by the system clock', async () => {
    for (const [version, offset] of [['1.0.0', -300], ['1.0.1', 300]] as const) {
      const body = slashCommandBody(`api@${version} to prod`, { responseBase: h.emulator.url });
      expect((await postSigned(h.url, body, { timestamp: now() + offset })).status).toBe(200);
      await h.settle();
    }
    expect(deploymentCount(h)).toBe(2);
  });
});

describe('each entrance takes its own credential', () => {
  let target: WebhookTarget;
  let h: Harness;
  const config = (url: string) => `
defaults: { channel: C0DEPLOYS }
slo: { channel: C0INCIDENTS }
alertmanager: { token: "\${AM_TOKEN}" }
flags:
  channel: C0FLAGS
  environments:
    staging: { ofrepKey: "\${OFREP_STAGING}" }
    prod: { ofrepKey: "\${OFREP_PROD}" }
services:
  api:
    environments: { prod: { deploy: { type: webhook, url: "${url}", secret: "\${HOOK_SECRET}", completion: callback, timeout: 1m } } }
  web:
    environments: { prod: { deploy: { type: webhook, url: "${url}", secret: "\${OTHER_HOOK_SECRET}", completion: callback, timeout: 1m } } }
`;
  beforeEach(async () => {
    target = await new WebhookTarget().start();
    target.status = 202;
    h = await startHarness(config(target.url), SECRETS);
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  const json = { 'content-type': 'application/json' };
  const alert = (headers: Record<string, string>) =>
    fetch(`${h.url}/alerts/alertmanager`, {
      method: 'POST',
      headers: { ...json, ...headers },
      body: JSON.stringify({ version: '4', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'HighErrorRate', service: 'api', severity: 'page' }, annotations: { summary: 'errors' } }] }),
    });
  const ofrep = (headers: Record<string, string>) =>
    fetch(`${h.url}/ofrep/v1/evaluate/flags/new-checkout`, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify({ context: { targetingKey: 'user-1' } }) });
  const appNow = () => Math.floor(h.clock.now().getTime() / 1000);
  /** A deploy target's report; `signedBody` signs another body than the one sent (a replayed signature). */
  const callback = (body: object, o: { secret?: string; timestamp?: number; signedBody?: object; headers?: Record<string, string> } = {}) => {
    const text = JSON.stringify(body);
    const timestamp = String(o.timestamp ?? appNow());
    const signature: Record<string, string> = o.secret ? { 'x-shipmate-timestamp': timestamp, 'x-shipmate-signature': signWebhook(o.secret, timestamp, JSON.stringify(o.signedBody ?? body)) } : {};
    return fetch(`${h.url}/deployments/callback`, { method: 'POST', headers: { ...json, ...signature, ...o.headers }, body: text });
  };
  const done = (key: string) => ({ idempotencyKey: key, status: 'succeeded' });
  const statusOf = (id: number) => h.shipmate.db.prepare('SELECT status FROM deployments WHERE id = ?').pluck().get(id);
  const count = (table: string) => h.shipmate.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get();

  async function expectUnauthorized(response: Promise<Response>, credential: string) {
    const answer = await response;
    const text = await answer.text();
    expect({ status: answer.status, echoed: text.includes(credential) }).toEqual({ status: 401, echoed: false });
  }

  it('refuses every credential but its own at the Alertmanager webhook, OFREP and the deploy callback, and changes nothing', async () => {
    await h.command('create new-checkout', { command: '/flag' });
    await h.command('new-checkout on prod', { command: '/flag' });
    await h.settle();
    const flags = () => h.shipmate.db.prepare('SELECT environment, enabled, version FROM flags ORDER BY environment').all();
    const flagsBefore = flags();
    // Both deploys now wait for their target's report (settling would wait with them).
    await h.command('api@1.0.0 to prod');
    await h.command('web@1.0.0 to prod');
    await target.arrived(2);
    const [api, web] = ['deploy:1:deploy', 'deploy:2:deploy'];

    for (const foreign of [SECRETS.OFREP_STAGING, SECRETS.OFREP_PROD, SECRETS.HOOK_SECRET, SIGNING_SECRET, BOT_TOKEN]) {
      await expectUnauthorized(alert({ authorization: `Bearer ${foreign}` }), foreign);
    }
    await expectUnauthorized(alert({ authorization: SECRETS.AM_TOKEN }), SECRETS.AM_TOKEN); // the scheme is part of it
    for (const foreign of [SECRETS.AM_TOKEN, SECRETS.HOOK_SECRET, SIGNING_SECRET, BOT_TOKEN]) {
      await expectUnauthorized(ofrep({ authorization: `Bearer ${foreign}` }), foreign);
      await expectUnauthorized(ofrep({ 'x-api-key': foreign }), foreign);
    }
    for (const foreign of [SECRETS.AM_TOKEN, SECRETS.OFREP_PROD, SIGNING_SECRET, SECRETS.OTHER_HOOK_SECRET]) {
      await expectUnauthorized(callback(done(api), { secret: foreign }), foreign);
    }
    await expectUnauthorized(callback(done(api), { headers: { authorization: `Bearer ${SECRETS.AM_TOKEN}` } }), SECRETS.AM_TOKEN);
    // One deploy's report does not complete another: its signature is over its own key.
    await expectUnauthorized(callback(done(api), { secret: SECRETS.OTHER_HOOK_SECRET, signedBody: done(web) }), SECRETS.OTHER_HOOK_SECRET);
    await expectUnauthorized(callback(done(web), { secret: SECRETS.HOOK_SECRET }), SECRETS.HOOK_SECRET);
    for (const skew of [-301, 301]) await expectUnauthorized(callback(done(api), { secret: SECRETS.HOOK_SECRET, timestamp: appNow() + skew }), SECRETS.HOOK_SECRET);

    expect([statusOf(1), statusOf(2)]).toEqual(['deploying', 'deploying']);
    expect({ callbacks: count('deploy_callbacks'), incidents: count('incidents'), flags: flags() }).toEqual({ callbacks: 0, incidents: 0, flags: flagsBefore });
    expect(h.shipmate.db.prepare("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'incident%' OR action = 'deploy.succeeded'").pluck().get()).toBe(0);

    // Each key reads its own environment's flags: on in prod, still off in staging.
    const [prod, staging] = await Promise.all([ofrep({ authorization: `Bearer ${SECRETS.OFREP_PROD}` }), ofrep({ 'x-api-key': SECRETS.OFREP_STAGING })]);
    expect(await prod.json()).toMatchObject({ value: true, metadata: { environment: 'prod' } });
    expect(await staging.json()).toMatchObject({ value: false, reason: 'DISABLED', metadata: { environment: 'staging' } });
    // And the right credentials work, each deploy completed by its own target's report.
    expect((await alert({ authorization: `Bearer ${SECRETS.AM_TOKEN}` })).status).toBe(200);
    const finished = (service: string) => h.emulator.waitFor('chat.update', (a) => String(a.text).startsWith(`${service} `) && String(a.text).endsWith('Succeeded'));
    expect((await callback(done(web), { secret: SECRETS.OTHER_HOOK_SECRET, timestamp: appNow() - 300 })).status).toBe(202);
    await finished('web');
    expect([statusOf(1), statusOf(2)]).toEqual(['deploying', 'succeeded']);
    expect((await callback(done(api), { secret: SECRETS.HOOK_SECRET })).status).toBe(202);
    await finished('api');
    await h.settle();
    expect(statusOf(1)).toBe('succeeded');
    expect(count('incidents')).toBe(1);
  });
});

describe('secrets stay in', () => {
  let target: WebhookTarget;
  let ld: FakeLaunchDarkly;
  let datadog: FakeDatadog;
  let h: Harness;
  /** The Basic credentials axios makes of the URL's userinfo: what the target echoes. */
  const basic = Buffer.from(`deployer:${SECRETS.HOOK_PASSWORD}`).toString('base64');
  const forbidden = [...Object.values(SECRETS), basic, SIGNING_SECRET, BOT_TOKEN];

  const config = () => `
defaults: { channel: C0DEPLOYS }
flags:
  channel: C0FLAGS
  environments:
    staging: { backend: { type: launchdarkly, apiUrl: "${ld.url}", token: "\${LD_TOKEN}", projectKey: web, retries: 0 } }
    prod: { ofrepKey: "\${OFREP_PROD}" }
metrics:
  providers:
    dd: { type: datadog, url: "${datadog.url}", apiKey: "\${DD_API_KEY}", appKey: "\${DD_APP_KEY}" }
analyses:
  health:
    interval: 1m
    count: 1
    metrics: [{ name: errors, provider: dd, query: "sum:errors{service:{{service}}}", successCondition: result < 1 }]
alertmanager: { token: "\${AM_TOKEN}" }
slo: { channel: C0INCIDENTS }
services:
  api:
    environments:
      prod:
        deploy:
          type: webhook
          url: "http://deployer:\${HOOK_PASSWORD}@${target.url.replace('http://', '')}"
          secret: "\${HOOK_SECRET}"
          headers: { X-Deploy-Token: "\${HOOK_BEARER}" }
          retries: 0
  worker:
    environments:
      prod:
        deploy: { type: command, command: /bin/sh, args: ["-c", "echo connecting as deploy:$DB_PASSWORD >&2; exit 3"], env: { DB_PASSWORD: "\${DB_PASSWORD}" } }
  web:
    environments:
      prod:
        deploy: { type: command, command: /bin/true }
        strategy: canary
        steps: [{ weight: 20 }, { analysis: health }, { weight: 100 }]
`;

  beforeEach(async () => {
    target = await new WebhookTarget().start();
    ld = await new FakeLaunchDarkly(SECRETS.LD_TOKEN).start();
    ld.addBooleanFlag('new-checkout');
    datadog = await new FakeDatadog(SECRETS.DD_API_KEY, SECRETS.DD_APP_KEY).start();
    h = await startHarness(config(), SECRETS);
  });
  afterEach(async () => {
    await h.stop();
    await Promise.all([target.stop(), ld.stop(), datadog.stop()]);
  });

  /** Every text value of every row of every table. */
  function database(): string[] {
    const tables = h.shipmate.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    return tables.flatMap((table) =>
      (h.shipmate.db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[]).flatMap((row) => Object.values(row).filter((v): v is string => typeof v === 'string')),
    );
  }
  const leaks = (where: string) => forbidden.filter((secret) => where.includes(secret));
  const thread = (text: RegExp) => {
    const card = h.emulator.messagesIn('C0DEPLOYS').find((m) => text.test(String(m.text)))!;
    return JSON.stringify(h.emulator.repliesTo('C0DEPLOYS', card.ts));
  };

  it('appear in no log line, Slack call, audit row or database row, though every system echoes them back', async () => {
    // The target answers 500 with the headers it got: the Basic credentials of the URL and the token header.
    target.statusFor = (hook) => {
      target.responseBody = JSON.stringify({ error: 'refused', authorization: hook.headers.authorization, token: hook.headers['x-deploy-token'] });
      return 500;
    };
    ld.failNext({ status: 401, body: { code: 'unauthorized', message: `Invalid access token ${SECRETS.LD_TOKEN}`, id: 'unauthorized-401-0000' } });

    await h.command('api@1.0.0 to prod');
    await h.command('worker@1.0.0 to prod');
    await h.command('new-checkout on staging', { command: '/flag' });
    await h.command('web@1.0.0 to prod'); // the baseline: the first deploy goes out whole
    await h.settle();
    datadog.override = { status: 403, body: { errors: [`Forbidden: DD-API-KEY ${SECRETS.DD_API_KEY} and DD-APPLICATION-KEY ${SECRETS.DD_APP_KEY} are not valid`] } };
    await h.command('web@1.0.1 to prod');
    await h.settle();
    await h.command('status api');
    await h.settle();

    // The secrets really went out, and really came back.
    expect(target.received[0]!.headers).toMatchObject({ authorization: `Basic ${basic}`, 'x-deploy-token': SECRETS.HOOK_BEARER });
    expect(ld.requests[0]!.headers.authorization).toBe(SECRETS.LD_TOKEN);
    expect(datadog.requests[0]!.headers['dd-api-key']).toBe(SECRETS.DD_API_KEY);
    // Each failure is still told, with the secret taken out.
    const failed = h.shipmate.db.prepare('SELECT service, error FROM deployments WHERE status = ? ORDER BY id').all('failed') as { service: string; error: string }[];
    expect(failed).toEqual([
      { service: 'api', error: expect.stringMatching(/answered 500: .*"authorization":"Basic \[redacted\]".*"token":"\[redacted\]"/) },
      { service: 'worker', error: expect.stringContaining('exited with status 3') },
    ]);
    expect(thread(/^worker /)).toContain('connecting as deploy:[redacted]');
    expect(JSON.stringify(h.emulator.messagesIn('C0FLAGS'))).toContain('Invalid access token [redacted]');
    expect(thread(/^web 1\.0\.1/)).toMatch(/Forbidden: DD-API-KEY \[redacted\] and DD-APPLICATION-KEY \[redacted\]/);

    expect(leaks(h.logs.join('\n'))).toEqual([]);
    expect(leaks(JSON.stringify(slackTraffic(h)))).toEqual([]);
    expect(leaks(JSON.stringify(h.shipmate.db.prepare('SELECT * FROM audit_log').all()))).toEqual([]);
    expect(leaks(database().join('\n'))).toEqual([]);
  });
});

describe('shipmate config check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipmate-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function check(yaml: string, env: Record<string, string>) {
    const file = join(dir, 'shipmate.yml');
    writeFileSync(file, yaml);
    const lines: string[] = [];
    const code = await runCli(['config', 'check', '--json'], { env: { ...env, SHIPMATE_CONFIG: file }, out: (l) => lines.push(l), err: (l) => lines.push(l) });
    return { code, output: JSON.parse(lines.join('\n')) as { valid: boolean; problems?: string[] } };
  }

  it('refuses one credential in two places, and prints no value from the environment in its problems', async () => {
    const env = { ...SECRETS, TRAIN_ENV: 'tok-a81f93c2d7e6' };
    const { code, output } = await check(
      `defaults: { channel: C0DEPLOYS }
alertmanager: { token: "\${OFREP_PROD}" }
flags: { environments: { staging: { ofrepKey: "\${OFREP_PROD}" }, prod: { ofrepKey: "\${OFREP_PROD}" } } }
trains: [{ name: weekly, cron: "0 10 * * 2", environment: "\${TRAIN_ENV}" }]
services:
  api:
    environments: { prod: { deploy: { type: webhook, url: "https://deployer:\${HOOK_PASSWORD}@deploy.example.com/hook", secret: "\${HOOK_SECRET}" } } }
`,
      env,
    );
    expect(code).toBe(1);
    expect(output.problems).toEqual(
      expect.arrayContaining([
        'flags.environments.prod.ofrepKey: is the same as flags.environments.staging.ofrepKey: OFREP for prod needs a credential of its own',
        'alertmanager.token: is the same as flags.environments.staging.ofrepKey: the Alertmanager webhook needs a credential of its own',
        'trains.0.environment: no service has an environment "[redacted]"',
      ]),
    );
    expect(Object.values(env).filter((secret) => JSON.stringify(output).includes(secret))).toEqual([]);
  });
});
