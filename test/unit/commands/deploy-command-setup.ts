import { deployCommand } from '../../../commands/deploy-command';
import type { Reply } from '../../../commands/reply';
import type { ShipmateConfig } from '../../../src/core/config';
import { ValidationError } from '../../../src/core/errors';
import type { Actor, Deployment, DeploymentStatus } from '../../../src/core/types';
import { configOf, deployWorld, webhook } from '../fakes/deploy-world';

/** The shipmate.yml of the command tests: api (staging, prod) and web (prod); `extra` adds top-level keys. */
export function testConfig(extra: Record<string, unknown> = {}): ShipmateConfig {
  return configOf({
    defaults: { channel: '#deploys' },
    services: {
      api: {
        channel: 'C0456APITEAM',
        environments: { staging: { deploy: webhook }, prod: { channel: 'C0789PRODDEPLOYS', deploy: webhook } },
      },
      web: { environments: { prod: { deploy: webhook } } },
    },
    ...extra,
  });
}

export const ALICE: Actor = { userId: 'U0ALICE', source: 'slash_command' };

/** `/deploy` run by ALICE over fakes (see deployWorld). */
export function setup(config = testConfig()) {
  const world = deployWorld(config);
  const { clock, store, deps } = world;

  /** Stores a deploy by U0BOB that already got to `status`; the clock moves on past it. */
  function seed(service: string, environment: string, version: string, status: DeploymentStatus, error: string | null = null): Deployment {
    const d = store.create(
      { service, environment, version, requestedBy: 'U0BOB', source: 'slash_command', channel: '#deploys', requestKey: null, approvalsRequired: 0, expiresAt: null, waitInQueue: false, breakGlassReason: null },
      clock.now(),
    );
    clock.advance(1_000);
    const startedAt = clock.now();
    clock.advance(60_000);
    const finishedAt = status === 'succeeded' || status === 'failed' ? clock.now() : null;
    const saved: Deployment = { ...d, status, startedAt: status === 'queued' ? null : startedAt, finishedAt, error };
    store.save(saved);
    clock.advance(60_000);
    return store.get(d.id)!;
  }

  const run = (text: string, requestKey?: string, actor: Actor = ALICE): Promise<Reply> =>
    deployCommand.run(deps, deployCommand.parse(text), { actor, ...(requestKey ? { requestKey } : {}) });

  return { ...world, seed, run };
}

/** Expects `fn` to throw (or reject with) a usage error, returns it. */
export async function usageError(fn: () => unknown): Promise<ValidationError> {
  let thrown: unknown;
  try {
    await fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  expect(deployCommand.isUsageError(thrown)).toBe(true);
  return thrown as ValidationError;
}
