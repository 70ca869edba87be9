import type { Clock } from '../src/core/clock';
import { PermissionDeniedError } from '../src/core/errors';
import type { AuditLog } from '../src/core/ports';
import type { Actor } from '../src/core/types';

/** What `access:` in shipmate.yml grants per environment. */
export type AccessAction = 'deploy' | 'rollback' | 'flags';

/** Refuses, and audits the refusal, when the access policy does not list the person for the action. */
export async function checkAccess(
  deps: { policies: { mayAct?(action: AccessAction, environment: string, userId: string): Promise<boolean> }; audit: AuditLog; clock: Clock },
  action: AccessAction,
  environment: string,
  subject: string,
  actor: Actor,
): Promise<void> {
  if (actor.source === 'system' || !deps.policies.mayAct || (await deps.policies.mayAct(action, environment, actor.userId))) return;
  deps.audit.record({ at: deps.clock(), actor: actor.userId, source: actor.source, action: 'access.denied', subject, detail: { permission: `${action}:${environment}` } });
  throw new PermissionDeniedError(`You do not have the ${action} permission in ${environment} (access.${environment}.${action} in shipmate.yml lists who has); nothing was changed.`);
}

