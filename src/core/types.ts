/** Where a request came from, for the audit log. */
export type Source = 'slash_command' | 'button' | 'cli' | 'api' | 'system';

/** Who asked for something: a Slack user ID, or `system` for Shipmate itself. */
export interface Actor {
  userId: string;
  source: Source;
}

export type DeploymentStatus =
  | 'awaiting_approval'
  | 'queued'
  | 'deploying'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'expired';

/** Statuses of a deploy that is not over yet. */
export const ACTIVE_STATUSES: readonly DeploymentStatus[] = ['awaiting_approval', 'queued', 'deploying'];

export interface Approval {
  userId: string;
  at: Date;
}

/** Where a service is deployed: one of its environments. */
export interface Target {
  service: string;
  environment: string;
}

export interface Deployment {
  id: number;
  service: string;
  environment: string;
  version: string;
  status: DeploymentStatus;
  requestedBy: string;
  source: Source;
  /** Slack channel the deploy message lives in. */
  channel: string;
  /** Slack's trigger_id (or another caller key): the same request twice starts one deploy. */
  requestKey: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** What went wrong, in words a person can act on. */
  error: string | null;
  /** How many approvals the environment's policy asked for when the deploy was requested; 0: none. */
  approvalsRequired: number;
  approvals: Approval[];
  /** When a pending approval request expires. */
  expiresAt: Date | null;
  /** Who rejected it, and why. */
  decidedBy: string | null;
  decisionReason: string | null;
  /** Asked with --queue: wait behind a running deploy or a lock instead of being refused. */
  waitInQueue: boolean;
  /** Set when a freeze window was overridden with --break-glass. */
  breakGlassReason: string | null;
  /** The release this deploy is part of, if any. */
  releaseId?: number | null;
  /** Set on a rollback: the deploy it undoes, and that deploy's version. */
  rollbackOf?: number | null;
  rollbackFrom?: string | null;
  /** The known good version before this deploy finished: where its Roll back button leads. */
  previousGood?: string | null;
  /** A later rollback undid this deploy: its version is no longer a known good one. */
  rolledBack?: boolean;
  /** Set while and after the deploy ran as a canary. */
  canary?: CanaryRun | null;
}

export type CanaryStatus = 'running' | 'paused' | 'aborting' | 'promoted' | 'rolled-back' | 'abort-failed';

/** A canary deploy's progress through its steps; lives with its deployment. */
export interface CanaryRun {
  status: CanaryStatus;
  steps: import('./canary-config').CanaryStep[];
  /** The analyses its steps name, as configured when it started. */
  analyses: Record<string, import('./canary-config').AnalysisSpec>;
  /** The version serving the rest of the traffic; null on a first deploy. */
  baselineVersion: string | null;
  /** The step under way; `steps.length` is the final move to 100%. */
  stepIndex: number;
  /** Percent of traffic on the new version. */
  weight: number;
  analysis: import('./canary-analysis').AnalysisProgress | null;
  /** Why it waits for a person (an inconclusive analysis). */
  pausedFor: string | null;
  /** Why it was rolled back, in words. */
  reason: string | null;
  /** Who promoted it anyway or rolled it back. */
  decidedBy: string | null;
  /** Flag changes its flag steps asked for, undone if the canary is rolled back. */
  flagChanges?: number[];
  /** Measured values, oldest first, for the chart: per check (or comparison metric) the canary's and the baseline's. */
  points: { at: string; series: string; canary: import('./canary-analysis').WireNumber; baseline?: import('./canary-analysis').WireNumber }[];
}

export type NewDeployment = Pick<
  Deployment,
  | 'service'
  | 'environment'
  | 'version'
  | 'requestedBy'
  | 'source'
  | 'channel'
  | 'requestKey'
  | 'approvalsRequired'
  | 'expiresAt'
  | 'waitInQueue'
  | 'breakGlassReason'
  | 'releaseId'
  | 'rollbackOf'
  | 'rollbackFrom'
>;

/** A lock on a whole environment (service null) or on one service in it. */
export interface Lock {
  environment: string;
  service: string | null;
  reason: string;
  lockedBy: string;
  lockedAt: Date;
}

export interface AuditEntry {
  at: Date;
  actor: string;
  source: Source;
  action: string;
  /** What the action was about, e.g. `api/staging`. */
  subject: string;
  detail?: Record<string, unknown>;
}

export type ReleaseStatus = 'scheduled' | 'running' | 'paused' | 'succeeded' | 'failed' | 'aborted' | 'missed';

/** How one service of a release fared. */
export interface ServiceRun {
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  deploymentId?: number;
  error?: string;
}

/** A multi-service release: services deployed in waves, each wave after the one before succeeded. */
export interface Release {
  id: number;
  name: string;
  environment: string;
  status: ReleaseStatus;
  waves: import('./release-plan').Wave[];
  results: Record<string, ServiceRun>;
  requestedBy: string;
  source: Source;
  channel: string;
  notes: string | null;
  requestKey: string | null;
  scheduledFor: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export type NewRelease = Pick<
  Release,
  'name' | 'environment' | 'waves' | 'requestedBy' | 'source' | 'channel' | 'notes' | 'requestKey' | 'scheduledFor'
>;
