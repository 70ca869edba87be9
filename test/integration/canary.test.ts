import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/harness';
import { type PrometheusServer, sampleTime, startPrometheus } from '../support/prometheus-server';

/**
 * Canary deploys end to end: the real Bolt app, a command deployer that records the traffic
 * weights it is given, and a real Prometheus holding a baseline (api 1.4.1, 2% errors) and a
 * canary with a raised error rate (api 1.4.2, 9%). The clock starts inside that data.
 */

const SCRIPT = join(__dirname, '..', 'fixtures', 'canary-script.sh');
const ERROR_RATIO =
  'sum(rate(shipmate_http_requests_total{service="{{service}}",version="{{version}}",code="500"}[{{window}}]))' +
  ' / sum(rate(shipmate_http_requests_total{service="{{service}}",version="{{version}}"}[{{window}}]))';

const STEPS = '[{ weight: 20 }, { analysis: health }, { weight: 50 }, { analysis: health }, { weight: 100 }]';
const config = (prometheusUrl: string, extra = '', steps = STEPS) => (dir: string) => `
defaults: { channel: C0DEPLOYS }
flags: { environments: { prod: {} } }
metrics:
  providers:
    prom: { type: prometheus, url: "${prometheusUrl}", timeout: 5s }
analyses:
  health:
    interval: 1m
    count: 2
    metrics:
      - name: error-rate
        provider: prom
        query: '${ERROR_RATIO}'
        successCondition: result < 0.05
        failureCondition: result >= 0.05
${extra}
services:
  api:
    environments:
      prod:
        deploy: { type: command, command: ${SCRIPT}, env: { RECORD_FILE: ${join(dir, 'calls.txt')} } }
        strategy: canary
        steps: ${steps}
`;

type Block = { type: string; elements?: ({ action_id?: string; text?: unknown } | string)[]; text?: { text: string } };

describe('canary deploys against a real Prometheus', () => {
  let prometheus: PrometheusServer;
  let h: Harness;

  beforeAll(async () => {
    prometheus = await startPrometheus();
  });
  afterAll(async () => {
    await prometheus?.stop();
  });
  afterEach(async () => {
    await h?.stop();
  });

  async function start(extra = '') {
    h = await startHarness(config(prometheus.url, extra), {}, { clockStart: sampleTime(8) });
  }
  const calls = () => readFileSync(join(h.dir, 'calls.txt'), 'utf8').trim().split('\n');
  const deploy = async (text: string, user = 'U0ALICE') => ((await h.command(text, { user_id: user })).json as { text: string }).text;
  /** Moves the clock, then lets every timer and effect that came due run. */
  async function advance(ms: number) {
    h.clock.advance(ms);
    h.shipmate.tick();
    await h.settle();
  }
  const card = (id: number) => h.emulator.messagesIn('C0DEPLOYS').find((m) => JSON.stringify(m.blocks).includes(`Deploy #${id} `))!;
  const thread = (id: number) => h.emulator.repliesTo('C0DEPLOYS', card(id).ts).map((m) => String(m.text));
  const status = (id: number) => h.shipmate.db.prepare('SELECT status, error, canary FROM deployments WHERE id = ?').get(id) as { status: string; error: string | null; canary: string | null };
  const buttons = (id: number) => ((card(id).blocks as Block[]).find((b) => b.type === 'actions')?.elements ?? []).map((e) => (typeof e === 'string' ? e : e.action_id));

  /** The first deploy has no baseline to compare with, so it goes out at once. */
  async function baseline(version = '1.4.0') {
    await deploy(`api@${version} to prod`);
    await h.settle();
    expect(status(1).status).toBe('succeeded');
  }

  it('promotes a good canary step by step: 20%, analysis, 50%, analysis, 100%', async () => {
    await start();
    await baseline();
    await deploy('api@1.4.1 to prod');
    await h.settle();
    expect(calls()).toEqual(['1.4.0 - -', '1.4.1 20 1.4.0']);
    expect(thread(2)).toContain('Canary of 1.4.1 against 1.4.0: 20% → analysis health → 50% → analysis health → 100%.');
    // The first measurement is due at once (no initial delay): 3/153 errors, 2%.
    expect(thread(2).find((t) => t.startsWith('Analysis health, measurement 1'))).toMatch(/✓ error-rate: successful, 0\.01961 \(result < 0\.05\) \[1\/2\]/);
    expect(status(2).status).toBe('deploying');
    expect(buttons(2)).toEqual(['canary_rollback']);

    await advance(60_000);
    expect(calls()).toEqual(['1.4.0 - -', '1.4.1 20 1.4.0', '1.4.1 50 1.4.0']);
    await advance(60_000);
    await advance(60_000);
    expect(calls()).toEqual(['1.4.0 - -', '1.4.1 20 1.4.0', '1.4.1 50 1.4.0', '1.4.1 100 1.4.0']);
    expect(status(2).status).toBe('succeeded');
    expect(JSON.parse(status(2).canary!).status).toBe('promoted');
    expect(thread(2).filter((t) => t.startsWith('Analysis health, measurement'))).toHaveLength(4);
    expect(thread(2).some((t) => t.startsWith('api 1.4.1 is live in prod'))).toBe(true);
    // The chart of every measurement lands in the deploy's thread, once.
    const [upload] = h.emulator.callsTo('files.completeUploadExternal');
    expect(h.emulator.callsTo('files.completeUploadExternal')).toHaveLength(1);
    expect(upload!.args).toMatchObject({ channel_id: 'C0DEPLOYS', thread_ts: card(2).ts });
    const [file] = [...h.emulator.uploadedFiles.values()];
    expect(file!.bytes.subarray(1, 4).toString()).toBe('PNG');
    const actions = h.shipmate.db.prepare("SELECT action FROM audit_log WHERE subject = 'api/prod' ORDER BY rowid").pluck().all();
    expect(actions).toEqual(expect.arrayContaining(['deploy.started', 'canary.promoted', 'deploy.succeeded']));
  });

  it('rolls back a canary with a raised error rate by itself', async () => {
    await start();
    await baseline('1.4.1');
    await deploy('api@1.4.2 to prod');
    await h.settle();
    // 3 errors in 33 requests: 9%, over the 5% limit, and failureLimit is 0.
    expect(calls()).toEqual(['1.4.1 - -', '1.4.2 20 1.4.1', '1.4.2 0 1.4.1']);
    const d = status(2);
    expect(d.status).toBe('failed');
    expect(d.error).toMatch(/^Canary rolled back \(analysis health failed: error-rate failed 1 of 1 measurements \(failureLimit 0\)\); all traffic is back on 1\.4\.1\.$/);
    expect(JSON.parse(d.canary!).status).toBe('rolled-back');
    expect(thread(2).find((t) => t.startsWith('Analysis health, measurement 1'))).toMatch(/✗ error-rate: failed, 0\.09091 \(result >= 0\.05\)/);
    expect(thread(2).some((t) => t.startsWith('Rolling back to 1.4.1: analysis health failed'))).toBe(true);
    const rollback = h.shipmate.db.prepare("SELECT actor, detail FROM audit_log WHERE action = 'canary.rollback'").get() as { actor: string; detail: string };
    expect(rollback.actor).toBe('system');
    // 1.4.1 is still what runs: the next rollback target is unchanged, the canary never counted as good.
    const good = h.shipmate.db.prepare("SELECT version FROM deployments WHERE status = 'succeeded' AND rolled_back = 0").pluck().all();
    expect(good).toEqual(['1.4.1']);
  });

  it('pauses a canary without data as inconclusive and lets a person promote it anyway', async () => {
    await start();
    await baseline('1.4.1');
    await deploy('api@9.9.9 to prod');
    await h.settle();
    const d = status(2);
    expect(d.status).toBe('deploying');
    const run = JSON.parse(d.canary!) as { status: string; pausedFor: string };
    expect(run.status).toBe('paused');
    expect(run.pausedFor).toBe('analysis health is inconclusive: error-rate was inconclusive 1 of 1 measurements (inconclusiveLimit 0)');
    expect(thread(2).find((t) => t.startsWith('Analysis health, measurement 1'))).toContain('? error-rate: inconclusive, no data');
    expect(buttons(2)).toEqual(['canary_promote', 'canary_rollback']);
    // Nothing moves while it waits for a person.
    await advance(5 * 60_000);
    expect(calls()).toEqual(['1.4.1 - -', '9.9.9 20 1.4.1']);

    const answer = await h.click('canary_promote', '2', { userId: 'U0BOB' });
    expect(answer.status).toBe(200);
    await h.settle();
    expect(calls()).toEqual(['1.4.1 - -', '9.9.9 20 1.4.1', '9.9.9 50 1.4.1']);
    const promoted = h.shipmate.db.prepare("SELECT actor, source FROM audit_log WHERE action = 'canary.promoted-anyway'").get();
    expect(promoted).toEqual({ actor: 'U0BOB', source: 'button' });
  });

  it('a rollback during a canary aborts the canary first; many at once start one abort', async () => {
    await start();
    await baseline('1.4.1');
    await deploy('api@9.9.9 to prod');
    await h.settle();
    expect(JSON.parse(status(2).canary!).status).toBe('paused');

    const answers = await Promise.all([
      deploy('rollback api prod', 'U0CAROL'),
      h.click('canary_rollback', '2', { userId: 'U0DAVE' }),
      h.click('canary_rollback', '2', { userId: 'U0ERIN' }),
      deploy('rollback api prod', 'U0FRANK'),
    ]);
    expect(answers[0]).toContain('api 9.9.9 was a canary in prod (deploy #2)');
    await h.settle();
    expect(calls()).toEqual(['1.4.1 - -', '9.9.9 20 1.4.1', '9.9.9 0 1.4.1']);
    expect(h.shipmate.db.prepare("SELECT COUNT(*) FROM audit_log WHERE action = 'canary.rollback'").pluck().get()).toBe(1);
    expect(h.shipmate.db.prepare('SELECT COUNT(*) FROM deployments').pluck().get()).toBe(2);
    const d = status(2);
    expect(d.status).toBe('failed');
    expect(d.error).toMatch(/^Canary rolled back \(rolled back by <@U0\w+>: .+\); all traffic is back on 1\.4\.1\.$/);
    expect(thread(2).some((t) => t.startsWith('Rolling back to 1.4.1'))).toBe(true);
  });

  it('judges canary against baseline latency with the Mann-Whitney judge and rolls back a slower canary', async () => {
    const latency = (version: string) => `max(shipmate_latency_p99_seconds{service="{{service}}",version="${version}"})`;
    const analysis = `  latency:
    interval: 1m
    window: 2m
    count: 1
    metrics:
      - name: p99
        provider: prom
        canaryQuery: '${latency('{{version}}')}'
        baselineQuery: '${latency('{{baseline_version}}')}'
        direction: increase
`;
    h = await startHarness(config(prometheus.url, analysis, '[{ weight: 10 }, { analysis: latency }, { weight: 100 }]'), {}, { clockStart: sampleTime(24) });
    await baseline('1.4.1');
    await deploy('api@1.4.2 to prod');
    await h.settle();
    // Over 12:04–12:06 the canary's p99 climbs 0.36–0.44 s against the baseline's steady 0.25 s.
    const measured = thread(2).find((t) => t.startsWith('Analysis latency, measurement 1'))!;
    expect(measured).toMatch(/✗ comparison: failed, score 0, fail: p99 High p=/);
    expect(calls()).toEqual(['1.4.1 - -', '1.4.2 10 1.4.1', '1.4.2 0 1.4.1']);
    expect(status(2).status).toBe('failed');
    const points = (JSON.parse(status(2).canary!) as { points: { series: string; canary: number; baseline: number }[] }).points;
    expect(points).toEqual([expect.objectContaining({ series: 'p99', canary: expect.closeTo(0.4, 2), baseline: 0.25 })]);
  });

  it('flips a flag as a step once the analysis passed, without a second approval', async () => {
    h = await startHarness(config(prometheus.url, '', '[{ weight: 20 }, { analysis: health }, { flag: new-checkout, rollout: 10 }, { weight: 100 }]'), {}, { clockStart: sampleTime(8) });
    await h.command('create new-checkout', { command: '/flag' });
    await baseline('1.4.1');
    await deploy('api@1.4.1 to prod');
    await h.settle();
    await advance(60_000);
    expect(status(2).status).toBe('succeeded');
    const flag = h.shipmate.db.prepare("SELECT enabled, rollout FROM flags WHERE key = 'new-checkout' AND environment = 'prod'").get();
    expect(flag).toEqual({ enabled: 1, rollout: JSON.stringify({ percentage: 10, variant: 'on' }) });
    expect(thread(2)).toContain('Step 3/4: asked for flag change #1 of new-checkout.');
    const change = h.shipmate.db.prepare('SELECT status, reason, requested_by, source FROM flag_changes WHERE id = 1').get();
    expect(change).toEqual({ status: 'applied', reason: 'step 3 of the canary of deploy #2', requested_by: 'U0ALICE', source: 'system' });
  });

  it('where deploys need approval, only another approver may promote a paused canary; anyone may roll it back', async () => {
    const approved = (dir: string) => config(prometheus.url)(dir).replace('        strategy: canary', '        approval: { required: 1, approvers: { users: [U0APPROVER1, U0ALICE] } }\n        strategy: canary');
    h = await startHarness(approved, {}, { clockStart: sampleTime(8) });
    // Each click on the card Shipmate posted, once it is posted.
    await deploy('api@1.4.1 to prod');
    await h.settle();
    await h.click('deploy_approve', '1', { userId: 'U0APPROVER1' });
    await h.settle();
    await deploy('api@9.9.9 to prod');
    await h.settle();
    await h.click('deploy_approve', '2', { userId: 'U0APPROVER1' });
    await h.settle();
    expect(JSON.parse(status(2).canary!).status).toBe('paused');
    const answer = async (userId: string, action: string) => {
      const before = h.emulator.callsTo('response_url').length;
      const reply = h.emulator.waitFor('response_url', () => h.emulator.callsTo('response_url').length > before);
      await h.click(action, '2', { userId });
      return String((await reply).args.text);
    };
    expect(await answer('U0MALLORY', 'canary_promote')).toContain('only an approver may promote a canary past an inconclusive analysis');
    expect(await answer('U0ALICE', 'canary_promote')).toContain('You asked for deploy #2; another approver must promote its canary.');
    expect(JSON.parse(status(2).canary!).status).toBe('paused');
    expect(await answer('U0MALLORY', 'canary_rollback')).toContain('Rolling back the canary of deploy #2');
  });

  it('undoes the flags a canary flipped when it rolls back', async () => {
    h = await startHarness(config(prometheus.url, '', '[{ weight: 20 }, { flag: new-checkout, on: true }, { analysis: health }, { weight: 100 }]'), {}, { clockStart: sampleTime(8) });
    await h.command('create new-checkout', { command: '/flag' });
    await baseline('1.4.1');
    await deploy('api@1.4.2 to prod');
    await h.settle();
    expect(status(2).status).toBe('failed');
    const flag = () => h.shipmate.db.prepare("SELECT enabled FROM flags WHERE key = 'new-checkout' AND environment = 'prod'").pluck().get();
    expect(flag()).toBe(0);
    const changes = h.shipmate.db.prepare('SELECT id, status, undo_of FROM flag_changes ORDER BY id').all();
    expect(changes).toEqual([{ id: 1, status: 'applied', undo_of: null }, { id: 2, status: 'applied', undo_of: 1 }]);
  });
});
