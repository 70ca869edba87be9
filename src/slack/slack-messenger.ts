import { ErrorCode, type WebClient } from '@slack/web-api';
import { Blocks, Md } from 'slack-block-builder';
import type { EffectHandler } from '../../flows/effect-worker';
import type { Announcement, PostMessage, ThreadChart, ThreadReply, UpdateMessage } from '../../flows/messages';
import type { Clock } from '../core/clock';
import { ExternalServiceError } from '../core/errors';
import type { QueuedEffect } from '../core/ports';
import type { MessageStore } from '../store/sqlite-message-store';
import type { Metrics } from '../telemetry/metrics';
import type { ButtonSigner } from './button-signing';
import { renderCanaryChart } from './canary-chart';
import { blocks, escapeMrkdwn, renderMessage } from './render';

/** Slack errors that another try will not fix: the channel or the token is wrong. */
const PERMANENT = new Set(['channel_not_found', 'not_in_channel', 'is_archived', 'invalid_auth', 'account_inactive', 'token_revoked', 'missing_scope', 'invalid_blocks', 'msg_too_long']);

/** Every message Shipmate posts carries its key in metadata of this type. */
export const METADATA_EVENT_TYPE = 'shipmate_message';

/** What a retry can recognise a message by: its metadata, or the files it carries. */
type FoundMessage = { metadata?: { event_type?: string; event_payload?: Record<string, unknown> }; files?: { title?: string }[] };

const HINTS: Record<string, string> = {
  not_in_channel: 'invite the bot to the channel with /invite',
  channel_not_found: 'check the channel in shipmate.yml and invite the bot to it',
  missing_scope: 'reinstall the app from manifest.yml so it has every scope',
};

/** Maps a Web API failure to a retryable or final ExternalServiceError, counting it. */
export function slackFailure(method: string, error: unknown, metrics: Metrics): ExternalServiceError {
  const e = error as { code?: string; data?: { error?: string }; retryAfter?: number; message?: string };
  if (e.code === ErrorCode.RateLimitedError) {
    metrics.slackApiErrors.inc({ method, error: 'ratelimited' });
    return new ExternalServiceError(`Slack rate-limited ${method}`, true, { cause: error, retryAfterMs: (e.retryAfter ?? 1) * 1000 });
  }
  if (e.code === ErrorCode.PlatformError) {
    const reason = e.data?.error ?? 'unknown_error';
    metrics.slackApiErrors.inc({ method, error: reason });
    const hint = HINTS[reason] ? ` (${HINTS[reason]})` : '';
    return new ExternalServiceError(`Slack refused ${method}: ${reason}${hint}`, !PERMANENT.has(reason), { cause: error });
  }
  metrics.slackApiErrors.inc({ method, error: e.code ?? 'request_error' });
  return new ExternalServiceError(`Slack ${method} failed: ${e.message ?? String(error)}`, true, { cause: error });
}

export interface SlackMessengerDeps {
  client: WebClient;
  messages: MessageStore;
  clock: Clock;
  metrics: Metrics;
  /** Signs the buttons of each message, so a click can be checked against what was posted. */
  signer: ButtonSigner;
}

/**
 * Effect handlers that post, edit and reply to Shipmate's messages. Each looks up where its message
 * lives, so an update after a restart edits the message posted before it.
 */
export function createSlackMessenger({ client, messages, clock, metrics, signer }: SlackMessengerDeps): Record<string, EffectHandler> {
  const render = (message: PostMessage['message']) => {
    const { text, blocks } = renderMessage(message);
    return { text, blocks: signer.signBlocks(blocks) };
  };
  const call = async <T>(method: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw slackFailure(method, error, metrics);
    }
  };
  const metadata = (key: string) => ({ event_type: METADATA_EVENT_TYPE, event_payload: { message_key: key } });
  const hasKey = (key: string) => (m: FoundMessage) => m.metadata?.event_type === METADATA_EVENT_TYPE && m.metadata.event_payload?.message_key === key;

  /**
   * After an interrupted try (a crash between Slack's answer and our record of it) the message may
   * already be in the channel: find it by the key in its metadata instead of posting it twice.
   */
  const findPosted = async (effect: QueuedEffect, channel: string, matches: (m: FoundMessage) => boolean, threadTs?: string) => {
    if (effect.attempts === 0) return undefined;
    try {
      const { messages: found = [] } = await call(threadTs ? 'conversations.replies' : 'conversations.history', () =>
        threadTs
          ? client.conversations.replies({ channel, ts: threadTs, include_all_metadata: true, limit: 200 })
          : client.conversations.history({ channel, include_all_metadata: true, limit: 200 }),
      );
      return found.find(matches);
    } catch (error) {
      // Not readable (a channel the bot posts to without being a member): post rather than lose it.
      if (error instanceof ExternalServiceError && !error.retryable) return undefined;
      throw error;
    }
  };

  const posted = (messageKey: string) => {
    const found = messages.get(messageKey);
    // The post is earlier in the same flow's queue, so this only happens if it was given up on.
    if (!found) throw new ExternalServiceError(`message ${messageKey} was never posted`, false);
    return found;
  };

  return {
    async 'message.post'(effect: QueuedEffect) {
      const { messageKey, channel, message } = effect.payload as PostMessage;
      if (messages.get(messageKey)) return;
      const earlier = await findPosted(effect, channel, hasKey(messageKey));
      if (earlier?.ts) {
        messages.put(messageKey, { channel, ts: earlier.ts }, clock());
        return;
      }
      const { text, blocks } = render(message);
      const result = await call('chat.postMessage', () =>
        client.chat.postMessage({ channel, text, blocks, unfurl_links: false, metadata: metadata(messageKey) }),
      );
      messages.put(messageKey, { channel: result.channel ?? channel, ts: result.ts! }, clock());
    },

    async 'message.announce'(effect: QueuedEffect) {
      const { channel, text } = effect.payload as Announcement;
      if (await findPosted(effect, channel, hasKey(effect.idempotencyKey))) return;
      await call('chat.postMessage', () =>
        client.chat.postMessage({ channel, text, blocks: blocks(Blocks.Section({ text: escapeMrkdwn(text) })), unfurl_links: false, metadata: metadata(effect.idempotencyKey) }),
      );
    },

    async 'message.update'(effect: QueuedEffect) {
      const { messageKey, message } = effect.payload as UpdateMessage;
      const { channel, ts } = posted(messageKey);
      const { text, blocks } = render(message);
      await call('chat.update', () => client.chat.update({ channel, ts, text, blocks }));
    },

    async 'message.reply'(effect: QueuedEffect) {
      const { messageKey, text, preformatted, mention = [], broadcast } = effect.payload as ThreadReply;
      const { channel, ts } = posted(messageKey);
      if (await findPosted(effect, channel, hasKey(effect.idempotencyKey), ts)) return;
      // A section holds at most 3000 characters; the end of the output is the part that explains a failure.
      const mentions = mention.map((u) => `${Md.user(u)} `).join('');
      const body = blocks(Blocks.Section({ text: `${mentions}${escapeMrkdwn(text)}` }), preformatted ? Blocks.Section({ text: Md.codeBlock(preformatted.slice(-2900)) }) : undefined);
      await call('chat.postMessage', () =>
        client.chat.postMessage({
          channel,
          thread_ts: ts,
          text,
          blocks: body,
          unfurl_links: false,
          reply_broadcast: Boolean(broadcast),
          metadata: metadata(effect.idempotencyKey),
        }),
      );
    },

    async 'message.chart'(effect: QueuedEffect) {
      const chart = effect.payload as ThreadChart;
      const { channel, ts } = posted(chart.messageKey);
      // The message Slack posts for a shared file takes no metadata, so the file's title carries the
      // key, and a retry looks for it in the thread. Keeping the file ID in the store instead would not
      // say whether files.completeUploadExternal (callable once per file) went through; only the
      // thread does. Alt text would hide the key, but screen readers read it out.
      const title = `${chart.title} (${effect.idempotencyKey})`;
      if (await findPosted(effect, channel, (m) => m.files?.some((f) => f.title === title) ?? false, ts)) return;
      const file = await renderCanaryChart(chart);
      // uploadV2 makes the three calls: files.getUploadURLExternal, the POST of the bytes, files.completeUploadExternal.
      await call('files.uploadV2', () =>
        client.files.uploadV2({ channel_id: channel, thread_ts: ts, file, filename: chart.filename, title, initial_comment: chart.comment }),
      );
    },
  };
}
