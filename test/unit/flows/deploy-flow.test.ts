import { deployFlow, deployFlowId, type DeployEvent } from '../../../flows/deploy-flow';
import { deployCard, type PostMessage, type ThreadReply, type UpdateMessage } from '../../../flows/messages';
import type { Deployment, DeploymentStatus } from '../../../src/core/types';

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
