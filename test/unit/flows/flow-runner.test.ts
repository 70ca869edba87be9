import type { FlowDefinition } from '../../../flows/flow';
import { FlowRunner, UnknownFlowError } from '../../../flows/flow-runner';
import { ManualClock } from '../../support/manual-clock';
import { FakeAuditLog } from '../fakes/fake-audit-log';
import { FakeEffectQueue } from '../fakes/fake-effect-queue';
import { FakeFlowEventLog } from '../fakes/fake-flow-event-log';
import { FakeUnitOfWork } from '../fakes/fake-unit-of-work';

/** A counter flow: `add` moves it on with one effect and one audit row; `noop` changes nothing. */
type Counter = { id: string; count: number };
type CounterEvent = { type: 'add'; by: number } | { type: 'noop' };
const counterFlow: FlowDefinition<Counter, CounterEvent> = {
  kind: 'counter',
  transition(state, event) {
    if (event.type === 'noop') return { state, effects: [] };
    const next = { ...state, count: state.count + event.by };
    return {
      state: next,
      effects: [{ step: `post.${next.count}`, lane: 'slack', type: 'message.post', payload: { count: next.count } }],
      audit: [{ actor: 'U0ALICE1', source: 'button', action: 'counter.added', subject: state.id, detail: { by: event.by } }],
    };
  },
};

const add = (by: number): CounterEvent => ({ type: 'add', by });

function setup() {
  const clock = new ManualClock();
  const states = new Map<string, Counter>([['counter:1', { id: 'counter:1', count: 0 }]]);
  const queue = new FakeEffectQueue();
  const events = new FakeFlowEventLog();
  const audit = new FakeAuditLog();
  const uow = new FakeUnitOfWork();
  let kicks = 0;
  const runner = new FlowRunner({
    uow,
    queue,
    events,
    audit,
    clock: clock.now,
    flows: [{ definition: counterFlow, states: { load: (id) => states.get(id), save: (s: Counter) => void states.set(s.id, s) } }],
    onEffectsQueued: () => void kicks++,
  });
  return { clock, states, queue, events, audit, uow, runner, kicks: () => kicks };
}

describe('FlowRunner', () => {
  it('stores the new state, the event, the audit rows (stamped now) and the effects in one transaction', () => {
    const { runner, states, queue, events, audit, uow, clock, kicks } = setup();
    runner.dispatch('counter:1', add(2));

    expect(states.get('counter:1')).toEqual({ id: 'counter:1', count: 2 });
    expect(events.events).toEqual([{ flowId: 'counter:1', type: 'add', at: clock.now() }]);
    expect(audit.entries).toEqual([
      { at: clock.now(), actor: 'U0ALICE1', source: 'button', action: 'counter.added', subject: 'counter:1', detail: { by: 2 } },
    ]);
    expect(queue.rows.map((r) => r.idempotencyKey)).toEqual(['counter:1:post.2']);
    expect(uow.transactions).toBe(1);
    expect(kicks()).toBe(1);
  });

  it('tells listeners the new state after every transition, even one without effects', () => {
    const { runner } = setup();
    const seen: [string, unknown][] = [];
    runner.onTransition((flowId, state) => seen.push([flowId, state]));
    runner.onTransition((flowId) => seen.push([`second listener: ${flowId}`, null]));

    runner.dispatch('counter:1', add(1));
    runner.dispatch('counter:1', { type: 'noop' });

    expect(seen).toEqual([
      ['counter:1', { id: 'counter:1', count: 1 }],
      ['second listener: counter:1', null],
      ['counter:1', { id: 'counter:1', count: 1 }],
      ['second listener: counter:1', null],
    ]);
  });

  it('a listener runs after the transition is stored, so it can dispatch again', () => {
    const { runner, states } = setup();
    runner.onTransition((flowId, state) => {
      if ((state as Counter).count === 1) runner.dispatch(flowId, add(10));
    });
    runner.dispatch('counter:1', add(1));
    expect(states.get('counter:1')!.count).toBe(11);
  });

  it('does not wake the worker when nothing was queued', () => {
    const { runner, kicks } = setup();
    runner.dispatch('counter:1', { type: 'noop' });
    expect(kicks()).toBe(0);
  });

  it.each(['counter:2', 'unknown:1'])('an unknown flow (%s) is an UnknownFlowError and tells no listener', (flowId) => {
    const { runner, events } = setup();
    const listener = jest.fn();
    runner.onTransition(listener);
    expect(() => runner.dispatch(flowId, { type: 'noop' })).toThrow(new UnknownFlowError(flowId));
    expect(listener).not.toHaveBeenCalled();
    expect(events.events).toEqual([]);
  });
});
