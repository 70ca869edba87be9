import { isAxiosError, type AxiosInstance } from 'axios';
import { ExternalServiceError } from '../core/errors';
import { formatDuration } from '../core/format-duration';

// The port lives in core (flows use it); adapters import it from here along with the plumbing.
export type { InstantMetricsProvider, InstantQuery, Measurement, MetricsProvider, Point, RangeQuery, Series } from '../core/metrics';

/** How a metrics backend wants to be authenticated, when it does. */
export type HttpAuth = { type: 'bearer'; token: string } | { type: 'basic'; username: string; password: string };

export function authHeaders(auth: HttpAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if (auth.type === 'bearer') return { authorization: `Bearer ${auth.token}` };
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
}

/** Which backend was asked what: every error message names both. */
export interface QueryContext {
  /** "Prometheus at mimir.internal", "Datadog (datadoghq.eu)". */
  backend: string;
  query: string;
}

export function queryFailed(
  context: QueryContext,
  detail: string,
  retryable: boolean,
  options: { cause?: unknown; retryAfterMs?: number; timedOut?: boolean } = {},
): ExternalServiceError {
  return new ExternalServiceError(`${context.backend} query \`${context.query}\` failed: ${detail}`, retryable, options);
}

export interface HttpAnswer {
  status: number;
  text: string;
  headers: Record<string, unknown>;
}

/** What another try may fix: overload and outages, not a wrong query or a refused key. */
export { isTransientStatus as isRetryableStatus } from '../core/errors';

/** Retry-After (seconds), or Datadog's X-RateLimit-Reset (seconds until the limit resets). */
export function retryAfterMs(headers: Record<string, unknown>): number | undefined {
  for (const name of ['retry-after', 'x-ratelimit-reset']) {
    const seconds = Number(headers[name]);
    if (headers[name] !== undefined && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  }
  return undefined;
}

/** A body in a line, short enough for a Slack message; proxies answer whole HTML pages. */
export const snippet = (text: string): string => text.replace(/\s+/g, ' ').trim().slice(0, 300);

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One GET (or form POST) with a hard deadline. Axios' own timeout only notices an idle socket; the abort signal
 * also ends an answer that trickles in forever. Any HTTP status comes back; only transport
 * failures throw, as ExternalServiceError naming the query, and never with headers (secrets).
 */
export async function getText(
  http: AxiosInstance,
  request: { url: string; params: Record<string, string>; headers: Record<string, string>; timeoutMs: number; post?: boolean },
  context: QueryContext,
): Promise<HttpAnswer> {
  const deadline = AbortSignal.timeout(request.timeoutMs);
  // A long query goes as a form body: proxies cap URLs at a few kilobytes.
  const form = request.post ? new URLSearchParams(request.params).toString() : undefined;
  try {
    const response = await http.request<string>({
      url: request.url,
      ...(form === undefined ? { method: 'get', params: request.params } : { method: 'post', data: form }),
      headers: {
        accept: 'application/json',
        'user-agent': 'Shipmate',
        ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        ...request.headers,
      },
      timeout: request.timeoutMs,
      signal: deadline,
      responseType: 'text',
      transformResponse: [(data: string) => data],
      validateStatus: () => true,
      maxRedirects: 0,
    });
    return { status: response.status, text: String(response.data ?? ''), headers: response.headers as Record<string, unknown> };
  } catch (error) {
    const host = new URL(request.url).host;
    const timedOut = deadline.aborted || (isAxiosError(error) && (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT'));
    const detail = timedOut
      ? `no answer from ${host} within ${formatDuration(request.timeoutMs)} (timeout)`
      : `could not reach ${host}: ${isAxiosError(error) && error.code ? error.code : error instanceof Error ? error.message : String(error)}`;
    throw queryFailed(context, detail, true, { cause: error, timedOut });
  }
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** A number written as text, or undefined. Stricter than Number(), which reads "" as 0 and "0x1f" as 31. */
export function parseDecimal(text: string): number | undefined {
  const trimmed = text.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : undefined;
}
