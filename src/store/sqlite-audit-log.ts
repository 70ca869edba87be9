import type { AuditLog } from '../core/ports';
import type { AuditEntry, Source } from '../core/types';
import type { Db } from './database';

interface Row {
  at: string;
  actor: string;
  source: Source;
  action: string;
  subject: string;
  detail: string | null;
}

export function createSqliteAuditLog(db: Db): AuditLog {
  const insert = db.prepare(
    'INSERT INTO audit_log (at, actor, source, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const list = db.prepare(`SELECT * FROM audit_log
    WHERE @service IS NULL OR subject = @service OR substr(subject, 1, length(@service) + 1) = @service || '/'
    ORDER BY id DESC LIMIT @limit`);
  return {
    record(e: AuditEntry): void {
      insert.run(e.at.toISOString(), e.actor, e.source, e.action, e.subject, e.detail ? JSON.stringify(e.detail) : null);
    },
    list: (limit, service) =>
      (list.all({ limit, service: service ?? null }) as Row[]).map((r) => ({
        at: new Date(r.at),
        actor: r.actor,
        source: r.source,
        action: r.action,
        subject: r.subject,
        ...(r.detail ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}),
      })),
  };
}
