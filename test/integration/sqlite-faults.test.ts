import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { signWebhook } from '../../src/deployers/webhook-deployer';
import { TAMPERED_BUTTON_TEXT } from '../../src/slack/button-guard';
import type { Db } from '../../src/store/database';
import { startHarness, type Harness } from '../support/harness';
import { blockActionsBody, postSigned } from '../support/slack-requests';
import { WebhookTarget } from '../support/webhook-target';

/**
 * What Shipmate does when SQLite will not take a write: another program holds the database's
 * write lock (SQLITE_BUSY), or the disk is full (SQLITE_FULL). The person is told so, the error is
 * logged, nothing is half-written, /readyz says why it is not ready, and work goes on afterwards.
 */

const SECRET = 'faults-secret-0123456789';
const config = (target: WebhookTarget) => `
defaults: { channel: C0DEPLOYS }
flags: { environments: { staging: {} } }
services:
  called:
    environments: { prod: { deploy: { type: webhook, url: "${target.url}", secret: "${SECRET}", completion: callback, timeout: 30s } } }
  api:
    environments:
      prod:
        deploy: { type: webhook, url: "${target.url}", secret: "faults-secret-0123456789" }
      audited:
        deploy: { type: webhook, url: "${target.url}", secret: "faults-secret-0123456789" }
        approval: { required: 1, approvers: { users: [U0BOBBY] } }
`;

/** Short, so a refused write costs the test a tenth of a second of the app's one thread. */
const BUSY_TIMEOUT_MS = 100;

/**
 * Another process with an open write transaction on the file, as `sqlite3 shipmate.db` after
 * BEGIN IMMEDIATE would have. In a process of its own: the app waits for the lock synchronously,
 * so a lock held on the test's own thread could not be let go while the app waits.
 */
const LOCKER = `
const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
const db = new Database(process.argv[1]);
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
process.stdin.on('data', () => {}).on('end', () => { db.exec('ROLLBACK'); db.close(); });
`;

async function holdWriteLock(file: string): Promise<{ child: ChildProcessWithoutNullStreams; release(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', LOCKER, file]);
  const [first] = (await once(child.stdout, 'data')) as [Buffer];
  if (first.toString() !== 'locked\n') throw new Error(`the locker said ${first.toString()}`);
  return {
    child,
    async release() {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}

/** Rows no flow knows, each padded by its one parameter. */
const FILLERS = {
  flowEvents: "INSERT INTO flow_events (flow_id, type, payload, at) VALUES ('filler:0', 'filler', ?, '')",
  auditLog: "INSERT INTO audit_log (at, actor, source, action, subject, detail) VALUES ('', 'U0FILLER', 'system', 'filler', ?, NULL)",
  slackMessages: "INSERT INTO slack_messages (message_key, channel, ts, posted_at) VALUES ('filler:' || hex(randomblob(8)), 'C0FILLER', ?, '')",
};

/**
 * The disk fills up: the file may not grow by a page. SQLite only needs a new page when the one it
 * writes to is full, so the last page of a table is filled first; the next write to it has nowhere
 * to go. By default the flow event log, which every flow transition appends to.
 */
function fillDisk(db: Db, fillerSql: string = FILLERS.flowEvents): () => void {
  const max = db.pragma('max_page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  const filler = db.prepare(fillerSql);
  for (const size of [1000, 100, 10, 0]) {
    try {
      for (;;) filler.run('x'.repeat(size));
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_FULL') throw error;
    }
  }
  return () => void db.pragma(`max_page_count = ${max}`);
}

describe('SQLite busy or full', () => {
  let target: WebhookTarget;
  let h: Harness;
  let lock: Awaited<ReturnType<typeof holdWriteLock>> | undefined;

  beforeEach(async () => {
    target = await new WebhookTarget().start();
    h = await startHarness(config(target));
    h.shipmate.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  });
  afterEach(async () => {
    lock?.child.kill();
    lock = undefined;
    await h.stop();
    await target.stop();
  });

  const db = () => h.shipmate.db;
  const dbFile = () => join(h.dir, 'shipmate.db');
  /** Every row of every table, so a refused command that left anything behind shows. */
  const everything = () =>
    Object.fromEntries(
      (db().prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]).map((t) => [t, db().prepare(`SELECT * FROM "${t}"`).all()]),
    );
  const logged = () => h.logs.map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; err?: { message?: string } });
  const errors = () => logged().filter((l) => l.level >= 50).map((l) => ({ msg: l.msg, code: l.code }));
  const readiness = async () => {
    const response = await fetch(`${h.url}/readyz`);
    return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, boolean>; reasons?: Record<string, string> } };
  };
  const ackText = async (text: string, overrides: Record<string, string> = {}) => ((await h.command(text, overrides)).json as { text: string }).text;
  /** What Shipmate told the clicker, through the click's response_url. */
  const clickText = async (actionId: string, value: string, userId: string) => {
    const before = h.emulator.callsTo('response_url').length;
    await h.click(actionId, value, { userId });
    await h.emulator.waitFor('response_url', () => h.emulator.callsTo('response_url').length > before);
    return String(h.emulator.callsTo('response_url')[before]!.args.text);
  };
  const deployments = () => db().prepare('SELECT id, environment, version, status FROM deployments ORDER BY id').all();
  const eventsOf = (flowId: string) => db().prepare('SELECT type FROM flow_events WHERE flow_id = ? ORDER BY id').pluck().all(flowId);
  const integrity = () => db().pragma('integrity_check', { simple: true });
  const updates = () => h.emulator.callsTo('chat.update').map((c) => c.args.text);

  /** A deploy to prod whose webhook call is held: Shipmate waits for the target, its Slack messages are out. */
  async function deployInProgress(): Promise<() => void> {
    const release = target.hold();
    expect(await ackText('api@2.0.0 to prod')).toContain('Deploying api 2.0.0 to prod (deploy #1)');
    await target.arrived(1);
    await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Deploying'));
    // The message edit's own bookkeeping is written once Slack's answer is in; no event marks it.
    const slackPending = db().prepare("SELECT COUNT(*) FROM effects WHERE lane = 'slack' AND status = 'pending'").pluck();
    while (slackPending.get() !== 0) await new Promise((resolve) => setImmediate(resolve));
    return release;
  }

  /** The deploy of deployInProgress, finished: seen once by Slack and once in the flow's history. */
  function expectFinishedOnce(): void {
    expect(deployments()).toEqual([{ id: 1, environment: 'prod', version: '2.0.0', status: 'succeeded' }]);
    expect(eventsOf('deploy:1').filter((t) => t === 'finished')).toHaveLength(1);
    expect(h.emulator.messagesIn('C0DEPLOYS').map((m) => m.text)).toEqual(['api 2.0.0 → prod: Succeeded']);
    expect(updates()).toEqual(['api 2.0.0 → prod: Deploying', 'api 2.0.0 → prod: Succeeded']);
    const [card] = h.emulator.messagesIn('C0DEPLOYS');
    expect(h.emulator.repliesTo('C0DEPLOYS', card!.ts).map((m) => m.text)).toEqual([expect.stringContaining('api 2.0.0 is live in prod')]);
    // Asked again with the same key: the target cannot tell whether its first answer arrived.
    expect(target.received.map((r) => r.headers['idempotency-key'])).toEqual(['deploy:1:deploy', 'deploy:1:deploy']);
  }

  describe('another process holds the write lock', () => {
    it('tells the person the database is busy, logs it once, writes nothing, and takes the same command once the lock is gone', async () => {
      const before = everything();
      lock = await holdWriteLock(dbFile());

      const refused = await h.command('api@2.0.0 to prod');
      expect(refused.status).toBe(200);
      expect(refused.json).toEqual({
        response_type: 'ephemeral',
        text: "Shipmate's database is busy (another program is writing to it), so nothing was changed. Try again in a moment.",
        blocks: expect.any(Array),
      });
      expect(errors()).toEqual([{ msg: 'the database refused a write', code: 'SQLITE_BUSY' }]);
      expect(everything()).toEqual(before);
      expect(target.received).toHaveLength(0);
      expect(h.emulator.callsTo('chat.postMessage')).toHaveLength(0);
      expect(await readiness()).toEqual({
        status: 503,
        body: { status: 'not ready', checks: { database: false, slack: true }, reasons: { database: 'SQLITE_BUSY: another connection holds the write lock' } },
      });

      await lock.release();
      expect((await readiness()).status).toBe(200);
      expect(await ackText('api@2.0.0 to prod')).toContain('Deploying api 2.0.0 to prod (deploy #1)');
      await h.settle();
      expect(deployments()).toEqual([{ id: 1, environment: 'prod', version: '2.0.0', status: 'succeeded' }]);
      expect(errors()).toHaveLength(1);
    });

    it('keeps a deploy whose outcome met the lock, leaves the queue alone meanwhile, and finishes it once the lock is gone', async () => {
      const releaseTarget = await deployInProgress();
      lock = await holdWriteLock(dbFile());

      releaseTarget();
      await h.shipmate.worker.idle();
      expect(errors()).toEqual([{ msg: 'the database refused a write', code: 'SQLITE_BUSY' }]);
      expect(logged().filter((l) => l.msg === 'the database refused a write; effects wait')).toHaveLength(1);
      expect(deployments()).toEqual([{ id: 1, environment: 'prod', version: '2.0.0', status: 'deploying' }]);
      expect(eventsOf('deploy:1')).not.toContain('finished');

      // A tick while the lock is still held: the worker tries once more, is refused again, and waits again.
      h.clock.advance(5_000);
      expect(() => h.shipmate.tick()).not.toThrow();
      await h.shipmate.worker.idle();
      expect(errors()).toHaveLength(2);
      expect(target.received).toHaveLength(1);
      // Until the pause is over, kicks find nothing to do, however many there are.
      h.shipmate.tick();
      h.shipmate.tick();
      await h.shipmate.worker.idle();
      expect(errors()).toHaveLength(2);

      await lock.release();
      h.clock.advance(5_000);
      h.shipmate.tick();
      await h.settle();
      expectFinishedOnce();
      expect(errors()).toHaveLength(2);
    });

    it("answers a deploy target's callback with 503 and Retry-After, and takes the same callback once the lock is gone", async () => {
      target.status = 202;
      await h.command('called@1.0.0 to prod');
      await target.arrived(1);
      const text = JSON.stringify({ idempotencyKey: 'deploy:1:deploy', status: 'succeeded' });
      const callback = () => {
        const timestamp = String(Math.floor(h.clock.now().getTime() / 1000));
        return fetch(`${h.url}/deployments/callback`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-shipmate-timestamp': timestamp, 'x-shipmate-signature': signWebhook(SECRET, timestamp, text) },
          body: text,
        });
      };
      lock = await holdWriteLock(dbFile());

      const refused = await callback();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toEqual({ error: expect.stringContaining("Shipmate's database is busy") });
      expect(db().prepare('SELECT COUNT(*) FROM deploy_callbacks').pluck().get()).toBe(0);

      await lock.release();
      expect((await callback()).status).toBe(202);
      await h.settle();
      expect(deployments()).toEqual([{ id: 1, environment: 'prod', version: '1.0.0', status: 'succeeded' }]);
    });
  });

  describe('the disk is full', () => {
    it('refuses a deploy, a button click and a flag change clearly, changes nothing, and takes them all once there is room again', async () => {
      expect(await ackText('api@1.0.0 to audited', { user_id: 'U0ALICE' })).toContain('Deploy #1 (api 1.0.0 to audited) needs 1 approval');
      expect(await ackText('create new-checkout', { command: '/flag' })).toContain('Created new-checkout (off) in staging');
      await h.settle();
      const freeDisk = fillDisk(db());
      const before = everything();

      const full = "Shipmate's database has no room left (the disk is full), so nothing was changed. Ask whoever runs Shipmate to free some disk space, then try again.";
      expect(await ackText('api@2.0.0 to prod')).toBe(full);
      expect(await clickText('deploy_approve', '1', 'U0BOBBY')).toBe(full);
      expect(await ackText('new-checkout on staging', { command: '/flag' })).toBe(full);
      expect(errors()).toEqual(Array(3).fill({ msg: 'the database refused a write', code: 'SQLITE_FULL' }));
      expect(integrity()).toBe('ok');
      expect(everything()).toEqual(before);
      expect(target.received).toHaveLength(0);
      const notReady = await readiness();
      expect(notReady.status).toBe(503);
      expect(notReady.body.reasons).toEqual({ database: expect.stringMatching(/^SQLITE_FULL: the disk is full \(a write failed \d+ s ago\)$/) });

      freeDisk();
      // The refused commands left no number taken and no approval counted.
      expect(await ackText('api@2.0.0 to prod')).toContain('Deploying api 2.0.0 to prod (deploy #2)');
      expect((await readiness()).status).toBe(200);
      expect(await clickText('deploy_approve', '1', 'U0BOBBY')).toBe('You approved deploy #1; it has every approval it needs.');
      expect(await ackText('new-checkout on staging', { command: '/flag' })).toMatch(/^Flag change #1 \(new-checkout in staging\) is being applied/);
      await h.settle();
      expect(deployments()).toEqual([
        { id: 1, environment: 'audited', version: '1.0.0', status: 'succeeded' },
        { id: 2, environment: 'prod', version: '2.0.0', status: 'succeeded' },
      ]);
      expect(db().prepare("SELECT enabled FROM flags WHERE key = 'new-checkout' AND environment = 'staging'").pluck().get()).toBe(1);
      expect(integrity()).toBe('ok');
      expect(errors()).toHaveLength(3);
    });

    it('still tells the clicker a tampered button did nothing when its refusal cannot be audited', async () => {
      expect(await ackText('api@1.0.0 to audited', { user_id: 'U0ALICE' })).toContain('needs 1 approval');
      await h.settle();
      const freeDisk = fillDisk(db(), FILLERS.auditLog);
      const before = everything();

      const answered = h.emulator.waitFor('response_url');
      await postSigned(h.url, blockActionsBody('deploy_approve', '1', { userId: 'U0BOBBY', responseBase: h.emulator.url }));
      expect((await answered).args.text).toBe(TAMPERED_BUTTON_TEXT);
      await h.settle();
      expect(everything()).toEqual(before);
      expect(logged().filter((l) => l.level >= 50).map((l) => l.err?.message)).toEqual(['database or disk is full']);
      expect(integrity()).toBe('ok');

      freeDisk();
      expect(await clickText('deploy_approve', '1', 'U0BOBBY')).toBe('You approved deploy #1; it has every approval it needs.');
    });

    it('keeps a deploy whose outcome found the disk full, and finishes it once there is room, nothing twice', async () => {
      const releaseTarget = await deployInProgress();
      const freeDisk = fillDisk(db());

      releaseTarget();
      await h.shipmate.worker.idle();
      expect(errors()).toEqual([{ msg: 'the database refused a write', code: 'SQLITE_FULL' }]);
      expect(integrity()).toBe('ok');
      expect(deployments()).toEqual([{ id: 1, environment: 'prod', version: '2.0.0', status: 'deploying' }]);
      expect(db().prepare("SELECT status, attempts FROM effects WHERE idempotency_key = 'deploy:1:deploy'").get()).toEqual({ status: 'pending', attempts: 1 });
      expect((await readiness()).body.reasons?.database).toMatch(/^SQLITE_FULL/);

      freeDisk();
      h.clock.advance(5_000);
      h.shipmate.tick();
      await h.settle();
      expectFinishedOnce();
      expect((await readiness()).status).toBe(200);
      expect(integrity()).toBe('ok');
    });

    it('posts a deploy card once when the disk fills between Slack taking it and Shipmate recording where it is', async () => {
      let answerSlack!: () => void;
      h.emulator.holdNext('chat.postMessage', new Promise<void>((resolve) => (answerSlack = resolve)));
      expect(await ackText('api@2.0.0 to prod')).toContain('Deploying api 2.0.0 to prod (deploy #1)');
      await h.emulator.waitFor('chat.postMessage');
      const freeDisk = fillDisk(db(), FILLERS.slackMessages);

      answerSlack();
      await h.shipmate.worker.idle();
      expect(integrity()).toBe('ok');
      expect(db().prepare("SELECT COUNT(*) FROM slack_messages WHERE channel = 'C0DEPLOYS'").pluck().get()).toBe(0);
      expect(db().prepare("SELECT status, attempts FROM effects WHERE idempotency_key = 'deploy:1:card.post'").get()).toEqual({ status: 'pending', attempts: 1 });

      freeDisk();
      h.clock.advance(5_000);
      h.shipmate.tick();
      await h.settle();
      // The retry finds the card Slack already has, by its metadata, and edits that one.
      expect(h.emulator.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0DEPLOYS' && !c.args.thread_ts)).toHaveLength(1);
      expect(h.emulator.messagesIn('C0DEPLOYS').map((m) => m.text)).toEqual(['api 2.0.0 → prod: Succeeded']);
      const [card] = h.emulator.messagesIn('C0DEPLOYS');
      expect(db().prepare("SELECT ts FROM slack_messages WHERE message_key = 'deploy:1'").pluck().get()).toBe(card!.ts);
      expect(h.emulator.repliesTo('C0DEPLOYS', card!.ts).map((m) => m.text)).toEqual([expect.stringContaining('api 2.0.0 is live in prod')]);
      expect(deployments()).toEqual([{ id: 1, environment: 'prod', version: '2.0.0', status: 'succeeded' }]);
      expect(integrity()).toBe('ok');
    });
  });
});
