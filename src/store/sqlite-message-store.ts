import type { Db } from './database';

export interface PostedMessage {
  channel: string;
  ts: string;
}

/** Where each message Shipmate posted lives in Slack, so later effects can edit it or reply under it. */
export interface MessageStore {
  get(messageKey: string): PostedMessage | undefined;
  put(messageKey: string, message: PostedMessage, now: Date): void;
  /** Which of Shipmate's messages is at that place: a thread's parent, say. */
  keyAt(channel: string, ts: string): string | undefined;
}

export function createSqliteMessageStore(db: Db): MessageStore {
  const get = db.prepare('SELECT channel, ts FROM slack_messages WHERE message_key = ?');
  const put = db.prepare('INSERT OR REPLACE INTO slack_messages (message_key, channel, ts, posted_at) VALUES (?, ?, ?, ?)');
  const at = db.prepare('SELECT message_key FROM slack_messages WHERE channel = ? AND ts = ?').pluck();
  return {
    keyAt: (channel, ts) => at.get(channel, ts) as string | undefined,
    get: (key) => get.get(key) as PostedMessage | undefined,
    put: (key, m, now) => void put.run(key, m.channel, m.ts, now.toISOString()),
  };
}
