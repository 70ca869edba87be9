import type { TrainItem, TrainStore } from '../core/ports';
import type { Db } from './database';

interface Row {
  service: string;
  version: string;
  queued_by: string;
  queued_at: string;
}

const toItem = (r: Row): TrainItem => ({ service: r.service, version: r.version, queuedBy: r.queued_by, queuedAt: new Date(r.queued_at) });

export function createSqliteTrainStore(db: Db): TrainStore {
  const upsert = db.prepare(`INSERT INTO train_items (train, service, version, queued_by, queued_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (train, service) DO UPDATE SET version = excluded.version, queued_by = excluded.queued_by, queued_at = excluded.queued_at`);
  const items = db.prepare('SELECT * FROM train_items WHERE train = ? ORDER BY queued_at, service');
  const clear = db.prepare('DELETE FROM train_items WHERE train = ?');
  const last = db.prepare('SELECT last_run_at FROM trains WHERE name = ?').pluck();
  const setLast = db.prepare('INSERT INTO trains (name, last_run_at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at');
  const list = (train: string) => (items.all(train) as Row[]).map(toItem);
  return {
    queue: (train, i) => void upsert.run(train, i.service, i.version, i.queuedBy, i.queuedAt.toISOString()),
    items: list,
    take: db.transaction((train: string) => {
      const taken = list(train);
      clear.run(train);
      return taken;
    }),
    lastRunAt: (train) => {
      const at = last.get(train) as string | undefined;
      return at ? new Date(at) : undefined;
    },
    setLastRunAt: (train, at) => void setLast.run(train, at.toISOString()),
  };
}
