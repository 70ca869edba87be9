import { type ApprovalPolicy, decideApproval, decideRejection } from '../src/core/approval-policy';
import type { Clock } from '../src/core/clock';
import { ConflictError, ExternalServiceError, NotFoundError, PermissionDeniedError, ValidationError } from '../src/core/errors';
import type { FlagBackend, FlagChange, FlagChangeRecord, FlagChangeStore, FlagSnapshot, FlagState, FlagStore, FlagValue, TargetingRule } from '../src/core/flags';
import type { AuditLog, QueuedEffect, UnitOfWork } from '../src/core/ports';
import type { Actor } from '../src/core/types';
import { patternProblem } from '../src/core/flag-evaluation';
import { checkAccess } from './access-check';
import { DEFAULT_MAX_ATTEMPTS, type EffectHandler } from './effect-worker';
import { type ApplyPayload, type FlagChangeEvent, flagChangeFlowId } from './flag-change-flow';
import type { FlowRunner } from './flow-runner';

export interface FlagPolicies {
  /** The environments flags exist in. */
  environments(): string[];
  /** builtin: Shipmate's own store; otherwise the external system's API. */
  backend(environment: string): 'builtin' | FlagBackend | undefined;
  approval(environment: string): ApprovalPolicy | undefined;
  groupMembers(groupId: string): Promise<readonly string[]>;
  channel(flag: string, environment: string): string;
  /** Whether the person may change flags in the environment (access: in shipmate.yml). */
  mayAct?(action: 'flags', environment: string, userId: string): Promise<boolean>;
}

export interface FlagServiceDeps {
  flags: FlagStore;
  changes: FlagChangeStore;
  audit: AuditLog;
  uow: UnitOfWork;
  runner: FlowRunner;
  clock: Clock;
  policies: FlagPolicies;
}

export interface FlagChangeInput {
  flag: string;
  environment: string;
  change: FlagChange;
  requestKey: string | null;
  scheduledFor?: Date;
  /** Incidents, canaries and Undo act at once: they are how people get out of trouble. */
  skipApproval?: boolean;
  reason?: string;
  undoOf?: number;
}

export interface NewFlagInput {
  key: string;
  type: FlagState['type'];
  variants: Record<string, FlagValue>;
  defaultVariant: string;
  offVariant: string;
  description: string;
}

const KEY = /^[a-z0-9][a-z0-9._-]{0,99}$/;

/** The variant the flag serves when on: the rollout's, or the default when there is no rollout. */
const onVariantOf = (f: FlagState): string => f.rollout?.variant ?? f.defaultVariant;

export const snapshotOf = (f: FlagState): FlagSnapshot => ({ enabled: f.enabled, rollout: f.rollout?.percentage ?? null, rules: f.rules });

/**
 * A rollout sends its share of targeting keys to the on variant and the rest to the off
 * variant; without one, everyone gets the on variant while the flag is on.
 */
export function withSnapshot(f: FlagState, s: FlagSnapshot): FlagState {
  const on = onVariantOf(f);
  return {
    ...f,
    enabled: s.enabled,
    rollout: s.rollout === null ? null : { percentage: s.rollout, variant: on },
    defaultVariant: s.rollout === null ? on : f.offVariant,
    rules: s.rules ?? f.rules,
  };
}

/** What the flag is after the change. A rollout turns the flag on: a rollout of a flag that is off serves nobody. */
export function target(before: FlagSnapshot, change: FlagChange): FlagSnapshot {
  switch (change.kind) {
    case 'enable':
      return { ...before, enabled: true };
    case 'disable':
      return { ...before, enabled: false };
    case 'rollout':
      return { enabled: true, rollout: change.percentage };
    case 'add-rule':
      return { ...before, rules: [...(before.rules ?? []), change.rule] };
    case 'clear-rules':
      return { ...before, rules: [] };
    case 'restore':
      return change.state;
  }
}

function checkRule(rule: TargetingRule, flag: FlagState | undefined): void {
  if (flag && !Object.hasOwn(flag.variants, rule.variant)) throw new ValidationError(`${flag.key} has no variant "${rule.variant}"; its variants: ${Object.keys(flag.variants).join(', ')}.`);
  if (rule.op !== 'matches') return;
  const pattern = rule.values[0] ?? '';
  const problem = patternProblem(pattern);
  if (problem) throw new ValidationError(`The pattern "${pattern}" is refused: ${problem}. Write it without nesting, e.g. ^[a-z]+@example\\.com$.`);
}

const describe = (s: FlagSnapshot) => `${s.enabled ? 'on' : 'off'}${s.rollout === null ? '' : ` for ${s.rollout}% of targeting keys`}`;

/** Creates flags and changes them, with approvals, schedules and Undo, through any backend. */
export class FlagService {
  constructor(private readonly deps: FlagServiceDeps) {}

  private checkEnvironment(environment: string): 'builtin' | FlagBackend {
    const backend = this.deps.policies.backend(environment);
    if (!backend) {
      const known = this.deps.policies.environments();
      throw new ValidationError(`Flags have no environment "${environment}"${known.length ? `; use one of: ${known.join(', ')}` : ': declare flags.environments in shipmate.yml'}.`);
    }
    return backend;
  }

  /** A new flag of Shipmate's own, off, in every builtin environment. */
  create(input: NewFlagInput, actor: Actor): FlagState[] {
    if (!KEY.test(input.key)) throw new ValidationError(`"${input.key}" is not a flag key: use lowercase letters, digits, ".", "_" or "-", starting with a letter or digit.`);
    const names = Object.keys(input.variants);
    for (const v of [input.defaultVariant, input.offVariant]) {
      if (!names.includes(v)) throw new ValidationError(`The variant "${v}" is not one of the flag's variants (${names.join(', ')}).`);
    }
    const environments = this.deps.policies.environments().filter((e) => this.deps.policies.backend(e) === 'builtin');
    if (environments.length === 0) throw new ValidationError('No flag environment uses the builtin backend; create flags in LaunchDarkly or Unleash instead.');
    const { flags, audit, uow, clock } = this.deps;
    return uow.transaction(() => {
      const now = clock();
      const created = environments.map((environment) =>
        flags.create({ ...input, environment, enabled: false, rollout: null, rules: [], updatedBy: actor.userId }, now),
      );
      audit.record({ at: now, actor: actor.userId, source: actor.source, action: 'flag.created', subject: `flag/${input.key}`, detail: { environments, variants: input.variants } });
      return created;
    });
  }

  /** Records a change and starts it: at once, at its time, or once approved. The same request key twice is one change. */
  request(input: FlagChangeInput, actor: Actor): { change: FlagChangeRecord; duplicate: boolean } {
    const { changes, flags, uow, runner, clock, policies } = this.deps;
    const earlier = input.requestKey ? changes.findByRequestKey(input.requestKey) : undefined;
    if (earlier) return { change: earlier, duplicate: true };
    const backend = this.checkEnvironment(input.environment);
    if (backend === 'builtin' && !flags.get(input.flag, input.environment)) {
      throw new NotFoundError(`There is no flag "${input.flag}" in ${input.environment}. \`/flag list ${input.environment}\` shows them; \`/flag create ${input.flag}\` makes one.`);
    }
    if ((input.change.kind === 'add-rule' || input.change.kind === 'clear-rules') && backend !== 'builtin') {
      throw new ValidationError(`Targeting rules of flags in ${input.environment} live in the flag system there; edit them in its UI.`);
    }
    if (input.change.kind === 'add-rule') checkRule(input.change.rule, flags.get(input.flag, input.environment));
    if (input.change.kind === 'rollout' && !(input.change.percentage >= 0 && input.change.percentage <= 100)) {
      throw new ValidationError(`A rollout is a percentage from 0 to 100, not ${input.change.percentage}.`);
    }
    const policy = input.skipApproval ? undefined : policies.approval(input.environment);
    return uow.transaction(() => {
      const now = clock();
      if (input.scheduledFor && input.scheduledFor <= now) throw new ValidationError('That time has passed; leave out --at to change the flag now.');
      const scheduled = Boolean(input.scheduledFor);
      const change = changes.create(
        {
          flag: input.flag,
          environment: input.environment,
          change: input.change,
          requestedBy: actor.userId,
          source: actor.source,
          channel: policies.channel(input.flag, input.environment),
          requestKey: input.requestKey,
          scheduledFor: input.scheduledFor ?? null,
          approvalsRequired: policy?.required ?? 0,
          expiresAt: policy && !scheduled ? new Date(now.getTime() + policy.expiresAfterMs) : null,
          undoOf: input.undoOf ?? null,
          reason: input.reason ?? null,
        },
        now,
      );
      this.deps.audit.record({ at: now, actor: actor.userId, source: actor.source, action: 'flag.requested', subject: `flag/${input.flag}/${input.environment}`, detail: { changeId: change.id, change: input.change, ...(input.reason ? { reason: input.reason } : {}) } });
      const event: FlagChangeEvent = { type: 'requested', ...(policy && scheduled ? { expiresAfterMs: policy.expiresAfterMs } : {}) };
      runner.dispatch(flagChangeFlowId(change.id), event);
      return { change: changes.get(change.id)!, duplicate: false };
    });
  }

  /** A person's change, from Slack: the access policy first, then as `request`. */
  async requestAs(input: FlagChangeInput, actor: Actor): Promise<{ change: FlagChangeRecord; duplicate: boolean }> {
    await checkAccess({ policies: this.deps.policies, audit: this.deps.audit, clock: this.deps.clock }, 'flags', input.environment, `flag/${input.flag}/${input.environment}`, actor);
    return this.request(input, actor);
  }

  /**
   * Undo: puts the flag back as it was before the change, at once. Only the latest change of the
   * flag can be undone (an older one would overwrite what came after), and where changes need
   * approval, only by its requester or an approver.
   */
  async undo(changeId: number, actor: Actor, requestKey: string | null, options: { asShipmate?: boolean } = {}): Promise<{ change: FlagChangeRecord; duplicate: boolean }> {
    const c = this.require(changeId);
    const earlier = requestKey ? this.deps.changes.findByRequestKey(requestKey) : undefined;
    if (earlier) return { change: earlier, duplicate: true };
    if (c.status !== 'applied' || !c.before) throw new ConflictError(`Flag change #${c.id} is ${c.status.replace('_', ' ')}; only an applied change can be undone.`);
    const latest = this.deps.changes.appliedSince(new Date(0), [c.flag]).find((x) => x.environment === c.environment);
    if (latest && latest.id !== c.id) {
      throw new ConflictError(`Flag change #${c.id} is not the latest change of ${c.flag} in ${c.environment} (#${latest.id} is): undo that one, or change the flag with /flag.`);
    }
    const policy = this.deps.policies.approval(c.environment);
    if (!options.asShipmate) await checkAccess({ policies: this.deps.policies, audit: this.deps.audit, clock: this.deps.clock }, 'flags', c.environment, `flag/${c.flag}/${c.environment}`, actor);
    if (policy && !options.asShipmate && actor.userId !== c.requestedBy && !(await this.isApprover(policy, actor.userId))) {
      throw new PermissionDeniedError(`Flags in ${c.environment} need approval, so only <@${c.requestedBy}>, who asked for change #${c.id}, or an approver can undo it.`);
    }
    return this.request({ flag: c.flag, environment: c.environment, change: { kind: 'restore', state: c.before }, requestKey: requestKey ?? `undo:${c.id}:${actor.userId}`, skipApproval: true, undoOf: c.id }, actor);
  }

  async approve(changeId: number, userId: string): Promise<string> {
    const c = this.require(changeId);
    if (c.status !== 'awaiting_approval') return `Flag change #${c.id} is ${c.status.replace('_', ' ')}; there is nothing to approve.`;
    const decision = decideApproval(await this.approvalRequest(c, userId));
    if (decision.kind === 'counted') {
      const event: FlagChangeEvent = { type: 'approved', approval: { userId, at: this.deps.clock().toISOString() } };
      this.deps.runner.dispatch(flagChangeFlowId(c.id), event);
      return decision.approved ? `You approved flag change #${c.id}; it is applied now.` : `You approved flag change #${c.id}; ${decision.remaining} more needed.`;
    }
    return decision.kind === 'already-approved' ? `Your approval of flag change #${c.id} is already counted.` : decision.message;
  }

  async reject(changeId: number, userId: string, reason: string): Promise<string> {
    const c = this.require(changeId);
    if (c.status !== 'awaiting_approval') return `Flag change #${c.id} is ${c.status.replace('_', ' ')}; there is nothing to reject.`;
    const decision = decideRejection(await this.approvalRequest(c, userId));
    if (decision.kind !== 'rejected' && decision.kind !== 'withdrawn') return decision.message;
    const event: FlagChangeEvent = { type: 'rejected', by: userId, reason };
    this.deps.runner.dispatch(flagChangeFlowId(c.id), event);
    return `You ${decision.kind === 'withdrawn' ? 'withdrew' : 'rejected'} flag change #${c.id}.`;
  }

  private async isApprover(policy: ApprovalPolicy, userId: string): Promise<boolean> {
    if (policy.approvers.users.includes(userId)) return true;
    for (const group of policy.approvers.groups) if ((await this.deps.policies.groupMembers(group)).includes(userId)) return true;
    return false;
  }

  private async approvalRequest(c: FlagChangeRecord, clicker: string) {
    const policy = this.deps.policies.approval(c.environment);
    if (!policy) throw new ConflictError(`Flags in ${c.environment} no longer need approval in shipmate.yml; ask for the change again.`);
    const members = new Map<string, readonly string[]>();
    for (const group of policy.approvers.groups) members.set(group, await this.deps.policies.groupMembers(group));
    return {
      policy: { ...policy, required: c.approvalsRequired },
      requester: c.requestedBy,
      approvals: c.approvals,
      clicker,
      groupMembers: (group: string) => members.get(group) ?? [],
      now: this.deps.clock(),
      requestedAt: c.createdAt,
    };
  }

  find(changeId: number): FlagChangeRecord | undefined {
    return this.deps.changes.get(changeId);
  }

  private require(changeId: number): FlagChangeRecord {
    const c = this.deps.changes.get(changeId);
    if (!c) throw new NotFoundError(`Flag change #${changeId} is not in Shipmate's database.`);
    return c;
  }

  /**
   * The `flag.apply` effect. The state before the change is recorded on the change before
   * anything is touched, so a retry after a crash still knows what Undo must restore.
   */
  applyHandler(): EffectHandler {
    return async (effect: QueuedEffect): Promise<FlagChangeEvent> => {
      const { changeId } = effect.payload as ApplyPayload;
      const c = this.require(changeId);
      try {
        const backend = this.checkEnvironment(c.environment);
        const after = backend === 'builtin' ? this.applyBuiltin(c) : await this.applyExternal(c, backend);
        return { type: 'applied', before: after.before, summary: `${c.flag} is ${describe(after.now)} in ${c.environment}.` };
      } catch (error) {
        if (error instanceof ValidationError || error instanceof NotFoundError) return { type: 'failed', error: error.userMessage };
        // A passing failure is tried again (same key); a final one, or the last try, ends the change as failed.
        const retryable = !(error instanceof ExternalServiceError) || error.retryable;
        if (retryable && effect.attempts + 1 < DEFAULT_MAX_ATTEMPTS) throw error;
        return { type: 'failed', error: error instanceof Error ? error.message : String(error) };
      }
    };
  }

  private applyBuiltin(c: FlagChangeRecord): { before: FlagSnapshot; now: FlagSnapshot } {
    const { flags, changes, uow, clock } = this.deps;
    return uow.transaction(() => {
      const flag = flags.get(c.flag, c.environment);
      if (!flag) throw new NotFoundError(`The flag ${c.flag} no longer exists in ${c.environment}.`);
      const before = c.before ?? snapshotOf(flag);
      const now = target(before, c.change);
      if (!c.before) changes.save({ ...c, before });
      flags.save({ ...withSnapshot(flag, now), updatedAt: clock(), updatedBy: c.requestedBy });
      return { before, now };
    });
  }

  private async applyExternal(c: FlagChangeRecord, backend: FlagBackend): Promise<{ before: FlagSnapshot; now: FlagSnapshot }> {
    let before = c.before;
    if (!before) {
      before = await backend.read(c.flag, c.environment);
      const known = before;
      this.deps.uow.transaction(() => this.deps.changes.save({ ...this.require(c.id), before: known }));
    }
    const now = target(before, c.change);
    const comment = `Shipmate flag change #${c.id} by ${c.requestedBy}`;
    // No rollout is everyone: backends keep a rollout strategy, so "none" is sent as 100%.
    const rollout = now.rollout ?? (before.rollout !== null ? 100 : null);
    if (rollout !== null && rollout !== before.rollout) await backend.setRollout(c.flag, c.environment, rollout, comment);
    if (now.enabled !== before.enabled || c.change.kind !== 'rollout') await backend.setEnabled(c.flag, c.environment, now.enabled, comment);
    return { before, now };
  }
}
