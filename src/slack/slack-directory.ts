import type { WebClient } from '@slack/web-api';
import type { Clock } from '../core/clock';
import type { UserDirectory } from '../core/ports';

/** How long group membership is trusted before asking Slack again. */
const TTL_MS = 5 * 60_000;

/** User group members from usergroups.users.list, cached briefly: approvals click in bursts. */
export function createSlackDirectory(client: WebClient, clock: Clock): UserDirectory {
  const cache = new Map<string, { users: readonly string[]; until: number }>();
  return {
    async membersOf(groupId) {
      const hit = cache.get(groupId);
      if (hit && hit.until > clock().getTime()) return hit.users;
      const { users = [] } = await client.usergroups.users.list({ usergroup: groupId });
      cache.set(groupId, { users, until: clock().getTime() + TTL_MS });
      return users;
    },
  };
}
