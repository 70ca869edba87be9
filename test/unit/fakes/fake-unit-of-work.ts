import type { UnitOfWork } from '../../../src/core/ports';

/** Runs the function and counts how often: the fakes have nothing to roll back. */
export class FakeUnitOfWork implements UnitOfWork {
  transactions = 0;

  transaction<T>(fn: () => T): T {
    this.transactions += 1;
    return fn();
  }

  read<T>(fn: () => T): T {
    return fn();
  }
}
