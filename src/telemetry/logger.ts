import pino, { type Logger } from 'pino';
import type { Logger as SlackLogger, LogLevel } from '@slack/logger';

export type { Logger };

/** Per logger made here, what each written line passes through: the secrets known once the config is read. */
const lineFilters = new WeakMap<Logger, ((line: string) => string)[]>();

/**
 * JSON logs on stdout. Anything that looks like a credential is redacted by path, and Slack
 * tokens are scrubbed from free text, so a stray `log.info(client)` cannot leak one. Lines also
 * pass through the filters `redactLines` adds, which see everything a line holds (an error's
 * stack, a response body inside it), serialized.
 */
export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  const filters: ((line: string) => string)[] = [];
  const log = pino(
    {
      level: options.level,
      base: { app: 'shipmate' },
      redact: {
        paths: ['token', '*.token', 'secret', '*.secret', 'headers.authorization', '*.headers.authorization', 'signingSecret', 'appToken'],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? scrubTokens(a) : a)) as Parameters<typeof method>);
        },
        streamWrite: (line) => filters.reduce((text, filter) => filter(text), line),
      },
    },
    options.destination,
  );
  lineFilters.set(log, filters);
  return log;
}

/**
 * From now on every line this logger (made by createLogger) and its children write goes through
 * `filter`. Secrets are known only once the config is read, after the logger exists.
 */
export function redactLines(log: Logger, filter: (line: string) => string): void {
  const filters = lineFilters.get(log);
  if (!filters) throw new Error('redactLines needs a logger made by createLogger');
  filters.push(filter);
}

/** Replaces anything shaped like a Slack token (xoxb-, xapp-, xoxp-...) with a marker. */
export function scrubTokens(text: string): string {
  return text.replace(/\bx(?:ox[abpers]|app)-[A-Za-z0-9-]+/g, '[redacted-token]');
}

/** Bolt and the Web API client log through this, into the same pino stream. */
export function slackLogger(log: Logger): SlackLogger {
  const child = log.child({ component: 'slack' });
  const text = (msg: unknown[]): string => msg.map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  let level = 'info' as LogLevel;
  return {
    debug: (...msg) => child.debug(text(msg)),
    info: (...msg) => child.info(text(msg)),
    warn: (...msg) => child.warn(text(msg)),
    error: (...msg) => child.error(text(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
