import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { loadShipmateConfig } from '../config/load-shipmate-config';
import { loadSettings } from '../config/settings';
import { readBody, sendJson } from '../http/http-body';
import { createShipmate, type Shipmate } from '../main';
import type { Logger } from '../telemetry/logger';
import { demoConfig, PLAYGROUND_CHANNELS, PLAYGROUND_USERS } from './demo-config';
import { SlackEmulator } from './slack-emulator';

/**
 * The local playground: the real Shipmate (Bolt over HTTP, SQLite, flows, deployers) talking to
 * the same Slack Web API emulator the tests use, and a web page that plays Slack's part: it sends
 * signed slash commands, clicks and modal submissions, and shows what Shipmate posted.
 */

const BOT_TOKEN = 'xoxb-playground-0000-token';
const MAX_BODY = 256 * 1024;

export interface PlaygroundOptions {
  /** The page's port; 0 picks a free one. */
  port: number;
  /** Where the SQLite file and the generated shipmate.yml go. */
  dataDir: string;
  log?: Logger;
  /** How long demo deploys take, and the canary analyses' interval (tests make them short). */
  deployDelayMs?: number;
  analysisIntervalMs?: number;
  /** The page itself (src/playground/page.ts). */
  page: string;
}

export interface Playground {
  url: string;
  shipmate: Shipmate;
  emulator: SlackEmulator;
  stop(): Promise<void>;
}

type Ephemeral = { channel: string; text: unknown; blocks: unknown; ts: string };
type Modal = { id: string; view: Record<string, unknown> };

function sign(secret: string, body: string, timestamp: number): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** What each person sees only for themselves: ephemeral answers, an open modal, App Home. */
class PersonalViews {
  private seen = 0;
  readonly ephemerals = new Map<string, Map<string, Ephemeral>>();
  readonly modals = new Map<string, Modal>();
  readonly homes = new Map<string, unknown>();
  private modalCount = 0;

  constructor(private readonly emulator: SlackEmulator) {}

  /** Reads the Web API calls made since the last look. */
  update(): void {
    const calls = this.emulator.calls;
    for (; this.seen < calls.length; this.seen++) {
      const { method, args } = calls[this.seen]!;
      if (method === 'response_url') {
        // Paths are /response/<user>/<channel>/<n>: the reply replaces the earlier one of the same request when asked.
        const [, , user = '', channel = '', n = ''] = String(args.path).split('/');
        const mine = this.ephemerals.get(user) ?? new Map<string, Ephemeral>();
        mine.set(args.replace_original === true || args.replace_original === 'true' ? n : `${n}.${this.seen}`, { channel, text: args.text, blocks: args.blocks, ts: String(Date.now() / 1000) });
        this.ephemerals.set(user, mine);
      } else if (method === 'chat.postEphemeral') {
        const user = String(args.user);
        const mine = this.ephemerals.get(user) ?? new Map<string, Ephemeral>();
        mine.set(`e${this.seen}`, { channel: String(args.channel), text: args.text, blocks: args.blocks, ts: String(Date.now() / 1000) });
        this.ephemerals.set(user, mine);
      } else if (method === 'views.open') {
        const user = String(args.trigger_id).split('.')[1] ?? '';
        this.modals.set(user, { id: `VMODAL${++this.modalCount}`, view: args.view as Record<string, unknown> });
      } else if (method === 'views.publish') {
        this.homes.set(String(args.user_id), args.view);
      }
    }
  }
}

/** The compiled demo deploy script: beside this file in dist/, or in dist/ when this runs from the sources (tests). */
function demoDeployScript(): string {
  const candidates = [join(__dirname, 'demo-deploy.js'), resolve(__dirname, '..', '..', 'dist', 'src', 'playground', 'demo-deploy.js')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`the demo deploy script is not built: run \`npm run build\` (looked for ${candidates.join(', ')})`);
  return found;
}

async function json(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, MAX_BODY);
  if (body === undefined) throw new Error('body too large');
  return body ? (JSON.parse(body) as Record<string, unknown>) : {};
}

/** The demo metrics source: error ratios for the canary analyses; versions with "bad" in them burn, "nodata" has none. */
function demoMetric(url: URL): { status: number; body: unknown } {
  const version = url.searchParams.get('version') ?? '';
  if (version.includes('nodata')) return { status: 200, body: { value: null } };
  return { status: 200, body: { value: version.includes('bad') ? 0.09 : 0.004 + Math.random() * 0.004 } };
}

export async function startPlayground(options: PlaygroundOptions): Promise<Playground> {
  mkdirSync(options.dataDir, { recursive: true });
  const emulator = await new SlackEmulator(BOT_TOKEN, { firstTs: Math.floor(Date.now() / 1000) }).start();
  const signingSecret = randomBytes(16).toString('hex');
  const alertmanagerToken = randomBytes(16).toString('hex');
  let pageUrl = '';
  const server: Server = createServer((req, res) => void route(req, res).catch((error: unknown) => sendJson(res, 500, { error: String(error) })));
  server.listen(options.port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const configFile = join(options.dataDir, 'playground.shipmate.yml');
  writeFileSync(
    configFile,
    demoConfig({
      metricsUrl: `${pageUrl}/api/metrics/error-rate`,
      deployCommand: process.execPath,
      deployScript: demoDeployScript(),
      deployDelayMs: options.deployDelayMs ?? 1500,
      analysisIntervalMs: options.analysisIntervalMs ?? 5000,
      alertmanagerToken,
    }),
  );
  const env = {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: emulator.apiUrl,
    PORT: '0',
    SHIPMATE_DB: join(options.dataDir, 'playground.db'),
    SHIPMATE_CONFIG: configFile,
  };
  const settings = loadSettings(env);
  const shipmate = createShipmate({
    settings,
    config: loadShipmateConfig(configFile, env),
    baseEnv: { PATH: process.env.PATH },
    ...(options.log ? { log: options.log } : {}),
    clientOptions: { retryConfig: { retries: 0 } },
    // Each second, so canary steps and measurements move as soon as they are due.
    reconcileEvery: '* * * * * *',
  });
  const appUrl = `http://127.0.0.1:${await shipmate.start()}`;
  const views = new PersonalViews(emulator);
  let requests = 0;

  const post = async (body: string, contentType: string) => {
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await fetch(`${appUrl}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': sign(signingSecret, body, timestamp) },
      body,
    });
    const text = await response.text();
    return { status: response.status, text };
  };
  const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const trigger = (user: string) => `${++requests}.${user}.${randomBytes(4).toString('hex')}`;
  const responseUrl = (user: string, channel: string) => `${emulator.url}/response/${user}/${channel}/${requests}`;
  const userOf = (id: unknown) => PLAYGROUND_USERS.find((u) => u.id === id) ?? PLAYGROUND_USERS[0]!;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', pageUrl);
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(options.page);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/metrics/error-rate') {
      const { status, body } = demoMetric(url);
      return sendJson(res, status, body);
    }
    if (req.method === 'GET' && url.pathname.startsWith('/api/files/')) {
      const file = emulator.uploadedFiles.get(url.pathname.slice('/api/files/'.length));
      if (!file) return sendJson(res, 404, { error: 'no such file' });
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(file.bytes);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/state') return sendJson(res, 200, state(userOf(url.searchParams.get('user')).id));
    if (req.method !== 'POST') return sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    const body = await json(req);
    const user = userOf(body.user);
    const channel = String(body.channel ?? PLAYGROUND_CHANNELS[0]!.id);
    const channelName = PLAYGROUND_CHANNELS.find((c) => c.id === channel)?.name ?? channel;
    switch (url.pathname) {
      case '/api/command': {
        const [command = '', ...rest] = String(body.text ?? '').trim().split(/\s+/);
        if (!command.startsWith('/')) return sendJson(res, 400, { error: 'a slash command starts with /, e.g. /deploy help' });
        const triggerId = trigger(user.id);
        const params = new URLSearchParams({
          token: 'playground',
          team_id: 'T0PLAY',
          team_domain: 'playground',
          channel_id: channel,
          channel_name: channelName.replace(/^#/, ''),
          user_id: user.id,
          user_name: user.name,
          command,
          text: rest.join(' '),
          api_app_id: 'A0SHIPMATE',
          response_url: responseUrl(user.id, channel),
          trigger_id: triggerId,
        });
        const answer = await post(params.toString(), 'application/x-www-form-urlencoded');
        // The ack's own text is the first answer the person sees.
        if (answer.text) {
          const ack = JSON.parse(answer.text) as { text?: string; blocks?: unknown };
          const mine = views.ephemerals.get(user.id) ?? new Map<string, Ephemeral>();
          mine.set(`ack.${requests}`, { channel, text: ack.text, blocks: ack.blocks, ts: String(Date.now() / 1000) });
          views.ephemerals.set(user.id, mine);
        }
        return sendJson(res, 200, { ok: answer.status === 200 });
      }
      case '/api/action': {
        const container = String(body.container ?? 'message');
        const action = { action_id: String(body.actionId), block_id: 'actions', value: String(body.value ?? ''), type: 'button', action_ts: String(Date.now() / 1000) };
        const modal = views.modals.get(user.id);
        const payload = {
          type: 'block_actions',
          user: { id: user.id, username: user.name, name: user.name, team_id: 'T0PLAY' },
          api_app_id: 'A0SHIPMATE',
          token: 'playground',
          trigger_id: trigger(user.id),
          team: { id: 'T0PLAY', domain: 'playground' },
          ...(container === 'home'
            ? { container: { type: 'view', view_id: 'VHOME' }, view: { id: 'VHOME', type: 'home', ...(views.homes.get(user.id) as object) } }
            : container === 'modal' && modal
              ? { container: { type: 'view', view_id: modal.id }, view: { id: modal.id, ...modal.view } }
              : {
                  container: { type: 'message', message_ts: String(body.ts), channel_id: channel, is_ephemeral: false },
                  channel: { id: channel, name: channelName },
                  message: { type: 'message', ts: String(body.ts), bot_id: 'B0BOT' },
                  response_url: responseUrl(user.id, channel),
                }),
          state: { values: {} },
          actions: [action],
        };
        const answer = await post(form(payload), 'application/x-www-form-urlencoded');
        return sendJson(res, 200, { ok: answer.status === 200 });
      }
      case '/api/view': {
        const modal = views.modals.get(user.id);
        if (!modal) return sendJson(res, 404, { ok: false, error: 'no modal is open' });
        const values = Object.fromEntries(
          Object.entries((body.values ?? {}) as Record<string, Record<string, string>>).map(([block, actions]) => [
            block,
            Object.fromEntries(Object.entries(actions).map(([id, value]) => [id, { type: 'plain_text_input', value }])),
          ]),
        );
        const payload = {
          type: 'view_submission',
          team: { id: 'T0PLAY', domain: 'playground' },
          user: { id: user.id, username: user.name, name: user.name, team_id: 'T0PLAY' },
          api_app_id: 'A0SHIPMATE',
          token: 'playground',
          trigger_id: trigger(user.id),
          view: { id: modal.id, ...modal.view, state: { values } },
        };
        const answer = await post(form(payload), 'application/x-www-form-urlencoded');
        const ack = answer.text ? (JSON.parse(answer.text) as { response_action?: string; errors?: Record<string, string> }) : {};
        if (ack.response_action === 'errors') return sendJson(res, 200, { ok: false, errors: ack.errors });
        views.modals.delete(user.id);
        return sendJson(res, 200, { ok: answer.status === 200 });
      }
      case '/api/modal/close':
        views.modals.delete(user.id);
        return sendJson(res, 200, { ok: true });
      case '/api/message': {
        const text = String(body.text ?? '');
        const threadTs = body.thread_ts ? String(body.thread_ts) : undefined;
        const ts = emulator.postAs(user.id, channel, text, threadTs);
        if (/@shipmate|<@U0BOT>/i.test(text)) {
          const event = { type: 'app_mention', user: user.id, text: text.replace(/@shipmate/gi, '<@U0BOT>'), ts, channel, event_ts: ts, ...(threadTs ? { thread_ts: threadTs } : {}) };
          await post(JSON.stringify({ token: 'playground', team_id: 'T0PLAY', api_app_id: 'A0SHIPMATE', event, type: 'event_callback', event_id: `Ev${requests++}`, event_time: Math.floor(Date.now() / 1000), authorizations: [{ team_id: 'T0PLAY', user_id: 'U0BOT', is_bot: true }] }), 'application/json');
        }
        return sendJson(res, 200, { ok: true, ts });
      }
      case '/api/incident': {
        // As Alertmanager would send it for a Sloth page alert of the service.
        const service = String(body.service ?? 'web');
        const alert = {
          status: 'firing',
          labels: { alertname: `${service}-availability-burn`, service, sloth_slo: 'availability', sloth_severity: 'page' },
          annotations: { summary: `${service} burns its error budget 20× too fast (simulated from the playground)`, runbook_url: 'https://example.com/runbooks/availability' },
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          fingerprint: randomBytes(8).toString('hex'),
        };
        const answer = await fetch(`${appUrl}/alerts/alertmanager`, {
          method: 'POST',
          headers: { authorization: `Bearer ${alertmanagerToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ version: '4', status: 'firing', receiver: 'shipmate', alerts: [alert] }),
        });
        return sendJson(res, 200, { ok: answer.ok });
      }
      default:
        return sendJson(res, 404, { error: `no route POST ${url.pathname}` });
    }
  }

  const homeOpened = new Set<string>();
  /** App Home is drawn when a person opens it; the page shows it from the start. */
  const openHome = (user: string) => {
    if (homeOpened.has(user)) return;
    homeOpened.add(user);
    const event = { type: 'app_home_opened', user, channel: `D${user.slice(1)}`, tab: 'home', event_ts: String(Date.now() / 1000) };
    void post(JSON.stringify({ token: 'playground', team_id: 'T0PLAY', api_app_id: 'A0SHIPMATE', event, type: 'event_callback', event_id: `EvHome${user}`, event_time: Math.floor(Date.now() / 1000), authorizations: [{ team_id: 'T0PLAY', user_id: 'U0BOT', is_bot: true }] }), 'application/json');
  };

  function state(user: string) {
    openHome(user);
    views.update();
    const channels = [...PLAYGROUND_CHANNELS, { id: user, name: 'shipmate (direct messages)' }];
    const messages = Object.fromEntries(
      channels.map((c) => [
        c.id,
        (emulator.channels.get(c.id) ?? []).map((m) => ({
          ts: m.ts,
          text: m.text,
          blocks: m.blocks,
          ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
          ...(m.user ? { user: m.user } : {}),
          ...(m.files ? { files: m.files.map((f) => ({ id: f.id, title: f.title, url: `/api/files/${f.id}` })) } : {}),
        })),
      ]),
    );
    const modal = views.modals.get(user);
    const home = views.homes.get(user);
    return {
      users: PLAYGROUND_USERS,
      channels,
      services: ['web', 'api', 'worker'],
      messages,
      ephemerals: [...(views.ephemerals.get(user)?.values() ?? [])],
      modal: modal ? { id: modal.id, view: modal.view } : null,
      home: home ? { view: home } : null,
    };
  }

  return {
    url: pageUrl,
    shipmate,
    emulator,
    async stop() {
      await shipmate.stop();
      await new Promise((r) => server.close(r));
      await emulator.stop();
    },
  };
}
