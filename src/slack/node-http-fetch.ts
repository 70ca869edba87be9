import { Agent as HttpAgent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { FetchFunction } from '@slack/web-api';

type FetchResponse = Awaited<ReturnType<FetchFunction>>;

/** A response read to its end: what the Web API client and Bolt's respond() read of one. */
class BufferedResponse implements FetchResponse {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    private readonly rawHeaders: IncomingHttpHeaders,
    private readonly body: Buffer,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** Node names headers in lower case and joins repeated ones (but Set-Cookie) with ", ", as fetch does. */
  readonly headers = {
    get: (name: string): string | null => {
      const value = this.rawHeaders[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
    entries: (): Iterable<[string, string]> => Object.keys(this.rawHeaders).map((name): [string, string] => [name, this.headers.get(name)!]),
  };

  async text(): Promise<string> {
    return this.body.toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.body.toString('utf8'));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return new Uint8Array(this.body).buffer;
  }
}

/** As the built-in fetch: at most this many redirects, and no answer for this long fails the request. */
const MAX_REDIRECTS = 20;
const IDLE_TIMEOUT_MS = 300_000;

type Init = NonNullable<Parameters<FetchFunction>[1]>;

/**
 * The request a redirect leads to, by fetch's rules: 307 and 308 repeat it as it was; 303, and 301
 * or 302 after a POST, become a GET without the body and its headers; credentials do not go to
 * another origin.
 */
function redirected(from: URL, to: URL, status: number, init: Init): Init {
  const asGet = status === 303 ? init.method !== 'HEAD' : (status === 301 || status === 302) && init.method === 'POST';
  const dropped = new Set([...(asGet ? ['content-type', 'content-length'] : []), ...(to.origin !== from.origin ? ['authorization', 'cookie'] : [])]);
  const headers = Object.fromEntries(Object.entries(init.headers ?? {}).filter(([name]) => !dropped.has(name.toLowerCase())));
  const { body: _body, ...rest } = init;
  return asGet ? { ...rest, method: 'GET', headers } : { ...init, headers };
}

/**
 * fetch for text bodies over node:http and node:https with keep-alive connections. All that Shipmate
 * sends to Slack but file uploads is text (form-encoded Web API calls, JSON to response_url), and
 * Node's built-in fetch spends about four times the CPU on a call: under load that was a quarter of
 * what a button click cost. An upload's FormData goes through `fallback`, the built-in fetch.
 */
export function nodeHttpFetch(fallback: FetchFunction = globalThis.fetch as FetchFunction): FetchFunction {
  const agents: Record<string, HttpAgent> = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };

  const go = (url: URL, init: Init, redirects: number): Promise<FetchResponse> => {
    const agent = agents[url.protocol];
    if (!agent || (init.body !== undefined && typeof init.body !== 'string')) return fallback(url, init);
    const { signal } = init;
    if (signal?.aborted) return Promise.reject(signal.reason);

    return new Promise<FetchResponse>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const onAbort = () => req.destroy(signal!.reason as Error);
      const settle = () => signal?.removeEventListener('abort', onAbort);
      const fail = (error: Error) => (settle(), reject(error));
      const req = send(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, agent }, (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location !== undefined && init.redirect !== 'manual') {
          res.resume();
          settle();
          if (init.redirect === 'error') return reject(new TypeError(`fetch failed: ${url.host} answered with a redirect, and redirects were refused`));
          if (redirects >= MAX_REDIRECTS) return reject(new TypeError(`fetch failed: more than ${MAX_REDIRECTS} redirects from ${url.host}`));
          const next = new URL(location, url);
          return resolve(go(next, redirected(url, next, status, init), redirects + 1));
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          settle();
          resolve(new BufferedResponse(url.href, status, res.statusMessage ?? '', res.headers, Buffer.concat(chunks)));
        });
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no answer from ${url.host} within ${IDLE_TIMEOUT_MS / 1000} s`)));
      req.on('error', fail);
      req.end(init.body);
    });
  };

  return (input, init = {}) => go(new URL(input), init, 0);
}
