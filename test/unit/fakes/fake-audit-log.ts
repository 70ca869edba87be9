import type { AuditLog } from '../../../src/core/ports';
import type { AuditEntry } from '../../../src/core/types';

/** Like the SQLite audit log: newest first; a service sees its own rows (`api`, `api/<env>`). */
export class FakeAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = [];

  record(entry: AuditEntry): void {
    this.entries.push(entry);
  }

  list(limit: number, service?: string): AuditEntry[] {
    return this.entries
      .filter((e) => service === undefined || e.subject === service || e.subject.startsWith(`${service}/`))
      .reverse()
      .slice(0, limit);
  }
}
