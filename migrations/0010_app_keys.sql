-- Keys Shipmate generates for itself on first start, such as the one that signs button values.
-- Kept with the state they protect: a restart, or a second process on the same file, uses the same key.
CREATE TABLE app_keys (
  name       TEXT PRIMARY KEY,
  key        BLOB NOT NULL,
  created_at TEXT NOT NULL
);
