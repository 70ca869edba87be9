import type { DeployCommandDeps } from '../../../commands/deploy-command';
import { type DeployEvent, deployFlow, deployFlowId, deployFlowStates } from '../../../flows/deploy-flow';
import { createDeployPolicies } from '../../../flows/deploy-policies';
import { DeployService } from '../../../flows/deploy-service';
import { FlowRunner } from '../../../flows/flow-runner';
import { LockService } from '../../../flows/lock-service';
import { parseShipmateConfig, type ShipmateConfig } from '../../../src/core/config';
import { ManualClock } from '../../support/manual-clock';
import { FakeAuditLog } from './fake-audit-log';
import { FakeCommitChecks } from './fake-commit-checks';
import { FakeDeploymentStore } from './fake-deployment-store';
import { FakeEffectQueue } from './fake-effect-queue';
import { FakeFlowEventLog } from './fake-flow-event-log';
import { FakeLockStore } from './fake-lock-store';
import { FakeUnitOfWork } from './fake-unit-of-work';
import { FakeUserDirectory } from './fake-user-directory';

export const webhook = { type: 'webhook', url: 'https://deployer.example.com/hook', secret: '0123456789abcdef0123' };

/** Parses a shipmate.yml document, or fails the test with its problems. */
export function configOf(raw: unknown): ShipmateConfig {
  const result = parseShipmateConfig(raw, {});
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

/**
 * The whole deploy machinery wired with fakes the way main.ts wires the real thing: a runner for
 * deploy flows, the deploy and lock services with config-backed policies, and the command's deps.
 * Effects are queued, not performed; `finish` and `fireTimers` play the worker's part.
 */
export function deployWorld(config: ShipmateConfig, groups: Record<string, readonly string[]> = {}) {
  const clock = new ManualClock();
  const store = new FakeDeploymentStore();
  const locks = new FakeLockStore();
  const audit = new FakeAuditLog();
  const queue = new FakeEffectQueue();
  const events = new FakeFlowEventLog();
  const uow = new FakeUnitOfWork();
  const directory = new FakeUserDirectory(groups);
  const runner = new FlowRunner({
    uow,
    queue,
    events,
    audit,
    clock: clock.now,
    flows: [{ definition: deployFlow, states: deployFlowStates(store) }],
  });
  const checks = new FakeCommitChecks();
  const deployService = new DeployService({ store, locks, audit, uow, runner, clock: clock.now, policies: createDeployPolicies(config, directory), checks });
  const lockService = new LockService({ locks, store, audit, uow, clock: clock.now, deployService });
  const deps: DeployCommandDeps = { config, deployments: store, locks, uow, audit, deployService, lockService };

  /** What the deployer reports when the deploy effect of `id` ran. */
  function finish(id: number, ok = true): void {
    const event: DeployEvent = { type: 'finished', outcome: ok ? { ok: true, summary: 'The webhook answered 200.' } : { ok: false, error: 'the webhook answered 500' } };
    runner.dispatch(deployFlowId(id), event);
  }

  /** Delivers every due timer to its flow, as the worker's timer lane does. */
  function fireTimers(): number {
    const due = queue.due('timer', clock.now(), 100);
    for (const effect of due) {
      runner.dispatch(effect.flowId, effect.payload as { type: string });
      queue.complete(effect.id, clock.now());
    }
    return due.length;
  }

  /** The steps of the effects queued for one deploy, in order. */
  const effectsOf = (id: number) => queue.rows.filter((r) => r.flowId === deployFlowId(id)).map((r) => r.step);
  const statuses = () => store.all().map((d) => `#${d.id} ${d.service}/${d.environment} ${d.status}`);

  return { clock, store, locks, audit, queue, events, uow, directory, checks, runner, deployService, lockService, deps, finish, fireTimers, effectsOf, statuses };
}
