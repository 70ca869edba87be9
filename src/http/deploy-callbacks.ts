import type { Clock } from '../core/clock';
import type { DeployCallbacks, DeployReport } from '../core/ports';
import { signWebhook } from '../deployers/webhook-deployer';
import type { Db } from '../store/database';
import { readBody, sameText, sendJson as reply } from './http-body';
import type { OpsRoute } from './ops-routes';

/** Callbacks older than this are refused, so a captured one cannot be replayed later. */
const MAX_AGE_S = 300;
const MAX_BODY = 64 * 1024;

interface Waiter {
  resolve: (report: DeployReport | undefined) => void;
  timer: NodeJS.Timeout;
}

/**
 * The inbox of POST /deployments/callback. A report is stored in SQLite first, then handed to the
 * deploy waiting for it; a deploy that starts waiting later (after a restart) finds it stored.
 */
export function createDeployCallbacks(db: Db, clock: Clock): DeployCallbacks & { record(key: string, report: DeployReport): void } {
  const insert = db.prepare(
    'INSERT OR IGNORE INTO deploy_callbacks (idempotency_key, status, detail, received_at) VALUES (?, ?, ?, ?)',
  );
  const find = db.prepare('SELECT status, detail FROM deploy_callbacks WHERE idempotency_key = ?');
  const waiters = new Map<string, Waiter[]>();
  const stored = (key: string): DeployReport | undefined => {
    const row = find.get(key) as { status: string; detail: string | null } | undefined;
    return row && { ok: row.status === 'succeeded', detail: row.detail ?? '' };
  };
  return {
    record(key, report) {
      insert.run(key, report.ok ? 'succeeded' : 'failed', report.detail, clock().toISOString());
      const first = stored(key)!; // the first report wins; a repeated callback changes nothing
      for (const w of waiters.get(key) ?? []) {
        clearTimeout(w.timer);
        w.resolve(first);
      }
      waiters.delete(key);
    },
    wait(key, timeoutMs) {
      const already = stored(key);
      if (already) return Promise.resolve(already);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.set(key, (waiters.get(key) ?? []).filter((w) => w.timer !== timer));
          resolve(undefined);
        }, timeoutMs);
        waiters.set(key, [...(waiters.get(key) ?? []), { resolve, timer }]);
      });
    },
  };
}

/**
 * POST /deployments/callback: `{"idempotencyKey", "status": "succeeded"|"failed", "detail"?}`,
 * signed like Shipmate's own webhooks (X-Shipmate-Timestamp, X-Shipmate-Signature with the
 * target's secret). Bad signatures, old timestamps and unknown keys are refused and change nothing.
 */
export function createCallbackRoute(deps: {
  inbox: { record(key: string, report: DeployReport): void };
  /** The webhook secret of the target that deploy belongs to, if it is a webhook deploy. */
  secretFor: (idempotencyKey: string) => string | undefined;
  clock: Clock;
}): OpsRoute {
  return {
    path: '/deployments/callback',
    method: ['POST'],
    handler: async (req, res) => {
      const body = await readBody(req, MAX_BODY);
      if (body === undefined) return reply(res, 413, { error: `the body is larger than ${MAX_BODY} bytes` });
      let parsed: { idempotencyKey?: unknown; status?: unknown; detail?: unknown };
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        return reply(res, 400, { error: 'the body is not JSON' });
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return reply(res, 400, { error: 'the body must be a JSON object: {"idempotencyKey", "status", "detail"}' });
      const key = typeof parsed.idempotencyKey === 'string' ? parsed.idempotencyKey : '';
      if (parsed.status !== 'succeeded' && parsed.status !== 'failed') {
        return reply(res, 400, { error: 'status must be "succeeded" or "failed"' });
      }
      const secret = key ? deps.secretFor(key) : undefined;
      if (!secret) return reply(res, 404, { error: `no webhook deploy has the idempotency key "${key}"` });
      const timestamp = String(req.headers['x-shipmate-timestamp'] ?? '');
      const age = Math.abs(deps.clock().getTime() / 1000 - Number(timestamp));
      if (!/^\d+$/.test(timestamp) || age > MAX_AGE_S) return reply(res, 401, { error: 'X-Shipmate-Timestamp is missing or more than 5 minutes off' });
      const signature = String(req.headers['x-shipmate-signature'] ?? '');
      if (!sameText(signature, signWebhook(secret, timestamp, body))) return reply(res, 401, { error: 'X-Shipmate-Signature does not match the body' });
      const detail = typeof parsed.detail === 'string' ? parsed.detail.slice(0, 1000) : '';
      deps.inbox.record(key, { ok: parsed.status === 'succeeded', detail });
      return reply(res, 202, { accepted: true });
    },
  };
}
