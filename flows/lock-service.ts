import type { Clock } from '../src/core/clock';
import { NotFoundError } from '../src/core/errors';
import type { AuditLog, DeploymentStore, LockStore, UnitOfWork } from '../src/core/ports';
import type { Actor, Lock } from '../src/core/types';
import type { DeployService } from './deploy-service';

/** Locks and unlocks environments or single services in them. */
export class LockService {
  constructor(
    private readonly deps: { locks: LockStore; store: DeploymentStore; audit: AuditLog; uow: UnitOfWork; clock: Clock; deployService: DeployService },
  ) {}

  lock(environment: string, service: string | null, reason: string, actor: Actor): Lock {
    const { locks, audit, uow, clock } = this.deps;
    return uow.transaction(() => {
      const lock: Lock = { environment, service, reason, lockedBy: actor.userId, lockedAt: clock() };
      locks.lock(lock);
      audit.record({ at: lock.lockedAt, actor: actor.userId, source: actor.source, action: 'lock.added', subject: service ? `${service}/${environment}` : environment, detail: { reason } });
      return lock;
    });
  }

  /** Lifts the lock and starts whatever queued behind it, telling whoever waited. */
  unlock(environment: string, service: string | null, actor: Actor, services: readonly string[]): { lock: Lock; started: number } {
    const { locks, audit, uow, clock, store, deployService } = this.deps;
    const lock = uow.transaction(() => {
      const removed = locks.unlock(environment, service);
      const what = service ? `${service} in ${environment}` : environment;
      if (!removed) throw new NotFoundError(`${what} is not locked${service ? '' : ' as a whole'}. \`/deploy status\` lists the locks.`);
      audit.record({ at: clock(), actor: actor.userId, source: actor.source, action: 'lock.removed', subject: service ? `${service}/${environment}` : environment, detail: { reason: removed.reason } });
      return removed;
    });
    let started = 0;
    for (const s of service ? [service] : services) {
      const waiting = store.queued(s, environment).length;
      if (waiting === 0) continue;
      deployService.startNext(s, environment, "The lock was lifted; your deploy starts now.");
      started += waiting - store.queued(s, environment).length;
    }
    return { lock, started };
  }
}
