-- Release trains: versions wait in a train's queue until its next departure.
CREATE TABLE train_items (
  train     TEXT NOT NULL,
  service   TEXT NOT NULL,
  version   TEXT NOT NULL,
  queued_by TEXT NOT NULL,
  queued_at TEXT NOT NULL,
  PRIMARY KEY (train, service)
);

-- When each train last departed (or was found missed), so a restart neither repeats nor skips one.
CREATE TABLE trains (
  name        TEXT PRIMARY KEY,
  last_run_at TEXT NOT NULL
);
