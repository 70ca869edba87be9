-- SLO incidents: one per service and SLO (or Alertmanager alert) while it fires, edited in place.
CREATE TABLE incidents (
  id            INTEGER PRIMARY KEY,
  service       TEXT NOT NULL,
  slo           TEXT NOT NULL,
  source        TEXT NOT NULL CHECK (source IN ('slo', 'alertmanager')),
  status        TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
  severity      TEXT NOT NULL CHECK (severity IN ('page', 'ticket')),
  channel       TEXT NOT NULL,
  environment   TEXT NOT NULL,
  snapshot      TEXT NOT NULL,          -- JSON: burn rates, budget, the alert rows, the runbook
  revision      INTEGER NOT NULL DEFAULT 0,
  acknowledged_by TEXT,
  rollback      TEXT,                   -- JSON: {deploymentId, by, from, to, status}
  releases_paused_by TEXT,
  opened_at     TEXT NOT NULL,
  resolved_at   TEXT
);
-- Shipmate's own evaluation and Alertmanager may watch the same SLO: each keeps its own incident.
CREATE UNIQUE INDEX incidents_open ON incidents (service, slo, source) WHERE status = 'firing';
CREATE INDEX incidents_by_service ON incidents (service, id);

-- The latest evaluation of each SLO, for /slo status, break-glass on an exhausted budget, and
-- saying a backend error or a traffic stop once instead of every minute.
CREATE TABLE slo_states (
  service          TEXT NOT NULL,
  slo              TEXT NOT NULL,
  evaluated_at     TEXT NOT NULL,
  evaluation       TEXT NOT NULL,       -- JSON: the last evaluation
  error            TEXT,                -- set while the backend fails for this SLO
  traffic_stopped  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (service, slo)
);
