import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { Clock } from '../core/clock';
import type { ArgocdSpec } from '../core/deploy-specs';
import { formatDuration } from '../core/format-duration';
import type { Deployer, DeployOutcome, DeployRequest } from '../core/ports';
import { describeHttpError } from './describe-http-error';
import { isTransient, PollTimeoutError, pollUntil, retryTransient } from './retry';

/** The parts of Argo CD's Application JSON (argoproj.io/v1alpha1) this deployer reads and writes. */
interface HelmParameter {
  name: string;
  value?: string;
  forceString?: boolean;
}
interface AppSource {
  targetRevision?: string;
  helm?: { parameters?: HelmParameter[] };
}
interface OperationState {
  phase?: 'Running' | 'Terminating' | 'Succeeded' | 'Failed' | 'Error';
  message?: string;
  syncResult?: { revision?: string; source?: AppSource };
}
interface Application {
  spec?: { source?: AppSource; sources?: AppSource[] };
  /** Set while an operation is requested or running; the controller clears it when done. */
  operation?: unknown;
  status?: {
    sourceType?: string;
    sync?: { status?: string; revision?: string; comparedTo?: { source?: AppSource } };
    health?: { status?: string; message?: string };
    operationState?: OperationState;
    resources?: { kind?: string; namespace?: string; name?: string; health?: { status?: string; message?: string } }[];
  };
}

export interface ArgocdDeployerDeps {
  clock: Clock;
  http?: AxiosInstance;
  retryDelayMs?: number;
}

/** Argo CD refused a request; `message` is Argo's own (its JSON error body), never our headers. */
class ArgoRefusal extends Error {
  constructor(
    readonly status: number,
    readonly argoMessage: string,
    readonly grpcCode: number | undefined,
    readonly what: string,
  ) {
    super(`${what}: ${status} ${argoMessage}`);
  }
}

class TransientAnswer extends Error {
  constructor(readonly response: AxiosResponse<string>) {
    super(`HTTP ${response.status}`);
  }
  get status(): number {
    return this.response.status;
  }
}

/** Argo answers errors as {"error", "code" (a gRPC code), "message"}; proxies in front of it answer anything. */
function parseError(response: AxiosResponse<string>): { message: string; code: number | undefined } {
  const text = String(response.data ?? '').trim();
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown; code?: unknown };
    const message = typeof body.message === 'string' && body.message ? body.message : typeof body.error === 'string' ? body.error : '';
    if (message) return { message, code: typeof body.code === 'number' ? body.code : undefined };
  } catch {
    // not JSON: a proxy's page
  }
  return { message: text.replace(/\s+/g, ' ').slice(0, 300), code: undefined };
}

const IN_PROGRESS = /another operation is already in progress/i;
const GRPC_NOT_FOUND = 5;

/**
 * Deploys through Argo CD's REST API: sets the version on the Application (a Helm parameter or
 * spec.source.targetRevision, by merge patch), asks for a sync, and waits until the application
 * is Synced at that version and Healthy with the sync operation Succeeded. A sync already running
 * (after a crash, or started by auto-sync when the spec changed) is waited for, not failed.
 */
export function createArgocdDeployer(spec: ArgocdSpec, deps: ArgocdDeployerDeps): Deployer {
  const http = deps.http ?? axios.create();
  const base = `${spec.url.replace(/\/+$/, '')}/api/v1/applications/${encodeURIComponent(spec.application)}`;
  const host = new URL(spec.url).host;
  const name = spec.application;

  /** One request, retried while it fails transiently; any other answer that is not 2xx throws ArgoRefusal. */
  const call = async (method: 'get' | 'patch' | 'post', path: string, what: string, data?: unknown): Promise<unknown> => {
    const response = await retryTransient(
      async () => {
        const answer = await http.request<string>({
          method,
          url: `${base}${path}`,
          data: data === undefined ? undefined : JSON.stringify(data),
          timeout: spec.timeout,
          headers: { authorization: `Bearer ${spec.token}`, accept: 'application/json', 'content-type': 'application/json', 'user-agent': 'Shipmate' },
          transformRequest: [(body: string) => body],
          validateStatus: () => true,
          maxRedirects: 0,
          responseType: 'text',
        });
        if (isTransient({ status: answer.status })) throw new TransientAnswer(answer);
        return answer;
      },
      { retries: spec.retries, ...(deps.retryDelayMs !== undefined ? { initialDelayMs: deps.retryDelayMs } : {}) },
    ).catch((error: unknown) => {
      if (error instanceof TransientAnswer) return error.response;
      throw error;
    });
    if (response.status >= 200 && response.status < 300) return response.data ? JSON.parse(response.data) : {};
    const { message, code } = parseError(response);
    throw new ArgoRefusal(response.status, message, code, what);
  };

  const getApp = async () => (await call('get', '', 'reading the application')) as Application;

  const wanted = (version: string): string => (spec.set === 'image-tag' ? `${spec.parameter}=${version}` : version);
  const matches = (source: AppSource | undefined, version: string): boolean =>
    spec.set === 'image-tag'
      ? (source?.helm?.parameters ?? []).some((p) => p.name === spec.parameter && p.value === version)
      : source?.targetRevision === version;

  /** Why this deployer cannot change the application, or undefined. */
  const unsupported = (app: Application): string | undefined => {
    if (app.spec?.sources?.length) {
      return `Argo CD application ${name} has several sources (spec.sources); Shipmate sets the version on spec.source only. Give the application a single spec.source, or set the version in its git repository and deploy that revision`;
    }
    if (!app.spec?.source) return `Argo CD application ${name} has no spec.source to set the version on`;
    const type = app.status?.sourceType;
    if (spec.set === 'image-tag' && type && type !== 'Helm') {
      return `Argo CD application ${name} is a ${type} application, but set: image-tag sets a Helm parameter; use set: target-revision, or a Helm source`;
    }
    return undefined;
  };

  /** A merge patch replaces arrays whole, so it carries every Helm parameter, ours added or replaced. */
  const patchFor = (source: AppSource, version: string): unknown => {
    if (spec.set === 'target-revision') return { spec: { source: { targetRevision: version } } };
    const parameters = [...(source.helm?.parameters ?? [])];
    const at = parameters.findIndex((p) => p.name === spec.parameter);
    // forceString: Helm's --set would read a tag like 1.10 as the number 1.1
    const parameter = { ...parameters[at], name: spec.parameter, value: version, forceString: true };
    if (at >= 0) parameters[at] = parameter;
    else parameters.push(parameter);
    return { spec: { source: { helm: { parameters } } } };
  };

  /** Starts a sync; 'joined' when Argo is already running an operation, which we then wait for. */
  const sync = async (revision: string | undefined): Promise<'started' | 'joined'> => {
    try {
      await call('post', '/sync', 'starting a sync', { name, ...(revision ? { revision } : {}), prune: false });
      return 'started';
    } catch (error) {
      if (error instanceof ArgoRefusal && IN_PROGRESS.test(error.argoMessage)) return 'joined';
      throw error;
    }
  };

  const running = (app: Application) => Boolean(app.operation) || ['Running', 'Terminating'].includes(app.status?.operationState?.phase ?? '');

  const degradedDetail = (app: Application): string => {
    const resources = (app.status?.resources ?? [])
      .filter((r) => r.health?.status === 'Degraded')
      .map((r) => `${r.kind ?? 'resource'} ${r.namespace ? `${r.namespace}/` : ''}${r.name ?? '?'}${r.health?.message ? `: ${r.health.message}` : ''}`);
    const detail = resources.length ? resources.join('; ') : (app.status?.health?.message ?? '');
    return detail.slice(0, 500);
  };

  /** Where the application stands once the operation is over: an outcome, or undefined to keep waiting. */
  const judge = (app: Application, version: string): DeployOutcome | undefined => {
    const op = app.status?.operationState;
    if (!op) return undefined;
    if (op.phase === 'Failed' || op.phase === 'Error') {
      return { ok: false, error: `Argo CD could not sync ${name} to ${wanted(version)}: the sync ${op.phase === 'Error' ? 'errored' : 'failed'}${op.message ? `: ${op.message}` : ''}` };
    }
    if (op.phase !== 'Succeeded') return undefined;
    const sync = app.status?.sync;
    if (sync?.status !== 'Synced' || !matches(sync.comparedTo?.source ?? op.syncResult?.source, version)) return undefined;
    const health = app.status?.health?.status;
    if (health === 'Degraded') {
      const detail = degradedDetail(app);
      return { ok: false, error: `Argo CD synced ${name} to ${wanted(version)} but it is Degraded${detail ? `: ${detail}` : ''}` };
    }
    if (health !== 'Healthy') return undefined; // Progressing, Missing, Suspended, Unknown: not yet
    const revision = sync.revision ?? op.syncResult?.revision;
    return { ok: true, summary: `Argo CD synced ${name} to ${wanted(version)}${revision ? ` (revision ${revision.slice(0, 12)})` : ''}; it is Synced and Healthy.` };
  };

  const refused = (error: ArgoRefusal): string => {
    const said = error.argoMessage ? `: ${error.argoMessage}` : '';
    if (error.status === 401) return `Argo CD at ${host} refused the token (401${said}) while ${error.what}; check the token is valid and unexpired, and that its project role covers application ${name}`;
    if (error.status === 403) {
      return `Argo CD at ${host} denied ${error.what} for application ${name} (403${said}); check the token's project role may get, update and sync it (Argo CD also answers 403 for applications a token may not see)`;
    }
    if (error.status === 404) {
      return error.grpcCode === GRPC_NOT_FOUND || /not found/i.test(error.argoMessage)
        ? `Argo CD at ${host} has no application named ${name}; check deploy.application`
        : `${host} answered 404 while ${error.what}; check deploy.url points at the Argo CD server`;
    }
    return `Argo CD at ${host} answered ${error.status} while ${error.what} for ${name}${said}`;
  };

  return {
    async deploy(request: DeployRequest): Promise<DeployOutcome> {
      const { version } = request;
      const startedAt = Date.now();
      let last: Application | undefined;
      try {
        last = await getApp();
        const problem = unsupported(last);
        if (problem) return { ok: false, error: problem };
        const source = last.spec!.source!;
        // A repeat of a deploy that already finished (a retry after a crash) changes nothing.
        if (matches(source, version)) {
          const done = judge(last, version);
          if (done?.ok) return done;
        } else {
          await call('patch', '', 'setting the version', { name, patch: JSON.stringify(patchFor(source, version)), patchType: 'merge' });
        }
        const revision = spec.set === 'target-revision' ? version : source.targetRevision;
        let joined = (await sync(revision)) === 'joined';
        return await pollUntil(
          async () => {
            const app = (last = await getApp());
            const op = app.status?.operationState;
            // We waited for someone else's sync (to another version): now start ours.
            if (joined && !running(app) && op?.syncResult?.source && !matches(op.syncResult.source, version)) {
              joined = false;
              await sync(revision);
              return undefined;
            }
            return judge(app, version);
          },
          { intervalMs: spec.pollInterval, timeoutMs: Math.max(0, spec.timeout - (Date.now() - startedAt)), what: `Argo CD application ${name}` },
        );
      } catch (error) {
        if (error instanceof PollTimeoutError) {
          const status = last?.status;
          const op = status?.operationState?.phase;
          return {
            ok: false,
            error: `Argo CD application ${name} was not Synced and Healthy at ${wanted(version)} within ${formatDuration(spec.timeout)}: last sync status ${status?.sync?.status ?? 'Unknown'}, health ${status?.health?.status ?? 'Unknown'}${op ? `, operation ${op}` : ''}`,
          };
        }
        if (error instanceof ArgoRefusal) return { ok: false, error: refused(error) };
        if (error instanceof SyntaxError) return { ok: false, error: `Argo CD at ${host} answered something that is not JSON; check deploy.url points at the Argo CD server` };
        return { ok: false, error: describeHttpError(error, spec.url, spec.timeout) };
      }
    },
  };
}
