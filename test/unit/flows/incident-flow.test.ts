import { type IncidentEvent, incidentFlow, incidentFlowId, incidentFlowStates } from '../../../flows/incident-flow';
import { incidentCard, type PostMessage, type ThreadReply, type UpdateMessage } from '../../../flows/messages';
import type { Incident, IncidentSnapshot } from '../../../src/core/incident';
import type { EffectSpec } from '../../../src/core/ports';
import { FakeIncidentStore } from '../fakes/fake-incident-store';

const OPENED = new Date('2026-11-23T10:00:00.000Z');
const NOW = new Date('2026-11-23T10:42:00.000Z'); // 42 minutes later
const ALICE = 'U0ALICE1';
const BOB = 'U0BOB001';

const FAST = { severity: 'page' as const, longWindow: '1h', shortWindow: '5m', factor: 14.4 };
const SLOW = { severity: 'ticket' as const, longWindow: '3d', shortWindow: '6h', factor: 1 };

function snapshot(overrides: Partial<IncidentSnapshot> = {}): IncidentSnapshot {
  return {
    objective: 99.9,
    period: '30d',
    burnRate: { '5m': 2.1, '1h': 1.8, '6h': 1.2, '3d': 1.1 },
    budgetRemaining: 0.62,
    alerts: [SLOW],
    runbook: 'https://runbooks.example.com/api-availability',
    summary: null,
    changes: [],
    rollback: { from: '1.4.2', to: '1.4.1' },
    evaluatedAt: OPENED.toISOString(),
    ...overrides,
  };
}

function incident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: 7,
    service: 'api',
    slo: 'availability',
    source: 'slo',
    status: 'firing',
    severity: 'ticket',
    channel: 'C0INCIDENT',
    environment: 'prod',
    snapshot: snapshot(),
    revision: 0,
    acknowledgedBy: null,
    rollback: null,
    releasesPausedBy: null,
    openedAt: OPENED,
    resolvedAt: null,
    ...overrides,
  };
}

const BURNING = snapshot({ burnRate: { '5m': 20, '1h': 15.2, '6h': 3, '3d': 1.3 }, alerts: [FAST, SLOW], evaluatedAt: NOW.toISOString() });
const CALMER = snapshot({ burnRate: { '5m': 1.5, '1h': 1.4, '6h': 1.2, '3d': 1.1 }, evaluatedAt: NOW.toISOString() });
const RECOVERED = snapshot({ burnRate: { '5m': 0.2, '1h': 0.3, '6h': 0.5, '3d': 0.9 }, alerts: [], evaluatedAt: NOW.toISOString() });

const ROLLBACK_31 = { deploymentId: 31, by: ALICE, from: '1.4.2', to: '1.4.1', status: 'requested' };

const EVENTS = {
  opened: { type: 'opened' },
  'evaluated ticket': { type: 'evaluated', severity: 'ticket', snapshot: CALMER },
  'evaluated page': { type: 'evaluated', severity: 'page', snapshot: BURNING },
  resolved: { type: 'resolved' },
  'resolved with snapshot': { type: 'resolved', snapshot: RECOVERED },
  'acknowledged by alice': { type: 'acknowledged', by: ALICE, source: 'button' },
  'acknowledged by bob': { type: 'acknowledged', by: BOB, source: 'button' },
  'rollback-started #31': { type: 'rollback-started', by: ALICE, source: 'button', deploymentId: 31, from: '1.4.2', to: '1.4.1' },
  'rollback-started #32': { type: 'rollback-started', by: BOB, source: 'slash_command', deploymentId: 32, from: '1.4.2', to: '1.4.0' },
  'rollback-refused': { type: 'rollback-refused', by: BOB, reason: 'api in prod is locked by <@U0CAROL1>: maintenance. Unlock it to roll back.' },
  'progress #31 deploying': { type: 'rollback-progress', deploymentId: 31, status: 'deploying' },
  'progress #31 succeeded': { type: 'rollback-progress', deploymentId: 31, status: 'succeeded' },
  'progress #31 failed': { type: 'rollback-progress', deploymentId: 31, status: 'failed', detail: 'the webhook answered 500' },
  'progress #31 requested': { type: 'rollback-progress', deploymentId: 31, status: 'requested' },
  'progress #99 deploying': { type: 'rollback-progress', deploymentId: 99, status: 'deploying' },
  'releases-paused': { type: 'releases-paused', by: BOB, source: 'button' },
  'flag-off': { type: 'flag-off', by: BOB, source: 'button', flag: 'new-checkout', changeId: 12 },
} satisfies Record<string, IncidentEvent>;
type EventName = keyof typeof EVENTS;

const summary = (effects: EffectSpec[]) => effects.map((e) => `${e.lane}:${e.type}:${e.step}`);
const actions = (audit: { action: string }[] | undefined) => (audit ?? []).map((a) => a.action);
const replyOf = (effects: EffectSpec[]) => effects.find((e) => e.type === 'message.reply')?.payload as ThreadReply | undefined;

/** Applies events one after another, as the runner does, collecting every effect. */
function drive(start: Incident, names: EventName[]) {
  let state = start;
  const effects: EffectSpec[] = [];
  for (const name of names) {
    const result = incidentFlow.transition(state, EVENTS[name], NOW);
    state = result.state;
    effects.push(...result.effects);
  }
  return { state, effects };
}

describe('incidentFlow.transition', () => {
  it('is the "incident" kind, names flows incident:<id> and loads them from the store', () => {
    const store = new FakeIncidentStore();
    const created = store.create({ service: 'api', slo: 'availability', source: 'slo', severity: 'page', channel: 'C0INCIDENT', environment: 'prod', snapshot: snapshot() }, OPENED);
    const states = incidentFlowStates(store);
    expect(incidentFlow.kind).toBe('incident');
    expect(incidentFlowId(created.id)).toBe('incident:1');
    expect(states.load(incidentFlowId(created.id))).toEqual(created);
    states.save({ ...created, revision: 3 });
    expect(store.get(1)!.revision).toBe(3);
  });

  describe('(state, event) -> (changes, effects, audit)', () => {
    const firing = incident();
    const paging = incident({ severity: 'page', snapshot: BURNING });
    const acked = incident({ acknowledgedBy: ALICE, revision: 1 });
    const rollingBack = (status: string) => incident({ rollback: { ...ROLLBACK_31, status }, revision: 2 });
    const paused = incident({ releasesPausedBy: BOB, revision: 1 });

    it.each<[string, EventName, Incident, Partial<Incident>, string[], string[]]>([
      ['firing', 'opened', firing, {}, ['slack:message.post:card.post'], ['incident.opened']],
      ['firing ticket', 'evaluated ticket', firing, { revision: 1, snapshot: CALMER }, ['slack:message.update:card.r1'], []],
      ['firing ticket', 'evaluated page', firing, { revision: 1, severity: 'page', snapshot: BURNING }, ['slack:message.update:card.r1', 'slack:message.reply:reply.escalated.r1'], ['incident.escalated']],
      ['firing page', 'evaluated ticket', paging, { revision: 1, severity: 'ticket', snapshot: CALMER }, ['slack:message.update:card.r1'], []],
      ['firing page', 'evaluated page', paging, { revision: 1, snapshot: BURNING }, ['slack:message.update:card.r1'], []],
      ['firing', 'resolved', firing, { revision: 1, status: 'resolved', resolvedAt: NOW }, ['slack:message.update:card.r1', 'slack:message.reply:reply.resolved'], ['incident.resolved']],
      ['firing', 'resolved with snapshot', firing, { revision: 1, status: 'resolved', resolvedAt: NOW, snapshot: RECOVERED }, ['slack:message.update:card.r1', 'slack:message.reply:reply.resolved'], ['incident.resolved']],
      ['firing', 'acknowledged by alice', firing, { revision: 1, acknowledgedBy: ALICE }, ['slack:message.update:card.r1', 'slack:message.reply:reply.acknowledged'], ['incident.acknowledged']],
      ['acknowledged', 'acknowledged by bob', acked, {}, [], []],
      ['firing', 'rollback-started #31', firing, { revision: 1, rollback: ROLLBACK_31 }, ['slack:message.update:card.r1', 'slack:message.reply:reply.rollback.31'], ['incident.rollback']],
      ['rolling back #31', 'rollback-started #31', rollingBack('requested'), {}, [], []],
      ['rolling back #31', 'rollback-started #32', rollingBack('failed'), { revision: 3, rollback: { deploymentId: 32, by: BOB, from: '1.4.2', to: '1.4.0', status: 'requested' } }, ['slack:message.update:card.r3', 'slack:message.reply:reply.rollback.32'], ['incident.rollback']],
      ['firing', 'rollback-refused', firing, {}, [`slack:message.reply:reply.rollback-refused.${NOW.getTime()}`], []],
      ['rolling back #31', 'progress #31 deploying', rollingBack('requested'), { revision: 3, rollback: { ...ROLLBACK_31, status: 'deploying' } }, ['slack:message.update:card.r3', 'slack:message.reply:reply.rollback.31.deploying'], []],
      ['rolling back #31', 'progress #31 deploying', rollingBack('deploying'), {}, [], []],
      ['rolling back #31', 'progress #31 succeeded', rollingBack('deploying'), { revision: 3, rollback: { ...ROLLBACK_31, status: 'succeeded' } }, ['slack:message.update:card.r3', 'slack:message.reply:reply.rollback.31.succeeded'], []],
      ['rolling back #31', 'progress #31 failed', rollingBack('deploying'), { revision: 3, rollback: { ...ROLLBACK_31, status: 'failed' } }, ['slack:message.update:card.r3', 'slack:message.reply:reply.rollback.31.failed'], []],
      ['rolling back #31', 'progress #31 requested', rollingBack('deploying'), {}, [], []],
      ['rolling back #31', 'progress #99 deploying', rollingBack('deploying'), {}, [], []],
      ['firing, no rollback', 'progress #31 deploying', firing, {}, [], []],
      ['firing', 'releases-paused', firing, { revision: 1, releasesPausedBy: BOB }, ['slack:message.update:card.r1', 'slack:message.reply:reply.releases-paused'], ['incident.releases-paused']],
      ['paused', 'releases-paused', paused, {}, [], []],
      ['firing', 'flag-off', firing, {}, ['slack:message.reply:reply.flag-off.12'], ['incident.flag-off']],
    ])('%s + %s', (_state, event, before, changes, effects, audit) => {
      const untouched = structuredClone(before);
      const result = incidentFlow.transition(before, EVENTS[event], NOW);
      expect(result.state).toEqual({ ...before, ...changes });
      expect(summary(result.effects)).toEqual(effects);
      expect(actions(result.audit)).toEqual(audit);
      expect(before).toEqual(untouched); // the input is not mutated
    });
  });

  describe('what the effects carry', () => {
    it('opened posts the card of the incident to its channel under incident:<id>', () => {
      const i = incident();
      const [post] = incidentFlow.transition(i, EVENTS.opened, NOW).effects;
      expect(post!.payload).toEqual({ messageKey: 'incident:7', channel: 'C0INCIDENT', message: incidentCard(i) } satisfies PostMessage);
    });

    it('an edit carries the card of the new state, at its new revision', () => {
      const { state, effects } = drive(incident(), ['acknowledged by alice']);
      expect(effects[0]!.payload).toEqual({ messageKey: 'incident:7', message: incidentCard(state) } satisfies UpdateMessage);
      expect((effects[0]!.payload as UpdateMessage).message).toMatchObject({ acknowledgedBy: ALICE });
    });

    it('audits who did it, from where, on service/environment with the incident and SLO', () => {
      const acked = incidentFlow.transition(incident(), EVENTS['acknowledged by alice'], NOW);
      expect(acked.audit).toEqual([{ actor: ALICE, source: 'button', action: 'incident.acknowledged', subject: 'api/prod', detail: { incidentId: 7, slo: 'availability' } }]);
      const rolled = incidentFlow.transition(incident(), EVENTS['rollback-started #32'], NOW);
      expect(rolled.audit).toEqual([
        { actor: BOB, source: 'slash_command', action: 'incident.rollback', subject: 'api/prod', detail: { incidentId: 7, slo: 'availability', deploymentId: 32, from: '1.4.2', to: '1.4.0' } },
      ]);
      const escalated = incidentFlow.transition(incident(), EVENTS['evaluated page'], NOW);
      expect(escalated.audit).toEqual([{ actor: 'system', source: 'system', action: 'incident.escalated', subject: 'api/prod', detail: { incidentId: 7, slo: 'availability', severity: 'page' } }]);
    });

    it('an escalation is broadcast with the rows that fire now', () => {
      const reply = replyOf(incidentFlow.transition(incident(), EVENTS['evaluated page'], NOW).effects);
      expect(reply).toEqual({ messageKey: 'incident:7', text: 'Escalated to page: 1h/5m above 14.4×, 3d/6h above 1×.', broadcast: true });
    });

    it('the resolution is broadcast with how many minutes it fired', () => {
      const reply = replyOf(incidentFlow.transition(incident(), EVENTS.resolved, NOW).effects);
      expect(reply).toEqual({ messageKey: 'incident:7', text: 'Resolved after 42 min: availability burns below every alert threshold again.', broadcast: true });
    });

    it('the rollback replies name who, what, where and the deploy; a failure says why', () => {
      const { effects } = drive(incident(), ['rollback-started #31', 'progress #31 deploying', 'progress #31 failed']);
      const texts = effects.filter((e) => e.type === 'message.reply').map((e) => (e.payload as ThreadReply).text);
      expect(texts).toEqual([
        `<@${ALICE}> is rolling back api in prod from 1.4.2 to 1.4.1 (deploy #31).`,
        'Rollback deploy #31 is running: 1.4.2 → 1.4.1.',
        'Rollback deploy #31 failed: the webhook answered 500.',
      ]);
      expect(replyOf(drive(incident(), ['rollback-started #31', 'progress #31 succeeded']).effects.slice(2))!.text).toBe('Rollback done: api runs 1.4.1 in prod again.');
    });

    it('a refused rollback tells the person why, in the thread', () => {
      expect(replyOf(incidentFlow.transition(incident(), EVENTS['rollback-refused'], NOW).effects)).toEqual({
        messageKey: 'incident:7',
        text: `<@${BOB}>: no rollback. api in prod is locked by <@U0CAROL1>: maintenance. Unlock it to roll back.`,
      });
    });

    it('turning a flag off from the incident is said in its thread and audited, without an edit', () => {
      const result = incidentFlow.transition(incident(), EVENTS['flag-off'], NOW);
      expect(replyOf(result.effects)).toEqual({ messageKey: 'incident:7', text: `<@${BOB}> is turning off new-checkout in prod (flag change #12).` });
      expect(result.audit).toEqual([{ actor: BOB, source: 'button', action: 'incident.flag-off', subject: 'api/prod', detail: { incidentId: 7, slo: 'availability', flag: 'new-checkout', changeId: 12 } }]);
    });

    it('the pause reply says how to lift it', () => {
      expect(replyOf(incidentFlow.transition(incident(), EVENTS['releases-paused'], NOW).effects)!.text).toBe(`<@${BOB}> paused releases of api in prod: \`/deploy unlock prod api\` lifts it.`);
    });
  });

  describe('over a sequence of events', () => {
    it('each evaluation is its own edit: revisions and steps never repeat, escalations included', () => {
      const { state, effects } = drive(incident(), ['evaluated ticket', 'evaluated page', 'evaluated ticket', 'evaluated page', 'evaluated page']);
      const steps = effects.map((e) => e.step);
      expect(steps).toEqual(['card.r1', 'card.r2', 'reply.escalated.r2', 'card.r3', 'card.r4', 'reply.escalated.r4', 'card.r5']);
      expect(new Set(steps).size).toBe(steps.length);
      expect(state).toMatchObject({ revision: 5, severity: 'page' });
    });

    it('only the first acknowledgement counts', () => {
      const { state, effects } = drive(incident(), ['acknowledged by alice', 'acknowledged by bob', 'acknowledged by alice']);
      expect(state.acknowledgedBy).toBe(ALICE);
      expect(summary(effects)).toEqual(['slack:message.update:card.r1', 'slack:message.reply:reply.acknowledged']);
    });

    it('a rollback starts once per deploy and says each of deploying, succeeded once', () => {
      const { state, effects } = drive(incident(), [
        'rollback-started #31',
        'rollback-started #31',
        'progress #31 deploying',
        'progress #31 deploying',
        'progress #99 deploying',
        'progress #31 succeeded',
        'progress #31 succeeded',
      ]);
      expect(effects.filter((e) => e.type === 'message.reply').map((e) => e.step)).toEqual(['reply.rollback.31', 'reply.rollback.31.deploying', 'reply.rollback.31.succeeded']);
      expect(state.rollback).toEqual({ ...ROLLBACK_31, status: 'succeeded' });
    });

    it('a failed rollback is said once', () => {
      const { effects } = drive(incident(), ['rollback-started #31', 'progress #31 deploying', 'progress #31 failed', 'progress #31 failed']);
      expect(effects.filter((e) => e.step === 'reply.rollback.31.failed')).toHaveLength(1);
    });

    it('releases are paused once, by the first to ask', () => {
      const { state, effects } = drive(incident(), ['releases-paused', 'releases-paused']);
      expect(state.releasesPausedBy).toBe(BOB);
      expect(effects.filter((e) => e.step === 'reply.releases-paused')).toHaveLength(1);
    });
  });

  describe('a resolved incident', () => {
    const resolved = incident({ status: 'resolved', resolvedAt: NOW, revision: 4, rollback: { ...ROLLBACK_31, status: 'deploying' } });
    const unchangedOn = (event: EventName) => {
      const untouched = structuredClone(resolved);
      const result = incidentFlow.transition(resolved, EVENTS[event], NOW);
      expect(result.state).toEqual(untouched);
      expect(result.effects).toEqual([]);
      expect(result.audit ?? []).toEqual([]);
    };

    it.each<EventName>(['evaluated ticket', 'evaluated page', 'resolved', 'resolved with snapshot', 'acknowledged by alice', 'flag-off'])('ignores %s', unchangedOn);

    // The flow has no `status === 'firing'` guard for these (flows/incident-flow.ts, `case 'opened'`,
    // `case 'rollback-started'`, `case 'rollback-refused'`, `case 'releases-paused'`).
    it.each<EventName>(['opened', 'rollback-started #32', 'rollback-refused', 'releases-paused'])('ignores %s', unchangedOn);

    it('still hears how its rollback ends, and says it', () => {
      const result = incidentFlow.transition(resolved, EVENTS['progress #31 succeeded'], NOW);
      expect(result.state).toEqual({ ...resolved, revision: 5, rollback: { ...ROLLBACK_31, status: 'succeeded' } });
      expect(summary(result.effects)).toEqual(['slack:message.update:card.r5', 'slack:message.reply:reply.rollback.31.succeeded']);
    });
  });
});
