import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Shipmate's own metrics, served at GET /metrics. One registry per app, so tests can run several. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'shipmate_' });
  return {
    registry,
    deploys: new Counter({
      name: 'shipmate_deploys_total',
      help: 'Deploys that finished, by service, environment and outcome (succeeded or failed).',
      labelNames: ['service', 'environment', 'outcome'] as const,
      registers: [registry],
    }),
    commandDuration: new Histogram({
      name: 'shipmate_command_duration_seconds',
      help: 'Time from receiving a slash command or button click to acknowledging it.',
      labelNames: ['command', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    slackApiErrors: new Counter({
      name: 'shipmate_slack_api_errors_total',
      help: 'Slack Web API calls that failed, by method and error.',
      labelNames: ['method', 'error'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
