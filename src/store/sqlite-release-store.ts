import { ConflictError } from '../core/errors';
import type { ReleaseStore } from '../core/ports';
import type { NewRelease, Release, ReleaseStatus, Source } from '../core/types';
import type { Db } from './database';
import { limitTo, toDate as date, toIso } from './sql-values';

interface Row {
  id: number;
  name: string;
  environment: string;
  status: ReleaseStatus;
  waves: string;
  results: string;
  requested_by: string;
  source: Source;
  channel: string;
  notes: string | null;
  request_key: string | null;
  scheduled_for: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}


function toRelease(r: Row): Release {
  return {
    id: r.id,
    name: r.name,
    environment: r.environment,
    status: r.status,
    waves: JSON.parse(r.waves) as Release['waves'],
    results: JSON.parse(r.results) as Release['results'],
    requestedBy: r.requested_by,
    source: r.source,
    channel: r.channel,
    notes: r.notes,
    requestKey: r.request_key,
    scheduledFor: date(r.scheduled_for),
    createdAt: new Date(r.created_at),
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
  };
}

export function createSqliteReleaseStore(db: Db): ReleaseStore {
  const insert = db.prepare(`INSERT INTO releases
    (name, environment, status, waves, requested_by, source, channel, notes, request_key, scheduled_for, created_at)
    VALUES (@name, @environment, @status, @waves, @requestedBy, @source, @channel, @notes, @requestKey, @scheduledFor, @createdAt)`);
  const byId = db.prepare('SELECT * FROM releases WHERE id = ?');
  const byKey = db.prepare('SELECT * FROM releases WHERE request_key = ?');
  const activeByName = db.prepare(`SELECT * FROM releases WHERE name = ? AND status IN ('scheduled', 'running', 'paused')`);
  const withStatus = db.prepare('SELECT * FROM releases WHERE status = ? ORDER BY id');
  const latest = db.prepare(`SELECT * FROM releases ORDER BY id DESC ${limitTo('limit')}`);
  const update = db.prepare(`UPDATE releases SET status = @status, results = @results, started_at = @startedAt,
    finished_at = @finishedAt WHERE id = @id`);
  const one = (row: unknown) => (row ? toRelease(row as Row) : undefined);

  return {
    create(input: NewRelease, now: Date): Release {
      try {
        const { lastInsertRowid } = insert.run({
          ...input,
          status: 'scheduled',
          waves: JSON.stringify(input.waves),
          scheduledFor: toIso(input.scheduledFor),
          createdAt: now.toISOString(),
        });
        return toRelease(byId.get(lastInsertRowid) as Row);
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
        if (String((error as Error).message).includes('request_key')) {
          const earlier = byKey.get(input.requestKey) as Row | undefined;
          throw new ConflictError(`This request already created release #${earlier?.id ?? '?'} (${earlier?.name ?? 'unknown'}).`);
        }
        throw new ConflictError(`A release named "${input.name}" is already scheduled or running; pick another name or wait for it to finish.`);
      }
    },
    get: (id) => one(byId.get(id)),
    findByRequestKey: (key) => one(byKey.get(key)),
    activeByName: (name) => one(activeByName.get(name)),
    withStatus: (status) => (withStatus.all(status) as Row[]).map(toRelease),
    latest: (limit) => (latest.all({ limit }) as Row[]).map(toRelease),
    save(r: Release): void {
      update.run({
        id: r.id,
        status: r.status,
        results: JSON.stringify(r.results),
        startedAt: toIso(r.startedAt),
        finishedAt: toIso(r.finishedAt),
      });
    },
  };
}
