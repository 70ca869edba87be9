import { ConflictError } from '../core/errors';
import type { Incident, IncidentStore, SloState, SloStateStore } from '../core/incident';
import type { Db } from './database';
import { toDate, toIso } from './sql-values';

interface IncidentRow {
  id: number;
  service: string;
  slo: string;
  source: Incident['source'];
  status: Incident['status'];
  severity: Incident['severity'];
  channel: string;
  environment: string;
  snapshot: string;
  revision: number;
  acknowledged_by: string | null;
  rollback: string | null;
  releases_paused_by: string | null;
  opened_at: string;
  resolved_at: string | null;
}

const toIncident = (r: IncidentRow): Incident => ({
  id: r.id,
  service: r.service,
  slo: r.slo,
  source: r.source,
  status: r.status,
  severity: r.severity,
  channel: r.channel,
  environment: r.environment,
  snapshot: JSON.parse(r.snapshot) as Incident['snapshot'],
  revision: r.revision,
  acknowledgedBy: r.acknowledged_by,
  rollback: r.rollback ? (JSON.parse(r.rollback) as Incident['rollback']) : null,
  releasesPausedBy: r.releases_paused_by,
  openedAt: new Date(r.opened_at),
  resolvedAt: toDate(r.resolved_at),
});

export function createSqliteIncidentStore(db: Db): IncidentStore {
  const insert = db.prepare(`INSERT INTO incidents (service, slo, source, status, severity, channel, environment, snapshot, opened_at)
    VALUES (@service, @slo, @source, 'firing', @severity, @channel, @environment, @snapshot, @openedAt)`);
  const byId = db.prepare('SELECT * FROM incidents WHERE id = ?');
  const firing = db.prepare(`SELECT * FROM incidents WHERE service = ? AND slo = ? AND source = ? AND status = 'firing'`);
  const allFiring = db.prepare(`SELECT * FROM incidents WHERE status = 'firing' AND (@service IS NULL OR service = @service) ORDER BY id`);
  const linkedTo = db.prepare(`SELECT * FROM incidents WHERE json_extract(rollback, '$.deploymentId') = ? ORDER BY id DESC`);
  const update = db.prepare(`UPDATE incidents SET status = @status, severity = @severity, snapshot = @snapshot, revision = @revision,
    acknowledged_by = @acknowledgedBy, rollback = @rollback, releases_paused_by = @releasesPausedBy, resolved_at = @resolvedAt WHERE id = @id`);
  const one = (row: unknown) => (row ? toIncident(row as IncidentRow) : undefined);
  return {
    create(input, now) {
      try {
        const { lastInsertRowid } = insert.run({ ...input, snapshot: JSON.stringify(input.snapshot), openedAt: now.toISOString() });
        return one(byId.get(lastInsertRowid))!;
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ConflictError(`${input.service} already has a firing incident for ${input.slo}.`);
        throw error;
      }
    },
    get: (id) => one(byId.get(id)),
    firing: (service, slo, source = 'slo') => one(firing.get(service, slo, source)),
    allFiring: (service) => (allFiring.all({ service: service ?? null }) as IncidentRow[]).map(toIncident),
    linkedTo: (deploymentId) => (linkedTo.all(deploymentId) as IncidentRow[]).map(toIncident),
    save(i) {
      update.run({
        id: i.id,
        status: i.status,
        severity: i.severity,
        snapshot: JSON.stringify(i.snapshot),
        revision: i.revision,
        acknowledgedBy: i.acknowledgedBy,
        rollback: i.rollback ? JSON.stringify(i.rollback) : null,
        releasesPausedBy: i.releasesPausedBy,
        resolvedAt: toIso(i.resolvedAt),
      });
    },
  };
}

interface SloRow {
  service: string;
  slo: string;
  evaluated_at: string;
  evaluation: string;
  error: string | null;
  traffic_stopped: number;
}

const toState = (r: SloRow): SloState => ({
  service: r.service,
  slo: r.slo,
  evaluatedAt: new Date(r.evaluated_at),
  evaluation: JSON.parse(r.evaluation) as SloState['evaluation'],
  error: r.error,
  trafficStopped: r.traffic_stopped === 1,
});

export function createSqliteSloStateStore(db: Db): SloStateStore {
  const get = db.prepare('SELECT * FROM slo_states WHERE service = ? AND slo = ?');
  const put = db.prepare(`INSERT OR REPLACE INTO slo_states (service, slo, evaluated_at, evaluation, error, traffic_stopped)
    VALUES (@service, @slo, @evaluatedAt, @evaluation, @error, @trafficStopped)`);
  const list = db.prepare('SELECT * FROM slo_states WHERE (@service IS NULL OR service = @service) ORDER BY service, slo');
  return {
    get: (service, slo) => {
      const row = get.get(service, slo) as SloRow | undefined;
      return row && toState(row);
    },
    put: (s) =>
      void put.run({ service: s.service, slo: s.slo, evaluatedAt: s.evaluatedAt.toISOString(), evaluation: JSON.stringify(s.evaluation), error: s.error, trafficStopped: s.trafficStopped ? 1 : 0 }),
    list: (service) => (list.all({ service: service ?? null }) as SloRow[]).map(toState),
  };
}
