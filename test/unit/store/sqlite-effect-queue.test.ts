import fc from 'fast-check';
import type { Lane } from '../../../src/core/ports';
import { migrate, openDatabase } from '../../../src/store/database';
import { createSqliteEffectQueue } from '../../../src/store/sqlite-effect-queue';
import { FakeEffectQueue } from '../fakes/fake-effect-queue';

const START = new Date('2026-12-04T10:00:00Z');
const at = (seconds: number) => new Date(START.getTime() + seconds * 1000);
const LANES: Lane[] = ['slack', 'work', 'timer'];

type Op =
  | { kind: 'enqueue'; flow: number; lane: Lane; delay: number }
  | { kind: 'complete'; pick: number }
  | { kind: 'retryLater'; pick: number; delay: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('enqueue' as const), flow: fc.integer({ min: 0, max: 5 }), lane: fc.constantFrom(...LANES), delay: fc.integer({ min: 0, max: 60 }) }),
  fc.record({ kind: fc.constant('complete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('retryLater' as const), pick: fc.nat(), delay: fc.integer({ min: 1, max: 60 }) }),
);

describe('the SQLite effect queue', () => {
  it('answers due() as the in-memory queue does: oldest first, one per flow but for timers, none before its time', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 0, max: 90 }), fc.integer({ min: 1, max: 4 }), (ops, now, limit) => {
        const db = openDatabase(':memory:');
        migrate(db, undefined, START);
        const real = createSqliteEffectQueue(db);
        const fake = new FakeEffectQueue();
        let step = 0;
        for (const o of ops) {
          const pending = fake.rows.filter((r) => r.status === 'pending');
          if (o.kind === 'enqueue') {
            const spec = [{ step: `s${step++}`, lane: o.lane, type: 'post', payload: { n: step }, notBefore: at(o.delay) }];
            real.enqueue(`deploy:${o.flow}`, spec, START);
            fake.enqueue(`deploy:${o.flow}`, spec, START);
          } else if (pending.length > 0) {
            const id = pending[o.pick % pending.length]!.id;
            if (o.kind === 'complete') [real, fake].forEach((q) => q.complete(id, START));
            else [real, fake].forEach((q) => q.retryLater(id, at(o.delay), 'failed'));
          }
        }
        for (const lane of LANES) expect(real.due(lane, at(now), limit)).toEqual(fake.due(lane, at(now), limit));
        db.close();
      }),
      { numRuns: 300 },
    );
  });

  it('finds the heads of flows through effects_pending_in_order, without grouping or sorting every pending effect', () => {
    const db = openDatabase(':memory:');
    migrate(db, undefined, START);
    const prepared: string[] = [];
    const prepare = db.prepare.bind(db);
    createSqliteEffectQueue(Object.assign(Object.create(db) as typeof db, { prepare: (s: string) => (prepared.push(s), prepare(s)) }));
    const inOrder = prepared.find((s) => s.includes('NOT EXISTS'))!;
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${inOrder}`).all({ lane: 'slack', now: START.toISOString(), limit: 1 }) as { detail: string }[]).map((r) => r.detail);

    expect(plan[0]).toBe('SEARCH e USING INDEX effects_pending_in_order (lane=? AND status=?)');
    expect(plan.join('\n')).not.toMatch(/TEMP B-TREE|SCAN/);
  });
});
