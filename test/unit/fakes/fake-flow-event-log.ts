import type { FlowEventLog } from '../../../src/core/ports';

export class FakeFlowEventLog implements FlowEventLog {
  readonly events: { flowId: string; type: string; at: Date }[] = [];

  append(flowId: string, event: { type: string }, now: Date): void {
    this.events.push({ flowId, type: event.type, at: new Date(now) });
  }
}
