import type { AuditEntry, Deployment, DeploymentStatus, NewDeployment } from './types';

/** Deployments, the durable state of every deploy flow. */
export interface DeploymentStore {
  /**
   * Inserts a queued deployment. Throws ConflictError when the same target already has an active
   * one: the database, not a check-then-act, guarantees one deploy per target at a time.
   */
  create(input: NewDeployment, now: Date): Deployment;
  get(id: number): Deployment | undefined;
  findByRequestKey(key: string): Deployment | undefined;
  active(service: string, environment: string): Deployment | undefined;
  withStatus(status: DeploymentStatus): Deployment[];
  /** The newest deployment of every service/environment pair, optionally of one service. */
  latestPerTarget(service?: string): Deployment[];
  /** Newest first. */
  history(service: string, environment: string | undefined, limit: number): Deployment[];
  save(deployment: Deployment): void;
}

export interface AuditLog {
  record(entry: AuditEntry): void;
  list(limit: number): AuditEntry[];
}

/** Runs a function atomically: everything it writes lands, or nothing does. */
export interface UnitOfWork {
  transaction<T>(fn: () => T): T;
}

export type Lane = 'slack' | 'work';

/** A side effect as data, queued durably before anything performs it. */
export interface EffectSpec {
  /** Unique within the flow; with the flow ID it forms the idempotency key. */
  step: string;
  lane: Lane;
  type: string;
  payload: unknown;
}

export interface QueuedEffect extends EffectSpec {
  id: number;
  flowId: string;
  idempotencyKey: string;
  /**
   * Earlier tries that were started. More than zero means an earlier try may have reached the
   * outside world before a crash or failure, so handlers check before doing it again.
   */
  attempts: number;
}

/** The durable queue of effects (the outbox). */
export interface EffectQueue {
  /** Adds effects; one whose idempotency key is already queued is ignored. */
  enqueue(flowId: string, effects: readonly EffectSpec[], now: Date): void;
  /** Pending effects of a lane that are due, oldest first, at most one per flow (order within a flow matters). */
  due(lane: Lane, now: Date, limit: number): QueuedEffect[];
  /** Records that a try starts, before it reaches the outside world. */
  claim(id: number, now: Date): void;
  complete(id: number, now: Date): void;
  retryLater(id: number, notBefore: Date, error: string): void;
  giveUp(id: number, error: string, now: Date): void;
  pendingCount(): number;
}

export interface FlowEventLog {
  append(flowId: string, event: { type: string }, now: Date): void;
}

/** What a deployer is asked to do. */
export interface DeployRequest {
  deploymentId: number;
  service: string;
  environment: string;
  version: string;
  requestedBy: string;
  /** Stable across retries of the same step: targets use it to do the work once. */
  idempotencyKey: string;
}

export type DeployOutcome =
  | { ok: true; summary: string }
  | { ok: false; error: string; outputTail?: string };

/** Puts a version of a service into an environment. Resolves with the outcome; never throws for a failed deploy. */
export interface Deployer {
  deploy(request: DeployRequest): Promise<DeployOutcome>;
}

export interface DeployerFactory {
  forTarget(service: string, environment: string): Deployer;
}
