import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FetchFunction } from '@slack/web-api';
import { undiciFetch } from '../../../src/slack/undici-fetch';
import { closeLocally, listenLocally } from '../../support/local-server';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
let seen: Seen[];
let connections: number;
let answer: (req: IncomingMessage, res: ServerResponse) => void;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      answer(req, res);
    });
  });
  server.on('connection', () => connections++);
  base = await listenLocally(server);
});

afterAll(() => closeLocally(server));

beforeEach(() => {
  seen = [];
  connections = 0;
  answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});

/** A fallback that records what it was handed and answers like fetch would not: so a test can tell it was used. */
function recordingFallback() {
  const calls: Parameters<FetchFunction>[] = [];
  const fallback: FetchFunction = async (...args) => {
    calls.push(args);
    return { ok: true, status: 299, statusText: 'fallback', url: String(args[0]), headers: new Headers(), text: async () => '', json: async () => ({}), arrayBuffer: async () => new ArrayBuffer(0) };
  };
  return { fallback, calls };
}

describe('undiciFetch', () => {
  it('sends a text body with its headers and reads status, headers and body as fetch does', async () => {
    answer = (_req, res) => {
      res.setHeader('Vary', ['Accept', 'Origin']);
      res.writeHead(201, 'Made', { 'content-type': 'application/json', 'X-Slack-Req-Id': 'abc' }).end('{"ok":true,"ts":"1.2"}');
    };
    const fetch = undiciFetch();

    const response = await fetch(`${base}/api/chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Bearer xoxb-1' },
      body: 'channel=C1&text=hello%20there',
    });

    expect(seen).toEqual([expect.objectContaining({ method: 'POST', url: '/api/chat.postMessage', body: 'channel=C1&text=hello%20there' })]);
    expect(seen[0]!.headers).toMatchObject({ 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer xoxb-1' });
    expect([response.ok, response.status, response.statusText, response.url]).toEqual([true, 201, 'Made', `${base}/api/chat.postMessage`]);
    expect(response.headers.get('X-SLACK-REQ-ID')).toBe('abc');
    expect(response.headers.get('vary')).toBe('Accept, Origin');
    expect(response.headers.get('retry-after')).toBeNull();
    expect(Object.fromEntries(response.headers.entries())).toMatchObject({ 'content-type': 'application/json', vary: 'Accept, Origin' });
    expect(await response.json()).toEqual({ ok: true, ts: '1.2' });
    expect(new TextDecoder().decode(await response.arrayBuffer())).toBe('{"ok":true,"ts":"1.2"}');
  });

  it('answers an error status with its body, not a rejection', async () => {
    answer = (_req, res) => res.writeHead(429, { 'retry-after': '7' }).end('slow down');
    const response = await undiciFetch()(`${base}/hooks/respond`, { method: 'POST', body: '{}' });

    expect([response.ok, response.status, response.headers.get('Retry-After'), await response.text()]).toEqual([false, 429, '7', 'slow down']);
  });

  it('keeps connections open between calls', async () => {
    const fetch = undiciFetch();
    for (let i = 0; i < 10; i++) await (await fetch(`${base}/api/auth.test`, { method: 'POST', body: '' })).text();

    expect(seen).toHaveLength(10);
    // undici frees a connection for the next request a moment after its answer is read, so calls
    // made back to back take turns on two connections.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('rejects with the signal’s reason when the answer does not come in time, and drops the connection', async () => {
    answer = () => undefined; // never answers
    const closed = new Promise((resolve) => server.once('connection', (socket) => socket.once('close', resolve)));

    const error = await undiciFetch()(`${base}/api/chat.update`, { method: 'POST', body: 'ts=1', signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
    await closed;
  });

  it('rejects with the connection’s error when nothing listens at the address', async () => {
    const closed = createServer();
    const gone = await listenLocally(closed);
    await closeLocally(closed);

    await expect(undiciFetch()(`${gone}/api/chat.postMessage`, { method: 'POST', body: 'x=1' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('sends nothing when the signal was aborted already', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));

    await expect(undiciFetch()(`${base}/api/chat.postMessage`, { method: 'POST', body: 'x=1', signal: controller.signal })).rejects.toThrow('shutting down');
    expect(seen).toHaveLength(0);
  });

  it('refuses a redirect when told to, and returns it as it is when asked to', async () => {
    answer = (_req, res) => res.writeHead(302, { location: '/elsewhere' }).end();
    const fetch = undiciFetch();

    await expect(fetch(`${base}/api/chat.postMessage`, { method: 'POST', body: 'x=1', redirect: 'error' })).rejects.toThrow(TypeError);
    const manual = await fetch(`${base}/x`, { method: 'GET', redirect: 'manual' });
    expect([manual.status, manual.headers.get('location')]).toEqual([302, '/elsewhere']);
    expect(seen.map((r) => r.url)).toEqual(['/api/chat.postMessage', '/x']);
  });

  it('follows redirects as fetch does: a 302 after a POST becomes a GET without the body, a 307 repeats the POST', async () => {
    answer = (req, res) => {
      if (req.url === '/hooks/302') res.writeHead(302, { location: '/landed' }).end();
      else if (req.url === '/hooks/307') res.writeHead(307, { location: '/landed' }).end();
      else res.writeHead(200).end(`landed by ${req.method}`);
    };
    const fetch = undiciFetch();
    const post = { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer xoxb-1' }, body: '{"text":"hi"}' };

    const after302 = await fetch(`${base}/hooks/302`, post);
    const after307 = await fetch(`${base}/hooks/307`, post);

    expect([await after302.text(), after302.url]).toEqual(['landed by GET', `${base}/landed`]);
    expect(await after307.text()).toBe('landed by POST');
    expect(seen.map((r) => `${r.method} ${r.url} ${r.body}`)).toEqual([
      'POST /hooks/302 {"text":"hi"}',
      'GET /landed ',
      'POST /hooks/307 {"text":"hi"}',
      'POST /landed {"text":"hi"}',
    ]);
    expect(seen[1]!.headers['content-type']).toBeUndefined();
    expect(seen[1]!.headers.authorization).toBe('Bearer xoxb-1'); // same origin
  });

  it('sends no credentials to another origin, and gives up after 20 redirects', async () => {
    const port = new URL(base).port;
    answer = (req, res) => {
      if (req.url === '/away') res.writeHead(307, { location: `http://localhost:${port}/there` }).end();
      else if (req.url!.startsWith('/loop')) res.writeHead(302, { location: `/loop${seen.length}` }).end();
      else res.writeHead(200).end('there');
    };
    const fetch = undiciFetch();

    expect(await (await fetch(`${base}/away`, { method: 'POST', headers: { Authorization: 'Bearer xoxb-1' }, body: 'x=1' })).text()).toBe('there');
    expect(seen.map((r) => [r.url, r.headers.authorization])).toEqual([['/away', 'Bearer xoxb-1'], ['/there', undefined]]);
    await expect(fetch(`${base}/loop`, { method: 'GET' })).rejects.toThrow('more than 20 redirects');
    expect(seen).toHaveLength(2 + 21);
  });

  it('hands an upload’s FormData to the built-in fetch', async () => {
    const { fallback, calls } = recordingFallback();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array([137, 80, 78, 71])]), 'chart.png');

    await undiciFetch(fallback)(`${base}/upload`, { method: 'POST', body: form });

    expect(calls).toHaveLength(1);
    expect(calls[0]![1]!.body).toBe(form);
    expect(seen).toHaveLength(0);
  });
});
