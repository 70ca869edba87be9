import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UnleashStrategy {
  id: string;
  name: string;
  title?: string | null;
  disabled?: boolean | null;
  featureName: string;
  sortOrder: number;
  constraints: unknown[];
  segments: number[];
  variants: unknown[];
  parameters: Record<string, string>;
}
export interface UnleashFeatureEnvironment {
  name: string;
  environment: string;
  featureName: string;
  type: string;
  enabled: boolean;
  sortOrder: number;
  variantCount: number;
  strategies: UnleashStrategy[];
}
export interface UnleashFeature {
  name: string;
  type: string;
  project: string;
  description: string;
  stale: boolean;
  impressionData: boolean;
  archived: boolean;
  createdAt: string;
  variants: unknown[];
  environments: UnleashFeatureEnvironment[];
}

export interface UnleashRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

export interface UnleashFailure {
  status: number;
  count: number;
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Apply the request, then answer the failure: the answer was lost on the way back. */
  afterApplying?: boolean;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
type Patch = { op: string; path: string; value?: unknown };

let errors = 0;
/** Unleash's error body: {"id", "name", "message", "details": [{"message", "description"}]}. */
const error = (status: number, name: string, message: string, headers?: Record<string, string>): Reply => ({
  status,
  body: { id: `b2c1e3f0-0000-4000-8000-${String(++errors).padStart(12, '0')}`, name, message, details: [{ message, description: message }] },
  headers,
});

const CANNED: Record<number, () => Reply> = {
  401: () => error(401, 'AuthenticationRequired', 'You must log in to use Unleash.'),
  403: () => error(403, 'NoAccessError', 'You don\'t have the required permissions to perform this operation.'),
  404: () => error(404, 'NotFoundError', 'Could not find the requested resource.'),
  409: () => error(409, 'NameExistsError', 'The resource already exists.'),
  429: () => error(429, 'RateLimitError', 'Too many requests, please try again later.'),
};

/**
 * The Unleash Admin API endpoints the unleash backend uses, answering as Unleash does: GET
 * /api/admin/projects/{projectId}/features/{featureName} (featureSchema, with each environment's
 * strategies), POST .../environments/{environment}/on and /off (200, no body; turning on an
 * environment without enabled strategies adds the default flexibleRollout at 100%, as Unleash
 * does), POST .../strategies and PATCH .../strategies/{strategyId} with a JSON patch. The
 * Authorization header must be the token as it is; bodies must be application/json (415
 * ContentTypeError otherwise).
 */
export class FakeUnleash {
  readonly requests: UnleashRequest[] = [];
  readonly features = new Map<string, UnleashFeature>();
  /** Every change that landed, in order: what tests count. */
  readonly changes: string[] = [];
  /** Environments with change requests on: direct changes are answered 403. */
  readonly changeRequests = new Set<string>();
  hang = false;
  private failures: UnleashFailure[] = [];
  private server: Server | undefined;
  private ids = 0;

  constructor(
    private readonly token: string,
    readonly projectId = 'default',
    readonly environmentNames: string[] = ['development', 'production'],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** A release flag, disabled everywhere and without strategies. */
  addFeature(name: string): UnleashFeature {
    const feature: UnleashFeature = {
      name,
      type: 'release',
      project: this.projectId,
      description: '',
      stale: false,
      impressionData: false,
      archived: false,
      createdAt: '2024-05-01T10:00:00.000Z',
      variants: [],
      environments: this.environmentNames.map((env, i) => ({
        name: env,
        environment: env,
        featureName: name,
        type: env === 'production' ? 'production' : 'development',
        enabled: false,
        sortOrder: i + 1,
        variantCount: 0,
        strategies: [],
      })),
    };
    this.features.set(name, feature);
    return feature;
  }

  env(feature: string, environment: string): UnleashFeatureEnvironment {
    return this.features.get(feature)!.environments.find((e) => e.name === environment)!;
  }

  /** Adds a strategy as the UI would; returns it so tests can adjust it. */
  addStrategy(feature: string, environment: string, strategy: Partial<UnleashStrategy> & { name: string }): UnleashStrategy {
    const env = this.env(feature, environment);
    const stored: UnleashStrategy = { id: this.id(), featureName: feature, sortOrder: env.strategies.length, constraints: [], segments: [], variants: [], parameters: {}, disabled: false, title: null, ...strategy };
    env.strategies.push(stored);
    return stored;
  }

  failNext(failure: Omit<UnleashFailure, 'count'> & { count?: number }): void {
    this.failures.push({ count: 1, ...failure });
  }

  requestsTo(method: string): UnleashRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const entry: UnleashRequest = { method: req.method ?? '', path: new URL(req.url ?? '/', 'http://unleash').pathname, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: 0 };
      this.requests.push(entry);
      if (this.hang) return;
      const failure = this.failures.find((f) => f.count > 0 && (!f.method || f.method === entry.method));
      if (failure) failure.count -= 1;
      const reply = failure && !failure.afterApplying ? undefined : this.handle(entry);
      const answer = failure ? { status: failure.status, body: failure.body ?? CANNED[failure.status]?.().body, headers: failure.headers } : reply!;
      entry.status = answer.status;
      send(res, answer);
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private id(): string {
    return `6f1a2b3c-4d5e-4f60-8a7b-${String(++this.ids).padStart(12, '0')}`;
  }

  private handle(request: UnleashRequest): Reply {
    if (request.headers.authorization !== this.token) return CANNED[401]!();
    const match = /^\/api\/admin\/projects\/([^/]+)\/features\/([^/]+)(?:\/environments\/([^/]+)(\/on|\/off|\/strategies(?:\/([^/]+))?)?)?$/.exec(request.path);
    if (!match) return error(404, 'NotFoundError', 'The requested path does not exist.');
    const [, project, name, envName, action, strategyId] = match.map((part) => (part === undefined ? undefined : decodeURIComponent(part)));
    const feature = project === this.projectId ? this.features.get(name!) : undefined;
    if (!feature) return error(404, 'NotFoundError', `Could not find feature flag with name ${name}`);
    if (!envName) return request.method === 'GET' ? { status: 200, body: feature } : error(405, 'NotImplementedError', 'Method not allowed');
    const env = feature.environments.find((e) => e.name === envName);
    if (!env) return error(404, 'NotFoundError', `Could not find environment ${envName} for feature ${name}`);
    if (request.method !== 'GET' && this.changeRequests.has(envName)) {
      return error(403, 'NoAccessError', 'You don\'t have the required permissions to perform this operation. To perform this action, you need the "SKIP_CHANGE_REQUEST" permission');
    }
    const bodyNeeded = action?.startsWith('/strategies') && request.method !== 'GET';
    if (bodyNeeded && !String(request.headers['content-type']).startsWith('application/json')) {
      return error(415, 'ContentTypeError', 'We do not accept the content-type you provided. Try using "application/json" instead.');
    }
    if (request.method === 'POST' && (action === '/on' || action === '/off')) return this.toggle(env, action === '/on');
    if (request.method === 'POST' && action === '/strategies') return this.createStrategy(env, request.body);
    if (request.method === 'PATCH' && strategyId) return this.patchStrategy(env, strategyId, request.body);
    return error(405, 'NotImplementedError', 'Method not allowed');
  }

  private toggle(env: UnleashFeatureEnvironment, enabled: boolean): Reply {
    // Unleash gives an environment without enabled strategies its default strategy when turned on.
    if (enabled && env.strategies.every((s) => s.disabled)) {
      env.strategies.push(this.strategy(env, { name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'default', groupId: env.featureName } }));
    }
    env.enabled = enabled;
    this.changes.push(`${env.name}: ${enabled ? 'on' : 'off'}`);
    return { status: 200 };
  }

  private createStrategy(env: UnleashFeatureEnvironment, text: string): Reply {
    const body = parse(text) as { name?: unknown; parameters?: Record<string, string>; constraints?: unknown[] } | undefined;
    if (!body || typeof body.name !== 'string') return error(400, 'ValidationError', 'Request validation failed: the name property is required.');
    const strategy = this.strategy(env, { name: body.name, parameters: body.parameters ?? {}, constraints: body.constraints ?? [] });
    env.strategies.push(strategy);
    this.changes.push(`${env.name}: add ${strategy.name} ${JSON.stringify(strategy.parameters)}`);
    return { status: 200, body: strategy };
  }

  private patchStrategy(env: UnleashFeatureEnvironment, id: string, text: string): Reply {
    const at = env.strategies.findIndex((s) => s.id === id);
    if (at < 0) return error(404, 'NotFoundError', `Could not find strategy with id ${id}`);
    const ops = parse(text);
    if (!Array.isArray(ops)) return error(400, 'ValidationError', 'Request validation failed: the body must be a list of patches.');
    const next = structuredClone(env.strategies[at]!) as unknown as Record<string, unknown>;
    for (const op of ops as Patch[]) {
      const problem = applyPatch(next, op);
      if (problem) return error(400, 'BadDataError', problem);
    }
    env.strategies[at] = next as unknown as UnleashStrategy;
    this.changes.push(`${env.name}: patch ${env.strategies[at]!.name} ${JSON.stringify(ops)}`);
    return { status: 200, body: next };
  }

  private strategy(env: UnleashFeatureEnvironment, fields: Pick<UnleashStrategy, 'name' | 'parameters'> & Partial<UnleashStrategy>): UnleashStrategy {
    return { id: this.id(), featureName: env.featureName, sortOrder: env.strategies.length, constraints: [], segments: [], variants: [], disabled: false, title: null, ...fields };
  }
}

/** RFC 6902 add, replace and remove on object members, as fast-json-patch applies them for Unleash. */
function applyPatch(document: Record<string, unknown>, { op, path, value }: Patch): string | undefined {
  const keys = path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop();
  if (last === undefined || last === '') return `Invalid path ${path}`;
  let target: unknown = document;
  for (const key of keys) target = (target as Record<string, unknown> | undefined)?.[key];
  if (typeof target !== 'object' || target === null) return `Cannot perform the operation at a path that does not exist: ${path}`;
  const parent = target as Record<string, unknown>;
  if ((op === 'replace' || op === 'remove') && !(last in parent)) return `Cannot perform the operation at a path that does not exist: ${path}`;
  if (op === 'add' || op === 'replace') parent[last] = value;
  else if (op === 'remove') delete parent[last];
  else return `Unsupported operation ${op}`;
  return undefined;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, { status, body, headers }: Reply): void {
  if (body === undefined && status >= 500) {
    res.writeHead(status, { 'content-type': 'text/html', ...headers });
    res.end(`<html><body><h1>${status}</h1><p>upstream unavailable</p></body></html>`);
    return;
  }
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}
