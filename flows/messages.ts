import type { Deployment } from '../src/core/types';

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
}

export type MessageModel = DeployCard;

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

export interface ThreadReply {
  /** The message to reply under. */
  messageKey: string;
  text: string;
  /** Shown as a preformatted block, e.g. the tail of a command's output. */
  preformatted?: string;
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
  };
}
