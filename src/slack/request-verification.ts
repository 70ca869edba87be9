import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPModuleFunctions, type HTTPReceiver } from '@slack/bolt';
import type { Clock } from '../core/clock';
import { sameText } from '../http/http-body';

/** Slack's window: a request stamped more than this before or after now is a replay (or a forgery). */
const MAX_SKEW_S = 300;

/**
 * Why a request to /slack/events is not Slack's, or undefined when it is: Slack's v0 scheme
 * (https://api.slack.com/authentication/verifying-requests-from-slack), against our clock, in
 * both directions. Bolt's own check only refuses stamps from the past, and only by its clock.
 */
export function slackSignatureProblem(o: { signingSecret: string; body: string; timestamp: unknown; signature: unknown; now: Date }): string | undefined {
  if (typeof o.timestamp !== 'string' || !/^\d{1,12}$/.test(o.timestamp)) return 'X-Slack-Request-Timestamp is missing';
  if (Math.abs(o.now.getTime() / 1000 - Number(o.timestamp)) > MAX_SKEW_S) return 'X-Slack-Request-Timestamp is more than 5 minutes off';
  const expected = `v0=${createHmac('sha256', o.signingSecret).update(`v0:${o.timestamp}:${o.body}`).digest('hex')}`;
  if (typeof o.signature !== 'string' || !sameText(o.signature, expected)) return 'X-Slack-Signature is missing or wrong';
  return undefined;
}

/**
 * Checks every POST to the receiver's events endpoint before Bolt sees it (Bolt's own check is
 * off: it reads the system clock and lets stamps from the future through). A refused request is
 * answered 401 with no body and goes no further; other paths (health, webhooks, OFREP) pass.
 * The answers to accepted ones (acks that carry a command's reply) go out through `outgoing`.
 */
export function verifySlackRequests(
  receiver: HTTPReceiver,
  deps: { signingSecret: string; clock: Clock; endpoint: string; log: { warn(obj: object, msg: string): void }; outgoing: (body: string) => string },
): void {
  const listener = receiver.requestListener;
  const refuse = (res: ServerResponse, status: number): void => {
    res.writeHead(status);
    res.end();
  };
  const verify = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let buffered: Awaited<ReturnType<typeof HTTPModuleFunctions.bufferIncomingMessage>>;
    try {
      buffered = await HTTPModuleFunctions.bufferIncomingMessage(req, HTTPModuleFunctions.defaultBodyLimit);
    } catch (error) {
      return refuse(res, HTTPModuleFunctions.isRawBodyError(error) && error.statusCode === 413 ? 413 : 400);
    }
    const body = buffered.rawBody.toString('utf8');
    // Slack's SSL check is unsigned; only the check itself goes on, nothing smuggled beside it. The
    // body is parsed only when it may be one: a button click's payload is kilobytes of JSON.
    const form = req.headers['content-type'] === 'application/x-www-form-urlencoded';
    if (form && body.includes('ssl_check=') && new URLSearchParams(body).get('ssl_check') === '1') {
      buffered.rawBody = Buffer.from('ssl_check=1');
      return listener(buffered, res);
    }
    const problem = slackSignatureProblem({
      signingSecret: deps.signingSecret,
      body,
      timestamp: req.headers['x-slack-request-timestamp'],
      signature: req.headers['x-slack-signature'],
      now: deps.clock(),
    });
    if (problem) {
      deps.log.warn({ problem }, 'refused a request to the Slack endpoint that Slack did not sign');
      return refuse(res, 401);
    }
    // Bolt answers with one end(body) and no Content-Length, so the body may change length.
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => end(typeof chunk === 'string' ? deps.outgoing(chunk) : chunk, ...rest)) as typeof res.end;
    listener(buffered, res);
  };
  receiver.requestListener = (req, res) => {
    // The very test Bolt routes by, so nothing reaches its events handler around this one.
    let path: string | undefined;
    try {
      path = new URL(req.url ?? '', 'http://localhost').pathname;
    } catch {
      path = undefined;
    }
    if (req.method?.toUpperCase() !== 'POST' || path !== deps.endpoint) return listener(req, res);
    void verify(req, res).catch(() => {
      if (!res.headersSent) refuse(res, 500);
      else res.end();
    });
  };
}
