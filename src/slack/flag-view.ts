import { Bits, Blocks, Elements, Md } from 'slack-block-builder';
import type { FlagChangeCard } from '../../flows/messages';
import type { FlagChange, FlagSnapshot } from '../core/flags';
import { blocks, escapeMrkdwn, type RenderedMessage, slackDate } from './render';

export const ACTION_APPROVE_FLAG = 'flag_approve';
export const ACTION_REJECT_FLAG = 'flag_reject';
export const ACTION_UNDO_FLAG = 'flag_undo';

export const describeSnapshot = (s: FlagSnapshot): string =>
  `${s.enabled ? 'on' : 'off'}${s.rollout === null ? '' : `, ${s.rollout}% rollout`}${s.rules?.length ? `, ${s.rules.length} targeting rule${s.rules.length > 1 ? 's' : ''}` : ''}`;

/** "turn on", "roll out to 25%": what a change does, as people say it. */
export function describeChange(change: FlagChange): string {
  switch (change.kind) {
    case 'enable':
      return 'turn on';
    case 'disable':
      return 'turn off';
    case 'rollout':
      return `roll out to ${change.percentage}%`;
    case 'add-rule': {
      const { attribute, op, values, variant } = change.rule;
      return `serve ${variant} when ${attribute} ${op === 'equals' ? 'is' : op} ${values.join(', ')}`;
    }
    case 'clear-rules':
      return 'remove the targeting rules';
    case 'restore':
      return `restore (${describeSnapshot(change.state)})`;
  }
}

const STATUS: Record<FlagChangeCard['status'], string> = {
  scheduled: ':calendar: Scheduled',
  awaiting_approval: ':hourglass: Awaiting approval',
  applying: ':gear: Applying',
  applied: ':white_check_mark: Done',
  failed: ':x: Failed',
  rejected: ':no_entry: Rejected',
  expired: ':zzz: Expired',
};

function statusLine(card: FlagChangeCard): string {
  const base = STATUS[card.status];
  switch (card.status) {
    case 'scheduled':
      return `${base} for ${slackDate(card.scheduledFor!)}`;
    case 'awaiting_approval': {
      const given = card.approvals.map((a) => Md.user(a.userId)).join(', ');
      return `${base}: ${card.approvals.length} of ${card.approvalsRequired}${given ? ` (${given})` : ''}${card.expiresAt ? `, expires ${slackDate(card.expiresAt)}` : ''}`;
    }
    case 'applied':
      return `${base} ${slackDate(card.appliedAt!)}${card.before ? ` · was ${describeSnapshot(card.before)}` : ''}`;
    case 'failed':
      return `${base}: ${escapeMrkdwn(card.error ?? '')}`;
    case 'rejected':
      return `${base}: ${escapeMrkdwn(card.reason ?? '')}`;
    default:
      return base;
  }
}

function buttons(card: FlagChangeCard) {
  const value = String(card.changeId);
  if (card.status === 'awaiting_approval') {
    return Blocks.Actions().elements(
      Elements.Button({ text: 'Approve', actionId: ACTION_APPROVE_FLAG, value }).primary(),
      Elements.Button({ text: 'Reject', actionId: ACTION_REJECT_FLAG, value }).danger(),
    );
  }
  if (card.status !== 'applied' || !card.before) return undefined;
  return Blocks.Actions().elements(
    Elements.Button({ text: 'Undo', actionId: ACTION_UNDO_FLAG, value }).confirm(
      Bits.ConfirmationDialog({ title: 'Undo?', text: `Put ${Md.bold(card.flag)} in ${card.environment} back to ${describeSnapshot(card.before)}?`, confirm: 'Undo', deny: 'Cancel' }),
    ),
  );
}

export function renderFlagChangeCard(card: FlagChangeCard): RenderedMessage {
  const what = `${describeChange(card.change)} ${card.flag} in ${card.environment}`;
  const origin = card.undoOf ? ` (undoes change #${card.undoOf})` : card.reason && card.status !== 'rejected' ? ` (${escapeMrkdwn(card.reason)})` : '';
  return {
    text: `Flag ${card.flag} in ${card.environment}: ${describeChange(card.change)}, ${card.status.replace('_', ' ')}`,
    blocks: blocks(
      Blocks.Section({ text: `:triangular_flag_on_post: ${Md.bold(card.flag)} → ${Md.bold(card.environment)}: ${describeChange(card.change)}${origin}\n${statusLine(card)}` }),
      Blocks.Context().elements(`Flag change #${card.changeId} · ${what} · requested by ${Md.user(card.requestedBy)} · ${slackDate(card.createdAt)}`),
      buttons(card),
    ),
  };
}
