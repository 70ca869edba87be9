import { LogLevel, WebClient } from '@slack/web-api';
import type { ThreadChart } from '../../flows/messages';
import { ExternalServiceError } from '../../src/core/errors';
import type { QueuedEffect } from '../../src/core/ports';
import { createButtonSigner } from '../../src/slack/button-signing';
import { createSlackMessenger } from '../../src/slack/slack-messenger';
import { migrate, openDatabase } from '../../src/store/database';
import { createSqliteMessageStore, type MessageStore } from '../../src/store/sqlite-message-store';
import { createMetrics } from '../../src/telemetry/metrics';
import { ManualClock } from '../support/manual-clock';
import { SlackEmulator } from '../support/slack-emulator';

const CHANNEL = 'C0DEPLOYS';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 10, minute)).toISOString();

const chart: ThreadChart = {
  messageKey: 'deploy:7',
  title: 'api 1.4.2 canary in prod: checkout-health',
  filename: 'canary-api-1.4.2.png',
  comment: 'Canary passed: error rate 0.4% against 0.5% on the baseline.',
  series: [{ name: 'error rate', canary: [0.004, 0.005, 0.003].map((value, i) => ({ at: at(i * 5), value })), baseline: [0.005, 0.005, 0.006].map((value, i) => ({ at: at(i * 5), value })) }],
};

const effect = (step: string, attempts = 0): QueuedEffect => ({
  id: 1,
  flowId: 'deploy-7',
  idempotencyKey: `deploy-7:${step}`,
  step,
  lane: 'slack',
  type: 'message.chart',
  payload: chart,
  attempts,
});

describe('a canary chart uploaded into the deploy card thread', () => {
  let emulator: SlackEmulator;
  let messages: MessageStore;
  let handleChart: (e: QueuedEffect) => Promise<unknown>;
  let parentTs: string;

  beforeEach(async () => {
    emulator = await new SlackEmulator().start();
    // As main.ts builds it: the outbox does the retrying, not the client.
    const client = new WebClient('xoxb-test-token', { slackApiUrl: emulator.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logLevel: LogLevel.ERROR });
    const clock = new ManualClock();
    const db = openDatabase(':memory:');
    migrate(db, undefined, clock.now());
    messages = createSqliteMessageStore(db);
    const handlers = createSlackMessenger({ client, messages, clock: clock.now, metrics: createMetrics(), signer: createButtonSigner(Buffer.alloc(32)) });
    handleChart = handlers['message.chart']!;
    const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'Deploying api 1.4.2 to prod' });
    parentTs = parent.ts!;
    messages.put(chart.messageKey, { channel: CHANNEL, ts: parentTs }, clock.now());
  });

  afterEach(() => emulator.stop());

  const filesInThread = () => emulator.repliesTo(CHANNEL, parentTs).filter((m) => m.files?.length);

  it('sends the PNG to the upload URL and shares it in the thread with the comment', async () => {
    await handleChart(effect('canary-chart:1'));

    const [file, ...more] = [...emulator.uploadedFiles.values()];
    expect(more).toEqual([]);
    expect(file!.bytes.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(file!.filename).toBe('canary-api-1.4.2.png');
    const [asked] = emulator.callsTo('files.getUploadURLExternal');
    expect(asked!.args).toMatchObject({ filename: 'canary-api-1.4.2.png', length: String(file!.bytes.length) });

    const [completed] = emulator.callsTo('files.completeUploadExternal');
    expect(completed!.args).toMatchObject({ channel_id: CHANNEL, thread_ts: parentTs, initial_comment: chart.comment });
    const [shared] = filesInThread();
    expect(shared).toMatchObject({ text: chart.comment, files: [{ title: expect.stringContaining(chart.title), name: 'canary-api-1.4.2.png', mimetype: 'image/png' }] });
  });

  it('after a crash once the file was shared, does not upload it again', async () => {
    let release!: () => void;
    // Slack shares the file, but the process dies before the answer arrives.
    emulator.holdNext('files.completeUploadExternal', new Promise((resolve) => (release = resolve)));
    const first = handleChart(effect('canary-chart:1'));
    await emulator.waitFor('files.completeUploadExternal');

    try {
      await handleChart(effect('canary-chart:1', 1));
      expect(emulator.callsTo('files.getUploadURLExternal')).toHaveLength(1);
      expect(emulator.uploadedFiles.size).toBe(1);
      expect(filesInThread()).toHaveLength(1);
    } finally {
      release();
      await first;
    }
  });

  it('after a failure before the share, uploads it on the next try', async () => {
    emulator.failNext('files.completeUploadExternal', { body: { ok: false, error: 'internal_error' } });
    const failed = handleChart(effect('canary-chart:1'));
    await expect(failed).rejects.toBeInstanceOf(ExternalServiceError);
    await expect(failed).rejects.toMatchObject({ retryable: true });
    expect(filesInThread()).toHaveLength(0);

    await handleChart(effect('canary-chart:1', 1));
    expect(emulator.callsTo('files.getUploadURLExternal')).toHaveLength(2);
    expect(filesInThread()).toHaveLength(1);
  });

  it('tells a retried chart from an earlier one of the same title in the thread', async () => {
    await handleChart(effect('canary-chart:1'));
    await handleChart(effect('canary-chart:2', 1));
    expect(filesInThread()).toHaveLength(2);
  });

  it('refuses a chart for a message that was never posted', async () => {
    await expect(handleChart({ ...effect('canary-chart:1'), payload: { ...chart, messageKey: 'deploy:8' } })).rejects.toMatchObject({ retryable: false });
    expect(emulator.callsTo('files.getUploadURLExternal')).toHaveLength(0);
  });
});
