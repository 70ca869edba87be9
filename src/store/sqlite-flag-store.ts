import { ConflictError } from '../core/errors';
import type { FlagChangeRecord, FlagChangeStore, FlagState, FlagStore } from '../core/flags';
import type { Approval } from '../core/types';
import type { Db } from './database';
import { toDate, toIso } from './sql-values';

interface FlagRow {
  key: string;
  environment: string;
  type: FlagState['type'];
  description: string;
  variants: string;
  enabled: number;
  default_variant: string;
  off_variant: string;
  rollout: string | null;
  rules: string;
  version: number;
  updated_at: string;
  updated_by: string;
}

const toFlag = (r: FlagRow): FlagState => ({
  key: r.key,
  environment: r.environment,
  type: r.type,
  description: r.description,
  variants: JSON.parse(r.variants) as FlagState['variants'],
  enabled: r.enabled === 1,
  defaultVariant: r.default_variant,
  offVariant: r.off_variant,
  rollout: r.rollout ? (JSON.parse(r.rollout) as FlagState['rollout']) : null,
  rules: JSON.parse(r.rules) as FlagState['rules'],
  version: r.version,
  updatedAt: new Date(r.updated_at),
  updatedBy: r.updated_by,
});

const params = (f: Omit<FlagState, 'updatedAt' | 'version'> & { version: number; updatedAt: Date }) => ({
  key: f.key,
  environment: f.environment,
  type: f.type,
  description: f.description,
  variants: JSON.stringify(f.variants),
  enabled: f.enabled ? 1 : 0,
  defaultVariant: f.defaultVariant,
  offVariant: f.offVariant,
  rollout: f.rollout ? JSON.stringify(f.rollout) : null,
  rules: JSON.stringify(f.rules),
  version: f.version,
  updatedAt: f.updatedAt.toISOString(),
  updatedBy: f.updatedBy,
});

export function createSqliteFlagStore(db: Db): FlagStore {
  const insert = db.prepare(`INSERT INTO flags (key, environment, type, description, variants, enabled, default_variant, off_variant, rollout, rules, version, updated_at, updated_by)
    VALUES (@key, @environment, @type, @description, @variants, @enabled, @defaultVariant, @offVariant, @rollout, @rules, @version, @updatedAt, @updatedBy)`);
  const update = db.prepare(`UPDATE flags SET description = @description, variants = @variants, enabled = @enabled, default_variant = @defaultVariant,
    off_variant = @offVariant, rollout = @rollout, rules = @rules, version = @version, updated_at = @updatedAt, updated_by = @updatedBy
    WHERE key = @key AND environment = @environment`);
  const get = db.prepare('SELECT * FROM flags WHERE key = ? AND environment = ?');
  const all = db.prepare('SELECT * FROM flags WHERE key = ? ORDER BY environment');
  const list = db.prepare('SELECT * FROM flags WHERE (@environment IS NULL OR environment = @environment) ORDER BY key, environment');
  // Versions grow across the environment, so the revision (the max) changes with every save.
  const nextVersion = db.prepare('SELECT COALESCE(MAX(version), 0) + 1 FROM flags WHERE environment = ?').pluck();
  const revision = db.prepare('SELECT COALESCE(MAX(version), 0) FROM flags WHERE environment = ?').pluck();
  return {
    get: (key, environment) => {
      const row = get.get(key, environment) as FlagRow | undefined;
      return row && toFlag(row);
    },
    all: (key) => (all.all(key) as FlagRow[]).map(toFlag),
    list: (environment) => (list.all({ environment: environment ?? null }) as FlagRow[]).map(toFlag),
    create(state, now) {
      try {
        insert.run(params({ ...state, version: nextVersion.get(state.environment) as number, updatedAt: now }));
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new ConflictError(`The flag ${state.key} already exists in ${state.environment}.`);
        throw error;
      }
      return toFlag(get.get(state.key, state.environment) as FlagRow);
    },
    save(state) {
      update.run(params({ ...state, version: nextVersion.get(state.environment) as number }));
    },
    revision: (environment) => revision.get(environment) as number,
  };
}

interface ChangeRow {
  id: number;
  flag: string;
  environment: string;
  change: string;
  status: FlagChangeRecord['status'];
  requested_by: string;
  source: FlagChangeRecord['source'];
  channel: string;
  request_key: string | null;
  scheduled_for: string | null;
  approvals_required: number;
  approvals: string;
  expires_at: string | null;
  before: string | null;
  undo_of: number | null;
  reason: string | null;
  error: string | null;
  created_at: string;
  applied_at: string | null;
}

const toChange = (r: ChangeRow): FlagChangeRecord => ({
  id: r.id,
  flag: r.flag,
  environment: r.environment,
  change: JSON.parse(r.change) as FlagChangeRecord['change'],
  status: r.status,
  requestedBy: r.requested_by,
  source: r.source,
  channel: r.channel,
  requestKey: r.request_key,
  scheduledFor: toDate(r.scheduled_for),
  approvalsRequired: r.approvals_required,
  approvals: (JSON.parse(r.approvals) as { userId: string; at: string }[]).map((a): Approval => ({ userId: a.userId, at: new Date(a.at) })),
  expiresAt: toDate(r.expires_at),
  before: r.before ? (JSON.parse(r.before) as FlagChangeRecord['before']) : null,
  undoOf: r.undo_of,
  reason: r.reason,
  error: r.error,
  createdAt: new Date(r.created_at),
  appliedAt: toDate(r.applied_at),
});

export function createSqliteFlagChangeStore(db: Db): FlagChangeStore {
  const insert = db.prepare(`INSERT INTO flag_changes (flag, environment, change, status, requested_by, source, channel, request_key, scheduled_for,
    approvals_required, expires_at, undo_of, reason, created_at)
    VALUES (@flag, @environment, @change, @status, @requestedBy, @source, @channel, @requestKey, @scheduledFor, @approvalsRequired, @expiresAt, @undoOf, @reason, @createdAt)`);
  const byId = db.prepare('SELECT * FROM flag_changes WHERE id = ?');
  const byKey = db.prepare('SELECT * FROM flag_changes WHERE request_key = ?');
  const update = db.prepare(`UPDATE flag_changes SET status = @status, approvals = @approvals, before = @before, reason = @reason, error = @error,
    applied_at = @appliedAt WHERE id = @id`);
  const applied = db.prepare(`SELECT * FROM flag_changes WHERE status = 'applied' AND applied_at >= ? ORDER BY applied_at DESC, id DESC LIMIT 200`);
  const pending = db.prepare(`SELECT * FROM flag_changes WHERE status IN ('scheduled', 'awaiting_approval') ORDER BY id`);
  const one = (row: unknown) => (row ? toChange(row as ChangeRow) : undefined);
  return {
    create(input, now) {
      const status = input.scheduledFor && input.scheduledFor > now ? 'scheduled' : input.approvalsRequired > 0 ? 'awaiting_approval' : 'applying';
      const { lastInsertRowid } = insert.run({
        ...input,
        change: JSON.stringify(input.change),
        status,
        scheduledFor: toIso(input.scheduledFor),
        expiresAt: toIso(input.expiresAt),
        createdAt: now.toISOString(),
      });
      return one(byId.get(lastInsertRowid))!;
    },
    get: (id) => one(byId.get(id)),
    findByRequestKey: (key) => one(byKey.get(key)),
    save(c) {
      update.run({ id: c.id, status: c.status, approvals: JSON.stringify(c.approvals), before: c.before ? JSON.stringify(c.before) : null, reason: c.reason, error: c.error, appliedAt: toIso(c.appliedAt) });
    },
    appliedSince: (since, flags) => (applied.all(since.toISOString()) as ChangeRow[]).map(toChange).filter((c) => !flags || flags.includes(c.flag)),
    pending: () => (pending.all() as ChangeRow[]).map(toChange),
  };
}
