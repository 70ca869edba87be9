import type { Clock } from '../src/core/clock';
import { ConflictError } from '../src/core/errors';
import type { AuditLog, Deployer, DeployerFactory, DeploymentStore, QueuedEffect, UnitOfWork } from '../src/core/ports';
import type { Actor, Deployment, NewDeployment } from '../src/core/types';
import { type DeployEvent, deployFlowId } from './deploy-flow';
import type { EffectHandler } from './effect-worker';
import type { FlowRunner } from './flow-runner';

export interface DeployServiceDeps {
  store: DeploymentStore;
  audit: AuditLog;
  uow: UnitOfWork;
  runner: FlowRunner;
  clock: Clock;
  /** Told every deployer outcome, e.g. for metrics. */
  onOutcome?: (request: { service: string; environment: string }, ok: boolean) => void;
}

export type RequestResult = { deployment: Deployment; duplicate: boolean };

/** Starts deploy flows and keeps them going. */
export class DeployService {
  constructor(private readonly deps: DeployServiceDeps) {}

  /**
   * Records the deploy and its first effects before anything runs. The same request key twice
   * (Slack retrying a slash command) returns the first deploy instead of starting another.
   */
  request(input: Omit<NewDeployment, 'source' | 'requestedBy'>, actor: Actor): RequestResult {
    const { store, audit, uow, runner, clock } = this.deps;
    const result = uow.transaction((): RequestResult => {
      const earlier = input.requestKey ? store.findByRequestKey(input.requestKey) : undefined;
      if (earlier) return { deployment: earlier, duplicate: true };
      const busy = store.active(input.service, input.environment);
      if (busy) throw new ConflictError(busyMessage(busy));
      const now = clock();
      const deployment = store.create({ ...input, requestedBy: actor.userId, source: actor.source }, now);
      audit.record({
        at: now,
        actor: actor.userId,
        source: actor.source,
        action: 'deploy.requested',
        subject: `${input.service}/${input.environment}`,
        detail: { deploymentId: deployment.id, version: input.version },
      });
      runner.dispatch(deployFlowId(deployment.id), { type: 'requested' } satisfies DeployEvent);
      return { deployment, duplicate: false };
    });
    if (!result.duplicate) this.start(result.deployment.id);
    return result;
  }

  /** Moves a queued deploy to deploying. Nothing waits in a queue yet, so this follows the request at once. */
  start(deploymentId: number): void {
    this.deps.runner.dispatch(deployFlowId(deploymentId), { type: 'start' } satisfies DeployEvent);
  }

  /** After a restart: starts whatever was queued and not started. Deploys in flight resume from the effect queue. */
  resume(): void {
    for (const d of this.deps.store.withStatus('queued')) this.start(d.id);
  }

  /** The effect handler that runs a deployer and reports its outcome to the flow. */
  deployHandler(deployers: DeployerFactory): EffectHandler {
    return async (effect: QueuedEffect) => {
      const request = effect.payload as Omit<Parameters<Deployer['deploy']>[0], 'idempotencyKey'>;
      let outcome;
      try {
        const deployer = deployers.forTarget(request.service, request.environment);
        outcome = await deployer.deploy({ ...request, idempotencyKey: effect.idempotencyKey });
      } catch (error) {
        outcome = { ok: false as const, error: error instanceof Error ? error.message : String(error) };
      }
      this.deps.onOutcome?.(request, outcome.ok);
      const event: DeployEvent = { type: 'finished', outcome };
      return event;
    };
  }
}

export function busyMessage(d: Deployment): string {
  return (
    `${d.service} is already being deployed to ${d.environment}: ${d.version} by <@${d.requestedBy}> ` +
    `(deploy #${d.id}, ${d.status}). Wait for it to finish, then try again.`
  );
}
