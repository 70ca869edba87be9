import { isAxiosError } from 'axios';
import { formatDuration } from '../core/format-duration';

/** A transport failure in words an engineer can act on; never includes headers (they carry secrets). */
export function describeHttpError(error: unknown, url: string, timeoutMs: number): string {
  const host = new URL(url).host;
  if (isAxiosError(error)) {
    if (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT') {
      return `no answer from ${host} within ${formatDuration(timeoutMs)} (timeout)`;
    }
    if (error.code) return `could not reach ${host}: ${error.code}`;
  }
  return `could not reach ${host}: ${error instanceof Error ? error.message : String(error)}`;
}
