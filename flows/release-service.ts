import type { Clock } from '../src/core/clock';
import { AppError, ExternalServiceError, NotFoundError } from '../src/core/errors';
import { planWaves, type ReleaseItem } from '../src/core/release-plan';
import type { AuditLog, DeploymentStore, QueuedEffect, ReleaseStore, UnitOfWork } from '../src/core/ports';
import type { Actor, Deployment, Release } from '../src/core/types';
import type { DeployService } from './deploy-service';
import type { EffectHandler } from './effect-worker';
import { type DeployEvent, deployFlowId } from './deploy-flow';
import type { FlowRunner } from './flow-runner';
import { type ReleaseEvent, releaseFlowId, type WavePayload } from './release-flow';

export interface ReleaseServiceDeps {
  releases: ReleaseStore;
  deployments: DeploymentStore;
  audit: AuditLog;
  uow: UnitOfWork;
  runner: FlowRunner;
  clock: Clock;
  deployService: DeployService;
  /** A service's dependencies, from shipmate.yml. */
  dependsOn: (service: string) => readonly string[];
  /** The channel a service's deploy messages go to in an environment. */
  channelFor: (service: string, environment: string) => string;
  /** How late a scheduled release may still start after Shipmate was down. */
  missedGraceMs: number;
}

export interface NewReleaseInput {
  name: string;
  environment: string;
  items: ReleaseItem[];
  channel: string;
  at?: Date;
  notes?: string;
  requestKey?: string;
}

const FINISHED = { succeeded: true, failed: false, rejected: false, expired: false } as const;

/** Plans releases into waves and runs them through the deploy flows, wave by wave. */
export class ReleaseService {
  constructor(private readonly deps: ReleaseServiceDeps) {
    // A deploy that belongs to a release reports its outcome to it.
    deps.runner.onTransition((flowId, state) => {
      if (!flowId.startsWith('deploy:')) return;
      const d = state as Deployment;
      if (!d.releaseId || !(d.status in FINISHED)) return;
      const event: ReleaseEvent = {
        type: 'service-finished',
        service: d.service,
        ok: FINISHED[d.status as keyof typeof FINISHED],
        ...(d.status === 'succeeded' ? {} : { error: d.error ?? d.decisionReason ?? d.status }),
      };
      deps.runner.dispatch(releaseFlowId(d.releaseId), event);
    });
    // An aborted release calls off its deploys that have not started, in the abort's transaction.
    deps.runner.onTransition((flowId, state) => {
      const r = state as Release;
      if (!flowId.startsWith('release:') || r.status !== 'aborted') return;
      for (const run of Object.values(r.results)) {
        const d = run.deploymentId ? deps.deployments.get(run.deploymentId) : undefined;
        if (!d || (d.status !== 'queued' && d.status !== 'awaiting_approval')) continue;
        const cancel: DeployEvent = { type: 'cancelled', by: 'system', reason: `release ${r.name} was aborted` };
        deps.runner.dispatch(deployFlowId(d.id), cancel);
      }
    });
  }

  /** From the failed release's button: rolls back what it deployed and says so in its thread. */
  async rollbackRequested(releaseId: number, actor: Actor): Promise<string[]> {
    const lines = await this.rollbackDeployed(releaseId, actor);
    const event: ReleaseEvent = { type: 'rolled-back', lines };
    this.deps.runner.dispatch(releaseFlowId(releaseId), event);
    return lines;
  }

  /** The effect handler for releases.autoRollback: the same, queued durably by the failed release. */
  rollbackHandler(): EffectHandler {
    return async (effect: QueuedEffect) => {
      const { releaseId } = effect.payload as { releaseId: number };
      const release = this.deps.releases.get(releaseId);
      const lines = await this.rollbackDeployed(releaseId, { userId: release?.requestedBy ?? 'system', source: 'system' });
      const event: ReleaseEvent = { type: 'rolled-back', lines };
      return event;
    };
  }

  /**
   * Rolls back, newest wave first, every service the release deployed, each to the version that
   * ran before. Returns one line per service saying what happened.
   */
  async rollbackDeployed(releaseId: number, actor: Actor): Promise<string[]> {
    const release = this.deps.releases.get(releaseId);
    if (!release) throw new NotFoundError(`Release #${releaseId} does not exist.`);
    const deployed = [...release.waves].reverse().flatMap((w) => w.services.map((s) => s.name).reverse()).filter((s) => release.results[s]?.status === 'succeeded');
    if (deployed.length === 0) return ['Nothing to roll back: no service of this release was deployed.'];
    const lines: string[] = [];
    for (const service of deployed) {
      const deploymentId = release.results[service]!.deploymentId;
      const previous = deploymentId ? this.deps.deployments.get(deploymentId)?.previousGood : undefined;
      if (!previous) {
        lines.push(`${service}: no earlier good version to go back to.`);
        continue;
      }
      try {
        const { deployment, duplicate } = await this.deps.deployService.rollback(
          { service, environment: release.environment, channel: this.deps.channelFor(service, release.environment), to: previous, requestKey: `${releaseFlowId(release.id)}:rollback:${service}` },
          actor,
        );
        lines.push(`${service}: ${duplicate ? 'already rolling back' : 'rolling back'} to ${deployment.version} (deploy #${deployment.id}).`);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        lines.push(`${service}: ${error.userMessage}`);
      }
    }
    return lines;
  }

  /** Plans (a dependency cycle is refused, naming it) and records the release; it starts now or at `at`. */
  create(input: NewReleaseInput, actor: Actor): { release: Release; duplicate: boolean } {
    const { releases, audit, uow, runner, clock } = this.deps;
    const earlier = input.requestKey ? releases.findByRequestKey(input.requestKey) : undefined;
    if (earlier) return { release: earlier, duplicate: true };
    const waves = planWaves(input.items, this.deps.dependsOn);
    return uow.transaction(() => {
      const now = clock();
      const release = releases.create(
        {
          name: input.name,
          environment: input.environment,
          waves,
          requestedBy: actor.userId,
          source: actor.source,
          channel: input.channel,
          notes: input.notes ?? null,
          requestKey: input.requestKey ?? null,
          scheduledFor: input.at ?? null,
        },
        now,
      );
      audit.record({ at: now, actor: actor.userId, source: actor.source, action: 'release.created', subject: `release/${input.name}`, detail: { releaseId: release.id, environment: input.environment, items: input.items, at: input.at?.toISOString() } });
      const event: ReleaseEvent = { type: 'created', missedGraceMs: this.deps.missedGraceMs };
      runner.dispatch(releaseFlowId(release.id), event);
      return { release: releases.get(release.id)!, duplicate: false };
    });
  }

  /** Pause, resume or abort, by name (the active release) or by id. */
  control(ref: string | number, action: 'pause' | 'resume' | 'abort', actor: Actor): Release {
    const release = typeof ref === 'number' ? this.deps.releases.get(ref) : this.deps.releases.activeByName(ref);
    if (!release) throw new NotFoundError(typeof ref === 'number' ? `Release #${ref} does not exist.` : `No scheduled, running or paused release is named "${ref}". \`/release status\` lists them.`);
    const event: ReleaseEvent = { type: action, by: actor.userId, source: actor.source };
    this.deps.runner.dispatch(releaseFlowId(release.id), event);
    return this.deps.releases.get(release.id)!;
  }

  /** The effect handler that requests the deploys of one wave. */
  waveHandler(): EffectHandler {
    return async (effect: QueuedEffect) => {
      const { releaseId, wave } = effect.payload as WavePayload;
      const release = this.deps.releases.get(releaseId);
      if (!release) throw new NotFoundError(`release ${releaseId} is gone`);
      // Aborted (or over) while this wave waited in the queue: start nothing.
      if (release.status !== 'running' && release.status !== 'paused') return;
      const started: { service: string; deploymentId: number }[] = [];
      const refused: { service: string; error: string }[] = [];
      for (const s of release.waves.find((w) => w.index === wave)?.services ?? []) {
        // Aborted while this wave was being requested: request no more of it.
        if (this.deps.releases.get(releaseId)?.status === 'aborted') break;
        try {
          const { deployment } = await this.deps.deployService.request(
            {
              service: s.name,
              environment: release.environment,
              version: s.version,
              channel: this.deps.channelFor(s.name, release.environment),
              requestKey: `${releaseFlowId(release.id)}:${s.name}`,
              queue: true,
              releaseId: release.id,
            },
            { userId: release.requestedBy, source: 'system' },
          );
          started.push({ service: s.name, deploymentId: deployment.id });
        } catch (error) {
          // A passing failure (GitHub's checks timing out) retries the wave; its request keys keep deploys single.
          if (!(error instanceof AppError) || (error instanceof ExternalServiceError && error.retryable)) throw error;
          refused.push({ service: s.name, error: error.userMessage });
        }
      }
      const event: ReleaseEvent = { type: 'wave-started', wave, started, refused };
      return event;
    };
  }
}
