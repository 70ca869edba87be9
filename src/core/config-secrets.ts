import { FROM_ENVIRONMENT, type ShipmateConfig } from './config';

/** Fields of shipmate.yml that hold a credential, wherever they are. */
const CREDENTIAL_FIELD = /^(token|secret|password|apiKey|appKey|ofrepKey)$/;
/** In `headers:` and a command's `env:`, the names that carry one (Authorization, X-Api-Key, DB_PASSWORD...). */
const CREDENTIAL_NAME = /auth|token|secret|passw|key|cookie|credential|session/i;
/** Slack IDs and channel names come from the environment too, and must reach Slack as they are. */
const SLACK_IDENTIFIER = (path: readonly string[]): boolean => /channel$/i.test(path.at(-1) ?? '') || ['users', 'groups'].includes(path.at(-2) ?? '');

/** `user:password` of a URL, decoded: axios sends it as Basic credentials. */
function userinfoOf(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/([^\s/?#@]+)@/gi)) {
    const info = match[1]!;
    const decoded = info.split(':').map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
    found.push(info, decoded.join(':'), ...decoded.slice(1));
  }
  return found;
}

/**
 * Every secret a config holds: each value read from the environment (`${NAME}`, the way
 * shipmate.yml keeps secrets out of the file) but Slack IDs, each credential field written in
 * the file itself, the userinfo of URLs, and the `user:password` of basic auth.
 */
export function secretsOf(config: ShipmateConfig): string[] {
  const secrets = new Set<string>();
  for (const { path, value } of config[FROM_ENVIRONMENT] ?? []) if (!SLACK_IDENTIFIER(path)) secrets.add(value);
  const walk = (value: unknown, path: string[]): void => {
    if (typeof value === 'string') {
      const key = path.at(-1) ?? '';
      const inMap = ['headers', 'env'].includes(path.at(-2) ?? '');
      if (CREDENTIAL_FIELD.test(key) || (inMap && CREDENTIAL_NAME.test(key))) {
        secrets.add(value);
        // "Bearer <token>": the token also travels alone.
        secrets.add(value.replace(/^(bearer|basic|token)\s+/i, ''));
      }
      userinfoOf(value).forEach((s) => secrets.add(s));
      return;
    }
    if (!value || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (typeof record.username === 'string' && typeof record.password === 'string') secrets.add(`${record.username}:${record.password}`);
    for (const [key, item] of Object.entries(record)) walk(item, [...path, key]);
  };
  walk(config, []);
  return [...secrets];
}
