import { ConflictError } from '../../../src/core/errors';
import type { FlagState, FlagStore } from '../../../src/core/flags';

const copy = (f: FlagState): FlagState => structuredClone(f);
const id = (key: string, environment: string) => `${environment}\u0000${key}`;
const byKeyThenEnvironment = (a: FlagState, b: FlagState) => {
  const x = `${a.key}\u0000${a.environment}`;
  const y = `${b.key}\u0000${b.environment}`;
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * An in-memory FlagStore with the SQLite one's rules: versions count up per environment, so a
 * create or a save gives the flag the environment's highest version plus one, and the revision
 * (the highest version, 0 for no flags) changes with every change there. Saving a flag that does
 * not exist changes nothing. `list` is ordered by key, then environment; `all` by environment.
 * Callers get copies: changing what they hold changes nothing until they save it.
 */
export class FakeFlagStore implements FlagStore {
  private rows = new Map<string, FlagState>();

  get(key: string, environment: string): FlagState | undefined {
    const found = this.rows.get(id(key, environment));
    return found && copy(found);
  }

  all(key: string): FlagState[] {
    return this.list()
      .filter((f) => f.key === key)
      .sort((a, b) => (a.environment < b.environment ? -1 : a.environment > b.environment ? 1 : 0));
  }

  list(environment?: string): FlagState[] {
    return [...this.rows.values()]
      .filter((f) => environment === undefined || f.environment === environment)
      .sort(byKeyThenEnvironment)
      .map(copy);
  }

  create(state: Omit<FlagState, 'version' | 'updatedAt'>, now: Date): FlagState {
    if (this.rows.has(id(state.key, state.environment))) throw new ConflictError(`flag ${state.key} already exists in ${state.environment}`);
    const created: FlagState = { ...structuredClone(state), version: this.revision(state.environment) + 1, updatedAt: new Date(now) };
    this.rows.set(id(state.key, state.environment), created);
    return copy(created);
  }

  save(state: FlagState): void {
    if (!this.rows.has(id(state.key, state.environment))) return;
    this.rows.set(id(state.key, state.environment), { ...copy(state), version: this.revision(state.environment) + 1 });
  }

  revision(environment: string): number {
    return Math.max(0, ...[...this.rows.values()].filter((f) => f.environment === environment).map((f) => f.version));
  }
}

/** A boolean flag, on, with variants on/off and neither rules nor a rollout: tests override what they need. */
export function newFlag(overrides: Partial<Omit<FlagState, 'version' | 'updatedAt'>> & { key: string }): Omit<FlagState, 'version' | 'updatedAt'> {
  return {
    environment: 'prod',
    type: 'boolean',
    description: '',
    variants: { on: true, off: false },
    enabled: true,
    defaultVariant: 'on',
    offVariant: 'off',
    rollout: null,
    rules: [],
    updatedBy: 'U_PLATFORM',
    ...overrides,
  };
}
