import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

/** Kubernetes objects are free-form JSON here. */
export type KubeObject = Record<string, any>;

/**
 * Plays the controller: called on each read of an object whose spec was changed by a PATCH, with
 * how many reads there were since that change (0 for the first), to set its status.
 */
export type Controller = (object: KubeObject, readsSinceChange: number) => void;

export interface RecordedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

interface Kind {
  group: string;
  version: string;
  resource: string;
  kind: string;
  /** Strategic merge patch works only on built-in types; custom resources answer 415. */
  strategic: boolean;
}

const DEPLOYMENTS: Kind = { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', strategic: true };
const ROLLOUTS: Kind = { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts', kind: 'Rollout', strategic: false };
const MERGE_KEYS: Record<string, string> = { containers: 'name', initContainers: 'name', env: 'name', volumes: 'name', volumeMounts: 'mountPath', ports: 'containerPort' };

/**
 * The few Kubernetes API endpoints the kubernetes and argo-rollouts deployers use, answering as
 * the API server does: GET and PATCH of apps/v1 Deployments and argoproj.io/v1alpha1 Rollouts
 * (with the Rollout status subresource), bearer tokens, Status objects for errors (401, 403, 404,
 * 409, 415, 503), metadata.generation bumped by spec changes only, status changes only through
 * /status, resourceVersion preconditions. Tests script the controller's side with `Controller`s.
 */
export class FakeKubernetes {
  readonly requests: RecordedRequest[] = [];
  /** Answers a request with 403 when it returns true; `verb` is get or patch. */
  forbid: ((verb: string, resource: string, namespace: string) => boolean) | undefined;
  private readonly objects = new Map<string, { object: KubeObject; controller?: Controller; changed: boolean; reads: number }>();
  private failures: { method?: string; code: number }[] = [];
  private resourceVersion = 1000;
  private server: Server | undefined;

  constructor(readonly token = 'fake-k8s-token') {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  addDeployment(object: KubeObject, controller?: Controller): void {
    this.add(DEPLOYMENTS, object, controller);
  }

  addRollout(object: KubeObject, controller?: Controller): void {
    this.add(ROLLOUTS, object, controller);
  }

  deployment(namespace: string, name: string): KubeObject {
    return this.objects.get(`deployments/${namespace}/${name}`)!.object;
  }

  rollout(namespace: string, name: string): KubeObject {
    return this.objects.get(`rollouts/${namespace}/${name}`)!.object;
  }

  /** The next `times` requests (of that method, when given) fail with `code` (503 by default). */
  failNext(times = 1, { method, code = 503 }: { method?: string; code?: number } = {}): void {
    for (let i = 0; i < times; i++) this.failures.push({ method, code });
  }

  patches(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'PATCH');
  }

  /** A kubeconfig file with context `fake` (the right token) and `stale` (a wrong one). */
  writeKubeconfig(): string {
    const dir = mkdtempSync(join(tmpdir(), 'shipmate-kube-'));
    const path = join(dir, 'config');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: fake\n  cluster:\n    server: ${this.url}`,
        'contexts:',
        '- name: fake\n  context:\n    cluster: fake\n    user: deployer',
        '- name: stale\n  context:\n    cluster: fake\n    user: stale',
        'current-context: fake',
        'users:',
        `- name: deployer\n  user:\n    token: ${this.token}`,
        '- name: stale\n  user:\n    token: expired-token',
        '',
      ].join('\n'),
    );
    return path;
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const method = req.method ?? 'GET';
      const contentType = req.headers['content-type']?.split(';')[0]?.trim();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // recorded as text; PATCH answers 400 below
      }
      const recorded = { method, path, contentType, authorization: req.headers.authorization, body };
      this.requests.push(recorded);
      const [code, answer] = this.handle(recorded);
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private add(kind: Kind, object: KubeObject, controller?: Controller): void {
    object.metadata.resourceVersion = String(++this.resourceVersion);
    this.objects.set(`${kind.resource}/${object.metadata.namespace}/${object.metadata.name}`, { object, controller, changed: false, reads: 0 });
  }

  private handle({ method, path, contentType, authorization, body }: RecordedRequest): [number, unknown] {
    const failure = this.failures.findIndex((f) => !f.method || f.method === method);
    if (failure >= 0) {
      const { code } = this.failures.splice(failure, 1)[0]!;
      const reasons: Record<number, [string, string]> = {
        409: ['Conflict', 'Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again'],
        429: ['TooManyRequests', 'Too many requests, please try again later.'],
        503: ['ServiceUnavailable', 'the server is currently unable to handle the request'],
      };
      const [reason, message] = reasons[code] ?? ['InternalError', 'Internal error occurred'];
      return [code, status(code, reason, message)];
    }
    if (authorization !== `Bearer ${this.token}`) return [401, status(401, 'Unauthorized', 'Unauthorized')];
    const match = /^\/apis\/([^/]+)\/([^/]+)\/namespaces\/([^/]+)\/([^/]+)\/([^/]+)(\/status)?$/.exec(path);
    const kind = [DEPLOYMENTS, ROLLOUTS].find((k) => match && k.group === match[1] && k.version === match[2] && k.resource === match[4]);
    if (!match || !kind || (match[6] && kind !== ROLLOUTS)) return [404, status(404, 'NotFound', 'the server could not find the requested resource')];
    const [, , , namespace, , name, subresource] = match as unknown as string[];
    const verb = method === 'GET' ? 'get' : method === 'PATCH' ? 'patch' : undefined;
    const qualified = `${kind.resource}.${kind.group}`;
    if (!verb) return [405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`)];
    const resource = subresource ? `${kind.resource}/status` : kind.resource;
    if (this.forbid?.(verb, resource, namespace!)) {
      const message = `${qualified} "${name}" is forbidden: User "system:serviceaccount:shipmate:shipmate" cannot ${verb} resource "${resource}" in API group "${kind.group}" in the namespace "${namespace}"`;
      return [403, status(403, 'Forbidden', message, { name, group: kind.group, kind: kind.resource })];
    }
    const entry = this.objects.get(`${kind.resource}/${namespace}/${name}`);
    if (!entry) return [404, status(404, 'NotFound', `${qualified} "${name}" not found`, { name, group: kind.group, kind: kind.resource })];
    if (verb === 'get') {
      if (entry.changed) entry.controller?.(entry.object, entry.reads++);
      return [200, entry.object];
    }
    return this.patch(kind, entry, contentType, body, Boolean(subresource));
  }

  private patch(kind: Kind, entry: { object: KubeObject; changed: boolean; reads: number }, contentType: string | undefined, body: unknown, toStatus: boolean): [number, unknown] {
    const accepted = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml', ...(kind.strategic ? ['application/strategic-merge-patch+json'] : [])];
    if (!contentType || !accepted.includes(contentType)) {
      return [415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`)];
    }
    if (contentType !== 'application/merge-patch+json' && contentType !== 'application/strategic-merge-patch+json') {
      return [500, status(500, 'InternalError', `FakeKubernetes does not implement ${contentType}`)];
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return [400, status(400, 'BadRequest', 'invalid JSON patch body')];
    const patch = clone(body) as KubeObject;
    const current = entry.object;
    const precondition = patch.metadata?.resourceVersion;
    if (precondition !== undefined && precondition !== current.metadata.resourceVersion) {
      const message = `Operation cannot be fulfilled on ${kind.resource}.${kind.group} "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`;
      return [409, status(409, 'Conflict', message, { name: current.metadata.name, group: kind.group, kind: kind.resource })];
    }
    const strategic = contentType === 'application/strategic-merge-patch+json';
    // The main resource ignores status, the status subresource ignores everything else.
    const effective = toStatus ? { status: patch.status } : { metadata: patch.metadata, spec: patch.spec };
    if (effective.metadata) delete effective.metadata.resourceVersion;
    const next = mergePatch(current, effective, strategic) as KubeObject;
    if (isDeepStrictEqual(next, current)) return [200, current];
    if (!isDeepStrictEqual(next.spec, current.spec)) {
      next.metadata.generation = (current.metadata.generation ?? 1) + 1;
      entry.changed = true;
      entry.reads = 0;
    }
    next.metadata.resourceVersion = String(++this.resourceVersion);
    entry.object = next;
    return [200, next];
  }
}

/** JSON-only copies: structuredClone would make objects of another realm under jest, which isDeepStrictEqual tells apart. */
function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function status(code: number, reason: string, message: string, details?: object): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** RFC 7386 JSON merge patch; with `strategic`, lists of containers, env, ... merge by their key. */
function mergePatch(target: unknown, patch: unknown, strategic: boolean, field = ''): unknown {
  if (strategic && Array.isArray(patch) && MERGE_KEYS[field] && Array.isArray(target)) {
    const key = MERGE_KEYS[field]!;
    const merged = target.map((item) => clone(item));
    for (const element of patch) {
      const at = merged.findIndex((item) => item[key] === element[key]);
      if (at >= 0) merged[at] = mergePatch(merged[at], element, strategic);
      else merged.push(element);
    }
    return merged;
  }
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return clone(patch);
  const result: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? clone(target as Record<string, unknown>) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined || key.startsWith('$setElementOrder/')) continue;
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value, strategic, key);
  }
  return result;
}

function podHash(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
}

export function deploymentObject({ name = 'api', namespace = 'prod', replicas = 3, containers = [{ name: 'api', image: 'ghcr.io/acme/api:1.0.0' }] }: { name?: string; namespace?: string; replicas?: number; containers?: { name: string; image: string }[] } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, generation: 1, uid: `uid-${name}`, annotations: { 'deployment.kubernetes.io/revision': '1' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      progressDeadlineSeconds: 600,
      template: { metadata: { labels: { app: name } }, spec: { containers: containers.map((c) => ({ ...c, imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 8080, protocol: 'TCP' }] })) } },
    },
    status: {
      observedGeneration: 1,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}-6d4cf56db6" has successfully progressed.` },
      ],
    },
  };
}

/** A surge rollout: not observed on the first read, an old pod left until read `readsUntilDone`. */
export function rollsOut(readsUntilDone: number): Controller {
  return (d, reads) => {
    const replicas = d.spec.replicas as number;
    if (reads === 0) return;
    d.status.observedGeneration = d.metadata.generation;
    const done = reads >= readsUntilDone;
    Object.assign(d.status, { replicas: done ? replicas : replicas + 1, updatedReplicas: replicas, availableReplicas: done ? replicas : replicas - 1, readyReplicas: done ? replicas : replicas - 1 });
    const progressing = d.status.conditions.find((c: KubeObject) => c.type === 'Progressing');
    Object.assign(progressing, done ? { reason: 'NewReplicaSetAvailable' } : { reason: 'ReplicaSetUpdated', message: `ReplicaSet "${d.metadata.name}-${podHash(d.spec.template)}" is progressing.` });
  };
}

/** Every pod updated, only `available` of them ever become available (e.g. failing readiness). */
export function staysUnavailable(available: number): Controller {
  return (d) => {
    const replicas = d.spec.replicas as number;
    Object.assign(d.status, { observedGeneration: d.metadata.generation, replicas, updatedReplicas: replicas, availableReplicas: available, readyReplicas: available });
  };
}

/** The deployment controller gives up after the first read: Progressing=False, ProgressDeadlineExceeded. */
export function missesProgressDeadline(): Controller {
  return (d, reads) => {
    Object.assign(d.status, { observedGeneration: d.metadata.generation, updatedReplicas: 1, availableReplicas: d.spec.replicas - 1 });
    if (reads < 1) return;
    const progressing = d.status.conditions.find((c: KubeObject) => c.type === 'Progressing');
    Object.assign(progressing, { status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${d.metadata.name}-${podHash(d.spec.template)}" has timed out progressing.` });
  };
}

export function rolloutObject({ name = 'api', namespace = 'prod', replicas = 4, containers = [{ name: 'api', image: 'ghcr.io/acme/api:1.0.0' }], steps = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '1m' } }] }: { name?: string; namespace?: string; replicas?: number; containers?: { name: string; image: string }[]; steps?: KubeObject[] } = {}): KubeObject {
  const template = { metadata: { labels: { app: name } }, spec: { containers: containers.map((c) => ({ ...c, ports: [{ containerPort: 8080 }] })) } };
  const hash = podHash(template);
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace, generation: 1, uid: `uid-${name}` },
    spec: { replicas, selector: { matchLabels: { app: name } }, template, strategy: { canary: { steps } } },
    status: {
      observedGeneration: '1',
      phase: 'Healthy',
      message: '',
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      currentPodHash: hash,
      stableRS: hash,
      currentStepIndex: steps.length,
      canary: {},
      conditions: [{ type: 'Available', status: 'True', reason: 'AvailableReason', message: 'Rollout has minimum availability' }],
    },
  };
}

/** The rollout controller's answer, once `afterReads` reads have passed since the spec changed. */
export type RolloutEnding =
  | { phase: 'Healthy' }
  | { phase: 'Degraded'; message: string }
  | { phase: 'Paused'; stepIndex: number; trafficWeight?: number }
  | { phase: 'Progressing'; message: string };

export function rollsOutTo(ending: RolloutEnding, afterReads = 2): Controller {
  return (ro, reads) => {
    const status = ro.status;
    if (reads === 0) return; // the controller has not seen the new generation yet
    status.observedGeneration = String(ro.metadata.generation);
    status.currentPodHash = podHash(ro.spec.template);
    status.abort = undefined;
    status.controllerPause = false;
    if (reads < afterReads) return Object.assign(status, { phase: 'Progressing', message: 'more replicas need to be updated', currentStepIndex: 0 });
    switch (ending.phase) {
      case 'Healthy':
        return Object.assign(status, { phase: 'Healthy', message: '', stableRS: status.currentPodHash, currentStepIndex: ro.spec.strategy.canary.steps.length, pauseConditions: undefined });
      case 'Degraded':
        return Object.assign(status, { phase: 'Degraded', message: ending.message, abort: true, currentStepIndex: 0 });
      case 'Progressing':
        return Object.assign(status, { phase: 'Progressing', message: ending.message });
      case 'Paused':
        return Object.assign(status, {
          phase: 'Paused',
          message: 'CanaryPauseStep',
          controllerPause: true,
          currentStepIndex: ending.stepIndex,
          pauseConditions: [{ reason: 'CanaryPauseStep', startTime: '2026-11-23T10:00:00Z' }],
          canary: ending.trafficWeight === undefined ? {} : { weights: { canary: { weight: ending.trafficWeight, podTemplateHash: status.currentPodHash }, stable: { weight: 100 - ending.trafficWeight, podTemplateHash: status.stableRS } } },
        });
    }
  };
}

/** An analysis that fails when the walk reaches step `index` of spec.strategy.canary.steps. */
export interface FailingAnalysis {
  index: number;
  message: string;
}

/**
 * The rollout controller walking spec.strategy.canary.steps as Argo Rollouts does, for canaries
 * driven from outside with promote and abort. A new pod template starts at step 0 and walks
 * through setWeight steps to the next pause (phase Paused, a CanaryPauseStep condition; a timed
 * pause stops there too, since tests do not wait out durations). Clearing the pause conditions
 * (promote) walks on from the next step, to Healthy after the last one; status.promoteFull goes
 * straight to Healthy; status.abort sends traffic back to the stable version (Degraded,
 * RolloutAborted). Like a controller that has not reconciled yet, each change is only noticed on
 * the first read after it and acted on at the next. The fake calls controllers once the spec
 * changed, so a test starts the canary by setting the image.
 */
export function walksCanarySteps({ failingAnalysis }: { failingAnalysis?: FailingAnalysis } = {}): Controller {
  let noticed: string | undefined;
  let pausedAt: number | undefined;
  return (ro) => {
    const status = ro.status;
    const steps: KubeObject[] = ro.spec.strategy.canary.steps;
    const change =
      String(ro.metadata.generation) !== String(status.observedGeneration) ? `spec:${ro.metadata.generation}`
      : status.abort === true && status.phase !== 'Degraded' ? 'abort'
      : status.promoteFull === true ? 'promoteFull'
      : status.phase === 'Paused' && !(status.pauseConditions?.length > 0) ? `promote:${status.currentStepIndex}`
      : undefined;
    if (change === undefined || change !== noticed) {
      noticed = change;
      return;
    }
    noticed = undefined;
    const settled = { pauseConditions: undefined, controllerPause: false };
    const healthy = () => Object.assign(status, settled, { phase: 'Healthy', message: '', promoteFull: undefined, stableRS: status.currentPodHash, currentStepIndex: steps.length });
    const walk = (from: number) => {
      for (let index = from; index < steps.length; index++) {
        if (failingAnalysis?.index === index) {
          return Object.assign(status, settled, { phase: 'Degraded', message: failingAnalysis.message, abort: true, currentStepIndex: index });
        }
        if (steps[index]!.pause) {
          pausedAt = index;
          return Object.assign(status, {
            phase: 'Paused',
            message: 'CanaryPauseStep',
            controllerPause: true,
            currentStepIndex: index,
            pauseConditions: [{ reason: 'CanaryPauseStep', startTime: '2026-11-23T10:00:00Z' }],
          });
        }
      }
      return healthy();
    };
    if (change.startsWith('spec:')) {
      status.observedGeneration = String(ro.metadata.generation);
      const hash = podHash(ro.spec.template);
      if (hash === status.currentPodHash) return; // e.g. spec.paused: nothing new to roll out
      Object.assign(status, { currentPodHash: hash, abort: undefined, promoteFull: undefined });
      return walk(0);
    }
    if (change === 'abort') {
      return Object.assign(status, settled, { phase: 'Degraded', message: `RolloutAborted: Rollout aborted update to revision ${ro.metadata.generation}`, currentStepIndex: 0 });
    }
    if (change === 'promoteFull') return healthy();
    // The plugin either cleared the conditions at the pause, or also moved currentStepIndex on.
    const index = status.currentStepIndex as number;
    return walk(index === pausedAt ? index + 1 : index);
  };
}
