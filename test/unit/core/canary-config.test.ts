import { parseShipmateConfig } from '../../../src/core/config';

/** A canary target `api/prod` with the given steps, one provider and one analysis. */
function canaryConfig(overrides: { steps?: unknown; deploy?: unknown; analyses?: unknown; providers?: unknown } = {}) {
  return {
    metrics: { providers: overrides.providers ?? { prom: { type: 'prometheus', url: 'http://prometheus:9090' } } },
    analyses: overrides.analyses ?? {
      health: { interval: '1m', count: 3, metrics: [{ name: 'error-rate', provider: 'prom', query: 'sum(rate(errors{service="{{service}}"}[{{window}}]))', successCondition: 'result < 0.01' }] },
    },
    services: {
      api: {
        channel: 'C0123ABCD',
        environments: { prod: { deploy: overrides.deploy ?? { type: 'command', command: './deploy.sh' }, strategy: 'canary', steps: overrides.steps ?? [{ weight: 10 }, { analysis: 'health' }, { weight: 100 }] } },
      },
    },
  };
}

const problemsOf = (raw: unknown): string[] => {
  const result = parseShipmateConfig(raw, {});
  return result.ok ? [] : result.problems;
};

describe('canary configuration', () => {
  it('accepts steps, analyses and providers, and fills in the analysis defaults', () => {
    const result = parseShipmateConfig(canaryConfig(), {});
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.services.api!.environments.prod!.steps).toEqual([{ weight: 10 }, { analysis: 'health' }, { weight: 100 }]);
    expect(result.config.analyses.health).toMatchObject({ interval: 60_000, count: 3, initialDelay: 0, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4 });
    expect(result.config.metrics.providers.prom).toMatchObject({ type: 'prometheus', timeout: 10_000 });
  });

  it.each([
    ['an unknown analysis', { steps: [{ weight: 10 }, { analysis: 'nope' }] }, 'services.api.environments.prod.steps.1.analysis: unknown analysis "nope"; declare it under analyses'],
    ['no weight step', { steps: [{ pause: '5m' }] }, 'services.api.environments.prod.steps: a canary needs at least one {weight: N} step to send traffic to the new version'],
    ['a weight over 100', { steps: [{ weight: 150 }] }, 'services.api.environments.prod.steps.0.weight: a weight is a percentage from 1 to 100'],
    ['a deployer that cannot move traffic', { deploy: { type: 'argocd', url: 'https://argocd.example.com', application: 'api', token: 't' } }, 'services.api.environments.prod.strategy: a argocd deployer cannot move traffic; canaries need one of: argo-rollouts, command, webhook'],
    ['an unknown provider', { providers: {} }, 'analyses.health.metrics.0.provider: unknown provider "prom"; declare it under metrics.providers'],
    [
      'a condition that does not parse',
      { analyses: { health: { metrics: [{ name: 'e', provider: 'prom', query: 'q', successCondition: 'result <' }] } } },
      'analyses.health.metrics.0.successCondition',
    ],
    [
      'a condition calling a function jexl does not have',
      { analyses: { health: { metrics: [{ name: 'e', provider: 'prom', query: 'q', successCondition: 'abs(result) < 0.01' }] } } },
      'analyses.health.metrics.0.successCondition: is not a valid expression (Jexl Function abs is not defined',
    ],
    [
      'a threshold metric without conditions',
      { analyses: { health: { metrics: [{ name: 'e', provider: 'prom', query: 'q' }] } } },
      'analyses.health.metrics.0: metric "e" needs successCondition or failureCondition, e.g. successCondition: "result < 0.01"',
    ],
    [
      'an unknown placeholder in a query',
      { analyses: { health: { metrics: [{ name: 'e', provider: 'prom', query: 'errors{v="{{versoin}}"}', failureCondition: 'result > 1' }] } } },
      'analyses.health.metrics.0.query: The query `errors{v="{{versoin}}"}` uses {{versoin}}, which is not known',
    ],
    [
      'a comparison on a backend without history',
      {
        providers: { prom: { type: 'web', jsonPath: '$.value' } },
        analyses: { health: { metrics: [{ name: 'p99', provider: 'prom', canaryQuery: 'http://x/{{version}}', baselineQuery: 'http://x/{{baseline_version}}' }] } },
      },
      'analyses.health.metrics.0.provider: comparison metrics need a backend with history (prometheus or datadog), not web',
    ],
  ])('refuses %s, saying what would be right', (_name, overrides, problem) => {
    const problems = problemsOf(canaryConfig(overrides));
    expect(problems.some((p) => p.startsWith(problem))).toBe(true);
  });

  it('refuses strategy: canary without steps, and steps without strategy: canary', () => {
    const raw = canaryConfig();
    const prod = raw.services.api.environments.prod as Record<string, unknown>;
    delete prod.steps;
    expect(problemsOf(raw)).toContain('services.api.environments.prod.steps: strategy: canary needs steps, e.g. [{weight: 10}, {analysis: health}, {weight: 100}]');
    const plain = canaryConfig();
    delete (plain.services.api.environments.prod as Record<string, unknown>).strategy;
    expect(problemsOf(plain)).toContain('services.api.environments.prod.steps: steps only apply to strategy: canary');
  });
});
