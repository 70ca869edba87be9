import type { AuditLog } from '../../../src/core/ports';
import { migrate, openDatabase } from '../../../src/store/database';
import { createSqliteAuditLog } from '../../../src/store/sqlite-audit-log';
import { FakeAuditLog } from '../fakes/fake-audit-log';

const AT = new Date('2026-11-23T10:00:00.000Z');

function sqliteAuditLog(): AuditLog {
  const db = openDatabase(':memory:');
  migrate(db, undefined, AT);
  return createSqliteAuditLog(db);
}

const record = (log: AuditLog, subject: string, action = 'deploy.requested') =>
  log.record({ at: AT, actor: 'U0ALICE1', source: 'slash_command', action, subject });

/** The fake stands in for the SQLite log in every other unit test, so both must agree. */
describe.each<[string, () => AuditLog]>([
  ['the SQLite audit log', sqliteAuditLog],
  ['the fake audit log', () => new FakeAuditLog()],
])('%s', (_name, create) => {
  it('lists newest first, up to the limit, with a service only its own rows', () => {
    const log = create();
    record(log, 'api/prod', 'a');
    record(log, 'prod', 'b'); // an environment lock: about no service in particular
    record(log, 'api', 'c');
    record(log, 'apiary/prod', 'd');
    record(log, 'web/prod', 'e');
    expect(log.list(10).map((e) => e.action)).toEqual(['e', 'd', 'c', 'b', 'a']);
    expect(log.list(2).map((e) => e.action)).toEqual(['e', 'd']);
    expect(log.list(10, 'api').map((e) => e.action)).toEqual(['c', 'a']);
  });

  it('keeps the details', () => {
    const log = create();
    log.record({ at: AT, actor: 'system', source: 'system', action: 'deploy.failed', subject: 'api/prod', detail: { deploymentId: 7, error: 'boom' } });
    expect(log.list(1)).toEqual([{ at: AT, actor: 'system', source: 'system', action: 'deploy.failed', subject: 'api/prod', detail: { deploymentId: 7, error: 'boom' } }]);
  });
});

describe('the SQLite audit log filtered by service', () => {
  // BUG src/store/sqlite-audit-log.ts (list) filters with `subject LIKE @service || '/%'`: "_" is a
  // LIKE wildcard and service names may contain it, so `/deploy audit my_api` also lists my-api.
  it('a service name with "_" matches only itself', () => {
    const log = sqliteAuditLog();
    record(log, 'my-api/prod', 'other service');
    record(log, 'my_api/prod', 'this service');
    expect(log.list(10, 'my_api').map((e) => e.action)).toEqual(['this service']);
  });
});
