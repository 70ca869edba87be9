import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the controller does with a sync once it picks it up, counted in GETs of the application. */
export type AfterSync =
  /** `progressingPolls`: after the sync succeeds, health stays Progressing that many more GETs (pods rolling). */
  /** `drifts`: the sync succeeds but a live resource still differs (a mutating webhook), so the app stays OutOfSync. */
  | { result: 'healthy'; afterPolls?: number; progressingPolls?: number; drifts?: boolean }
  | { result: 'degraded'; afterPolls?: number; message?: string }
  | { result: 'failed'; afterPolls?: number; message?: string }
  /** Stays Running and Progressing forever: the deploy times out. */
  | { result: 'never' };

export interface ArgoRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
  status: number;
}

// Argo's Application JSON, loosely: tests reach into it freely.
type Json = Record<string, any>;

/** RFC 7386 JSON merge patch, as Argo CD applies `patchType: merge`. */
function mergePatch(target: unknown, patch: unknown): unknown {
  const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(patch)) return patch;
  const result: Json = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

const clone = <T>(value: T): T => structuredClone(value);
/** A commit SHA for a revision, as Argo resolves a tag or branch. */
export const shaOf = (revision: string) => createHash('sha1').update(revision).digest('hex');

/** A Helm application, deployed and healthy at image.tag 1.4.1 from the main branch. */
export function helmApplication(name: string): Json {
  const source = {
    repoURL: 'https://github.com/acme/deploy.git',
    path: `charts/${name}`,
    targetRevision: 'main',
    helm: { parameters: [{ name: 'replicaCount', value: '3' }, { name: 'image.tag', value: '1.4.1' }], valueFiles: ['values-prod.yaml'] },
  };
  const destination = { server: 'https://kubernetes.default.svc', namespace: name };
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: 'argocd', resourceVersion: '1000', uid: 'a1b2c3' },
    spec: { project: 'default', source, destination, syncPolicy: { syncOptions: ['CreateNamespace=true'] } },
    status: {
      sourceType: 'Helm',
      sync: { status: 'Synced', revision: shaOf('main'), comparedTo: { source: clone(source), destination } },
      health: { status: 'Healthy' },
      operationState: {
        operation: { sync: { revision: shaOf('main') }, initiatedBy: { username: 'admin' } },
        phase: 'Succeeded',
        message: 'successfully synced (all tasks run)',
        startedAt: '2024-05-01T10:00:00Z',
        finishedAt: '2024-05-01T10:00:30Z',
        syncResult: { revision: shaOf('main'), source: clone(source), resources: [] },
      },
      resources: [{ group: 'apps', version: 'v1', kind: 'Deployment', namespace: name, name, status: 'Synced', health: { status: 'Healthy' } }],
    },
  };
}

/**
 * The Argo CD API endpoints the argocd deployer uses, answering with Argo's JSON shapes and its
 * grpc-gateway error bodies ({"error", "code", "message"}): GET and PATCH
 * /api/v1/applications/{name}, POST /api/v1/applications/{name}/sync. It holds one Application in
 * memory, checks the bearer token, and plays `afterSync` once a sync operation starts.
 */
export class FakeArgoCD {
  app: Json;
  afterSync: AfterSync = { result: 'healthy', afterPolls: 2 };
  readonly requests: ArgoRequest[] = [];
  /** Accepted sync requests, as sent. */
  readonly syncs: Json[] = [];
  /** Actions the token's project role may not perform: answered 403. */
  readonly denied = new Set<'get' | 'update' | 'sync'>();
  private failures: { status: number; method: string | undefined; left: number }[] = [];
  private pending: { polls: number; source: Json; revision: string } | undefined;
  private rollingPolls = 0;
  private server: Server | undefined;

  constructor(
    private readonly token: string,
    readonly name = 'api',
  ) {
    this.app = helmApplication(name);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** The next `count` requests (of `method`, if given) get `status` from a proxy in front of Argo CD. */
  failNext(status: number, count = 1, method?: string): void {
    this.failures.push({ status, method, left: count });
  }

  /** An operation already running, as after a sync requested just before a crash. */
  startOperation(): void {
    const source = clone(this.app.spec.source);
    this.app.operation = { sync: { revision: shaOf(source.targetRevision ?? 'HEAD') }, initiatedBy: { username: 'shipmate' } };
    this.app.status.operationState = null;
    this.pending = { polls: 0, source, revision: source.targetRevision ?? 'HEAD' };
    this.rollingPolls = 0;
  }

  requestsTo(method: string, suffix = ''): ArgoRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === `/api/v1/applications/${this.name}${suffix}`);
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const entry: ArgoRequest = { method: req.method ?? '', path, authorization: req.headers.authorization, body: Buffer.concat(chunks).toString('utf8'), status: 0 };
      this.requests.push(entry);
      const reply = (status: number, body: unknown) => {
        entry.status = status;
        send(res, status, body);
      };
      const failure = this.failures.find((f) => f.left > 0 && (!f.method || f.method === entry.method));
      if (failure) {
        failure.left -= 1;
        entry.status = failure.status;
        res.writeHead(failure.status, { 'content-type': 'text/html' });
        return res.end(`<html><body><h1>${failure.status}</h1><p>upstream unavailable</p></body></html>`);
      }
      this.handle(entry, reply);
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private handle(req: ArgoRequest, reply: (status: number, body: unknown) => void): void {
    const error = (status: number, code: number, message: string) => reply(status, { error: message, code, message });
    if (!req.authorization?.startsWith('Bearer ')) return error(401, 16, 'no session information');
    if (req.authorization !== `Bearer ${this.token}`) return error(401, 16, 'invalid session: token signature is invalid');
    const match = /^\/api\/v1\/applications\/([^/]+)(\/sync)?$/.exec(req.path);
    if (!match) return reply(404, '404 page not found');
    const name = decodeURIComponent(match[1]!);
    const action = match[2] ? 'sync' : req.method === 'GET' ? 'get' : 'update';
    const rbac = `${action}, default/${name}, sub: proj:default:shipmate, iat: 2024-05-01T09:00:00Z`;
    if (this.denied.has(action)) return error(403, 7, `permission denied: applications, ${rbac}`);
    if (name !== this.name) return error(404, 5, `applications.argoproj.io "${name}" not found`);

    if (req.method === 'GET' && !match[2]) {
      this.advance();
      return reply(200, this.app);
    }
    if (req.method === 'PATCH' && !match[2]) {
      const body = JSON.parse(req.body) as { name?: string; patch?: string; patchType?: string };
      if (body.patchType !== 'merge') return error(400, 3, `Patch type '${body.patchType ?? ''}' is not supported`);
      this.app = mergePatch(this.app, JSON.parse(body.patch ?? '{}')) as Json;
      // The controller notices the spec changed and compares again.
      this.app.status.sync = { status: 'OutOfSync', revision: this.app.status.sync.revision, comparedTo: { source: clone(this.app.spec.source), destination: this.app.spec.destination } };
      // With an automated sync policy the controller starts syncing the new spec by itself.
      if (this.app.spec.syncPolicy?.automated && !this.app.operation) this.startOperation();
      return reply(200, this.app);
    }
    if (req.method === 'POST' && match[2]) {
      const body = JSON.parse(req.body || '{}') as Json;
      if (this.app.operation) return error(400, 9, 'another operation is already in progress');
      const target = this.app.spec.source.targetRevision || 'HEAD';
      if (this.app.spec.syncPolicy?.automated && body.revision && body.revision !== target) {
        return error(400, 9, `Cannot sync to ${body.revision}: auto-sync currently set to ${this.app.spec.source.targetRevision}`);
      }
      this.syncs.push(body);
      const revision = body.revision || target;
      this.app.operation = { sync: { revision: shaOf(revision), prune: body.prune ?? false }, initiatedBy: { username: 'shipmate' } };
      this.app.status.operationState = null;
      this.pending = { polls: 0, source: clone(this.app.spec.source), revision };
      this.rollingPolls = 0;
      return reply(200, this.app);
    }
    return error(501, 12, 'Method Not Allowed');
  }

  /** One reconciliation per GET: the controller picks the operation up, then finishes it as scripted. */
  private advance(): void {
    const pending = this.pending;
    if (!pending) {
      if (this.rollingPolls > 0 && (this.rollingPolls -= 1) === 0) this.setHealth('Healthy');
      return;
    }
    pending.polls += 1;
    const status = this.app.status;
    const operation = this.app.operation;
    const sha = shaOf(pending.revision);
    const script = this.afterSync;
    const done = script.result !== 'never' && pending.polls > (script.afterPolls ?? 2);
    this.setHealth('Progressing');
    // Argo records what it syncs (revision and source) as soon as it starts.
    const syncResult = { revision: sha, source: pending.source, resources: [] };
    status.operationState = { operation, phase: 'Running', message: 'waiting for healthy state of apps/Deployment/api', startedAt: '2024-05-01T11:00:00Z', syncResult };
    if (!done) return;
    this.pending = undefined;
    delete this.app.operation;
    const finished = { ...status.operationState, finishedAt: '2024-05-01T11:01:00Z' };
    if (script.result === 'failed') {
      status.operationState = { ...finished, phase: 'Failed', message: script.message ?? 'one or more objects failed to apply, reason: Deployment.apps "api" is invalid' };
      status.health = { status: 'Healthy' };
      return;
    }
    status.operationState = { ...finished, phase: 'Succeeded', message: 'successfully synced (all tasks run)' };
    // Compared with the spec as it is now, which may have changed while the operation ran.
    const current = this.app.spec.source;
    const synced = JSON.stringify(current) === JSON.stringify(pending.source) && !(script.result === 'healthy' && script.drifts);
    status.sync = { status: synced ? 'Synced' : 'OutOfSync', revision: sha, comparedTo: { source: clone(current), destination: this.app.spec.destination } };
    if (script.result === 'degraded') this.setHealth('Degraded', script.message ?? 'Deployment "api" exceeded its progress deadline');
    else if (script.progressingPolls) this.rollingPolls = script.progressingPolls;
    else this.setHealth('Healthy');
  }

  private setHealth(health: string, message?: string): void {
    this.app.status.health = { status: health };
    this.app.status.resources[0].health = { status: health, ...(message ? { message } : {}) };
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
