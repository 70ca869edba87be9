import { ConflictError } from '../core/errors';
import type { DeploymentStore } from '../core/ports';
import type { Deployment, DeploymentStatus, NewDeployment, Source } from '../core/types';
import type { Db } from './database';

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
}

const date = (value: string | null): Date | null => (value === null ? null : new Date(value));
const iso = (value: Date | null): string | null => value?.toISOString() ?? null;

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
  };
}

export function createSqliteDeploymentStore(db: Db): DeploymentStore {
  const insert = db.prepare(`INSERT INTO deployments
    (service, environment, version, status, requested_by, source, channel, request_key, created_at)
    VALUES (@service, @environment, @version, 'queued', @requestedBy, @source, @channel, @requestKey, @createdAt)`);
  const byId = db.prepare('SELECT * FROM deployments WHERE id = ?');
  const byRequestKey = db.prepare('SELECT * FROM deployments WHERE request_key = ?');
  const active = db.prepare(
    `SELECT * FROM deployments WHERE service = ? AND environment = ? AND status IN ('queued', 'deploying')`,
  );
  const withStatus = db.prepare('SELECT * FROM deployments WHERE status = ? ORDER BY id');
  const latest = db.prepare(`SELECT d.* FROM deployments d
    JOIN (SELECT MAX(id) AS id FROM deployments WHERE (@service IS NULL OR service = @service)
          GROUP BY service, environment) newest ON newest.id = d.id
    ORDER BY d.service, d.environment`);
  const history = db.prepare(`SELECT * FROM deployments
    WHERE service = @service AND (@environment IS NULL OR environment = @environment)
    ORDER BY id DESC LIMIT @limit`);
  const update = db.prepare(`UPDATE deployments SET status = @status, started_at = @startedAt,
    finished_at = @finishedAt, error = @error WHERE id = @id`);

  return {
    create(input: NewDeployment, now: Date): Deployment {
      try {
        const { lastInsertRowid } = insert.run({ ...input, createdAt: now.toISOString() });
        return toDeployment(byId.get(lastInsertRowid) as Row);
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new ConflictError(`${input.service} is already being deployed to ${input.environment}.`);
        }
        throw error;
      }
    },
    get: (id) => {
      const row = byId.get(id) as Row | undefined;
      return row && toDeployment(row);
    },
    findByRequestKey: (key) => {
      const row = byRequestKey.get(key) as Row | undefined;
      return row && toDeployment(row);
    },
    active: (service, environment) => {
      const row = active.get(service, environment) as Row | undefined;
      return row && toDeployment(row);
    },
    withStatus: (status) => (withStatus.all(status) as Row[]).map(toDeployment),
    latestPerTarget: (service) => (latest.all({ service: service ?? null }) as Row[]).map(toDeployment),
    history: (service, environment, limit) =>
      (history.all({ service, environment: environment ?? null, limit }) as Row[]).map(toDeployment),
    save(d: Deployment): void {
      update.run({ id: d.id, status: d.status, startedAt: iso(d.startedAt), finishedAt: iso(d.finishedAt), error: d.error });
    },
  };
}
