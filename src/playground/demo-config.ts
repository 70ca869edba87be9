/** The playground's workspace: its people and channels, and a shipmate.yml with demo services. */

export const PLAYGROUND_USERS = [
  { id: 'U0ALICE', name: 'alice (engineer)' },
  { id: 'U0BOBBY', name: 'bob (approver)' },
  { id: 'U0CAROL', name: 'carol (on-call)' },
] as const;

export const PLAYGROUND_CHANNELS = [
  { id: 'C0DEPLOYS', name: '#deploys' },
  { id: 'C0INCIDENTS', name: '#incidents' },
  { id: 'C0FLAGS', name: '#flags' },
] as const;

export interface DemoConfigInput {
  /** The demo metrics source canary analyses read (a web provider). */
  metricsUrl: string;
  /** node, and the demo deploy script it runs. */
  deployCommand: string;
  deployScript: string;
  deployDelayMs: number;
  analysisIntervalMs: number;
  alertmanagerToken: string;
}

/**
 * Three services deployed by a local command: web runs canaries in prod (analysed against the
 * demo metrics: a version with "bad" in it burns and rolls back, "nodata" pauses), prod needs
 * bob's approval, and flags live in Shipmate itself.
 */
export function demoConfig(input: DemoConfigInput): string {
  const deploy = `{ type: command, command: ${JSON.stringify(input.deployCommand)}, args: [${JSON.stringify(input.deployScript)}], env: { DEMO_DELAY_MS: "${input.deployDelayMs}" }, timeout: 1m }`;
  const approval = '{ required: 1, approvers: { users: [U0BOBBY] } }';
  return `# Written by \`shipmate playground\` at each start.
defaults: { channel: C0DEPLOYS }
breakGlass: { users: [U0CAROL] }
metrics:
  providers:
    demo: { type: web, jsonPath: "$.value", timeout: 5s }
analyses:
  health:
    interval: ${input.analysisIntervalMs}ms
    count: 3
    metrics:
      - name: error-rate
        provider: demo
        query: "${input.metricsUrl}?service={{service}}&version={{version}}"
        successCondition: result < 0.02
        failureCondition: result >= 0.05
slo: { channel: C0INCIDENTS }
alertmanager: { token: ${input.alertmanagerToken} }
flags:
  channel: C0FLAGS
  environments:
    staging: { ofrepKey: playground-ofrep-staging-key }
    prod: { ofrepKey: playground-ofrep-prod-key-0, approval: ${approval} }
services:
  web:
    description: Storefront
    flags: [new-checkout]
    environments:
      staging: { deploy: ${deploy} }
      prod:
        deploy: ${deploy}
        approval: ${approval}
        strategy: canary
        steps: [{ weight: 10 }, { analysis: health }, { weight: 50 }, { analysis: health }, { weight: 100 }]
  api:
    description: Public REST API
    environments:
      staging: { deploy: ${deploy} }
      prod: { deploy: ${deploy}, approval: ${approval} }
  worker:
    dependsOn: [api]
    environments:
      staging: { deploy: ${deploy} }
      prod: { deploy: ${deploy} }
`;
}
