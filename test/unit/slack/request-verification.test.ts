import { createHmac } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HTTPReceiver } from '@slack/bolt';
import { slackSignatureProblem, verifySlackRequests } from '../../../src/slack/request-verification';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = new Date('2026-03-01T12:00:00Z');
const nowS = NOW.getTime() / 1000;
const sign = (body: string, timestamp: number | string, secret = SECRET) => `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;

describe('slackSignatureProblem', () => {
  const check = (o: { body?: string; timestamp?: unknown; signature?: unknown }) =>
    slackSignatureProblem({ signingSecret: SECRET, body: o.body ?? 'a=1', timestamp: o.timestamp, signature: o.signature, now: NOW });

  it.each([
    ['now', 0],
    ['5 minutes ago', -300],
    ['5 minutes ahead', 300],
  ])('takes a signature stamped %s', (_name, offset) => {
    expect(check({ timestamp: String(nowS + offset), signature: sign('a=1', nowS + offset) })).toBeUndefined();
  });

  it.each([
    ['stamped 5 minutes and 1 second ago', { timestamp: String(nowS - 301), signature: sign('a=1', nowS - 301) }, 'X-Slack-Request-Timestamp is more than 5 minutes off'],
    ['stamped 5 minutes and 1 second ahead', { timestamp: String(nowS + 301), signature: sign('a=1', nowS + 301) }, 'X-Slack-Request-Timestamp is more than 5 minutes off'],
    ['without a timestamp', { signature: sign('a=1', nowS) }, 'X-Slack-Request-Timestamp is missing'],
    ['with a timestamp that is not a number', { timestamp: '1e9', signature: sign('a=1', '1e9') }, 'X-Slack-Request-Timestamp is missing'],
    ['without a signature', { timestamp: String(nowS) }, 'X-Slack-Signature is missing or wrong'],
    ['signed for another body', { body: 'a=2', timestamp: String(nowS), signature: sign('a=1', nowS) }, 'X-Slack-Signature is missing or wrong'],
    ['signed with another secret', { timestamp: String(nowS), signature: sign('a=1', nowS, 'another-secret') }, 'X-Slack-Signature is missing or wrong'],
    ['signed in another scheme', { timestamp: String(nowS), signature: sign('a=1', nowS).replace('v0=', 'v1=') }, 'X-Slack-Signature is missing or wrong'],
  ])('refuses a request %s', (_name, request, problem) => {
    expect(check(request)).toBe(problem);
  });
});

describe('verifySlackRequests', () => {
  let server: Server;
  let url: string;
  const seen: { path: string; body: string }[] = [];
  const warnings: object[] = [];

  beforeAll(async () => {
    // Stands in for Bolt: answers with what it was handed, secret included.
    const receiver = {
      requestListener: ((req, res) => {
        const body = (req as unknown as { rawBody?: Buffer }).rawBody?.toString() ?? '';
        seen.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ text: 'your token is hook-secret-1234' }));
      }) as RequestListener,
    };
    verifySlackRequests(receiver as unknown as HTTPReceiver, {
      signingSecret: SECRET,
      clock: () => NOW,
      endpoint: '/slack/events',
      log: { warn: (obj) => warnings.push(obj) },
      outgoing: (text) => text.replaceAll('hook-secret-1234', '[redacted]'),
    });
    server = createServer((req, res) => receiver.requestListener(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    seen.length = 0;
    warnings.length = 0;
  });

  const post = (path: string, body: string, headers: Record<string, string>) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });

  it('hands a signed request on with its body read, and its answer through the outgoing filter', async () => {
    const response = await post('/slack/events?x=1', 'command=%2Fdeploy', { 'x-slack-request-timestamp': String(nowS), 'x-slack-signature': sign('command=%2Fdeploy', nowS) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ text: 'your token is [redacted]' });
    expect(seen).toEqual([{ path: '/slack/events?x=1', body: 'command=%2Fdeploy' }]);
  });

  it('answers 401 with no body to a stale request, without handing it on, and says why in the log', async () => {
    const response = await post('/slack/events', 'command=%2Fdeploy', { 'x-slack-request-timestamp': String(nowS - 301), 'x-slack-signature': sign('command=%2Fdeploy', nowS - 301) });
    expect([response.status, await response.text()]).toEqual([401, '']);
    expect(seen).toEqual([]);
    expect(warnings).toEqual([{ problem: 'X-Slack-Request-Timestamp is more than 5 minutes off' }]);
  });

  it("passes Slack's unsigned SSL check on without anything smuggled beside it", async () => {
    await post('/slack/events', 'ssl_check=1&command=%2Fdeploy&text=api', {});
    expect(seen).toEqual([{ path: '/slack/events', body: 'ssl_check=1' }]);
  });

  it.each(['command=%2Fdeploy&text=ssl_check=1', 'ssl_check=0&command=%2Fdeploy', 'payload=%7B%22ssl_check%22%3A1%7D'])(
    'checks the signature of an unsigned body that only mentions the SSL check (%s)',
    async (body) => {
      const response = await post('/slack/events', body, {});
      expect(response.status).toBe(401);
      expect(seen).toEqual([]);
    },
  );

  it('leaves other paths and methods alone: their routes check their own credentials', async () => {
    await post('/alerts/alertmanager', '{}', {});
    await fetch(`${url}/slack/events`);
    expect(seen.map((s) => s.path)).toEqual(['/alerts/alertmanager', '/slack/events']);
  });
});
