import type { KnownBlock } from '@slack/types';
import { BlockCollection, Bits, Blocks, Elements, Md } from 'slack-block-builder';
import type { DeploymentLine, Reply } from '../../commands/reply';
import type { DeployCard, MessageModel, ReleaseCard } from '../../flows/messages';
import { formatDuration } from '../core/format-duration';
import { renderFlagChangeCard } from './flag-view';
import { renderIncidentCard } from './incident-view';

export const ACTION_RETRY_DEPLOY = 'deploy_retry';
export const ACTION_APPROVE_DEPLOY = 'deploy_approve';
export const ACTION_REJECT_DEPLOY = 'deploy_reject';
export const ACTION_REREQUEST_DEPLOY = 'deploy_rerequest';
export const ACTION_ROLLBACK_DEPLOY = 'deploy_rollback';
export const ACTION_PROMOTE_CANARY = 'canary_promote';
export const ACTION_ROLLBACK_CANARY = 'canary_rollback';
export const VIEW_REJECT_DEPLOY = 'deploy_reject_reason';
export const INPUT_REJECT_REASON = 'reason';

export interface RenderedMessage {
  /** The notification and screen-reader text; Slack shows blocks when there are some. */
  text: string;
  blocks: KnownBlock[];
}

/**
 * Escapes text that did not come from us (a deploy target's answer, a command's output) so Slack
 * shows it as written: no links, no @channel. See https://api.slack.com/reference/surfaces/formatting#escaping
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack renders this in each reader's own time zone; the fallback is for clients that cannot. */
export function slackDate(iso: string, format = '{date_short_pretty} {time}'): string {
  const seconds = Math.floor(new Date(iso).getTime() / 1000);
  return `<!date^${seconds}^${format}|${iso}>`;
}

const STATUS = {
  awaiting_approval: { emoji: ':raised_hand:', word: 'Awaiting approval' },
  queued: { emoji: ':hourglass_flowing_sand:', word: 'Queued' },
  deploying: { emoji: ':rocket:', word: 'Deploying' },
  succeeded: { emoji: ':white_check_mark:', word: 'Succeeded' },
  failed: { emoji: ':x:', word: 'Failed' },
  rejected: { emoji: ':no_entry_sign:', word: 'Rejected' },
  expired: { emoji: ':hourglass:', word: 'Expired' },
  never: { emoji: ':white_circle:', word: 'Never deployed' },
} as const;

/** Lines in as many sections as Slack's 3000 characters per section need, never cutting a line. */
function inSections(lines: readonly string[]) {
  const chunks: string[][] = [];
  let size = 0;
  for (const line of lines) {
    if (chunks.length === 0 || size + line.length + 1 > 2900) {
      chunks.push([]);
      size = 0;
    }
    chunks.at(-1)!.push(line.slice(0, 2900));
    size += line.length + 1;
  }
  return chunks.map((chunk) => Blocks.Section({ text: chunk.join('\n') }));
}

/** Builds Block Kit JSON; undefined builders are skipped, so optional blocks read inline. */
export const blocks = (...builders: Parameters<typeof BlockCollection>): KnownBlock[] =>
  BlockCollection(...builders) as unknown as KnownBlock[];

function approvalLine(card: DeployCard): string | undefined {
  if (card.approvalsRequired === 0) return undefined;
  const given = card.approvals.map((a) => `${Md.user(a.userId)} (${slackDate(a.at, '{time}')})`);
  const parts = [given.length ? `Approved by ${given.join(', ')}` : 'No approvals yet'];
  const remaining = card.approvalsRequired - card.approvals.length;
  if (card.status === 'awaiting_approval') {
    parts.push(`${remaining}${given.length ? ' more' : ''} needed`);
    if (card.expiresAt) parts.push(`expires ${slackDate(card.expiresAt)}`);
  }
  return parts.join(' · ');
}

function statusLine(card: DeployCard): string {
  const { emoji, word } = STATUS[card.status];
  const started = card.startedAt ?? card.createdAt;
  switch (card.status) {
    case 'awaiting_approval':
    case 'queued':
    case 'expired':
      return `${emoji} ${word}`;
    case 'rejected':
      return `${emoji} ${word} by ${Md.user(card.decidedBy ?? '')}: ${escapeMrkdwn(card.decisionReason ?? '')}`;
    case 'deploying':
      return `${emoji} ${word} since ${slackDate(started)}`;
    case 'succeeded':
    case 'failed': {
      const took = formatDuration(new Date(card.finishedAt ?? started).getTime() - new Date(started).getTime());
      return `${emoji} ${word} in ${took}${card.error ? `: ${escapeMrkdwn(card.error)}` : ''}`;
    }
  }
}

/** "Roll back to 1.4.1", behind a dialog that names both versions. */
function rollbackButton(card: DeployCard) {
  const to = card.previousGood;
  if (!to || to === card.version) return undefined;
  const text =
    card.status === 'failed'
      ? `${card.version} failed in ${card.environment}. Deploy ${Md.bold(to)}, the last good version of ${card.service}, again?`
      : `Roll back ${Md.bold(card.service)} in ${card.environment} from ${Md.bold(card.version)} to ${Md.bold(to)}?`;
  return Elements.Button({ text: `Roll back to ${to}`, actionId: ACTION_ROLLBACK_DEPLOY, value: String(card.deploymentId) }).confirm(
    Bits.ConfirmationDialog({ title: 'Roll back?', text, confirm: 'Roll back', deny: 'Cancel' }).danger(),
  );
}

const CANARY_WORDS: Record<NonNullable<DeployCard['canary']>['status'], string> = {
  running: ':hatching_chick: Canary',
  paused: ':double_vertical_bar: Canary paused',
  aborting: ':rewind: Canary rolling back',
  promoted: ':white_check_mark: Canary promoted',
  'rolled-back': ':rewind: Canary rolled back',
  'abort-failed': ':warning: Canary rollback failed',
};

function canaryLine(card: DeployCard): string | undefined {
  const c = card.canary;
  if (!c) return undefined;
  const baseline = c.baselineVersion ? ` · baseline ${Md.codeInline(c.baselineVersion)}` : '';
  const why = c.pausedFor ? ` · ${escapeMrkdwn(c.pausedFor)}` : '';
  return `${CANARY_WORDS[c.status]} · ${c.weight}% of traffic · step ${c.step}/${c.steps}${baseline}${why}`;
}

/** While a canary runs: Roll back; while it waits for a person: Promote anyway too. */
function canaryButtons(card: DeployCard) {
  const c = card.canary!;
  const value = String(card.deploymentId);
  const to = c.baselineVersion ? ` to ${Md.bold(c.baselineVersion)}` : '';
  const rollback = Elements.Button({ text: 'Roll back', actionId: ACTION_ROLLBACK_CANARY, value }).danger().confirm(
    Bits.ConfirmationDialog({ title: 'Roll back the canary?', text: `Send all traffic of ${Md.bold(card.service)} in ${card.environment} back${to}, away from ${Md.bold(card.version)}?`, confirm: 'Roll back', deny: 'Cancel' }).danger(),
  );
  if (c.status === 'running') return Blocks.Actions().elements(rollback);
  if (c.status !== 'paused') return undefined;
  const promote = Elements.Button({ text: 'Promote anyway', actionId: ACTION_PROMOTE_CANARY, value }).primary().confirm(
    Bits.ConfirmationDialog({ title: 'Promote anyway?', text: `${escapeMrkdwn(c.pausedFor ?? 'The analysis was inconclusive')}. Go on with ${Md.bold(card.version)} as if it had passed?`, confirm: 'Promote', deny: 'Cancel' }),
  );
  return Blocks.Actions().elements(promote, rollback);
}

function buttons(card: DeployCard) {
  const value = String(card.deploymentId);
  if (card.canary && card.status === 'deploying') return canaryButtons(card);
  switch (card.status) {
    case 'awaiting_approval':
      return Blocks.Actions().elements(
        Elements.Button({ text: 'Approve', actionId: ACTION_APPROVE_DEPLOY, value }).primary(),
        Elements.Button({ text: 'Reject', actionId: ACTION_REJECT_DEPLOY, value }).danger(),
      );
    case 'expired':
      return Blocks.Actions().elements(Elements.Button({ text: 'Request again', actionId: ACTION_REREQUEST_DEPLOY, value }));
    case 'failed':
      return Blocks.Actions().elements(Elements.Button({ text: 'Retry', actionId: ACTION_RETRY_DEPLOY, value }), rollbackButton(card));
    case 'succeeded': {
      const rollback = rollbackButton(card);
      return rollback && Blocks.Actions().elements(rollback);
    }
    default:
      return undefined;
  }
}

export function renderDeployCard(card: DeployCard): RenderedMessage {
  const title = `${card.service} ${card.version} → ${card.environment}`;
  const approvals = approvalLine(card);
  return {
    text: `${title}: ${STATUS[card.status].word}`,
    blocks: blocks(
      Blocks.Section({ text: `${Md.bold(card.service)} ${Md.codeInline(card.version)} → ${Md.bold(card.environment)}\n${statusLine(card)}` }),
      card.rollbackFrom ? Blocks.Context().elements(`:rewind: Rollback from ${Md.codeInline(card.rollbackFrom)}`) : undefined,
      card.breakGlassReason ? Blocks.Context().elements(`:rotating_light: Freeze overridden: ${escapeMrkdwn(card.breakGlassReason)}`) : undefined,
      approvals ? Blocks.Context().elements(approvals) : undefined,
      card.canary ? Blocks.Context().elements(canaryLine(card)!) : undefined,
      Blocks.Context().elements(`Deploy #${card.deploymentId} · requested by ${Md.user(card.requestedBy)} · ${slackDate(card.createdAt)}`),
      buttons(card),
    ),
  };
}

export const ACTION_PAUSE_RELEASE = 'release_pause';
export const ACTION_RESUME_RELEASE = 'release_resume';
export const ACTION_ABORT_RELEASE = 'release_abort';
export const ACTION_ROLLBACK_RELEASE = 'release_rollback';

const RELEASE_STATUS = {
  scheduled: ':calendar: Scheduled',
  running: ':rocket: Running',
  paused: ':double_vertical_bar: Paused',
  succeeded: ':white_check_mark: Succeeded',
  failed: ':x: Failed',
  aborted: ':octagonal_sign: Aborted',
  missed: ':hourglass: Missed',
} as const;

const RUN = { pending: ':white_circle:', running: ':rocket:', succeeded: ':white_check_mark:', failed: ':x:' } as const;

export function renderReleaseCard(card: ReleaseCard): RenderedMessage {
  const value = String(card.releaseId);
  const open = card.status === 'scheduled' || card.status === 'running' || card.status === 'paused';
  const plan = card.waves.map((w) => {
    const services = w.services.map((s) => {
      const external = s.externalDependencies.length ? ` _(after ${s.externalDependencies.join(', ')})_` : '';
      const why = s.run.error ? `: ${escapeMrkdwn(s.run.error)}` : '';
      return `${RUN[s.run.status]} ${Md.bold(s.name)} ${Md.codeInline(s.version)}${s.run.deploymentId ? ` #${s.run.deploymentId}` : ''}${external}${why}`;
    });
    return `*Wave ${w.index}*  ${services.join('   ')}`;
  });
  const when = card.scheduledFor && card.status === 'scheduled' ? ` · starts ${slackDate(card.scheduledFor)}` : '';
  return {
    text: `Release ${card.name} → ${card.environment}: ${RELEASE_STATUS[card.status].replace(/^:[a-z_]+: /, '')}`,
    blocks: blocks(
      Blocks.Section({ text: `${Md.bold(`Release ${card.name}`)} → ${Md.bold(card.environment)}\n${RELEASE_STATUS[card.status]}${when}` }),
      Blocks.Section({ text: plan.join('\n') }),
      card.notes ? Blocks.Context().elements(`:memo: ${escapeMrkdwn(card.notes)}`) : undefined,
      Blocks.Context().elements(`Release #${card.releaseId} · by ${Md.user(card.requestedBy)} · ${slackDate(card.createdAt)}`),
      card.status === 'failed' && card.waves.some((w) => w.services.some((s) => s.run.status === 'succeeded'))
        ? Blocks.Actions().elements(
            Elements.Button({ text: 'Roll back the services already deployed', actionId: ACTION_ROLLBACK_RELEASE, value }).danger().confirm(
              Bits.ConfirmationDialog({ title: 'Roll back?', text: `Roll back every service release ${Md.bold(card.name)} deployed to ${card.environment}, each to the version before?`, confirm: 'Roll back', deny: 'Cancel' }).danger(),
            ),
          )
        : undefined,
      open
        ? Blocks.Actions().elements(
            card.status === 'paused'
              ? Elements.Button({ text: 'Resume', actionId: ACTION_RESUME_RELEASE, value }).primary()
              : Elements.Button({ text: 'Pause', actionId: ACTION_PAUSE_RELEASE, value }),
            Elements.Button({ text: 'Abort', actionId: ACTION_ABORT_RELEASE, value }).danger(),
          )
        : undefined,
    ),
  };
}

export function renderMessage(message: MessageModel): RenderedMessage {
  switch (message.kind) {
    case 'deploy':
      return renderDeployCard(message);
    case 'release':
      return renderReleaseCard(message);
    case 'incident':
      return renderIncidentCard(message);
    case 'flag':
      return renderFlagChangeCard(message);
  }
}

export const VIEW_RELEASE_FORM = 'release_form';
export const RELEASE_FIELDS = ['name', 'services', 'environment', 'when', 'notes'] as const;

/** The form `/release` opens: what `/release create` takes, as fields. */
export function releaseModal(environments: readonly string[], channel: string) {
  const input = (id: (typeof RELEASE_FIELDS)[number], label: string, element: object, optional = false, hint?: string) => ({
    type: 'input' as const,
    block_id: id,
    optional,
    label: { type: 'plain_text' as const, text: label },
    ...(hint ? { hint: { type: 'plain_text' as const, text: hint } } : {}),
    element: { action_id: id, ...element },
  });
  return {
    type: 'modal' as const,
    callback_id: VIEW_RELEASE_FORM,
    private_metadata: channel,
    title: { type: 'plain_text' as const, text: 'Plan a release' },
    submit: { type: 'plain_text' as const, text: 'Create' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      input('name', 'Name', { type: 'plain_text_input', placeholder: { type: 'plain_text', text: 'checkout-v2' } }),
      input('services', 'Services and versions', { type: 'plain_text_input', multiline: true }, false, 'One service@version per line or separated by spaces, e.g. api@1.4.2 web@2.0.1'),
      input('environment', 'Environment', {
        type: 'static_select',
        options: environments.map((e) => ({ text: { type: 'plain_text', text: e }, value: e })),
      }),
      input('when', 'When', { type: 'plain_text_input' }, true, 'Empty: now. Or 2026-11-24 10:00, tomorrow 10:00, in 2h'),
      input('notes', 'Notes', { type: 'plain_text_input', multiline: true }, true),
    ],
  };
}

/** The modal that asks why a deploy is rejected. */
/** Asks why before rejecting a deploy (or, with `what`, a flag change). */
export function rejectModal(id: number, what: { callbackId: string; noun: string } = { callbackId: VIEW_REJECT_DEPLOY, noun: 'deploy' }) {
  return {
    type: 'modal' as const,
    callback_id: what.callbackId,
    private_metadata: String(id),
    title: { type: 'plain_text' as const, text: `Reject ${what.noun}`.slice(0, 24) },
    submit: { type: 'plain_text' as const, text: 'Reject' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      {
        type: 'input' as const,
        block_id: INPUT_REJECT_REASON,
        label: { type: 'plain_text' as const, text: `Why reject ${what.noun} #${id}?` },
        element: { type: 'plain_text_input' as const, action_id: INPUT_REJECT_REASON, multiline: true, min_length: 3, max_length: 500 },
      },
    ],
  };
}

function deploymentLine(l: DeploymentLine): string {
  const { emoji, word } = STATUS[l.status];
  if (l.status === 'never') return `${emoji} ${Md.bold(l.service)} ${l.environment}: ${word.toLowerCase()}`;
  const who = l.requestedBy ? ` by ${Md.user(l.requestedBy)}` : '';
  const when = l.at ? ` ${slackDate(l.at)}` : '';
  const why = l.error ? ` (${escapeMrkdwn(l.error)})` : '';
  return `${emoji} ${Md.bold(l.service)} ${l.environment}: ${Md.codeInline(l.version ?? '?')} ${word.toLowerCase()}${who}${when} · #${l.deploymentId}${why}`;
}

/** A command's reply as an ephemeral Block Kit message. */
export function renderReply(reply: Reply): RenderedMessage {
  switch (reply.kind) {
    case 'text':
      return { text: reply.text, blocks: blocks(Blocks.Section({ text: reply.text })) };
    case 'error':
      return {
        text: reply.text,
        blocks: blocks(
          Blocks.Section({ text: `:warning: ${reply.text}` }),
          reply.usage ? Blocks.Context().elements(reply.usage) : undefined,
        ),
      };
    case 'deployments': {
      const lines = reply.lines.map(deploymentLine);
      const body = lines.length ? lines.join('\n') : reply.empty;
      const locks = (reply.locks ?? []).map(
        (l) => `:lock: ${l.service ? `${Md.bold(l.service)} in ${l.environment}` : `${Md.bold(l.environment)} (every service)`} locked by ${Md.user(l.lockedBy)} ${slackDate(l.lockedAt)}: ${escapeMrkdwn(l.reason)}`,
      );
      const text = [reply.title, body, ...locks].join('\n');
      return {
        text,
        blocks: blocks(
          Blocks.Section({ text: Md.bold(reply.title) }),
          ...(lines.length ? inSections(lines) : [Blocks.Section({ text: reply.empty })]),
          ...inSections(locks),
        ),
      };
    }
    case 'audit': {
      const lines = reply.entries.map(
        (e) => `${slackDate(e.at)} ${e.actor === 'system' ? 'Shipmate' : Md.user(e.actor)} ${Md.codeInline(e.action)} ${e.subject}${e.detail ? ` ${escapeMrkdwn(JSON.stringify(e.detail))}` : ''} _(${e.source.replace('_', ' ')})_`,
      );
      // A section holds 3000 characters: keep whole lines, newest first, so no mention or date is cut.
      let shown = 0;
      let length = 0;
      while (shown < lines.length && length + lines[shown]!.length + 1 <= 2900) length += lines[shown++]!.length + 1;
      const body = lines.length ? lines.slice(0, shown).join('\n') : reply.empty;
      const text = `${reply.title}\n${lines.length ? lines.join('\n') : reply.empty}`;
      return { text, blocks: blocks(Blocks.Section({ text: Md.bold(reply.title) }), Blocks.Section({ text: body })) };
    }
  }
}
