import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** migrations/ at the project root, from src/store or dist/src/store alike. */
export const MIGRATIONS_DIR = [join(__dirname, '..', '..', 'migrations'), join(__dirname, '..', '..', '..', 'migrations')].find(
  (dir) => {
    try {
      return readdirSync(dir).some((f) => f.endsWith('.sql'));
    } catch {
      return false;
    }
  },
) ?? join(__dirname, '..', '..', 'migrations');

/**
 * How long a write waits for another connection's lock before it fails with SQLITE_BUSY. The
 * wait blocks the one thread, and with it every Slack request, so it stays well inside the 3 s
 * Slack gives an ack: past that, better a clear "busy, try again" than a timed-out command that
 * may still go through. Shipmate's own transactions take milliseconds.
 */
export const BUSY_TIMEOUT_MS = 1000;

/** Opens (creating if needed) the SQLite file in WAL mode, with foreign keys on. */
export function openDatabase(file: string, options: { busyTimeoutMs?: number } = {}): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // A statement that sorts or groups without an index builds a temporary b-tree; on disk, SQLite's
  // default, that opens a file every time: 140 µs for the active deploy of a target instead of 8 µs.
  db.pragma('temp_store = MEMORY');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? BUSY_TIMEOUT_MS))}`);
  return db;
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = FILE.exec(file);
      if (!match) throw new Error(`${join(dir, file)}: migration files are named NNNN_snake_case.sql`);
      return { version: Number(match[1]), name: match[2]!, sql: readFileSync(join(dir, file), 'utf8') };
    });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${dir}: migration ${i + 1} is missing (found ${m.version}_${m.name})`);
  });
  return migrations;
}

/** Applies pending migrations, each in its own transaction, and records it. Returns what it applied. */
export function migrate(db: Db, migrations: Migration[] = readMigrations(), now: Date = new Date()): Migration[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const applied = new Set(
    db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[],
  );
  const pending = migrations.filter((m) => !applied.has(m.version));
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  // Checked again under the write lock: another process may have applied it meanwhile.
  return pending.filter((m) =>
    db.transaction(() => {
      if (isApplied.get(m.version)) return false;
      db.exec(m.sql);
      record.run(m.version, m.name, now.toISOString());
      return true;
    }).immediate(),
  );
}

export { sqliteUnitOfWork } from './storage-faults';
