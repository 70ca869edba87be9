import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LdRollout {
  variations: { variation: number; weight: number }[];
  contextKind?: string;
  bucketBy?: string;
}
export interface LdFlagEnvironment {
  on: boolean;
  /** Serves one variation (an index into `variations`) or a percentage rollout. */
  fallthrough: { variation?: number; rollout?: LdRollout };
  offVariation: number;
  rules: unknown[];
  targets: unknown[];
  version: number;
  lastModified: number;
  _environmentName: string;
  _site: { href: string; type: string };
}
export interface LdFlag {
  key: string;
  name: string;
  kind: 'boolean' | 'multivariate';
  _version: number;
  variations: { _id: string; value: unknown; name?: string }[];
  environments: Record<string, LdFlagEnvironment>;
}

export interface LdRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A semantic patch the fake applied: the effects tests count. */
export interface AppliedPatch {
  flag: string;
  environmentKey: string;
  comment: string | undefined;
  instructions: Record<string, unknown>[];
}

export interface LdFailure {
  status: number;
  count: number;
  method?: string;
  headers?: Record<string, string>;
  /** Answered as JSON; without it, a load balancer's HTML page. */
  body?: unknown;
  /** Apply the request, then answer the failure: the answer was lost on the way back. */
  afterApplying?: boolean;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const SEMANTIC_PATCH = 'application/json; domain-model=launchdarkly.semanticpatch';
const ENV_INSTRUCTIONS = new Set(['turnFlagOn', 'turnFlagOff', 'updateFallthroughVariationOrRollout']);

const error = (status: number, code: string, message: string, headers?: Record<string, string>): Reply => ({
  status,
  body: { code, message, id: `${code}-${status}-0000` },
  headers,
});

/** What LaunchDarkly says with a status a test asks for without a body of its own. */
const CANNED: Record<number, Reply> = {
  400: error(400, 'invalid_request', 'The request cannot be understood'),
  401: error(401, 'unauthorized', 'Invalid access token'),
  403: error(403, 'forbidden', 'Access to the requested resource was denied'),
  404: error(404, 'not_found', 'Unknown resource'),
  409: error(409, 'conflict', 'The request conflicts with a concurrent request'),
  429: error(429, 'rate_limited', "You've exceeded the API rate limit. Try again later."),
};

/**
 * LaunchDarkly's REST API v2 for one project's flags, as documented: GET
 * /api/v2/flags/{projectKey}/{featureFlagKey} (with `env` to filter environments) and PATCH with a
 * semantic patch (`Content-Type: application/json; domain-model=launchdarkly.semanticpatch`,
 * instructions turnFlagOn, turnFlagOff and updateFallthroughVariationOrRollout, applied all or
 * none). Errors come as {"code", "message", "id"}: 401 for any Authorization but the token (sent
 * without "Bearer"), 403, 404, 405 where approvals are required, 400 for a JSON patch or a bad
 * instruction.
 */
export class FakeLaunchDarkly {
  readonly requests: LdRequest[] = [];
  readonly flags = new Map<string, LdFlag>();
  readonly applied: AppliedPatch[] = [];
  /** Environments the token's role may read but not change: 403. */
  readonly readOnly = new Set<string>();
  /** Environments that require approvals: changes are answered 405. */
  readonly approvalsRequired = new Set<string>();
  /** Take requests and never answer them. */
  hang = false;
  private failures: LdFailure[] = [];
  private server: Server | undefined;
  private ids = 0;

  constructor(
    private readonly token: string,
    readonly projectKey = 'web',
    readonly environmentKeys: string[] = ['production', 'staging'],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** A boolean flag, off everywhere, whose default rule serves true. */
  addBooleanFlag(key: string): LdFlag {
    const id = () => `${(++this.ids).toString(16).padStart(8, '0')}-55f6-49dd-a02f-eb24acf39d05`;
    return this.addFlag({ key, name: key, kind: 'boolean', variations: [{ _id: id(), value: true }, { _id: id(), value: false }] });
  }

  addFlag(flag: Pick<LdFlag, 'key' | 'name' | 'kind' | 'variations'>): LdFlag {
    const environments = Object.fromEntries(
      this.environmentKeys.map((env): [string, LdFlagEnvironment] => [
        env,
        {
          on: false,
          fallthrough: { variation: 0 },
          offVariation: flag.variations.length - 1,
          rules: [],
          targets: [],
          version: 1,
          lastModified: 1_700_000_000_000,
          _environmentName: env,
          _site: { href: `/${this.projectKey}/${env}/features/${flag.key}`, type: 'text/html' },
        },
      ]),
    );
    const stored: LdFlag = { ...flag, _version: 1, environments };
    this.flags.set(flag.key, stored);
    return stored;
  }

  env(flag: string, environment: string): LdFlagEnvironment {
    return this.flags.get(flag)!.environments[environment]!;
  }

  variationId(flag: string, value: unknown): string {
    return this.flags.get(flag)!.variations.find((v) => v.value === value)!._id;
  }

  /** The next `count` requests (of `method`, if given) are answered `status`. */
  failNext(failure: Omit<LdFailure, 'count'> & { count?: number }): void {
    this.failures.push({ count: 1, ...failure });
  }

  requestsTo(method: string): LdRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const url = new URL(req.url ?? '/', 'http://launchdarkly');
      const entry: LdRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        status: 0,
      };
      this.requests.push(entry);
      if (this.hang) return;
      const failure = this.failures.find((f) => f.count > 0 && (!f.method || f.method === entry.method));
      if (failure) failure.count -= 1;
      const reply = failure && !failure.afterApplying ? undefined : this.handle(entry);
      const answer = failure ? { status: failure.status, body: failure.body ?? CANNED[failure.status]?.body, headers: failure.headers } : reply!;
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

  private handle(request: LdRequest): Reply {
    if (request.headers.authorization !== this.token) return error(401, 'unauthorized', 'Invalid access token');
    const match = /^\/api\/v2\/flags\/([^/]+)\/([^/]+)$/.exec(request.path);
    if (!match) return error(404, 'not_found', 'Unknown resource');
    const [project, key] = [decodeURIComponent(match[1]!), decodeURIComponent(match[2]!)];
    const flag = project === this.projectKey ? this.flags.get(key) : undefined;
    if (!flag) return error(404, 'not_found', 'Unknown resource');
    if (request.method === 'GET') return { status: 200, body: this.represent(flag, request.query.env) };
    if (request.method !== 'PATCH') return error(405, 'method_not_allowed', 'Method not allowed');
    if (request.headers['content-type'] !== SEMANTIC_PATCH) {
      // Without the domain model the body is read as a JSON patch, which must be an array.
      return error(400, 'invalid_request', 'Invalid JSON patch: expected an array of operations');
    }
    let body: { environmentKey?: string; comment?: string; instructions?: Record<string, unknown>[] };
    try {
      body = JSON.parse(request.body) as typeof body;
    } catch {
      return error(400, 'invalid_request', 'Request body is not valid JSON');
    }
    return this.semanticPatch(flag, body);
  }

  private semanticPatch(flag: LdFlag, body: { environmentKey?: string; comment?: string; instructions?: Record<string, unknown>[] }): Reply {
    const instructions = body.instructions;
    if (!Array.isArray(instructions) || instructions.length === 0) return error(400, 'invalid_request', 'instructions are required');
    const envKey = body.environmentKey;
    if (instructions.some((i) => ENV_INSTRUCTIONS.has(String(i.kind))) && !envKey) return error(400, 'invalid_request', 'environmentKey is required');
    const env = envKey ? flag.environments[envKey] : undefined;
    if (envKey && !env) return error(404, 'not_found', `Unknown environment key: ${envKey}`);
    if (envKey && this.readOnly.has(envKey)) return error(403, 'forbidden', 'Access to the requested resource was denied');
    if (envKey && this.approvalsRequired.has(envKey)) return error(405, 'method_not_allowed', 'This flag requires approval for changes in this environment');
    // All or nothing: work on a copy, keep it only if every instruction applies.
    const next = structuredClone(env!);
    for (const instruction of instructions) {
      const problem = this.apply(flag, next, instruction);
      if (problem) return error(400, 'invalid_request', problem);
    }
    next.version += 1;
    flag.environments[envKey!] = next;
    flag._version += 1;
    this.applied.push({ flag: flag.key, environmentKey: envKey!, comment: body.comment, instructions });
    return { status: 200, body: this.represent(flag) };
  }

  /** Applies one instruction to `env`, or says why it cannot. */
  private apply(flag: LdFlag, env: LdFlagEnvironment, instruction: Record<string, unknown>): string | undefined {
    const indexOf = (id: unknown) => flag.variations.findIndex((v) => v._id === id);
    switch (instruction.kind) {
      case 'turnFlagOn':
        env.on = true;
        return undefined;
      case 'turnFlagOff':
        env.on = false;
        return undefined;
      case 'updateFallthroughVariationOrRollout': {
        if (instruction.variationId !== undefined) {
          const index = indexOf(instruction.variationId);
          if (index < 0) return `Unknown variation ID ${String(instruction.variationId)}`;
          env.fallthrough = { variation: index };
          return undefined;
        }
        const weights = instruction.rolloutWeights as Record<string, unknown> | undefined;
        if (!weights || typeof weights !== 'object') return 'updateFallthroughVariationOrRollout needs variationId or rolloutWeights';
        const variations: { variation: number; weight: number }[] = [];
        for (const [id, weight] of Object.entries(weights)) {
          const index = indexOf(id);
          if (index < 0) return `Unknown variation ID ${id}`;
          if (!Number.isInteger(weight) || (weight as number) < 0 || (weight as number) > 100_000) return `Invalid rollout weight ${String(weight)}`;
          variations.push({ variation: index, weight: weight as number });
        }
        const total = variations.reduce((sum, v) => sum + v.weight, 0);
        if (total !== 100_000) return `Rollout weights must sum to 100000, not ${total}`;
        env.fallthrough = {
          rollout: {
            variations: variations.sort((a, b) => a.variation - b.variation),
            contextKind: typeof instruction.rolloutContextKind === 'string' ? instruction.rolloutContextKind : 'user',
            ...(typeof instruction.rolloutBucketBy === 'string' ? { bucketBy: instruction.rolloutBucketBy } : {}),
          },
        };
        return undefined;
      }
      default:
        return `Unknown instruction kind ${String(instruction.kind)}`;
    }
  }

  /** The flag as GET answers it; `env` (comma-separated) keeps only those environments. */
  private represent(flag: LdFlag, env?: string): LdFlag {
    const wanted = env?.split(',').filter(Boolean);
    const environments = Object.fromEntries(Object.entries(flag.environments).filter(([key]) => !wanted || wanted.includes(key)));
    return { ...structuredClone(flag), environments: structuredClone(environments) };
  }
}

function send(res: ServerResponse, { status, body, headers }: Reply): void {
  if (body === undefined && status >= 500) {
    res.writeHead(status, { 'content-type': 'text/html', ...headers });
    res.end(`<html><body><h1>${status}</h1><p>upstream unavailable</p></body></html>`);
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}
