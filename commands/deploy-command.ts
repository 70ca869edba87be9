import semver from 'semver';
import { channelFor, findEnvironment, findService, type ServiceConfig, type ShipmateConfig } from '../src/core/config';
import { ValidationError } from '../src/core/errors';
import type { DeploymentStore } from '../src/core/ports';
import type { Actor, Deployment } from '../src/core/types';
import type { DeployService } from '../flows/deploy-service';
import type { DeploymentLine, Reply } from './reply';

export const deployUsage = [
  '`/deploy <service>@<version> to <environment>`  deploy a version, e.g. `/deploy api@1.4.2 to staging`',
  '`/deploy status [service]`  what runs where',
  '`/deploy history <service> [environment]`  the latest deploys',
  '`/deploy help`  this text',
].join('\n');

export type DeployInput =
  | { action: 'deploy'; service: string; version: string; environment: string }
  | { action: 'status'; service?: string }
  | { action: 'history'; service: string; environment?: string }
  | { action: 'help' };

export interface DeployCommandDeps {
  config: ShipmateConfig;
  deployments: DeploymentStore;
  deployService: DeployService;
}

export interface Invocation {
  actor: Actor;
  /** Identifies the request (Slack's trigger_id): the same one twice starts one deploy. */
  requestKey?: string;
}

const HISTORY_LIMIT = 10;

/** A semantic version (optionally with a leading v) or a git commit SHA. */
export function isVersion(text: string): boolean {
  return semver.valid(text) !== null || /^[0-9a-f]{7,40}$/.test(text);
}

class UsageError extends ValidationError {}

/** Turns the text after `/deploy` into an input, or says exactly what is wrong with it. */
export function parseDeploy(text: string): DeployInput {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [first, ...rest] = words;
  if (!first || first === 'help') return { action: 'help' };
  if (first === 'status') {
    if (rest.length > 1) throw new UsageError(`\`/deploy status\` takes at most one service, got "${rest.join(' ')}".`);
    return rest[0] ? { action: 'status', service: rest[0] } : { action: 'status' };
  }
  if (first === 'history') {
    if (rest.length < 1 || rest.length > 2) throw new UsageError('`/deploy history` needs a service and optionally an environment.');
    return { action: 'history', service: rest[0]!, ...(rest[1] ? { environment: rest[1] } : {}) };
  }
  if (!first.includes('@')) {
    throw new UsageError(`"${first}" is not a subcommand. To deploy, name a service and a version: \`/deploy ${first}@1.4.2 to staging\`.`);
  }
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
  return { action: 'deploy', service, version, environment: target[0]! };
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

function line(d: Deployment): DeploymentLine {
  return {
    service: d.service,
    environment: d.environment,
    version: d.version,
    status: d.status,
    requestedBy: d.requestedBy,
    at: (d.finishedAt ?? d.startedAt ?? d.createdAt).toISOString(),
    deploymentId: d.id,
    error: d.error,
  };
}

function neverDeployed(service: string, environment: string): DeploymentLine {
  return { service, environment, version: null, status: 'never', requestedBy: null, at: null, deploymentId: null, error: null };
}

export const deployCommand = {
  name: 'deploy',
  usage: deployUsage,
  parse: parseDeploy,
  isUsageError: (error: unknown): boolean => error instanceof UsageError,

  run(deps: DeployCommandDeps, input: DeployInput, invocation: Invocation): Reply {
    const { config } = deps;
    switch (input.action) {
      case 'help':
        return { kind: 'text', text: `*Shipmate* deploys services from Slack.\n${deployUsage}` };
      case 'status': {
        if (input.service) requireService(config, input.service);
        const latest = new Map(deps.deployments.latestPerTarget(input.service).map((d) => [`${d.service}/${d.environment}`, d]));
        const services = input.service ? [input.service] : Object.keys(config.services);
        const lines = services.flatMap((service) =>
          Object.keys(config.services[service]!.environments).map((env) => {
            const d = latest.get(`${service}/${env}`);
            return d ? line(d) : neverDeployed(service, env);
          }),
        );
        return { kind: 'deployments', title: input.service ? `Status of ${input.service}` : 'Status', lines, empty: 'No services are configured.' };
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
      case 'deploy': {
        requireEnvironment(config, input.service, input.environment);
        const channel = channelFor(config, input.service, input.environment);
        const { deployment, duplicate } = deps.deployService.request(
          { service: input.service, environment: input.environment, version: input.version, channel, requestKey: invocation.requestKey ?? null },
          invocation.actor,
        );
        const where = channel.startsWith('#') ? channel : `<#${channel}>`;
        const what = `${deployment.service} ${deployment.version} to ${deployment.environment}`;
        return {
          kind: 'text',
          text: duplicate
            ? `Deploy #${deployment.id} (${what}) was already requested; follow it in ${where}.`
            : `Deploying ${what} (deploy #${deployment.id}). Follow it in ${where}.`,
        };
      }
    }
  },
};
