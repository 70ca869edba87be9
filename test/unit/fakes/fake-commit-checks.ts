import type { ChecksVerdict, CommitChecks } from '../../../src/core/ports';

/** Commit checks by `repository@ref`; refs not listed are green. Records what was asked. */
export class FakeCommitChecks implements CommitChecks {
  readonly asked: string[] = [];
  readonly verdicts = new Map<string, ChecksVerdict>();

  async verify(repository: string, ref: string): Promise<ChecksVerdict> {
    this.asked.push(`${repository}@${ref}`);
    return this.verdicts.get(`${repository}@${ref}`) ?? { green: true, summary: 'all green' };
  }
}
