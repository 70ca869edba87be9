import { ConflictError } from '../core/errors';
import type { DeploymentStore } from '../core/ports';
import type { Approval, CanaryRun, Deployment, DeploymentStatus, NewDeployment, Source } from '../core/types';
import type { Db } from './database';
import { limitTo, toDate as date, toIso as iso } from './sql-values';

interface Row {
  id: number;
  service: string;
  environment: string;
  version: string;
  status: DeploymentStatus;
  requested_by: string;
  source: Source;
  channel: string;
  request_key: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  approvals_required: number;
  approvals: string;
  expires_at: string | null;
  decided_by: string | null;
  decision_reason: string | null;
  wait_in_queue: number;
  break_glass_reason: string | null;
  release_id: number | null;
  rollback_of: number | null;
  rollback_from: string | null;
  rolled_back: number;
  previous_good: string | null;
  canary: string | null;
}


function toDeployment(row: Row): Deployment {
  return {
    id: row.id,
    service: row.service,
    environment: row.environment,
    version: row.version,
    status: row.status,
    requestedBy: row.requested_by,
    source: row.source,
    channel: row.channel,
    requestKey: row.request_key,
    createdAt: new Date(row.created_at),
    startedAt: date(row.started_at),
    finishedAt: date(row.finished_at),
    error: row.error,
    approvalsRequired: row.approvals_required,
    approvals: (JSON.parse(row.approvals) as { userId: string; at: string }[]).map(
      (a): Approval => ({ userId: a.userId, at: new Date(a.at) }),
    ),
    expiresAt: date(row.expires_at),
    decidedBy: row.decided_by,
    decisionReason: row.decision_reason,
    waitInQueue: row.wait_in_queue === 1,
    breakGlassReason: row.break_glass_reason,
    releaseId: row.release_id,
    rollbackOf: row.rollback_of,
    rollbackFrom: row.rollback_from,
    rolledBack: row.rolled_back === 1,
    previousGood: row.previous_good,
    canary: row.canary ? (JSON.parse(row.canary) as CanaryRun) : null,
  };
}

const isUniqueViolation = (error: unknown): boolean =>
  (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';

export function createSqliteDeploymentStore(db: Db): DeploymentStore {
  const insert = db.prepare(`INSERT INTO deployments
    (service, environment, version, status, requested_by, source, channel, request_key, created_at,
     approvals_required, expires_at, wait_in_queue, break_glass_reason, release_id, rollback_of, rollback_from)
    VALUES (@service, @environment, @version, @status, @requestedBy, @source, @channel, @requestKey, @createdAt,
     @approvalsRequired, @expiresAt, @waitInQueue, @breakGlassReason, @releaseId, @rollbackOf, @rollbackFrom)`);
  const byId = db.prepare('SELECT * FROM deployments WHERE id = ?');
  const byRequestKey = db.prepare('SELECT * FROM deployments WHERE request_key = ?');
  const active = db.prepare(`SELECT * FROM deployments WHERE service = ? AND environment = ?
    AND status IN ('awaiting_approval', 'queued', 'deploying') ORDER BY status = 'deploying' DESC, id LIMIT 1`);
  // Rollbacks go first: they are how people get out of trouble.
  const queued = db.prepare(`SELECT * FROM deployments WHERE service = ? AND environment = ? AND status = 'queued'
    ORDER BY rollback_of IS NULL, id`);
  const withStatus = db.prepare('SELECT * FROM deployments WHERE status = ? ORDER BY id');
  // The newest deploy of each target asked for: one seek per target into deployments_by_target,
  // however many deploys the table holds (grouping the whole index took 11.6 ms at 100,000 deploys).
  const latestOfTargets = db.prepare(`SELECT d.* FROM json_each(@targets) t
    JOIN deployments d ON d.id = (SELECT MAX(id) FROM deployments WHERE service = t.value ->> 0 AND environment = t.value ->> 1)
    ORDER BY t.key`);
  // Two statements, so each has an index that already holds the rows newest first.
  const historyOfTarget = db.prepare(`SELECT * FROM deployments WHERE service = @service AND environment = @environment ORDER BY id DESC ${limitTo('limit')}`);
  const historyOfService = db.prepare(`SELECT * FROM deployments WHERE service = @service ORDER BY id DESC ${limitTo('limit')}`);
  const update = db.prepare(`UPDATE deployments SET status = @status, started_at = @startedAt,
    finished_at = @finishedAt, error = @error, approvals = @approvals, decided_by = @decidedBy,
    decision_reason = @decisionReason, rolled_back = @rolledBack, previous_good = @previousGood, canary = @canary WHERE id = @id`);
  const good = db.prepare(`SELECT * FROM deployments WHERE service = @service AND environment = @environment
    AND status = 'succeeded' AND rolled_back = 0 ORDER BY id DESC ${limitTo('limit')}`);

  const one = (row: unknown): Deployment | undefined => (row ? toDeployment(row as Row) : undefined);

  return {
    create(input: NewDeployment, now: Date): Deployment {
      const { lastInsertRowid } = insert.run({
        ...input,
        status: input.approvalsRequired > 0 ? 'awaiting_approval' : 'queued',
        createdAt: now.toISOString(),
        expiresAt: iso(input.expiresAt),
        waitInQueue: input.waitInQueue ? 1 : 0,
        releaseId: input.releaseId ?? null,
        rollbackOf: input.rollbackOf ?? null,
        rollbackFrom: input.rollbackFrom ?? null,
      });
      return toDeployment(byId.get(lastInsertRowid) as Row);
    },
    get: (id) => one(byId.get(id)),
    findByRequestKey: (key) => one(byRequestKey.get(key)),
    active: (service, environment) => one(active.get(service, environment)),
    queued: (service, environment) => (queued.all(service, environment) as Row[]).map(toDeployment),
    good: (service, environment, limit) => (good.all({ service, environment, limit }) as Row[]).map(toDeployment),
    withStatus: (status) => (withStatus.all(status) as Row[]).map(toDeployment),
    latestOf: (targets) => (latestOfTargets.all({ targets: JSON.stringify(targets.map((t) => [t.service, t.environment])) }) as Row[]).map(toDeployment),
    history: (service, environment, limit) =>
      ((environment === undefined ? historyOfService.all({ service, limit }) : historyOfTarget.all({ service, environment, limit })) as Row[]).map(toDeployment),
    save(d: Deployment): void {
      try {
        update.run({
          id: d.id,
          status: d.status,
          startedAt: iso(d.startedAt),
          finishedAt: iso(d.finishedAt),
          error: d.error,
          approvals: JSON.stringify(d.approvals),
          decidedBy: d.decidedBy,
          decisionReason: d.decisionReason,
          rolledBack: d.rolledBack ? 1 : 0,
          previousGood: d.previousGood ?? null,
          canary: d.canary ? JSON.stringify(d.canary) : null,
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`${d.service} is already being deployed to ${d.environment}.`);
        throw error;
      }
    },
  };
}
