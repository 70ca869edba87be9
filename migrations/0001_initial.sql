-- Deployments are the durable state of deploy flows.
CREATE TABLE deployments (
  id           INTEGER PRIMARY KEY,
  service      TEXT NOT NULL,
  environment  TEXT NOT NULL,
  version      TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('queued', 'deploying', 'succeeded', 'failed')),
  requested_by TEXT NOT NULL,
  source       TEXT NOT NULL,
  channel      TEXT NOT NULL,
  request_key  TEXT UNIQUE,
  created_at   TEXT NOT NULL,
  started_at   TEXT,
  finished_at  TEXT,
  error        TEXT
);
-- One active deploy per target, enforced by the database rather than by a check-then-act.
CREATE UNIQUE INDEX deployments_one_active_per_target
  ON deployments (service, environment) WHERE status IN ('queued', 'deploying');
CREATE INDEX deployments_by_target ON deployments (service, environment, id);

-- Every event a flow received, in order.
CREATE TABLE flow_events (
  id      INTEGER PRIMARY KEY,
  flow_id TEXT NOT NULL,
  type    TEXT NOT NULL,
  payload TEXT NOT NULL,
  at      TEXT NOT NULL
);
CREATE INDEX flow_events_by_flow ON flow_events (flow_id, id);

-- The outbox: side effects queued in the same transaction as the state change that asked for them.
CREATE TABLE effects (
  id              INTEGER PRIMARY KEY,
  flow_id         TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  lane            TEXT NOT NULL,
  type            TEXT NOT NULL,
  payload         TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  not_before      TEXT NOT NULL,
  last_error      TEXT,
  created_at      TEXT NOT NULL,
  finished_at     TEXT
);
CREATE INDEX effects_pending ON effects (lane, status, flow_id, id);

-- Slack messages Shipmate posted, by the key flows know them by.
CREATE TABLE slack_messages (
  message_key TEXT PRIMARY KEY,
  channel     TEXT NOT NULL,
  ts          TEXT NOT NULL,
  posted_at   TEXT NOT NULL
);

CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY,
  at      TEXT NOT NULL,
  actor   TEXT NOT NULL,
  source  TEXT NOT NULL,
  action  TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail  TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at);
