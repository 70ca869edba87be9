import type { EffectSpec } from '../src/core/ports';
import type { AuditEntry } from '../src/core/types';

/** What a transition returns: the next state and the effects to perform, as data. */
export interface Transition<S> {
  state: S;
  effects: EffectSpec[];
  /** Audit rows for what changed, written in the same transaction as the state (time added then). */
  audit?: Omit<AuditEntry, 'at'>[];
}

/** A durable state machine: decisions only, no I/O. */
export interface FlowDefinition<S, E extends { type: string }> {
  /** Prefix of the flow IDs, e.g. `deploy` in `deploy:42`. */
  kind: string;
  transition(state: S, event: E, now: Date): Transition<S>;
}

/** Loads and saves one kind of flow's state. */
export interface FlowStateRepository<S> {
  load(id: string): S | undefined;
  save(state: S): void;
}

export function unchanged<S>(state: S): Transition<S> {
  return { state, effects: [] };
}
