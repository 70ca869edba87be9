import pino, { type Logger } from 'pino';
import type { Logger as SlackLogger, LogLevel } from '@slack/logger';

export type { Logger };

/**
 * JSON logs on stdout. Anything that looks like a credential is redacted by path, and Slack
 * tokens are scrubbed from free text, so a stray `log.info(client)` cannot leak one.
 */
export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
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
      },
    },
    options.destination,
  );
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
