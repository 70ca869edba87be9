import type { ShipmateConfig } from '../src/core/config';
import { findEnvironment, findService } from '../src/core/config';
import { activeFreeze, describeFreeze } from '../src/core/freeze-windows';
import type { UserDirectory } from '../src/core/ports';
import type { DeployPolicies } from './deploy-service';

/** The deploy rules of shipmate.yml: approvals per environment, freeze windows, who may break glass. */
export function createDeployPolicies(config: ShipmateConfig, directory: UserDirectory, extra: Pick<DeployPolicies, 'budgetExhausted'> = {}): DeployPolicies {
  const inGroups = async (userId: string, groups: readonly string[]): Promise<boolean> => {
    for (const group of groups) if ((await directory.membersOf(group)).includes(userId)) return true;
    return false;
  };
  return {
    ...extra,
    approval: (service, environment) => findEnvironment(config, service, environment)?.approval,
    freeze(service, environment, at) {
      const windows = config.freezeWindows.filter(
        (w) => (!w.environments || w.environments.includes(environment)) && (!w.services || w.services.includes(service)),
      );
      const freeze = activeFreeze(windows, at);
      return freeze && { name: freeze.name, description: describeFreeze(freeze, config.timezone) };
    },
    async mayAct(action, environment, userId) {
      const rule = Object.hasOwn(config.access, environment) ? config.access[environment]![action] : undefined;
      return !rule || rule.users.includes(userId) || inGroups(userId, rule.groups);
    },
    mayBreakGlass: async (userId) => config.breakGlass.users.includes(userId) || inGroups(userId, config.breakGlass.groups),
    groupMembers: (groupId) => directory.membersOf(groupId),
    canary(service, environment) {
      const env = findEnvironment(config, service, environment);
      if (env?.strategy !== 'canary' || !env.steps) return undefined;
      const names = env.steps.flatMap((s) => ('analysis' in s ? [s.analysis] : []));
      return { steps: env.steps, analyses: Object.fromEntries(names.map((n) => [n, config.analyses[n]!])) };
    },
    preflight(service, environment, version) {
      const svc = findService(config, service);
      if (!svc?.repository || !findEnvironment(config, service, environment)?.requireGreenChecks) return undefined;
      // Semantic versions are tags (tagPrefix + version); anything else is a commit SHA.
      const ref = /^[0-9a-f]{7,40}$/.test(version) ? version : `${svc.tagPrefix}${version.replace(/^v/, '')}`;
      return { repository: svc.repository, ref };
    },
  };
}
