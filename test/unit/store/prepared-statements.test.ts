import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createDeployCallbacks } from '../../../src/http/deploy-callbacks';
import { type Db, migrate, openDatabase } from '../../../src/store/database';
import { limitTo } from '../../../src/store/sql-values';

const STORE_DIR = join(__dirname, '..', '..', '..', 'src', 'store');

/** Every statement the stores prepare, by calling each `createSqlite…` factory of src/store on a recording database. */
function preparedByStores(db: Db): string[] {
  const prepared: string[] = [];
  const prepare = db.prepare.bind(db);
  const recording = Object.assign(Object.create(db) as Db, { prepare: (sql: string) => (prepared.push(sql), prepare(sql)) });
  for (const file of readdirSync(STORE_DIR).filter((f) => /^sqlite-.*\.ts$/.test(f))) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require(join(STORE_DIR, file)) as Record<string, unknown>;
    for (const [name, factory] of Object.entries(module)) {
      if (name.startsWith('createSqlite') && typeof factory === 'function') (factory as (db: Db) => unknown)(recording);
    }
  }
  createDeployCallbacks(recording, () => new Date('2026-12-05T10:00:00Z'));
  return prepared;
}

/**
 * Whether the statement's LIMIT value is a bare parameter, however it is written: `LIMIT ?`,
 * `LIMIT (@n)` (SQLite drops the parentheses before it plans), or `LIMIT 5, :n` (the value after
 * the comma is the limit). An OFFSET parameter may stay bare: SQLite does not plan around its value
 * (`LIMIT 5 OFFSET ?` and `LIMIT ?, 5` ran as fast as with `+?`; `LIMIT (?)` and `LIMIT 3, ?` did not).
 */
function bindsBareLimit(sql: string): boolean {
  const code = sql.replace(/'(?:[^']|'')*'/g, "''");
  return [...code.matchAll(/\bLIMIT\b([^;]*?)(?=\bOFFSET\b|;|$)/gi)].some(([, clause]) => {
    const limit = clause!.includes(',') ? clause!.slice(clause!.lastIndexOf(',') + 1) : clause!;
    return /^[\s(]*[?@:$]/.test(limit);
  });
}

describe('prepared statements', () => {
  const db = openDatabase(':memory:');
  migrate(db, undefined, new Date('2026-12-05T10:00:00Z'));
  afterAll(() => db.close());

  it('never bind a bare LIMIT parameter, which SQLite would prepare again on every run', () => {
    const statements = preparedByStores(db);
    expect(statements.length).toBeGreaterThan(40);
    expect(statements.filter((sql) => /LIMIT/i.test(sql)).length).toBeGreaterThanOrEqual(8);
    // SQLite plans a bare `LIMIT ?` around its bound value and re-prepares the statement whenever the
    // parameter is bound again; better-sqlite3 binds on every run. `limitTo` writes `LIMIT +@name`.
    expect(statements.filter(bindsBareLimit)).toEqual([]);
  });

  it.each(['LIMIT ?', 'LIMIT @limit', 'limit :n', 'LIMIT $n', 'LIMIT (@limit)', 'LIMIT ( ( ?))', 'LIMIT 5, @n', 'LIMIT 5,?', 'LIMIT ? OFFSET 5'])(
    'would notice %j',
    (clause) => expect(bindsBareLimit(`SELECT * FROM t ORDER BY id ${clause}`)).toBe(true),
  );

  it.each(['LIMIT +@limit', 'LIMIT 10', 'LIMIT +@n OFFSET @skip', 'LIMIT ?, 5', 'LIMIT 5, +@n', "WHERE note = 'LIMIT ?' LIMIT 3"])('lets %j pass', (clause) =>
    expect(bindsBareLimit(`SELECT * FROM t ${clause}`)).toBe(false),
  );

  it('still limit with the unary plus, whatever the value', () => {
    db.exec('CREATE TEMP TABLE numbers (n INTEGER)');
    const insert = db.prepare('INSERT INTO numbers VALUES (?)');
    for (let n = 1; n <= 5; n++) insert.run(n);
    const first = db.prepare(`SELECT n FROM numbers ORDER BY n ${limitTo('limit')}`).pluck();

    expect(first.all({ limit: 2 })).toEqual([1, 2]);
    expect(first.all({ limit: 0 })).toEqual([]);
    expect(first.all({ limit: 10 })).toEqual([1, 2, 3, 4, 5]);
    expect(first.all({ limit: -1 })).toEqual([1, 2, 3, 4, 5]); // SQLite: a negative LIMIT is no limit
  });
});
