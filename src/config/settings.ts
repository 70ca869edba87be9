import { z } from 'zod';
import { ConfigError } from '../core/errors';

/**
 * Process settings, read once from the environment that `main` passes in. Nothing else in the
 * code reads process.env.
 */
const settingsSchema = z
  .object({
    SLACK_BOT_TOKEN: z
      .string({ error: 'is missing: set it to the bot token (xoxb-...) from OAuth & Permissions' })
      .regex(/^xoxb-[\w-]+$/, 'is not a bot token: it starts with xoxb-'),
    SLACK_APP_TOKEN: z
      .string()
      .regex(/^xapp-[\w-]+$/, 'is not an app-level token: it starts with xapp- and needs the connections:write scope')
      .optional(),
    SLACK_SIGNING_SECRET: z
      .string()
      .regex(/^[0-9a-f]{16,}$/i, 'is not a signing secret: copy it from Basic Information > App Credentials')
      .optional(),
    SLACK_API_URL: z
      .url({ protocol: /^https?$/, error: 'is not an http(s) URL, e.g. https://slack.com/api/' })
      .transform((url) => (url.endsWith('/') ? url : `${url}/`))
      .optional(),
    PORT: z.coerce
      .number({ error: 'is not a port number: use an integer from 0 to 65535' })
      .int('is not a port number: use an integer from 0 to 65535')
      .min(0, 'is not a port number: use an integer from 0 to 65535')
      .max(65535, 'is not a port number: use an integer from 0 to 65535')
      .default(3000),
    SHIPMATE_CONFIG: z.string().min(1, 'is empty: give the path of shipmate.yml').default('./shipmate.yml'),
    SHIPMATE_DB: z.string().min(1, 'is empty: give the path of the SQLite file').default('./data/shipmate.db'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'is not a log level: use one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
  })
  .superRefine((s, ctx) => {
    if (!s.SLACK_APP_TOKEN && !s.SLACK_SIGNING_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_APP_TOKEN'],
        message:
          'is missing: set SLACK_APP_TOKEN (xapp-...) for Socket Mode, or SLACK_SIGNING_SECRET to receive HTTP requests',
      });
    }
  });

export type Settings = z.output<typeof settingsSchema> & { mode: 'socket' | 'http' };

type Env = Readonly<Record<string, string | undefined>>;

/** Empty strings count as unset: `FOO= npm start` should not mean "FOO is the empty string". */
function withoutEmpty(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1].trim() !== ''));
}

/**
 * Reads and checks the settings. Throws a ConfigError whose message is one line naming the first
 * bad setting and what would be right; values are never echoed, since they may be secrets.
 */
export function loadSettings(env: Env): Settings {
  const result = settingsSchema.safeParse(withoutEmpty(env));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`${String(issue.path[0] ?? 'settings')} ${issue.message}`);
  }
  const mode = result.data.SLACK_APP_TOKEN ? 'socket' : 'http';
  return { ...result.data, mode };
}

/** Settings the CLI's offline commands need: no Slack tokens. */
export function loadStorageSettings(env: Env): Pick<Settings, 'SHIPMATE_CONFIG' | 'SHIPMATE_DB'> {
  const clean = withoutEmpty(env);
  return {
    SHIPMATE_CONFIG: clean.SHIPMATE_CONFIG ?? './shipmate.yml',
    SHIPMATE_DB: clean.SHIPMATE_DB ?? './data/shipmate.db',
  };
}
