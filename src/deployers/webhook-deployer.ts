import { createHmac } from 'node:crypto';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { Clock } from '../core/clock';
import type { WebhookSpec } from '../core/deploy-specs';
import type { DeployCallbacks, Deployer, DeployOutcome, DeployRequest } from '../core/ports';
import { formatDuration } from '../core/format-duration';
import { describeHttpError } from './describe-http-error';
import { isTransient, PollTimeoutError, pollUntil, retryTransient } from './retry';

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

export interface WebhookDeployerDeps {
  clock: Clock;
  http?: AxiosInstance;
  /** Where completion: callback deploys wait for the target's report. */
  callbacks?: DeployCallbacks;
  retryDelayMs?: number;
}

class HttpStatusError extends Error {
  constructor(readonly response: AxiosResponse) {
    super(`HTTP ${response.status}`);
  }
  get status(): number {
    return this.response.status;
  }
}

const fill = (template: string, request: DeployRequest): string =>
  template.replace(/\{\{(deploymentId|idempotencyKey)\}\}/g, (_m, name: 'deploymentId' | 'idempotencyKey') => encodeURIComponent(String(request[name])));

/**
 * POSTs the deploy as JSON. With completion: sync, any 2xx means done. With callback or poll the
 * target answers 202 and reports later: to POST /deployments/callback, or at a status URL that
 * Shipmate polls. 5xx answers and dropped connections are retried with backoff; the
 * Idempotency-Key header lets the target do the work once however often it is asked.
 */
export function createWebhookDeployer(spec: WebhookSpec, deps: WebhookDeployerDeps): Deployer {
  const http = deps.http ?? axios.create();
  const host = new URL(spec.url).host;

  const signed = (request: DeployRequest, body: string) => {
    const timestamp = String(Math.floor(deps.clock().getTime() / 1000));
    return {
      ...spec.headers,
      'content-type': 'application/json',
      'user-agent': 'Shipmate',
      [TIMESTAMP_HEADER]: timestamp,
      [SIGNATURE_HEADER]: signWebhook(spec.secret, timestamp, body),
      [IDEMPOTENCY_HEADER]: request.idempotencyKey,
    };
  };

  /** One call, retried while it fails transiently (a 5xx answer counts); other answers come back as they are. */
  const call = (method: 'post' | 'get', url: string, request: DeployRequest, body = '') =>
    retryTransient(
      async () => {
        const response = await http.request({
          method,
          url,
          data: method === 'post' ? body : undefined,
          timeout: spec.timeout,
          headers: signed(request, body),
          transformRequest: [(data: string) => data],
          validateStatus: () => true,
          maxRedirects: 0,
          responseType: 'text',
        });
        if (isTransient({ status: response.status })) throw new HttpStatusError(response);
        return response;
      },
      { retries: spec.retries, ...(deps.retryDelayMs !== undefined ? { initialDelayMs: deps.retryDelayMs } : {}) },
    ).catch((error: unknown) => {
      if (error instanceof HttpStatusError) return error.response;
      throw error;
    });

  const refused = (response: AxiosResponse): DeployOutcome => {
    const snippet = String(response.data ?? '').trim().slice(0, 300);
    return { ok: false, error: `the webhook ${host} answered ${response.status}${snippet ? `: ${snippet}` : ''}` };
  };

  const polled = async (request: DeployRequest, accepted: AxiosResponse): Promise<DeployOutcome> => {
    const location = typeof accepted.headers.location === 'string' ? new URL(accepted.headers.location, spec.url).toString() : undefined;
    const statusUrl = spec.statusUrl ? fill(spec.statusUrl, request) : location;
    if (!statusUrl) return { ok: false, error: `the webhook ${host} accepted the deploy but gave no Location header, and statusUrl is not set` };
    const report = await pollUntil(
      async () => {
        const response = await call('get', statusUrl, request);
        if (response.status === 404) return undefined; // not there yet
        if (response.status < 200 || response.status >= 300) throw new Error(`the status URL answered ${response.status}`);
        const body = JSON.parse(String(response.data)) as { status?: string; detail?: string };
        if (body.status === 'succeeded' || body.status === 'failed') return { ok: body.status === 'succeeded', detail: body.detail ?? '' };
        return undefined;
      },
      { intervalMs: spec.pollInterval, timeoutMs: spec.timeout, what: `the deploy at ${host}` },
    );
    return report.ok ? { ok: true, summary: `${host} reported success. ${report.detail}`.trim() } : { ok: false, error: `${host} reported failure${report.detail ? `: ${report.detail}` : ''}` };
  };

  const calledBack = async (request: DeployRequest): Promise<DeployOutcome> => {
    if (!deps.callbacks) return { ok: false, error: 'completion: callback needs the callback endpoint, which is not running' };
    const report = await deps.callbacks.wait(request.idempotencyKey, spec.timeout);
    if (!report) return { ok: false, error: `${host} accepted the deploy but did not call back within ${formatDuration(spec.timeout)}` };
    return report.ok ? { ok: true, summary: `${host} reported success. ${report.detail}`.trim() } : { ok: false, error: `${host} reported failure${report.detail ? `: ${report.detail}` : ''}` };
  };

  return {
    async deploy(request: DeployRequest): Promise<DeployOutcome> {
      const body = JSON.stringify({
        deploymentId: request.deploymentId,
        service: request.service,
        environment: request.environment,
        version: request.version,
        requestedBy: request.requestedBy,
        idempotencyKey: request.idempotencyKey,
        ...(request.canary ? { weight: request.canary.weight, baselineVersion: request.canary.baselineVersion } : {}),
      });
      try {
        const response = await call('post', spec.url, request, body);
        if (response.status < 200 || response.status >= 300) return refused(response);
        if (spec.completion === 'sync') return { ok: true, summary: `The webhook answered ${response.status}.` };
        return spec.completion === 'poll' ? await polled(request, response) : await calledBack(request);
      } catch (error) {
        if (error instanceof PollTimeoutError) return { ok: false, error: `${host} accepted the deploy but it did not finish within ${formatDuration(spec.timeout)}` };
        return { ok: false, error: describeHttpError(error, spec.url, spec.timeout) };
      }
    },
  };
}
