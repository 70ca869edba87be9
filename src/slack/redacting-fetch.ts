import type { FetchFunction } from '@slack/web-api';
import type { Redactor } from '../core/redact';

/**
 * The fetch the Web API client and Bolt's respond() send through: every message, update,
 * ephemeral, App Home view and response_url post leaves with known secrets redacted. A form's
 * `token` is the bot token authenticating the call, and stays; file uploads are binary and pass.
 */
export function redactingFetch(redactor: Redactor, fetchFn: FetchFunction = globalThis.fetch): FetchFunction {
  const clean = (body: string, contentType: string): string => {
    if (!/^application\/x-www-form-urlencoded/i.test(contentType)) return redactor.text(body);
    const out = new URLSearchParams();
    for (const [key, value] of new URLSearchParams(body)) out.append(key, key === 'token' ? value : redactor.text(value));
    return out.toString();
  };
  return (url, init) => {
    if (typeof init?.body !== 'string') return fetchFn(url, init);
    const contentType = Object.entries(init.headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
    return fetchFn(url, { ...init, body: clean(init.body, contentType) });
  };
}
