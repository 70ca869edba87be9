import { type Db, migrate, openDatabase } from '../../../src/store/database';
import { createSqliteAuditLog } from '../../../src/store/sqlite-audit-log';
import { createSqliteDeploymentStore } from '../../../src/store/sqlite-deployment-store';

/**
 * History reads run against tables that grow for years (bench/history-queries.ts: 1,000,000 audit
 * rows). Each must find its rows through an index that already holds them newest first: no scan of
 * the table, no sort of everything that matched.
 */
function recordingPrepare(db: Db): { db: Db; sql: string[] } {
  const sql: string[] = [];
  const prepare = db.prepare.bind(db);
  const proxy = new Proxy(db, {
    get: (target, key) => (key === 'prepare' ? (source: string) => (sql.push(source), prepare(source)) : Reflect.get(target, key)),
  });
  return { db: proxy, sql };
}

const plan = (db: Db, sql: string, params: Record<string, unknown>) =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join('\n');

describe('history query plans', () => {
  const db = openDatabase(':memory:');
  migrate(db, undefined, new Date('2026-11-23T10:00:00Z'));
  db.exec('ANALYZE');

  it('the audit list of one service reads audit_log_by_service newest first: no scan, no sort', () => {
    const { db: recording, sql } = recordingPrepare(db);
    const audit = createSqliteAuditLog(recording);
    audit.list(50, 'api');
    const query = sql.find((s) => /FROM audit_log\s+WHERE \(CASE/.test(s))!;
    const p = plan(db, query, { service: 'api', limit: 50 });
    expect(p).toBe('SEARCH audit_log USING INDEX audit_log_by_service (<expr>=?)');
  });

  it.each([
    ['a service in one environment', 'prod', /deployments_by_target/],
    ['a service in every environment', undefined, /deployments_by_service/],
  ])('deploy history of %s reads an index newest first, without sorting', (_name, environment, index) => {
    const { db: recording, sql } = recordingPrepare(db);
    const store = createSqliteDeploymentStore(recording);
    store.history('api', environment, 20);
    const query = sql.find((s) => /FROM deployments WHERE service = @service (AND environment = @environment )?ORDER BY id DESC/.test(s) && s.includes('environment = @environment') === (environment !== undefined))!;
    const p = plan(db, query, { service: 'api', limit: 20, ...(environment ? { environment } : {}) });
    expect(p).toMatch(index);
    expect(p).not.toContain('TEMP B-TREE');
    expect(p).not.toMatch(/SCAN deployments(?! USING)/);
  });

  it('the newest deploy of each target (/deploy status) is one seek per target into an index, not a read of all of it', () => {
    const { db: recording, sql } = recordingPrepare(db);
    createSqliteDeploymentStore(recording).latestOf([{ service: 'api', environment: 'prod' }]);
    const query = sql.find((s) => s.includes('json_each(@targets)'))!;
    const p = plan(db, query, { targets: '[["api","prod"]]' });
    expect(p).toMatch(/SEARCH deployments USING COVERING INDEX deployments_by_target \(service=\? AND environment=\?\)/);
    expect(p).not.toMatch(/SCAN deployments/);
  });
});
