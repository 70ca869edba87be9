import { ConflictError } from '../../../src/core/errors';
import type { DeploymentStore, LockStore } from '../../../src/core/ports';
import type { Deployment, NewDeployment } from '../../../src/core/types';
import { migrate, openDatabase } from '../../../src/store/database';
import { createSqliteDeploymentStore } from '../../../src/store/sqlite-deployment-store';
import { createSqliteLockStore } from '../../../src/store/sqlite-lock-store';
import { FakeDeploymentStore } from '../fakes/fake-deployment-store';
import { FakeLockStore } from '../fakes/fake-lock-store';

/**
 * The fakes stand in for the SQLite stores in every other unit test; these run the same checks
 * against both, so a rule the fakes miss (or add) shows up here.
 */
const NOW = new Date('2026-11-23T10:00:00.000Z');

function sqlite() {
  const db = openDatabase(':memory:');
  migrate(db, undefined, NOW);
  return db;
}

const fresh = (overrides: Partial<NewDeployment> = {}): NewDeployment => ({
  service: 'api',
  environment: 'prod',
  version: '1.4.2',
  requestedBy: 'U0ALICE1',
  source: 'slash_command',
  channel: 'C0DEPLOYS',
  requestKey: null,
  approvalsRequired: 0,
  expiresAt: null,
  waitInQueue: false,
  breakGlassReason: null,
  ...overrides,
});

describe.each<[string, () => DeploymentStore]>([
  ['SQLite deployment store', () => createSqliteDeploymentStore(sqlite())],
  ['fake deployment store', () => new FakeDeploymentStore()],
])('%s', (_name, create) => {
  const move = (store: DeploymentStore, id: number, changes: Partial<Deployment>) => store.save({ ...store.get(id)!, ...changes });

  it('creates a deploy awaiting approval when it needs some, queued otherwise, with every field', () => {
    const store = create();
    const expiresAt = new Date(NOW.getTime() + 3_600_000);
    const input = fresh({ approvalsRequired: 2, expiresAt, requestKey: 't-1', waitInQueue: true, breakGlassReason: 'INC-42' });
    const created = store.create(input, NOW);
    expect(created).toMatchObject({
      ...input,
      id: 1,
      status: 'awaiting_approval',
      createdAt: NOW,
      startedAt: null,
      finishedAt: null,
      error: null,
      approvals: [],
      decidedBy: null,
      decisionReason: null,
    });
    expect(store.get(1)).toEqual(created);
    expect(store.create(fresh(), NOW).status).toBe('queued');
    expect(store.findByRequestKey('t-1')!.id).toBe(1);
  });

  it('saves approvals and decisions', () => {
    const store = create();
    store.create(fresh({ approvalsRequired: 1 }), NOW);
    move(store, 1, { status: 'rejected', approvals: [{ userId: 'U0CAROL1', at: NOW }], decidedBy: 'U0DAVE01', decisionReason: 'no', finishedAt: NOW });
    expect(store.get(1)).toMatchObject({ status: 'rejected', approvals: [{ userId: 'U0CAROL1', at: NOW }], decidedBy: 'U0DAVE01', decisionReason: 'no', finishedAt: NOW });
  });

  it('active: the deploying one first, else the oldest not over; queued: oldest first', () => {
    const store = create();
    store.create(fresh({ approvalsRequired: 1 }), NOW); // 1 awaiting approval
    store.create(fresh(), NOW); // 2 queued
    store.create(fresh(), NOW); // 3 queued
    store.create(fresh({ environment: 'staging' }), NOW); // another target
    expect(store.active('api', 'prod')!.id).toBe(1);
    expect(store.queued('api', 'prod').map((d) => d.id)).toEqual([2, 3]);

    move(store, 3, { status: 'deploying', startedAt: NOW });
    expect(store.active('api', 'prod')!.id).toBe(3);
    expect(store.queued('api', 'prod').map((d) => d.id)).toEqual([2]);

    move(store, 1, { status: 'expired' });
    move(store, 3, { status: 'succeeded' });
    expect(store.active('api', 'prod')!.id).toBe(2);
    expect(store.active('web', 'prod')).toBeUndefined();
  });

  it('latestOf: the newest deploy of each target asked for that has one, in the order asked', () => {
    const store = create();
    const first = store.create(fresh({ version: '1.0.0' }), NOW);
    const staging = store.create(fresh({ environment: 'staging', version: '2.0.0' }), NOW);
    const newer = store.create(fresh({ version: '1.1.0' }), NOW);
    store.create(fresh({ service: 'web', version: '9.0.0' }), NOW);
    const targets = [
      { service: 'api', environment: 'staging' },
      { service: 'worker', environment: 'prod' },
      { service: 'api', environment: 'prod' },
    ];
    expect(store.latestOf(targets).map((d) => d.id)).toEqual([staging.id, newer.id]);
    expect(store.latestOf(targets).map((d) => d.id)).not.toContain(first.id);
    expect(store.latestOf([])).toEqual([]);
  });

  it('refuses a second deploying deploy of a target with a ConflictError, and keeps the first', () => {
    const store = create();
    store.create(fresh(), NOW);
    store.create(fresh(), NOW);
    store.create(fresh({ service: 'web' }), NOW);
    move(store, 1, { status: 'deploying', startedAt: NOW });
    expect(() => move(store, 2, { status: 'deploying', startedAt: NOW })).toThrow(new ConflictError('api is already being deployed to prod.'));
    expect(store.get(2)!.status).toBe('queued');
    move(store, 3, { status: 'deploying', startedAt: NOW }); // another service: fine
    move(store, 1, { status: 'deploying', error: 'saved again' }); // the same deploy again: fine
    move(store, 1, { status: 'failed' });
    move(store, 2, { status: 'deploying', startedAt: NOW }); // the target is free now
    expect(store.withStatus('deploying').map((d) => d.id)).toEqual([2, 3]);
  });
});

describe.each<[string, () => LockStore]>([
  ['SQLite lock store', () => createSqliteLockStore(sqlite())],
  ['fake lock store', () => new FakeLockStore()],
])('%s', (_name, create) => {
  const lock = (environment: string, service: string | null, reason = 'because') => ({ environment, service, reason, lockedBy: 'U0CAROL1', lockedAt: NOW });

  it('one lock per exact target; covering prefers the environment-wide one', () => {
    const locks = create();
    locks.lock(lock('prod', 'api', 'migration'));
    expect(locks.covering('api', 'prod')).toEqual(lock('prod', 'api', 'migration'));
    expect(locks.covering('web', 'prod')).toBeUndefined();
    locks.lock(lock('prod', null, 'load test'));
    expect(locks.covering('api', 'prod')).toEqual(lock('prod', null, 'load test'));
    expect(locks.covering('web', 'prod')).toEqual(lock('prod', null, 'load test'));
    expect(locks.covering('api', 'staging')).toBeUndefined();

    expect(() => locks.lock(lock('prod', null, 'again'))).toThrow(new ConflictError('prod is already locked by <@U0CAROL1>: load test'));
    expect(() => locks.lock(lock('prod', 'api', 'again'))).toThrow(new ConflictError('api in prod is already locked by <@U0CAROL1>: migration'));
  });

  it('unlock removes exactly that target and returns it', () => {
    const locks = create();
    locks.lock(lock('prod', 'api'));
    locks.lock(lock('prod', null));
    expect(locks.unlock('prod', 'web')).toBeUndefined();
    expect(locks.unlock('prod', null)).toEqual(lock('prod', null));
    expect(locks.unlock('prod', null)).toBeUndefined();
    expect(locks.list()).toEqual([lock('prod', 'api')]);
  });

  it('lists by environment, the environment-wide lock first', () => {
    const locks = create();
    locks.lock(lock('staging', 'web'));
    locks.lock(lock('prod', 'web'));
    locks.lock(lock('staging', null));
    locks.lock(lock('prod', 'api'));
    expect(locks.list().map((l) => `${l.environment}/${l.service ?? '*'}`)).toEqual(['prod/api', 'prod/web', 'staging/*', 'staging/web']);
  });
});

describe('the fake deployment store and the SQLite one', () => {
  it('return deployments of the same shape', () => {
    const stores = [createSqliteDeploymentStore(sqlite()), new FakeDeploymentStore()];
    const [real, fake] = stores.map((store) => {
      store.create(fresh({ approvalsRequired: 1, expiresAt: NOW }), NOW);
      store.save({ ...store.get(1)!, approvals: [{ userId: 'U0CAROL1', at: NOW }] });
      return store.get(1)!;
    });
    expect(fake).toEqual(real);
  });
});
