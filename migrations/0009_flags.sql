-- Shipmate's own feature flags, one row per flag and environment, served over OFREP.
CREATE TABLE flags (
  key             TEXT NOT NULL,
  environment     TEXT NOT NULL,
  type            TEXT NOT NULL CHECK (type IN ('boolean', 'string', 'number', 'object')),
  description     TEXT NOT NULL DEFAULT '',
  variants        TEXT NOT NULL,            -- JSON: {name: value}
  enabled         INTEGER NOT NULL,
  default_variant TEXT NOT NULL,
  off_variant     TEXT NOT NULL,
  rollout         TEXT,                     -- JSON: {percentage, variant}
  rules           TEXT NOT NULL DEFAULT '[]', -- JSON: [{attribute, op, values, variant}]
  version         INTEGER NOT NULL,
  updated_at      TEXT NOT NULL,
  updated_by      TEXT NOT NULL,
  PRIMARY KEY (key, environment)
);

-- Changes to flags (any backend): requested, maybe scheduled or awaiting approval, then applied.
CREATE TABLE flag_changes (
  id                 INTEGER PRIMARY KEY,
  flag               TEXT NOT NULL,
  environment        TEXT NOT NULL,
  change             TEXT NOT NULL,          -- JSON: FlagChange
  status             TEXT NOT NULL CHECK (status IN ('scheduled', 'awaiting_approval', 'applying', 'applied', 'failed', 'rejected', 'expired')),
  requested_by       TEXT NOT NULL,
  source             TEXT NOT NULL,
  channel            TEXT NOT NULL,
  request_key        TEXT UNIQUE,
  scheduled_for      TEXT,
  approvals_required INTEGER NOT NULL DEFAULT 0,
  approvals          TEXT NOT NULL DEFAULT '[]',
  expires_at         TEXT,
  before             TEXT,                   -- JSON: {enabled, rollout} before it was applied
  undo_of            INTEGER REFERENCES flag_changes (id),
  reason             TEXT,
  error              TEXT,
  created_at         TEXT NOT NULL,
  applied_at         TEXT
);
CREATE INDEX flag_changes_by_flag ON flag_changes (flag, environment, id);
