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

/**
 * fetch for text bodies over node:http and node:https with keep-alive connections. All that Shipmate
 * sends to Slack but file uploads is text (form-encoded Web API calls, JSON to response_url), and
 * Node's built-in fetch spends about four times the CPU on a call: under load that was a quarter of
 * what a button click cost. An upload's FormData, and a redirect the caller wants followed, go
 * through `fallback`, the built-in fetch.
 */
export function nodeHttpFetch(fallback: FetchFunction = globalThis.fetch as FetchFunction): FetchFunction {
  const agents: Record<string, HttpAgent> = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };
  return (input, init = {}) => {
    const url = new URL(input);
    const agent = agents[url.protocol];
    if (!agent || (init.body !== undefined && typeof init.body !== 'string')) return fallback(input, init);
    const { signal } = init;
    if (signal?.aborted) return Promise.reject(signal.reason);

    return new Promise<FetchResponse>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const onAbort = () => req.destroy(signal!.reason as Error);
      const fail = (error: Error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const req = send(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, agent }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location !== undefined && init.redirect !== 'manual') {
          res.resume();
          signal?.removeEventListener('abort', onAbort);
          if (init.redirect === 'error') reject(new TypeError(`fetch failed: ${url.host} answered with a redirect, and redirects were refused`));
          else resolve(fallback(input, init));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(new BufferedResponse(url.href, status, res.statusMessage ?? '', res.headers, Buffer.concat(chunks)));
        });
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', fail);
      req.end(init.body);
    });
  };
}
