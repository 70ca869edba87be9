import { startHarness, type Harness, BOT_TOKEN } from '../support/harness';
import { postSigned, sign, SIGNING_SECRET, slashCommandBody } from '../support/slack-requests';
import { WebhookTarget } from '../support/webhook-target';

const HOOK_SECRET = 'webhook-secret-0123456789';

const config = (target: WebhookTarget) => `
defaults:
  channel: C0DEPLOYS
services:
  api:
    environments:
      staging:
        deploy: { type: webhook, url: "${target.url}", secret: "\${HOOK_SECRET}" }
      prod:
        deploy: { type: webhook, url: "${target.url}", secret: "\${HOOK_SECRET}" }
  web:
    environments:
      staging:
        deploy: { type: webhook, url: "${target.url}", secret: "\${HOOK_SECRET}" }
`;

type Ack = { response_type: string; text: string; blocks: unknown[] };

describe('Slack requests', () => {
  let target: WebhookTarget;
  let h: Harness;
  const deployCount = () => h.shipmate.db.prepare('SELECT COUNT(*) FROM deployments').pluck().get();

  beforeEach(async () => {
    target = await new WebhookTarget().start();
    h = await startHarness(config(target), { HOOK_SECRET });
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  describe('help and bad input', () => {
    it('answers /deploy help with the usage, visible only to the caller', async () => {
      const { json } = await h.command('help');
      const ack = json as Ack;
      expect(ack.response_type).toBe('ephemeral');
      expect(ack.text).toContain('/deploy <service>@<version> to <environment>');
      expect(ack.text).toContain('/deploy history <service> [environment]');
    });

    it.each([
      ['nope@1.2.3 to staging', 'Unknown service "nope". Services in shipmate.yml: api, web.'],
      ['api@1.2.3 to qa', 'api has no environment "qa". Its environments: staging, prod.'],
      ['api@1.2 to staging', '"1.2" is not a version. Use a semantic version like 1.4.2 or v1.4.2, or a commit SHA'],
      ['frobnicate', '"frobnicate" is not a subcommand.'],
      ['api@1.2.3', 'Which environment?'],
      ['history', '`/deploy history` needs a service'],
    ])('"/deploy %s" says what is wrong, shows the usage and starts nothing', async (text, message) => {
      const { status, json } = await h.command(text);
      expect(status).toBe(200);
      const ack = json as Ack;
      expect(ack.response_type).toBe('ephemeral');
      expect(ack.text).toContain(message);
      expect(JSON.stringify(ack.blocks)).toContain('/deploy status [service]');
      await h.shipmate.worker.idle();
      expect(deployCount()).toBe(0);
      expect(h.emulator.callsTo('chat.postMessage')).toHaveLength(0);
      expect(target.received).toHaveLength(0);
    });
  });

  describe('status and history', () => {
    it('answer from the database', async () => {
      await h.command('api@1.4.1 to staging');
      await h.shipmate.worker.idle();
      target.status = 500;
      await h.command('api@1.4.2 to staging');
      await h.shipmate.worker.idle();
      target.status = 200;
      await h.command('api@1.4.0 to prod');
      await h.shipmate.worker.idle();

      const status = (await h.command('status')).json as Ack;
      expect(status.text).toMatch(/\*api\* staging: `1.4.2` failed by <@U0ALICE>.* · #2/);
      expect(status.text).toMatch(/\*api\* prod: `1.4.0` succeeded by <@U0ALICE>.* · #3/);
      expect(status.text).toContain("*web* staging: never deployed");

      const history = (await h.command('history api staging')).json as Ack;
      const lines = history.text.split('\n');
      expect(lines[0]).toBe('Latest deploys of api in staging');
      expect(lines.slice(1).map((l) => l.match(/`([^`]+)`/)?.[1])).toEqual(['1.4.2', '1.4.1']);
      expect(history.text).toContain('answered 500');

      const empty = (await h.command('history web')).json as Ack;
      expect(empty.text).toContain('web has not been deployed yet.');
    });
  });

  describe('duplicates and concurrency', () => {
    it('starts one deploy when Slack retries the same request', async () => {
      const body = slashCommandBody('api@1.4.2 to staging', { responseBase: h.emulator.url });
      const first = await postSigned(h.url, body);
      const retry = await postSigned(h.url, body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
      expect((first.json as Ack).text).toContain('Deploying api 1.4.2 to staging (deploy #1)');
      expect((retry.json as Ack).text).toContain('Deploy #1 (api 1.4.2 to staging) was already requested');
      await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
      await h.shipmate.worker.idle();
      expect(deployCount()).toBe(1);
      expect(target.received).toHaveLength(1);
    });

    it('runs one deploy per target at a time and tells the second person why not', async () => {
      const release = target.hold();
      await h.command('api@1.4.2 to staging', { user_id: 'U0ALICE' });
      await target.arrived(1);
      const second = (await h.command('api@1.4.3 to staging', { user_id: 'U0BOB' })).json as Ack;
      expect(second.text).toBe(
        'api is already being deployed to staging: 1.4.2 by <@U0ALICE> (deploy #1, deploying). Wait for it to finish, or add --queue to run after it.',
      );
      const other = (await h.command('web@1.0.0 to staging', { user_id: 'U0BOB' })).json as Ack;
      expect(other.text).toContain('Deploying web 1.0.0 to staging');
      await target.arrived(2);
      release();
      await h.shipmate.worker.idle();
      expect(h.shipmate.db.prepare('SELECT service, version, status FROM deployments ORDER BY id').all()).toEqual([
        { service: 'api', version: '1.4.2', status: 'succeeded' },
        { service: 'web', version: '1.0.0', status: 'succeeded' },
      ]);
    });

    it('lets only one of many simultaneous requests for the same target through', async () => {
      const release = target.hold();
      const acks = await Promise.all(
        ['1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5'].map((v) => h.command(`api@${v} to prod`)),
      );
      const texts = acks.map((a) => (a.json as Ack).text);
      expect(texts.filter((t) => t.startsWith('Deploying'))).toHaveLength(1);
      expect(texts.filter((t) => t.startsWith('api is already being deployed to prod'))).toHaveLength(4);
      release();
      await h.shipmate.worker.idle();
      expect(deployCount()).toBe(1);
    });
  });

  describe('request signatures', () => {
    const body = () => slashCommandBody('api@1.4.2 to staging');
    it.each([
      ['a wrong signature', { signature: sign('something else', Math.floor(Date.now() / 1000)) }],
      ['a signature made with another secret', { signature: sign(body(), Math.floor(Date.now() / 1000), 'ffffffffffffffffffffffffffffffff') }],
      ['no signature', { signature: null }],
      ['a timestamp older than five minutes', { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }],
    ])('rejects a request with %s and starts nothing', async (_name, options) => {
      const b = body();
      const timestamp = (options as { timestamp?: number }).timestamp;
      const signature = 'signature' in options ? options.signature : sign(b, timestamp!, SIGNING_SECRET);
      const response = await postSigned(h.url, b, { ...(timestamp ? { timestamp } : {}), signature });
      expect(response.status).toBe(401);
      await h.shipmate.worker.idle();
      expect(deployCount()).toBe(0);
    });
  });

  describe('the outbox', () => {
    it('delays a message Slack rate-limits and posts it once when the Retry-After has passed', async () => {
      h.emulator.failNext('chat.postMessage', { status: 429, headers: { 'retry-after': '30' }, body: { ok: false, error: 'ratelimited' } });
      await h.command('api@1.4.2 to staging');
      await h.shipmate.worker.idle();
      // The deploy itself went on; only the messages wait.
      expect(target.received).toHaveLength(1);
      expect(h.emulator.callsTo('chat.update')).toHaveLength(0);
      h.clock.advance(29_000);
      h.shipmate.tick();
      await h.shipmate.worker.idle();
      expect(h.emulator.callsTo('chat.postMessage')).toHaveLength(1);
      h.clock.advance(1_000);
      h.shipmate.tick();
      await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
      await h.shipmate.worker.idle();
      const posts = h.emulator.callsTo('chat.postMessage').filter((c) => !c.args.thread_ts);
      expect(posts).toHaveLength(2); // the rate-limited try and the one that went through
      expect(h.emulator.callsTo('chat.update').map((c) => c.args.text)).toEqual([
        'api 1.4.2 → staging: Deploying',
        'api 1.4.2 → staging: Succeeded',
      ]);
      const metrics = await (await fetch(`${h.url}/metrics`)).text();
      expect(metrics).toContain('shipmate_slack_api_errors_total{method="chat.postMessage",error="ratelimited"} 1');
    });
  });

  describe('health, readiness and metrics', () => {
    it('serves /healthz, /readyz and Prometheus metrics on the HTTP port', async () => {
      expect(await (await fetch(`${h.url}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${h.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { database: true, slack: true } });

      await h.command('api@1.4.2 to staging');
      await h.shipmate.worker.idle();
      target.status = 500;
      await h.command('api@1.4.3 to staging');
      await h.command('nope@1.0.0 to staging');
      await h.shipmate.worker.idle();
      const response = await fetch(`${h.url}/metrics`);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      expect(text).toContain('shipmate_deploys_total{service="api",environment="staging",outcome="succeeded"} 1');
      expect(text).toContain('shipmate_deploys_total{service="api",environment="staging",outcome="failed"} 1');
      expect(text).toMatch(/shipmate_command_duration_seconds_count\{command="deploy",outcome="ok"\} 2/);
      expect(text).toMatch(/shipmate_command_duration_seconds_count\{command="deploy",outcome="validation"\} 1/);
      expect(text).toContain('shipmate_process_cpu_seconds_total');
    });
  });

  it('never writes tokens or secrets to the logs or to Slack', async () => {
    h.emulator.failNext('chat.postMessage', { body: { ok: false, error: 'invalid_auth' } });
    await h.command('api@1.4.2 to staging');
    await h.command('nope@1 to staging');
    await h.shipmate.worker.idle();
    // auth.test carries the token in its body, as Slack's API requires; every message is checked.
    const messages = h.emulator.calls.filter((c) => c.method !== 'auth.test').map((c) => c.args);
    const everything = h.logs.join('\n') + JSON.stringify(messages);
    expect(h.logs.length).toBeGreaterThan(0);
    for (const secret of [BOT_TOKEN, SIGNING_SECRET, HOOK_SECRET]) expect(everything).not.toContain(secret);
  });
});
