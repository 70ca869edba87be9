/**
 * Feature flags: the types and ports. Shipmate's own flags live in SQLite and are served over
 * OFREP; flags of LaunchDarkly or Unleash are changed through those systems' APIs.
 */

export type FlagValue = boolean | string | number | Record<string, unknown> | unknown[];
export type FlagType = 'boolean' | 'string' | 'number' | 'object';

/** A targeting rule: when the context's attribute matches, serve `variant`. Rules are tried in order. */
export interface TargetingRule {
  attribute: string;
  op: 'equals' | 'in' | 'matches';
  /** One value for equals and matches (a regular expression), several for in. */
  values: string[];
  variant: string;
}

/** A flag in one environment. */
export interface FlagState {
  key: string;
  environment: string;
  type: FlagType;
  description: string;
  /** Variant name -> value, e.g. { on: true, off: false }. */
  variants: Record<string, FlagValue>;
  enabled: boolean;
  /** Served when on and no rule or rollout decides. */
  defaultVariant: string;
  /** Served when off. */
  offVariant: string;
  /** A share of targeting keys, sticky by hash, get `variant`; the rest the default variant. */
  rollout: { percentage: number; variant: string } | null;
  rules: TargetingRule[];
  /** Bumped by every change: the ETag of bulk evaluations derives from it. */
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

/** What a change does to a flag in an environment. */
export type FlagChange =
  | { kind: 'enable' }
  | { kind: 'disable' }
  | { kind: 'rollout'; percentage: number }
  /** Adds a targeting rule after the existing ones (builtin flags). */
  | { kind: 'add-rule'; rule: TargetingRule }
  | { kind: 'clear-rules' }
  /** Puts back a state as it was before another change: what Undo does. */
  | { kind: 'restore'; state: FlagSnapshot };

/** On or off, and the rollout percentage if there is one: what any backend can report and restore. */
export interface FlagSnapshot {
  enabled: boolean;
  rollout: number | null;
  /** Builtin flags only: their targeting rules. */
  rules?: TargetingRule[];
}

export type FlagChangeStatus = 'scheduled' | 'awaiting_approval' | 'applying' | 'applied' | 'failed' | 'rejected' | 'expired';

/** A requested change of a flag in an environment: the durable state of a flag-change flow. */
export interface FlagChangeRecord {
  id: number;
  flag: string;
  environment: string;
  change: FlagChange;
  status: FlagChangeStatus;
  requestedBy: string;
  source: import('./types').Source;
  /** Where its message lives: the flag's channel. */
  channel: string;
  requestKey: string | null;
  scheduledFor: Date | null;
  approvalsRequired: number;
  approvals: import('./types').Approval[];
  expiresAt: Date | null;
  /** The flag as it was just before the change: what Undo restores. */
  before: FlagSnapshot | null;
  /** Set on an Undo: the change it reverts. */
  undoOf: number | null;
  /** Why it was rejected (with who), or what it came from (an incident, a canary). */
  reason: string | null;
  error: string | null;
  createdAt: Date;
  appliedAt: Date | null;
}

export type NewFlagChange = Pick<
  FlagChangeRecord,
  'flag' | 'environment' | 'change' | 'requestedBy' | 'source' | 'channel' | 'requestKey' | 'scheduledFor' | 'approvalsRequired' | 'expiresAt' | 'undoOf' | 'reason'
>;

export interface FlagChangeStore {
  create(input: NewFlagChange, now: Date): FlagChangeRecord;
  get(id: number): FlagChangeRecord | undefined;
  findByRequestKey(key: string): FlagChangeRecord | undefined;
  save(change: FlagChangeRecord): void;
  /** Changes applied since `since`, newest first; of one flag, or of several. */
  appliedSince(since: Date, flags?: readonly string[]): FlagChangeRecord[];
  /** Scheduled or awaiting approval, oldest first. */
  pending(): FlagChangeRecord[];
}

export interface FlagStore {
  get(key: string, environment: string): FlagState | undefined;
  /** Every environment's state of a flag. */
  all(key: string): FlagState[];
  list(environment?: string): FlagState[];
  /** Throws ConflictError when the key already exists in that environment. */
  create(state: Omit<FlagState, 'version' | 'updatedAt'>, now: Date): FlagState;
  save(state: FlagState): void;
  /** The highest version of any flag in the environment: changes whenever a flag there changes. */
  revision(environment: string): number;
}

/**
 * A flag system Shipmate does not own (LaunchDarkly, Unleash): changes go through its API.
 * Each call either succeeds or throws ExternalServiceError (retryable for 5xx and timeouts).
 */
export interface FlagBackend {
  setEnabled(key: string, environment: string, enabled: boolean, comment: string): Promise<void>;
  setRollout(key: string, environment: string, percentage: number, comment: string): Promise<void>;
  /** What the backend holds now, for /flag show and for Undo. */
  read(key: string, environment: string): Promise<{ enabled: boolean; rollout: number | null }>;
}
