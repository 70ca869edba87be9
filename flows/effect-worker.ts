import type { Clock } from '../src/core/clock';
import { ExternalServiceError, StorageUnavailableError } from '../src/core/errors';
import type { EffectQueue, Lane, QueuedEffect, UnitOfWork } from '../src/core/ports';
import type { FlowRunner } from './flow-runner';

/** Performs one effect. May return an event for the flow: its result. */
export type EffectHandler = (effect: QueuedEffect) => Promise<{ type: string } | void>;

export interface WorkerLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface EffectWorkerDeps {
  queue: EffectQueue;
  uow: UnitOfWork;
  runner: FlowRunner;
  clock: Clock;
  handlers: Record<string, EffectHandler>;
  log: WorkerLog;
  /** How many effects of a lane run at once. Slack messages go one by one; deploys in parallel. */
  concurrency?: Partial<Record<Lane, number>>;
  maxAttempts?: number;
}

const LANES: Lane[] = ['slack', 'work', 'timer'];

/** Tries of a work effect before it is given up on (Slack messages are retried for as long as it takes). */
export const DEFAULT_MAX_ATTEMPTS = 10;

/**
 * How long the worker leaves the queue alone after the database refused a write: about one
 * reconciler tick, whose kick brings it back. Every effect needs the database to record its outcome.
 */
export const STORAGE_PAUSE_MS = 5_000;

/** Exponential backoff: 1s, 2s, 4s ... capped at 5 minutes. */
export function backoffMs(attempt: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Drains the effect queue. Marking an effect done and feeding its result to the flow happen in
 * one transaction, so after a crash an effect is either done (and the flow moved on) or still
 * pending, and is then performed again with the same idempotency key.
 */
export class EffectWorker {
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly busyFlows: Record<Lane, Set<string>> = { slack: new Set(), work: new Set(), timer: new Set() };
  private pumping: Promise<void> | undefined;
  private repump = false;
  private waitingToPump = false;
  private stopped = false;
  /** Set once stop() stopped waiting: results that arrive later are not recorded. */
  private abandoned = false;
  /** Until when (ms) the queue is left alone because the database would not take writes. */
  private pausedUntil = 0;

  constructor(private readonly deps: EffectWorkerDeps) {}

  /**
   * Looks for due effects once the current turn of the event loop is over, so the kicks of a busy
   * turn (every request that queued effects, every effect that finished) share one look. Cheap;
   * call it whenever something was queued or time passed.
   */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      // A look that has not started yet will see what this kick is about.
      if (!this.waitingToPump) this.repump = true;
      return;
    }
    this.waitingToPump = true;
    this.pumping = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        this.waitingToPump = false;
        // stop() may have come in between: it takes no new work.
        if (!this.stopped) this.pump();
      })
      .catch((error: unknown) => this.pause(undefined, error))
      .finally(() => {
        this.pumping = undefined;
        if (this.repump) {
          this.repump = false;
          this.kick();
        }
      });
  }

  /** Resolves once nothing is running or about to run. */
  async idle(): Promise<void> {
    while (this.pumping || this.inFlight.size > 0) {
      await Promise.all([this.pumping, ...this.inFlight.values()]);
    }
  }

  /**
   * Takes no new work and waits up to `graceMs` for what runs. Whatever is still running then (a
   * 30-minute rollout) is left: its effect stays pending and runs again, with the same
   * idempotency key, after the next start.
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([this.idle(), grace]);
    clearTimeout(timer);
    this.abandoned = true;
  }

  private pump(): void {
    const now = this.deps.clock();
    if (now.getTime() < this.pausedUntil) return;
    for (const lane of LANES) {
      const limit = this.deps.concurrency?.[lane] ?? (lane === 'slack' ? 1 : 16);
      const running = this.busyFlows[lane];
      if (running.size >= limit) continue;
      for (const effect of this.deps.queue.due(lane, now, limit + running.size)) {
        if (running.size >= limit) break;
        if (this.inFlight.has(effect.id) || running.has(effect.flowId)) continue;
        running.add(effect.flowId);
        const run = this.perform(effect).finally(() => {
          running.delete(effect.flowId);
          this.inFlight.delete(effect.id);
          this.kick();
        });
        this.inFlight.set(effect.id, run);
      }
    }
  }

  private async perform(effect: QueuedEffect): Promise<void> {
    const handler = this.deps.handlers[effect.type];
    try {
      this.deps.uow.transaction(() => this.deps.queue.claim(effect.id, this.deps.clock()));
      if (!handler) throw new Error(`no handler for effect type ${effect.type}`);
      const result = await handler(effect);
      // Shut down meanwhile: the effect stays pending and runs again after the next start.
      if (this.abandoned) return;
      this.deps.uow.transaction(() => {
        this.deps.queue.complete(effect.id, this.deps.clock());
        if (result) this.deps.runner.dispatch(effect.flowId, result);
      });
    } catch (error) {
      if (this.abandoned) return;
      try {
        if (error instanceof StorageUnavailableError) throw error;
        this.failed(effect, error);
      } catch (unrecorded) {
        this.pause(effect, unrecorded);
      }
    }
  }

  /**
   * The database would not take the effect's outcome (nor its failure): the effect stays pending as
   * it was, to run again with the same idempotency key, and the queue waits for a later kick
   * instead of trying the same effects again at once, against the same busy or full database.
   */
  private pause(effect: QueuedEffect | undefined, error: unknown): void {
    this.pausedUntil = this.deps.clock().getTime() + STORAGE_PAUSE_MS;
    const context = { ...(effect ? { effect: effect.idempotencyKey } : {}), err: error instanceof Error ? error.message : String(error), retryInMs: STORAGE_PAUSE_MS };
    // The store reported its own refusal already; anything else is a fault of ours.
    if (error instanceof StorageUnavailableError) this.deps.log.warn(context, 'the database refused a write; effects wait');
    else this.deps.log.error(context, 'could not record an effect; effects wait');
  }

  private failed(effect: QueuedEffect, error: unknown): void {
    const attempts = effect.attempts + 1;
    const message = error instanceof Error ? error.message : String(error);
    const retryable = !(error instanceof ExternalServiceError) || error.retryable;
    const context = { effect: effect.idempotencyKey, attempts, err: message };
    // Slack messages are delayed, never dropped, while Slack may still take them.
    if (retryable && (effect.lane === 'slack' || attempts < (this.deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS))) {
      const wait = (error instanceof ExternalServiceError && error.retryAfterMs) || backoffMs(attempts);
      this.deps.uow.transaction(() => this.deps.queue.retryLater(effect.id, new Date(this.deps.clock().getTime() + wait), message));
      this.deps.log.warn({ ...context, retryInMs: wait }, 'effect failed; will retry');
    } else {
      this.deps.uow.transaction(() => this.deps.queue.giveUp(effect.id, message, this.deps.clock()));
      this.deps.log.error(context, 'effect failed; giving up');
    }
  }
}
