import type { Transition } from '../../../flows/flow';
import { releaseCard, type PostMessage, type ThreadReply, type UpdateMessage } from '../../../flows/messages';
import { type ReleaseEvent, releaseFlow, releaseFlowId, releaseFlowStates, type WavePayload } from '../../../flows/release-flow';
import type { EffectSpec } from '../../../src/core/ports';
import { planWaves } from '../../../src/core/release-plan';
import type { Release, ReleaseStatus, ServiceRun } from '../../../src/core/types';
import { FakeReleaseStore } from '../fakes/fake-release-store';

const CREATED = new Date('2026-11-23T10:00:00.000Z');
const NOW = new Date('2026-11-23T10:05:00.000Z');
const MINUTE = 60_000;
const GRACE = 15 * MINUTE;
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';

/** db, then api and worker (they depend on db), then web (depends on api). */
const DEPENDS: Record<string, string[]> = { api: ['db'], worker: ['db'], web: ['api'] };
const WAVES = planWaves(
  [
    { name: 'web', version: '3.0.0' },
    { name: 'api', version: '1.4.2' },
    { name: 'worker', version: '0.9.0' },
    { name: 'db', version: '7.1.0' },
  ],
  (s) => DEPENDS[s] ?? [],
);

function release(status: ReleaseStatus, overrides: Partial<Release> = {}): Release {
  return {
    id: 7,
    name: 'checkout-v2',
    environment: 'prod',
    status,
    waves: WAVES,
    results: {},
    requestedBy: ALICE,
    source: 'slash_command',
    channel: 'C0DEPLOYS',
    notes: null,
    requestKey: 'trigger-1',
    scheduledFor: null,
    createdAt: CREATED,
    startedAt: status === 'scheduled' ? null : CREATED,
    finishedAt: null,
    ...overrides,
  };
}

const run = (status: ServiceRun['status'], deploymentId?: number): ServiceRun => ({ status, ...(deploymentId ? { deploymentId } : {}) });
const at = (msAfterNow: number) => new Date(NOW.getTime() + msAfterNow);

const created: ReleaseEvent = { type: 'created', missedGraceMs: GRACE };
const scheduledTime: ReleaseEvent = { type: 'scheduled-time', graceMs: GRACE };
const finished = (service: string, ok = true, error?: string): ReleaseEvent => ({ type: 'service-finished', service, ok, ...(error ? { error } : {}) });
const waveStarted = (wave: number, started: [string, number][], refused: [string, string][] = []): ReleaseEvent => ({
  type: 'wave-started',
  wave,
  started: started.map(([service, deploymentId]) => ({ service, deploymentId })),
  refused: refused.map(([service, error]) => ({ service, error })),
});
const pause = (by = BOB): ReleaseEvent => ({ type: 'pause', by, source: 'button' });
const resume = (by = BOB): ReleaseEvent => ({ type: 'resume', by, source: 'button' });
const abort = (by = BOB): ReleaseEvent => ({ type: 'abort', by, source: 'button' });

const summary = (effects: EffectSpec[]) => effects.map((e) => `${e.lane}:${e.type}:${e.step}`);
const steps = (effects: EffectSpec[]) => effects.map((e) => e.step);
const auditOf = (t: Transition<Release>) => (t.audit ?? []).map((a) => `${a.action} by ${a.actor}`);
const replyOf = (t: Transition<Release>) => t.effects.find((e) => e.type === 'message.reply')?.payload as ThreadReply | undefined;
const statuses = (r: Release) => Object.fromEntries(Object.entries(r.results).map(([s, x]) => [s, x.status]));

/** Feeds events one after another, from `start`, returning every transition. */
function drive(start: Release, events: [ReleaseEvent, Date][]): Transition<Release>[] {
  const out: Transition<Release>[] = [];
  let r = start;
  for (const [event, now] of events) {
    const t = releaseFlow.transition(r, event, now);
    out.push(t);
    r = t.state;
  }
  return out;
}

/** A running release whose wave 1 (db) succeeded and wave 2 (api, worker) is running. */
const inWave2 = (overrides: Partial<Release> = {}) =>
  release('running', { results: { db: run('succeeded', 1), api: run('running', 2), worker: run('running', 3) }, ...overrides });

describe('releaseFlow.transition', () => {
  it('is the "release" kind, names flows release:<id> and keeps its state in the release store', () => {
    expect(releaseFlow.kind).toBe('release');
    expect(releaseFlowId(7)).toBe('release:7');
    const store = new FakeReleaseStore();
    const r = store.create({ name: 'x', environment: 'prod', waves: WAVES, requestedBy: ALICE, source: 'slash_command', channel: 'C0DEPLOYS', notes: null, requestKey: null, scheduledFor: null }, CREATED);
    const states = releaseFlowStates(store);
    expect(states.load(releaseFlowId(r.id))).toEqual(r);
    states.save({ ...r, status: 'running', startedAt: NOW });
    expect(store.get(r.id)).toMatchObject({ status: 'running', startedAt: NOW });
    expect(states.load('release:99')).toBeUndefined();
  });

  describe('created: now or at its time', () => {
    it.each<[string, Date | null]>([
      ['no time given', null],
      ['a time already come', new Date(NOW.getTime() - MINUTE)],
      ['exactly now', NOW],
    ])('%s: posts the card and starts wave 1 at once', (_name, scheduledFor) => {
      const before = release('scheduled', { scheduledFor });
      const t = releaseFlow.transition(before, created, NOW);

      expect(t.state).toEqual({ ...before, status: 'running', startedAt: NOW, results: { db: { status: 'running' } } });
      expect(summary(t.effects)).toEqual(['slack:message.post:card.post', 'slack:message.update:card.started.wave1', 'work:release.wave:wave.1']);
      // The card goes to the release's channel, keyed by the flow; the update right after shows it running.
      expect(t.effects[0]!.payload).toMatchObject({ messageKey: 'release:7', channel: 'C0DEPLOYS', message: { kind: 'release', releaseId: 7, name: 'checkout-v2' } });
      expect(t.effects[1]!.payload).toEqual({ messageKey: 'release:7', message: releaseCard(t.state) } satisfies UpdateMessage);
      expect(t.effects[2]!.payload).toEqual({ releaseId: 7, wave: 1 } satisfies WavePayload);
      expect(t.audit).toEqual([{ actor: 'system', source: 'system', action: 'release.started', subject: 'release/checkout-v2', detail: { releaseId: 7, environment: 'prod' } }]);
      expect(before.status).toBe('scheduled'); // a new state, not a mutation
    });

    it('a time to come: posts the card and sets a timer for it that carries the grace period', () => {
      const when = new Date('2026-11-24T10:00:00.000Z');
      const before = release('scheduled', { scheduledFor: when });
      const t = releaseFlow.transition(before, { type: 'created', missedGraceMs: 42 * MINUTE }, NOW);

      expect(t.state).toEqual(before);
      expect(summary(t.effects)).toEqual(['slack:message.post:card.post', 'timer:timer:timer.start']);
      expect(t.effects[1]).toEqual({ step: 'timer.start', lane: 'timer', type: 'timer', payload: { type: 'scheduled-time', graceMs: 42 * MINUTE }, notBefore: when });
      expect((t.effects[0]!.payload as PostMessage).message).toMatchObject({ status: 'scheduled', scheduledFor: '2026-11-24T10:00:00.000Z' });
      expect(t.audit ?? []).toEqual([]);
    });
  });

  describe('scheduled-time: on time, late within the grace, or missed', () => {
    const due = new Date('2026-11-23T10:00:00.000Z');
    it.each<[string, number, ReleaseStatus]>([
      ['on time', 0, 'running'],
      ['a minute late', MINUTE, 'running'],
      ['exactly the grace late', GRACE, 'running'],
      ['a millisecond more than the grace late', GRACE + 1, 'missed'],
      ['a day late', 24 * 60 * MINUTE, 'missed'],
    ])('%s -> %s', (_name, late, status) => {
      const now = new Date(due.getTime() + late);
      const t = releaseFlow.transition(release('scheduled', { scheduledFor: due }), scheduledTime, now);
      expect(t.state.status).toBe(status);
      if (status === 'running') {
        expect(t.state).toMatchObject({ startedAt: now, finishedAt: null, results: { db: { status: 'running' } } });
        // The card was posted when it was created: only an update and the wave now.
        expect(summary(t.effects)).toEqual(['slack:message.update:card.started.wave1', 'work:release.wave:wave.1']);
        expect(auditOf(t)).toEqual(['release.started by system']);
      } else {
        expect(t.state).toMatchObject({ startedAt: null, finishedAt: now, results: {} });
        expect(summary(t.effects)).toEqual(['slack:message.update:card.missed', 'slack:message.reply:reply.missed']);
        expect(auditOf(t)).toEqual(['release.missed by system']);
      }
    });

    it('uses the grace the timer carries', () => {
      const r = release('scheduled', { scheduledFor: CREATED });
      const later = new Date(CREATED.getTime() + 2 * MINUTE);
      expect(releaseFlow.transition(r, { type: 'scheduled-time', graceMs: MINUTE }, later).state.status).toBe('missed');
      expect(releaseFlow.transition(r, { type: 'scheduled-time', graceMs: 3 * MINUTE }, later).state.status).toBe('running');
    });

    it('missed: tells the requester why it did not start and what to do', () => {
      const r = release('scheduled', { scheduledFor: CREATED });
      const t = releaseFlow.transition(r, scheduledTime, new Date(CREATED.getTime() + GRACE + MINUTE));
      expect(replyOf(t)).toEqual({
        messageKey: 'release:7',
        text: 'Release checkout-v2 was due while Shipmate was not running and is more than the grace period late, so it did not start. Create it again to run it now.',
        mention: [ALICE],
      });
      expect((t.effects[0]!.payload as UpdateMessage).message).toMatchObject({ status: 'missed' });
      expect(t.effects.some((e) => e.type === 'release.wave')).toBe(false);
    });
  });

  describe('waves', () => {
    it('a whole release: each wave after the one before succeeded, every effect step unique', () => {
      const ts = drive(release('scheduled'), [
        [created, NOW],
        [waveStarted(1, [['db', 1]]), at(1)],
        [finished('db'), at(2)],
        [waveStarted(2, [['api', 2], ['worker', 3]]), at(3)],
        [finished('worker'), at(4)],
        [finished('api'), at(5)],
        [waveStarted(3, [['web', 4]]), at(6)],
        [finished('web'), at(7)],
      ]);
      const all = ts.flatMap((t) => t.effects);
      expect(all.filter((e) => e.type === 'release.wave').map((e) => [e.step, e.payload])).toEqual([
        ['wave.1', { releaseId: 7, wave: 1 }],
        ['wave.2', { releaseId: 7, wave: 2 }],
        ['wave.3', { releaseId: 7, wave: 3 }],
      ]);
      expect(new Set(steps(all)).size).toBe(all.length);
      expect(ts.map((t) => steps(t.effects))).toEqual([
        ['card.post', 'card.started.wave1', 'wave.1'],
        ['card.wave1.started'],
        ['card.db.finished.wave2', 'wave.2'],
        ['card.wave2.started'],
        ['card.worker.finished'],
        ['card.api.finished.wave3', 'wave.3'],
        ['card.wave3.started'],
        ['card.succeeded', 'reply.succeeded'],
      ]);
      const last = ts.at(-1)!;
      expect(last.state).toMatchObject({ status: 'succeeded', finishedAt: at(7) });
      expect(last.state.results).toEqual({ db: run('succeeded', 1), api: run('succeeded', 2), worker: run('succeeded', 3), web: run('succeeded', 4) });
      expect(replyOf(last)).toEqual({ messageKey: 'release:7', text: 'Release checkout-v2 is out: every service is live in prod.', mention: [ALICE] });
      expect(ts.flatMap(auditOf)).toEqual(['release.started by system', 'release.succeeded by system']);
    });

    it('wave-started records the deploy of each service and waits for them', () => {
      const t = releaseFlow.transition(release('running', { results: { db: run('running') } }), waveStarted(1, [['db', 11]]), NOW);
      expect(t.state.results).toEqual({ db: { status: 'running', deploymentId: 11 } });
      expect(summary(t.effects)).toEqual(['slack:message.update:card.wave1.started']);
      expect((t.effects[0]!.payload as UpdateMessage).message).toMatchObject({ waves: [{ index: 1, services: [{ name: 'db', run: { status: 'running', deploymentId: 11 } }] }, {}, {}] });
    });

    it('a wave starts only when every service of the wave before succeeded', () => {
      const t = releaseFlow.transition(inWave2(), finished('api'), NOW);
      expect(statuses(t.state)).toEqual({ db: 'succeeded', api: 'succeeded', worker: 'running' });
      expect(steps(t.effects)).toEqual(['card.api.finished']);
    });

    it.each<[string, ServiceRun['status']]>([
      ['succeeded', 'succeeded'],
      ['failed', 'failed'],
    ])('a service that %s before its wave-started event keeps its outcome', (_name, outcome) => {
      // wave 2 started; api's deploy finished before the wave handler reported back.
      const r = inWave2({ results: { db: run('succeeded', 1), api: run(outcome), worker: run('running') } });
      const t = releaseFlow.transition(r, waveStarted(2, [['api', 2], ['worker', 3]]), NOW);
      expect(t.state.results).toEqual({ db: run('succeeded', 1), api: run(outcome, 2), worker: run('running', 3) });
      expect(t.effects.some((e) => e.type === 'release.wave')).toBe(false);
    });

    it('a wave whose only deploy finished before wave-started has already started the next one; wave-started changes only the card', () => {
      const [afterFinish, afterReport] = drive(release('running', { results: { db: run('running') } }), [
        [finished('db'), NOW],
        [waveStarted(1, [['db', 1]]), at(1)],
      ]);
      expect(steps(afterFinish!.effects)).toEqual(['card.db.finished.wave2', 'wave.2']);
      expect(afterReport!.state.results).toEqual({ db: run('succeeded', 1), api: run('running'), worker: run('running') });
      expect(steps(afterReport!.effects)).toEqual(['card.wave1.started']);
    });
  });

  describe('failures', () => {
    it('a failed service stops later waves; the report waits for the rest of its wave and names failed and deployed services newest first', () => {
      const [apiFailed, workerDone] = drive(inWave2(), [
        [finished('api', false, 'the webhook answered 500'), NOW],
        [finished('worker'), at(1)],
      ]);
      expect(apiFailed!.state.status).toBe('running');
      expect(steps(apiFailed!.effects)).toEqual(['card.api.finished']);
      expect(apiFailed!.state.results.api).toEqual({ status: 'failed', deploymentId: 2, error: 'the webhook answered 500' });

      const t = workerDone!;
      expect(t.state).toMatchObject({ status: 'failed', finishedAt: at(1) });
      expect(summary(t.effects)).toEqual(['slack:message.update:card.failed', 'slack:message.reply:reply.failed']);
      expect(replyOf(t)).toEqual({
        messageKey: 'release:7',
        text: 'Release checkout-v2 stopped: api failed, so later waves will not start. Already deployed in this release (newest first): worker, db; roll them back if the failure leaves them broken.',
        mention: [ALICE],
      });
      expect(t.audit).toEqual([
        { actor: 'system', source: 'system', action: 'release.failed', subject: 'release/checkout-v2', detail: { releaseId: 7, environment: 'prod', failed: ['api'], deployed: ['worker', 'db'] } },
      ]);
    });

    it('newest first: the last wave\'s services come before the earlier waves\'', () => {
      const r = release('running', { results: { db: run('succeeded', 1), api: run('succeeded', 2), worker: run('succeeded', 3), web: run('running', 4) } });
      const t = releaseFlow.transition(r, finished('web', false, 'boom'), NOW);
      expect(replyOf(t)!.text).toContain('web failed, so later waves will not start. Already deployed in this release (newest first): worker, api, db;');
    });

    it('a failure in wave 1 has nothing deployed to mention', () => {
      const t = releaseFlow.transition(release('running', { results: { db: run('running', 1) } }), finished('db', false, 'migration failed'), NOW);
      expect(t.state.status).toBe('failed');
      expect(replyOf(t)!.text).toBe('Release checkout-v2 stopped: db failed, so later waves will not start.');
    });

    it('a deploy the wave could not even request fails the release with its reason', () => {
      const r = release('running', { results: { db: run('succeeded', 1), api: run('running'), worker: run('running') } });
      const t = releaseFlow.transition(r, waveStarted(2, [['worker', 3]], [['api', 'prod is frozen: quarterly release.']]), NOW);
      expect(t.state.results.api).toEqual({ status: 'failed', error: 'prod is frozen: quarterly release.' });
      expect(t.state.status).toBe('running'); // worker is still deploying
      const done = releaseFlow.transition(t.state, finished('worker'), at(1));
      expect(done.state.status).toBe('failed');
      expect(replyOf(done)!.text).toBe(
        'Release checkout-v2 stopped: api failed, so later waves will not start. Already deployed in this release (newest first): worker, db; roll them back if the failure leaves them broken.',
      );
      expect(done.effects.some((e) => e.type === 'release.wave')).toBe(false);
    });

    it('every service of a wave refused: fails at once', () => {
      const t = releaseFlow.transition(release('running', { results: { db: run('running') } }), waveStarted(1, [], [['db', 'locked']]), NOW);
      expect(t.state.status).toBe('failed');
      expect(replyOf(t)!.text).toBe('Release checkout-v2 stopped: db failed, so later waves will not start.');
    });
  });

  describe('pause and resume', () => {
    it('pause: the current wave finishes but no new one starts; resume starts the next', () => {
      const [paused, apiDone, workerDone, resumed] = drive(inWave2(), [
        [pause(BOB), NOW],
        [finished('api'), at(1)],
        [finished('worker'), at(2)],
        [resume('U0CAROL'), at(3)],
      ]);
      expect(paused!.state.status).toBe('paused');
      expect(summary(paused!.effects)).toEqual([`slack:message.update:card.paused.${NOW.getTime()}`, `slack:message.reply:reply.paused.${NOW.getTime()}`]);
      expect(replyOf(paused!)).toEqual({ messageKey: 'release:7', text: 'paused the release: the current wave finishes, no new wave starts until someone resumes it.', mention: [BOB] });
      expect(auditOf(paused!)).toEqual([`release.paused by ${BOB}`]);

      expect(apiDone!.state.status).toBe('paused');
      expect(workerDone!.state).toMatchObject({ status: 'paused', results: { api: run('succeeded', 2), worker: run('succeeded', 3) } });
      expect(steps(workerDone!.effects)).toEqual(['card.worker.finished']); // no wave.3
      expect(statuses(workerDone!.state)).not.toHaveProperty('web');

      expect(resumed!.state.status).toBe('running');
      expect(resumed!.state.results.web).toEqual({ status: 'running' });
      expect(summary(resumed!.effects)).toEqual([`slack:message.update:card.resumed.${at(3).getTime()}.wave3`, 'work:release.wave:wave.3']);
      expect(resumed!.audit).toEqual([{ actor: 'U0CAROL', source: expect.any(String), action: 'release.resumed', subject: 'release/checkout-v2', detail: { releaseId: 7, environment: 'prod' } }]);
    });

    it('resume while the wave still runs: running again, nothing new starts yet', () => {
      const [, resumed, apiDone, workerDone] = drive(inWave2(), [
        [pause(), NOW],
        [resume(), at(1)],
        [finished('api'), at(2)],
        [finished('worker'), at(3)],
      ]);
      expect(resumed!.state.status).toBe('running');
      expect(steps(resumed!.effects)).toEqual([`card.resumed.${at(1).getTime()}`]);
      expect(apiDone!.effects.some((e) => e.type === 'release.wave')).toBe(false);
      expect(steps(workerDone!.effects)).toEqual(['card.worker.finished.wave3', 'wave.3']);
    });

    it('a paused release still concludes: the last wave succeeding or a failure ends it', () => {
      const last = release('paused', { results: { db: run('succeeded', 1), api: run('succeeded', 2), worker: run('succeeded', 3), web: run('running', 4) } });
      expect(releaseFlow.transition(last, finished('web'), NOW).state.status).toBe('succeeded');
      // worker still deploying: the failure waits for it, the release stays paused
      expect(releaseFlow.transition(inWave2({ status: 'paused' }), finished('api', false, 'x'), NOW).state.status).toBe('paused');
      const failed = drive(inWave2({ status: 'paused' }), [
        [finished('api', false, 'x'), NOW],
        [finished('worker'), at(1)],
      ]).at(-1)!;
      expect(failed.state.status).toBe('failed');
    });

    it('pausing and resuming twice gives each change its own steps', () => {
      const ts = drive(inWave2(), [
        [pause(), NOW],
        [resume(), at(1)],
        [pause(), at(2)],
        [resume(), at(3)],
      ]);
      const all = ts.flatMap((t) => steps(t.effects));
      expect(ts.map((t) => t.state.status)).toEqual(['paused', 'running', 'paused', 'running']);
      expect(new Set(all).size).toBe(all.length);
    });
  });

  describe('abort', () => {
    it.each<ReleaseStatus>(['scheduled', 'running', 'paused'])('from %s: aborted, told in the thread, audited with who did it', (status) => {
      const before = status === 'scheduled' ? release('scheduled', { scheduledFor: at(60 * MINUTE) }) : inWave2({ status });
      const t = releaseFlow.transition(before, abort('U0CAROL'), NOW);
      expect(t.state).toEqual({ ...before, status: 'aborted', finishedAt: NOW });
      expect(summary(t.effects)).toEqual(['slack:message.update:card.aborted', 'slack:message.reply:reply.aborted']);
      expect((t.effects[0]!.payload as UpdateMessage).message).toMatchObject({ status: 'aborted' });
      expect(replyOf(t)).toEqual({ messageKey: 'release:7', text: 'aborted the release: no further wave starts. Deploys already running finish on their own.', mention: ['U0CAROL'] });
      expect(auditOf(t)).toEqual(['release.aborted by U0CAROL']);
    });

    it('deploys that were running still report: the card shows them, no wave starts, it stays aborted', () => {
      const [, apiDone, workerDone] = drive(inWave2(), [
        [abort(), NOW],
        [finished('api'), at(1)],
        [finished('worker', false, 'boom'), at(2)],
      ]);
      expect(apiDone!.state.status).toBe('aborted');
      expect(summary(apiDone!.effects)).toEqual(['slack:message.update:card.api.finished']);
      expect(workerDone!.state).toMatchObject({ status: 'aborted', results: { api: run('succeeded', 2), worker: { status: 'failed', deploymentId: 3, error: 'boom' } } });
      expect(summary(workerDone!.effects)).toEqual(['slack:message.update:card.worker.finished']);
      expect(workerDone!.audit ?? []).toEqual([]);
    });

    it('an aborted scheduled release ignores its timer', () => {
      const [, fired] = drive(release('scheduled', { scheduledFor: at(MINUTE) }), [
        [abort(), NOW],
        [scheduledTime, at(MINUTE)],
      ]);
      expect(fired!.state.status).toBe('aborted');
      expect(fired!.effects).toEqual([]);
    });
  });

  describe('events that do not fit the state change nothing', () => {
    const EVENTS: Record<string, ReleaseEvent> = {
      created,
      'scheduled-time': scheduledTime,
      'wave-started': waveStarted(2, [['api', 2]]),
      'service-finished': finished('api'),
      pause: pause(),
      resume: resume(),
      abort: abort(),
    };
    const OVER: ReleaseStatus[] = ['succeeded', 'failed', 'missed'];
    const cases: [ReleaseStatus, string][] = [
      ...(['running', 'paused', 'aborted', ...OVER] as const).map((s): [ReleaseStatus, string] => [s, 'created']),
      ...(['running', 'paused', 'aborted', ...OVER] as const).map((s): [ReleaseStatus, string] => [s, 'scheduled-time']),
      ...(['aborted', ...OVER] as const).map((s): [ReleaseStatus, string] => [s, 'wave-started']),
      ...OVER.map((s): [ReleaseStatus, string] => [s, 'service-finished']),
      ...(['scheduled', 'paused', 'aborted', ...OVER] as const).map((s): [ReleaseStatus, string] => [s, 'pause']),
      ...(['scheduled', 'running', 'aborted', ...OVER] as const).map((s): [ReleaseStatus, string] => [s, 'resume']),
      ...(['aborted', ...OVER] as const).map((s): [ReleaseStatus, string] => [s, 'abort']),
    ];

    it.each(cases)('%s + %s', (status, event) => {
      const before = inWave2({ status, scheduledFor: CREATED, finishedAt: OVER.includes(status) || status === 'aborted' ? CREATED : null });
      const snapshot = structuredClone(before);
      const t = releaseFlow.transition(before, EVENTS[event]!, NOW);
      expect(t.effects).toEqual([]);
      expect(t.audit ?? []).toEqual([]);
      expect(t.state).toEqual(snapshot);
      expect(before).toEqual(snapshot); // and the input was not mutated either
    });
  });

  describe('audit rows', () => {
    it.each<[string, string, string, Release, ReleaseEvent]>([
      ['start now', 'release.started', 'system', release('scheduled'), created],
      ['start at its time', 'release.started', 'system', release('scheduled', { scheduledFor: NOW }), scheduledTime],
      ['missed', 'release.missed', 'system', release('scheduled', { scheduledFor: CREATED }), { type: 'scheduled-time', graceMs: 0 }],
      ['succeeded', 'release.succeeded', 'system', release('running', { results: { db: run('succeeded'), api: run('succeeded'), worker: run('succeeded'), web: run('running') } }), finished('web')],
      ['failed', 'release.failed', 'system', release('running', { results: { db: run('running') } }), finished('db', false, 'x')],
      ['paused', 'release.paused', 'U0PAUSER', inWave2(), pause('U0PAUSER')],
      ['resumed', 'release.resumed', 'U0RESUMER', inWave2({ status: 'paused' }), resume('U0RESUMER')],
      ['aborted', 'release.aborted', 'U0ABORTER', inWave2(), abort('U0ABORTER')],
    ])('%s: one %s row by %s', (_name, action, actor, before, event) => {
      const t = releaseFlow.transition(before, event, NOW);
      expect(t.audit).toHaveLength(1);
      expect(t.audit![0]).toMatchObject({ action, actor, subject: 'release/checkout-v2', detail: { releaseId: 7, environment: 'prod' } });
      if (actor === 'system') expect(t.audit![0]!.source).toBe('system');
      else expect(t.audit![0]!.source).not.toBe('system');
    });

    it('wave progress and service outcomes are not audited by the release (the deploys audit themselves)', () => {
      expect(releaseFlow.transition(inWave2(), finished('api'), NOW).audit ?? []).toEqual([]);
      expect(releaseFlow.transition(inWave2(), waveStarted(2, [['api', 2], ['worker', 3]]), NOW).audit ?? []).toEqual([]);
    });
  });
});
