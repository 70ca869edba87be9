import type { DeployOutcome, EffectSpec } from '../src/core/ports';
import type { Approval, Deployment } from '../src/core/types';
import { beginCanary, type CanaryEvent, type CanaryPlan, canaryTransition } from './canary-flow';
import { audit, finishDeploy, post, reply, update } from './deploy-effects';
import { type FlowDefinition, type Transition, unchanged } from './flow';

export { deployFlowId, deployFlowStates } from './deploy-effects';

export type DeployEvent =
  /** Recorded; `waitingFor` says why it cannot start yet, if it cannot. */
  | { type: 'requested'; waitingFor?: string }
  /** Counted by the approval policy already: the flow only records it. */
  | { type: 'approved'; approval: { userId: string; at: string } }
  | { type: 'rejected'; by: string; reason: string }
  /** Called off before it ran (its release was aborted): queued or awaiting approval only. */
  | { type: 'cancelled'; by: string; reason: string }
  | { type: 'approval-expired' }
  /** The target is free: run it. `note` explains why now, to whoever waited; `canary` runs it step by step. */
  | { type: 'start'; note?: string; canary?: CanaryPlan }
  /** `previousGood`: the version that ran before, where a rollback of this deploy would go. */
  | { type: 'finished'; outcome: DeployOutcome; previousGood?: string }
  | CanaryEvent;

function expiryTimer(d: Deployment): EffectSpec[] {
  if (!d.expiresAt) return [];
  const event: DeployEvent = { type: 'approval-expired' };
  return [{ step: 'timer.approval-expiry', lane: 'timer', type: 'timer', payload: event, notBefore: d.expiresAt }];
}

function withApproval(approvals: Approval[], approval: Approval): Approval[] {
  return approvals.some((a) => a.userId === approval.userId) ? approvals : [...approvals, approval];
}

/**
 * One deploy of one version to one environment:
 * awaiting_approval -> queued -> deploying -> succeeded | failed, or rejected / expired while
 * awaiting approval. Events that do not fit the current state (a replay after a restart, a late
 * click) change nothing.
 */
export const deployFlow: FlowDefinition<Deployment, DeployEvent> = {
  kind: 'deploy',
  transition(d, event, now): Transition<Deployment> {
    switch (event.type) {
      case 'requested': {
        if (d.status !== 'queued' && d.status !== 'awaiting_approval') return unchanged(d);
        const effects = [post(d), ...expiryTimer(d)];
        if (d.breakGlassReason) {
          effects.push(reply(d, 'break-glass', `broke the glass to deploy during a freeze: ${d.breakGlassReason}`, { mention: [d.requestedBy], broadcast: true }));
        }
        if (event.waitingFor) effects.push(reply(d, 'waiting', `Queued: ${event.waitingFor}. It starts by itself when the target is free.`, { mention: [d.requestedBy] }));
        return { state: d, effects };
      }
      case 'approved': {
        if (d.status !== 'awaiting_approval') return unchanged(d);
        const approval = { userId: event.approval.userId, at: new Date(event.approval.at) };
        const approvals = withApproval(d.approvals, approval);
        if (approvals === d.approvals) return unchanged(d);
        const done = approvals.length >= d.approvalsRequired;
        const next: Deployment = { ...d, approvals, status: done ? 'queued' : 'awaiting_approval' };
        const effects = [update(next, `card.approval.${approval.userId}`)];
        if (done) effects.push(reply(next, 'approved', 'Approved. It deploys as soon as the target is free.', { mention: [d.requestedBy] }));
        return { state: next, effects, audit: audit(next, done ? 'deploy.approved' : 'deploy.approval', approval.userId) };
      }
      case 'rejected': {
        if (d.status !== 'awaiting_approval') return unchanged(d);
        const next: Deployment = { ...d, status: 'rejected', finishedAt: now, decidedBy: event.by, decisionReason: event.reason };
        return {
          state: next,
          effects: [update(next), reply(next, 'rejected', `Rejected: ${event.reason}`, { mention: [d.requestedBy] })],
          audit: audit(next, 'deploy.rejected', event.by, { reason: event.reason }),
        };
      }
      case 'cancelled': {
        if (d.status !== 'queued' && d.status !== 'awaiting_approval') return unchanged(d);
        const next: Deployment = { ...d, status: 'rejected', finishedAt: now, decidedBy: event.by, decisionReason: event.reason };
        return {
          state: next,
          effects: [update(next), reply(next, 'cancelled', `Called off: ${event.reason}`, { mention: [d.requestedBy] })],
          audit: audit(next, 'deploy.cancelled', event.by, { reason: event.reason }),
        };
      }
      case 'approval-expired': {
        if (d.status !== 'awaiting_approval' || !d.expiresAt || now < d.expiresAt) return unchanged(d);
        const next: Deployment = { ...d, status: 'expired', finishedAt: now };
        return {
          state: next,
          effects: [update(next), reply(next, 'expired', 'The approval request expired. Request it again from the message.', { mention: [d.requestedBy] })],
          audit: audit(next, 'deploy.expired'),
        };
      }
      case 'start': {
        if (d.status !== 'queued') return unchanged(d);
        const next: Deployment = { ...d, status: 'deploying', startedAt: now };
        const note = event.note ? [reply(next, 'starting', event.note, { mention: [d.requestedBy] })] : [];
        if (event.canary) {
          const begun = beginCanary(next, event.canary, now);
          return { state: begun.state, effects: [...begun.effects, ...note], audit: [...audit(next, 'deploy.started', 'system', { strategy: 'canary' }), ...(begun.audit ?? [])] };
        }
        const deploy: EffectSpec = {
          step: 'deploy',
          lane: 'work',
          type: 'deploy',
          payload: { deploymentId: d.id, service: d.service, environment: d.environment, version: d.version, requestedBy: d.requestedBy },
        };
        const effects = [update(next), deploy];
        if (event.note) effects.push(reply(next, 'starting', event.note, { mention: [d.requestedBy] }));
        return { state: next, effects, audit: audit(next, 'deploy.started') };
      }
      case 'finished': {
        if (d.status !== 'deploying' || d.canary) return unchanged(d);
        return finishDeploy(d, event.outcome, now, event.previousGood ?? null);
      }
      default:
        return canaryTransition(d, event, now);
    }
  },
};
