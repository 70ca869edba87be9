import { type ApprovalPolicy, decideApproval, decideRejection } from '../src/core/approval-policy';
import type { Clock } from '../src/core/clock';
import { ConflictError, NotFoundError, PermissionDeniedError } from '../src/core/errors';
import type { AuditLog, CommitChecks, Deployer, DeployerFactory, DeploymentStore, LockStore, QueuedEffect, UnitOfWork } from '../src/core/ports';
import type { Actor, Deployment, Lock, NewDeployment } from '../src/core/types';
import type { CanaryEvent, CanaryPlan } from './canary-flow';
import { type DeployEvent, deployFlowId } from './deploy-flow';
import type { EffectHandler } from './effect-worker';
import type { FlowRunner } from './flow-runner';
import { type AccessAction, checkAccess } from './access-check';
import { planRollback } from './rollback-plan';

/** Which rules apply to a target; read from shipmate.yml. */
export interface DeployPolicies {
  approval(service: string, environment: string): ApprovalPolicy | undefined;
  /** The freeze in force for the target at that time, if any, as a sentence. */
  freeze(service: string, environment: string, at: Date): { name: string; description: string } | undefined;
  /** SLOs of the service whose error budget is used up, where that makes deploys need --break-glass. */
  budgetExhausted?(service: string, environment: string): string[];
  /** Whether the person may deploy, roll back or change flags in the environment (access: in shipmate.yml). */
  mayAct?(action: AccessAction, environment: string, userId: string): Promise<boolean>;
  /** Whether the person may override a freeze with --break-glass. */
  mayBreakGlass(userId: string): Promise<boolean>;
  /** Members of a Slack user group. */
  groupMembers(groupId: string): Promise<readonly string[]>;
  /** The canary steps and analyses of a target with `strategy: canary`. */
  canary(service: string, environment: string): Omit<CanaryPlan, 'baselineVersion'> | undefined;
  /** Where a version's commit checks must be green before deploying here, if they must. */
  preflight(service: string, environment: string, version: string): { repository: string; ref: string } | undefined;
}

export interface DeployServiceDeps {
  store: DeploymentStore;
  locks: LockStore;
  audit: AuditLog;
  uow: UnitOfWork;
  runner: FlowRunner;
  clock: Clock;
  policies: DeployPolicies;
  checks: CommitChecks;
  /** Told every deployer outcome, e.g. for metrics. */
  onOutcome?: (request: { service: string; environment: string }, ok: boolean) => void;
}

export interface DeployRequestInput {
  service: string;
  environment: string;
  version: string;
  channel: string;
  requestKey: string | null;
  /** Wait behind a running deploy or a lock instead of being refused. */
  queue?: boolean;
  /** Deploy inside a freeze window; needs permission, is audited and announced. */
  breakGlass?: string;
  /** The release this deploy belongs to. */
  releaseId?: number;
  /** Deploy although the commit's checks are not green; needs permission, is audited. */
  force?: string;
}

export type RequestResult = {
  deployment: Deployment;
  duplicate: boolean;
  waitingFor?: string;
  /** A rollback of a target mid-canary: the canary is being aborted instead of deploying again. */
  abortedCanary?: boolean;
};

const TERMINAL = new Set(['succeeded', 'failed', 'rejected', 'expired']);

function describe(d: Deployment): string {
  return `deploy #${d.id} (${d.version} by <@${d.requestedBy}>, ${d.status.replace('_', ' ')})`;
}

export function busyMessage(d: Deployment): string {
  return (
    `${d.service} is already being deployed to ${d.environment}: ${d.version} by <@${d.requestedBy}> ` +
    `(deploy #${d.id}, ${d.status.replace('_', ' ')}). Wait for it to finish, or add --queue to run after it.`
  );
}

/** Starts deploy flows, applies approvals, locks and freezes, and runs queued deploys in order. */
export class DeployService {
  constructor(private readonly deps: DeployServiceDeps) {
    deps.runner.onTransition((flowId, state) => {
      const d = state as Deployment;
      if (flowId.startsWith('deploy:') && d.status === 'succeeded' && d.rollbackOf) this.markRolledBack(d);
      // A deploy that just became queued starts at once if it can, with nothing to announce.
      if (flowId.startsWith('deploy:') && (TERMINAL.has(d.status) || d.status === 'queued')) this.startNext(d.service, d.environment, undefined, d.id);
    });
  }

  /**
   * Checks the gates and records the deploy before anything runs. The same request key twice
   * (Slack retrying a slash command) returns the first deploy instead of starting another.
   */
  async request(input: DeployRequestInput, actor: Actor): Promise<RequestResult> {
    const { store, audit, uow, runner, clock, policies } = this.deps;
    const earlier = input.requestKey ? store.findByRequestKey(input.requestKey) : undefined;
    if (earlier) return { deployment: earlier, duplicate: true };
    await checkAccess(this.deps, 'deploy', input.environment, `${input.service}/${input.environment}`, actor);

    const freeze = policies.freeze(input.service, input.environment, clock());
    if (freeze && !input.breakGlass) {
      throw new ConflictError(
        `${input.environment} is frozen: ${freeze.description}. Someone allowed to break glass can deploy anyway with --break-glass "reason".`,
      );
    }
    if (freeze && !(await policies.mayBreakGlass(actor.userId))) {
      throw new PermissionDeniedError(`${input.environment} is frozen (${freeze.description}) and you are not allowed to break glass. Ask someone listed under breakGlass in shipmate.yml.`);
    }
    const exhausted = policies.budgetExhausted?.(input.service, input.environment) ?? [];
    if (exhausted.length > 0 && !input.breakGlass) {
      throw new ConflictError(
        `${input.service} has used up its error budget (${exhausted.join(', ')}), so new deploys to ${input.environment} need --break-glass "reason" until it recovers. Rollbacks are not affected.`,
      );
    }
    if (exhausted.length > 0 && !freeze && !(await policies.mayBreakGlass(actor.userId))) {
      throw new PermissionDeniedError(`${input.service} has used up its error budget (${exhausted.join(', ')}) and you are not allowed to break glass. Ask someone listed under breakGlass in shipmate.yml.`);
    }
    // A target that is locked or busy says so at once, without a write transaction or a question to
    // GitHub; the transaction below asks again, and its answer is the one that counts.
    this.blockers(input);
    const forced = await this.preflight(input, actor);
    const policy = policies.approval(input.service, input.environment);

    const result = uow.transaction((): RequestResult => {
      const now = clock();
      const { lock, busy } = this.blockers(input);
      const waitingFor = lock
        ? `${lock.service ?? 'the environment'} is locked in ${lock.environment} (${lock.reason})`
        : busy
          ? `behind ${describe(busy).replace(/<@(\w+)>/, '$1')}`
          : undefined;
      const fresh: NewDeployment = {
        service: input.service,
        environment: input.environment,
        version: input.version,
        channel: input.channel,
        requestKey: input.requestKey,
        requestedBy: actor.userId,
        source: actor.source,
        approvalsRequired: policy?.required ?? 0,
        expiresAt: policy ? new Date(now.getTime() + policy.expiresAfterMs) : null,
        waitInQueue: input.queue ?? false,
        breakGlassReason: freeze || exhausted.length > 0 ? input.breakGlass! : null,
        releaseId: input.releaseId ?? null,
      };
      const deployment = store.create(fresh, now);
      const subject = `${input.service}/${input.environment}`;
      audit.record({ at: now, actor: actor.userId, source: actor.source, action: 'deploy.requested', subject, detail: { deploymentId: deployment.id, version: input.version, queue: fresh.waitInQueue } });
      if (forced) {
        audit.record({ at: now, actor: actor.userId, source: actor.source, action: 'preflight.forced', subject, detail: { deploymentId: deployment.id, reason: input.force, problems: forced } });
      }
      if (exhausted.length > 0) {
        audit.record({ at: now, actor: actor.userId, source: actor.source, action: 'slo.break-glass', subject, detail: { deploymentId: deployment.id, slos: exhausted, reason: input.breakGlass } });
      }
      if (freeze) {
        audit.record({ at: now, actor: actor.userId, source: actor.source, action: 'freeze.break-glass', subject, detail: { deploymentId: deployment.id, freeze: freeze.name, reason: input.breakGlass } });
      }
      runner.dispatch(deployFlowId(deployment.id), { type: 'requested', ...(waitingFor ? { waitingFor } : {}) } satisfies DeployEvent);
      return { deployment, duplicate: false, ...(waitingFor ? { waitingFor } : {}) };
    });
    return result;
  }

  /**
   * The lock and the deploy in progress that stand in the way of a deploy to the target. Without
   * --queue either one refuses the request.
   */
  private blockers(input: DeployRequestInput): { lock: Lock | undefined; busy: Deployment | undefined } {
    const { locks, store, uow } = this.deps;
    const { lock, busy } = uow.read(() => ({
      lock: locks.covering(input.service, input.environment),
      busy: store.active(input.service, input.environment),
    }));
    if (lock && !input.queue) {
      const what = lock.service ? `${lock.service} in ${lock.environment}` : lock.environment;
      throw new ConflictError(
        `${what} is locked by <@${lock.lockedBy}> since ${lock.lockedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC: ${lock.reason}. ` +
          `Add --queue to deploy when it is unlocked.`,
      );
    }
    if (busy && !input.queue) throw new ConflictError(busyMessage(busy));
    return { lock, busy };
  }

  /**
   * Where the environment requires green checks, asks GitHub about the version's commit. Returns
   * the problems that --force overrode (to audit), undefined when nothing had to be forced.
   */
  private async preflight(input: DeployRequestInput, actor: Actor): Promise<string[] | undefined> {
    const where = this.deps.policies.preflight(input.service, input.environment, input.version);
    if (!where) return undefined;
    const verdict = await this.deps.checks.verify(where.repository, where.ref);
    if (verdict.green) return undefined;
    const listed = verdict.problems.map((p) => `• ${p}`).join('\n');
    if (!input.force) {
      throw new ConflictError(
        `${where.repository}@${where.ref} does not have green checks, so it cannot go to ${input.environment}:\n${listed}\nSomeone allowed to break glass can deploy anyway with --force "reason".`,
      );
    }
    if (!(await this.deps.policies.mayBreakGlass(actor.userId))) {
      throw new PermissionDeniedError(`Only people listed under breakGlass in shipmate.yml may --force a deploy past failing checks.`);
    }
    return verdict.problems;
  }

  /**
   * Rolls a target back to its previous known good version, or to `to`. Rollbacks skip approvals
   * and freeze windows (they are how people get out of trouble) but not locks. A rollback already
   * under way for the target is returned instead of a second one, so many clicks start one.
   */
  async rollback(
    input: { service: string; environment: string; channel: string; to?: string; requestKey: string | null },
    actor: Actor,
  ): Promise<RequestResult> {
    const { store, locks, audit, uow, runner, clock } = this.deps;
    await checkAccess(this.deps, 'rollback', input.environment, `${input.service}/${input.environment}`, actor);
    return uow.transaction((): RequestResult => {
      const active = store.active(input.service, input.environment);
      if (active?.rollbackOf) return { deployment: active, duplicate: true };
      // Mid-canary the baseline still serves most traffic: aborting the canary is the rollback.
      if (active?.status === 'deploying' && active.canary) return this.abortCanary(active, actor, 'rollback requested');
      const target = `${input.service} in ${input.environment}`;
      if (active?.status === 'deploying') throw new ConflictError(`${target} is deploying ${active.version} (deploy #${active.id}); roll back once it has finished.`);
      const lock = locks.covering(input.service, input.environment);
      if (lock) throw new ConflictError(`${target} is locked by <@${lock.lockedBy}>: ${lock.reason}. Unlock it to roll back.`);
      const [newest] = store.history(input.service, input.environment, 1);
      // A canary that was rolled back already left the baseline serving everything.
      if (newest?.canary?.status === 'rolled-back' && !input.to) return { deployment: newest, duplicate: true, abortedCanary: true };
      const { undo: current, to } = planRollback(target, store.good(input.service, input.environment, 100), newest, input.to);
      const now = clock();
      const deployment = store.create(
        {
          service: input.service,
          environment: input.environment,
          version: to.version,
          channel: input.channel,
          requestKey: input.requestKey,
          requestedBy: actor.userId,
          source: actor.source,
          approvalsRequired: 0,
          expiresAt: null,
          waitInQueue: false,
          breakGlassReason: null,
          rollbackOf: current.id,
          rollbackFrom: current.version,
        },
        now,
      );
      audit.record({ at: now, actor: actor.userId, source: actor.source, action: 'deploy.rollback', subject: `${input.service}/${input.environment}`, detail: { deploymentId: deployment.id, from: current.version, to: to.version } });
      const event: DeployEvent = { type: 'requested' };
      runner.dispatch(deployFlowId(deployment.id), event);
      return { deployment: store.get(deployment.id)!, duplicate: false };
    });
  }

  /** Aborts a running or paused canary; a second request while it is being aborted changes nothing. */
  private abortCanary(d: Deployment, actor: Actor, reason: string): RequestResult {
    if (d.canary!.status === 'aborting') return { deployment: d, duplicate: true, abortedCanary: true };
    const event: CanaryEvent = { type: 'canary.rollback', by: actor.userId, source: actor.source, reason };
    this.deps.runner.dispatch(deployFlowId(d.id), event);
    return { deployment: this.deps.store.get(d.id)!, duplicate: false, abortedCanary: true };
  }

  /**
   * A person decides about a paused (inconclusive) canary: promote it anyway, or roll it back.
   * Returns what to tell them; a decision about a canary that is not waiting for one changes nothing.
   */
  async decideCanary(deploymentId: number, decision: 'promote' | 'rollback', actor: Actor): Promise<string> {
    // Rolling back is always allowed; going on past an inconclusive analysis is an approver's call where deploys need approval.
    const refusal = decision === 'promote' ? await this.mayPromote(deploymentId, actor.userId) : undefined;
    if (refusal) throw new PermissionDeniedError(refusal);
    if (decision === 'rollback') {
      const d = this.require(deploymentId);
      await checkAccess(this.deps, 'rollback', d.environment, `${d.service}/${d.environment}`, actor);
    }
    return this.deps.uow.transaction(() => {
      const d = this.require(deploymentId);
      const run = d.canary;
      if (d.status !== 'deploying' || !run || !['running', 'paused'].includes(run.status)) {
        return `The canary of deploy #${d.id} is ${run ? run.status.replace('-', ' ') : 'not running'}; there is nothing to decide.`;
      }
      if (decision === 'rollback') {
        const result = this.abortCanary(d, actor, 'rolled back from the message');
        return result.duplicate ? `The canary of deploy #${d.id} is already being rolled back.` : `Rolling back the canary of deploy #${d.id}.`;
      }
      if (run.status !== 'paused') return `The canary of deploy #${d.id} is not paused; it goes on by itself.`;
      const event: CanaryEvent = { type: 'canary.promote', by: actor.userId, source: actor.source };
      this.deps.runner.dispatch(deployFlowId(d.id), event);
      return `You promoted the canary of deploy #${d.id}; it goes on to the next step.`;
    });
  }

  private async mayPromote(deploymentId: number, userId: string): Promise<string | undefined> {
    const d = this.require(deploymentId);
    const policy = this.deps.policies.approval(d.service, d.environment);
    if (!policy) return undefined;
    let approver = policy.approvers.users.includes(userId);
    for (const group of policy.approvers.groups) approver ||= (await this.deps.policies.groupMembers(group)).includes(userId);
    if (!approver) return `Deploys to ${d.environment} need approval, so only an approver may promote a canary past an inconclusive analysis. Roll back is open to everyone.`;
    if (userId === d.requestedBy && !policy.allowSelfApproval) return `You asked for deploy #${d.id}; another approver must promote its canary.`;
    return undefined;
  }

  /** A rollback succeeded: the deploys it undid stop counting as good, back to the version it restored. */
  private markRolledBack(rollback: Deployment): void {
    for (const d of this.deps.store.good(rollback.service, rollback.environment, 100)) {
      if (d.id === rollback.id || d.id > rollback.rollbackOf!) continue;
      if (d.version === rollback.version) break;
      this.deps.store.save({ ...d, rolledBack: true });
    }
  }

  /** Counts an approval from a button click; returns what to tell the person who clicked. */
  async approve(deploymentId: number, userId: string): Promise<string> {
    const d = this.require(deploymentId);
    if (d.status !== 'awaiting_approval') return `Deploy #${d.id} is ${d.status.replace('_', ' ')}; there is nothing to approve.`;
    const decision = decideApproval(await this.approvalRequest(d, userId));
    switch (decision.kind) {
      case 'counted': {
        const event: DeployEvent = { type: 'approved', approval: { userId, at: this.deps.clock().toISOString() } };
        this.deps.runner.dispatch(deployFlowId(d.id), event);
        return decision.approved
          ? `You approved deploy #${d.id}; it has every approval it needs.`
          : `You approved deploy #${d.id}; ${decision.remaining} more needed.`;
      }
      case 'already-approved':
        return `Your approval of deploy #${d.id} is already counted.`;
      default:
        return decision.message;
    }
  }

  /** Rejects (or, for the requester, withdraws) a deploy awaiting approval. */
  async reject(deploymentId: number, userId: string, reason: string): Promise<string> {
    const rejection = await this.rejection(deploymentId, userId);
    if ('refusal' in rejection) return rejection.refusal;
    const { d, withdrawn } = rejection;
    const event: DeployEvent = { type: 'rejected', by: userId, reason: withdrawn ? `withdrawn by the requester: ${reason}` : reason };
    this.deps.runner.dispatch(deployFlowId(d.id), event);
    return `You ${withdrawn ? 'withdrew' : 'rejected'} deploy #${d.id}.`;
  }

  /**
   * Why the person cannot reject the deploy now (it is over, expired or approved, or they are no
   * approver), or undefined when they can: the Reject button asks for a reason only then.
   */
  async cannotReject(deploymentId: number, userId: string): Promise<string | undefined> {
    const rejection = await this.rejection(deploymentId, userId);
    return 'refusal' in rejection ? rejection.refusal : undefined;
  }

  private async rejection(deploymentId: number, userId: string): Promise<{ refusal: string } | { d: Deployment; withdrawn: boolean }> {
    const d = this.require(deploymentId);
    if (d.status !== 'awaiting_approval') return { refusal: `Deploy #${d.id} is ${d.status.replace('_', ' ')}; there is nothing to reject.` };
    const decision = decideRejection(await this.approvalRequest(d, userId));
    if (decision.kind !== 'rejected' && decision.kind !== 'withdrawn') return { refusal: decision.message };
    return { d, withdrawn: decision.kind === 'withdrawn' };
  }

  /**
   * Runs the oldest queued deploy of the target when nothing runs there, nothing locks it and no
   * freeze holds it (unless it broke the glass). Whoever waited is told why it starts now, except
   * `quietFor`, the deploy that only just became queued and so never waited.
   */
  startNext(service: string, environment: string, note?: string, quietFor?: number): void {
    const { store, locks, uow, runner, policies, clock } = this.deps;
    uow.transaction(() => {
      if (store.active(service, environment)?.status === 'deploying' || locks.covering(service, environment)) return;
      const [next] = store.queued(service, environment);
      if (!next) return;
      // Rollbacks and break-glass deploys go out during a freeze; others wait for it to end.
      if (!next.breakGlassReason && !next.rollbackOf && policies.freeze(service, environment, clock())) return;
      const waited = next.waitInQueue && next.id !== quietFor;
      const canary = this.canaryPlan(next);
      const event: DeployEvent = { type: 'start', ...(waited ? { note: note ?? 'Your turn: the target is free, starting now.' } : {}), ...(canary ? { canary } : {}) };
      runner.dispatch(deployFlowId(next.id), event);
    });
  }

  /**
   * Where the target runs canaries, the plan for this deploy. Rollbacks go out at once, and so
   * does a first deploy: with no version running there is nothing to compare the canary with.
   */
  private canaryPlan(d: Deployment): CanaryPlan | undefined {
    const plan = d.rollbackOf ? undefined : this.deps.policies.canary(d.service, d.environment);
    const baseline = plan && this.deps.store.good(d.service, d.environment, 1)[0];
    return plan && baseline ? { ...plan, baselineVersion: baseline.version } : undefined;
  }

  /** After a restart, or a tick: starts what can start and expires what is overdue. */
  resume(): void {
    const targets = new Set(this.deps.store.withStatus('queued').map((d) => `${d.service}\u0000${d.environment}`));
    for (const t of targets) {
      const [service, environment] = t.split('\u0000') as [string, string];
      this.startNext(service, environment);
    }
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
      // Targets can answer at length; the card and thread have limits, the start is what explains.
      if (!outcome.ok && outcome.error.length > 1000) outcome = { ...outcome, error: `${outcome.error.slice(0, 1000)}…` };
      this.deps.onOutcome?.(request, outcome.ok);
      const event: DeployEvent = { type: 'finished', outcome, ...this.previousGoodOf(request) };
      return event;
    };
  }

  /**
   * Where a rollback of this deploy would go: the last good version before it. A rollback's own
   * "before" starts at the version it restored; the deploys it undid are no way back.
   */
  private previousGoodOf(request: { deploymentId: number; service: string; environment: string; version: string }): { previousGood?: string } {
    let good = this.deps.store.good(request.service, request.environment, 20).filter((d) => d.id !== request.deploymentId);
    const rollbackOf = this.deps.store.get(request.deploymentId)?.rollbackOf;
    if (rollbackOf) {
      const restored = good.findIndex((d) => d.id <= rollbackOf && d.version === request.version);
      good = restored >= 0 ? good.slice(restored) : good.filter((d) => d.id < rollbackOf);
    }
    const previousGood = good.find((d) => d.version !== request.version)?.version;
    return previousGood ? { previousGood } : {};
  }

  private require(deploymentId: number): Deployment {
    const d = this.deps.store.get(deploymentId);
    if (!d) throw new NotFoundError(`Deploy #${deploymentId} is not in Shipmate's database.`);
    return d;
  }

  private async approvalRequest(d: Deployment, clicker: string) {
    const policy = this.deps.policies.approval(d.service, d.environment);
    if (!policy) throw new ConflictError(`${d.environment} no longer needs approval in shipmate.yml; request the deploy again.`);
    const members = new Map<string, readonly string[]>();
    for (const group of policy.approvers.groups) members.set(group, await this.deps.policies.groupMembers(group));
    return {
      policy: { ...policy, required: d.approvalsRequired },
      requester: d.requestedBy,
      approvals: d.approvals,
      clicker,
      groupMembers: (group: string) => members.get(group) ?? [],
      now: this.deps.clock(),
      requestedAt: d.createdAt,
    };
  }
}
