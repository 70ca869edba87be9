import { createRedactor } from '../../../src/core/redact';
import { migrate, openDatabase } from '../../../src/store/database';
import { createSqliteAuditLog } from '../../../src/store/sqlite-audit-log';

describe('the SQLite audit log with a redactor', () => {
  it('writes no secret of a detail, nested or not', () => {
    const db = openDatabase(':memory:');
    migrate(db, undefined, new Date('2026-11-23T10:00:00Z'));
    const audit = createSqliteAuditLog(db, { redactor: createRedactor(['hook-secret-1234']) });
    audit.record({ at: new Date(), actor: 'system', source: 'system', action: 'deploy.failed', subject: 'api/prod', detail: { error: 'answered 500: hook-secret-1234', steps: [{ tail: 'hook-secret-1234' }] } });
    expect(db.prepare('SELECT detail FROM audit_log').pluck().get()).toBe('{"error":"answered 500: [redacted]","steps":[{"tail":"[redacted]"}]}');
    expect(audit.list(1)[0]!.detail).toEqual({ error: 'answered 500: [redacted]', steps: [{ tail: '[redacted]' }] });
  });
});
