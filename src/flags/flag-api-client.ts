import { isAxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { ExternalServiceError } from '../core/errors';
import { formatDuration } from '../core/format-duration';
import { describeHttpError } from '../deployers/describe-http-error';
import { isTransient, retryTransient } from '../deployers/retry';

/** An answer another try may fix (5xx), or no answer at all; `status` and `code` are what isTransient reads. */
class Transient extends Error {
  constructor(
    readonly detail: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(detail);
  }
}

/** What an operation is about: `doing` is a phrase like "turning on". */
export interface ApiSubject {
  doing: string;
}

export interface FlagApiClientOptions<S extends ApiSubject> {
  http: AxiosInstance;
  /** "LaunchDarkly", "Unleash": starts messages about the transport, and the hint after 5xx answers. */
  system: string;
  /** Who answered, in messages about 5xx answers: "LaunchDarkly", "Unleash at unleash.example.com". */
  answerer: string;
  /** Sent as is in Authorization: both systems take the bare token. */
  token: string;
  timeoutMs: number;
  retries: number;
  retryDelayMs?: number;
  /** Headers of every request, and the content type of those with a body. */
  headers?: Record<string, string>;
  contentType: string;
  /** The system's error body in a few words, or '' when it says nothing useful. */
  said(response: AxiosResponse<string>): string;
  /** A 4xx answer as the error to report. */
  refused(s: S, response: AxiosResponse<string>): ExternalServiceError;
  /** "flag x in environment y of project z". */
  where(s: S): string;
}

/**
 * The HTTP plumbing the flag systems share: one request with a hard deadline whose 5xx answers and
 * transport failures are retried with the whole operation, refusals reported as the system words
 * them, and never the request's headers (the token) in an error.
 */
export function createFlagApiClient<S extends ApiSubject>(o: FlagApiClientOptions<S>) {
  /** One request; a 5xx or a transport failure throws Transient, a refusal ExternalServiceError, any other answer comes back. */
  const send = async (method: 'get' | 'post' | 'patch', url: string, s: S, body?: unknown, params?: Record<string, string>): Promise<AxiosResponse<string>> => {
    const deadline = AbortSignal.timeout(o.timeoutMs);
    let response: AxiosResponse<string>;
    try {
      response = await o.http.request<string>({
        method,
        url,
        params,
        data: body === undefined ? undefined : JSON.stringify(body),
        headers: {
          authorization: o.token,
          accept: 'application/json',
          'user-agent': 'Shipmate',
          ...o.headers,
          ...(body === undefined ? {} : { 'content-type': o.contentType }),
        },
        timeout: o.timeoutMs,
        signal: deadline,
        responseType: 'text',
        transformRequest: [(data: unknown) => data],
        transformResponse: [(data: string) => data],
        validateStatus: () => true,
        maxRedirects: 0,
      });
    } catch (error) {
      // Only the code travels on: the axios error holds the request headers, the token among them.
      const timedOut = deadline.aborted || (isAxiosError(error) && (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT'));
      const code = timedOut ? 'ETIMEDOUT' : isAxiosError(error) ? error.code : undefined;
      const detail = timedOut ? `no answer from ${new URL(url).host} within ${formatDuration(o.timeoutMs)} (timeout)` : describeHttpError(error, url, o.timeoutMs);
      throw new Transient(`${o.system}: ${detail}`, undefined, code);
    }
    const said = o.said(response);
    if (response.status >= 500) throw new Transient(`${o.answerer} answered ${response.status}${said ? ` ${said}` : ''}`, response.status);
    if (response.status >= 300) throw o.refused(s, response);
    return response;
  };

  /** The whole operation, tried again while it fails transiently; every failure leaves as ExternalServiceError. */
  const attempt = async <T>(s: S, op: () => Promise<T>): Promise<T> => {
    try {
      return await retryTransient(op, { retries: o.retries, ...(o.retryDelayMs !== undefined ? { initialDelayMs: o.retryDelayMs } : {}) });
    } catch (error) {
      if (!(error instanceof Transient)) throw error;
      const retryable = isTransient(error);
      const tries = retryable && o.retries > 0 ? ` (after ${o.retries + 1} tries)` : '';
      const hint = error.status ? `; ${o.system} may be having trouble, try again later` : '';
      throw new ExternalServiceError(`${error.detail} while ${s.doing} ${o.where(s)}${tries}${hint}`, retryable);
    }
  };

  return { send, attempt };
}
