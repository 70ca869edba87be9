import semver from 'semver';
import { channelFor, findEnvironment, findService, type ServiceConfig, type ShipmateConfig } from '../src/core/config';
import type { AuditLog, DeploymentStore, LockStore, UnitOfWork } from '../src/core/ports';
import type { Actor, Deployment } from '../src/core/types';
import type { DeployService } from '../flows/deploy-service';
import type { LockService } from '../flows/lock-service';
import type { DeploymentLine, Reply } from './reply';
import { extractFlags, tokenize } from './tokenize';
import { CommandUsageError } from './usage-error';

export const deployUsage = [
  '`/deploy <service>@<version> to <environment>`  deploy a version, e.g. `/deploy api@1.4.2 to staging`',
  '    `--queue`  wait behind a running deploy or a lock instead of being refused',
  '    `--break-glass "reason"`  deploy during a freeze (allowed users only; audited and announced)',
  '    `--force "reason"`  deploy although the commit\'s checks are not green (allowed users only; audited)',
  '`/deploy rollback <service> [environment] [--to <version>]`  back to the last known good version',
  '`/deploy status [service]`  what runs where, locks and pending approvals',
  '`/deploy history <service> [environment]`  the latest deploys',
  '`/deploy lock <environment> [service] <reason>` and `/deploy unlock <environment> [service]`',
  '`/deploy audit [service]`  who changed what, and when',
  '`/deploy help`  this text',
].join('\n');

export type DeployInput =
  | { action: 'deploy'; service: string; version: string; environment: string; queue: boolean; breakGlass?: string; force?: string }
  | { action: 'rollback'; service: string; environment?: string; to?: string }
  | { action: 'status'; service?: string }
  | { action: 'history'; service: string; environment?: string }
  | { action: 'lock'; environment: string; words: string[] }
  | { action: 'unlock'; environment: string; service?: string }
  | { action: 'audit'; service?: string }
  | { action: 'help' };

export interface DeployCommandDeps {
  config: ShipmateConfig;
  deployments: DeploymentStore;
  locks: LockStore;
  uow: UnitOfWork;
  audit: AuditLog;
  deployService: DeployService;
  lockService: LockService;
}

export interface Invocation {
  actor: Actor;
  /** Identifies the request (Slack's trigger_id): the same one twice starts one deploy. */
  requestKey?: string;
}

const HISTORY_LIMIT = 10;
const AUDIT_LIMIT = 20;
const OPTIONS = ['--queue', '--break-glass', '--force', '--to'];

/** A semantic version (optionally with a leading v) or a git commit SHA. */
export function isVersion(text: string): boolean {
  return semver.valid(text) !== null || /^[0-9a-f]{7,40}$/.test(text);
}

class UsageError extends CommandUsageError {}

function parseTarget(first: string, rest: string[], flags: Map<string, string | true>): DeployInput {
  const [service = '', version = '', ...extra] = first.split('@');
  if (extra.length > 0) throw new UsageError(`"${first}" has more than one @: write \`service@version\`, e.g. \`api@1.4.2\`.`);
  if (!service) throw new UsageError(`"${first}" has no service before the @.`);
  if (!isVersion(version)) {
    throw new UsageError(
      `"${version}" is not a version. Use a semantic version like 1.4.2 or v1.4.2, or a commit SHA (7 to 40 hex characters).`,
    );
  }
  const target = rest[0] === 'to' ? rest.slice(1) : rest;
  if (target.length === 0) throw new UsageError(`Which environment? Add it: \`/deploy ${first} to staging\`.`);
  if (target.length > 1) throw new UsageError(`Expected one environment after "to", got "${target.join(' ')}".`);
  const breakGlass = flags.get('--break-glass');
  const force = flags.get('--force');
  return {
    action: 'deploy',
    service,
    version,
    environment: target[0]!,
    queue: flags.has('--queue'),
    ...(typeof breakGlass === 'string' ? { breakGlass } : {}),
    ...(typeof force === 'string' ? { force } : {}),
  };
}

/** Turns the text after `/deploy` into an input, or says exactly what is wrong with it. */
export function parseDeploy(text: string): DeployInput {
  const parsed = extractFlags(tokenize(text), OPTIONS, ['--break-glass', '--force', '--to']);
  if ('error' in parsed) throw new UsageError(parsed.error);
  const { words, flags } = parsed;
  const [first, ...rest] = words;
  const to = flags.get('--to');
  if (first === 'rollback') {
    const others = [...flags.keys()].filter((f) => f !== '--to');
    if (others.length > 0) throw new UsageError(`${others.join(' and ')} do not go with a rollback; only --to <version> does.`);
    if (rest.length < 1 || rest.length > 2) throw new UsageError('`/deploy rollback` needs a service, then optionally an environment and --to <version>.');
    if (typeof to === 'string' && !isVersion(to)) throw new UsageError(`"${to}" is not a version to roll back to.`);
    return { action: 'rollback', service: rest[0]!, ...(rest[1] ? { environment: rest[1] } : {}), ...(typeof to === 'string' ? { to } : {}) };
  }
  if (flags.has('--to')) throw new UsageError('--to goes with a rollback: `/deploy rollback api prod --to 1.4.1`.');
  if (flags.size > 0 && (!first || !first.includes('@'))) {
    throw new UsageError(`${[...flags.keys()].join(' and ')} only go with a deploy: \`/deploy api@1.4.2 to prod --queue\`.`);
  }
  switch (first) {
    case undefined:
    case 'help':
      return { action: 'help' };
    case 'status':
      if (rest.length > 1) throw new UsageError(`\`/deploy status\` takes at most one service, got "${rest.join(' ')}".`);
      return rest[0] ? { action: 'status', service: rest[0] } : { action: 'status' };
    case 'history':
      if (rest.length < 1 || rest.length > 2) throw new UsageError('`/deploy history` needs a service and optionally an environment.');
      return { action: 'history', service: rest[0]!, ...(rest[1] ? { environment: rest[1] } : {}) };
    case 'lock':
      if (rest.length < 2) throw new UsageError('`/deploy lock` needs an environment and a reason, e.g. `/deploy lock prod api "db migration running"`.');
      return { action: 'lock', environment: rest[0]!, words: rest.slice(1) };
    case 'unlock':
      if (rest.length < 1 || rest.length > 2) throw new UsageError('`/deploy unlock` needs an environment and optionally a service.');
      return { action: 'unlock', environment: rest[0]!, ...(rest[1] ? { service: rest[1] } : {}) };
    case 'audit':
      if (rest.length > 1) throw new UsageError(`\`/deploy audit\` takes at most one service, got "${rest.join(' ')}".`);
      return rest[0] ? { action: 'audit', service: rest[0] } : { action: 'audit' };
    default:
      if (!first.includes('@')) {
        throw new UsageError(`"${first}" is not a subcommand. To deploy, name a service and a version: \`/deploy ${first}@1.4.2 to staging\`.`);
      }
      return parseTarget(first, rest, flags);
  }
}

function requireService(config: ShipmateConfig, service: string): ServiceConfig {
  const found = findService(config, service);
  if (!found) {
    const known = Object.keys(config.services).join(', ');
    throw new UsageError(`Unknown service "${service}". Services in shipmate.yml: ${known}.`);
  }
  return found;
}

function requireEnvironment(config: ShipmateConfig, service: string, environment: string): void {
  const svc = requireService(config, service);
  if (!findEnvironment(config, service, environment)) {
    const known = Object.keys(svc.environments).join(', ');
    throw new UsageError(`${service} has no environment "${environment}". Its environments: ${known}.`);
  }
}

/** Services that have the environment; an environment no service has is a typo. */
function servicesIn(config: ShipmateConfig, environment: string): string[] {
  const services = Object.keys(config.services).filter((s) => findEnvironment(config, s, environment));
  if (services.length === 0) {
    const known = [...new Set(Object.values(config.services).flatMap((s) => Object.keys(s.environments)))].join(', ');
    throw new UsageError(`No service has an environment "${environment}". Environments in shipmate.yml: ${known}.`);
  }
  return services;
}

function line(d: Deployment): DeploymentLine {
  return {
    service: d.service,
    environment: d.environment,
    version: d.version,
    status: d.status,
    requestedBy: d.requestedBy,
    at: (d.finishedAt ?? d.startedAt ?? d.createdAt).toISOString(),
    deploymentId: d.id,
    error: d.error ?? d.decisionReason,
  };
}

function neverDeployed(service: string, environment: string): DeploymentLine {
  return { service, environment, version: null, status: 'never', requestedBy: null, at: null, deploymentId: null, error: null };
}

const where = (channel: string): string => (channel.startsWith('#') ? channel : `<#${channel}>`);

async function deploy(deps: DeployCommandDeps, input: Extract<DeployInput, { action: 'deploy' }>, invocation: Invocation): Promise<Reply> {
  const { config } = deps;
  requireEnvironment(config, input.service, input.environment);
  const channel = channelFor(config, input.service, input.environment);
  const { deployment: d, duplicate, waitingFor } = await deps.deployService.request(
    {
      service: input.service,
      environment: input.environment,
      version: input.version,
      channel,
      requestKey: invocation.requestKey ?? null,
      queue: input.queue,
      ...(input.breakGlass ? { breakGlass: input.breakGlass } : {}),
      ...(input.force ? { force: input.force } : {}),
    },
    invocation.actor,
  );
  const what = `${d.service} ${d.version} to ${d.environment}`;
  if (duplicate) return { kind: 'text', text: `Deploy #${d.id} (${what}) was already requested; follow it in ${where(d.channel)}.` };
  if (d.status === 'awaiting_approval') {
    const n = d.approvalsRequired;
    return { kind: 'text', text: `Deploy #${d.id} (${what}) needs ${n} approval${n === 1 ? '' : 's'}; the request is in ${where(d.channel)}.` };
  }
  if (waitingFor) return { kind: 'text', text: `Queued deploy #${d.id} (${what}): ${waitingFor}. You'll be told in its thread in ${where(d.channel)} when it starts.` };
  return { kind: 'text', text: `Deploying ${what} (deploy #${d.id}). Follow it in ${where(d.channel)}.` };
}

async function rollback(deps: DeployCommandDeps, input: Extract<DeployInput, { action: 'rollback' }>, invocation: Invocation): Promise<Reply> {
  const svc = requireService(deps.config, input.service);
  const environments = Object.keys(svc.environments);
  const environment = input.environment ?? (environments.length === 1 ? environments[0]! : undefined);
  if (!environment) throw new UsageError(`Which environment? ${input.service} has ${environments.join(', ')}: \`/deploy rollback ${input.service} ${environments.at(-1)}\`.`);
  requireEnvironment(deps.config, input.service, environment);
  const channel = channelFor(deps.config, input.service, environment);
  const { deployment: d, duplicate, abortedCanary } = await deps.deployService.rollback(
    { service: input.service, environment, channel, requestKey: invocation.requestKey ?? null, ...(input.to ? { to: input.to } : {}) },
    invocation.actor,
  );
  if (abortedCanary) {
    const back = d.canary?.baselineVersion ? ` back to ${d.canary.baselineVersion}` : '';
    const what = d.canary?.status === 'rolled-back' ? `was already rolled back: all traffic went${back}` : duplicate ? 'is already being rolled back' : `is being rolled back: all traffic goes${back}`;
    return { kind: 'text', text: `${d.service} ${d.version} was a canary in ${d.environment} (deploy #${d.id}); it ${what}. Follow it in ${where(d.channel)}.` };
  }
  if (duplicate) return { kind: 'text', text: `A rollback of ${d.service} in ${d.environment} is already under way: deploy #${d.id} back to ${d.version}. Follow it in ${where(d.channel)}.` };
  return { kind: 'text', text: `Rolling back ${d.service} in ${d.environment} from ${d.rollbackFrom} to ${d.version} (deploy #${d.id}). Follow it in ${where(d.channel)}.` };
}

export const deployCommand = {
  name: 'deploy',
  usage: deployUsage,
  parse: parseDeploy,
  isUsageError: (error: unknown): boolean => error instanceof UsageError,

  async run(deps: DeployCommandDeps, input: DeployInput, invocation: Invocation): Promise<Reply> {
    const { config } = deps;
    switch (input.action) {
      case 'help':
        return { kind: 'text', text: `*Shipmate* deploys services from Slack.\n${deployUsage}` };
      case 'status': {
        if (input.service) requireService(config, input.service);
        const services = input.service ? [input.service] : Object.keys(config.services);
        const targets = services.flatMap((service) => Object.keys(config.services[service]!.environments).map((environment) => ({ service, environment })));
        // Deploys and locks as of one moment.
        const snapshot = deps.uow.read(() => ({ deploys: deps.deployments.latestOf(targets), locks: deps.locks.list() }));
        const latest = new Map(snapshot.deploys.map((d) => [`${d.service}/${d.environment}`, d]));
        const lines = targets.map(({ service, environment }) => {
          const d = latest.get(`${service}/${environment}`);
          return d ? line(d) : neverDeployed(service, environment);
        });
        const locks = snapshot.locks.filter((l) => !input.service || l.service === null || l.service === input.service);
        return {
          kind: 'deployments',
          title: input.service ? `Status of ${input.service}` : 'Status',
          lines,
          empty: 'No services are configured.',
          locks: locks.map((l) => ({ ...l, lockedAt: l.lockedAt.toISOString() })),
        };
      }
      case 'history': {
        if (input.environment) requireEnvironment(config, input.service, input.environment);
        else requireService(config, input.service);
        const target = input.environment ? `${input.service} in ${input.environment}` : input.service;
        return {
          kind: 'deployments',
          title: `Latest deploys of ${target}`,
          lines: deps.deployments.history(input.service, input.environment, HISTORY_LIMIT).map(line),
          empty: `${target} has not been deployed yet.`,
        };
      }
      case 'lock': {
        const services = servicesIn(config, input.environment);
        const [maybeService, ...reasonWords] = input.words;
        if (input.words.length === 1 && maybeService && services.includes(maybeService)) {
          throw new UsageError(`Give a reason for locking ${maybeService}: \`/deploy lock ${input.environment} ${maybeService} "db migration running"\`.`);
        }
        const service = maybeService && services.includes(maybeService) && reasonWords.length > 0 ? maybeService : null;
        const reason = (service ? reasonWords : input.words).join(' ');
        const lock = deps.lockService.lock(input.environment, service, reason, invocation.actor);
        const what = lock.service ? `${lock.service} in ${lock.environment}` : `${lock.environment} (every service)`;
        return { kind: 'text', text: `Locked ${what}: ${reason}. Deploys there are refused until \`/deploy unlock ${input.environment}${service ? ` ${service}` : ''}\`.` };
      }
      case 'unlock': {
        const services = servicesIn(config, input.environment);
        if (input.service) requireEnvironment(config, input.service, input.environment);
        const { lock, started } = deps.lockService.unlock(input.environment, input.service ?? null, invocation.actor, services);
        const what = lock.service ? `${lock.service} in ${lock.environment}` : lock.environment;
        return { kind: 'text', text: `Unlocked ${what}.${started > 0 ? ` ${started} queued deploy${started === 1 ? '' : 's'} started.` : ''}` };
      }
      case 'audit': {
        if (input.service) requireService(config, input.service);
        const entries = deps.audit.list(AUDIT_LIMIT, input.service);
        return {
          kind: 'audit',
          title: input.service ? `Audit trail of ${input.service}` : 'Audit trail',
          entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })),
          empty: 'Nothing recorded yet.',
        };
      }
      case 'deploy':
        return deploy(deps, input, invocation);
      case 'rollback':
        return rollback(deps, input, invocation);
    }
  },
};
