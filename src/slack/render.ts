import { Blocks, BlockCollection, Elements, Md } from 'slack-block-builder';
import type { KnownBlock } from '@slack/types';
import type { DeploymentLine, Reply } from '../../commands/reply';
import type { DeployCard, MessageModel } from '../../flows/messages';
import { formatDuration } from '../core/format-duration';

export const ACTION_RETRY_DEPLOY = 'deploy_retry';

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
export function slackDate(iso: string): string {
  const seconds = Math.floor(new Date(iso).getTime() / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${iso}>`;
}

const STATUS = {
  queued: { emoji: ':hourglass_flowing_sand:', word: 'Queued' },
  deploying: { emoji: ':rocket:', word: 'Deploying' },
  succeeded: { emoji: ':white_check_mark:', word: 'Succeeded' },
  failed: { emoji: ':x:', word: 'Failed' },
  never: { emoji: ':white_circle:', word: 'Never deployed' },
} as const;

/** Builds Block Kit JSON; undefined builders are skipped, so optional blocks read inline. */
export const blocks = (...builders: Parameters<typeof BlockCollection>): KnownBlock[] =>
  BlockCollection(...builders) as unknown as KnownBlock[];

function statusLine(card: DeployCard): string {
  const { emoji, word } = STATUS[card.status];
  const started = card.startedAt ?? card.createdAt;
  switch (card.status) {
    case 'queued':
      return `${emoji} ${word}`;
    case 'deploying':
      return `${emoji} ${word} since ${slackDate(started)}`;
    case 'succeeded':
    case 'failed': {
      const took = formatDuration(new Date(card.finishedAt ?? started).getTime() - new Date(started).getTime());
      return `${emoji} ${word} in ${took}${card.error ? `: ${escapeMrkdwn(card.error)}` : ''}`;
    }
  }
}

export function renderDeployCard(card: DeployCard): RenderedMessage {
  const title = `${card.service} ${card.version} → ${card.environment}`;
  const status = statusLine(card);
  return {
    text: `${title}: ${STATUS[card.status].word}`,
    blocks: blocks(
      Blocks.Section({ text: `${Md.bold(card.service)} ${Md.codeInline(card.version)} → ${Md.bold(card.environment)}\n${status}` }),
      Blocks.Context().elements(
        `Deploy #${card.deploymentId} · requested by ${Md.user(card.requestedBy)} · ${slackDate(card.createdAt)}`,
      ),
      card.status === 'failed'
        ? Blocks.Actions().elements(
            Elements.Button({ text: 'Retry', actionId: ACTION_RETRY_DEPLOY, value: String(card.deploymentId) }),
          )
        : undefined,
    ),
  };
}

export function renderMessage(message: MessageModel): RenderedMessage {
  switch (message.kind) {
    case 'deploy':
      return renderDeployCard(message);
  }
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
      const body = reply.lines.length ? reply.lines.map(deploymentLine).join('\n') : reply.empty;
      return {
        text: `${reply.title}\n${body}`,
        blocks: blocks(Blocks.Section({ text: Md.bold(reply.title) }), Blocks.Section({ text: body })),
      };
    }
  }
}
