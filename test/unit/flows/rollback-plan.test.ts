import { planRollback } from '../../../flows/rollback-plan';
import type { Deployment } from '../../../src/core/types';

const d = (id: number, version: string, status: Deployment['status'] = 'succeeded', extra: Partial<Deployment> = {}) =>
  ({ id, version, status, service: 'api', environment: 'prod', ...extra }) as Deployment;

describe('planRollback', () => {
  it('undoes the running version and restores the good one before it', () => {
    const good = [d(3, '1.2.0'), d(2, '1.1.0'), d(1, '1.0.0')];
    expect(planRollback('api in prod', good, good[0])).toEqual({ undo: good[0], to: good[1] });
  });

  it('skips earlier deploys of the same version as the one undone', () => {
    const good = [d(4, '1.2.0'), d(3, '1.2.0'), d(2, '1.1.0')];
    expect(planRollback('api in prod', good, good[0]).to.id).toBe(2);
  });

  it('after a failed deploy on top, deploys the running good version again', () => {
    const good = [d(2, '1.1.0'), d(1, '1.0.0')];
    const failed = d(3, '1.2.0', 'failed');
    expect(planRollback('api in prod', good, failed)).toEqual({ undo: failed, to: good[0] });
  });

  it('goes to the version asked for, if it is a known good one', () => {
    const good = [d(3, '1.2.0'), d(2, '1.1.0'), d(1, '1.0.0')];
    expect(planRollback('api in prod', good, good[0], '1.0.0').to.id).toBe(1);
    expect(() => planRollback('api in prod', good, good[0], '0.9.0')).toThrow(
      '0.9.0 is not a known good version of api in prod to roll back to from 1.2.0. Known good: 1.1.0, 1.0.0.',
    );
  });

  it('says when there is nothing to roll back, or nothing to go back to', () => {
    expect(() => planRollback('api in prod', [], undefined)).toThrow('Nothing to roll back: api in prod has no successful deploy yet.');
    expect(() => planRollback('api in prod', [d(1, '1.0.0')], d(1, '1.0.0'))).toThrow(
      'api in prod has no earlier good version to roll back to: 1.0.0 is the only one that ever succeeded there.',
    );
    const rolledBack = d(5, '1.0.0', 'succeeded', { rollbackOf: 4 });
    expect(() => planRollback('api in prod', [rolledBack, d(1, '1.0.0')], rolledBack, '1.0.0')).toThrow(
      'api in prod already runs 1.0.0 (rolled back by deploy #5); nothing to roll back.',
    );
  });
});
