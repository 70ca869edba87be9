import type { EffectQueue, EffectSpec, Lane, QueuedEffect } from '../../../src/core/ports';

export interface FakeEffectRow {
  id: number;
  flowId: string;
  idempotencyKey: string;
  step: string;
  lane: Lane;
  type: string;
  payload: unknown;
  attempts: number;
  status: 'pending' | 'done' | 'dead';
  notBefore: Date;
  lastError: string | null;
  finishedAt: Date | null;
}

/**
 * An in-memory EffectQueue with the SQLite queue's rules: duplicate idempotency keys are ignored,
 * nothing is due before its `notBefore`, in the slack and work lanes only the oldest pending
 * effect of a flow is due, in the timer lane every due one is, and each claim counts an attempt.
 */
export class FakeEffectQueue implements EffectQueue {
  readonly rows: FakeEffectRow[] = [];

  enqueue(flowId: string, effects: readonly EffectSpec[], now: Date): void {
    for (const e of effects) {
      const idempotencyKey = `${flowId}:${e.step}`;
      if (this.rows.some((r) => r.idempotencyKey === idempotencyKey)) continue;
      this.rows.push({
        id: this.rows.length + 1,
        flowId,
        idempotencyKey,
        step: e.step,
        lane: e.lane,
        type: e.type,
        payload: structuredClone(e.payload),
        attempts: 0,
        status: 'pending',
        notBefore: new Date(e.notBefore ?? now),
        lastError: null,
        finishedAt: null,
      });
    }
  }

  due(lane: Lane, now: Date, limit: number): QueuedEffect[] {
    const pending = this.rows.filter((r) => r.status === 'pending' && r.lane === lane);
    const isDue = (r: FakeEffectRow) => r.notBefore.getTime() <= now.getTime();
    // Timers are independent: every due one, earliest first. Elsewhere only a flow's oldest.
    const candidates =
      lane === 'timer'
        ? pending.filter(isDue).sort((a, b) => a.notBefore.getTime() - b.notBefore.getTime() || a.id - b.id)
        : pending.filter((r) => pending.find((head) => head.flowId === r.flowId) === r && isDue(r));
    return candidates
      .slice(0, limit)
      .map((r) => ({
        id: r.id,
        flowId: r.flowId,
        idempotencyKey: r.idempotencyKey,
        step: r.step,
        lane: r.lane,
        type: r.type,
        payload: structuredClone(r.payload),
        attempts: r.attempts,
      }));
  }

  claim(id: number): void {
    this.row(id).attempts += 1;
  }

  complete(id: number, now: Date): void {
    const row = this.row(id);
    row.status = 'done';
    row.finishedAt = new Date(now);
  }

  retryLater(id: number, notBefore: Date, error: string): void {
    const row = this.row(id);
    row.notBefore = new Date(notBefore);
    row.lastError = error;
  }

  giveUp(id: number, error: string, now: Date): void {
    const row = this.row(id);
    row.status = 'dead';
    row.lastError = error;
    row.finishedAt = new Date(now);
  }

  pendingCount(): number {
    return this.rows.filter((r) => r.status === 'pending').length;
  }

  /** The row of a flow's step, for assertions. */
  byKey(idempotencyKey: string): FakeEffectRow {
    const row = this.rows.find((r) => r.idempotencyKey === idempotencyKey);
    if (!row) throw new Error(`no effect ${idempotencyKey}; queued: ${this.rows.map((r) => r.idempotencyKey).join(', ')}`);
    return row;
  }

  private row(id: number): FakeEffectRow {
    const row = this.rows.find((r) => r.id === id);
    if (!row) throw new Error(`no effect ${id}`);
    return row;
  }
}
