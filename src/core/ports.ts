import type { AuditEntry, Deployment, DeploymentStatus, Lock, NewDeployment, NewRelease, Release, ReleaseStatus, Target } from './types';

/** Deployments, the durable state of every deploy flow. */
export interface DeploymentStore {
  /** Inserts a deployment, awaiting approval when it needs some, queued otherwise. */
  create(input: NewDeployment, now: Date): Deployment;
  get(id: number): Deployment | undefined;
  findByRequestKey(key: string): Deployment | undefined;
  /** The oldest deploy of the target that is not over (awaiting approval, queued or deploying). */
  active(service: string, environment: string): Deployment | undefined;
  /** The target's queued deploys, oldest first. */
  queued(service: string, environment: string): Deployment[];
  /**
   * Known good versions of the target, newest first: deploys that succeeded and were not
   * rolled back since. The first is what runs now.
   */
  good(service: string, environment: string, limit: number): Deployment[];
  withStatus(status: DeploymentStatus): Deployment[];
  /** The newest deployment of each of these targets that has one, in the order given. */
  latestOf(targets: readonly Target[]): Deployment[];
  /** Newest first. */
  history(service: string, environment: string | undefined, limit: number): Deployment[];
  /**
   * Stores a new state. Throws ConflictError when it would make a second deploy of the target
   * `deploying`: the database, not a check-then-act, guarantees one at a time.
   */
  save(deployment: Deployment): void;
}

export interface ReleaseStore {
  /** Throws ConflictError when a release of that name is still scheduled, running or paused. */
  create(input: NewRelease, now: Date): Release;
  get(id: number): Release | undefined;
  findByRequestKey(key: string): Release | undefined;
  /** The scheduled, running or paused release of that name. */
  activeByName(name: string): Release | undefined;
  withStatus(status: ReleaseStatus): Release[];
  /** Newest first. */
  latest(limit: number): Release[];
  save(release: Release): void;
}

export interface LockStore {
  /** Throws ConflictError when the same target is already locked. */
  lock(lock: Lock): void;
  /** Removes the lock on exactly this target; returns it, or undefined when there was none. */
  unlock(environment: string, service: string | null): Lock | undefined;
  /** The lock that stops a deploy of this service here: its own, or its environment's. */
  covering(service: string, environment: string): Lock | undefined;
  list(): Lock[];
}

export interface AuditLog {
  record(entry: AuditEntry): void;
  /** Newest first; with a service, only what concerns it. */
  list(limit: number, service?: string): AuditEntry[];
}

/** Runs a function atomically: everything it writes lands, or nothing does. */
export interface UnitOfWork {
  transaction<T>(fn: () => T): T;
  /**
   * Runs reads against one snapshot of the database: what `fn` reads belongs together even while
   * another process writes, and the statements share one read lock instead of taking one each.
   * `fn` only reads; inside a transaction it simply runs.
   */
  read<T>(fn: () => T): T;
}

/**
 * Slack messages go out in order per flow; work (deploys) runs in parallel across flows; timers
 * fire when due, in any order.
 */
export type Lane = 'slack' | 'work' | 'timer';

/** A side effect as data, queued durably before anything performs it. */
export interface EffectSpec {
  /** Unique within the flow; with the flow ID it forms the idempotency key. */
  step: string;
  lane: Lane;
  type: string;
  payload: unknown;
  /** Not before this time: how timers are made. */
  notBefore?: Date;
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
  /**
   * Pending effects of a lane that are due, oldest first. In the slack and work lanes at most one
   * per flow, since order within a flow matters there; timers are independent.
   */
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
  /**
   * A canary step: send `weight` percent of traffic to `version`, the rest to `baselineVersion`.
   * 0 aborts the canary (all traffic back to the baseline); 100 promotes it.
   */
  canary?: { weight: number; baselineVersion: string | null };
}

export type DeployOutcome =
  | { ok: true; summary: string }
  | { ok: false; error: string; outputTail?: string };

/** Puts a version of a service into an environment. Resolves with the outcome; never throws for a failed deploy. */
export interface Deployer {
  deploy(request: DeployRequest): Promise<DeployOutcome>;
  /** Stops what it started and is still running, when Shipmate shuts down. */
  stop?(): void;
}

export interface DeployerFactory {
  forTarget(service: string, environment: string): Deployer;
}

/** Who is in a Slack user group (usergroups.users.list). */
export interface UserDirectory {
  membersOf(groupId: string): Promise<readonly string[]>;
}

/** The outcome of a version's commit checks on its repository. */
export type ChecksVerdict = { green: true; summary: string } | { green: false; problems: string[] };

/** CI results of a commit (GitHub: combined status and check runs). */
export interface CommitChecks {
  verify(repository: string, ref: string): Promise<ChecksVerdict>;
}

export interface TrainItem {
  service: string;
  version: string;
  queuedBy: string;
  queuedAt: Date;
}

/** What waits for each release train, and when each last departed. */
export interface TrainStore {
  /** Adds a service's version to the train, replacing a version queued earlier. */
  queue(train: string, item: TrainItem): void;
  items(train: string): TrainItem[];
  /** Empties the train's queue and returns what was in it. */
  take(train: string): TrainItem[];
  lastRunAt(train: string): Date | undefined;
  setLastRunAt(train: string, at: Date): void;
}

/** What an asynchronous deploy target reported about a deploy. */
export interface DeployReport {
  ok: boolean;
  detail: string;
}

/** Outcomes reported by deploy targets to POST /deployments/callback. */
export interface DeployCallbacks {
  /** Resolves with the report for this key (even one that came earlier), or undefined after `timeoutMs`. */
  wait(idempotencyKey: string, timeoutMs: number): Promise<DeployReport | undefined>;
}
