import type { FlagChangeRecord } from '../src/core/flags';
import type { Incident } from '../src/core/incident';
import type { CanaryRun, Deployment, Release, ServiceRun } from '../src/core/types';

/**
 * Messages as data. Flows say what to show; the Slack adapter decides how it looks (Block Kit),
 * the console prints text. Dates are ISO strings so the payloads survive a trip through SQLite.
 */
export interface DeployCard {
  kind: 'deploy';
  deploymentId: number;
  service: string;
  environment: string;
  version: string;
  status: Deployment['status'];
  requestedBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  approvalsRequired: number;
  approvals: { userId: string; at: string }[];
  expiresAt: string | null;
  decidedBy: string | null;
  decisionReason: string | null;
  breakGlassReason: string | null;
  /** On a rollback: the version it takes back. */
  rollbackFrom: string | null;
  /** The known good version before this deploy finished; its Roll back button leads there. */
  previousGood: string | null;
  /** A canary deploy's progress. */
  canary: CanaryCardState | null;
}

export interface CanaryCardState {
  status: CanaryRun['status'];
  weight: number;
  /** 1-based step under way, and how many there are. */
  step: number;
  steps: number;
  baselineVersion: string | null;
  pausedFor: string | null;
}

export interface ReleaseCard {
  kind: 'release';
  releaseId: number;
  name: string;
  environment: string;
  status: Release['status'];
  waves: { index: number; services: { name: string; version: string; externalDependencies: string[]; run: ServiceRun }[] }[];
  requestedBy: string;
  notes: string | null;
  scheduledFor: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface IncidentCard {
  kind: 'incident';
  incidentId: number;
  service: string;
  environment: string;
  slo: string;
  source: Incident['source'];
  status: Incident['status'];
  severity: Incident['severity'];
  snapshot: Incident['snapshot'];
  acknowledgedBy: string | null;
  rollback: Incident['rollback'];
  releasesPausedBy: string | null;
  openedAt: string;
  resolvedAt: string | null;
}

export interface FlagChangeCard {
  kind: 'flag';
  changeId: number;
  flag: string;
  environment: string;
  change: FlagChangeRecord['change'];
  status: FlagChangeRecord['status'];
  requestedBy: string;
  scheduledFor: string | null;
  approvalsRequired: number;
  approvals: { userId: string; at: string }[];
  expiresAt: string | null;
  before: FlagChangeRecord['before'];
  undoOf: number | null;
  reason: string | null;
  error: string | null;
  createdAt: string;
  appliedAt: string | null;
}

export type MessageModel = DeployCard | ReleaseCard | IncidentCard | FlagChangeCard;

export function flagChangeCard(c: FlagChangeRecord): FlagChangeCard {
  return {
    kind: 'flag',
    changeId: c.id,
    flag: c.flag,
    environment: c.environment,
    change: c.change,
    status: c.status,
    requestedBy: c.requestedBy,
    scheduledFor: c.scheduledFor?.toISOString() ?? null,
    approvalsRequired: c.approvalsRequired,
    approvals: c.approvals.map((a) => ({ userId: a.userId, at: a.at.toISOString() })),
    expiresAt: c.expiresAt?.toISOString() ?? null,
    before: c.before,
    undoOf: c.undoOf,
    reason: c.reason,
    error: c.error,
    createdAt: c.createdAt.toISOString(),
    appliedAt: c.appliedAt?.toISOString() ?? null,
  };
}

export interface PostMessage {
  /** Names the message for later updates and thread replies, e.g. `deploy:42`. */
  messageKey: string;
  channel: string;
  message: MessageModel;
}

export interface UpdateMessage {
  messageKey: string;
  message: MessageModel;
}

/** A reply in a message's thread. Text is plain: the renderer escapes it. */
export interface ThreadReply {
  /** The message to reply under. */
  messageKey: string;
  /** People to notify, mentioned before the text. */
  mention?: string[];
  text: string;
  /** Shown as a preformatted block, e.g. the tail of a command's output. */
  preformatted?: string;
  /** Also show it in the channel, not only in the thread: for announcements. */
  broadcast?: boolean;
}

/** A message of its own in a channel, not a flow's card: e.g. a train that left empty. */
export interface Announcement {
  channel: string;
  text: string;
}

export function deployCard(d: Deployment): DeployCard {
  return {
    kind: 'deploy',
    deploymentId: d.id,
    service: d.service,
    environment: d.environment,
    version: d.version,
    status: d.status,
    requestedBy: d.requestedBy,
    createdAt: d.createdAt.toISOString(),
    startedAt: d.startedAt?.toISOString() ?? null,
    finishedAt: d.finishedAt?.toISOString() ?? null,
    error: d.error,
    approvalsRequired: d.approvalsRequired,
    approvals: d.approvals.map((a) => ({ userId: a.userId, at: a.at.toISOString() })),
    expiresAt: d.expiresAt?.toISOString() ?? null,
    decidedBy: d.decidedBy,
    decisionReason: d.decisionReason,
    breakGlassReason: d.breakGlassReason,
    rollbackFrom: d.rollbackFrom ?? null,
    previousGood: d.previousGood ?? null,
    canary: d.canary
      ? {
          status: d.canary.status,
          weight: d.canary.weight,
          step: Math.min(d.canary.stepIndex + 1, d.canary.steps.length),
          steps: d.canary.steps.length,
          baselineVersion: d.canary.baselineVersion,
          pausedFor: d.canary.pausedFor,
        }
      : null,
  };
}

export function incidentCard(i: Incident): IncidentCard {
  return {
    kind: 'incident',
    incidentId: i.id,
    service: i.service,
    environment: i.environment,
    slo: i.slo,
    source: i.source,
    status: i.status,
    severity: i.severity,
    snapshot: i.snapshot,
    acknowledgedBy: i.acknowledgedBy,
    rollback: i.rollback,
    releasesPausedBy: i.releasesPausedBy,
    openedAt: i.openedAt.toISOString(),
    resolvedAt: i.resolvedAt?.toISOString() ?? null,
  };
}

export function releaseCard(r: Release): ReleaseCard {
  return {
    kind: 'release',
    releaseId: r.id,
    name: r.name,
    environment: r.environment,
    status: r.status,
    waves: r.waves.map((w) => ({
      index: w.index,
      services: w.services.map((s) => ({ ...s, run: r.results[s.name] ?? { status: 'pending' } })),
    })),
    requestedBy: r.requestedBy,
    notes: r.notes,
    scheduledFor: r.scheduledFor?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

/** One metric of a canary chart: the canary's values and, where the metric has one, the baseline's. */
export interface ChartSeries {
  name: string;
  canary: { at: string; value: number }[];
  baseline: { at: string; value: number }[];
}

/** A chart of canary against baseline, one panel per metric, uploaded as a PNG into a message's thread. */
export interface ThreadChart {
  /** The message whose thread gets the file. */
  messageKey: string;
  /** e.g. "api 1.4.2 canary in prod: checkout-health". */
  title: string;
  filename: string;
  /** Posted with the file, e.g. the analysis verdict. */
  comment: string;
  series: ChartSeries[];
}
