import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError } from '../../../src/core/errors';
import type { ReleaseStore } from '../../../src/core/ports';
import { planWaves } from '../../../src/core/release-plan';
import type { NewRelease, Release, ReleaseStatus } from '../../../src/core/types';
import { migrate, openDatabase } from '../../../src/store/database';
import { createSqliteReleaseStore } from '../../../src/store/sqlite-release-store';
import { FakeReleaseStore } from '../fakes/fake-release-store';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const LATER = new Date('2026-11-23T10:07:30.250Z');
const WAVES = planWaves(
  [
    { name: 'web', version: '3.0.0' },
    { name: 'api', version: '1.4.2' },
    { name: 'db', version: '7.1.0' },
  ],
  (s) => ({ api: ['db'], web: ['api', 'cdn'] })[s] ?? [],
);

function sqlite() {
  const db = openDatabase(':memory:');
  migrate(db, undefined, NOW);
  return db;
}

const fresh = (overrides: Partial<NewRelease> = {}): NewRelease => ({
  name: 'checkout-v2',
  environment: 'prod',
  waves: WAVES,
  requestedBy: 'U0ALICE',
  source: 'slash_command',
  channel: 'C0DEPLOYS',
  notes: null,
  requestKey: null,
  scheduledFor: null,
  ...overrides,
});

const OVER: ReleaseStatus[] = ['succeeded', 'failed', 'aborted', 'missed'];
const OPEN: ReleaseStatus[] = ['scheduled', 'running', 'paused'];

/** The fake stands in for the SQLite store in the flow and command tests: both must keep the same rules. */
describe.each<[string, () => ReleaseStore]>([
  ['SQLite release store', () => createSqliteReleaseStore(sqlite())],
  ['fake release store', () => new FakeReleaseStore()],
])('%s', (_name, create) => {
  const move = (store: ReleaseStore, id: number, changes: Partial<Release>) => store.save({ ...store.get(id)!, ...changes });

  it('creates a scheduled release with no results and every field, and reads it back', () => {
    const store = create();
    const input = fresh({ notes: 'new checkout', requestKey: 'trigger-1', scheduledFor: new Date('2026-11-24T10:00:00.000Z'), source: 'button' });
    const created = store.create(input, NOW);
    expect(created).toEqual({ ...input, id: 1, status: 'scheduled', results: {}, createdAt: NOW, startedAt: null, finishedAt: null });
    expect(created.waves).toEqual(WAVES);
    expect(created.waves[2]!.services[0]!.externalDependencies).toEqual(['cdn']);
    expect(store.get(1)).toEqual(created);
    expect(store.findByRequestKey('trigger-1')).toEqual(created);
    expect(store.create(fresh({ name: 'other' }), LATER).id).toBe(2);
  });

  it('unknown IDs, keys and names read as undefined', () => {
    const store = create();
    store.create(fresh({ requestKey: 'k' }), NOW);
    expect(store.get(2)).toBeUndefined();
    expect(store.findByRequestKey('nope')).toBeUndefined();
    expect(store.activeByName('nope')).toBeUndefined();
  });

  it('save stores status, results and the start and finish times, and nothing else', () => {
    const store = create();
    store.create(fresh(), NOW);
    const results = { db: { status: 'succeeded' as const, deploymentId: 4 }, api: { status: 'failed' as const, deploymentId: 5, error: 'the webhook answered 500' } };
    store.save({ ...store.get(1)!, status: 'failed', results, startedAt: NOW, finishedAt: LATER, name: 'renamed', notes: 'changed', channel: 'C0OTHER', waves: [] });
    expect(store.get(1)).toEqual({ ...fresh(), id: 1, status: 'failed', results, createdAt: NOW, startedAt: NOW, finishedAt: LATER });
    expect(store.get(1)!.waves).toEqual(WAVES);
  });

  it('one scheduled, running or paused release per name', () => {
    const store = create();
    store.create(fresh(), NOW);
    for (const status of OPEN) {
      move(store, 1, { status });
      const error = (() => {
        try {
          store.create(fresh({ requestKey: `again-${status}` }), LATER);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).userMessage).toBe('A release named "checkout-v2" is already scheduled or running; pick another name or wait for it to finish.');
      expect(store.activeByName('checkout-v2')!.id).toBe(1);
    }
    expect(store.findByRequestKey('again-running')).toBeUndefined(); // nothing half-written
    expect(store.create(fresh({ name: 'checkout-v3' }), LATER).id).toBe(2);
  });

  it.each(OVER)('a release that is %s frees its name', (status) => {
    const store = create();
    store.create(fresh(), NOW);
    move(store, 1, { status, finishedAt: LATER });
    expect(store.activeByName('checkout-v2')).toBeUndefined();
    const again = store.create(fresh(), LATER);
    expect(again.id).toBe(2);
    expect(store.activeByName('checkout-v2')!.id).toBe(2);
  });

  it('a request key is used once', () => {
    const store = create();
    store.create(fresh({ requestKey: 'trigger-1' }), NOW);
    expect(() => store.create(fresh({ name: 'other', requestKey: 'trigger-1' }), NOW)).toThrow();
    expect(store.latest(10)).toHaveLength(1);
    // Many releases without a key are fine.
    store.create(fresh({ name: 'a' }), NOW);
    store.create(fresh({ name: 'b' }), NOW);
    expect(store.latest(10)).toHaveLength(3);
  });

  it('latest: newest first, at most `limit`; withStatus: oldest first, only that status', () => {
    const store = create();
    for (const name of ['one', 'two', 'three', 'four', 'five']) store.create(fresh({ name }), NOW);
    move(store, 2, { status: 'running' });
    move(store, 4, { status: 'running' });
    move(store, 5, { status: 'succeeded' });
    expect(store.latest(3).map((r) => r.name)).toEqual(['five', 'four', 'three']);
    expect(store.latest(10).map((r) => r.id)).toEqual([5, 4, 3, 2, 1]);
    expect(store.withStatus('running').map((r) => r.name)).toEqual(['two', 'four']);
    expect(store.withStatus('scheduled').map((r) => r.name)).toEqual(['one', 'three']);
    expect(store.withStatus('paused')).toEqual([]);
  });

  it('what a caller does to a release it read does not change the stored one', () => {
    const store = create();
    const r = store.create(fresh(), NOW);
    r.results.db = { status: 'running' };
    r.waves[0]!.services[0]!.name = 'changed';
    const read = store.get(1)!;
    read.results.api = { status: 'failed' };
    expect(store.get(1)!.results).toEqual({});
    expect(store.get(1)!.waves).toEqual(WAVES);
  });
});

describe('SQLite release store on a file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'shipmate-release-store-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps releases, results and times across closing and opening the database', () => {
    const file = join(dir, 'shipmate.db');
    const first = openDatabase(file);
    migrate(first, undefined, NOW);
    const store = createSqliteReleaseStore(first);
    store.create(fresh({ requestKey: 'trigger-1', scheduledFor: LATER }), NOW);
    store.save({ ...store.get(1)!, status: 'running', results: { db: { status: 'running', deploymentId: 1 } }, startedAt: LATER });
    first.close();

    const second = openDatabase(file);
    expect(migrate(second, undefined, NOW)).toEqual([]);
    const reopened = createSqliteReleaseStore(second).findByRequestKey('trigger-1');
    expect(reopened).toEqual({ ...fresh({ requestKey: 'trigger-1', scheduledFor: LATER }), id: 1, status: 'running', results: { db: { status: 'running', deploymentId: 1 } }, createdAt: NOW, startedAt: LATER, finishedAt: null });
    // The database itself enforces the name rule and the statuses, whatever the code does.
    expect(() => second.prepare(`INSERT INTO releases (name, environment, status, waves, requested_by, source, channel, created_at) VALUES ('checkout-v2', 'prod', 'paused', '[]', 'U0X', 'system', 'C0X', ?)`).run(NOW.toISOString())).toThrow(/UNIQUE/);
    expect(() => second.prepare(`UPDATE releases SET status = 'exploded' WHERE id = 1`).run()).toThrow(/CHECK/);
    second.close();
  });

  it('a deploy can point at its release', () => {
    const db = openDatabase(join(dir, 'shipmate.db'));
    migrate(db, undefined, NOW);
    const columns = db.prepare('PRAGMA table_info(deployments)').all() as { name: string }[];
    expect(columns.map((c) => c.name)).toContain('release_id');
    db.close();
  });

  // BUG: src/store/sqlite-release-store.ts maps every SQLITE_CONSTRAINT_UNIQUE to the name rule, so a
  // request key used twice is reported as a name clash naming the wrong thing. (ReleaseService checks
  // the key first, so in one process this is latent; the store's own contract is what is wrong.)
  it('a reused request key is not reported as a name clash', () => {
    const store = createSqliteReleaseStore(sqlite());
    store.create(fresh({ name: 'first', requestKey: 'trigger-1' }), NOW);
    let error: unknown;
    try {
      store.create(fresh({ name: 'second', requestKey: 'trigger-1' }), NOW);
    } catch (e) {
      error = e;
    }
    expect((error as ConflictError).userMessage ?? String(error)).not.toContain('A release named "second" is already scheduled or running');
  });
});
