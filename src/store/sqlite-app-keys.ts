import { randomBytes } from 'node:crypto';
import type { Db } from './database';

/** The named key, made of 32 random bytes the first time it is asked for and the same ever after. */
export function appKey(db: Db, name: string, now: Date): Buffer {
  db.prepare('INSERT OR IGNORE INTO app_keys (name, key, created_at) VALUES (?, ?, ?)').run(name, randomBytes(32), now.toISOString());
  return db.prepare('SELECT key FROM app_keys WHERE name = ?').pluck().get(name) as Buffer;
}
