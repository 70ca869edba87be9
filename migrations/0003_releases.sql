-- Multi-service releases: a plan of waves, each wave a set of deploys.
CREATE TABLE releases (
  id             INTEGER PRIMARY KEY,
  name           TEXT NOT NULL,
  environment    TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN
                   ('scheduled', 'running', 'paused', 'succeeded', 'failed', 'aborted', 'missed')),
  waves          TEXT NOT NULL,            -- JSON: the plan, [{index, services: [{name, version, externalDependencies}]}]
  results        TEXT NOT NULL DEFAULT '{}', -- JSON: {service: {status, deploymentId?, error?}}
  requested_by   TEXT NOT NULL,
  source         TEXT NOT NULL,
  channel        TEXT NOT NULL,
  notes          TEXT,
  request_key    TEXT UNIQUE,
  scheduled_for  TEXT,
  created_at     TEXT NOT NULL,
  started_at     TEXT,
  finished_at    TEXT
);
-- A name means one release at a time: a new one may reuse it once the old one is over.
CREATE UNIQUE INDEX releases_active_name ON releases (name) WHERE status IN ('scheduled', 'running', 'paused');

ALTER TABLE deployments ADD COLUMN release_id INTEGER REFERENCES releases (id);
CREATE INDEX deployments_by_release ON deployments (release_id);
