import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageUnavailableError } from '../../../src/core/errors';
import { BUSY_TIMEOUT_MS, type Db, migrate, openDatabase } from '../../../src/store/database';
import { asStorageFault, FAULT_MEMORY_MS, sqliteUnitOfWork } from '../../../src/store/storage-faults';

/**
 * Two connections to one file in one process: the second is refused the write lock at once
 * (busy_timeout 0), so nothing here waits.
 */
describe('SQLite faults in the store', () => {
  let dir: string;
  let app: Db;
  let other: Db;
  let now: number;
  const faults: StorageUnavailableError[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipmate-faults-'));
    app = openDatabase(join(dir, 'shipmate.db'), { busyTimeoutMs: 0 });
    migrate(app);
    other = openDatabase(join(dir, 'shipmate.db'));
    now = Date.parse('2026-11-23T10:00:00Z');
    faults.length = 0;
  });
  afterEach(() => {
    if (other.inTransaction) other.exec('ROLLBACK');
    app.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const uow = () => sqliteUnitOfWork(app, { clock: () => new Date(now), onFault: (f) => faults.push(f) });
  const audit = (action: string) => app.prepare("INSERT INTO audit_log (at, actor, source, action, subject) VALUES ('t', 'U0ALICE1', 'api', ?, 's')").run(action);
  const audited = () => app.prepare('SELECT action FROM audit_log ORDER BY id').pluck().all();

  it('waits for a lock a second by default: long for Shipmate\'s own transactions, short of Slack\'s 3 s', () => {
    expect(BUSY_TIMEOUT_MS).toBe(1000);
    expect(other.pragma('busy_timeout', { simple: true })).toBe(1000);
  });

  it('turns a locked database into a busy StorageUnavailableError, reported once even from a nested transaction', () => {
    other.exec('BEGIN IMMEDIATE');
    const work = uow();
    let thrown: unknown;
    try {
      work.transaction(() => work.transaction(() => audit('never')));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StorageUnavailableError);
    expect(thrown).toMatchObject({ code: 'storage_unavailable', problem: 'busy', storeCode: 'SQLITE_BUSY' });
    expect((thrown as StorageUnavailableError).userMessage).toContain('busy');
    expect(faults).toHaveLength(1);
    other.exec('ROLLBACK');
    expect(audited()).toEqual([]);
  });

  it('rolls the whole transaction back when the disk fills up halfway through it', () => {
    app.pragma(`max_page_count = ${app.pragma('page_count', { simple: true }) as number}`);
    const work = uow();
    expect(() =>
      work.transaction(() => {
        audit('first');
        for (;;) app.prepare("INSERT INTO flow_events (flow_id, type, payload, at) VALUES ('f:1', 't', ?, 't')").run('x'.repeat(1000));
      }),
    ).toThrow(expect.objectContaining({ problem: 'full', storeCode: 'SQLITE_FULL' }));
    expect(audited()).toEqual([]);
    expect(app.prepare('SELECT COUNT(*) FROM flow_events').pluck().get()).toBe(0);
    expect(app.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('leaves other errors as they are: a broken constraint is not the disk', () => {
    const work = uow();
    expect(() => work.transaction(() => app.prepare('INSERT INTO audit_log (at) VALUES (NULL)').run())).toThrow(/NOT NULL/);
    expect(faults).toEqual([]);
    expect(asStorageFault(new Error('SQLITE_BUSY'))).toBeUndefined();
  });

  it('says the database cannot be written while another connection holds the lock, without waiting for it', () => {
    app.pragma('busy_timeout = 700');
    const work = uow();
    expect(work.writeProblem()).toBeUndefined();
    other.exec('BEGIN IMMEDIATE');
    expect(work.writeProblem()).toBe('SQLITE_BUSY: another connection holds the write lock');
    expect(app.pragma('busy_timeout', { simple: true })).toBe(700);
    other.exec('ROLLBACK');
    expect(work.writeProblem()).toBeUndefined();
  });

  it('remembers a full disk until a write gets through, or for a while when none is tried', () => {
    const max = app.pragma('max_page_count', { simple: true }) as number;
    app.pragma(`max_page_count = ${app.pragma('page_count', { simple: true }) as number}`);
    const work = uow();
    const fill = () => work.transaction(() => {
      for (;;) app.prepare("INSERT INTO flow_events (flow_id, type, payload, at) VALUES ('f:1', 't', ?, 't')").run('x'.repeat(1000));
    });
    expect(fill).toThrow(StorageUnavailableError);
    now += 2_000;
    expect(work.writeProblem()).toBe('SQLITE_FULL: the disk is full (a write failed 2 s ago)');
    now += FAULT_MEMORY_MS;
    expect(work.writeProblem()).toBeUndefined();

    expect(fill).toThrow(StorageUnavailableError);
    expect(work.writeProblem()).toMatch(/^SQLITE_FULL/);
    app.pragma(`max_page_count = ${max}`);
    work.transaction(() => audit('room again'));
    expect(work.writeProblem()).toBeUndefined();
  });
  describe('reads from one snapshot', () => {
    const byOther = (action: string) => other.prepare("INSERT INTO audit_log (at, actor, source, action, subject) VALUES ('t', 'U0BOB', 'api', ?, 's')").run(action);

    it('does not see what another process commits between its reads, and sees it after', () => {
      audit('before');
      const seen = uow().read(() => {
        const first = audited();
        byOther('meanwhile');
        return [first, audited()];
      });

      expect(seen).toEqual([['before'], ['before']]);
      expect(audited()).toEqual(['before', 'meanwhile']);
      expect(app.inTransaction).toBe(false);
    });

    it('lets its snapshot go when a read fails', () => {
      const failing = () => {
        audited();
        throw new Error('failed after its first read');
      };
      expect(() => uow().read(failing)).toThrow('failed after its first read');
      expect(app.inTransaction).toBe(false);
      byOther('written');
      expect(audited()).toEqual(['written']);
    });

    it('refuses a function that returns a promise: its reads would come after the snapshot ended', () => {
      expect(() => uow().read(async () => audited())).toThrow('UnitOfWork.read takes a synchronous function');
      expect(app.inTransaction).toBe(false);
    });

    it('inside a transaction, reads what the transaction wrote so far', () => {
      const work = uow();
      const seen = work.transaction(() => {
        audit('uncommitted');
        return work.read(() => audited());
      });
      expect(seen).toEqual(['uncommitted']);
    });
  });
});
