import type { Clock } from '../core/clock';
import { type DeploySpec, findEnvironment, type ShipmateConfig } from '../core/config';
import { NotFoundError } from '../core/errors';
import type { DeployCallbacks, Deployer, DeployerFactory } from '../core/ports';
import { createArgocdDeployer } from './argocd-deployer';
import { createCommandDeployer } from './command-deployer';
import { createGithubActionsDeployer } from './github-actions-deployer';
import type { ProcessLauncher } from './process-launcher';
import { createWebhookDeployer } from './webhook-deployer';

export interface DeployerDeps {
  clock: Clock;
  /** The environment command deployers inherit (PATH, HOME, ...). */
  baseEnv: Readonly<Record<string, string | undefined>>;
  /** GitHub access shared with pre-flight checks. */
  github: ShipmateConfig['github'];
  /** First wait between retries of transient failures; tests make it short. */
  retryDelayMs?: number;
  /** Reports of asynchronous webhook targets. */
  callbacks?: DeployCallbacks;
  /** Starts command deployers' commands; one helper process serves every target. */
  launcher: ProcessLauncher;
}

function createDeployer(spec: DeploySpec, deps: DeployerDeps): Deployer {
  switch (spec.type) {
    case 'webhook':
      return createWebhookDeployer(spec, deps);
    case 'command':
      return createCommandDeployer(spec, deps);
    case 'github-actions':
      return createGithubActionsDeployer(spec, deps);
    case 'argocd':
      return createArgocdDeployer(spec, deps);
    // Loaded only where a target uses them: the Kubernetes client alone is about 26 MB resident.
    case 'kubernetes':
      return (require('./kubernetes-deployer') as typeof import('./kubernetes-deployer')).createKubernetesDeployer(spec, deps);
    case 'argo-rollouts':
      return (require('./argo-rollouts-deployer') as typeof import('./argo-rollouts-deployer')).createArgoRolloutsDeployer(spec, deps);
  }
}

/** Builds each target's deployer from its `deploy:` block, once, at start-up. */
export function createDeployerRegistry(
  config: ShipmateConfig,
  deps: DeployerDeps,
): DeployerFactory & { webhookSecretOf(service: string, environment: string): string | undefined; stop(): void } {
  const deployers = new Map<string, Deployer>();
  for (const [service, svc] of Object.entries(config.services)) {
    for (const [env, target] of Object.entries(svc.environments)) deployers.set(`${service}/${env}`, createDeployer(target.deploy, deps));
  }
  return {
    stop: () => deployers.forEach((d) => d.stop?.()),
    webhookSecretOf(service: string, environment: string): string | undefined {
      const spec = findEnvironment(config, service, environment)?.deploy;
      return spec?.type === 'webhook' ? spec.secret : undefined;
    },
    forTarget(service, environment) {
      const deployer = deployers.get(`${service}/${environment}`);
      if (!deployer) throw new NotFoundError(`${service} has no environment ${environment} in shipmate.yml.`);
      return deployer;
    },
  };
}
