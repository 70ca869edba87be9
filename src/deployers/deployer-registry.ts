import type { Clock } from '../core/clock';
import type { ShipmateConfig } from '../core/config';
import { NotFoundError } from '../core/errors';
import type { Deployer, DeployerFactory } from '../core/ports';
import { createCommandDeployer } from './command-deployer';
import { createWebhookDeployer } from './webhook-deployer';

export interface DeployerDeps {
  clock: Clock;
  /** The environment command deployers inherit (PATH, HOME, ...). */
  baseEnv: Readonly<Record<string, string | undefined>>;
}

/** Builds each target's deployer from its `deploy:` block, once, at start-up. */
export function createDeployerRegistry(config: ShipmateConfig, deps: DeployerDeps): DeployerFactory {
  const deployers = new Map<string, Deployer>();
  for (const [service, svc] of Object.entries(config.services)) {
    for (const [env, target] of Object.entries(svc.environments)) {
      const spec = target.deploy;
      deployers.set(
        `${service}/${env}`,
        spec.type === 'webhook' ? createWebhookDeployer(spec, deps) : createCommandDeployer(spec, deps),
      );
    }
  }
  return {
    forTarget(service, environment) {
      const deployer = deployers.get(`${service}/${environment}`);
      if (!deployer) throw new NotFoundError(`${service} has no environment ${environment} in shipmate.yml.`);
      return deployer;
    },
  };
}
