import type { Clock } from '../core/clock';
import type { ShipmateConfig } from '../core/config';
import type { FlagBackend } from '../core/flags';
import { createLaunchDarklyBackend } from './launchdarkly-backend';
import { createUnleashBackend } from './unleash-backend';

/** Each flag environment's backend, built once at start-up: 'builtin' for Shipmate's own flags. */
export function createFlagBackends(config: ShipmateConfig, deps: { clock: Clock; retryDelayMs?: number }): { get(environment: string): 'builtin' | FlagBackend | undefined } {
  const backends = new Map<string, 'builtin' | FlagBackend>();
  const retry = deps.retryDelayMs !== undefined ? { retryDelayMs: deps.retryDelayMs } : {};
  for (const [environment, { backend: spec }] of Object.entries(config.flags.environments)) {
    switch (spec.type) {
      case 'builtin':
        backends.set(environment, 'builtin');
        break;
      case 'launchdarkly':
        backends.set(
          environment,
          createLaunchDarklyBackend(
            { apiUrl: spec.apiUrl, token: spec.token, projectKey: spec.projectKey, environmentKeys: { [environment]: spec.environmentKey ?? environment }, timeoutMs: spec.timeout, retries: spec.retries },
            { clock: deps.clock, ...retry },
          ),
        );
        break;
      case 'unleash':
        backends.set(
          environment,
          createUnleashBackend({ url: spec.url, token: spec.token, projectId: spec.projectId, environments: { [environment]: spec.environment ?? environment }, timeoutMs: spec.timeout, retries: spec.retries }, retry),
        );
        break;
    }
  }
  return { get: (environment) => backends.get(environment) };
}
