-- Rollbacks are deploys of an earlier good version. The deploys they undo are marked rolled back,
-- so they no longer count as known good versions.
ALTER TABLE deployments ADD COLUMN rollback_of INTEGER REFERENCES deployments (id);
ALTER TABLE deployments ADD COLUMN rollback_from TEXT;
ALTER TABLE deployments ADD COLUMN rolled_back INTEGER NOT NULL DEFAULT 0;
-- The version that ran before this deploy finished: where its Roll back button leads.
ALTER TABLE deployments ADD COLUMN previous_good TEXT;
CREATE INDEX deployments_good ON deployments (service, environment, status, rolled_back, id);
