import { createHmac } from 'node:crypto';
import blockActionsFixture from '../fixtures/block-actions.json';
import slashCommandFixture from '../fixtures/slash-command.json';
import viewSubmissionFixture from '../fixtures/view-submission.json';
import { unsignedPart } from '../../src/slack/button-signing';
import type { RecordedCall } from './slack-emulator';

export const SIGNING_SECRET = 'e3b0c44298fc1c149afbf4c8996fb924';

/** Slack's v0 signature: HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret. */
export function sign(body: string, timestamp: number, secret = SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SendOptions {
  /** Seconds since the epoch; defaults to now (Bolt checks it against its own clock). */
  timestamp?: number;
  signature?: string | null;
  headers?: Record<string, string>;
}

export async function postSigned(appUrl: string, body: string, options: SendOptions = {}): Promise<{ status: number; json: unknown; text: string }> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    ...options.headers,
  };
  if (options.signature !== null) headers['x-slack-signature'] = options.signature ?? sign(body, timestamp);
  const response = await fetch(`${appUrl}/slack/events`, { method: 'POST', headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

let triggers = 0;

/** A slash command as Slack sends it: form-encoded fields (https://api.slack.com/interactivity/slash-commands). */
export function slashCommandBody(text: string, overrides: Partial<typeof slashCommandFixture> & { responseBase?: string } = {}): string {
  const { responseBase = '', ...rest } = overrides;
  const fields = {
    ...slashCommandFixture,
    trigger_id: `${slashCommandFixture.trigger_id}.${++triggers}`,
    ...rest,
    text,
  };
  fields.response_url = `${responseBase}${fields.response_url}`;
  return new URLSearchParams(fields as Record<string, string>).toString();
}

/**
 * The value of a button Shipmate sent (posted, updated, published on App Home) that shows `shown`:
 * Slack returns a button's value as posted, signature included, so a click should too. Newest first,
 * so an old message's button is found even after its card was edited. The shown value itself when
 * no such button was sent: a click Slack would never deliver, which Shipmate refuses.
 */
export function sentButtonValue(calls: readonly RecordedCall[], actionId: string, shown: string): string {
  const found: string[] = [];
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(collect);
    if (!node || typeof node !== 'object') return;
    const e = node as { type?: unknown; action_id?: unknown; value?: unknown };
    if (e.type === 'button' && e.action_id === actionId && typeof e.value === 'string' && unsignedPart(e.value) === shown) found.push(e.value);
    else Object.values(node).forEach(collect);
  };
  for (let i = calls.length - 1; i >= 0 && found.length === 0; i--) collect([calls[i]!.args.blocks, (calls[i]!.args.view as { blocks?: unknown } | undefined)?.blocks]);
  return found[0] ?? shown;
}

/** A button click as Slack sends it: `payload=<JSON>` (https://api.slack.com/reference/interaction-payloads/block-actions). */
export function blockActionsBody(
  actionId: string,
  value: string,
  overrides: { userId?: string; responseBase?: string; triggerId?: string; fromHome?: boolean } = {},
): string {
  const payload = structuredClone(blockActionsFixture) as typeof blockActionsFixture & Record<string, unknown>;
  payload.actions[0]!.action_id = actionId;
  payload.actions[0]!.value = value;
  if (overrides.userId) payload.user.id = overrides.userId;
  payload.trigger_id = overrides.triggerId ?? `${payload.trigger_id}.${++triggers}`;
  payload.response_url = `${overrides.responseBase ?? ''}${payload.response_url}`;
  if (overrides.fromHome) {
    // Clicks on App Home come with the view instead of a message, and without a response_url.
    const { response_url: _url, message: _message, channel: _channel, ...rest } = payload;
    return new URLSearchParams({
      payload: JSON.stringify({ ...rest, container: { type: 'view', view_id: 'V0HOME' }, view: { id: 'V0HOME', type: 'home', callback_id: '' } }),
    }).toString();
  }
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A modal submitted, as Slack sends it (https://api.slack.com/reference/interaction-payloads/views#view_submission). */
export function viewSubmissionBody(
  callbackId: string,
  privateMetadata: string,
  values: Record<string, Record<string, { type: string; value: string | null }>>,
  userId = 'U0BOB',
): string {
  const payload = structuredClone(viewSubmissionFixture);
  payload.user.id = userId;
  payload.trigger_id = `${payload.trigger_id}.${++triggers}`;
  Object.assign(payload.view, { callback_id: callbackId, private_metadata: privateMetadata, state: { values } });
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** An Events API callback, as Slack sends it: JSON (https://api.slack.com/apis/events-api#callback-field). */
export function eventBody(event: Record<string, unknown>): string {
  return JSON.stringify({
    token: slashCommandFixture.token,
    team_id: 'T0ACME',
    api_app_id: 'A0SHIPMATE',
    event: { event_ts: '1795428000.000100', ...event },
    type: 'event_callback',
    event_id: `Ev0${++triggers}`,
    event_time: 1795428000,
    authorizations: [{ team_id: 'T0ACME', user_id: 'U0BOT', is_bot: true }],
  });
}
