import { backOff } from 'exponential-backoff';
import { isTransientStatus } from '../core/errors';

/** A failure another try may fix: a 5xx, a 429, a reset or refused connection, a timeout. */
export function isTransient(error: unknown): boolean {
  const e = error as { status?: number; response?: { status?: number; statusCode?: number }; statusCode?: number; code?: string };
  const status = e.status ?? e.response?.status ?? e.response?.statusCode ?? e.statusCode;
  if (typeof status === 'number') return isTransientStatus(status);
  return ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET'].includes(e.code ?? '');
}

export interface RetryOptions {
  /** Further tries after the first. */
  retries: number;
  /** The first wait; it doubles, with jitter, up to 30 s. */
  initialDelayMs?: number;
}

/**
 * Calls `fn`, trying again with exponential backoff while it fails transiently. Any other
 * failure, or the last transient one, is thrown as it is.
 */
export function retryTransient<T>(fn: () => Promise<T>, { retries, initialDelayMs = 1_000 }: RetryOptions): Promise<T> {
  return backOff(fn, {
    numOfAttempts: retries + 1,
    startingDelay: initialDelayMs,
    timeMultiple: 2,
    maxDelay: 30_000,
    jitter: 'full',
    retry: (error) => isTransient(error),
  });
}

/**
 * Asks `check` every `intervalMs` until it returns a result, or throws a timeout error after
 * `timeoutMs`. For deploys that finish on their own time: a workflow run, a rollout.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  { intervalMs, timeoutMs, what }: { intervalMs: number; timeoutMs: number; what: string },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (Date.now() + intervalMs > deadline) throw new PollTimeoutError(what, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export class PollTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} did not finish within ${Math.round(timeoutMs / 1000)}s`);
  }
}
