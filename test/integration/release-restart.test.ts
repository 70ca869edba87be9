import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { signalAndWait, startShipmateProcess } from '../support/run-process';
import { SlackEmulator } from '../support/slack-emulator';
import { postSigned, SIGNING_SECRET, slashCommandBody } from '../support/slack-requests';
import { WebhookTarget } from '../support/webhook-target';

const BOT_TOKEN = 'xoxb-1-2-releaserestart';
/** Where /release is typed (the slash command fixture's channel): the release card lives here. */
const RELEASES = 'C0DEPLOYS';
/** Where every service's deploy messages go. */
const SERVICES = 'C0SERVICES';

type Args = Record<string, unknown>;
const releaseCard = (a: Args) => a.channel === RELEASES && !a.thread_ts;
const releaseReply = (a: Args) => a.channel === RELEASES && a.thread_ts !== undefined;
const showsSucceeded = (service: string) => (a: Args) => a.channel === RELEASES && JSON.stringify(a.blocks).includes(`:white_check_mark: *${service}*`);
const isLive = (service: string, version: string) => (a: Args) => a.channel === SERVICES && String(a.text).startsWith(`${service} ${version} is live in prod`);

/**
 * Kills a real Shipmate process (SIGKILL: no clean-up of any kind) at chosen points of a
 * multi-service release, starts it again on the same database each time, and checks that the
 * deploy target and Slack saw every step once and in order.
 */
describe('killing Shipmate during a release and starting it again', () => {
  let dir: string;
  let emulator: SlackEmulator;
  let target: WebhookTarget;
  let child: ChildProcess | undefined;
  let unblock: () => void;
  let blocked: Promise<void>;
  const gates: (() => void)[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shipmate-release-restart-'));
    emulator = await new SlackEmulator(BOT_TOKEN).start();
    target = await new WebhookTarget().start();
    blocked = new Promise((resolve) => (unblock = resolve));
    const hook = `{ type: webhook, url: "${target.url}", secret: "release-restart-secret-0123456789" }`;
    writeFileSync(
      join(dir, 'shipmate.yml'),
      `defaults: { channel: ${SERVICES} }
services:
  db:
    environments: { prod: { deploy: ${hook} } }
  api:
    dependsOn: [db]
    environments: { prod: { deploy: ${hook} } }
  web:
    dependsOn: [api]
    environments: { prod: { deploy: ${hook} } }
`,
    );
  });
  afterEach(async () => {
    child?.kill('SIGKILL');
    unblock();
    gates.splice(0).forEach((open) => open());
    await emulator.stop();
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<string> {
    const started = await startShipmateProcess({ dir, botToken: BOT_TOKEN, slackApiUrl: emulator.apiUrl, signingSecret: SIGNING_SECRET });
    child = started.child;
    return started.url;
  }

  async function kill(): Promise<void> {
    await signalAndWait(child!, 'SIGKILL');
    child = undefined;
  }

  /** SIGTERM: Shipmate finishes what it is doing, then exits. */
  async function stop(): Promise<void> {
    await signalAndWait(child!, 'SIGTERM');
    child = undefined;
  }

  /** Holds deploy calls at the target until the returned function is called. */
  function holdDeploys(): () => void {
    const open = target.hold();
    gates.push(open);
    return open;
  }

  const release = async (url: string, text: string) => {
    const response = await postSigned(url, slashCommandBody(text, { command: '/release', responseBase: emulator.url }));
    return (response.json as { text: string }).text;
  };

  /** Reads the database of a process that is not running. */
  function query<T>(sql: string): T[] {
    const db = new Database(join(dir, 'shipmate.db'), { readonly: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }

  const calls = () => target.received.map((r) => ({ service: JSON.parse(r.body).service as string, key: r.headers['idempotency-key'] as string }));

  /** What a finished release must have left behind, whatever happened on the way. */
  function expectDeployedOnceInOrder(name: string, services: [string, string][]): void {
    // Each service got one idempotency key, the one of its deploy; retries after a crash reuse it.
    const keys = new Map<string, Set<string>>();
    for (const c of calls()) keys.set(c.service, new Set([...(keys.get(c.service) ?? []), c.key]));
    expect([...keys].map(([s, k]) => [s, [...k]])).toEqual(services.map(([s], i) => [s, [`deploy:${i + 1}:deploy`]]));
    // Waves in order: every call of a wave came after every call of the wave before.
    const order = calls().map((c) => c.service).filter((s, i, all) => s !== all[i - 1]);
    expect(order).toEqual(services.map(([s]) => s));

    expect(query('SELECT id, service, version, status, release_id, request_key FROM deployments ORDER BY id')).toEqual(
      services.map(([service, version], i) => ({ id: i + 1, service, version, status: 'succeeded', release_id: 1, request_key: `release:1:${service}` })),
    );
    const [row] = query<{ name: string; status: string; results: string }>('SELECT name, status, results FROM releases');
    expect(row).toMatchObject({ name, status: 'succeeded' });
    expect(JSON.parse(row!.results)).toEqual(Object.fromEntries(services.map(([s], i) => [s, { status: 'succeeded', deploymentId: i + 1 }])));
    expect(query("SELECT idempotency_key, status, last_error FROM effects WHERE status != 'done'")).toEqual([]);
    expect(query<{ action: string; n: number }>("SELECT action, COUNT(*) AS n FROM audit_log WHERE action LIKE 'release.%' OR action = 'deploy.requested' GROUP BY action ORDER BY action")).toEqual([
      { action: 'deploy.requested', n: services.length },
      { action: 'release.created', n: 1 },
      { action: 'release.started', n: 1 },
      { action: 'release.succeeded', n: 1 },
    ]);

    // Slack: one release card with one reply; one card per deploy, each with one reply.
    const cards = emulator.messagesIn(RELEASES);
    expect(cards.map((m) => m.text)).toEqual([`Release ${name} → prod: Succeeded`]);
    expect(emulator.repliesTo(RELEASES, cards[0]!.ts).map((m) => m.text)).toEqual([`Release ${name} is out: every service is live in prod.`]);
    const deployCards = emulator.messagesIn(SERVICES);
    expect(deployCards.map((m) => m.text)).toEqual(services.map(([s, v]) => `${s} ${v} → prod: Succeeded`));
    for (const [i, card] of deployCards.entries()) {
      const [service, version] = services[i]!;
      expect(emulator.repliesTo(SERVICES, card.ts).map((m) => String(m.text).replace(/ \(took .*$/, ''))).toEqual([`${service} ${version} is live in prod`]);
    }
  }

  it('killed in wave 1\'s deploy call, between waves, and while announcing success: every service deploys once, wave by wave', async () => {
    const services: [string, string][] = [['db', '7.1.0'], ['api', '1.4.2'], ['web', '3.0.0']];
    // 1. While wave 1's deploy call is in flight.
    let releaseDeploys = holdDeploys();
    let url = await start();
    expect(await release(url, 'create train web@3.0.0 api@1.4.2 db@7.1.0 to prod')).toBe(
      'Release train (#1) to prod. It starts now.\nWave 1: db 7.1.0\nWave 2: api 1.4.2\nWave 3: web 3.0.0',
    );
    await target.arrived(1);
    await kill();
    expect(query('SELECT service, status FROM deployments')).toEqual([{ service: 'db', status: 'deploying' }]);

    url = await start();
    await target.arrived(2); // the same call again, with the same key
    expect(calls().map((c) => c.key)).toEqual(['deploy:1:deploy', 'deploy:1:deploy']);

    // 2. Between waves: db answered; the release card is being updated to show it (Slack never answers).
    // db's success and the release's move to wave 2 are one transaction, and the wave effect runs at
    // once in the work lane, so by the kill wave 2 has usually been requested too and api's call waits
    // at the target; either way the restart must neither lose nor repeat it.
    emulator.holdNext('chat.update', blocked, showsSucceeded('db'));
    releaseDeploys();
    releaseDeploys = holdDeploys(); // wave 2's call, if it gets that far, waits
    await emulator.waitFor('chat.update', showsSucceeded('db'));
    await kill();
    expect(query("SELECT service, status FROM deployments WHERE service = 'db'")).toEqual([{ service: 'db', status: 'succeeded' }]);
    expect(query<{ status: string }>('SELECT status FROM releases')[0]!.status).toBe('running');

    const before = target.received.length;
    url = await start();
    await target.arrived(before + 1);
    expect(calls()[before]!.service).toBe('api');

    // 3. While the release's success reply is in flight (Slack took it, the process never heard back).
    emulator.holdNext('chat.postMessage', blocked, releaseReply);
    releaseDeploys();
    await emulator.waitFor('chat.postMessage', releaseReply);
    await kill();

    const history = emulator.callsTo('conversations.replies').length;
    url = await start();
    await emulator.waitFor('conversations.replies', (a) => a.channel === RELEASES);
    for (const [service, version] of services) await emulator.waitFor('chat.postMessage', isLive(service, version));
    await stop();

    expect(emulator.callsTo('conversations.replies').length).toBeGreaterThan(history);
    expect(emulator.callsTo('chat.postMessage').filter((c) => releaseReply(c.args))).toHaveLength(1);
    expectDeployedOnceInOrder('train', services);
  }, 60_000);

  it('killed while the release card is being posted: the card is found, not posted again', async () => {
    const services: [string, string][] = [['db', '7.1.0'], ['api', '1.4.2']];
    emulator.holdNext('chat.postMessage', blocked, releaseCard);
    const releaseDeploys = holdDeploys();
    const url = await start();
    await release(url, 'create hotfix db@7.1.0 api@1.4.2 to prod');
    await emulator.waitFor('chat.postMessage', releaseCard);
    await target.arrived(1);
    await kill();

    await start();
    await emulator.waitFor('conversations.history', (a) => a.channel === RELEASES);
    releaseDeploys();
    await emulator.waitFor('chat.postMessage', releaseReply);
    for (const [service, version] of services) await emulator.waitFor('chat.postMessage', isLive(service, version));
    await stop();

    expect(emulator.callsTo('chat.postMessage').filter((c) => releaseCard(c.args))).toHaveLength(1);
    expectDeployedOnceInOrder('hotfix', services);
  }, 60_000);

  it('killed while a scheduled release waits for its time: the timer survives and starts it once', async () => {
    const services: [string, string][] = [['db', '7.1.0'], ['api', '1.4.2']];
    // The child runs on the real clock: a time a few seconds ahead, no sleeping here. The restart
    // takes part of it; the reconciler tick (every 5 s) fires the timer once it is due.
    emulator.holdNext('chat.postMessage', blocked, releaseCard);
    const url = await start();
    const at = new Date(Date.now() + 4_000);
    expect(await release(url, `create nightly db@7.1.0 api@1.4.2 to prod at ${at.toISOString()}`)).toContain(`It starts at ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC.`);
    await emulator.waitFor('chat.postMessage', releaseCard);
    await kill();
    expect(query('SELECT status FROM releases')).toEqual([{ status: 'scheduled' }]);
    expect(query("SELECT idempotency_key, not_before FROM effects WHERE lane = 'timer' AND status = 'pending'")).toEqual([
      { idempotency_key: 'release:1:timer.start', not_before: at.toISOString() },
    ]);
    expect(target.received).toEqual([]);

    await start();
    await target.arrived(2);
    await emulator.waitFor('chat.postMessage', releaseReply);
    for (const [service, version] of services) await emulator.waitFor('chat.postMessage', isLive(service, version));
    await stop();

    expect(target.received).toHaveLength(2);
    const [row] = query<{ started_at: string; scheduled_for: string }>('SELECT started_at, scheduled_for FROM releases');
    expect(new Date(row!.started_at).getTime()).toBeGreaterThanOrEqual(at.getTime());
    expect(row!.scheduled_for).toBe(at.toISOString());
    expect(emulator.callsTo('chat.postMessage').filter((c) => releaseCard(c.args))).toHaveLength(1);
    expectDeployedOnceInOrder('nightly', services);
  }, 60_000);
});
