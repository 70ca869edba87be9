import { z } from 'zod';
import { approvalPolicySchema } from './approval-policy';
import { analysisSpec, CANARY_DEPLOYERS, canarySteps, isComparison, metricsProviderSpec } from './canary-config';
import { ValidationError } from './errors';
import { deploySpec } from './deploy-specs';
import { duration } from './duration';
import { cronExpression, type FreezeWindow, freezeWindowSchema, timeZone } from './freeze-windows';
import { flagsConfigSchema } from './flag-config';
import { checkSeparateCredentials } from './credential-rules';
import { checkQueryTemplate } from './query-template';
import { createRedactor } from './redact';
import { planWaves } from './release-plan';
import { alertTableSchema, DEFAULT_ALERT_TABLE, type SloDefinition, sloSpecSchema, toSloDefinition } from './slo';

export { duration };

/**
 * The schema of shipmate.yml: the one place that says what a valid config is. Components get
 * the parsed slice they need, never the raw file.
 */

const NAME = /^[a-z0-9][a-z0-9._-]*$/;
const nameRule = 'use lowercase letters, digits, ".", "_" or "-", starting with a letter or digit';

/** A channel ID (C0123ABCD) or a #name; IDs survive renames, so prefer them. */
const channel = z
  .string()
  .regex(/^(#[a-z0-9._-]+|[CGD][A-Z0-9]{6,})$/, 'expected a channel ID like C0123ABCD or a name like #deploys');

const environment = z.strictObject({
  deploy: deploySpec,
  /** Overrides the service's channel for this environment. */
  channel: channel.optional(),
  /** Deploys here wait for approval. */
  approval: approvalPolicySchema.optional(),
  /** Before deploying here, the version's commit must have green checks on GitHub (needs `repository`). */
  requireGreenChecks: z.boolean({ error: 'must be true or false' }).default(false),
  /** all-at-once: the deployer puts the version in place. canary: traffic moves to it in `steps`, checked by analyses. */
  strategy: z.enum(['all-at-once', 'canary'], { error: 'strategy must be one of: all-at-once, canary' }).default('all-at-once'),
  steps: canarySteps.optional(),
});

const serviceName = z.string().regex(NAME, `service names: ${nameRule}`);
const environmentName = z.string().regex(NAME, `environment names: ${nameRule}`);

const slackUsers = z
  .strictObject({
    users: z.array(z.string().regex(/^[UW][A-Z0-9]{6,}$/, 'expected a Slack user ID like U0123ABCD')).default([]),
    groups: z.array(z.string().regex(/^S[A-Z0-9]{6,}$/, 'expected a user group ID like S0123ABCD')).default([]),
  })
  .default({ users: [], groups: [] });

/** A freeze window, and what it covers: some environments (default all) and services (default all). */
export type ScopedFreezeWindow = FreezeWindow & { environments?: string[]; services?: string[] };

const scope = z.strictObject({ environments: z.array(environmentName).min(1).optional(), services: z.array(serviceName).min(1).optional() });

const scopedFreezeWindow = z.unknown().transform((input, ctx): ScopedFreezeWindow => {
  const { environments, services, ...window } = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const parsedScope = scope.safeParse({ environments, services });
  const parsedWindow = freezeWindowSchema.safeParse(input && typeof input === 'object' ? window : input);
  for (const issue of [...(parsedScope.error?.issues ?? []), ...(parsedWindow.error?.issues ?? [])]) {
    ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  }
  if (!parsedScope.success || !parsedWindow.success) return z.NEVER;
  return { ...parsedWindow.data, ...parsedScope.data };
});

/** A recurring release: at each departure, the versions queued for it go out as one release. */
const train = z.strictObject({
  name: z.string().regex(NAME, `train names: ${nameRule}`),
  cron: cronExpression,
  timezone: timeZone.default('UTC'),
  environment: environmentName,
  channel: channel.optional(),
});

const service = z.strictObject({
  channel: channel.optional(),
  description: z.string().optional(),
  /** Services that must be deployed before this one in a release. */
  dependsOn: z.array(serviceName).default([]),
  /** The GitHub repository, `owner/name`, whose checks gate deploys where requireGreenChecks is on. */
  repository: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name, e.g. acme/api').optional(),
  /** Where this service's SLO incidents are posted; defaults to slo.channel, then the service's channel. */
  incidentChannel: channel.optional(),
  /** Feature flags that belong to this service: offered on its incidents ("Turn off"). */
  flags: z.array(z.string()).default([]),
  /** SLOs in Sloth's format; `sloth: path.yml` in the file adds those of a Sloth spec (read when the file is loaded). */
  slos: z.array(sloSpecSchema).default([]),
  /** How a semantic version maps to a git tag: "v" turns 1.4.2 into v1.4.2. Commit SHAs are used as they are. */
  tagPrefix: z.string().default('v'),
  environments: z
    .record(z.string().regex(NAME, `environment names: ${nameRule}`), environment)
    .refine((envs) => Object.keys(envs).length > 0, 'declare at least one environment'),
});

const shipmateConfigBase = z
  .strictObject({
    defaults: z.strictObject({ channel: channel.optional() }).default({}),
    /** Where times people type (release schedules) and show are read; an IANA zone. */
    timezone: timeZone.default('UTC'),
    services: z
      .record(serviceName, service)
      .refine((services) => Object.keys(services).length > 0, 'declare at least one service'),
    /** Times when deploys are refused, e.g. Friday afternoons or the holidays. */
    freezeWindows: z.array(scopedFreezeWindow).default([]),
    /** Who may deploy during a freeze with --break-glass "reason". */
    breakGlass: slackUsers,
    /**
     * Per environment, who may deploy, roll back and change flags there (users and user groups).
     * An action not listed is open to everyone; approvals and break glass have their own lists.
     */
    access: z
      .record(
        environmentName,
        z.strictObject({ deploy: slackUsers.optional(), rollback: slackUsers.optional(), flags: slackUsers.optional() }),
      )
      .default({}),
    /** Release trains, e.g. every Tuesday at 10:00. */
    trains: z.array(train).default([]),
    /** GitHub API access for pre-flight checks. */
    github: z
      .strictObject({
        token: z.string().min(1, 'set it, e.g. token: ${GITHUB_TOKEN}').optional(),
        apiUrl: z.url({ protocol: /^https?$/, error: 'Invalid URL' }).default('https://api.github.com'),
        timeout: duration.default(10_000),
      })
      .default({ apiUrl: 'https://api.github.com', timeout: 10_000 }),
    releases: z
      .strictObject({
        /** A scheduled release found overdue at start-up still runs if it is at most this late. */
        missedGrace: duration.default(15 * 60_000),
        /** When a release fails, roll back the services it already deployed without asking. */
        autoRollback: z.boolean({ error: 'must be true or false' }).default(false),
      })
      .default({ missedGrace: 15 * 60_000, autoRollback: false }),
    /** Metrics backends canary analyses query, by name. */
    metrics: z.strictObject({ providers: z.record(z.string().regex(NAME, `provider names: ${nameRule}`), metricsProviderSpec).default({}) }).default({ providers: {} }),
    /** Feature flags: per environment the backend (builtin, launchdarkly, unleash), OFREP key and approval policy. */
    flags: flagsConfigSchema,
    /** Burn-rate evaluation of the services' SLOs. */
    slo: z
      .strictObject({
        /** The metrics provider (a prometheus one) SLO queries go to. */
        provider: z.string().optional(),
        /** The environment SLOs watch: incidents roll back there, and an exhausted budget gates deploys there. */
        environment: environmentName.default('prod'),
        /** How often every SLO is evaluated (cron, seconds optional). */
        evaluateEvery: cronExpression.default('* * * * *'),
        maxConcurrentQueries: z.number().int().min(1).max(64).default(8),
        /** Rows {severity, longWindow, shortWindow, budgetPercent}; the SRE Workbook's table by default. */
        alertTable: alertTableSchema.optional(),
        /** A service whose traffic is absent or flat this long (and that had some in trafficLookback) gets a warning. */
        trafficStopAfter: duration.default(15 * 60_000),
        trafficLookback: duration.default(86_400_000),
        /** While an SLO's error budget is used up, deploys to the environment need --break-glass. */
        breakGlassWhenExhausted: z.boolean().default(true),
        /** Where incidents go when a service names no incidentChannel. */
        channel: channel.optional(),
      })
      .default({ environment: 'prod', evaluateEvery: '* * * * *', maxConcurrentQueries: 8, trafficStopAfter: 15 * 60_000, trafficLookback: 86_400_000, breakGlassWhenExhausted: true }),
    /** POST /alerts/alertmanager: Alertmanager's webhook, with this bearer token. */
    alertmanager: z
      .strictObject({
        token: z.string().min(16, 'must be at least 16 characters so it cannot be guessed'),
        /** The alert label that names the service. */
        serviceLabel: z.string().default('service'),
      })
      .optional(),
    /** Canary analyses by name, referred to by `{analysis: name}` steps. */
    analyses: z.record(z.string().regex(NAME, `analysis names: ${nameRule}`), analysisSpec).default({}),
  });

export const shipmateConfigSchema = shipmateConfigBase
  .superRefine((config, ctx) => {
    const environments = new Set(Object.values(config.services).flatMap((s) => Object.keys(s.environments)));
    config.trains.forEach((t, i) => {
      if (!environments.has(t.environment)) ctx.addIssue({ code: 'custom', path: ['trains', i, 'environment'], message: `no service has an environment "${t.environment}"` });
      if (!t.channel && !config.defaults.channel) ctx.addIssue({ code: 'custom', path: ['trains', i, 'channel'], message: 'set a channel for the train or defaults.channel' });
      if (config.trains.findIndex((o) => o.name === t.name) !== i) ctx.addIssue({ code: 'custom', path: ['trains', i, 'name'], message: `another train is already named "${t.name}"` });
    });
    config.freezeWindows.forEach((w, i) => {
      w.environments?.forEach((env, j) => {
        if (!environments.has(env)) ctx.addIssue({ code: 'custom', path: ['freezeWindows', i, 'environments', j], message: `no service has an environment "${env}"` });
      });
      w.services?.forEach((s, j) => {
        if (!Object.hasOwn(config.services, s)) ctx.addIssue({ code: 'custom', path: ['freezeWindows', i, 'services', j], message: `unknown service "${s}"` });
      });
    });
    // A cycle would only surface when a release is planned; say so now.
    try {
      if (Object.keys(config.services).length > 0) planWaves(Object.keys(config.services).map((name) => ({ name, version: '0.0.0' })), (s) => config.services[s]?.dependsOn ?? []);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      ctx.addIssue({ code: 'custom', path: ['services'], message: error.userMessage });
    }
    checkCanaries(config, ctx);
    checkSlos(config, ctx);
    checkSeparateCredentials(config, ctx);
    for (const [env, f] of Object.entries(config.flags.environments)) {
      if (f.ofrepKey && f.backend.type !== 'builtin') ctx.addIssue({ code: 'custom', path: ['flags', 'environments', env, 'ofrepKey'], message: `apps read ${f.backend.type} flags from ${f.backend.type} itself; ofrepKey only applies to builtin flags` });
      if (!f.channel && !config.flags.channel && !config.defaults.channel) ctx.addIssue({ code: 'custom', path: ['flags', 'channel'], message: 'set flags.channel or defaults.channel: flag changes are announced there' });
    }
    for (const [name, svc] of Object.entries(config.services)) {
      for (const [envName, env] of Object.entries(svc.environments)) {
        if (env.requireGreenChecks && !svc.repository) {
          ctx.addIssue({ code: 'custom', path: ['services', name, 'environments', envName, 'requireGreenChecks'], message: `needs services.${name}.repository (owner/name) to know where the checks are` });
        }
      }
      svc.dependsOn.forEach((dep, i) => {
        if (!Object.hasOwn(config.services, dep)) {
          ctx.addIssue({ code: 'custom', path: ['services', name, 'dependsOn', i], message: `unknown service "${dep}"` });
        }
      });
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

type Issues = { addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void };

/** Canary steps name analyses that exist, analyses name providers that exist, queries use known placeholders. */
function checkCanaries(config: z.infer<typeof shipmateConfigBase>, ctx: Issues): void {
  for (const [name, analysis] of Object.entries(config.analyses)) {
    analysis.metrics.forEach((m, i) => {
      const path = ['analyses', name, 'metrics', i];
      if (!Object.hasOwn(config.metrics.providers, m.provider)) {
        const known = Object.keys(config.metrics.providers);
        ctx.addIssue({ code: 'custom', path: [...path, 'provider'], message: `unknown provider "${m.provider}"; ${known.length ? `use one of: ${known.join(', ')}` : 'declare it under metrics.providers'}` });
      } else if (isComparison(m) && config.metrics.providers[m.provider]!.type === 'web') {
        ctx.addIssue({ code: 'custom', path: [...path, 'provider'], message: 'comparison metrics need a backend with history (prometheus or datadog), not web' });
      }
      for (const [field, template] of isComparison(m) ? [['canaryQuery', m.canaryQuery], ['baselineQuery', m.baselineQuery]] : [['query', m.query]]) {
        try {
          checkQueryTemplate(template!);
        } catch (error) {
          ctx.addIssue({ code: 'custom', path: [...path, field!], message: error instanceof Error ? error.message : String(error) });
        }
      }
    });
  }
  for (const [name, svc] of Object.entries(config.services)) {
    for (const [envName, env] of Object.entries(svc.environments)) {
      const path = ['services', name, 'environments', envName];
      if (env.strategy !== 'canary') {
        if (env.steps) ctx.addIssue({ code: 'custom', path: [...path, 'steps'], message: 'steps only apply to strategy: canary' });
        continue;
      }
      if (!env.steps) ctx.addIssue({ code: 'custom', path: [...path, 'steps'], message: 'strategy: canary needs steps, e.g. [{weight: 10}, {analysis: health}, {weight: 100}]' });
      if (!(CANARY_DEPLOYERS as readonly string[]).includes(env.deploy.type)) {
        ctx.addIssue({ code: 'custom', path: [...path, 'strategy'], message: `a ${env.deploy.type} deployer cannot move traffic; canaries need one of: ${CANARY_DEPLOYERS.join(', ')}` });
      }
      env.steps?.forEach((step, i) => {
        if ('flag' in step && !Object.hasOwn(config.flags.environments, envName)) {
          ctx.addIssue({ code: 'custom', path: [...path, 'steps', i, 'flag'], message: `flags have no environment "${envName}": declare it under flags.environments` });
        }
        if ('analysis' in step && !Object.hasOwn(config.analyses, step.analysis)) {
          ctx.addIssue({ code: 'custom', path: [...path, 'steps', i, 'analysis'], message: `unknown analysis "${step.analysis}"; declare it under analyses` });
        }
      });
    }
  }
}

function checkSlos(config: z.infer<typeof shipmateConfigBase>, ctx: Issues): void {
  const withSlos = Object.entries(config.services).filter(([, svc]) => svc.slos.length > 0);
  if (withSlos.length === 0) return;
  const provider = config.slo.provider;
  const prometheus = Object.entries(config.metrics.providers).filter(([, p]) => p.type === 'prometheus').map(([n]) => n);
  if (!provider) {
    ctx.addIssue({ code: 'custom', path: ['slo', 'provider'], message: `name the Prometheus provider SLOs are evaluated against${prometheus.length ? `: one of ${prometheus.join(', ')}` : ', declared under metrics.providers'}` });
  } else if (!prometheus.includes(provider)) {
    ctx.addIssue({ code: 'custom', path: ['slo', 'provider'], message: `"${provider}" is not a prometheus provider under metrics.providers${prometheus.length ? `; use one of: ${prometheus.join(', ')}` : ''}` });
  }
  for (const [name, svc] of withSlos) {
    if (!Object.hasOwn(svc.environments, config.slo.environment)) {
      ctx.addIssue({ code: 'custom', path: ['services', name, 'slos'], message: `${name} has SLOs but no environment "${config.slo.environment}" (slo.environment) to roll back in` });
    }
    svc.slos.forEach((slo, i) => {
      if (svc.slos.findIndex((o) => o.name === slo.name) !== i) ctx.addIssue({ code: 'custom', path: ['services', name, 'slos', i, 'name'], message: `another SLO of ${name} is already named ${slo.name}` });
    });
  }
}

/** Where a config's `${NAME}` values went: the values themselves, with the path each landed at. */
export const FROM_ENVIRONMENT = Symbol('values read from the environment');
export interface Substitution {
  path: readonly string[];
  value: string;
}

export type ShipmateConfig = z.infer<typeof shipmateConfigSchema> & { readonly [FROM_ENVIRONMENT]?: readonly Substitution[] };

/** Every SLO of every service, ready to evaluate. */
export function sloDefinitions(config: ShipmateConfig): SloDefinition[] {
  return Object.entries(config.services).flatMap(([name, svc]) => svc.slos.map((slo) => toSloDefinition(name, slo)));
}

/** The alert table in force: the configured one, or the SRE Workbook's. */
export const alertTableOf = (config: ShipmateConfig) => config.slo.alertTable ?? DEFAULT_ALERT_TABLE;

/** Where changes of flags in an environment are announced. */
export function flagChannelFor(config: ShipmateConfig, environment: string): string {
  const channelId = config.flags.environments[environment]?.channel ?? config.flags.channel ?? config.defaults.channel;
  if (!channelId) throw new Error(`no channel for flags in ${environment}`); // the schema rules this out
  return channelId;
}

/** Where a service's incidents go. */
export function incidentChannelFor(config: ShipmateConfig, service: string): string {
  const svc = findService(config, service);
  if (svc?.incidentChannel ?? config.slo.channel) return (svc?.incidentChannel ?? config.slo.channel)!;
  // A service without the SLO environment still has a channel for each environment it has.
  const env = svc && !findEnvironment(config, service, config.slo.environment) ? Object.keys(svc.environments)[0]! : config.slo.environment;
  return channelFor(config, service, env);
}
export type ServiceConfig = ShipmateConfig['services'][string];
export type EnvironmentConfig = ServiceConfig['environments'][string];
export type { DeploySpec } from './deploy-specs';
export { deploySpec };

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
  within: readonly object[] = [],
  substituted: Substitution[] = [],
): { value: unknown; problems: string[]; substituted: Substitution[] } {
  // A YAML alias inside its own anchor makes a value that contains itself.
  if (value && typeof value === 'object' && within.includes(value)) {
    problems.push(`${path.join('.')}: refers to itself (a YAML alias *name inside its own &name)`);
    return { value: null, problems, substituted };
  }
  const inner = value && typeof value === 'object' ? [...within, value] : within;
  if (typeof value === 'string') {
    const replaced = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
      const found = env[name];
      if (found === undefined || found === '') {
        problems.push(`${path.join('.')}: environment variable ${name} is not set`);
        return '';
      }
      substituted.push({ path, value: found });
      return found;
    });
    return { value: replaced, problems, substituted };
  }
  if (Array.isArray(value)) {
    return { value: value.map((item, i) => interpolateEnv(item, env, [...path, String(i)], problems, inner, substituted).value), problems, substituted };
  }
  if (value && typeof value === 'object') {
    // A null prototype keeps a "__proto__" key a key like any other (the schema then refuses it).
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [key, item] of Object.entries(value)) {
      out[key] = interpolateEnv(item, env, [...path, key], problems, inner, substituted).value;
    }
    return { value: out, problems, substituted };
  }
  return { value, problems, substituted };
}

/** Parses an already-read document. Returns every problem at once, so one edit fixes them all. */
/** Deeper than any setting, and shallow enough for the recursive walks (env substitution, zod) after it. */
const MAX_NESTING = 100;

/** The path of the first value nested deeper than `limit`, found without recursion; undefined if none. */
function deepestPath(raw: unknown, limit: number): string | undefined {
  const stack: [unknown, string[]][] = [[raw, []]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= limit) return [...path.slice(0, 5), '…'].join('.');
    for (const [key, child] of Object.entries(v)) stack.push([child, [...path, key]]);
  }
  return undefined;
}

export function parseShipmateConfig(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; config: ShipmateConfig } | { ok: false; problems: string[] } {
  const tooDeep = deepestPath(raw ?? {}, MAX_NESTING);
  if (tooDeep) return { ok: false, problems: [`${tooDeep}: nested deeper than ${MAX_NESTING} levels; no setting of shipmate.yml goes that deep`] };
  const { value, problems, substituted } = interpolateEnv(raw ?? {}, env);
  const result = shipmateConfigSchema.safeParse(value);
  const all = [...problems, ...(result.success ? [] : formatIssues(result.error.issues))];
  // A problem may quote a value, and a value from the environment may be a secret.
  const redactor = createRedactor(substituted.map((s) => s.value));
  if (all.length > 0 || !result.success) return { ok: false, problems: all.map(redactor.text) };
  // Beside the parsed values, not among them: printing or comparing the config leaves it out.
  return { ok: true, config: Object.defineProperty(result.data, FROM_ENVIRONMENT, { value: substituted }) };
}
