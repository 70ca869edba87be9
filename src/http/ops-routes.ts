import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  /** True when ready; false, or a sentence saying why, when not. */
  check: () => boolean | string | Promise<boolean | string>;
}

export interface OpsRoute {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** /healthz (the process answers), /readyz (it can do its work), /metrics (Prometheus text). */
export function createOpsRoutes(deps: { registry: Registry; checks: ReadinessCheck[] }): OpsRoute[] {
  return [
    { path: '/healthz', method: ['GET'], handler: async (_req, res) => json(res, 200, { status: 'ok' }) },
    {
      path: '/readyz',
      method: ['GET'],
      handler: async (_req, res) => {
        const results: Record<string, boolean> = {};
        const reasons: Record<string, string> = {};
        for (const { name, check } of deps.checks) {
          try {
            const result = await check();
            results[name] = result === true;
            if (typeof result === 'string') reasons[name] = result;
          } catch {
            results[name] = false;
          }
        }
        const ready = Object.values(results).every(Boolean);
        json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: results, ...(Object.keys(reasons).length > 0 ? { reasons } : {}) });
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: async (_req, res) => {
        res.writeHead(200, { 'content-type': deps.registry.contentType });
        res.end(await deps.registry.metrics());
      },
    },
  ];
}

/**
 * Matches a route pattern as Bolt's HTTPReceiver does for custom routes: `:name` segments are
 * parameters (URL-decoded), every other segment must be equal. Undefined when it does not match.
 */
export function matchRoute(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of want.entries()) {
    const actual = got[i]!;
    if (!segment.startsWith(':')) {
      if (segment !== actual) return undefined;
      continue;
    }
    if (actual === '') return undefined;
    try {
      params[segment.slice(1)] = decodeURIComponent(actual);
    } catch {
      return undefined;
    }
  }
  return params;
}

/** Serves the routes on their own; used in Socket Mode, where Bolt runs no HTTP server of ours. */
export function opsRequestListener(routes: OpsRoute[]) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      // Node's parser lets through targets like "//" that URL refuses; answer, do not throw.
      return json(res, 400, { error: 'the request target is not a path' });
    }
    const matching = routes.map((route) => ({ route, params: matchRoute(route.path, path) })).filter((m) => m.params !== undefined);
    if (matching.length === 0) return json(res, 404, { error: `no route ${path}` });
    const found = matching.find((m) => m.route.method.includes(req.method ?? 'GET'));
    if (!found) return json(res, 405, { error: `use ${[...new Set(matching.flatMap((m) => m.route.method))].join(' or ')}` });
    void found.route.handler(Object.assign(req, { params: found.params }), res).catch(() => json(res, 500, { error: 'internal error' }));
  };
}
