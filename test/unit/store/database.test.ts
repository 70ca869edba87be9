import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, openDatabase } from '../../../src/store/database';
import { createSqliteDeploymentStore } from '../../../src/store/sqlite-deployment-store';

describe('openDatabase', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipmate-db-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the temporary b-trees of sorts in memory, where SQLite would open a file for each', () => {
    const db = openDatabase(join(dir, 'shipmate.db'));
    migrate(db, undefined, new Date('2026-12-04T10:00:00Z'));
    // The active deploy of a target is asked on every /deploy, and its ORDER BY sorts in a temporary b-tree.
    const sql = db.prepare.bind(db);
    const prepared: string[] = [];
    createSqliteDeploymentStore(Object.assign(Object.create(db) as typeof db, { prepare: (s: string) => (prepared.push(s), sql(s)) }));
    const active = prepared.find((s) => s.includes("status IN ('awaiting_approval', 'queued', 'deploying')"))!;
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${active}`).all('api', 'prod') as { detail: string }[]).map((r) => r.detail);

    expect(plan).toContain('USE TEMP B-TREE FOR ORDER BY');
    expect(db.pragma('temp_store', { simple: true })).toBe(2); // MEMORY
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });
});
