/**
 * A DeployService and LockService over fakes, with a shipmate.yml of two services: api (staging;
 * prod needing two approvals within an hour) and web (staging, prod), and people with and
 * without approval and break-glass rights. Shared by the deploy service's tests.
 */
import type { ThreadReply } from '../../../flows/messages';
import type { Actor } from '../../../src/core/types';
import { configOf, deployWorld, webhook } from '../fakes/deploy-world';

export const ALICE = 'U0ALICE1'; // asks for deploys; also a listed prod approver
export const BOB = 'U0BOB001'; // asks for deploys
export const CAROL = 'U0CAROL1'; // listed prod approver
export const DAVE = 'U0DAVE01'; // prod approver through the release group
export const ERIN = 'U0ERIN01'; // may break glass, listed by name
export const FRANK = 'U0FRANK1'; // may break glass through the on-call group
export const MALLORY = 'U0MALLRY'; // no rights anywhere
export const RELEASE = 'S0RELEASE';
export const ONCALL = 'S0ONCALL';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export const slash = (userId: string): Actor => ({ userId, source: 'slash_command' });

/** The clock starts Monday 2026-11-23 10:00 UTC; this freeze covers api in staging 09:00-12:00. */
export const FREEZE = {
  name: 'Release freeze',
  from: '2026-11-23T09:00',
  to: '2026-11-23T12:00',
  reason: 'quarterly release',
  environments: ['staging'],
  services: ['api'],
};
export const FREEZE_TEXT = '"Release freeze" from Mon 23 Nov 09:00 to Mon 23 Nov 12:00 UTC: quarterly release';

export function setup(options: { freezeWindows?: unknown[] } = {}) {
  const config = configOf({
    defaults: { channel: '#deploys' },
    services: {
      api: {
        channel: 'C0456APITEAM',
        environments: {
          staging: { deploy: webhook },
          prod: {
            deploy: webhook,
            approval: { required: 2, approvers: { users: [CAROL, ALICE], groups: [RELEASE] }, expiresAfter: '1h' },
          },
        },
      },
      web: { environments: { staging: { deploy: webhook }, prod: { deploy: webhook } } },
    },
    freezeWindows: options.freezeWindows ?? [],
    breakGlass: { users: [ERIN], groups: [ONCALL] },
  });
  const world = deployWorld(config, { [RELEASE]: [DAVE], [ONCALL]: [FRANK] });
  const { deployService } = world;
  let keys = 0;
  /** A /deploy request with a fresh request key. */
  const request = (who: string, target: string, options: { version?: string; queue?: boolean; breakGlass?: string } = {}) => {
    const [service, environment] = target.split('/') as [string, string];
    return deployService.request(
      {
        service,
        environment,
        version: options.version ?? '1.4.2',
        channel: 'C0DEPLOYS',
        requestKey: `trigger-${++keys}`,
        ...(options.queue ? { queue: true } : {}),
        ...(options.breakGlass !== undefined ? { breakGlass: options.breakGlass } : {}),
      },
      slash(who),
    );
  };
  /** The thread reply a deploy queued at `step` (reply.<step>), if any. */
  const replyOf = (id: number, step: string) => {
    const row = world.queue.rows.find((r) => r.flowId === `deploy:${id}` && r.step === `reply.${step}`);
    return row && (row.payload as ThreadReply);
  };
  const actions = () => world.audit.entries.map((e) => `${e.action} ${e.subject} by ${e.actor}`);
  return { ...world, request, replyOf, actions };
}

/** Expects `promise` to reject with a `type`, returns the error. */
export async function rejection<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as E;
}
