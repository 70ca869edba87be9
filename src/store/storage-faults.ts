import type { Clock } from '../core/clock';
import { type StorageProblem, StorageUnavailableError } from '../core/errors';
import type { UnitOfWork } from '../core/ports';
import type { Db } from './database';

/** Result codes another try may get past; extended codes (SQLITE_IOERR_WRITE, SQLITE_BUSY_SNAPSHOT) start with them. */
const PROBLEMS: readonly (readonly [code: string, problem: StorageProblem])[] = [
  ['SQLITE_BUSY', 'busy'],
  ['SQLITE_LOCKED', 'busy'],
  ['SQLITE_FULL', 'full'],
  ['SQLITE_IOERR', 'io'],
  ['SQLITE_READONLY', 'io'],
];

/**
 * The StorageUnavailableError an SQLite error stands for; undefined for anything else (a constraint,
 * a bug). Told by name, not instanceof: the native addon keeps the SqliteError class (and Error) of
 * the first load of better-sqlite3, which another module registry or realm (jest's, one per test
 * file) does not share.
 */
export function asStorageFault(error: unknown): StorageUnavailableError | undefined {
  const { name, code } = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; code?: unknown };
  if (name !== 'SqliteError' || typeof code !== 'string') return undefined;
  const found = PROBLEMS.find(([prefix]) => code === prefix || code.startsWith(`${prefix}_`));
  return found && new StorageUnavailableError(found[1], code, { cause: error });
}

const WHY: Record<StorageProblem, string> = {
  busy: 'another connection holds the write lock',
  full: 'the disk is full',
  io: 'the disk failed a write',
};

/** How long a refused write keeps /readyz at "not ready" when nothing has written since. */
export const FAULT_MEMORY_MS = 30_000;

export interface GuardedUnitOfWork extends UnitOfWork {
  /**
   * Why the database cannot take writes now, or undefined when it can: its write lock is taken
   * (asked without waiting, so it never stalls the process), or a write failed lately and none has
   * succeeded since.
   */
  writeProblem(): string | undefined;
}

/**
 * Transactions that take the write lock up front (BEGIN IMMEDIATE), so a busy database fails before
 * anything is written. A busy, full or failing database comes out as a StorageUnavailableError,
 * reported once to `onFault`; SQLite has rolled the whole transaction back by then.
 */
export function sqliteUnitOfWork(db: Db, options: { clock?: Clock; onFault?: (fault: StorageUnavailableError) => void } = {}): GuardedUnitOfWork {
  const now = () => (options.clock?.() ?? new Date()).getTime();
  let last: { fault: StorageUnavailableError; at: number } | undefined;

  const lockProblem = (): string | undefined => {
    if (db.inTransaction) return undefined;
    const wait = db.pragma('busy_timeout', { simple: true }) as number;
    db.pragma('busy_timeout = 0');
    try {
      db.exec('BEGIN IMMEDIATE');
      db.exec('ROLLBACK');
      return undefined;
    } catch (error) {
      const fault = asStorageFault(error);
      if (!fault) throw error;
      return `${fault.storeCode}: ${WHY[fault.problem]}`;
    } finally {
      db.pragma(`busy_timeout = ${wait}`);
    }
  };

  const begin = db.prepare('BEGIN DEFERRED');
  const commit = db.prepare('COMMIT');

  return {
    read(fn) {
      if (db.inTransaction) return fn();
      // The first statement takes the snapshot; ending the transaction lets it go.
      begin.run();
      try {
        const result = fn();
        if (result instanceof Promise) {
          result.catch(() => undefined); // refused below; its own failure would only be an unhandled rejection
          throw new TypeError('UnitOfWork.read takes a synchronous function: the snapshot ends when it returns');
        }
        return result;
      } finally {
        if (db.inTransaction) commit.run();
      }
    },
    transaction(fn) {
      const outermost = !db.inTransaction;
      try {
        const result = db.transaction(fn).immediate();
        if (outermost) last = undefined;
        return result;
      } catch (error) {
        // A nested transaction converted it already; the outer one passes it on without a second report.
        const fault = asStorageFault(error);
        if (!fault) throw error;
        last = { fault, at: now() };
        options.onFault?.(fault);
        throw fault;
      }
    },
    writeProblem() {
      const locked = lockProblem();
      if (locked) return locked;
      // The lock is free again, so a busy database is over; a full or failing disk is not known to be.
      if (!last || last.fault.problem === 'busy' || now() - last.at > FAULT_MEMORY_MS) return undefined;
      return `${last.fault.storeCode}: ${WHY[last.fault.problem]} (a write failed ${Math.round((now() - last.at) / 1000)} s ago)`;
    },
  };
}
