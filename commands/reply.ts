import type { AuditEntry, DeploymentStatus, Lock } from '../src/core/types';

/** One line of a status or history listing. */
export interface DeploymentLine {
  service: string;
  environment: string;
  version: string | null;
  status: DeploymentStatus | 'never';
  requestedBy: string | null;
  /** When it finished, or started, or was asked for: the most recent of these. */
  at: string | null;
  deploymentId: number | null;
  /** Why it failed or was rejected. */
  error: string | null;
}

type Dated<T, K extends keyof T> = Omit<T, K> & { [P in K]: string };

/**
 * What a command answers, independent of where it is shown: Slack renders Block Kit, the console
 * prints text. Replies to slash commands are ephemeral: only the person who typed sees them.
 */
export type Reply =
  | { kind: 'text'; text: string }
  | { kind: 'error'; text: string; usage?: string }
  | { kind: 'deployments'; title: string; lines: DeploymentLine[]; empty: string; locks?: Dated<Lock, 'lockedAt'>[] }
  | { kind: 'audit'; title: string; entries: Dated<AuditEntry, 'at'>[]; empty: string };
