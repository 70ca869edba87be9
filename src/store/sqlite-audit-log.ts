import type { AuditLog } from '../core/ports';
import type { Redactor } from '../core/redact';
import type { AuditEntry, Source } from '../core/types';
import type { Db } from './database';
import { limitTo } from './sql-values';

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
  const all = db.prepare(`SELECT * FROM audit_log ORDER BY id DESC ${limitTo('limit')}`);
  // A subject is "<service>/<environment>", a service, or an environment; its first part is what
  // audit_log_by_service (migration 0011) indexes, so this expression must stay as it is there.
  const ofService = db.prepare(`SELECT * FROM audit_log
    WHERE (CASE WHEN instr(subject, '/') > 0 THEN substr(subject, 1, instr(subject, '/') - 1) ELSE subject END) = @service
    ORDER BY id DESC ${limitTo('limit')}`);
  return {
    record(e: AuditEntry): void {
      insert.run(e.at.toISOString(), e.actor, e.source, e.action, clean.text(e.subject), e.detail ? JSON.stringify(clean.value(e.detail)) : null);
    },
    list: (limit, service) =>
      ((service === undefined ? all.all({ limit }) : ofService.all({ limit, service })) as Row[]).map((r) => ({
        at: new Date(r.at),
        actor: r.actor,
        source: r.source,
        action: r.action,
        subject: r.subject,
        ...(r.detail ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}),
      })),
  };
}
