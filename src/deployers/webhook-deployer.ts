import { createHmac } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import type { DeploySpec } from '../core/config';
import type { Clock } from '../core/clock';
import type { Deployer, DeployOutcome, DeployRequest } from '../core/ports';
import { describeHttpError } from './describe-http-error';

type WebhookSpec = Extract<DeploySpec, { type: 'webhook' }>;

export const SIGNATURE_HEADER = 'x-shipmate-signature';
export const TIMESTAMP_HEADER = 'x-shipmate-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/**
 * `sha256=` + HMAC-SHA256 of `<timestamp>.<body>`, the scheme Slack and Stripe use: the timestamp
 * lets the receiver refuse replays, the body binds the signature to this exact payload.
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** POSTs the deploy as JSON; any 2xx answer means the target took it and finished it. */
export function createWebhookDeployer(spec: WebhookSpec, deps: { clock: Clock; http?: AxiosInstance }): Deployer {
  const http = deps.http ?? axios.create();
  return {
    async deploy(request: DeployRequest): Promise<DeployOutcome> {
      const body = JSON.stringify({
        deploymentId: request.deploymentId,
        service: request.service,
        environment: request.environment,
        version: request.version,
        requestedBy: request.requestedBy,
        idempotencyKey: request.idempotencyKey,
      });
      const timestamp = String(Math.floor(deps.clock().getTime() / 1000));
      try {
        const response = await http.post(spec.url, body, {
          timeout: spec.timeout,
          headers: {
            ...spec.headers,
            'content-type': 'application/json',
            'user-agent': 'Shipmate',
            [TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: signWebhook(spec.secret, timestamp, body),
            [IDEMPOTENCY_HEADER]: request.idempotencyKey,
          },
          transformRequest: [(data: string) => data],
          validateStatus: () => true,
          maxRedirects: 0,
          responseType: 'text',
        });
        if (response.status >= 200 && response.status < 300) {
          return { ok: true, summary: `The webhook answered ${response.status}.` };
        }
        const snippet = String(response.data ?? '').trim().slice(0, 300);
        return {
          ok: false,
          error: `the webhook ${new URL(spec.url).host} answered ${response.status}${snippet ? `: ${snippet}` : ''}`,
        };
      } catch (error) {
        return { ok: false, error: describeHttpError(error, spec.url, spec.timeout) };
      }
    },
  };
}
