import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Db, migrate, openDatabase } from '../src/store/database';
import { createSqliteAuditLog } from '../src/store/sqlite-audit-log';
import { createSqliteDeploymentStore } from '../src/store/sqlite-deployment-store';
import { mb, ms, percentile, type Row, seededRandom, timeEach } from './report';

export const AUDIT_ROWS = 1_000_000;
export const DEPLOYMENTS = 100_000;
export const SERVICES = 200;
const QUERIES = 1_000;
const QUERY_BUDGET_MS = 60_000;
const P99_TARGET_MS = 20;
/** Two years of history: the rows' times grow with their ids, as they do in a live database. */
const HISTORY_MS = 2 * 365 * 86_400_000;
const END = Date.UTC(2026, 0, 1);

const serviceName = (i: number) => `service-${String(i).padStart(3, '0')}`;

/**
 * Picks a service with Zipf-like weights (the i-th busiest is 1/i as busy as the busiest), the
 * usual shape of activity across a company's services: a few hot ones, a long quiet tail.
 */
function zipfPicker(n: number, random: () => number): () => number {
  const cumulative: number[] = [];
  let sum = 0;
  for (let i = 1; i <= n; i++) cumulative.push((sum += 1 / i));
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** 1M audit rows and 100k deployments over 200 services, each table in one transaction through one prepared statement. */
function fill(db: Db): { auditMs: number; deploymentsMs: number } {
  const random = seededRandom(20_260_101);
  const service = zipfPicker(SERVICES, random);
  const environment = () => (random() < 0.45 ? 'staging' : random() < 0.82 ? 'prod' : 'dev');
  const actor = () => `U0${String(Math.floor(random() * 300)).padStart(6, '0')}`;
  const at = (i: number, count: number) => new Date(END - HISTORY_MS + Math.floor((i / count) * HISTORY_MS)).toISOString();
  const version = () => `${Math.floor(random() * 5)}.${Math.floor(random() * 40)}.${Math.floor(random() * 20)}`;

  const audit = db.prepare('INSERT INTO audit_log (at, actor, source, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)');
  const deployActions = ['deploy.requested', 'deploy.started', 'deploy.succeeded', 'deploy.failed', 'deploy.approved', 'deploy.rollback', 'lock.added', 'lock.removed'];
  let start = performance.now();
  db.transaction(() => {
    for (let i = 0; i < AUDIT_ROWS; i++) {
      const r = random();
      const s = serviceName(service());
      if (r < 0.88) {
        audit.run(at(i, AUDIT_ROWS), actor(), pick(random, ['slash_command', 'button', 'system']), pick(random, deployActions), `${s}/${environment()}`, JSON.stringify({ deploymentId: i, version: version() }));
      } else if (r < 0.93) {
        audit.run(at(i, AUDIT_ROWS), actor(), 'slash_command', pick(random, ['flag.requested', 'flag.applied']), `flag/${s}-flag-${i % 7}/${environment()}`, JSON.stringify({ changeId: i }));
      } else if (r < 0.97) {
        audit.run(at(i, AUDIT_ROWS), actor(), 'slash_command', pick(random, ['release.created', 'release.wave', 'release.succeeded']), `release/r-${Math.floor(i / 50)}`, JSON.stringify({ releaseId: i }));
      } else {
        audit.run(at(i, AUDIT_ROWS), 'system', 'system', 'train.departed', `train/${pick(random, ['tuesday', 'thursday'])}`, null);
      }
    }
  })();
  const auditMs = performance.now() - start;

  const deployment = db.prepare(`INSERT INTO deployments
    (service, environment, version, status, requested_by, source, channel, request_key, created_at, started_at, finished_at, error)
    VALUES (?, ?, ?, ?, ?, ?, 'C0DEPLOYS', ?, ?, ?, ?, ?)`);
  start = performance.now();
  db.transaction(() => {
    for (let i = 0; i < DEPLOYMENTS; i++) {
      const r = random();
      const status = r < 0.85 ? 'succeeded' : r < 0.95 ? 'failed' : r < 0.98 ? 'rejected' : 'expired';
      const created = at(i, DEPLOYMENTS);
      const ran = status === 'succeeded' || status === 'failed';
      deployment.run(serviceName(service()), random() < 0.5 ? 'staging' : 'prod', version(), status, actor(), 'slash_command', `bench-${i}`, created, ran ? created : null, ran ? created : null, status === 'failed' ? 'exited with status 1' : null);
    }
  })();
  return { auditMs, deploymentsMs: performance.now() - start };
}

const stats = (durations: number[]) => ({ p50: percentile(durations, 50), p99: percentile(durations, 99), n: durations.length });

const plan = (db: Db, sql: string, params: Record<string, unknown>) =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join('; ');

/** Benchmark 4: the history queries behind `/deploy history` and the audit view, on a database of realistic size. */
export async function benchHistoryQueries(log: (line: string) => void): Promise<{ rows: Row[]; details: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'shipmate-bench-history-'));
  const file = join(dir, 'shipmate.db');
  const db = openDatabase(file);
  try {
    migrate(db);
    log(`history: inserting ${AUDIT_ROWS} audit rows and ${DEPLOYMENTS} deployments over ${SERVICES} services`);
    const filled = fill(db);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('ANALYZE');

    const audit = createSqliteAuditLog(db);
    const deployments = createSqliteDeploymentStore(db);
    const random = seededRandom(42);
    const services = Array.from({ length: QUERIES }, () => serviceName(Math.floor(random() * SERVICES)));
    const environments = Array.from({ length: QUERIES }, () => (random() < 0.5 ? 'staging' : 'prod'));
    log(`history: ${QUERIES} audit lists and ${QUERIES} deploy histories for random services`);
    let returned = 0;
    const auditList = stats(timeEach(QUERIES, QUERY_BUDGET_MS, (i) => (returned += audit.list(50, services[i]).length)));
    const history = stats(timeEach(QUERIES, QUERY_BUDGET_MS, (i) => deployments.history(services[i]!, environments[i]!, 10)));
    // A service with no audit rows at all (new, or renamed): what used to scan the whole table.
    const absent = stats(timeEach(20, QUERY_BUDGET_MS, () => audit.list(50, 'service-without-history')));

    const busiest = db.prepare('SELECT COUNT(*) FROM audit_log WHERE subject LIKE ?').pluck().get(`${serviceName(0)}/%`) as number;
    const quietest = db.prepare('SELECT COUNT(*) FROM audit_log WHERE subject LIKE ?').pluck().get(`${serviceName(SERVICES - 1)}/%`) as number;
    // The stores' statements, as they are written there, to show how SQLite runs them.
    const auditSql = `SELECT * FROM audit_log WHERE (CASE WHEN instr(subject, '/') > 0 THEN substr(subject, 1, instr(subject, '/') - 1) ELSE subject END) = @service ORDER BY id DESC LIMIT @limit`;
    const historySql = 'SELECT * FROM deployments WHERE service = @service AND environment = @environment ORDER BY id DESC LIMIT @limit';
    const figure = (s: ReturnType<typeof stats>) => `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}${s.n < QUERIES ? ` (only ${s.n} of ${QUERIES} ran within ${QUERY_BUDGET_MS / 1000} s)` : ''}`;
    return {
      rows: [
        { benchmark: `Audit list(50, service), ${AUDIT_ROWS / 1e6}M rows`, figure: figure(auditList), target: `p99 < ${P99_TARGET_MS} ms`, pass: auditList.p99 < P99_TARGET_MS && auditList.n === QUERIES },
        { benchmark: `Deploy history(service, env, 10), ${DEPLOYMENTS / 1e3}k rows`, figure: figure(history), target: `p99 < ${P99_TARGET_MS} ms`, pass: history.p99 < P99_TARGET_MS && history.n === QUERIES },
        { benchmark: 'Audit list for a service with no rows', figure: `p50 ${ms(absent.p50)}`, target: 'reference' },
      ],
      details: [
        `bulk insert: ${AUDIT_ROWS} audit rows in ${(filled.auditMs / 1000).toFixed(1)} s, ${DEPLOYMENTS} deployments in ${(filled.deploymentsMs / 1000).toFixed(1)} s; database ${mb(statSync(file).size)}`,
        `audit rows of the busiest service: ${busiest}, of the quietest: ${quietest}; the audit lists returned ${(returned / Math.max(1, auditList.n)).toFixed(1)} entries on average`,
        `audit list plan: ${plan(db, auditSql, { service: 'service-001', limit: 50 })}`,
        `deploy history plan: ${plan(db, historySql, { service: 'service-001', environment: 'prod', limit: 10 })}`,
      ],
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
