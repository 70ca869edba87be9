/** Where a request came from, for the audit log. */
export type Source = 'slash_command' | 'button' | 'cli' | 'api' | 'system';

/** Who asked for something: a Slack user ID, or `system` for Shipmate itself. */
export interface Actor {
  userId: string;
  source: Source;
}

export type DeploymentStatus = 'queued' | 'deploying' | 'succeeded' | 'failed';

export const ACTIVE_STATUSES: readonly DeploymentStatus[] = ['queued', 'deploying'];

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
}

export type NewDeployment = Pick<
  Deployment,
  'service' | 'environment' | 'version' | 'requestedBy' | 'source' | 'channel' | 'requestKey'
>;

export interface AuditEntry {
  at: Date;
  actor: string;
  source: Source;
  action: string;
  /** What the action was about, e.g. `api/staging`. */
  subject: string;
  detail?: Record<string, unknown>;
}
