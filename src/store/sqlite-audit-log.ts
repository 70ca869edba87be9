import type { AuditLog } from '../core/ports';
import type { Redactor } from '../core/redact';
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

/** Rows are kept for years and read by many: a secret in a detail (an error's text) is redacted before it is written. */
export function createSqliteAuditLog(db: Db, options: { redactor?: Redactor } = {}): AuditLog {
  const clean = options.redactor ?? { text: (s: string) => s, value: <T>(v: T) => v };
  const insert = db.prepare(
    'INSERT INTO audit_log (at, actor, source, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const list = db.prepare(`SELECT * FROM audit_log
    WHERE @service IS NULL OR subject = @service OR substr(subject, 1, length(@service) + 1) = @service || '/'
    ORDER BY id DESC LIMIT @limit`);
  return {
    record(e: AuditEntry): void {
      insert.run(e.at.toISOString(), e.actor, e.source, e.action, clean.text(e.subject), e.detail ? JSON.stringify(clean.value(e.detail)) : null);
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
