-- Outcomes that asynchronous webhook targets report to POST /deployments/callback, kept so a
-- callback that arrives while a deploy waits, or just before a restart, is not lost.
CREATE TABLE deploy_callbacks (
  idempotency_key TEXT PRIMARY KEY,
  status          TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
  detail          TEXT,
  received_at     TEXT NOT NULL
);
