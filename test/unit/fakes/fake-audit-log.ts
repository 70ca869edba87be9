import type { AuditLog } from '../../../src/core/ports';
import type { AuditEntry } from '../../../src/core/types';

export class FakeAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = [];

  record(entry: AuditEntry): void {
    this.entries.push(entry);
  }

  list(limit: number): AuditEntry[] {
    return this.entries.slice(-limit).reverse();
  }
}
