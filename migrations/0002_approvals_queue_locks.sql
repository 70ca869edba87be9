-- Deploys can now wait for approval, be rejected or expire, and wait in a queue behind another
-- deploy or a lock. SQLite cannot change a CHECK constraint in place, so the table is rebuilt.
CREATE TABLE deployments_v2 (
  id                 INTEGER PRIMARY KEY,
  service            TEXT NOT NULL,
  environment        TEXT NOT NULL,
  version            TEXT NOT NULL,
  status             TEXT NOT NULL CHECK (status IN
                       ('awaiting_approval', 'queued', 'deploying', 'succeeded', 'failed', 'rejected', 'expired')),
  requested_by       TEXT NOT NULL,
  source             TEXT NOT NULL,
  channel            TEXT NOT NULL,
  request_key        TEXT UNIQUE,
  created_at         TEXT NOT NULL,
  started_at         TEXT,
  finished_at        TEXT,
  error              TEXT,
  approvals_required INTEGER NOT NULL DEFAULT 0,
  approvals          TEXT NOT NULL DEFAULT '[]',   -- JSON [{userId, at}]
  expires_at         TEXT,
  decided_by         TEXT,                          -- who rejected
  decision_reason    TEXT,
  wait_in_queue      INTEGER NOT NULL DEFAULT 0,    -- asked with --queue
  break_glass_reason TEXT
);
INSERT INTO deployments_v2
  (id, service, environment, version, status, requested_by, source, channel, request_key, created_at, started_at, finished_at, error)
  SELECT id, service, environment, version, status, requested_by, source, channel, request_key, created_at, started_at, finished_at, error
  FROM deployments;
DROP TABLE deployments;
ALTER TABLE deployments_v2 RENAME TO deployments;

-- One deploy per target runs at a time; others may wait in the queue.
CREATE UNIQUE INDEX deployments_one_running_per_target ON deployments (service, environment) WHERE status = 'deploying';
CREATE INDEX deployments_by_target ON deployments (service, environment, id);
CREATE INDEX deployments_by_status ON deployments (status, id);

-- A lock on an environment (service NULL: every service in it) or on one service there.
CREATE TABLE locks (
  id          INTEGER PRIMARY KEY,
  environment TEXT NOT NULL,
  service     TEXT,
  reason      TEXT NOT NULL,
  locked_by   TEXT NOT NULL,
  locked_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX locks_one_per_target ON locks (environment, IFNULL(service, ''));
