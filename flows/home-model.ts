import type { ShipmateConfig } from '../src/core/config';
import { describeFreeze, upcomingFreezes } from '../src/core/freeze-windows';
import type { DeploymentStore, LockStore, ReleaseStore } from '../src/core/ports';
import type { Deployment, Lock, Release } from '../src/core/types';
import type { DeployPolicies } from './deploy-service';

/** What one person sees on Shipmate's App Home tab. */
export interface HomeModel {
  inProgress: Deployment[];
  /** Deploys this person could approve and has not yet. */
  awaitingMe: Deployment[];
  locks: Lock[];
  /** Releases running, paused or scheduled, soonest first. */
  releases: Release[];
  /** Freezes in force now or starting within the horizon, as sentences. */
  freezes: { active: boolean; description: string }[];
}

const FREEZE_HORIZON_MS = 7 * 24 * 3600_000;

export async function buildHomeModel(
  userId: string,
  now: Date,
  deps: { config: ShipmateConfig; store: DeploymentStore; locks: LockStore; releases: ReleaseStore; policies: DeployPolicies },
): Promise<HomeModel> {
  const { config, store, locks, policies } = deps;
  const active = (['deploying', 'queued', 'awaiting_approval'] as const).flatMap((s) => store.withStatus(s));
  const awaitingMe: Deployment[] = [];
  for (const d of active.filter((x) => x.status === 'awaiting_approval')) {
    const policy = policies.approval(d.service, d.environment);
    if (!policy || d.approvals.some((a) => a.userId === userId)) continue;
    if (d.requestedBy === userId && !policy.allowSelfApproval) continue;
    let approver = policy.approvers.users.includes(userId);
    for (const group of policy.approvers.groups) approver ||= (await policies.groupMembers(group)).includes(userId);
    if (approver) awaitingMe.push(d);
  }
  const freezes = upcomingFreezes(config.freezeWindows, now, FREEZE_HORIZON_MS).map((f) => ({
    active: f.startsAt <= now && now < f.endsAt,
    description: describeFreeze(f, config.timezone),
  }));
  const releases = (['running', 'paused', 'scheduled'] as const).flatMap((s) => deps.releases.withStatus(s));
  return { inProgress: active, awaitingMe, locks: locks.list(), releases, freezes };
}
