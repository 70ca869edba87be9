import { deployFlow, deployFlowId, deployFlowStates, type DeployEvent } from '../../../flows/deploy-flow';
import { backoffMs, EffectWorker, type EffectHandler, type EffectWorkerDeps, type WorkerLog } from '../../../flows/effect-worker';
import { FlowRunner } from '../../../flows/flow-runner';
import { ExternalServiceError } from '../../../src/core/errors';
import type { QueuedEffect } from '../../../src/core/ports';
import type { NewDeployment } from '../../../src/core/types';
import { ManualClock } from '../../support/manual-clock';
import { FakeAuditLog } from '../fakes/fake-audit-log';
import { FakeDeploymentStore } from '../fakes/fake-deployment-store';
import { FakeEffectQueue } from '../fakes/fake-effect-queue';
import { FakeFlowEventLog } from '../fakes/fake-flow-event-log';
import { FakeUnitOfWork } from '../fakes/fake-unit-of-work';

class RecordingLog implements WorkerLog {
  readonly lines: { level: 'warn' | 'error'; obj: object; msg: string }[] = [];
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg: string): void {
    this.lines.push({ level: 'error', obj, msg });
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets queued promise callbacks run; no timers, no wall clock. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const newDeployment = (service: string, environment: string, overrides: Partial<NewDeployment> = {}): NewDeployment => ({
  service,
  environment,
  version: '1.4.2',
  requestedBy: 'U0ALICE',
  source: 'slash_command',
  channel: 'C0DEPLOYS',
  requestKey: null,
  approvalsRequired: 0,
  expiresAt: null,
  waitInQueue: false,
  breakGlassReason: null,
  ...overrides,
});

const finishedOk: DeployEvent = { type: 'finished', outcome: { ok: true, summary: 'The webhook answered 200.' } };

function setup(options: { handlers?: Record<string, EffectHandler>; maxAttempts?: number; concurrency?: EffectWorkerDeps['concurrency'] } = {}) {
  const clock = new ManualClock();
  const store = new FakeDeploymentStore();
  const queue = new FakeEffectQueue();
  const uow = new FakeUnitOfWork();
  const log = new RecordingLog();
  /** Idempotency keys of the effects handlers were called with, in call order, with the attempts so far. */
  const calls: { key: string; attempts: number }[] = [];
  const record = (effect: QueuedEffect) => calls.push({ key: effect.idempotencyKey, attempts: effect.attempts });

  let worker: EffectWorker | undefined;
  const runner = new FlowRunner({
    uow,
    queue,
    events: new FakeFlowEventLog(),
    audit: new FakeAuditLog(),
    clock: clock.now,
    flows: [
      {
        definition: deployFlow,
        states: deployFlowStates(store),
      },
    ],
    onEffectsQueued: () => worker?.kick(),
  });
  const handlers: Record<string, EffectHandler> = {
    'message.post': async (e) => void record(e),
    'message.update': async (e) => void record(e),
    'message.reply': async (e) => void record(e),
    deploy: async (e) => {
      record(e);
      return finishedOk;
    },
    // As in main.ts: a timer's payload is the event it delivers when due.
    timer: async (e) => {
      record(e);
      return e.payload as { type: string };
    },
    ...options.handlers,
  };
  worker = new EffectWorker({
    queue,
    uow,
    runner,
    clock: clock.now,
    handlers,
    log,
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });

  /** Requests and starts a deploy the way DeployService does; the runner kicks the worker. */
  function startDeploy(service = 'api', environment = 'staging'): number {
    const d = store.create(newDeployment(service, environment), clock.now());
    runner.dispatch(deployFlowId(d.id), { type: 'requested' });
    runner.dispatch(deployFlowId(d.id), { type: 'start' });
    return d.id;
  }

  /** Moves the clock, lets the worker look again and waits until it has nothing left to do now. */
  async function advance(ms: number): Promise<void> {
    clock.advance(ms);
    worker!.kick();
    await worker!.idle();
  }

  /** Requests a deploy that needs one approval within `expiresInMs`; it waits for approval. */
  function requestApproval(expiresInMs: number): number {
    const d = store.create(
      newDeployment('api', 'prod', { approvalsRequired: 1, expiresAt: new Date(clock.now().getTime() + expiresInMs) }),
      clock.now(),
    );
    runner.dispatch(deployFlowId(d.id), { type: 'requested' });
    return d.id;
  }

  const keys = (prefix = '') => calls.map((c) => c.key).filter((k) => k.startsWith(prefix));
  return { clock, store, queue, uow, log, calls, keys, worker, runner, startDeploy, requestApproval, advance, record };
}

describe('backoffMs', () => {
  it.each([
    [0, 1_000],
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [9, 256_000],
    [10, 300_000],
    [50, 300_000],
    [5_000, 300_000],
  ])('attempt %i waits %i ms', (attempt, wait) => {
    expect(backoffMs(attempt)).toBe(wait);
  });
});

describe('EffectWorker', () => {
  it('performs the effects of one flow in order and feeds results back to the flow', async () => {
    const { worker, startDeploy, keys, store, queue, log } = setup();

    const id = startDeploy();
    await worker.idle();

    expect(keys()).toEqual(expect.arrayContaining(['deploy:1:deploy']));
    expect(keys().filter((k) => k !== 'deploy:1:deploy')).toEqual([
      'deploy:1:card.post',
      'deploy:1:card.deploying',
      'deploy:1:card.succeeded',
      'deploy:1:reply.succeeded',
    ]);
    expect(store.get(id)).toMatchObject({ status: 'succeeded' });
    expect(queue.pendingCount()).toBe(0);
    expect(queue.rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);
    expect(log.lines).toEqual([]); // a healthy run logs nothing
  });

  it('does not start a flow’s next effect before the previous one is done', async () => {
    const gate = deferred();
    const { worker, startDeploy, keys, record } = setup({
      handlers: {
        'message.post': async (e) => {
          record(e);
          await gate.promise;
        },
      },
    });

    startDeploy();
    await settle();
    expect(keys('deploy:1:card')).toEqual(['deploy:1:card.post']); // card.deploying waits behind the post

    gate.resolve();
    await worker.idle();
    expect(keys('deploy:1:card')).toEqual(['deploy:1:card.post', 'deploy:1:card.deploying', 'deploy:1:card.succeeded']);
  });

  it('runs Slack effects one at a time across flows, deploys in parallel', async () => {
    const slackGate = deferred();
    const workGate = deferred();
    const { worker, startDeploy, keys, record } = setup({
      handlers: {
        'message.post': async (e) => {
          record(e);
          await slackGate.promise;
        },
        deploy: async (e) => {
          record(e);
          await workGate.promise;
          return finishedOk;
        },
      },
    });

    startDeploy('api', 'staging');
    startDeploy('web', 'prod');
    await settle();
    expect(keys().filter((k) => k.endsWith(':card.post'))).toEqual(['deploy:1:card.post']);
    expect(keys().filter((k) => k.endsWith(':deploy')).sort()).toEqual(['deploy:1:deploy', 'deploy:2:deploy']);

    slackGate.resolve();
    workGate.resolve();
    await worker.idle();
    expect(keys().filter((k) => k.endsWith(':card.post'))).toEqual(['deploy:1:card.post', 'deploy:2:card.post']);
  });

  it('retries a failed effect only once its backoff has passed, with the same idempotency key', async () => {
    let failures = 1;
    const { worker, startDeploy, calls, keys, queue, log, clock, advance, record } = setup({
      handlers: {
        'message.post': async (e) => {
          record(e);
          if (failures-- > 0) throw new Error('socket hang up');
        },
      },
    });
    const failedAt = clock.now().getTime();

    startDeploy();
    await worker.idle();

    const post = queue.byKey('deploy:1:card.post');
    expect(post).toMatchObject({ status: 'pending', attempts: 1, lastError: 'socket hang up' });
    expect(post.notBefore.getTime()).toBe(failedAt + 1_000);
    expect(keys('deploy:1:card')).toEqual(['deploy:1:card.post']); // the rest of the flow waits
    expect(log.lines).toEqual([
      { level: 'warn', obj: { effect: 'deploy:1:card.post', attempts: 1, err: 'socket hang up', retryInMs: 1_000 }, msg: 'effect failed; will retry' },
    ]);

    await advance(0);
    await advance(999);
    expect(keys('deploy:1:card.post')).toHaveLength(1);

    await advance(1);
    expect(calls.filter((c) => c.key === 'deploy:1:card.post')).toEqual([
      { key: 'deploy:1:card.post', attempts: 0 },
      { key: 'deploy:1:card.post', attempts: 1 },
    ]);
    expect(keys('deploy:1:card')).toEqual(['deploy:1:card.post', 'deploy:1:card.post', 'deploy:1:card.deploying', 'deploy:1:card.succeeded']);
    expect(queue.byKey('deploy:1:card.post')).toMatchObject({ status: 'done', attempts: 2 });
    expect(queue.pendingCount()).toBe(0);
  });

  it('backs off exponentially and gives up on work after maxAttempts', async () => {
    const { worker, startDeploy, keys, queue, log, advance, record } = setup({
      maxAttempts: 3,
      handlers: {
        deploy: async (e) => {
          record(e);
          throw new Error('still down');
        },
      },
    });

    startDeploy();
    await worker.idle();
    expect(keys('deploy:1:deploy')).toHaveLength(1);

    await advance(999);
    expect(keys('deploy:1:deploy')).toHaveLength(1);
    await advance(1);
    expect(keys('deploy:1:deploy')).toHaveLength(2); // 1s after the first failure

    await advance(1_999);
    expect(keys('deploy:1:deploy')).toHaveLength(2);
    await advance(1);
    expect(keys('deploy:1:deploy')).toHaveLength(3); // 2s after the second

    expect(queue.byKey('deploy:1:deploy')).toMatchObject({ status: 'dead', attempts: 3, lastError: 'still down' });
    const failures = log.lines.filter((l) => (l.obj as { effect?: string }).effect === 'deploy:1:deploy');
    expect(failures.map((l) => [l.level, (l.obj as { attempts: number }).attempts, (l.obj as { retryInMs?: number }).retryInMs])).toEqual([
      ['warn', 1, 1_000],
      ['warn', 2, 2_000],
      ['error', 3, undefined],
    ]);
    expect(failures[2]!.msg).toBe('effect failed; giving up');

    await advance(300_000);
    expect(keys('deploy:1:deploy')).toHaveLength(3); // a dead effect is never tried again
  });

  it('never gives up on a Slack message while Slack may still take it', async () => {
    const { worker, startDeploy, keys, queue, advance, record } = setup({
      maxAttempts: 3,
      handlers: {
        'message.post': async (e) => {
          record(e);
          throw new Error('still down');
        },
      },
    });
    startDeploy();
    await worker.idle();
    for (const wait of [1_000, 2_000, 4_000, 8_000]) await advance(wait);
    expect(keys('deploy:1:card.post')).toHaveLength(5);
    expect(queue.byKey('deploy:1:card.post')).toMatchObject({ status: 'pending', attempts: 5 });
  });

  it('gives up at once on an ExternalServiceError that is not retryable', async () => {
    const { worker, startDeploy, keys, queue, log, advance, record } = setup({
      handlers: {
        'message.post': async (e) => {
          record(e);
          throw new ExternalServiceError('channel_not_found: invite Shipmate to the channel', false);
        },
      },
    });

    startDeploy();
    await worker.idle();

    expect(queue.byKey('deploy:1:card.post')).toMatchObject({
      status: 'dead',
      attempts: 1,
      lastError: 'channel_not_found: invite Shipmate to the channel',
    });
    expect(log.lines).toEqual([
      {
        level: 'error',
        obj: { effect: 'deploy:1:card.post', attempts: 1, err: 'channel_not_found: invite Shipmate to the channel' },
        msg: 'effect failed; giving up',
      },
    ]);
    await advance(300_000);
    expect(keys('deploy:1:card.post')).toHaveLength(1);
  });

  it('retries a retryable ExternalServiceError with backoff', async () => {
    let failures = 1;
    const { worker, startDeploy, queue, clock, record } = setup({
      handlers: {
        'message.post': async (e) => {
          record(e);
          if (failures-- > 0) throw new ExternalServiceError('Slack answered 503', true);
        },
      },
    });
    const start = clock.now().getTime();
    startDeploy();
    await worker.idle();
    const post = queue.byKey('deploy:1:card.post');
    expect(post).toMatchObject({ status: 'pending', attempts: 1, lastError: 'Slack answered 503' });
    expect(post.notBefore.getTime()).toBe(start + 1_000);
  });

  it('honours retryAfterMs (Slack’s Retry-After) instead of the backoff', async () => {
    let failures = 1;
    const { worker, startDeploy, keys, queue, log, clock, advance, record } = setup({
      handlers: {
        'message.post': async (e) => {
          record(e);
          if (failures-- > 0) throw new ExternalServiceError('rate limited', true, { retryAfterMs: 30_000 });
        },
      },
    });
    const start = clock.now().getTime();

    startDeploy();
    await worker.idle();
    expect(queue.byKey('deploy:1:card.post').notBefore.getTime()).toBe(start + 30_000);
    expect(log.lines[0]!.obj).toMatchObject({ retryInMs: 30_000 });

    await advance(1_000); // the ordinary backoff would have retried by now
    await advance(28_999);
    expect(keys('deploy:1:card.post')).toHaveLength(1);

    await advance(1);
    expect(keys('deploy:1:card.post')).toHaveLength(2);
    expect(queue.byKey('deploy:1:card.post').status).toBe('done');
  });

  it('an effect type without a handler is retried, not lost, and says which type', async () => {
    const { worker, queue, keys, startDeploy } = setup({ handlers: { 'message.update': undefined as unknown as EffectHandler } });
    startDeploy();
    await worker.idle();
    expect(queue.byKey('deploy:1:card.deploying')).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'no handler for effect type message.update',
    });
    expect(keys('deploy:1:card')).toEqual(['deploy:1:card.post']);
  });

  it('a failed deploy handler does not move the flow', async () => {
    let failures = 1;
    const { worker, startDeploy, store, queue, advance, record } = setup({
      handlers: {
        deploy: async (e) => {
          record(e);
          if (failures-- > 0) throw new Error('deployer crashed');
          return finishedOk;
        },
      },
    });

    const id = startDeploy();
    await worker.idle();
    expect(store.get(id)!.status).toBe('deploying');
    expect(queue.rows.map((r) => r.idempotencyKey)).not.toContain('deploy:1:card.succeeded');

    await advance(1_000);
    expect(store.get(id)!.status).toBe('succeeded');
  });

  it('after stop() it performs nothing more', async () => {
    const { worker, startDeploy, calls, queue } = setup();
    await worker.stop();
    startDeploy();
    worker.kick();
    await worker.idle();
    expect(calls).toEqual([]);
    expect(queue.rows.map((r) => [r.idempotencyKey, r.status])).toEqual([
      ['deploy:1:card.post', 'pending'],
      ['deploy:1:card.deploying', 'pending'],
      ['deploy:1:deploy', 'pending'],
    ]);
  });

  describe('timers', () => {
    const HOUR = 3_600_000;

    it('fires a timer only when it is due, and delivers its event to the flow', async () => {
      const { worker, requestApproval, store, keys, queue, advance } = setup();
      const id = requestApproval(HOUR);
      await worker.idle();
      expect(keys()).toEqual(['deploy:1:card.post']);
      expect(queue.byKey('deploy:1:timer.approval-expiry')).toMatchObject({ lane: 'timer', status: 'pending' });

      await advance(HOUR - 1);
      expect(keys('deploy:1:timer')).toEqual([]);
      expect(store.get(id)!.status).toBe('awaiting_approval');

      await advance(1);
      expect(store.get(id)).toMatchObject({ status: 'expired' });
      expect(keys()).toEqual(['deploy:1:card.post', 'deploy:1:timer.approval-expiry', 'deploy:1:card.expired', 'deploy:1:reply.expired']);
      expect(queue.pendingCount()).toBe(0);
    });

    it('a timer does not wait behind its flow’s pending Slack messages', async () => {
      const gate = deferred();
      const { worker, requestApproval, store, keys, clock, record } = setup({
        handlers: {
          'message.post': async (e) => {
            record(e);
            await gate.promise;
          },
        },
      });
      const id = requestApproval(HOUR);
      await settle();
      expect(keys()).toEqual(['deploy:1:card.post']); // still posting

      clock.advance(HOUR);
      worker.kick();
      await settle();
      await settle();
      expect(keys()).toEqual(['deploy:1:card.post', 'deploy:1:timer.approval-expiry']);
      expect(store.get(id)!.status).toBe('expired');

      gate.resolve();
      await worker.idle();
      expect(keys()).toEqual(['deploy:1:card.post', 'deploy:1:timer.approval-expiry', 'deploy:1:card.expired', 'deploy:1:reply.expired']);
    });

    it('an expiry timer that fires after the deploy was approved changes nothing', async () => {
      const { worker, requestApproval, store, runner, keys, advance, clock } = setup();
      const id = requestApproval(HOUR);
      await worker.idle();
      const approved: DeployEvent = { type: 'approved', approval: { userId: 'U0CAROL', at: clock.now().toISOString() } };
      runner.dispatch(deployFlowId(id), approved);
      await worker.idle();
      expect(store.get(id)!.status).toBe('queued');

      await advance(HOUR);
      expect(keys('deploy:1:timer')).toEqual(['deploy:1:timer.approval-expiry']); // it fired ...
      expect(store.get(id)!.status).toBe('queued'); // ... and the flow ignored it
      expect(keys()).not.toContain('deploy:1:reply.expired');
    });
  });
});
