import type { EffectQueue, EffectSpec, FlowEventLog, Lane, QueuedEffect } from '../core/ports';
import type { Db } from './database';
import { limitTo } from './sql-values';

interface Row {
  id: number;
  flow_id: string;
  idempotency_key: string;
  lane: Lane;
  type: string;
  payload: string;
  attempts: number;
}

/** Idempotency keys are `flowId:step`; the attempt count travels separately, since the key must not change on retry. */
export const idempotencyKey = (flowId: string, step: string): string => `${flowId}:${step}`;

export function createSqliteEffectQueue(db: Db): EffectQueue {
  const insert = db.prepare(`INSERT OR IGNORE INTO effects
    (flow_id, idempotency_key, lane, type, payload, not_before, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)`);
  // The oldest pending effect of each flow: later ones wait, so a message is updated only after it was
  // posted. Read oldest first through effects_pending_in_order, stopping at `limit` (migration 0012).
  const dueInOrder = db.prepare(`SELECT e.* FROM effects e
    WHERE e.lane = @lane AND e.status = 'pending' AND e.not_before <= @now
      AND NOT EXISTS (SELECT 1 FROM effects earlier
        WHERE earlier.lane = @lane AND earlier.status = 'pending' AND earlier.flow_id = e.flow_id AND earlier.id < e.id)
    ORDER BY e.id ${limitTo('limit')}`);
  // Timers fire when due, whatever else their flow has pending.
  const dueAny = db.prepare(`SELECT * FROM effects WHERE status = 'pending' AND lane = @lane AND not_before <= @now
    ORDER BY not_before, id ${limitTo('limit')}`);
  const claim = db.prepare(`UPDATE effects SET attempts = attempts + 1 WHERE id = ?`);
  const complete = db.prepare(`UPDATE effects SET status = 'done', finished_at = ? WHERE id = ?`);
  const retry = db.prepare(`UPDATE effects SET not_before = ?, last_error = ? WHERE id = ?`);
  const dead = db.prepare(`UPDATE effects SET status = 'dead', last_error = ?, finished_at = ? WHERE id = ?`);
  const pending = db.prepare(`SELECT COUNT(*) FROM effects WHERE status = 'pending'`).pluck();

  return {
    enqueue(flowId: string, effects: readonly EffectSpec[], now: Date): void {
      for (const e of effects) {
        const at = now.toISOString();
        const notBefore = e.notBefore?.toISOString() ?? at;
        insert.run(flowId, idempotencyKey(flowId, e.step), e.lane, e.type, JSON.stringify(e.payload), notBefore, at);
      }
    },
    due: (lane, now, limit) =>
      ((lane === 'timer' ? dueAny : dueInOrder).all({ lane, now: now.toISOString(), limit }) as Row[]).map(
        (r): QueuedEffect => ({
          id: r.id,
          flowId: r.flow_id,
          idempotencyKey: r.idempotency_key,
          step: r.idempotency_key.slice(r.flow_id.length + 1),
          lane: r.lane,
          type: r.type,
          payload: JSON.parse(r.payload) as unknown,
          attempts: r.attempts,
        }),
      ),
    claim: (id) => void claim.run(id),
    complete: (id, now) => void complete.run(now.toISOString(), id),
    retryLater: (id, notBefore, error) => void retry.run(notBefore.toISOString(), error, id),
    giveUp: (id, error, now) => void dead.run(error, now.toISOString(), id),
    pendingCount: () => pending.get() as number,
  };
}

export function createSqliteFlowEventLog(db: Db): FlowEventLog {
  const insert = db.prepare('INSERT INTO flow_events (flow_id, type, payload, at) VALUES (?, ?, ?, ?)');
  return {
    append: (flowId, event, now) => void insert.run(flowId, event.type, JSON.stringify(event), now.toISOString()),
  };
}
