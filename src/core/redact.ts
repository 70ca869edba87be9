/**
 * Secrets Shipmate holds, taken out of text before it leaves: logs, audit rows, flow state,
 * Slack messages. Targets and backends echo what they are sent (an Authorization header in a
 * 500 page, a token in a 401), and scripts print their environment; matching the values
 * themselves catches what no list of field names can.
 */

export const REDACTED = '[redacted]';

/** Shorter values are not secrets worth the name, and replacing them would garble ordinary words. */
const MIN_LENGTH = 6;

/** `scheme://user:password@` in any URL: the userinfo goes, whoever's it is. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;

export interface Redactor {
  /** The text with every known secret, and any URL's userinfo, replaced. */
  text(text: string): string;
  /** A copy with `text` applied to every string in it: plain objects, arrays and errors (message, stack, cause). */
  value<T>(value: T): T;
}

/** The forms a secret travels in: as is, URL-encoded, inside JSON, and as the Basic credentials a URL's userinfo becomes. */
function formsOf(secret: string): string[] {
  const forms = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
  if (secret.includes(':')) forms.push(Buffer.from(secret).toString('base64'));
  return forms;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function createRedactor(secrets: Iterable<string>): Redactor {
  const forms = [...new Set([...secrets].filter((s) => s.length >= MIN_LENGTH).flatMap(formsOf))].sort((a, b) => b.length - a.length);
  // Longest first, so a secret that contains another is replaced whole.
  const pattern = forms.length > 0 ? new RegExp(forms.map(escapeRegExp).join('|'), 'g') : undefined;
  const text = (s: string): string => (pattern ? s.replace(pattern, REDACTED) : s).replace(USERINFO, `$1${REDACTED}@`);

  const value = (v: unknown, seen: Map<object, unknown>): unknown => {
    if (typeof v === 'string') return text(v);
    if (!v || typeof v !== 'object') return v;
    if (seen.has(v)) return seen.get(v);
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const item of v) out.push(value(item, seen));
      return out;
    }
    if (v instanceof Error) {
      const out = Object.create(Object.getPrototypeOf(v) as object) as Record<string, unknown>;
      seen.set(v, out);
      for (const key of ['message', 'stack', ...Object.keys(v), ...('cause' in v ? ['cause'] : [])]) {
        Object.defineProperty(out, key, { value: value((v as unknown as Record<string, unknown>)[key], seen), writable: true, configurable: true, enumerable: key !== 'message' && key !== 'stack' });
      }
      return out;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return v; // a Date, a Buffer, a socket: not text
    const out: Record<string, unknown> = proto === null ? (Object.create(null) as Record<string, unknown>) : {};
    seen.set(v, out);
    for (const [key, item] of Object.entries(v)) out[key] = value(item, seen);
    return out;
  };

  return { text, value: <T>(v: T): T => value(v, new Map()) as T };
}
