import type { IncomingHttpHeaders } from 'node:http';
import type { FetchFunction } from '@slack/web-api';
import { Agent, type Dispatcher } from 'undici';

type FetchResponse = Awaited<ReturnType<FetchFunction>>;
type Init = NonNullable<Parameters<FetchFunction>[1]>;

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

  /** Header names come in lower case; repeated headers are joined with ", ", as fetch does. */
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

/** As the built-in fetch: at most this many redirects, and no headers or no body for this long fails the request. */
const MAX_REDIRECTS = 20;
const IDLE_TIMEOUT_MS = 300_000;

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

interface Answer {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Collects one exchange's answer in memory. The body is text of a few kilobytes at most, so it is
 * kept as the chunks that arrive rather than streamed; an abort of the signal drops the connection.
 */
class Collector implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private answer: Omit<Answer, 'body'> | undefined;
  private readonly chunks: Buffer[] = [];
  private readonly onAbort = () => this.controller?.abort(this.signal!.reason);

  constructor(
    private readonly resolve: (answer: Answer) => void,
    private readonly reject: (error: unknown) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal?.aborted) controller.abort(this.signal.reason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, statusText?: string): void {
    this.answer = { status, statusText: statusText ?? '', headers };
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.resolve({ ...this.answer!, body: Buffer.concat(this.chunks) });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.reject(error);
  }
}

/**
 * fetch for text bodies over undici's connection pools, with keep-alive connections. All that
 * Shipmate sends to Slack but file uploads is text (form-encoded Web API calls, JSON to
 * response_url), and a call through the built-in fetch costs several times the CPU: its WHATWG
 * streams and Response objects are most of it. Under load the answer to a button click (a second
 * HTTP exchange, to response_url) was the largest part of what the click cost. An upload's
 * FormData goes through `fallback`, the built-in fetch.
 */
export function undiciFetch(fallback: FetchFunction = globalThis.fetch as FetchFunction, dispatcher: Dispatcher = new Agent({ headersTimeout: IDLE_TIMEOUT_MS, bodyTimeout: IDLE_TIMEOUT_MS })): FetchFunction {
  const exchange = (url: URL, init: Init): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const collector = new Collector(resolve, reject, init.signal ?? undefined);
      const headers = init.headers as Record<string, string> | undefined;
      dispatcher.dispatch({ origin: url.origin, path: `${url.pathname}${url.search}`, method: (init.method ?? 'GET') as Dispatcher.HttpMethod, headers: headers ?? {}, body: (init.body as string | undefined) ?? null }, collector);
    });

  const go = async (url: URL, init: Init, redirects: number): Promise<FetchResponse> => {
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (init.body !== undefined && typeof init.body !== 'string')) return fallback(url, init);
    if (init.signal?.aborted) throw init.signal.reason;
    const answer = await exchange(url, init);
    const location = answer.headers.location;
    if (answer.status >= 300 && answer.status < 400 && typeof location === 'string' && init.redirect !== 'manual') {
      if (init.redirect === 'error') throw new TypeError(`fetch failed: ${url.host} answered with a redirect, and redirects were refused`);
      if (redirects >= MAX_REDIRECTS) throw new TypeError(`fetch failed: more than ${MAX_REDIRECTS} redirects from ${url.host}`);
      const next = new URL(location, url);
      return go(next, redirected(url, next, answer.status, init), redirects + 1);
    }
    return new BufferedResponse(url.href, answer.status, answer.statusText, answer.headers, answer.body);
  };

  return (input, init = {}) => go(new URL(input), init, 0);
}
