import { type CanaryEvent, type CanaryPlan, canaryTransition, type MeasurePayload, type WeightPayload } from '../../../flows/canary-flow';
import { deployFlow, type DeployEvent } from '../../../flows/deploy-flow';
import type { Transition } from '../../../flows/flow';
import type { ThreadChart, ThreadReply, UpdateMessage } from '../../../flows/messages';
import type { MetricReading } from '../../../src/core/canary-analysis';
import { analysisSpec, type AnalysisSpec, type CanaryStep } from '../../../src/core/canary-config';
import type { EffectSpec } from '../../../src/core/ports';
import type { CanaryStatus, Deployment, DeploymentStatus } from '../../../src/core/types';

const CREATED = new Date('2026-11-23T10:00:00.000Z');
const STARTED = new Date('2026-11-23T10:00:05.000Z');
const BASELINE = '1.4.1';
const BOB = 'U0BOB';

function deployment(status: DeploymentStatus, overrides: Partial<Deployment> = {}): Deployment {
  return {
    id: 42,
    service: 'api',
    environment: 'prod',
    version: '1.4.2',
    status,
    requestedBy: 'U0ALICE',
    source: 'slash_command',
    channel: 'C0DEPLOYS',
    requestKey: 'trigger-1',
    createdAt: CREATED,
    startedAt: null,
    finishedAt: null,
    error: null,
    approvalsRequired: 0,
    approvals: [],
    expiresAt: null,
    decidedBy: null,
    decisionReason: null,
    waitInQueue: false,
    breakGlassReason: null,
    ...overrides,
  };
}

const health = (overrides: Record<string, unknown> = {}): AnalysisSpec =>
  analysisSpec.parse({
    count: 2,
    interval: '1m',
    metrics: [{ name: 'error-rate', provider: 'prom', query: 'q', successCondition: 'result < 0.01' }],
    ...overrides,
  });

const STEPS: CanaryStep[] = [{ weight: 10 }, { pause: 60_000 }, { analysis: 'health' }, { weight: 50 }, { analysis: 'health' }, { weight: 100 }];
const plan = (steps: CanaryStep[] = STEPS, analyses: Record<string, AnalysisSpec> = { health: health() }): CanaryPlan => ({ steps, analyses, baselineVersion: BASELINE });

const good = (): MetricReading[] => [{ metric: 'error-rate', kind: 'value', value: 0.002 }];
const bad = (): MetricReading[] => [{ metric: 'error-rate', kind: 'value', value: 0.2 }];
const empty = (): MetricReading[] => [{ metric: 'error-rate', kind: 'no-data' }];
const broken = (): MetricReading[] => [{ metric: 'error-rate', kind: 'error', error: 'Prometheus answered 503' }];

const summary = (effects: EffectSpec[]) => effects.map((e) => `${e.lane}:${e.type}:${e.step}`);
const actions = (t: Transition<Deployment>) => (t.audit ?? []).map((a) => `${a.action} by ${a.actor} (${a.source})`);
const payloadOf = <T>(effects: EffectSpec[], step: string): T => {
  const found = effects.find((e) => e.step === step);
  if (!found) throw new Error(`no effect ${step} in ${effects.map((e) => e.step).join(', ')}`);
  return found.payload as T;
};

/** An event and what it did, at the time it was handled. */
interface Handled {
  label: string;
  event: DeployEvent;
  at: Date;
  result: Transition<Deployment>;
}

const labelOf = (e: DeployEvent): string => {
  switch (e.type) {
    case 'canary.weight-set':
      return `weight-set ${e.step} ${e.weight}%${e.ok ? '' : ' (failed)'}`;
    case 'canary.pause-over':
      return `pause-over ${e.step}`;
    case 'canary.measure-due':
      return `measure-due ${e.step}/${e.tick}`;
    case 'canary.measured':
      return `measured ${e.step}/${e.tick}`;
    case 'canary.aborted':
      return `aborted${e.ok ? '' : ' (failed)'}`;
    default:
      return e.type;
  }
};

/**
 * Stands in for the runner and the effect handlers: each transition's effects that answer the
 * flow (a traffic move, a timer, a measurement) come back as the event their handler would
 * return, at the time it would. The clock is the drive's own: timers jump to their notBefore.
 */
class CanaryDrive {
  d: Deployment;
  now = STARTED;
  readonly handled: Handled[] = [];
  private readonly pending: { event: DeployEvent; at: Date }[] = [];

  constructor(
    private readonly canary: CanaryPlan = plan(),
    private readonly options: {
      readings?: (step: number, tick: number) => MetricReading[];
      weightOk?: (step: number | null) => boolean;
    } = {},
  ) {
    this.d = deployment('queued');
  }

  start(): Handled {
    return this.send({ type: 'start', canary: this.canary }, STARTED);
  }

  send(event: DeployEvent, at = this.now): Handled {
    this.now = at;
    const result = deployFlow.transition(this.d, event, at);
    this.d = result.state;
    const handled = { label: labelOf(event), event, at, result };
    this.handled.push(handled);
    for (const effect of result.effects) this.answer(effect, at);
    return handled;
  }

  /** Handles the oldest pending answer. */
  next(): Handled {
    const item = this.pending.shift();
    if (!item) throw new Error(`nothing pending after ${this.handled.map((h) => h.label).join(', ')}`);
    return this.send(item.event, item.at > this.now ? item.at : this.now);
  }

  /** Handles pending answers until there are none, or `until` says stop. */
  run(until: (d: Deployment) => boolean = () => false, max = 200): Handled[] {
    const from = this.handled.length;
    for (let i = 0; i < max && this.pending.length > 0 && !until(this.d); i += 1) this.next();
    return this.handled.slice(from);
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  get effects(): EffectSpec[] {
    return this.handled.flatMap((h) => h.result.effects);
  }

  get audit(): string[] {
    return this.handled.flatMap((h) => actions(h.result));
  }

  private answer(effect: EffectSpec, at: Date): void {
    const later = (ms: number) => new Date(at.getTime() + ms);
    if (effect.type === 'canary.weight') {
      const p = effect.payload as WeightPayload;
      const ok = this.options.weightOk?.(p.step) ?? true;
      const detail = ok ? `rollout api at ${p.weight}%` : 'the rollout controller answered 500';
      const event: CanaryEvent = p.step === null ? { type: 'canary.aborted', ok, detail } : { type: 'canary.weight-set', step: p.step, weight: p.weight, ok, detail };
      this.pending.push({ event, at: later(2_000) });
    } else if (effect.type === 'timer') {
      const event = effect.payload as DeployEvent;
      if (event.type.startsWith('canary.')) this.pending.push({ event, at: effect.notBefore! });
    } else if (effect.type === 'canary.measure') {
      const p = effect.payload as MeasurePayload;
      const readings = (this.options.readings ?? good)(p.step, p.tick);
      this.pending.push({ event: { type: 'canary.measured', step: p.step, tick: p.tick, at: later(1_000).toISOString(), readings }, at: later(1_000) });
    }
  }
}

const canaryOf = (d: Deployment) => d.canary!;

describe('a canary that goes well, step by step', () => {
  const rows: [string, string[]][] = [
    ['start', ['slack:message.update:card.deploying', 'slack:message.reply:reply.canary.plan', 'work:canary.weight:canary.0.weight']],
    ['weight-set 0 10%', ['slack:message.update:card.canary.0', 'slack:message.reply:reply.canary.0.weight', 'slack:message.reply:reply.canary.1.pause', 'timer:timer:canary.1.pause']],
    ['pause-over 1', ['slack:message.reply:reply.canary.2.analysis', 'timer:timer:canary.2.m0.due']],
    ['measure-due 2/0', ['work:canary.measure:canary.2.m0']],
    ['measured 2/0', ['slack:message.reply:reply.canary.2.m0', 'timer:timer:canary.2.m1.due']],
    ['measure-due 2/1', ['work:canary.measure:canary.2.m1']],
    ['measured 2/1', ['slack:message.reply:reply.canary.2.m1', 'slack:message.reply:reply.canary.2.passed', 'work:canary.weight:canary.3.weight']],
    ['weight-set 3 50%', ['slack:message.update:card.canary.3', 'slack:message.reply:reply.canary.3.weight', 'slack:message.reply:reply.canary.4.analysis', 'timer:timer:canary.4.m0.due']],
    ['measure-due 4/0', ['work:canary.measure:canary.4.m0']],
    ['measured 4/0', ['slack:message.reply:reply.canary.4.m0', 'timer:timer:canary.4.m1.due']],
    ['measure-due 4/1', ['work:canary.measure:canary.4.m1']],
    ['measured 4/1', ['slack:message.reply:reply.canary.4.m1', 'slack:message.reply:reply.canary.4.passed', 'work:canary.weight:canary.5.weight']],
    [
      'weight-set 5 100%',
      ['slack:message.update:card.canary.5', 'slack:message.reply:reply.canary.5.weight', 'slack:message.update:card.succeeded', 'slack:message.reply:reply.succeeded', 'slack:message.chart:canary.chart'],
    ],
  ];

  function driven(): CanaryDrive {
    const drive = new CanaryDrive();
    drive.start();
    drive.run();
    return drive;
  }

  it('each event and the effects it emits', () => {
    const drive = driven();
    expect(drive.handled.map((h) => [h.label, summary(h.result.effects)])).toEqual(rows);
    expect(drive.hasPending).toBe(false);
  });

  it('every effect of the whole canary has its own step, so no idempotency key repeats', () => {
    const steps = driven().effects.map((e) => e.step);
    expect(steps.length).toBeGreaterThan(20);
    expect(new Set(steps).size).toBe(steps.length);
  });

  it('ends succeeded, the canary promoted at 100%, the baseline as the known good version before it', () => {
    const drive = driven();
    expect(drive.d).toMatchObject({ status: 'succeeded', previousGood: BASELINE, error: null, finishedAt: drive.now });
    expect(canaryOf(drive.d)).toMatchObject({ status: 'promoted', weight: 100, stepIndex: 6, analysis: null, reason: null });
  });

  it('audits the start, the success and the promotion', () => {
    expect(driven().audit).toEqual(['deploy.started by system (system)', 'deploy.succeeded by system (system)', 'canary.promoted by system (system)']);
  });

  it('the start is audited as a canary', () => {
    const { result } = new CanaryDrive().start();
    expect(result.audit?.[0]).toMatchObject({ action: 'deploy.started', subject: 'api/prod', detail: { deploymentId: 42, version: '1.4.2', strategy: 'canary' } });
  });

  it('timers are due at now + the pause, now + the initial delay, then now + the interval', () => {
    const drive = driven();
    const timers = drive.handled.flatMap((h) => h.result.effects.filter((e) => e.lane === 'timer').map((e) => [e.step, e.notBefore!.getTime() - h.at.getTime()]));
    expect(timers).toEqual([
      ['canary.1.pause', 60_000],
      ['canary.2.m0.due', 0],
      ['canary.2.m1.due', 60_000],
      ['canary.4.m0.due', 0],
      ['canary.4.m1.due', 60_000],
    ]);
  });

  it('an initial delay holds back the first measurement only', () => {
    const drive = new CanaryDrive(plan([{ weight: 10 }, { analysis: 'health' }], { health: health({ initialDelay: '30s', interval: '2m' }) }));
    drive.start();
    drive.run();
    const timers = drive.handled.flatMap((h) => h.result.effects.filter((e) => e.lane === 'timer').map((e) => [e.step, e.notBefore!.getTime() - h.at.getTime()]));
    expect(timers).toEqual([
      ['canary.1.m0.due', 30_000],
      ['canary.1.m1.due', 120_000],
    ]);
  });

  it('traffic moves carry the target, the baseline and the step', () => {
    const drive = driven();
    const moves = drive.effects.filter((e) => e.type === 'canary.weight').map((e) => e.payload as WeightPayload);
    expect(moves.map((p) => [p.step, p.weight])).toEqual([
      [0, 10],
      [3, 50],
      [5, 100],
    ]);
    expect(moves[0]).toEqual({ deploymentId: 42, service: 'api', environment: 'prod', version: '1.4.2', requestedBy: 'U0ALICE', baselineVersion: BASELINE, weight: 10, step: 0 });
  });

  it('a measurement names its step and tick and gives the queries their variables, the window defaulting to the interval', () => {
    const drive = driven();
    const measure = payloadOf<MeasurePayload>(drive.effects, 'canary.2.m1');
    expect(measure).toEqual({
      step: 2,
      tick: 1,
      analysis: health(),
      variables: { service: 'api', env: 'prod', version: '1.4.2', window: '1m', baseline_version: BASELINE },
    });
  });

  it('the weight follows the traffic the deployer confirmed, on the card too', () => {
    const drive = new CanaryDrive();
    drive.start();
    expect(canaryOf(drive.d).weight).toBe(0);
    const { result } = drive.next();
    expect(canaryOf(drive.d)).toMatchObject({ weight: 10, stepIndex: 1, status: 'running' });
    expect(payloadOf<UpdateMessage>(result.effects, 'card.canary.0').message).toMatchObject({ kind: 'deploy', canary: { weight: 10, step: 2, steps: 6, status: 'running', baselineVersion: BASELINE } });
    expect(payloadOf<ThreadReply>(result.effects, 'reply.canary.1.pause').text).toBe('Step 2/6: holding 10% for 1m.');
  });

  it('the chart has every measurement of the error rate', () => {
    const drive = driven();
    const chart = payloadOf<ThreadChart>(drive.effects, 'canary.chart');
    expect(chart).toMatchObject({ messageKey: 'deploy:42', filename: 'canary-api-1.4.2-prod.png', comment: 'Canary promoted: every measurement, canary against baseline.' });
    expect(chart.series).toHaveLength(1);
    expect(chart.series[0]!.name).toBe('error-rate');
    expect(chart.series[0]!.canary.map((p) => p.value)).toEqual([0.002, 0.002, 0.002, 0.002]);
  });

  it('the thread says the plan, each step and the outcome', () => {
    const drive = driven();
    const text = (step: string) => payloadOf<ThreadReply>(drive.effects, step).text;
    expect(text('reply.canary.plan')).toBe('Canary of 1.4.2 against 1.4.1: 10% → pause 1m → analysis health → 50% → analysis health → 100%.');
    expect(text('reply.canary.2.analysis')).toBe('Step 3/6: analysis health at 10%, 2 measurements every 1m.');
    expect(text('reply.canary.4.analysis')).toBe('Step 5/6: analysis health at 50%, 2 measurements every 1m.');
    expect(text('reply.canary.2.m1')).toBe('Analysis health, measurement 2:\n✓ error-rate: successful, 0.002 (result < 0.01) [2/2]');
    expect(text('reply.canary.2.passed')).toBe('Analysis health passed.');
    expect(text('reply.canary.5.weight')).toBe('100% of traffic on 1.4.2. rollout api at 100%');
    // 2s per traffic move, 1s per measurement, a 1m pause and a 1m interval in each analysis
    expect(text('reply.succeeded')).toBe('api 1.4.2 is live in prod (took 3m 10s). The canary was promoted step by step to 100%, replacing 1.4.1.');
  });

  it('a start with a note still tells whoever waited, after the canary’s own effects', () => {
    const { result } = new CanaryDrive().send({ type: 'start', canary: plan(), note: 'Your turn.' }, STARTED);
    expect(summary(result.effects).at(-1)).toBe('slack:message.reply:reply.starting');
    expect(result.state).toMatchObject({ status: 'deploying', startedAt: STARTED });
  });

  it('a last step below 100% gets a final move to 100% before the promotion', () => {
    const drive = new CanaryDrive(plan([{ weight: 10 }, { analysis: 'health' }]));
    drive.start();
    const handled = drive.run();
    expect(handled.slice(-2).map((h) => [h.label, summary(h.result.effects)])).toEqual([
      ['measured 1/1', ['slack:message.reply:reply.canary.1.m1', 'slack:message.reply:reply.canary.1.passed', 'work:canary.weight:canary.2.weight']],
      ['weight-set 2 100%', ['slack:message.update:card.canary.2', 'slack:message.reply:reply.canary.2.weight', 'slack:message.update:card.succeeded', 'slack:message.reply:reply.succeeded', 'slack:message.chart:canary.chart']],
    ]);
    expect(payloadOf<WeightPayload>(drive.effects, 'canary.2.weight')).toMatchObject({ weight: 100, step: 2 });
    expect(drive.d.status).toBe('succeeded');
    expect(canaryOf(drive.d)).toMatchObject({ status: 'promoted', weight: 100 });
  });

  it('a last step of 100% needs no extra move', () => {
    const drive = driven();
    expect(drive.effects.filter((e) => e.type === 'canary.weight')).toHaveLength(3);
  });
});

describe('a canary whose analysis fails', () => {
  function failing(abortOk = true): CanaryDrive {
    const drive = new CanaryDrive(plan(), { readings: (step) => (step === 4 ? bad() : good()), weightOk: (step) => step !== null || abortOk });
    drive.start();
    drive.run((d) => canaryOf(d).status === 'aborting');
    return drive;
  }

  it('a measurement with a high error ratio sends all traffic back: aborting, weight 0, no step', () => {
    const drive = failing();
    const last = drive.handled.at(-1)!;
    expect(last.label).toBe('measured 4/0');
    expect(summary(last.result.effects)).toEqual([
      'slack:message.reply:reply.canary.4.m0',
      'slack:message.update:card.canary.aborting',
      'slack:message.reply:reply.canary.aborting',
      'work:canary.weight:canary.abort',
    ]);
    expect(payloadOf<WeightPayload>(last.result.effects, 'canary.abort')).toMatchObject({ weight: 0, step: null, baselineVersion: BASELINE, version: '1.4.2' });
    expect(canaryOf(drive.d)).toMatchObject({ status: 'aborting', weight: 50, reason: 'analysis health failed: error-rate failed 1 of 1 measurements (failureLimit 0)' });
    expect(drive.d.status).toBe('deploying');
  });

  it('tells the requester, in the channel too, why it rolls back', () => {
    const last = failing().handled.at(-1)!;
    expect(payloadOf<ThreadReply>(last.result.effects, 'reply.canary.aborting')).toEqual({
      messageKey: 'deploy:42',
      text: 'Rolling back to 1.4.1: analysis health failed: error-rate failed 1 of 1 measurements (failureLimit 0)',
      mention: ['U0ALICE'],
      broadcast: true,
    });
    expect(payloadOf<ThreadReply>(last.result.effects, 'reply.canary.4.m0').text).toBe(
      'Analysis health, measurement 1:\n✗ error-rate: failed, 0.2 (not result < 0.01) [1/2]',
    );
  });

  it('audits the rollback as Shipmate’s, with the reason and the weight it was at', () => {
    const last = failing().handled.at(-1)!;
    expect(last.result.audit).toEqual([
      {
        actor: 'system',
        source: 'system',
        action: 'canary.rollback',
        subject: 'api/prod',
        detail: { deploymentId: 42, version: '1.4.2', reason: 'analysis health failed: error-rate failed 1 of 1 measurements (failureLimit 0)', weight: 50 },
      },
    ]);
  });

  it('the abort confirmed: the deploy failed with an error naming the analysis, the canary rolled back', () => {
    const drive = failing();
    const { label, result } = drive.next();
    expect(label).toBe('aborted');
    expect(summary(result.effects)).toEqual(['slack:message.update:card.failed', 'slack:message.reply:reply.failed', 'slack:message.chart:canary.chart']);
    expect(drive.d).toMatchObject({
      status: 'failed',
      finishedAt: drive.now,
      error: 'Canary rolled back (analysis health failed: error-rate failed 1 of 1 measurements (failureLimit 0)); all traffic is back on 1.4.1.',
    });
    expect(canaryOf(drive.d)).toMatchObject({ status: 'rolled-back', weight: 0 });
    expect(payloadOf<ThreadChart>(result.effects, 'canary.chart').comment).toBe('Canary rolled back: every measurement, canary against baseline.');
    expect(drive.audit).toEqual(['deploy.started by system (system)', 'canary.rollback by system (system)', 'deploy.failed by system (system)']);
    expect(drive.hasPending).toBe(false);
  });

  it('the abort failed: abort-failed, and the error says traffic may still reach the version', () => {
    const drive = failing(false);
    const { label, result } = drive.next();
    expect(label).toBe('aborted (failed)');
    expect(drive.d.status).toBe('failed');
    expect(canaryOf(drive.d)).toMatchObject({ status: 'abort-failed', weight: 50 });
    expect(drive.d.error).toBe(
      'Canary rolled back (analysis health failed: error-rate failed 1 of 1 measurements (failureLimit 0)), but moving traffic off 1.4.2 failed: the rollout controller answered 500. 50% of traffic may still reach it: check the target and move it by hand.',
    );
    expect(payloadOf<ThreadChart>(result.effects, 'canary.chart').comment).toBe('Canary failed to roll back: every measurement, canary against baseline.');
  });

  it('every effect of a failed canary has its own step', () => {
    const drive = failing();
    drive.run();
    const steps = drive.effects.map((e) => e.step);
    expect(new Set(steps).size).toBe(steps.length);
  });

  it('a traffic move the deployer refuses aborts the canary', () => {
    const drive = new CanaryDrive(plan(), { weightOk: (step) => step !== 3 });
    drive.start();
    drive.run((d) => canaryOf(d).status === 'aborting');
    const last = drive.handled.at(-1)!;
    expect(last.label).toBe('weight-set 3 50% (failed)');
    expect(summary(last.result.effects)).toEqual(['slack:message.update:card.canary.aborting', 'slack:message.reply:reply.canary.aborting', 'work:canary.weight:canary.abort']);
    expect(canaryOf(drive.d)).toMatchObject({ status: 'aborting', weight: 10, reason: 'could not move 50% of traffic to 1.4.2: the rollout controller answered 500' });
    drive.run();
    expect(drive.d.status).toBe('failed');
    expect(canaryOf(drive.d).status).toBe('rolled-back');
  });
});

describe('without a baseline (a first deploy)', () => {
  const first = (readings: () => MetricReading[]) => {
    const drive = new CanaryDrive({ ...plan([{ weight: 10 }, { analysis: 'health' }]), baselineVersion: null }, { readings });
    drive.start();
    drive.run();
    return drive;
  };

  it('queries get no baseline_version, and a promotion leaves no known good version', () => {
    const drive = first(good);
    expect(payloadOf<MeasurePayload>(drive.effects, 'canary.1.m0').variables).toEqual({ service: 'api', env: 'prod', version: '1.4.2', window: '1m' });
    expect(payloadOf<ThreadReply>(drive.effects, 'reply.canary.plan').text).toBe('Canary of 1.4.2: 10% → analysis health.');
    expect(drive.d).toMatchObject({ status: 'succeeded', previousGood: null });
  });

  it('a rollback says the canary takes no traffic', () => {
    const drive = first(bad);
    expect(payloadOf<ThreadReply>(drive.effects, 'reply.canary.aborting').text).toMatch(/^Rolling back: analysis health failed/);
    expect(drive.d.error).toMatch(/; the canary takes no traffic\.$/);
  });
});

describe('values with no JSON form', () => {
  it('a NaN error rate (no requests: 0/0) fails a successCondition, and is kept in its wire form for the chart', () => {
    const drive = new CanaryDrive(plan([{ weight: 10 }, { analysis: 'health' }]), { readings: () => [{ metric: 'error-rate', kind: 'value', value: 'NaN' }] });
    drive.start();
    drive.run((d) => canaryOf(d).status === 'aborting');
    const run = canaryOf(drive.d);
    expect(run.reason).toBe('analysis health failed: error-rate failed 1 of 1 measurements (failureLimit 0)');
    expect(run.points).toEqual([{ at: '2026-11-23T10:00:08.000Z', series: 'error-rate', canary: 'NaN' }]);
    expect(JSON.parse(JSON.stringify(drive.d.canary))).toEqual(drive.d.canary); // the state survives SQLite's JSON
    drive.run();
    const chart = payloadOf<ThreadChart>(drive.effects, 'canary.chart');
    expect(chart.series[0]!.canary[0]!.value).toBeNaN();
  });

  it('comparison metrics put both medians on the chart', () => {
    const comparing = analysisSpec.parse({ count: 1, interval: '1m', metrics: [{ name: 'latency-p99', provider: 'prom', canaryQuery: 'c', baselineQuery: 'b', direction: 'increase' }] });
    const readings = (): MetricReading[] => [{ metric: 'latency-p99', kind: 'samples', canary: [120, 118, 125, 119, 122], baseline: [121, 119, 124, 118, 120] }];
    const drive = new CanaryDrive(plan([{ weight: 10 }, { analysis: 'health' }], { health: comparing }), { readings });
    drive.start();
    drive.run();
    expect(drive.d.status).toBe('succeeded');
    expect(payloadOf<ThreadChart>(drive.effects, 'canary.chart').series).toEqual([
      { name: 'latency-p99', canary: [{ at: '2026-11-23T10:00:08.000Z', value: 120 }], baseline: [{ at: '2026-11-23T10:00:08.000Z', value: 120 }] },
    ]);
  });
});

describe('errors in a row (consecutiveErrorLimit 4 by default)', () => {
  it.each<[string, number, CanaryStatus | 'promoted', DeploymentStatus]>([
    ['4 errors then good measurements: the analysis goes on and passes', 4, 'promoted', 'succeeded'],
    ['5 errors in a row: the analysis fails and the canary rolls back', 5, 'rolled-back', 'failed'],
  ])('%s', (_name, errors, canaryStatus, status) => {
    const drive = new CanaryDrive(plan([{ weight: 10 }, { analysis: 'health' }, { weight: 100 }]), { readings: (_step, tick) => (tick < errors ? broken() : good()) });
    drive.start();
    drive.run();
    expect(drive.d.status).toBe(status);
    expect(canaryOf(drive.d).status).toBe(canaryStatus);
    const measured = drive.handled.filter((h) => h.event.type === 'canary.measured').length;
    expect(measured).toBe(errors === 5 ? 5 : 4 + 2); // errors are not measurements: 2 good ones are still needed
  });

  it('the fifth error names the check and the limit', () => {
    const drive = new CanaryDrive(plan([{ weight: 10 }, { analysis: 'health' }]), { readings: broken });
    drive.start();
    drive.run((d) => canaryOf(d).status === 'aborting');
    expect(drive.handled.at(-1)!.label).toBe('measured 1/4');
    expect(canaryOf(drive.d).reason).toBe('analysis health failed: error-rate could not be measured 5 times in a row (consecutiveErrorLimit 4)');
    expect(payloadOf<ThreadReply>(drive.effects, 'reply.canary.1.m0').text).toBe('Analysis health, measurement 1:\n! error-rate: error (not counted): Prometheus answered 503 [0/2]');
  });
});

describe('an inconclusive analysis pauses for a person', () => {
  function paused(): CanaryDrive {
    const drive = new CanaryDrive(plan(), { readings: (step, tick) => (step === 2 && tick === 0 ? empty() : good()) });
    drive.start();
    drive.run((d) => canaryOf(d).status === 'paused');
    return drive;
  }
  const REASON = 'error-rate was inconclusive 1 of 1 measurements (inconclusiveLimit 0)';

  it('no data: paused, with why, and the requester asked to decide; only the decision deadline is scheduled', () => {
    const drive = paused();
    const last = drive.handled.at(-1)!;
    expect(last.label).toBe('measured 2/0');
    expect(summary(last.result.effects)).toEqual([
      'slack:message.reply:reply.canary.2.m0',
      'slack:message.update:card.canary.2.paused',
      'slack:message.reply:reply.canary.2.inconclusive',
      'timer:timer:canary.2.decision',
    ]);
    const deadline = last.result.effects.find((e) => e.step === 'canary.2.decision')!;
    expect(deadline.payload).toEqual({ type: 'canary.decision-due', step: 2 });
    expect(deadline.notBefore!.getTime() - drive.now.getTime()).toBe(3_600_000);
    expect(drive.d.status).toBe('deploying');
    expect(canaryOf(drive.d)).toMatchObject({ status: 'paused', weight: 10, stepIndex: 2, pausedFor: `analysis health is inconclusive: ${REASON}` });
    expect(payloadOf<ThreadReply>(last.result.effects, 'reply.canary.2.inconclusive')).toEqual({
      messageKey: 'deploy:42',
      text: `The canary is paused at 10%: analysis health is inconclusive (${REASON}). Promote anyway or Roll back from the message; without a decision within 1h it rolls back.`,
      mention: ['U0ALICE'],
    });
    expect(actions(last.result)).toEqual(['canary.paused by system (system)']);
    expect(last.result.audit![0]!.detail).toEqual({ deploymentId: 42, version: '1.4.2', reason: REASON });
  });

  it('rolls back when nobody decides before the deadline; a deadline of an earlier pause changes nothing', () => {
    const drive = paused();
    const later = new Date(drive.now.getTime() + 3_600_000);
    expect(drive.send({ type: 'canary.decision-due', step: 1 }, later).result.effects).toEqual([]);
    const due = drive.send({ type: 'canary.decision-due', step: 2 }, later);
    expect(canaryOf(drive.d)).toMatchObject({ status: 'aborting', reason: 'nobody promoted it within 1h of the inconclusive analysis', decidedBy: null });
    expect(summary(due.result.effects)).toContain('work:canary.weight:canary.abort');
  });

  it('canary.promote goes on with the next step, and is audited as the person’s', () => {
    const drive = paused();
    const promote = drive.send({ type: 'canary.promote', by: BOB, source: 'button' }, new Date(drive.now.getTime() + 5 * 60_000));
    expect(summary(promote.result.effects)).toEqual(['slack:message.update:card.canary.2.promoted', 'slack:message.reply:reply.canary.2.promoted', 'work:canary.weight:canary.3.weight']);
    expect(payloadOf<ThreadReply>(promote.result.effects, 'reply.canary.2.promoted').text).toBe('Promoted anyway by <@U0BOB>; going on.');
    expect(canaryOf(drive.d)).toMatchObject({ status: 'running', pausedFor: null, decidedBy: BOB, stepIndex: 3, analysis: null });
    expect(promote.result.audit).toEqual([
      { actor: BOB, source: 'button', action: 'canary.promoted-anyway', subject: 'api/prod', detail: { deploymentId: 42, version: '1.4.2', reason: `analysis health is inconclusive: ${REASON}` } },
    ]);

    drive.run();
    expect(drive.d.status).toBe('succeeded');
    expect(canaryOf(drive.d).status).toBe('promoted');
    expect(drive.audit).toEqual([
      'deploy.started by system (system)',
      'canary.paused by system (system)',
      'canary.promoted-anyway by U0BOB (button)',
      'deploy.succeeded by system (system)',
      'canary.promoted by system (system)',
    ]);
    const steps = drive.effects.map((e) => e.step);
    expect(new Set(steps).size).toBe(steps.length);
  });

  it('canary.rollback aborts, audited with who and from where', () => {
    const drive = paused();
    const rollback = drive.send({ type: 'canary.rollback', by: BOB, source: 'slash_command', reason: 'dashboards look off' });
    expect(summary(rollback.result.effects)).toEqual(['slack:message.update:card.canary.aborting', 'slack:message.reply:reply.canary.aborting', 'work:canary.weight:canary.abort']);
    expect(canaryOf(drive.d)).toMatchObject({ status: 'aborting', pausedFor: null, decidedBy: BOB, reason: 'rolled back by <@U0BOB>: dashboards look off' });
    expect(rollback.result.audit).toEqual([
      {
        actor: BOB,
        source: 'slash_command',
        action: 'canary.rollback',
        subject: 'api/prod',
        detail: { deploymentId: 42, version: '1.4.2', reason: 'rolled back by <@U0BOB>: dashboards look off', weight: 10 },
      },
    ]);
    drive.run();
    expect(drive.d).toMatchObject({ status: 'failed', error: 'Canary rolled back (rolled back by <@U0BOB>: dashboards look off); all traffic is back on 1.4.1.' });
    expect(canaryOf(drive.d).status).toBe('rolled-back');
    expect(drive.audit).toEqual(['deploy.started by system (system)', 'canary.paused by system (system)', 'canary.rollback by U0BOB (slash_command)', 'deploy.failed by system (system)']);
  });

  it('a person can roll back a running canary too', () => {
    const drive = new CanaryDrive();
    drive.start();
    drive.next(); // at 10%, pausing
    drive.send({ type: 'canary.rollback', by: BOB, source: 'button', reason: 'wrong build' });
    expect(canaryOf(drive.d).status).toBe('aborting');
    drive.run();
    expect(drive.d.status).toBe('failed');
    expect(drive.handled.map((h) => h.label)).toEqual(['start', 'weight-set 0 10%', 'canary.rollback', 'pause-over 1', 'aborted']);
  });
});

describe('stale and duplicate events change nothing and emit nothing', () => {
  /** Drives a canary to the point `until` says, and returns its deployment then. */
  function at(until: (d: Deployment, last: Handled) => boolean, options: ConstructorParameters<typeof CanaryDrive>[1] = {}): Deployment {
    const drive = new CanaryDrive(plan(), options);
    drive.start();
    while (!until(drive.d, drive.handled.at(-1)!)) drive.next();
    return drive.d;
  }
  const pausing = () => at((_d, last) => last.label === 'weight-set 0 10%');
  const measuredOnce = () => at((_d, last) => last.label === 'measured 2/0');
  const measuring = () => at((_d, last) => last.label === 'measure-due 2/1');
  const inconclusive = () => at((d) => canaryOf(d).status === 'paused', { readings: empty });
  const aborting = () => at((d) => canaryOf(d).status === 'aborting', { readings: bad });
  const rolledBack = () => at((d) => d.status === 'failed', { readings: bad });
  const promoted = () => at((d) => d.status === 'succeeded');

  const measured = (step: number, tick: number, readings = good()): CanaryEvent => ({ type: 'canary.measured', step, tick, at: STARTED.toISOString(), readings });
  const weightSet = (step: number, weight: number): CanaryEvent => ({ type: 'canary.weight-set', step, weight, ok: true, detail: '' });
  const promote: CanaryEvent = { type: 'canary.promote', by: BOB, source: 'button' };
  const rollback: CanaryEvent = { type: 'canary.rollback', by: BOB, source: 'button', reason: 'late click' };
  const aborted: CanaryEvent = { type: 'canary.aborted', ok: true, detail: '' };

  const ALL: CanaryEvent[] = [
    weightSet(0, 10),
    { type: 'canary.pause-over', step: 1 },
    { type: 'canary.measure-due', step: 2, tick: 0 },
    measured(2, 0),
    promote,
    rollback,
    aborted,
  ];

  const cases: [string, () => Deployment, CanaryEvent][] = [
    ['a second canary.measured for the same tick', measuredOnce, measured(2, 0, bad())],
    ['a canary.measured for a tick not yet due', measuredOnce, measured(2, 2, bad())],
    ['a canary.measured for another step', measuring, measured(4, 1, bad())],
    ['an old measure-due timer', measuredOnce, { type: 'canary.measure-due', step: 2, tick: 0 }],
    ['a measure-due for another step', measuring, { type: 'canary.measure-due', step: 4, tick: 1 }],
    ['a pause-over for another step', pausing, { type: 'canary.pause-over', step: 3 }],
    ['a pause-over for a step that is not a pause', measuring, { type: 'canary.pause-over', step: 2 }],
    ['a weight-set for an earlier step', pausing, weightSet(0, 10)],
    ['a weight-set for a later step', pausing, weightSet(3, 50)],
    ['a weight-set after an abort', aborting, weightSet(3, 50)],
    ['a measurement after an abort', aborting, measured(2, 1, good())],
    ['a measurement while paused', inconclusive, measured(2, 1, good())],
    ['a measure-due while paused', inconclusive, { type: 'canary.measure-due', step: 2, tick: 1 }],
    ['canary.promote while running', measuring, promote],
    ['canary.promote while aborting', aborting, promote],
    ['canary.rollback while aborting', aborting, rollback],
    ['canary.aborted while running', measuring, aborted],
    ['canary.aborted while paused', inconclusive, aborted],
  ];
  for (const [name, state] of [['succeeded', promoted], ['failed', rolledBack]] as const) {
    for (const event of ALL) cases.push([`${event.type} after the deploy ${name}`, state, event]);
  }
  for (const event of ALL) cases.push([`${event.type} on a queued deploy with a canary`, () => deployment('queued', { canary: { ...canaryOf(measuring()) } }), event]);
  for (const event of ALL) cases.push([`${event.type} on a deploying deploy without a canary`, () => deployment('deploying', { startedAt: STARTED }), event]);

  it.each(cases)('%s', (_name, state, event) => {
    const before = state();
    const snapshot = structuredClone(before);
    const result = deployFlow.transition(before, event, new Date(STARTED.getTime() + 3_600_000));
    expect(result).toEqual({ state: snapshot, effects: [] });
    expect(before).toEqual(snapshot);
  });

  it('canaryTransition on its own ignores a deploy that is not deploying', () => {
    const done = promoted();
    expect(canaryTransition(done, weightSet(5, 100), STARTED)).toEqual({ state: done, effects: [] });
  });

  it('a repeated measure-due for the current tick asks for the same measurement (same step, so the queue keeps one)', () => {
    const before = at((_d, last) => last.label === 'measure-due 2/1');
    const again = deployFlow.transition(before, { type: 'canary.measure-due', step: 2, tick: 1 }, STARTED);
    expect(again.state).toBe(before);
    expect(summary(again.effects)).toEqual(['work:canary.measure:canary.2.m1']);
  });

  it('a deploy with a canary ignores a plain `finished`', () => {
    const before = measuring();
    expect(deployFlow.transition(before, { type: 'finished', outcome: { ok: true, summary: 'done' } }, STARTED)).toEqual({ state: before, effects: [] });
  });
});

describe('a condition that only fails when evaluated', () => {
  it('makes the measurement an error, instead of throwing out of the transition', () => {
    // `config check` refuses such a condition; a state stored before that check existed may still hold one.
    const spec = health();
    spec.metrics[0] = { ...spec.metrics[0]!, successCondition: 'abs(result) < 0.01' };
    const drive = new CanaryDrive(plan([{ weight: 10 }, { analysis: 'health' }], { health: spec }));
    drive.start();
    drive.run((d) => canaryOf(d).analysis?.ticks === 1);
    expect(canaryOf(drive.d).analysis?.counts['error-rate']).toMatchObject({ taken: 0, consecutiveErrors: 1 });
  });
});
