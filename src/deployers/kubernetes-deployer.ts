import { AppsV1Api, type ApiType, type Interceptor, KubeConfig, PatchUtils, type V1Deployment } from '@kubernetes/client-node';
import type { KubernetesSpec } from '../core/deploy-specs';
import { formatDuration } from '../core/format-duration';
import type { Deployer, DeployOutcome, DeployRequest } from '../core/ports';
import { PollTimeoutError, pollUntil, retryTransient } from './retry';

/** Written on the pod template, so a repeat of the same deploy finds it done and only waits. */
export const DEPLOYMENT_KEY_ANNOTATION = 'shipmate.dev/deployment-key';
/** One API call; the deploy as a whole is bounded by the spec's timeout. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface KubernetesDeployerDeps {
  /** Checked for KUBERNETES_SERVICE_HOST when no kubeconfig is given. */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** First wait between retries of transient failures. */
  retryDelayMs?: number;
}

/** Where a deployer's cluster access comes from: the part of the spec both deployers share. */
export interface ClusterAccess {
  namespace: string;
  kubeconfig?: string;
  context?: string;
}

export interface LoadedCluster {
  kubeConfig: KubeConfig;
  server: string;
  /** How to name the credentials in a message: `context "x" in <file>` or in-cluster. */
  credentials: string;
}

/** Something to fix in Shipmate's own settings, not in the cluster. */
export class ClusterAccessError extends Error {}

/** Reads the kubeconfig (or in-cluster credentials) fresh each time, so rotated tokens are picked up. */
export function loadCluster(access: ClusterAccess, baseEnv?: Readonly<Record<string, string | undefined>>): LoadedCluster {
  const kubeConfig = new KubeConfig();
  if (!access.kubeconfig) {
    if (baseEnv && !baseEnv.KUBERNETES_SERVICE_HOST) {
      throw new ClusterAccessError('no kubeconfig is set and Shipmate is not running inside a cluster (KUBERNETES_SERVICE_HOST is unset): set kubeconfig in the deploy block');
    }
    kubeConfig.loadFromCluster();
    return { kubeConfig, server: kubeConfig.getCurrentCluster()?.server ?? 'in-cluster', credentials: "the pod's service account" };
  }
  try {
    kubeConfig.loadFromFile(access.kubeconfig);
  } catch (error) {
    throw new ClusterAccessError(`could not read the kubeconfig ${access.kubeconfig}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const contextName = access.context ?? kubeConfig.getCurrentContext();
  if (!contextName || !kubeConfig.getContextObject(contextName)) {
    const known = kubeConfig.getContexts().map((c) => c.name);
    const which = access.context ? `has no context "${access.context}"` : 'sets no current-context and the deploy block names none';
    throw new ClusterAccessError(`the kubeconfig ${access.kubeconfig} ${which}; its contexts: ${known.join(', ') || 'none'}`);
  }
  kubeConfig.setCurrentContext(contextName);
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new ClusterAccessError(`context "${contextName}" in ${access.kubeconfig} names no cluster with a server`);
  return { kubeConfig, server, credentials: `context "${contextName}" in ${access.kubeconfig}` };
}

/** An API client whose requests give up after a while instead of hanging the deploy. */
export function makeClient<T extends ApiType & { addInterceptor(interceptor: Interceptor): void }>(
  cluster: LoadedCluster,
  type: new (server: string) => T,
  timeoutMs: number,
): T {
  const client = cluster.kubeConfig.makeApiClient(type);
  client.addInterceptor((options) => {
    options.timeout = Math.min(REQUEST_TIMEOUT_MS, Math.max(timeoutMs, 1_000));
  });
  return client;
}

/** What an object is, for messages: `deployment "api" in namespace "prod"`. */
export interface ObjectRef {
  kind: string;
  /** e.g. deployments.apps, rollouts.argoproj.io: what an RBAC rule must name. */
  resource: string;
  name: string;
  namespace: string;
}

/**
 * An API failure in words an engineer can act on: what to check for 401, 403 and 404, the API
 * server's own message otherwise. Never includes headers or the request (they carry the token).
 */
export function describeKubernetesError(error: unknown, ref: ObjectRef, cluster: LoadedCluster, verbs = 'get and patch'): string {
  const e = error as { statusCode?: number; body?: { message?: string; reason?: string }; code?: string };
  const what = `${ref.kind} "${ref.name}" in namespace "${ref.namespace}"`;
  const detail = typeof e.body?.message === 'string' ? e.body.message : undefined;
  switch (e.statusCode) {
    case undefined:
      return `could not reach the Kubernetes API at ${cluster.server}: ${e.code ?? (error instanceof Error ? error.message : String(error))}`;
    case 401:
      return `the Kubernetes API at ${cluster.server} rejected the credentials (401 Unauthorized): check the user of ${cluster.credentials}; its token or certificate may be wrong or expired`;
    case 403:
      return `not allowed to change ${what} (403 Forbidden${detail ? `: ${detail}` : ''}): grant ${cluster.credentials} ${verbs} on ${ref.resource} in namespace "${ref.namespace}"`;
    case 404:
      return `${what} was not found (404): check the ${ref.kind} name and namespace in shipmate.yml, and that ${cluster.credentials} points at the right cluster (${cluster.server})`;
    default:
      return `the Kubernetes API answered ${e.statusCode}${e.body?.reason ? ` ${e.body.reason}` : ''} for ${what}${detail ? `: ${detail}` : ''}`;
  }
}

/** How long is left of the deploy's budget, for the waiting part. */
export function remaining(startedAt: number, timeoutMs: number): number {
  return Math.max(0, timeoutMs - (Date.now() - startedAt));
}

type Judgement = { done: true; summary: string } | { failed: string } | { waiting: string };

/**
 * Whether a rollout has finished, judged the way `kubectl rollout status` does: the controller
 * saw the newest generation, every replica runs the new template, no old pod is left, and all
 * of them are available; or it gave up (ProgressDeadlineExceeded).
 */
export function judgeDeployment(deployment: V1Deployment): Judgement {
  const status = deployment.status ?? {};
  const generation = deployment.metadata?.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) {
    return { waiting: `the deployment controller has not yet seen generation ${generation}` };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { failed: `it exceeded its progress deadline${progressing.message ? `: ${progressing.message}` : ''}` };
  }
  const desired = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const paused = deployment.spec?.paused ? ' (the deployment is paused: resume it with kubectl rollout resume)' : '';
  if (updated < desired) return { waiting: `${updated} of ${desired} replicas updated${paused}` };
  if (total > updated) return { waiting: `${total - updated} old replica${total - updated === 1 ? ' is' : 's are'} pending termination` };
  if (available < updated) return { waiting: `${available} of ${updated} updated replicas available` };
  return { done: true, summary: `${available} of ${desired} replicas updated and available` };
}

/**
 * Sets the image of one container of a Deployment to `<image>:<version>` with a strategic merge
 * patch (containers merge by name, so other containers are untouched) and waits until the
 * rollout finishes. The idempotency key goes on the pod template: a repeat of the same deploy
 * changes nothing and only waits.
 */
export function createKubernetesDeployer(spec: KubernetesSpec, deps: KubernetesDeployerDeps = {}): Deployer {
  const ref: ObjectRef = { kind: 'deployment', resource: 'deployments.apps', name: spec.deployment, namespace: spec.namespace };
  const retry = { retries: spec.retries, initialDelayMs: deps.retryDelayMs ?? 1_000 };

  return {
    async deploy(request: DeployRequest): Promise<DeployOutcome> {
      const startedAt = Date.now();
      const image = `${spec.image}:${request.version}`;
      let cluster: LoadedCluster;
      let api: AppsV1Api;
      try {
        cluster = loadCluster(spec, deps.baseEnv);
        api = makeClient(cluster, AppsV1Api, spec.timeout);
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
      const read = () => retryTransient(async () => (await api.readNamespacedDeployment(spec.deployment, spec.namespace)).body, retry);
      const where = `deployment ${spec.namespace}/${spec.deployment}`;
      let lastWaiting = 'no status read yet';
      try {
        const current = await read();
        const containers = current.spec?.template.spec?.containers ?? [];
        const container = containers.find((c) => c.name === spec.container);
        if (!container) {
          return { ok: false, error: `${where} has no container "${spec.container}"; its containers: ${containers.map((c) => c.name).join(', ') || 'none'}` };
        }
        const applied = container.image === image && current.spec?.template.metadata?.annotations?.[DEPLOYMENT_KEY_ANNOTATION] === request.idempotencyKey;
        if (!applied) {
          const patch = {
            spec: {
              template: {
                metadata: { annotations: { [DEPLOYMENT_KEY_ANNOTATION]: request.idempotencyKey } },
                spec: { containers: [{ name: spec.container, image }] },
              },
            },
          };
          const headers = { 'Content-Type': PatchUtils.PATCH_FORMAT_STRATEGIC_MERGE_PATCH };
          await retryTransient(
            () => api.patchNamespacedDeployment(spec.deployment, spec.namespace, patch, undefined, undefined, 'shipmate', undefined, undefined, { headers }),
            retry,
          );
        }
        const verdict = await pollUntil(
          async () => {
            const judgement = judgeDeployment(await read());
            if ('waiting' in judgement) {
              lastWaiting = judgement.waiting;
              return undefined;
            }
            return judgement;
          },
          { intervalMs: spec.pollInterval, timeoutMs: remaining(startedAt, spec.timeout), what: where },
        );
        if ('failed' in verdict) return { ok: false, error: `${where} did not roll out ${image}: ${verdict.failed}` };
        return { ok: true, summary: `${where} ${applied ? 'already ran' : 'rolled out'} ${image}: ${verdict.summary}.` };
      } catch (error) {
        if (error instanceof PollTimeoutError) {
          return { ok: false, error: `${where} did not finish rolling out ${image} within ${formatDuration(spec.timeout)}: ${lastWaiting}` };
        }
        return { ok: false, error: describeKubernetesError(error, ref, cluster) };
      }
    },
  };
}
