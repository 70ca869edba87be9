import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadShipmateConfig } from '../../src/config/load-shipmate-config';
import { loadSettings } from '../../src/config/settings';
import { createShipmate, type Shipmate } from '../../src/main';
import { createLogger } from '../../src/telemetry/logger';
import slashCommandFixture from '../fixtures/slash-command.json';
import { ManualClock } from '../support/manual-clock';
import { SlackEmulator } from '../support/slack-emulator';
import { SocketModeServer } from '../support/socket-mode-server';
import { WebhookTarget } from '../support/webhook-target';

const BOT_TOKEN = 'xoxb-111-222-sockettoken';
const APP_TOKEN = 'xapp-1-A0SHIPMATE-1-abc';

function configFor(target: WebhookTarget): string {
  return `
defaults:
  channel: C0DEPLOYS
services:
  api:
    channel: C0APIDEPLOY
    environments:
      staging:
        deploy:
          type: webhook
          url: ${target.url}
          secret: \${API_HOOK_SECRET}
          timeout: 5s
`;
}

describe('Socket Mode', () => {
  let dir: string;
  let target: WebhookTarget | undefined;
  let emulator: SlackEmulator | undefined;
  let slack: SocketModeServer | undefined;
  let shipmate: Shipmate | undefined;
  let port: number;
  let logs: string[];

  beforeEach(async () => {
    [target, emulator, slack, shipmate] = [undefined, undefined, undefined, undefined];
    dir = mkdtempSync(join(tmpdir(), 'shipmate-socket-'));
    target = await new WebhookTarget().start();
    emulator = await new SlackEmulator(BOT_TOKEN).start();
    slack = await new SocketModeServer('A0SHIPMATE').start();
    // The emulator does not know apps.connections.open; queue the answer Slack gives.
    emulator.failNext('apps.connections.open', { body: { ok: true, url: slack.url } });
    writeFileSync(join(dir, 'shipmate.yml'), configFor(target));
    const env = {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_APP_TOKEN: APP_TOKEN,
      SLACK_API_URL: emulator.apiUrl,
      PORT: '0',
      SHIPMATE_DB: join(dir, 'shipmate.db'),
      SHIPMATE_CONFIG: join(dir, 'shipmate.yml'),
      API_HOOK_SECRET: 'webhook-secret-0123456789',
    };
    const settings = loadSettings(env);
    expect(settings.mode).toBe('socket');
    logs = [];
    shipmate = createShipmate({
      settings,
      config: loadShipmateConfig(settings.SHIPMATE_CONFIG, env),
      baseEnv: { PATH: process.env.PATH },
      clock: new ManualClock().now,
      log: createLogger({
        level: 'debug',
        destination: new Writable({ write: (chunk: Buffer, _enc, done) => { logs.push(chunk.toString()); done(); } }),
      }),
      reconcileEvery: false,
      clientOptions: { retryConfig: { retries: 0 } },
    });
    port = await shipmate.start();
  });

  afterEach(async () => {
    // The app first, so its socket client is shutting down and does not reconnect when the server goes.
    await shipmate?.stop();
    await slack?.stop();
    await emulator?.stop();
    await target?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A slash command as Socket Mode delivers it: the same fields as the HTTP form, as JSON. */
  function slashCommand(text: string): Promise<Record<string, unknown> | undefined> {
    return slack!.request('slash_commands', {
      ...slashCommandFixture,
      text,
      response_url: `${emulator!.url}${slashCommandFixture.response_url}`,
    });
  }

  const errorLogs = () => logs.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50);

  it('connects with the app-level token, acks /deploy over the socket, and runs the deploy to succeeded', async () => {
    const opens = emulator!.callsTo('apps.connections.open');
    expect(opens).toHaveLength(1);
    expect(opens[0]!.token).toBe(APP_TOKEN);
    expect(slack!.handshakes).toHaveLength(1);
    expect(slack!.handshakes[0]!.url).toMatch(/^\/link\/\?ticket=[\w-]+&app_id=A0SHIPMATE$/);

    const ack = await slashCommand('api@1.4.2 to staging');
    expect(ack).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('Deploying api 1.4.2 to staging (deploy #1)') });
    expect(slack!.received).toHaveLength(1);

    const posted = await emulator!.waitFor('chat.postMessage', (a) => a.channel === 'C0APIDEPLOY' && !a.thread_ts);
    expect(posted.args.text).toBe('api 1.4.2 → staging: Queued');
    expect(posted.token).toBe(BOT_TOKEN);
    const done = await emulator!.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
    expect(done.args.channel).toBe('C0APIDEPLOY');
    expect(emulator!.callsTo('chat.update').map((c) => c.args.text)).toEqual(['api 1.4.2 → staging: Deploying', 'api 1.4.2 → staging: Succeeded']);
    // Only the socket connection used the app-level token; everything else went out as the bot.
    expect(emulator!.calls.filter((c) => c.method !== 'apps.connections.open').every((c) => c.token === BOT_TOKEN)).toBe(true);

    expect(target!.received).toHaveLength(1);
    expect(JSON.parse(target!.received[0]!.body)).toMatchObject({ deploymentId: 1, service: 'api', environment: 'staging', version: '1.4.2', requestedBy: 'U0ALICE' });

    await shipmate!.worker.idle();
    expect(shipmate!.db.prepare('SELECT status, version, requested_by, source FROM deployments WHERE id = 1').get()).toEqual({
      status: 'succeeded',
      version: '1.4.2',
      requested_by: 'U0ALICE',
      source: 'slash_command',
    });
    expect(errorLogs()).toEqual([]);
  });

  it('serves /healthz, /readyz and /metrics on PORT', async () => {
    expect(port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${port}`;

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: true, slack: true } });

    await slashCommand('api@1.4.2 to staging');
    await emulator!.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
    await shipmate!.worker.idle();

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toContain('shipmate_deploys_total{service="api",environment="staging",outcome="succeeded"} 1');
    expect(text).toMatch(/shipmate_command_duration_seconds_count\{command="deploy",outcome="ok"\} 1/);
    expect(errorLogs()).toEqual([]);
  });

  it('closes the socket with a normal closure when stopped', async () => {
    await slack!.connected();
    const app = shipmate!;
    shipmate = undefined;
    await app.stop();
    // Bolt's SocketModeReceiver.stop() does not wait for the close handshake, so wait for the socket here.
    await slack!.disconnected();
    expect(slack!.clientCloseCodes).toEqual([1000]);
    expect(emulator!.callsTo('apps.connections.open')).toHaveLength(1);
    expect(errorLogs()).toEqual([]);
  });
});
