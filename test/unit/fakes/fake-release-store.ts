import { ConflictError } from '../../../src/core/errors';
import type { ReleaseStore } from '../../../src/core/ports';
import type { NewRelease, Release, ReleaseStatus } from '../../../src/core/types';

const ACTIVE: readonly ReleaseStatus[] = ['scheduled', 'running', 'paused'];

const copy = (r: Release): Release => structuredClone(r);

/**
 * An in-memory ReleaseStore with the SQLite one's rules: IDs count from 1, a new release is
 * `scheduled` with no results, request keys are unique, at most one scheduled, running or paused
 * release per name (the partial unique index, also on save), `save` changes only status, results
 * and the start and finish times, and reads return copies.
 */
export class FakeReleaseStore implements ReleaseStore {
  private readonly rows: Release[] = [];

  create(input: NewRelease, now: Date): Release {
    if (input.requestKey !== null && this.rows.some((r) => r.requestKey === input.requestKey)) {
      throw new Error(`UNIQUE constraint failed: releases.request_key (${input.requestKey})`);
    }
    if (this.rows.some((r) => r.name === input.name && ACTIVE.includes(r.status))) {
      throw new ConflictError(`A release named "${input.name}" is already scheduled or running; pick another name or wait for it to finish.`);
    }
    const release: Release = {
      ...structuredClone(input),
      id: this.rows.length + 1,
      status: 'scheduled',
      results: {},
      createdAt: new Date(now),
      startedAt: null,
      finishedAt: null,
    };
    this.rows.push(release);
    return copy(release);
  }

  get(id: number): Release | undefined {
    const found = this.rows.find((r) => r.id === id);
    return found && copy(found);
  }

  findByRequestKey(key: string): Release | undefined {
    const found = this.rows.find((r) => r.requestKey === key);
    return found && copy(found);
  }

  activeByName(name: string): Release | undefined {
    const found = this.rows.find((r) => r.name === name && ACTIVE.includes(r.status));
    return found && copy(found);
  }

  withStatus(status: ReleaseStatus): Release[] {
    return this.rows.filter((r) => r.status === status).map(copy);
  }

  latest(limit: number): Release[] {
    return [...this.rows].sort((a, b) => b.id - a.id).slice(0, limit).map(copy);
  }

  save(release: Release): void {
    const index = this.rows.findIndex((r) => r.id === release.id);
    if (index < 0) throw new Error(`no release ${release.id}`);
    const stored = this.rows[index]!;
    const clash = this.rows.find((r) => r.id !== stored.id && r.name === stored.name && ACTIVE.includes(r.status));
    if (ACTIVE.includes(release.status) && clash) throw new Error(`UNIQUE constraint failed: releases.name (${stored.name})`);
    // Like the SQL UPDATE: only what changes over a release's life.
    this.rows[index] = copy({ ...stored, status: release.status, results: release.results, startedAt: release.startedAt, finishedAt: release.finishedAt });
  }

  /** Every stored release, oldest first: for assertions. */
  all(): Release[] {
    return this.rows.map(copy);
  }
}
