import { ConflictError } from '../core/errors';
import type { LockStore } from '../core/ports';
import type { Lock } from '../core/types';
import type { Db } from './database';

interface Row {
  environment: string;
  service: string | null;
  reason: string;
  locked_by: string;
  locked_at: string;
}

const toLock = (r: Row): Lock => ({
  environment: r.environment,
  service: r.service,
  reason: r.reason,
  lockedBy: r.locked_by,
  lockedAt: new Date(r.locked_at),
});

export function createSqliteLockStore(db: Db): LockStore {
  const insert = db.prepare('INSERT INTO locks (environment, service, reason, locked_by, locked_at) VALUES (?, ?, ?, ?, ?)');
  const exact = db.prepare('SELECT * FROM locks WHERE environment = ? AND IFNULL(service, \'\') = IFNULL(?, \'\')');
  const remove = db.prepare('DELETE FROM locks WHERE environment = ? AND IFNULL(service, \'\') = IFNULL(?, \'\')');
  // The environment-wide lock first: it is the one to lift before anything else helps.
  const covering = db.prepare(
    'SELECT * FROM locks WHERE environment = ? AND (service IS NULL OR service = ?) ORDER BY service IS NOT NULL LIMIT 1',
  );
  const list = db.prepare('SELECT * FROM locks ORDER BY environment, IFNULL(service, \'\')');

  return {
    lock(l: Lock): void {
      try {
        insert.run(l.environment, l.service, l.reason, l.lockedBy, l.lockedAt.toISOString());
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
        const held = toLock(exact.get(l.environment, l.service) as Row);
        throw new ConflictError(`${l.service ? `${l.service} in ` : ''}${l.environment} is already locked by <@${held.lockedBy}>: ${held.reason}`);
      }
    },
    unlock(environment, service) {
      const row = exact.get(environment, service) as Row | undefined;
      if (row) remove.run(environment, service);
      return row && toLock(row);
    },
    covering(service, environment) {
      const row = covering.get(environment, service) as Row | undefined;
      return row && toLock(row);
    },
    list: () => (list.all() as Row[]).map(toLock),
  };
}
