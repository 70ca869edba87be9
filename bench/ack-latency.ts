import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SlackEmulator } from '../test/support/slack-emulator';
import { createButtonSigner } from '../src/slack/button-signing';
import { SIGNING_SECRET } from '../test/support/slack-requests';
import { type AppProcess, childrenRunning, cpuSeconds, freePort, privateMemory, residentMemory, startNodeProcess } from './app-process';
import { mb, ms, percentile, type Row } from './report';
import { interactionMix, type LoadResult, runLoad, type ValueSigner } from './slack-load';

const BOT_TOKEN = 'xoxb-111-222-benchtoken';
const DIST = join(__dirname, '..');
const SHIPMATE_CLI = join(DIST, 'src', 'cli', 'shipmate.js');
const BARE_BOLT = join(__dirname, 'bare-bolt-app.js');

export const REQUESTS = 2_000;
export const CONCURRENCY = 50;
/**
 * Rounds per app, alternating between them, so a noisy moment of the machine touches both. Bare
 * Bolt's own p99 moves between 18 and 60 ms from round to round; five rounds give a steadier median.
 */
const ROUNDS = 5;
/**
 * The warm-up goes in batches until the app's CPU per request settles: two batches in a row within
 * 10% of each other, after at least four. V8 compiles a request path over the first few thousand
 * requests: Shipmate's CPU per request went 1.1, 0.8-1.0, 0.5, 0.5 ms over the first four batches,
 * bare Bolt's 0.56, 0.48-0.60, 0.21-0.28, 0.25 (two batches alone can look settled while still
 * compiling). Production runs for days; a server still compiling is not what Slack's requests meet.
 */
const WARM_BATCH = 1_000;
const WARM_MIN_BATCHES = 4;
const WARM_MAX_BATCHES = 12;
const SETTLED_WITHIN = 0.1;
const LOAD_BUDGET_MS = 90_000;
const TIMEOUT_MS = 10_000;
const P99_TARGET_MS = 100;
const RATIO_TARGET = 1.5;
const RSS_TARGET_BYTES = 200 * 1024 * 1024;

const deployTo = (env: string) => `
      ${env}:
        deploy:
          type: command
          command: /bin/true
          timeout: 30s`;

/** Three services whose deploys run /bin/true: every deploy the load starts really runs and finishes. */
const CONFIG = `
defaults:
  channel: C0DEPLOYS
services:
${['api', 'web', 'worker'].map((s) => `  ${s}:\n    environments:${deployTo('staging')}${deployTo('prod')}`).join('\n')}
`;

const IDLE_WITHIN_MS = 30_000;

function readOnly<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/**
 * Waits until what the load left behind (deploys running /bin/true, their Slack messages) is done:
 * no deploy active and no effect pending but timers. Returns how long that took, or undefined when
 * it was not done within `withinMs`.
 */
async function untilIdle(file: string, withinMs: number): Promise<number | undefined> {
  const start = Date.now();
  while (Date.now() - start < withinMs) {
    const busy = readOnly(file, (db) =>
      db.prepare(`SELECT (SELECT COUNT(*) FROM effects WHERE status = 'pending' AND lane != 'timer')
        + (SELECT COUNT(*) FROM deployments WHERE status IN ('queued', 'deploying'))`).pluck().get() as number,
    );
    if (busy === 0) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

/** One round of the load against one app: what it answered, and the CPU the app spent on it. */
interface Round {
  load: LoadResult;
  /** CPU the app process used per request of the load, in ms. */
  cpuMsPerRequest: number;
}

/**
 * An app under load, with the keep-alive connections its loads share, as Slack's deliveries do, and
 * how it signs its buttons' values (clicks come from buttons it posted; others it refuses as tampered).
 */
interface Target {
  app: AppProcess;
  agent: Agent;
  sign?: ValueSigner;
  /** Requests sent so far: the next deploy request asks for a version no earlier one did. */
  sent: number;
}

const target = (app: AppProcess, sign?: ValueSigner): Target => ({ app, agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY }), ...(sign ? { sign } : {}), sent: 0 });

/** Shipmate's button-signing key, made at its first start and kept in its database. */
function shipmateSigner(file: string): ValueSigner {
  const key = readOnly(file, (db) => db.prepare("SELECT key FROM app_keys WHERE name = 'button-signing'").pluck().get() as Buffer | undefined);
  if (!key) throw new Error(`no button-signing key in ${file}: did Shipmate start?`);
  return createButtonSigner(key).sign;
}

/** Sends `count` requests of the mix, each deploy a version of its own, and measures the app's CPU for them. */
async function load(target: Target, responseBase: string, count: number, budgetMs: number): Promise<Round> {
  const { app, agent, sign } = target;
  const cpuBefore = cpuSeconds(app.pid);
  const mix = interactionMix(count, responseBase, target.sent, sign);
  target.sent += count;
  const result = await runLoad(app.url, mix, { concurrency: CONCURRENCY, agent, budgetMs, timeoutMs: TIMEOUT_MS });
  const cpuMsPerRequest = ((cpuSeconds(app.pid) - cpuBefore) * 1000) / Math.max(1, result.latencies.length + result.failures);
  return { load: result, cpuMsPerRequest };
}

/**
 * Warms the process up (JIT, first auth.test, SQLite page cache) over the connections the rounds
 * reuse, until its CPU per request has settled. Returns the CPU of each batch.
 */
async function warmUp(target: Target, responseBase: string): Promise<number[]> {
  const cpu: number[] = [];
  while (cpu.length < WARM_MAX_BATCHES) {
    cpu.push((await load(target, responseBase, WARM_BATCH, 30_000)).cpuMsPerRequest);
    const [previous, last] = cpu.slice(-2);
    if (cpu.length >= WARM_MIN_BATCHES && Math.abs(last! - previous!) <= SETTLED_WITHIN * previous!) break;
  }
  return cpu;
}

/** The round whose p99 is the median of the rounds': one noisy round (a GC, another process) moves it least. */
function medianRound(rounds: readonly Round[]): Round {
  const byP99 = [...rounds].sort((a, b) => percentile(a.load.latencies, 99) - percentile(b.load.latencies, 99));
  return byP99[Math.floor(byP99.length / 2)]!;
}

const summary = (load: LoadResult) => {
  const p50 = percentile(load.latencies, 50);
  const p99 = percentile(load.latencies, 99);
  const throughput = (load.latencies.length / load.wallMs) * 1000;
  return { p50, p99, throughput, text: `p50 ${ms(p50)}, p99 ${ms(p99)}, ${throughput.toFixed(0)} req/s` };
};

const incomplete = (load: LoadResult) =>
  load.failures + load.skipped > 0 ? `; ${load.failures} failed (${JSON.stringify(load.statuses)}), ${load.skipped} not sent in time` : '';

export interface AckBenchResult {
  rows: Row[];
  details: string[];
}

/**
 * Benchmarks 1 and 2: the same signed interactions against a bare Bolt app and against Shipmate
 * (`shipmate start` in HTTP mode), each its own process, in alternating rounds; each app's figure is
 * its median round by p99. Then Shipmate's RSS.
 */
export async function benchAckLatency(log: (line: string) => void): Promise<AckBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'shipmate-bench-ack-'));
  const emulator = await new SlackEmulator(BOT_TOKEN).start();
  const env = { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: emulator.apiUrl };
  let app: AppProcess | undefined;
  let bareApp: AppProcess | undefined;
  try {
    log(`ack latency: bare Bolt and Shipmate (shipmate start, HTTP mode) side by side, ${ROUNDS} rounds of ${REQUESTS} requests at concurrency ${CONCURRENCY} each, alternating`);
    writeFileSync(join(dir, 'shipmate.yml'), CONFIG);
    const db = join(dir, 'shipmate.db');
    bareApp = await startNodeProcess(BARE_BOLT, [], env, await freePort(), { readyPath: '/slack/events', anyAnswer: true });
    app = await startNodeProcess(
      SHIPMATE_CLI,
      ['start'],
      { ...env, SHIPMATE_CONFIG: join(dir, 'shipmate.yml'), SHIPMATE_DB: db, LOG_LEVEL: 'silent' },
      await freePort(),
      { readyPath: '/readyz' },
    );
    const started = { bare: residentMemory(bareApp.pid), real: residentMemory(app.pid) };
    const targets = { bare: target(bareApp), real: target(app, shipmateSigner(db)) };
    // Each load starts on a quiet machine: the deploys and Slack messages a load of Shipmate's left
    // behind would otherwise run during the next load, whichever app it is aimed at.
    const quiet = async () => {
      if ((await untilIdle(db, IDLE_WITHIN_MS)) === undefined) log(`ack latency: Shipmate's follow-up work was not done within ${IDLE_WITHIN_MS / 1000} s; measuring anyway`);
    };
    const warmUpCpu = { bare: await warmUp(targets.bare, emulator.url), real: await warmUp(targets.real, emulator.url) };
    await quiet();
    const bareRounds: Round[] = [];
    const realRounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bareRounds.push(await load(targets.bare, emulator.url, REQUESTS, LOAD_BUDGET_MS));
      realRounds.push(await load(targets.real, emulator.url, REQUESTS, LOAD_BUDGET_MS));
      if (round < ROUNDS - 1) await quiet();
    }
    for (const t of Object.values(targets)) t.agent.destroy();
    const memory = { bare: residentMemory(bareApp.pid), real: residentMemory(app.pid) };
    // Shipmate's commands start from a helper process; what it holds that no other process shares counts too.
    const runner = childrenRunning(app.pid, 'command-runner.js').map((pid) => ({ rss: residentMemory(pid).rss, own: privateMemory(pid) }))[0];
    await bareApp.stop();
    const idleAfterMs = await untilIdle(db, IDLE_WITHIN_MS);
    const settled = residentMemory(app.pid);
    await app.stop();
    const deploys = readOnly(db, (d) => d.prepare('SELECT status, COUNT(*) AS n FROM deployments GROUP BY status').all() as { status: string; n: number }[]);

    const bare = medianRound(bareRounds);
    const real = medianRound(realRounds);
    const b = summary(bare.load);
    const r = summary(real.load);
    const ratio = r.p99 / b.p99;
    const rss = memory.real.rss + (runner?.own ?? 0);
    const perKind = (load: LoadResult) =>
      Object.entries(load.byKind)
        .map(([kind, values]) => `${kind} p50 ${ms(percentile(values, 50))} p99 ${ms(percentile(values, 99))}`)
        .join('; ');
    const everyRound = (rounds: Round[]) => rounds.map((x) => `p99 ${ms(percentile(x.load.latencies, 99))} (p50 ${ms(percentile(x.load.latencies, 50))})`).join(', ');
    const batches = (cpu: number[]) => `${cpu.length} batches (${cpu.map((c) => c.toFixed(2)).join(', ')} ms${cpu.length === WARM_MAX_BATCHES ? ', not settled' : ''})`;
    const cpu = (rounds: Round[]) => rounds.reduce((sum, x) => sum + x.cpuMsPerRequest, 0) / rounds.length;
    const failed = realRounds.some((x) => x.load.failures + x.load.skipped > 0);
    return {
      rows: [
        {
          benchmark: `Ack latency, Shipmate (${REQUESTS} at concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds)`,
          figure: r.text + incomplete(real.load),
          target: `p99 < ${P99_TARGET_MS} ms`,
          pass: r.p99 < P99_TARGET_MS && !failed,
        },
        { benchmark: 'Ack latency, bare Bolt (same load)', figure: b.text + incomplete(bare.load), target: 'baseline' },
        { benchmark: 'Ack p99, Shipmate / bare Bolt', figure: `${ratio.toFixed(2)}x (p50 ${(r.p50 / b.p50).toFixed(2)}x)`, target: `<= ${RATIO_TARGET}x`, pass: ratio <= RATIO_TARGET },
        {
          benchmark: `RSS of Shipmate after the load (${targets.real.sent} requests)`,
          figure: `${mb(rss)}: ${mb(memory.real.rss)} + ${runner ? mb(runner.own) : 'no'} command runner (peak ${mb(memory.real.peak)}; ${mb(settled.rss)} once idle)`,
          target: `< ${mb(RSS_TARGET_BYTES)}`,
          pass: rss < RSS_TARGET_BYTES,
        },
      ],
      details: [
        `warm-up until CPU per request settled, ${WARM_BATCH} requests a batch: Shipmate ${batches(warmUpCpu.real)}, bare Bolt ${batches(warmUpCpu.bare)}`,
        `every round: Shipmate ${everyRound(realRounds)}; bare Bolt ${everyRound(bareRounds)}`,
        `CPU per request in the app process: Shipmate ${cpu(realRounds).toFixed(2)} ms, bare Bolt ${cpu(bareRounds).toFixed(2)} ms (${(cpu(realRounds) / cpu(bareRounds)).toFixed(1)}x); ` +
          'at concurrency 50 a request mostly waits for the ones ahead of it, so latency follows this',
        `Shipmate by kind (median round): ${perKind(real.load)}`,
        `bare Bolt by kind (median round): ${perKind(bare.load)}`,
        `RSS once started, before any request: Shipmate ${mb(started.real.rss)}, bare Bolt ${mb(started.bare.rss)}; bare Bolt after the load: ${mb(memory.bare.rss)}`,
        runner
          ? `Shipmate's command runner (the helper process that starts deploy commands): ${mb(runner.rss)} resident, ${mb(runner.own)} of it its own (the rest is the node binary, shared with Shipmate)`
          : "Shipmate's command runner was not running after the load",
        `Shipmate's follow-up work ${idleAfterMs === undefined ? `was not done within ${IDLE_WITHIN_MS / 1000} s` : `was done ${(idleAfterMs / 1000).toFixed(1)} s after the load`}`,
        `${targets.real.sent / 4} /deploy api@... to staging (warm-up included) started ${deploys.reduce((n, d) => n + d.n, 0)} deploys (${deploys.map((d) => `${d.n} ${d.status}`).join(', ')}); ` +
          `the others were answered "api is already being deployed to staging". Web API calls and response_url posts: ${emulator.calls.length}`,
      ],
    };
  } finally {
    await bareApp?.stop();
    await app?.stop();
    await emulator.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
