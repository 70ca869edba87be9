import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { signalAndWait, startShipmateProcess } from '../support/run-process';
import { SlackEmulator } from '../support/slack-emulator';
import { blockActionsBody, sentButtonValue, postSigned, SIGNING_SECRET, slashCommandBody } from '../support/slack-requests';
import { WebhookTarget } from '../support/webhook-target';

const BOT_TOKEN = 'xoxb-1-2-restarttoken';
const CHANNEL = 'C0DEPLOYS';

/**
 * Kills a real Shipmate process (SIGKILL: no clean-up of any kind) at chosen points of a deploy,
 * starts it again on the same database, and checks that the world saw every step once.
 */
describe('killing Shipmate mid-deploy and starting it again', () => {
  let dir: string;
  let emulator: SlackEmulator;
  let target: WebhookTarget;
  let child: ChildProcess | undefined;
  let unblock: () => void;
  let blocked: Promise<void>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shipmate-restart-'));
    emulator = await new SlackEmulator(BOT_TOKEN).start();
    target = await new WebhookTarget().start();
    blocked = new Promise((resolve) => (unblock = resolve));
    writeFileSync(
      join(dir, 'shipmate.yml'),
      `defaults: { channel: ${CHANNEL} }
services:
  api:
    environments:
      prod:
        deploy: { type: webhook, url: "${target.url}", secret: "restart-secret-0123456789" }
      audited:
        deploy: { type: webhook, url: "${target.url}", secret: "restart-secret-0123456789" }
        approval: { required: 2, approvers: { users: [U0BOBBY, U0CAROL] } }
`,
    );
  });
  afterEach(async () => {
    child?.kill('SIGKILL');
    unblock();
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

  const deploy = (url: string) => postSigned(url, slashCommandBody('api@2.0.0 to prod'));
  /** The last thing a deploy does: edit its message to Succeeded, then reply in the thread. */
  const succeeded = async () => {
    await emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
    await emulator.waitFor('chat.postMessage', (a) => a.thread_ts !== undefined);
  };
  const dbRow = () => {
    const db = new Database(join(dir, 'shipmate.db'), { readonly: true });
    try {
      return db.prepare('SELECT status, version FROM deployments').all();
    } finally {
      db.close();
    }
  };

  function expectSeenOnce(): void {
    const top = emulator.messagesIn(CHANNEL);
    expect(top).toHaveLength(1);
    expect(top[0]!.text).toBe('api 2.0.0 → prod: Succeeded');
    const replies = emulator.repliesTo(CHANNEL, top[0]!.ts);
    expect(replies).toHaveLength(1);
    expect(String(replies[0]!.text)).toContain('api 2.0.0 is live in prod');
    expect(dbRow()).toEqual([{ status: 'succeeded', version: '2.0.0' }]);
  }

  it('retries a deploy call cut off by the crash with the same idempotency key', async () => {
    const release = target.hold();
    await deploy(await start());
    await target.arrived(1);
    await kill();

    await start();
    await target.arrived(2);
    release();
    await succeeded();
    const keys = target.received.map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual(['deploy:1:deploy', 'deploy:1:deploy']);
    expectSeenOnce();
  });

  it('finds the deploy message Slack received before the crash instead of posting it again', async () => {
    emulator.holdNext('chat.postMessage', blocked, (a) => !a.thread_ts);
    await deploy(await start());
    await emulator.waitFor('chat.postMessage');
    await kill();

    await start();
    await succeeded();
    expect(emulator.callsTo('conversations.history')).toHaveLength(1);
    expectSeenOnce();
  });

  it('finds a thread reply Slack received before the crash instead of replying twice', async () => {
    emulator.holdNext('chat.postMessage', blocked, (a) => a.thread_ts !== undefined);
    await deploy(await start());
    await emulator.waitFor('chat.postMessage', (a) => a.thread_ts !== undefined);
    await kill();

    await start();
    await emulator.waitFor('conversations.replies');
    await succeeded();
    // The update to Succeeded happened before the reply; after the restart only the reply was due.
    expect(emulator.callsTo('chat.postMessage').filter((c) => c.args.thread_ts)).toHaveLength(1);
    expectSeenOnce();
  });

  it('keeps an approval given before the crash and deploys on the next one', async () => {
    let url = await start();
    await postSigned(url, slashCommandBody('api@2.0.0 to audited'));
    await emulator.waitFor('chat.postMessage');
    await postSigned(url, blockActionsBody('deploy_approve', sentButtonValue(emulator.calls, 'deploy_approve', '1'), { userId: 'U0BOBBY', responseBase: emulator.url }));
    await emulator.waitFor('chat.update', (a) => JSON.stringify(a.blocks).includes('1 more needed'));
    await kill();

    url = await start();
    await postSigned(url, blockActionsBody('deploy_approve', sentButtonValue(emulator.calls, 'deploy_approve', '1'), { userId: 'U0CAROL', responseBase: emulator.url }));
    await emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
    const card = emulator.messagesIn(CHANNEL)[0]!;
    expect(JSON.stringify(card.blocks)).toMatch(/Approved by <@U0BOBBY> \(.*\), <@U0CAROL> \(/);
    expect(target.received).toHaveLength(1);
  });
});
