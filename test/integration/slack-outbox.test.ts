import { METADATA_EVENT_TYPE } from '../../src/slack/slack-messenger';
import { startHarness, type Harness } from '../support/harness';
import type { StoredMessage } from '../support/slack-emulator';
import { WebhookTarget } from '../support/webhook-target';

/**
 * Slack failing on purpose: 5xx, an answer that never comes, an outage across a restart. Every
 * message still reaches the channel exactly once, and a thread's replies arrive in the order the
 * deploy produced them.
 */

const config = (target: WebhookTarget) => `
defaults: { channel: C0DEPLOYS }
services:
  api:
    environments:
      staging: { deploy: { type: webhook, url: "${target.url}", secret: "outbox-secret-0123456789" } }
  web:
    environments:
      staging: { deploy: { type: webhook, url: "${target.url}", secret: "outbox-secret-0123456789" } }
`;

const EDGE_503 = { status: 503, body: 'upstream connect error or disconnect/reset before headers' };
const EDGE_500 = { status: 500, body: 'Internal Server Error' };

describe('the outbox when Slack misbehaves', () => {
  let target: WebhookTarget;
  let h: Harness;
  beforeEach(async () => {
    target = await new WebhookTarget().start();
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
  });

  const keyOf = (m: StoredMessage) => (m.metadata as { event_type?: string; event_payload?: { message_key?: string } } | undefined)?.event_payload?.message_key;
  const cards = () => h.emulator.messagesIn('C0DEPLOYS');
  /** The keys of the thread replies each flow queued, in the order it queued them. */
  const queuedReplies = (deploymentId: number) =>
    h.shipmate.db.prepare("SELECT idempotency_key FROM effects WHERE type = 'message.reply' AND flow_id = ? ORDER BY id").pluck().all(`deploy:${deploymentId}`);
  const delivered = (card: StoredMessage) => h.emulator.repliesTo('C0DEPLOYS', card.ts).map(keyOf);
  /** The thread holds every reply its deploy queued, each once, in the order queued. */
  const expectThread = (card: StoredMessage, deploymentId: number) => {
    expect(queuedReplies(deploymentId).length).toBeGreaterThan(0);
    expect(delivered(card)).toEqual(queuedReplies(deploymentId));
  };
  /** Lets every backoff pass, as many times as it takes, until nothing is left to send. */
  async function drain() {
    for (let i = 0; i < 20; i++) {
      await h.settle();
      const left = h.shipmate.db.prepare("SELECT COUNT(*) FROM effects WHERE status = 'pending' AND lane = 'slack'").pluck().get();
      if (left === 0) return;
      h.clock.advance(300_000);
      h.shipmate.tick();
    }
    throw new Error('messages still undelivered');
  }

  it('retries 5xx answers to posts, edits and thread replies with backoff and delivers each once, in order', async () => {
    h = await startHarness(config(target));
    h.emulator.failNext('chat.postMessage', EDGE_503);
    h.emulator.failNext('chat.postMessage', EDGE_500);
    h.emulator.failNext('chat.update', EDGE_503);
    await h.command('api@1.4.2 to staging');
    await h.settle();
    expect(cards()).toHaveLength(0); // still backing off
    await drain();

    expect(cards()).toHaveLength(1);
    expect(cards()[0]!.text).toBe('api 1.4.2 → staging: Succeeded');
    expect(h.emulator.callsTo('chat.update').map((c) => c.args.text)).toEqual([
      'api 1.4.2 → staging: Deploying', // refused with a 503
      'api 1.4.2 → staging: Deploying',
      'api 1.4.2 → staging: Succeeded',
    ]);
    expectThread(cards()[0]!, 1);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/shipmate_slack_api_errors_total\{method="chat.postMessage",error="[^"]+"\} 2/);
  });

  it('keeps a thread in order when one of its replies fails several times, and loses no other deploy’s messages', async () => {
    h = await startHarness(config(target));
    await h.command('api@1.4.2 to staging');
    for (let i = 0; i < 4; i++) h.emulator.failNext('chat.postMessage', EDGE_503);
    await h.command('web@2.0.0 to staging');
    await drain();

    const [api, web] = [cards().find((c) => String(c.text).startsWith('api'))!, cards().find((c) => String(c.text).startsWith('web'))!];
    expect(cards()).toHaveLength(2);
    expectThread(api, 1);
    expectThread(web, 2);
    const everyKey = [...delivered(api), ...delivered(web)];
    expect(new Set(everyKey).size).toBe(everyKey.length);
  });

  it('does not post twice when Slack took a message but its answer never came', async () => {
    h = await startHarness(config(target), {}, { clientOptions: { timeout: 200 } });
    let release!: () => void;
    h.emulator.holdNext('chat.postMessage', new Promise<void>((resolve) => (release = resolve)), (a) => !a.thread_ts);
    await h.command('api@1.4.2 to staging');
    await h.emulator.waitFor('chat.postMessage');
    await h.settle(); // the client gave up after 200 ms: the try failed as far as Shipmate knows
    release();
    await drain();

    expect(h.emulator.callsTo('chat.postMessage').filter((c) => !c.args.thread_ts)).toHaveLength(1);
    expect(h.emulator.callsTo('conversations.history').length).toBeGreaterThan(0); // how the retry found it
    expect(cards()).toHaveLength(1);
    expect(keyOf(cards()[0]!)).toBe('deploy:1');
    expect((cards()[0]!.metadata as { event_type: string }).event_type).toBe(METADATA_EVENT_TYPE);
    expect(cards()[0]!.text).toBe('api 1.4.2 → staging: Succeeded');
    expectThread(cards()[0]!, 1);
  });

  it('delivers, after a restart, what Slack refused before it, once and in order', async () => {
    h = await startHarness(config(target));
    for (const method of ['chat.postMessage', 'chat.update', 'conversations.history', 'conversations.replies']) {
      for (let i = 0; i < 30; i++) h.emulator.failNext(method, EDGE_503);
    }
    await h.command('api@1.4.2 to staging');
    await h.settle();
    expect(target.received).toHaveLength(1); // the deploy went on without Slack
    expect(cards()).toHaveLength(0);
    const pendingBefore = h.shipmate.db.prepare("SELECT COUNT(*) FROM effects WHERE status = 'pending' AND lane = 'slack'").pluck().get();
    expect(pendingBefore).toBeGreaterThan(0);

    await h.restart();
    h.emulator.clearFailures();
    h.shipmate.tick();
    await drain();

    expect(cards()).toHaveLength(1);
    expect(cards()[0]!.text).toBe('api 1.4.2 → staging: Succeeded');
    expectThread(cards()[0]!, 1);
    expect(target.received).toHaveLength(1); // the restart did not deploy again
  });
});
