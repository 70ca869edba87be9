import type { Clock } from '../src/core/clock';
import { AppError } from '../src/core/errors';
import type { AuditLog, EffectQueue, FlowEventLog, UnitOfWork } from '../src/core/ports';
import type { FlowDefinition, FlowStateRepository } from './flow';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFlow = { definition: FlowDefinition<any, any>; states: FlowStateRepository<any> };

export class UnknownFlowError extends AppError {
  constructor(flowId: string) {
    super('not_found', `No flow ${flowId}.`);
  }
}

export interface FlowRunnerDeps {
  uow: UnitOfWork;
  queue: EffectQueue;
  events: FlowEventLog;
  audit: AuditLog;
  clock: Clock;
  flows: AnyFlow[];
  /** Called after effects were queued, so a worker can pick them up at once. */
  onEffectsQueued?: () => void;
}

/**
 * Advances flows: in one transaction it loads the state, applies the pure transition, stores the
 * new state, the event, its audit rows and the effects. Performing the effects is the worker's job, afterwards.
 */
export class FlowRunner {
  private readonly flows = new Map<string, AnyFlow>();
  private readonly listeners: ((flowId: string, state: unknown) => void)[] = [];

  constructor(private readonly deps: FlowRunnerDeps) {
    for (const flow of deps.flows) this.flows.set(flow.definition.kind, flow);
  }

  /** Called after every transition, in its transaction, with the new state: e.g. to start what waited for it. */
  onTransition(listener: (flowId: string, state: unknown) => void): void {
    this.listeners.push(listener);
  }

  dispatch(flowId: string, event: { type: string }): void {
    const flow = this.flows.get(flowId.slice(0, flowId.indexOf(':')));
    if (!flow) throw new UnknownFlowError(flowId);
    const { queued } = this.deps.uow.transaction(() => {
      const state = flow.states.load(flowId);
      if (state === undefined) throw new UnknownFlowError(flowId);
      const now = this.deps.clock();
      const { state: next, effects, audit = [] } = flow.definition.transition(state, event, now);
      flow.states.save(next);
      this.deps.events.append(flowId, event, now);
      for (const entry of audit) this.deps.audit.record({ ...entry, at: now });
      this.deps.queue.enqueue(flowId, effects, now);
      // Listeners advance other flows (the next queued deploy, the release a deploy belongs to)
      // inside this transaction, so a crash cannot leave one moved and the other not.
      for (const listener of this.listeners) listener(flowId, next);
      return { queued: effects.length };
    });
    if (queued > 0) this.deps.onEffectsQueued?.();
  }
}
