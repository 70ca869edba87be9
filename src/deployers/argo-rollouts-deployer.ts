import { CustomObjectsApi, PatchUtils } from '@kubernetes/client-node';
import type { ArgoRolloutsSpec } from '../core/deploy-specs';
import { ExternalServiceError } from '../core/errors';
import { formatDuration } from '../core/format-duration';
import type { Deployer, DeployOutcome, DeployRequest } from '../core/ports';
import {
  type ClusterAccess,
  DEPLOYMENT_KEY_ANNOTATION,
  describeKubernetesError,
  type KubernetesDeployerDeps,
  loadCluster,
  type LoadedCluster,
  makeClient,
  type ObjectRef,
  remaining,
} from './kubernetes-deployer';
import { isTransient, PollTimeoutError, pollUntil, retryTransient } from './retry';

/*
 * How canary weight moves in Argo Rollouts: there is no "set the weight to N" call. The Rollout's
 * spec.strategy.canary.steps list the weights (setWeight) and the stops (pause); the controller
 * walks them, recording where it is in status.currentStepIndex. A pause without a duration stops
 * the rollout (phase Paused, a CanaryPauseStep pause condition) until someone promotes it, which
 * clears the pause so the controller goes on to the next setWeight. A full promotion skips the
 * remaining steps (100%); an abort sends all traffic back to the stable version (0%). So the
 * canary flow moves the weight with promoteRollout and abortRollout, and reads it with
 * rolloutStatus; to choose other weights, change the steps in the Rollout's manifest.
 */

const GROUP = 'argoproj.io';
const VERSION = 'v1alpha1';
const PLURAL = 'rollouts';
/** Tries of the read-modify-patch when someone else changed the Rollout in between (409). */
const CONFLICT_ATTEMPTS = 5;

interface Container {
  name: string;
  image?: string;
}

/** The fields of an argoproj.io/v1alpha1 Rollout this module reads. */
interface Rollout {
  metadata?: { generation?: number; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: {
    paused?: boolean;
    workloadRef?: { kind?: string; name?: string };
    template?: { metadata?: { annotations?: Record<string, string> }; spec?: { containers?: Container[] } };
    strategy?: { canary?: { steps?: { setWeight?: number }[] }; blueGreen?: object };
  };
  status?: {
    phase?: string;
    message?: string;
    observedGeneration?: string | number;
    currentStepIndex?: number;
    pauseConditions?: { reason?: string }[] | null;
    controllerPause?: boolean;
    abort?: boolean;
    stableRS?: string;
    currentPodHash?: string;
    canary?: { weights?: { canary?: { weight?: number } } };
  };
}

/** Which Rollout, and how to reach its cluster: an `argo-rollouts` deploy block fits. */
export interface RolloutTarget extends ClusterAccess {
  rollout: string;
  /** Further tries of transient failures (5xx, connection resets); 3 when not given. */
  retries?: number;
}

/** Where a Rollout stands, as the canary flow needs it. */
export interface RolloutState {
  /** Healthy, Progressing, Paused or Degraded; Progressing until the controller saw the latest change. */
  phase: string;
  message: string;
  /** 0-based index into spec.strategy.canary.steps; undefined before the controller set one. */
  currentStepIndex: number | undefined;
  stepCount: number;
  /** Percent of traffic on the new version: status.canary.weights with traffic routing, else the steps' setWeight. */
  canaryWeight: number;
  pauseReasons: string[];
  aborted: boolean;
}

/** The phase the way `kubectl argo rollouts status` reads it: not before the controller observed the spec. */
export function rolloutState(ro: Rollout): RolloutState {
  const status = ro.status ?? {};
  const steps = ro.spec?.strategy?.canary?.steps ?? [];
  const pauseReasons = (status.pauseConditions ?? []).map((c) => c.reason ?? 'Paused');
  const observed = Number(status.observedGeneration);
  let phase = status.phase ?? '';
  let message = status.message ?? '';
  if (Number.isInteger(observed) && observed < (ro.metadata?.generation ?? 0)) {
    [phase, message] = ['Progressing', 'waiting for rollout spec update to be observed'];
  } else if (status.controllerPause && pauseReasons.length === 0) {
    [phase, message] = ['Progressing', 'waiting for rollout to unpause'];
  } else if (!phase) {
    [phase, message] = ['Progressing', 'waiting for the controller to report a phase'];
  }
  return { phase, message, currentStepIndex: status.currentStepIndex, stepCount: steps.length, canaryWeight: canaryWeight(ro), pauseReasons, aborted: status.abort === true };
}

/** Argo Rollouts' own rule (GetCurrentSetWeight): the last setWeight at or before the current step. */
function canaryWeight(ro: Rollout): number {
  const status = ro.status ?? {};
  const routed = status.canary?.weights?.canary?.weight;
  if (typeof routed === 'number') return routed;
  if (status.abort) return 0;
  const steps = ro.spec?.strategy?.canary?.steps ?? [];
  const index = status.currentStepIndex ?? 0;
  if (steps.length === 0 || index >= steps.length) return 100;
  for (let i = index; i >= 0; i--) {
    const weight = steps[i]?.setWeight;
    if (typeof weight === 'number') return weight;
  }
  return 0;
}

function describeStep(state: RolloutState): string {
  const step = state.stepCount > 0 && state.currentStepIndex !== undefined ? ` at step ${state.currentStepIndex + 1} of ${state.stepCount}` : '';
  return `paused${step} (${state.pauseReasons.join(', ') || state.message || 'paused'}) with ${state.canaryWeight}% canary weight`;
}

function connect(target: RolloutTarget, deps: KubernetesDeployerDeps, timeoutMs: number) {
  const cluster = loadCluster(target, deps.baseEnv);
  const api = makeClient(cluster, CustomObjectsApi, timeoutMs);
  const retry = { retries: target.retries ?? 3, initialDelayMs: deps.retryDelayMs ?? 1_000 };
  const ref: ObjectRef = { kind: 'rollout', resource: 'rollouts.argoproj.io', name: target.rollout, namespace: target.namespace };
  const merge = { headers: { 'Content-Type': PatchUtils.PATCH_FORMAT_JSON_MERGE_PATCH } };
  return {
    cluster,
    ref,
    get: () => retryTransient(async () => (await api.getNamespacedCustomObject(GROUP, VERSION, target.namespace, PLURAL, target.rollout)).body as Rollout, retry),
    patch: (body: object) =>
      retryTransient(async () => (await api.patchNamespacedCustomObject(GROUP, VERSION, target.namespace, PLURAL, target.rollout, body, undefined, 'shipmate', undefined, merge)).body as Rollout, retry),
    /** Rollouts v0.10+ keep status in a subresource: status changes go there. */
    patchStatus: (body: object) =>
      retryTransient(async () => (await api.patchNamespacedCustomObjectStatus(GROUP, VERSION, target.namespace, PLURAL, target.rollout, body, undefined, 'shipmate', undefined, merge)).body as Rollout, retry),
  };
}

type Connection = ReturnType<typeof connect>;

/** Runs a canary-flow action; failures become ExternalServiceErrors that say what to check. */
async function act(target: RolloutTarget, deps: KubernetesDeployerDeps, verbs: string, action: (c: Connection) => Promise<Rollout>): Promise<RolloutState> {
  let connection: Connection;
  try {
    connection = connect(target, deps, 30_000);
  } catch (error) {
    throw new ExternalServiceError(error instanceof Error ? error.message : String(error), false, { cause: error });
  }
  try {
    return rolloutState(await action(connection));
  } catch (error) {
    throw new ExternalServiceError(describeKubernetesError(error, connection.ref, connection.cluster, verbs), isTransient(error), { cause: error });
  }
}

/** Reads where the Rollout stands: phase, step, canary weight. */
export function rolloutStatus(target: RolloutTarget, deps: KubernetesDeployerDeps = {}): Promise<RolloutState> {
  return act(target, deps, 'get', (c) => c.get());
}

/**
 * Promotes like `kubectl argo rollouts promote`: clears the pause conditions (status
 * subresource) and spec.paused, or, when it is not paused on a condition, moves a canary to the
 * next step. `full` skips every remaining step and analysis (status.promoteFull).
 */
export function promoteRollout(target: RolloutTarget, options: { full?: boolean } = {}, deps: KubernetesDeployerDeps = {}): Promise<RolloutState> {
  return act(target, deps, 'get and patch (rollouts and rollouts/status)', async (c) => {
    let ro = await c.get();
    const status = ro.status ?? {};
    if (options.full) {
      return status.currentPodHash !== status.stableRS ? c.patchStatus({ status: { promoteFull: true } }) : ro;
    }
    const steps = ro.spec?.strategy?.canary?.steps;
    if ((status.pauseConditions ?? []).length > 0) {
      ro = await c.patchStatus({ status: { pauseConditions: null } });
    } else if (steps && steps.length > 0) {
      const next = Math.min((status.currentStepIndex ?? 0) + 1, steps.length);
      ro = await c.patchStatus({ status: { pauseConditions: null, currentStepIndex: next } });
    }
    if (ro.spec?.paused) ro = await c.patch({ spec: { paused: false } });
    return ro;
  });
}

/** Aborts like `kubectl argo rollouts abort`: traffic goes back to the stable version; spec.template keeps the new one. */
export function abortRollout(target: RolloutTarget, deps: KubernetesDeployerDeps = {}): Promise<RolloutState> {
  return act(target, deps, 'patch (rollouts/status)', (c) => c.patchStatus({ status: { abort: true } }));
}

/**
 * Sets the image of one container of a Rollout to `<image>:<version>` and waits until the
 * Rollout is Healthy (fails when Degraded). A canary that stops at a pause step counts as
 * deployed: the canary flow promotes or aborts it from there.
 */
/** The canary step a Rollout was last promoted for. */
const CANARY_STEP_ANNOTATION = 'shipmate.dev/canary-step';

export function createArgoRolloutsDeployer(spec: ArgoRolloutsSpec, deps: KubernetesDeployerDeps = {}): Deployer {
  const where = `rollout ${spec.namespace}/${spec.rollout}`;

  /** Waits until the controller settles: Healthy, Degraded, or (unless `untilHealthy`) paused at a step. */
  const settle = async (c: Connection, image: string, startedAt: number, untilHealthy = false): Promise<DeployOutcome> => {
    const done = untilHealthy ? ['Healthy', 'Degraded'] : ['Healthy', 'Degraded', 'Paused'];
    let lastWaiting = 'no status read yet';
    try {
      const state = await pollUntil(
        async () => {
          const current = rolloutState(await c.get());
          if (done.includes(current.phase)) return current;
          lastWaiting = `${current.phase}${current.message ? `: ${current.message}` : ''}`;
          return undefined;
        },
        { intervalMs: spec.pollInterval, timeoutMs: remaining(startedAt, spec.timeout), what: where },
      );
      if (state.phase === 'Degraded') return { ok: false, error: `${where} is Degraded: ${state.message || 'no message from the controller'}` };
      if (state.phase === 'Paused') return { ok: true, summary: `${where} runs ${image} ${describeStep(state)}, awaiting promotion.` };
      return { ok: true, summary: `${where} is Healthy on ${image}.` };
    } catch (error) {
      if (error instanceof PollTimeoutError) return { ok: false, error: `${where} did not become Healthy on ${image} within ${formatDuration(spec.timeout)}: ${lastWaiting}` };
      throw error;
    }
  };

  /**
   * Promotes once per canary step: the step's key is written on the Rollout first, so a retry
   * of the same step (a timeout, a restart) waits for the promotion instead of promoting again,
   * which would skip a step and send more traffic than asked.
   */
  const promoteStep = async (c: Connection, ro: Rollout, request: DeployRequest, full: boolean): Promise<void> => {
    if (ro.metadata?.annotations?.[CANARY_STEP_ANNOTATION] === request.idempotencyKey) return;
    await c.patch({ metadata: { annotations: { [CANARY_STEP_ANNOTATION]: request.idempotencyKey } } });
    await promoteRollout(spec, { full }, deps);
  };

  return {
    async deploy(request: DeployRequest): Promise<DeployOutcome> {
      const startedAt = Date.now();
      const image = `${spec.image}:${request.version}`;
      let c: Connection;
      try {
        c = connect(spec, deps, spec.timeout);
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
      try {
        // A canary step: the Rollout's own steps set the weights, so Shipmate's steps start it
        // (set the image), promote it a step, promote it fully (100), or abort it (0).
        const weight = request.canary?.weight;
        if (weight === 0) {
          // The controller moves the traffic after the patch; the patch's answer does not show it yet.
          await abortRollout(spec, deps);
          return { ok: true, summary: `${where} aborted: traffic goes back to the stable version.` };
        }
        const ro = weight === undefined ? undefined : await c.get();
        const template = ro?.spec?.template;
        const running = template?.spec?.containers?.find((x) => x.name === spec.container)?.image;
        // The image already set by an earlier step (not by this step's own earlier try): move on a step.
        if (ro && running === image && template?.metadata?.annotations?.[DEPLOYMENT_KEY_ANNOTATION] !== request.idempotencyKey) {
          await promoteStep(c, ro, request, weight === 100);
          return await settle(c, image, startedAt, weight === 100);
        }
        const failure = await setImage(c, spec, image, request.idempotencyKey);
        if (failure) return { ok: false, error: `${where} ${failure}` };
        return await settle(c, image, startedAt);
      } catch (error) {
        if (error instanceof ExternalServiceError) return { ok: false, error: error.message };
        return { ok: false, error: describeKubernetesError(error, c.ref, c.cluster) };
      }
    },
  };
}

/**
 * A JSON merge patch replaces lists whole, so the patch carries every container (only ours
 * changed) and the resourceVersion it was read at: if the Rollout changed meanwhile the API
 * server answers 409 and we read it again. Resolves with a failure to report, or undefined.
 */
async function setImage(c: Connection, spec: ArgoRolloutsSpec, image: string, key: string): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    const ro = await c.get();
    const template = ro.spec?.template;
    if (!template) {
      const ref = ro.spec?.workloadRef;
      return ref ? `takes its pod template from ${ref.kind ?? 'a workload'} "${ref.name ?? '?'}" (workloadRef): deploy that with a kubernetes deployer instead` : 'has no spec.template';
    }
    const containers = template.spec?.containers ?? [];
    const container = containers.find((x) => x.name === spec.container);
    if (!container) return `has no container "${spec.container}"; its containers: ${containers.map((x) => x.name).join(', ') || 'none'}`;
    if (container.image === image && template.metadata?.annotations?.[DEPLOYMENT_KEY_ANNOTATION] === key) return undefined;
    try {
      await c.patch({
        metadata: { resourceVersion: ro.metadata?.resourceVersion },
        spec: {
          template: {
            metadata: { annotations: { [DEPLOYMENT_KEY_ANNOTATION]: key } },
            spec: { containers: containers.map((x) => (x.name === spec.container ? { ...x, image } : x)) },
          },
        },
      });
      return undefined;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 409 || attempt >= CONFLICT_ATTEMPTS) throw error;
    }
  }
}
