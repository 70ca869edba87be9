import { deployFlow, deployFlowId, deployFlowStates, type DeployEvent } from '../../../flows/deploy-flow';
import type { Transition } from '../../../flows/flow';
import { deployCard, type PostMessage, type ThreadReply, type UpdateMessage } from '../../../flows/messages';
import type { EffectSpec } from '../../../src/core/ports';
import type { Deployment, DeploymentStatus } from '../../../src/core/types';
import { FakeDeploymentStore } from '../fakes/fake-deployment-store';

const CREATED = new Date('2026-11-23T10:00:00.000Z');
const STARTED = new Date('2026-11-23T10:00:05.000Z');

function deployment(status: DeploymentStatus, overrides: Partial<Deployment> = {}): Deployment {
  return {
    id: 42,
    service: 'api',
    environment: 'staging',
    version: '1.4.2',
    status,
    requestedBy: 'U0ALICE',
    source: 'slash_command',
    channel: 'C0DEPLOYS',
    requestKey: 'trigger-1',
    createdAt: CREATED,
    startedAt: status === 'queued' ? null : STARTED,
    finishedAt: status === 'succeeded' || status === 'failed' ? new Date(STARTED.getTime() + 60_000) : null,
    error: status === 'failed' ? 'earlier failure' : null,
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

const requested: DeployEvent = { type: 'requested' };
const start: DeployEvent = { type: 'start' };
const succeeded: DeployEvent = { type: 'finished', outcome: { ok: true, summary: 'The webhook answered 200.' } };
const failed: DeployEvent = { type: 'finished', outcome: { ok: false, error: 'the webhook answered 500' } };

const EVENTS: Record<string, DeployEvent> = { requested, start, 'finished ok': succeeded, 'finished failed': failed };
type EventName = keyof typeof EVENTS;

const at = (msAfterStart: number) => new Date(STARTED.getTime() + msAfterStart);
const summary = (effects: { step: string; lane: string; type: string }[]) => effects.map((e) => `${e.lane}:${e.type}:${e.step}`);

describe('deployFlow.transition', () => {
  it('is the "deploy" kind and names flows deploy:<id>', () => {
    expect(deployFlow.kind).toBe('deploy');
    expect(deployFlowId(42)).toBe('deploy:42');
  });

  describe('the events that move a deploy along', () => {
    it.each<[DeploymentStatus, EventName, DeploymentStatus, string[]]>([
      ['queued', 'requested', 'queued', ['slack:message.post:card.post']],
      ['queued', 'start', 'deploying', ['slack:message.update:card.deploying', 'work:deploy:deploy']],
      ['deploying', 'finished ok', 'succeeded', ['slack:message.update:card.succeeded', 'slack:message.reply:reply.succeeded']],
      ['deploying', 'finished failed', 'failed', ['slack:message.update:card.failed', 'slack:message.reply:reply.failed']],
    ])('%s + %s -> %s with %j', (from, event, to, effects) => {
      const result = deployFlow.transition(deployment(from), EVENTS[event]!, at(95_000));
      expect(result.state.status).toBe(to);
      expect(summary(result.effects)).toEqual(effects);
    });
  });

  describe('events that do not fit the state change nothing', () => {
    const cases: [DeploymentStatus, EventName][] = [];
    for (const status of ['deploying', 'succeeded', 'failed'] as const) cases.push([status, 'requested'], [status, 'start']);
    for (const status of ['queued', 'succeeded', 'failed'] as const) cases.push([status, 'finished ok'], [status, 'finished failed']);

    it.each(cases)('%s + %s', (status, event) => {
      const before = deployment(status);
      const snapshot = structuredClone(before);
      const result = deployFlow.transition(before, EVENTS[event]!, at(10 * 60_000));
      expect(result.effects).toEqual([]);
      expect(result.state).toEqual(snapshot);
      expect(before).toEqual(snapshot); // and the input was not mutated either
    });
  });

  it('requested: posts the card to the deploy channel, keyed by the flow', () => {
    const d = deployment('queued');
    const [post] = deployFlow.transition(d, requested, CREATED).effects;
    expect(post!.payload).toEqual({ messageKey: 'deploy:42', channel: 'C0DEPLOYS', message: deployCard(d) } satisfies PostMessage);
  });

  it('start: records when it started, updates the card and asks a deployer', () => {
    const now = new Date('2026-11-23T10:00:07.000Z');
    const before = deployment('queued');
    const { state, effects } = deployFlow.transition(before, start, now);

    expect(state).toEqual({ ...before, status: 'deploying', startedAt: now });
    expect(before.status).toBe('queued'); // a new state, not a mutation
    expect(effects[0]!.payload).toEqual({ messageKey: 'deploy:42', message: deployCard(state) } satisfies UpdateMessage);
    expect((effects[0]!.payload as UpdateMessage).message).toMatchObject({ status: 'deploying', startedAt: '2026-11-23T10:00:07.000Z' });
    expect(effects[1]!.payload).toEqual({
      deploymentId: 42,
      service: 'api',
      environment: 'staging',
      version: '1.4.2',
      requestedBy: 'U0ALICE',
    });
  });

  it('finished ok: records the finish, clears an error and says how long it took, measured to `now`', () => {
    const now = at(95_000);
    const { state, effects } = deployFlow.transition(deployment('deploying', { error: 'stale' }), succeeded, now);

    expect(state).toMatchObject({ status: 'succeeded', finishedAt: now, error: null, startedAt: STARTED });
    expect((effects[0]!.payload as UpdateMessage).message).toMatchObject({ status: 'succeeded', finishedAt: now.toISOString() });
    expect(effects[1]!.payload).toEqual({
      messageKey: 'deploy:42',
      text: 'api 1.4.2 is live in staging (took 1m 35s). The webhook answered 200.',
    } satisfies ThreadReply);
  });

  it('finished with a failure: keeps the error and puts the output tail in the reply', () => {
    const now = at(2_000);
    const event: DeployEvent = { type: 'finished', outcome: { ok: false, error: 'deploy.sh exited with status 3', outputTail: 'step 29\nstep 30' } };
    const { state, effects } = deployFlow.transition(deployment('deploying'), event, now);

    expect(state).toMatchObject({ status: 'failed', finishedAt: now, error: 'deploy.sh exited with status 3' });
    expect((effects[0]!.payload as UpdateMessage).message).toMatchObject({ status: 'failed', error: 'deploy.sh exited with status 3' });
    expect(effects[1]!.payload).toEqual({
      messageKey: 'deploy:42',
      text: 'Deploy failed after 2s: deploy.sh exited with status 3',
      preformatted: 'step 29\nstep 30',
    } satisfies ThreadReply);
  });

  it('a failure without output has no preformatted part', () => {
    const { effects } = deployFlow.transition(deployment('deploying'), failed, at(500));
    expect(effects[1]!.payload).toEqual({ messageKey: 'deploy:42', text: 'Deploy failed after 500ms: the webhook answered 500' });
  });

  it.each<[number, string]>([
    [300, '300ms'],
    [95_000, '1m 35s'],
    [3_661_000, '1h 1m'],
  ])('the duration comes from the `now` argument: %i ms after the start reads %s', (elapsed, text) => {
    const { effects } = deployFlow.transition(deployment('deploying'), succeeded, at(elapsed));
    expect((effects[1]!.payload as ThreadReply).text).toBe(`api 1.4.2 is live in staging (took ${text}). The webhook answered 200.`);
  });

  it('counts from when it was asked for if the start time is missing', () => {
    const d = deployment('deploying', { startedAt: null });
    const { effects } = deployFlow.transition(d, failed, new Date(CREATED.getTime() + 61_000));
    expect((effects[1]!.payload as ThreadReply).text).toBe('Deploy failed after 1m 1s: the webhook answered 500');
  });

  it('a whole deploy gives every effect a distinct step, so no idempotency key repeats', () => {
    const steps: string[] = [];
    let d = deployment('queued');
    for (const [event, now] of [[requested, CREATED], [start, STARTED], [succeeded, at(1_000)]] as const) {
      const result = deployFlow.transition(d, event, now);
      steps.push(...result.effects.map((e) => e.step));
      d = result.state;
    }
    expect(d.status).toBe('succeeded');
    expect(new Set(steps).size).toBe(steps.length);
    expect(steps).toEqual(['card.post', 'card.deploying', 'deploy', 'card.succeeded', 'reply.succeeded']);
  });
});

const EXPIRES = new Date(CREATED.getTime() + 60 * 60_000);
const CAROL = 'U0CAROL';
const DAVE = 'U0DAVE';

/** A deploy of api to prod that needs `required` approvals and expires an hour after it was asked for. */
function pending(required = 2, approvals: string[] = [], overrides: Partial<Deployment> = {}): Deployment {
  return deployment('awaiting_approval', {
    environment: 'prod',
    startedAt: null,
    approvalsRequired: required,
    approvals: approvals.map((userId, i) => ({ userId, at: new Date(CREATED.getTime() + (i + 1) * 60_000) })),
    expiresAt: EXPIRES,
    ...overrides,
  });
}

const approvedBy = (userId: string, at = new Date(CREATED.getTime() + 10 * 60_000)): DeployEvent => ({
  type: 'approved',
  approval: { userId, at: at.toISOString() },
});
const rejectedBy = (by: string, reason = 'not during the sale'): DeployEvent => ({ type: 'rejected', by, reason });
const expiry: DeployEvent = { type: 'approval-expired' };
const justBefore = new Date(EXPIRES.getTime() - 1);

const auditOf = (t: Transition<Deployment>) => (t.audit ?? []).map((a) => `${a.action} by ${a.actor} (${a.source})`);
const payloadOf = (effects: EffectSpec[], step: string) => {
  const found = effects.find((e) => e.step === step);
  if (!found) throw new Error(`no effect ${step} in ${effects.map((e) => e.step).join(', ')}`);
  return found.payload;
};

describe('deployFlow approvals, rejection and expiry', () => {
  describe('transitions', () => {
    it.each<[string, Deployment, DeployEvent, Date, DeploymentStatus, string[], string[]]>([
      [
        'the first of two approvals is counted and shown',
        pending(2),
        approvedBy(CAROL),
        CREATED,
        'awaiting_approval',
        ['slack:message.update:card.approval.U0CAROL'],
        ['deploy.approval by U0CAROL (button)'],
      ],
      [
        'the second approval completes it: queued, and the requester is told',
        pending(2, [CAROL]),
        approvedBy(DAVE),
        CREATED,
        'queued',
        ['slack:message.update:card.approval.U0DAVE', 'slack:message.reply:reply.approved'],
        ['deploy.approved by U0DAVE (button)'],
      ],
      [
        'one approval is enough when one is required',
        pending(1),
        approvedBy(DAVE),
        CREATED,
        'queued',
        ['slack:message.update:card.approval.U0DAVE', 'slack:message.reply:reply.approved'],
        ['deploy.approved by U0DAVE (button)'],
      ],
      [
        'the same approver twice counts once',
        pending(2, [CAROL]),
        approvedBy(CAROL),
        CREATED,
        'awaiting_approval',
        [],
        [],
      ],
      [
        'a rejection ends it',
        pending(2, [CAROL]),
        rejectedBy(DAVE),
        CREATED,
        'rejected',
        ['slack:message.update:card.rejected', 'slack:message.reply:reply.rejected'],
        ['deploy.rejected by U0DAVE (button)'],
      ],
      [
        'the expiry timer at the deadline expires it',
        pending(2, [CAROL]),
        expiry,
        EXPIRES,
        'expired',
        ['slack:message.update:card.expired', 'slack:message.reply:reply.expired'],
        ['deploy.expired by system (system)'],
      ],
      ['the expiry timer a millisecond early changes nothing', pending(2), expiry, justBefore, 'awaiting_approval', [], []],
      ['a deploy that needs no approval never expires', pending(0, [], { status: 'queued', expiresAt: null }), expiry, EXPIRES, 'queued', [], []],
      ['an approved (queued) deploy no longer expires', pending(1, [CAROL], { status: 'queued' }), expiry, EXPIRES, 'queued', [], []],
      [
        'start with a note tells whoever waited',
        deployment('queued', { waitInQueue: true }),
        { type: 'start', note: 'Your turn: the target is free, starting now.' },
        STARTED,
        'deploying',
        ['slack:message.update:card.deploying', 'work:deploy:deploy', 'slack:message.reply:reply.starting'],
        ['deploy.started by system (system)'],
      ],
    ])('%s', (_name, before, event, now, status, effects, audit) => {
      const snapshot = structuredClone(before);
      const result = deployFlow.transition(before, event, now);
      expect(result.state.status).toBe(status);
      expect(summary(result.effects)).toEqual(effects);
      expect(auditOf(result)).toEqual(audit);
      expect(before).toEqual(snapshot);
    });
  });

  describe('events that do not fit the state change nothing', () => {
    const cases: [DeploymentStatus, string, DeployEvent][] = [];
    for (const status of ['queued', 'deploying', 'succeeded', 'failed', 'rejected', 'expired'] as const) {
      cases.push([status, 'approved', approvedBy(DAVE)], [status, 'rejected', rejectedBy(DAVE)], [status, 'approval-expired', expiry]);
    }
    for (const status of ['awaiting_approval', 'rejected', 'expired'] as const) cases.push([status, 'start', { type: 'start' }]);
    for (const status of ['awaiting_approval', 'rejected', 'expired'] as const) cases.push([status, 'finished ok', succeeded]);
    for (const status of ['rejected', 'expired'] as const) cases.push([status, 'requested', requested]);

    it.each(cases)('%s + %s', (status, _name, event) => {
      const before = pending(1, [], { status });
      const snapshot = structuredClone(before);
      // Long after the deadline, so a time check alone would not stop anything.
      const result = deployFlow.transition(before, event, new Date(EXPIRES.getTime() + 60 * 60_000));
      expect(result).toEqual({ state: snapshot, effects: [] });
    });
  });

  describe('requested', () => {
    it('a deploy awaiting approval posts its card and sets a timer for its deadline', () => {
      const d = pending(2);
      const { state, effects } = deployFlow.transition(d, requested, CREATED);
      expect(state).toEqual(d);
      expect(effects).toEqual([
        { step: 'card.post', lane: 'slack', type: 'message.post', payload: { messageKey: 'deploy:42', channel: 'C0DEPLOYS', message: deployCard(d) } },
        { step: 'timer.approval-expiry', lane: 'timer', type: 'timer', payload: { type: 'approval-expired' }, notBefore: EXPIRES },
      ]);
    });

    it('a queued deploy without a deadline gets no timer', () => {
      const { effects } = deployFlow.transition(deployment('queued'), requested, CREATED);
      expect(effects.map((e) => e.lane)).toEqual(['slack']);
    });

    it('waitingFor: says in the thread why it waits, mentioning the requester', () => {
      const { effects } = deployFlow.transition(deployment('queued', { waitInQueue: true }), { type: 'requested', waitingFor: 'behind deploy #41 (1.4.1 by U0BOB, deploying)' }, CREATED);
      expect(summary(effects)).toEqual(['slack:message.post:card.post', 'slack:message.reply:reply.waiting']);
      expect(payloadOf(effects, 'reply.waiting')).toEqual({
        messageKey: 'deploy:42',
        text: 'Queued: behind deploy #41 (1.4.1 by U0BOB, deploying). It starts by itself when the target is free.',
        mention: ['U0ALICE'],
      } satisfies ThreadReply);
    });

    it('break glass: announces the override in the channel too, naming who did it', () => {
      const d = deployment('queued', { breakGlassReason: 'INC-42 checkout is down' });
      const { effects } = deployFlow.transition(d, requested, CREATED);
      expect(summary(effects)).toEqual(['slack:message.post:card.post', 'slack:message.reply:reply.break-glass']);
      expect(payloadOf(effects, 'reply.break-glass')).toEqual({
        messageKey: 'deploy:42',
        text: 'broke the glass to deploy during a freeze: INC-42 checkout is down',
        mention: ['U0ALICE'],
        broadcast: true,
      } satisfies ThreadReply);
      expect((payloadOf(effects, 'card.post') as PostMessage).message).toMatchObject({ kind: 'deploy', breakGlassReason: 'INC-42 checkout is down' });
    });

    it('without break glass nothing is broadcast', () => {
      const { effects } = deployFlow.transition(deployment('queued'), requested, CREATED);
      expect(effects.some((e) => (e.payload as ThreadReply).broadcast)).toBe(false);
    });
  });

  describe('approved', () => {
    it('stores the approval with its time and shows it on the card', () => {
      const at = new Date('2026-11-23T10:07:00.000Z');
      const { state, effects } = deployFlow.transition(pending(2), approvedBy(CAROL, at), at);
      expect(state.approvals).toEqual([{ userId: CAROL, at }]);
      expect((payloadOf(effects, 'card.approval.U0CAROL') as UpdateMessage).message).toMatchObject({
        status: 'awaiting_approval',
        approvals: [{ userId: CAROL, at: '2026-11-23T10:07:00.000Z' }],
      });
    });

    it('the completing approval tells the requester it deploys when the target is free', () => {
      const { state, effects } = deployFlow.transition(pending(2, [CAROL]), approvedBy(DAVE), CREATED);
      expect(state.approvals.map((a) => a.userId)).toEqual([CAROL, DAVE]);
      expect(payloadOf(effects, 'reply.approved')).toEqual({
        messageKey: 'deploy:42',
        text: 'Approved. It deploys as soon as the target is free.',
        mention: ['U0ALICE'],
      } satisfies ThreadReply);
      expect((payloadOf(effects, 'card.approval.U0DAVE') as UpdateMessage).message.status).toBe('queued');
    });

    it('audits who approved, which deploy and which version', () => {
      const result = deployFlow.transition(pending(2), approvedBy(CAROL), CREATED);
      expect(result.audit).toEqual([
        { actor: CAROL, source: 'button', action: 'deploy.approval', subject: 'api/prod', detail: { deploymentId: 42, version: '1.4.2' } },
      ]);
    });
  });

  describe('rejected', () => {
    it('records who, why and when, shows it and tells the requester', () => {
      const now = new Date('2026-11-23T10:20:00.000Z');
      const { state, effects, audit } = deployFlow.transition(pending(2, [CAROL]), rejectedBy(DAVE, 'the sale starts at 11'), now);
      expect(state).toMatchObject({ status: 'rejected', finishedAt: now, decidedBy: DAVE, decisionReason: 'the sale starts at 11' });
      expect((payloadOf(effects, 'card.rejected') as UpdateMessage).message).toMatchObject({ status: 'rejected', decidedBy: DAVE, decisionReason: 'the sale starts at 11' });
      expect(payloadOf(effects, 'reply.rejected')).toEqual({ messageKey: 'deploy:42', text: 'Rejected: the sale starts at 11', mention: ['U0ALICE'] });
      expect(audit).toEqual([
        { actor: DAVE, source: 'button', action: 'deploy.rejected', subject: 'api/prod', detail: { deploymentId: 42, version: '1.4.2', reason: 'the sale starts at 11' } },
      ]);
    });
  });

  describe('approval-expired', () => {
    it('records when it expired and tells the requester how to ask again', () => {
      const late = new Date(EXPIRES.getTime() + 5_000); // the timer may fire late
      const { state, effects, audit } = deployFlow.transition(pending(2, [CAROL]), expiry, late);
      expect(state).toMatchObject({ status: 'expired', finishedAt: late, approvals: [{ userId: CAROL }] });
      expect(payloadOf(effects, 'reply.expired')).toEqual({
        messageKey: 'deploy:42',
        text: 'The approval request expired. Request it again from the message.',
        mention: ['U0ALICE'],
      });
      expect(audit).toEqual([
        { actor: 'system', source: 'system', action: 'deploy.expired', subject: 'api/prod', detail: { deploymentId: 42, version: '1.4.2' } },
      ]);
    });
  });

  describe('start', () => {
    it('without a note there is no thread reply', () => {
      const { effects } = deployFlow.transition(deployment('queued'), start, STARTED);
      expect(effects.some((e) => e.type === 'message.reply')).toBe(false);
    });

    it('the note goes to the requester', () => {
      const { effects } = deployFlow.transition(deployment('queued'), { type: 'start', note: 'The lock was lifted; your deploy starts now.' }, STARTED);
      expect(payloadOf(effects, 'reply.starting')).toEqual({
        messageKey: 'deploy:42',
        text: 'The lock was lifted; your deploy starts now.',
        mention: ['U0ALICE'],
      });
    });

    it.each<[string, DeployEvent, string]>([
      ['succeeded', succeeded, 'deploy.succeeded'],
      ['failed', failed, 'deploy.failed'],
    ])('finishing (%s) is audited as Shipmate’s doing', (_name, event, action) => {
      const { audit } = deployFlow.transition(deployment('deploying'), event, at(1_000));
      expect(audit).toEqual([expect.objectContaining({ actor: 'system', source: 'system', action, subject: 'api/staging' })]);
      if (action === 'deploy.failed') expect(audit![0]!.detail).toEqual({ deploymentId: 42, version: '1.4.2', error: 'the webhook answered 500' });
    });
  });

  it('a deploy approved by two people gives every effect a distinct step', () => {
    const steps: string[] = [];
    let d = pending(2);
    const events: [DeployEvent, Date][] = [
      [requested, CREATED],
      [approvedBy(CAROL), CREATED],
      [approvedBy(DAVE), CREATED],
      [{ type: 'start', note: 'Your turn.' }, STARTED],
      [succeeded, at(1_000)],
    ];
    for (const [event, now] of events) {
      const result = deployFlow.transition(d, event, now);
      steps.push(...result.effects.map((e) => e.step));
      d = result.state;
    }
    expect(d.status).toBe('succeeded');
    expect(new Set(steps).size).toBe(steps.length);
  });
});

describe('deployFlowStates', () => {
  it('loads and saves deploy flows through the deployment store by their ID', () => {
    const store = new FakeDeploymentStore();
    const created = store.create(
      { service: 'api', environment: 'prod', version: '1.4.2', requestedBy: 'U0ALICE', source: 'slash_command', channel: 'C0DEPLOYS', requestKey: null, approvalsRequired: 1, expiresAt: EXPIRES, waitInQueue: false, breakGlassReason: null },
      CREATED,
    );
    const states = deployFlowStates(store);
    expect(states.load(deployFlowId(created.id))).toEqual(created);
    expect(states.load('deploy:99')).toBeUndefined();

    states.save({ ...created, status: 'queued', approvals: [{ userId: CAROL, at: CREATED }] });
    expect(store.get(created.id)).toMatchObject({ status: 'queued', approvals: [{ userId: CAROL, at: CREATED }] });
  });
});
