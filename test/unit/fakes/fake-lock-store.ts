import { ConflictError } from '../../../src/core/errors';
import type { LockStore } from '../../../src/core/ports';
import type { Lock } from '../../../src/core/types';

const copy = (l: Lock): Lock => ({ ...l, lockedAt: new Date(l.lockedAt) });
const sameTarget = (l: Lock, environment: string, service: string | null) => l.environment === environment && l.service === service;

/**
 * An in-memory LockStore with the SQLite one's rules: one lock per exact target (an environment,
 * or one service in it), `covering` prefers the environment-wide lock, `list` is ordered by
 * environment and then service, the environment-wide lock first.
 */
export class FakeLockStore implements LockStore {
  private rows: Lock[] = [];

  lock(lock: Lock): void {
    const held = this.rows.find((l) => sameTarget(l, lock.environment, lock.service));
    if (held) {
      throw new ConflictError(`${lock.service ? `${lock.service} in ` : ''}${lock.environment} is already locked by <@${held.lockedBy}>: ${held.reason}`);
    }
    this.rows.push(copy(lock));
  }

  unlock(environment: string, service: string | null): Lock | undefined {
    const held = this.rows.find((l) => sameTarget(l, environment, service));
    if (held) this.rows = this.rows.filter((l) => l !== held);
    return held && copy(held);
  }

  covering(service: string, environment: string): Lock | undefined {
    const found = this.rows.find((l) => sameTarget(l, environment, null)) ?? this.rows.find((l) => sameTarget(l, environment, service));
    return found && copy(found);
  }

  list(): Lock[] {
    const key = (l: Lock) => `${l.environment}\u0000${l.service ?? ''}`;
    return [...this.rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).map(copy);
  }
}
