import type { FlagChangeRecord, FlagChangeStore, FlagSnapshot } from '../src/core/flags';
import type { EffectSpec } from '../src/core/ports';
import { type FlowDefinition, type FlowStateRepository, type Transition, unchanged } from './flow';
import { flagChangeCard, type PostMessage, type ThreadReply, type UpdateMessage } from './messages';

/**
 * One change of one flag in one environment: (scheduled ->) (awaiting approval ->) applying ->
 * applied | failed, or rejected / expired. The change's message in the flag's channel is its
 * announcement; once applied it carries an Undo button.
 */

export type FlagChangeEvent =
  /** Recorded. `expiresAfterMs`: the approval window, for a scheduled change that will need one. */
  | { type: 'requested'; expiresAfterMs?: number }
  /** The scheduled time came; `expiresAfterMs` is the approval window if one is needed then. */
  | { type: 'due'; expiresAfterMs: number }
  | { type: 'approved'; approval: { userId: string; at: string } }
  | { type: 'rejected'; by: string; reason: string }
  | { type: 'approval-expired' }
  | { type: 'applied'; before: FlagSnapshot; summary: string }
  | { type: 'failed'; error: string };

/** What the apply effect is asked to do. */
export interface ApplyPayload {
  changeId: number;
}

export const flagChangeFlowId = (id: number): string => `flag:${id}`;

export function flagChangeFlowStates(store: FlagChangeStore): FlowStateRepository<FlagChangeRecord> {
  return { load: (flowId) => store.get(Number(flowId.slice('flag:'.length))), save: (c) => store.save(c) };
}

const key = (c: FlagChangeRecord) => flagChangeFlowId(c.id);

function post(c: FlagChangeRecord): EffectSpec {
  const payload: PostMessage = { messageKey: key(c), channel: c.channel, message: flagChangeCard(c) };
  return { step: 'card.post', lane: 'slack', type: 'message.post', payload };
}

function update(c: FlagChangeRecord, step = `card.${c.status}`): EffectSpec {
  const payload: UpdateMessage = { messageKey: key(c), message: flagChangeCard(c) };
  return { step, lane: 'slack', type: 'message.update', payload };
}

function reply(c: FlagChangeRecord, step: string, text: string, mention: string[] = []): EffectSpec {
  const payload: ThreadReply = { messageKey: key(c), text, mention };
  return { step: `reply.${step}`, lane: 'slack', type: 'message.reply', payload };
}

const apply = (c: FlagChangeRecord): EffectSpec => ({ step: 'apply', lane: 'work', type: 'flag.apply', payload: { changeId: c.id } satisfies ApplyPayload });

function expiryTimer(c: FlagChangeRecord): EffectSpec[] {
  if (!c.expiresAt) return [];
  return [{ step: 'timer.expiry', lane: 'timer', type: 'timer', payload: { type: 'approval-expired' } satisfies FlagChangeEvent, notBefore: c.expiresAt }];
}

function audit(c: FlagChangeRecord, action: string, actor = 'system', detail: Record<string, unknown> = {}) {
  const source = actor === 'system' ? ('system' as const) : actor === c.requestedBy ? c.source : ('button' as const);
  return [{ actor, source, action, subject: `flag/${c.flag}/${c.environment}`, detail: { changeId: c.id, change: c.change, ...detail } }];
}

export const flagChangeFlow: FlowDefinition<FlagChangeRecord, FlagChangeEvent> = {
  kind: 'flag',
  transition(c, event, now): Transition<FlagChangeRecord> {
    switch (event.type) {
      case 'requested': {
        if (c.status === 'scheduled') {
          // The timer carries the approval window, so a change approved later expires on time.
          const due: FlagChangeEvent = { type: 'due', expiresAfterMs: event.expiresAfterMs ?? 0 };
          return { state: c, effects: [post(c), { step: 'timer.due', lane: 'timer', type: 'timer', payload: due, notBefore: c.scheduledFor! }] };
        }
        if (c.status === 'awaiting_approval') return { state: c, effects: [post(c), ...expiryTimer(c)] };
        if (c.status === 'applying') return { state: c, effects: [post(c), apply(c)] };
        return unchanged(c);
      }
      case 'due': {
        if (c.status !== 'scheduled') return unchanged(c);
        if (c.approvalsRequired > 0) {
          const next: FlagChangeRecord = { ...c, status: 'awaiting_approval', expiresAt: new Date(now.getTime() + event.expiresAfterMs) };
          return { state: next, effects: [update(next), reply(next, 'due', 'Its time has come; it needs approval now.', [c.requestedBy]), ...expiryTimer(next)] };
        }
        const next: FlagChangeRecord = { ...c, status: 'applying' };
        return { state: next, effects: [update(next), apply(next)] };
      }
      case 'approved': {
        if (c.status !== 'awaiting_approval' || c.approvals.some((a) => a.userId === event.approval.userId)) return unchanged(c);
        const approvals = [...c.approvals, { userId: event.approval.userId, at: new Date(event.approval.at) }];
        const done = approvals.length >= c.approvalsRequired;
        const next: FlagChangeRecord = { ...c, approvals, status: done ? 'applying' : 'awaiting_approval' };
        return {
          state: next,
          effects: [update(next, `card.approval.${event.approval.userId}`), ...(done ? [apply(next)] : [])],
          audit: audit(next, done ? 'flag.approved' : 'flag.approval', event.approval.userId),
        };
      }
      case 'rejected': {
        if (c.status !== 'awaiting_approval') return unchanged(c);
        const next: FlagChangeRecord = { ...c, status: 'rejected', reason: `rejected by <@${event.by}>: ${event.reason}` };
        return { state: next, effects: [update(next), reply(next, 'rejected', `Rejected: ${event.reason}`, [c.requestedBy])], audit: audit(next, 'flag.rejected', event.by, { reason: event.reason }) };
      }
      case 'approval-expired': {
        if (c.status !== 'awaiting_approval' || !c.expiresAt || now < c.expiresAt) return unchanged(c);
        const next: FlagChangeRecord = { ...c, status: 'expired' };
        return { state: next, effects: [update(next), reply(next, 'expired', 'The approval request expired; ask again with /flag.', [c.requestedBy])], audit: audit(next, 'flag.expired') };
      }
      case 'applied': {
        if (c.status !== 'applying') return unchanged(c);
        const next: FlagChangeRecord = { ...c, status: 'applied', before: event.before, appliedAt: now };
        return { state: next, effects: [update(next), reply(next, 'applied', event.summary)], audit: audit(next, c.undoOf ? 'flag.undone' : 'flag.changed', c.requestedBy, { before: event.before }) };
      }
      case 'failed': {
        if (c.status !== 'applying') return unchanged(c);
        const next: FlagChangeRecord = { ...c, status: 'failed', error: event.error };
        return { state: next, effects: [update(next), reply(next, 'failed', `The change failed: ${event.error}`, [c.requestedBy])], audit: audit(next, 'flag.failed', 'system', { error: event.error }) };
      }
    }
  },
};
