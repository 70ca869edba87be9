import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { WebClientOptions } from '@slack/web-api';
import { loadShipmateConfig } from '../../src/config/load-shipmate-config';
import { loadSettings } from '../../src/config/settings';
import { createShipmate, type Shipmate } from '../../src/main';
import { createLogger } from '../../src/telemetry/logger';
import { ManualClock } from './manual-clock';
import { SlackEmulator } from './slack-emulator';
import { blockActionsBody, postSigned, sentButtonValue, SIGNING_SECRET, slashCommandBody, viewSubmissionBody } from './slack-requests';

export const BOT_TOKEN = 'xoxb-111-222-harnesstoken';

export interface Harness {
  url: string;
  dir: string;
  emulator: SlackEmulator;
  shipmate: Shipmate;
  clock: ManualClock;
  logs: string[];
  command(text: string, overrides?: Record<string, string>): ReturnType<typeof postSigned>;
  /** Clicks the button Shipmate sent with this action ID and (unsigned) value. */
  click(actionId: string, value: string, overrides?: { userId?: string; triggerId?: string }): ReturnType<typeof postSigned>;
  submit(...args: Parameters<typeof viewSubmissionBody>): ReturnType<typeof postSigned>;
  /** Waits until the worker is idle and nothing but timers is pending: follow-up work included. */
  settle(): Promise<void>;
  /** Stops Shipmate and starts a new one on the same database, config, clock and Slack emulator. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The real Bolt app over HTTP on a random port, its Web API pointed at a local emulator, state in a
 * real SQLite file in a temporary folder. The config is written as shipmate.yml; as a function it
 * gets that folder, for paths the test wants to read afterwards.
 */
export async function startHarness(
  configYaml: string | ((dir: string) => string),
  env: Record<string, string> = {},
  options: { ackWithinMs?: number; rejectCheckWithinMs?: number; clockStart?: Date; clientOptions?: WebClientOptions } = {},
): Promise<Harness> {
  const { clockStart, clientOptions, ...shipmateOptions } = options;
  const dir = mkdtempSync(join(tmpdir(), 'shipmate-test-'));
  const emulator = await new SlackEmulator(BOT_TOKEN).start();
  writeFileSync(join(dir, 'shipmate.yml'), typeof configYaml === 'function' ? configYaml(dir) : configYaml);
  const processEnv = {
    ...env,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: emulator.apiUrl,
    PORT: '0',
    SHIPMATE_DB: join(dir, 'shipmate.db'),
    SHIPMATE_CONFIG: join(dir, 'shipmate.yml'),
  };
  const settings = loadSettings(processEnv);
  let config;
  try {
    config = loadShipmateConfig(settings.SHIPMATE_CONFIG, processEnv);
  } catch (error) {
    await emulator.stop();
    throw error;
  }
  const clock = new ManualClock(clockStart);
  const logs: string[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({ write: (chunk: Buffer, _enc, done) => { logs.push(chunk.toString()); done(); } }),
  });
  const create = () =>
    createShipmate({
      settings,
      config,
      baseEnv: { PATH: process.env.PATH },
      clock: clock.now,
      log,
      reconcileEvery: false,
      retryDelayMs: 1,
      ...shipmateOptions,
      clientOptions: { retryConfig: { retries: 0 }, ...clientOptions },
    });
  let shipmate = create();
  let url = `http://127.0.0.1:${await shipmate.start()}`;
  return {
    get url() {
      return url;
    },
    dir,
    emulator,
    get shipmate() {
      return shipmate;
    },
    clock,
    logs,
    command: (text, overrides = {}) => postSigned(url, slashCommandBody(text, { responseBase: emulator.url, ...overrides })),
    click: (actionId, value, overrides = {}) =>
      postSigned(url, blockActionsBody(actionId, sentButtonValue(emulator.calls, actionId, value), { responseBase: emulator.url, ...overrides })),
    submit: (...args) => postSigned(url, viewSubmissionBody(...args)),
    async settle() {
      // Due and first in its flow's lane: an effect behind one that backs off waits with it.
      const pending = shipmate.db
        .prepare(`SELECT idempotency_key FROM effects e WHERE status = 'pending' AND lane != 'timer' AND not_before <= ?
          AND NOT EXISTS (SELECT 1 FROM effects p WHERE p.flow_id = e.flow_id AND p.lane = e.lane AND p.status = 'pending' AND p.id < e.id)`)
        .pluck();
      // A worker that stays idle with effects due (paused by a storage fault, say) would spin here.
      for (let round = 0; ; round++) {
        await shipmate.worker.idle();
        const due = pending.all(clock.now().toISOString());
        if (due.length === 0) return;
        if (round === 1000) throw new Error(`settle(): the worker is idle but effects are due: ${due.slice(0, 5).join(', ')}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    async restart() {
      await shipmate.stop();
      shipmate = create();
      url = `http://127.0.0.1:${await shipmate.start()}`;
    },
    async stop() {
      await shipmate.stop();
      await emulator.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
