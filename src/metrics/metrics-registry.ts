import type { MetricsProviders } from '../../flows/canary-effects';
import type { MetricsProviderSpec } from '../core/canary-config';
import type { Clock } from '../core/clock';
import type { ShipmateConfig } from '../core/config';
import type { InstantMetricsProvider, MetricsProvider } from '../core/metrics';
import { createDatadogProvider } from './datadog-provider';
import { createPrometheusProvider } from './prometheus-provider';
import { createWebProvider } from './web-provider';

function createProvider(name: string, spec: MetricsProviderSpec, clock: Clock): InstantMetricsProvider | MetricsProvider {
  switch (spec.type) {
    case 'prometheus':
      return createPrometheusProvider({ url: spec.url, headers: spec.headers, timeoutMs: spec.timeout, name: `${name} (Prometheus)`, ...(spec.auth ? { auth: spec.auth } : {}) });
    case 'datadog':
      return createDatadogProvider({ site: spec.site, apiKey: spec.apiKey, appKey: spec.appKey, timeoutMs: spec.timeout, ...(spec.url ? { url: spec.url } : {}) }, { clock });
    case 'web':
      return createWebProvider({ jsonPath: spec.jsonPath, headers: spec.headers, timeoutMs: spec.timeout, ...(spec.auth ? { auth: spec.auth } : {}) });
  }
}

/** Builds each `metrics.providers` entry once, at start-up. */
export function createMetricsProviders(config: ShipmateConfig, deps: { clock: Clock }): MetricsProviders {
  const providers = new Map(
    Object.entries(config.metrics.providers).map(([name, spec]) => [name, { provider: createProvider(name, spec, deps.clock), encodeValues: spec.type === 'web' }]),
  );
  return { get: (name) => providers.get(name) };
}
