import { Agent, request } from 'node:http';
import {
  ACTION_APPROVE_DEPLOY,
  ACTION_PROMOTE_CANARY,
  ACTION_REJECT_DEPLOY,
  ACTION_RETRY_DEPLOY,
  ACTION_ROLLBACK_DEPLOY,
} from '../src/slack/render';
import { blockActionsBody, sign, slashCommandBody } from '../test/support/slack-requests';

export type RequestKind = 'status' | 'help' | 'deploy' | 'click';

export interface SlackRequest {
  kind: RequestKind;
  body: string;
}

const CLICKS = [ACTION_RETRY_DEPLOY, ACTION_APPROVE_DEPLOY, ACTION_ROLLBACK_DEPLOY, ACTION_PROMOTE_CANARY, ACTION_REJECT_DEPLOY];
/** Far above any deploy the run creates: the click finds nothing and is answered with an error. */
const UNKNOWN_DEPLOY_ID = 1_000_000;

/** Signs a button's value as Shipmate does when it posts the button; the identity for an app that does not sign. */
export type ValueSigner = (actionId: string, value: string) => string;

/**
 * `count` interactions in a fixed rotation: `/deploy status`, `/deploy help`, `/deploy api@1.0.N to
 * staging` (a new version each time) and a button click, its value signed by `sign` as on a button
 * Shipmate posted. `response_url`s point at the emulator.
 */
export function interactionMix(count: number, responseBase: string, firstVersion = 0, sign: ValueSigner = (_id, value) => value): SlackRequest[] {
  let version = firstVersion;
  let click = 0;
  return Array.from({ length: count }, (_, i): SlackRequest => {
    switch (i % 4) {
      case 0:
        return { kind: 'status', body: slashCommandBody('status', { responseBase }) };
      case 1:
        return { kind: 'help', body: slashCommandBody('help', { responseBase }) };
      case 2:
        return { kind: 'deploy', body: slashCommandBody(`api@1.0.${version++} to staging`, { responseBase }) };
      default: {
        const actionId = CLICKS[click % CLICKS.length]!;
        return { kind: 'click', body: blockActionsBody(actionId, sign(actionId, String(UNKNOWN_DEPLOY_ID + click++)), { responseBase }) };
      }
    }
  });
}

export interface LoadResult {
  /** Milliseconds from sending the request to the last byte of the ack, per completed request. */
  latencies: number[];
  byKind: Record<RequestKind, number[]>;
  /** Requests answered with something other than 200, or that failed or timed out. */
  failures: number;
  statuses: Record<string, number>;
  wallMs: number;
  /** Requests not sent because the time budget ran out. */
  skipped: number;
}

export interface LoadOptions {
  concurrency: number;
  /**
   * The keep-alive connections to send over, kept open between loads (Slack's stay open between
   * deliveries); without one, the load opens its own and closes them at the end.
   */
  agent?: Agent;
  /** No request is started after this many ms. */
  budgetMs: number;
  /** A request still unanswered after this is counted as failed. */
  timeoutMs: number;
}

/** POSTs one signed request to /slack/events; resolves with the status and the milliseconds it took. */
function post(agent: Agent, url: URL, body: string, timeoutMs: number): Promise<{ status: number | 'error'; ms: number }> {
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': Buffer.byteLength(body),
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': sign(body, timestamp),
  };
  return new Promise((resolve) => {
    const start = performance.now();
    const req = request({ agent, host: url.hostname, port: url.port, path: '/slack/events', method: 'POST', headers, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 'error', ms: performance.now() - start }));
      res.on('error', () => resolve({ status: 'error', ms: performance.now() - start }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve({ status: 'error', ms: performance.now() - start }));
    req.end(body);
  });
}

/**
 * Sends `requests` with at most `concurrency` in flight over keep-alive connections, as Slack's
 * delivery does, each one signed just before it leaves.
 */
export async function runLoad(appUrl: string, requests: readonly SlackRequest[], options: LoadOptions): Promise<LoadResult> {
  const url = new URL(appUrl);
  const agent = options.agent ?? new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const result: LoadResult = {
    latencies: [],
    byKind: { status: [], help: [], deploy: [], click: [] },
    failures: 0,
    statuses: {},
    wallMs: 0,
    skipped: 0,
  };
  let next = 0;
  const start = performance.now();
  const deadline = start + options.budgetMs;
  const worker = async () => {
    while (next < requests.length && performance.now() < deadline) {
      const { kind, body } = requests[next++]!;
      const { status, ms } = await post(agent, url, body, options.timeoutMs);
      result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      if (status !== 200) {
        result.failures++;
        continue;
      }
      result.latencies.push(ms);
      result.byKind[kind].push(ms);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  result.wallMs = performance.now() - start;
  result.skipped = requests.length - next;
  if (!options.agent) agent.destroy();
  return result;
}
