import type { UserDirectory } from '../../../src/core/ports';

/** Slack user groups as a plain map; counts lookups so tests can see what was asked. */
export class FakeUserDirectory implements UserDirectory {
  lookups = 0;

  constructor(private readonly groups: Record<string, readonly string[]> = {}) {}

  async membersOf(groupId: string): Promise<readonly string[]> {
    this.lookups += 1;
    return this.groups[groupId] ?? [];
  }
}
