import type { FetchFunction } from '@slack/web-api';
import { createRedactor } from '../../../src/core/redact';
import { redactingFetch } from '../../../src/slack/redacting-fetch';

describe('redactingFetch', () => {
  const sent: { url: string; body: unknown }[] = [];
  const fake: FetchFunction = async (url, init) => {
    sent.push({ url: String(url), body: init?.body });
    return new Response('{"ok":true}') as unknown as Awaited<ReturnType<FetchFunction>>;
  };
  const send = redactingFetch(createRedactor(['xoxb-1-bot-token', 'hook-secret-1234']), fake);
  beforeEach(() => (sent.length = 0));

  it("redacts every field of a Web API form but the token that authenticates the call", async () => {
    const body = new URLSearchParams({ token: 'xoxb-1-bot-token', channel: 'C0DEPLOYS', text: 'answered 500: hook-secret-1234', blocks: JSON.stringify([{ text: 'hook-secret-1234 and xoxb-1-bot-token' }]) }).toString();
    await send('https://slack.com/api/chat.postMessage', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
    expect(Object.fromEntries(new URLSearchParams(sent[0]!.body as string))).toEqual({
      token: 'xoxb-1-bot-token',
      channel: 'C0DEPLOYS',
      text: 'answered 500: [redacted]',
      blocks: JSON.stringify([{ text: '[redacted] and [redacted]' }]),
    });
  });

  it('redacts a JSON body, as respond() posts to a response_url', async () => {
    await send('https://hooks.slack.com/commands/1/2', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'hook-secret-1234' }) });
    expect(sent[0]!.body).toBe('{"text":"[redacted]"}');
  });

  it('sends a file upload as it is', async () => {
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('PNG')]));
    await send('https://files.slack.com/upload/v1/abc', { method: 'POST', body: form });
    expect(sent[0]!.body).toBe(form);
  });
});
