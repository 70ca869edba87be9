import type { ReleaseCommandDeps } from '../../../commands/release-command';
import { deployFlow, deployFlowStates } from '../../../flows/deploy-flow';
import { createDeployPolicies } from '../../../flows/deploy-policies';
import { DeployService } from '../../../flows/deploy-service';
import { EffectWorker } from '../../../flows/effect-worker';
import { FlowRunner } from '../../../flows/flow-runner';
import { LockService } from '../../../flows/lock-service';
import { releaseFlow, releaseFlowStates } from '../../../flows/release-flow';
import { ReleaseService } from '../../../flows/release-service';
import { TrainService } from '../../../flows/train-service';
import { channelFor, findService, parseShipmateConfig, type ShipmateConfig } from '../../../src/core/config';
import type { DeployOutcome, DeployRequest, QueuedEffect, TrainItem, TrainStore } from '../../../src/core/ports';
import { ManualClock } from '../../support/manual-clock';
import { FakeAuditLog } from './fake-audit-log';
import { FakeDeploymentStore } from './fake-deployment-store';
import { FakeEffectQueue } from './fake-effect-queue';
import { FakeFlowEventLog } from './fake-flow-event-log';
import { FakeLockStore } from './fake-lock-store';
import { FakeReleaseStore } from './fake-release-store';
import { FakeUnitOfWork } from './fake-unit-of-work';
import { FakeUserDirectory } from './fake-user-directory';

const hook = { type: 'webhook', url: 'https://deployer.example.com/hook', secret: '0123456789abcdef0123' };
const envs = { staging: { deploy: hook }, prod: { deploy: hook } };

/**
 * The shipmate.yml of the release tests: db; api and worker depend on db; web on api. api posts
 * to its own channel. Clock starts Monday 2026-11-23 10:00 UTC (see ManualClock).
 */
export function releaseConfig(extra: Record<string, unknown> = {}): ShipmateConfig {
  const result = parseShipmateConfig(
    {
      defaults: { channel: 'C0DEPLOYS' },
      releases: { missedGrace: '15m' },
      services: {
        db: { environments: envs },
        api: { channel: 'C0APITEAM', dependsOn: ['db'], environments: envs },
        worker: { dependsOn: ['db'], environments: envs },
        web: { dependsOn: ['api'], environments: envs },
      },
      ...extra,
    },
    {},
  );
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

/** A deployer per target that records what it was asked and answers what the test says. */
export class FakeDeployers {
  readonly requests: DeployRequest[] = [];
  /** Outcome per service; success otherwise. */
  readonly outcomes = new Map<string, DeployOutcome>();
  private gate: Promise<void> | undefined;
  private arrivals: (() => void)[] = [];

  forTarget() {
    return {
      deploy: async (request: DeployRequest): Promise<DeployOutcome> => {
        this.requests.push(request);
        this.arrivals.splice(0).forEach((notify) => notify());
        await this.gate;
        return this.outcomes.get(request.service) ?? { ok: true, summary: `${request.service} is up.` };
      },
    };
  }

  /** Holds every deploy call until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => (release = resolve));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  /** Resolves once `count` deploy calls have come in. */
  async arrived(count: number): Promise<void> {
    while (this.requests.length < count) await new Promise<void>((resolve) => this.arrivals.push(resolve));
  }

  /** Services in the order their deploy calls came in. */
  services(): string[] {
    return this.requests.map((r) => r.service);
  }
}

type DeployServiceDeps = ConstructorParameters<typeof DeployService>[0];

/** Release trains are not what these tests are about: a plain in-memory store so the command's deps are whole. */
function memoryTrainStore(): TrainStore {
  const queued = new Map<string, TrainItem[]>();
  const last = new Map<string, Date>();
  return {
    queue: (train, item) => queued.set(train, [...(queued.get(train) ?? []).filter((i) => i.service !== item.service), item]),
    items: (train) => [...(queued.get(train) ?? [])],
    take: (train) => {
      const items = queued.get(train) ?? [];
      queued.delete(train);
      return items;
    },
    lastRunAt: (train) => last.get(train),
    setLastRunAt: (train, at) => void last.set(train, at),
  };
}

export interface ReleaseWorldOptions {
  /** Replaces shipmate.yml's dependencies, e.g. to plan a cycle the config would refuse. */
  dependsOn?: Record<string, string[]>;
  /** Builds the deploy service, e.g. a subclass that crashes at a chosen point. */
  deployService?: (deps: DeployServiceDeps) => DeployService;
}

/**
 * The release machinery wired with fakes as main.ts wires the real thing: one runner for deploy and
 * release flows, the deploy, lock and release services, and a real EffectWorker whose Slack
 * handlers only record and whose deployers are FakeDeployers. `settle()` runs the worker until
 * nothing is left to do now; timers wait for the clock.
 */
export function releaseWorld(config = releaseConfig(), options: ReleaseWorldOptions = {}) {
  const clock = new ManualClock();
  const store = new FakeDeploymentStore();
  const releases = new FakeReleaseStore();
  const locks = new FakeLockStore();
  const audit = new FakeAuditLog();
  const queue = new FakeEffectQueue();
  const events = new FakeFlowEventLog();
  const uow = new FakeUnitOfWork();
  const directory = new FakeUserDirectory();
  const deployers = new FakeDeployers();
  let worker: EffectWorker | undefined;
  const runner = new FlowRunner({
    uow,
    queue,
    events,
    audit,
    clock: clock.now,
    flows: [
      { definition: deployFlow, states: deployFlowStates(store) },
      { definition: releaseFlow, states: releaseFlowStates(releases) },
    ],
    onEffectsQueued: () => worker?.kick(),
  });
  // Commit checks are not configured for any service here; they answer green if ever asked.
  const checks = { verify: async () => ({ green: true as const, summary: 'all green' }) };
  const deployDeps = { store, locks, audit, uow, runner, clock: clock.now, policies: createDeployPolicies(config, directory), checks } as DeployServiceDeps;
  const deployService = options.deployService?.(deployDeps) ?? new DeployService(deployDeps);
  const lockService = new LockService({ locks, store, audit, uow, clock: clock.now, deployService });
  const releaseService = new ReleaseService({
    releases,
    deployments: store,
    audit,
    uow,
    runner,
    clock: clock.now,
    deployService,
    dependsOn: (service) => options.dependsOn?.[service] ?? findService(config, service)?.dependsOn ?? [],
    channelFor: (service, environment) => channelFor(config, service, environment),
    missedGraceMs: config.releases.missedGrace,
  });

  /** What the Slack handlers were asked to do, in order: `post release:1`, `reply deploy:2` ... */
  const slack: { type: string; flowId: string; step: string; payload: unknown }[] = [];
  const recordSlack = (type: string) => async (effect: QueuedEffect) => {
    slack.push({ type, flowId: effect.flowId, step: effect.step, payload: effect.payload });
  };
  const logs: { level: string; msg: string; obj: object }[] = [];
  worker = new EffectWorker({
    queue,
    uow,
    runner,
    clock: clock.now,
    log: { warn: (obj, msg) => logs.push({ level: 'warn', msg, obj }), error: (obj, msg) => logs.push({ level: 'error', msg, obj }) },
    handlers: {
      'message.post': recordSlack('post'),
      'message.update': recordSlack('update'),
      'message.reply': recordSlack('reply'),
      deploy: deployService.deployHandler(deployers),
      'release.wave': releaseService.waveHandler(),
      timer: async (effect) => effect.payload as { type: string },
    },
  });
  const theWorker = worker;

  /** Runs the worker until nothing is due now. */
  async function settle(): Promise<void> {
    theWorker.kick();
    await theWorker.idle();
  }

  const trainService = new TrainService({ config, trains: memoryTrainStore(), queue, audit, uow, clock: clock.now, releaseService });
  const deps: ReleaseCommandDeps = { config, releases, releaseService, trainService, now: clock.now };
  /** The replies a release posted in its thread, as text. */
  const repliesOf = (releaseId: number) =>
    slack.filter((s) => s.type === 'reply' && s.flowId === `release:${releaseId}`).map((s) => (s.payload as { text: string }).text);
  const wavesRequested = () => queue.rows.filter((r) => r.type === 'release.wave').map((r) => `${r.flowId}:${r.step}`);

  return { config, clock, store, releases, locks, audit, queue, events, uow, runner, deployers, deployService, lockService, releaseService, trainService, worker: theWorker, slack, logs, settle, deps, repliesOf, wavesRequested };
}
