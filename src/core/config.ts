import ms from 'ms';
import { z } from 'zod';

/**
 * The schema of shipmate.yml: the one place that says what a valid config is. Components get
 * the parsed slice they need, never the raw file.
 */

const NAME = /^[a-z0-9][a-z0-9._-]*$/;
const nameRule = 'use lowercase letters, digits, ".", "_" or "-", starting with a letter or digit';

/** "30s", "5m", "1.5h" -> milliseconds. A unit is required: a bare "30" would silently mean 30ms. */
export const duration = z.string().transform((text, ctx) => {
  let value: number | undefined;
  try {
    value = /[a-z]\s*$/i.test(text) ? ms(text as ms.StringValue) : undefined;
  } catch {
    value = undefined; // ms() throws on an empty or over-long string
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration: use a number and a unit, like 30s, 5m or 1h` });
    return z.NEVER;
  }
  return value;
});

/** A channel ID (C0123ABCD) or a #name; IDs survive renames, so prefer them. */
const channel = z
  .string()
  .regex(/^(#[a-z0-9._-]+|[CGD][A-Z0-9]{6,})$/, 'expected a channel ID like C0123ABCD or a name like #deploys');

const webhookDeploy = z.strictObject({
  type: z.literal('webhook'),
  url: z.url({ protocol: /^https?$/, error: 'Invalid URL' }),
  /** HMAC-SHA256 key for the X-Shipmate-Signature header. */
  secret: z.string().min(16, 'must be at least 16 characters so the signature cannot be guessed'),
  headers: z.record(z.string(), z.string()).default({}),
  timeout: duration.default(30_000),
});

const commandDeploy = z.strictObject({
  type: z.literal('command'),
  /** The executable; run without a shell, so arguments go in `args`. */
  command: z.string().min(1, 'name the executable to run'),
  args: z.array(z.string()).default([]),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
  timeout: duration.default(600_000),
  /** How many lines of output to show in the thread when the command fails. */
  outputTailLines: z.number().int().min(1).max(200).default(20),
});

export const deploySpec = z.discriminatedUnion('type', [webhookDeploy, commandDeploy], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'type must be one of: webhook, command' : undefined,
});

const environment = z.strictObject({
  deploy: deploySpec,
  /** Overrides the service's channel for this environment. */
  channel: channel.optional(),
});

const service = z.strictObject({
  channel: channel.optional(),
  description: z.string().optional(),
  environments: z
    .record(z.string().regex(NAME, `environment names: ${nameRule}`), environment)
    .refine((envs) => Object.keys(envs).length > 0, 'declare at least one environment'),
});

export const shipmateConfigSchema = z
  .strictObject({
    defaults: z.strictObject({ channel: channel.optional() }).default({}),
    services: z
      .record(z.string().regex(NAME, `service names: ${nameRule}`), service)
      .refine((services) => Object.keys(services).length > 0, 'declare at least one service'),
  })
  .superRefine((config, ctx) => {
    for (const [name, svc] of Object.entries(config.services)) {
      for (const [envName, env] of Object.entries(svc.environments)) {
        if (!env.channel && !svc.channel && !config.defaults.channel) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', name, 'channel'],
            message: `no channel for ${name} in ${envName}: set services.${name}.channel or defaults.channel`,
          });
        }
      }
    }
  });

export type ShipmateConfig = z.infer<typeof shipmateConfigSchema>;
export type ServiceConfig = ShipmateConfig['services'][string];
export type EnvironmentConfig = ServiceConfig['environments'][string];
export type DeploySpec = z.infer<typeof deploySpec>;

/** A configured service, or undefined; names like "constructor" are not services. */
export function findService(config: ShipmateConfig, name: string): ServiceConfig | undefined {
  return Object.hasOwn(config.services, name) ? config.services[name] : undefined;
}

/** A configured environment of a service, or undefined. */
export function findEnvironment(config: ShipmateConfig, service: string, env: string): EnvironmentConfig | undefined {
  const svc = findService(config, service);
  return svc && Object.hasOwn(svc.environments, env) ? svc.environments[env] : undefined;
}

/** The channel a service's messages for one environment go to. */
export function channelFor(config: ShipmateConfig, serviceName: string, envName: string): string {
  const svc = findService(config, serviceName);
  const channelId = findEnvironment(config, serviceName, envName)?.channel ?? svc?.channel ?? config.defaults.channel;
  if (!channelId) throw new Error(`no channel for ${serviceName}/${envName}`); // the schema rules this out
  return channelId;
}

/** One line per problem, each naming the path: `services.api.environments.prod.deploy.url: Invalid URL`. */
export function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

/**
 * Replaces `${NAME}` in every string with the environment's value, so secrets stay out of the
 * file. A missing variable is an error naming both the path and the variable.
 */
export function interpolateEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  path: string[] = [],
  problems: string[] = [],
): { value: unknown; problems: string[] } {
  if (typeof value === 'string') {
    const replaced = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
      const found = env[name];
      if (found === undefined || found === '') {
        problems.push(`${path.join('.')}: environment variable ${name} is not set`);
        return '';
      }
      return found;
    });
    return { value: replaced, problems };
  }
  if (Array.isArray(value)) {
    return { value: value.map((item, i) => interpolateEnv(item, env, [...path, String(i)], problems).value), problems };
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = interpolateEnv(item, env, [...path, key], problems).value;
    }
    return { value: out, problems };
  }
  return { value, problems };
}

/** Parses an already-read document. Returns every problem at once, so one edit fixes them all. */
export function parseShipmateConfig(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; config: ShipmateConfig } | { ok: false; problems: string[] } {
  const { value, problems } = interpolateEnv(raw ?? {}, env);
  const result = shipmateConfigSchema.safeParse(value);
  const all = [...problems, ...(result.success ? [] : formatIssues(result.error.issues))];
  if (all.length > 0 || !result.success) return { ok: false, problems: all };
  return { ok: true, config: result.data };
}
