-- A canary deploy keeps its progress (steps, weight, analysis counts, measured points) as JSON
-- beside its deployment: one row is the deploy flow's whole state, saved in one statement.
ALTER TABLE deployments ADD COLUMN canary TEXT;
